// kite's wasm worker: ONE classic script that runs unchanged in a browser Worker (importScripts,
// fetch, self.postMessage) and in Node worker_threads (require, fs, parentPort). It loads kite.js +
// kite.wasm, writes the stdlib zip to MEMFS /lib/python311.zip, starts Python and then answers
// requests one at a time. Messages: see DEVELOPERS.md "Worker messages".
// Any exception escaping the wasm (RuntimeError trap, RangeError stack overflow, abort) is fatal:
// the module's memory is in an unknown state, so we post {type:'fatal'} and refuse further work.
'use strict';
(function () {
  const IS_NODE =
    typeof process === 'object' && !!(process.versions && process.versions.node) &&
    typeof importScripts !== 'function';
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

  let post;
  let nodeRequire = null;
  if (IS_NODE) {
    nodeRequire = require; // wasm/node/worker-factory.js evaluates this file as CommonJS
    const { parentPort } = nodeRequire('worker_threads');
    post = (m) => parentPort.postMessage(m);
    parentPort.on('message', (m) => onMessage(m));
  } else {
    post = (m) => self.postMessage(m);
    self.onmessage = (e) => onMessage(e.data);
  }

  let Module = null;
  let ready = false;
  let dead = false;
  const queue = []; // requests that arrived before Python was ready

  function errorText(e) {
    if (e && typeof e === 'object') {
      const name = e.name || (e.constructor && e.constructor.name) || 'Error';
      return { message: `${name}: ${e.message}`, stack: String(e.stack || '') };
    }
    return { message: String(e), stack: '' };
  }

  function fatal(e, where) {
    if (dead) return;
    dead = true;
    const { message, stack } = errorText(e);
    post({ type: 'fatal', message: where ? `${message} (${where})` : message, stack });
  }

  function joinUrl(base, name) {
    if (IS_NODE) return nodeRequire('path').join(base || '.', name);
    if (!base) return name;
    return base.endsWith('/') ? base + name : `${base}/${name}`;
  }

  async function init(msg) {
    const t0 = now();
    const baseUrl = msg.baseUrl || (IS_NODE ? process.cwd() : '');
    const buffer = msg.buffer || null;
    const i32 = buffer ? new Int32Array(buffer) : null;
    const moduleArg = {
      locateFile: (p) => joinUrl(baseUrl, p),
      print: (s) => console.log(s),
      printErr: (s) => console.error(s),
      noExitRuntime: true,
      // used by wasm/src (EM_JS): the shared buffer (null without cross-origin isolation) and
      // the two ways out of a running cell
      kiteBuffer: i32,
      kitePublish: (msgType, json) => post({ type: 'publish', msg_type: msgType, content: JSON.parse(json) }),
      kiteInputRequest: (prompt, password) => post({ type: 'input_request', prompt, password: !!password }),
    };
    let stdlib;
    if (IS_NODE) {
      const fs = nodeRequire('fs');
      // hand the bytes over directly: no fetch, no streaming compile of a file path in Node
      moduleArg.wasmBinary = fs.readFileSync(joinUrl(baseUrl, 'kite.wasm'));
      stdlib = fs.readFileSync(joinUrl(baseUrl, 'kite-stdlib.zip'));
    } else {
      stdlib = fetch(joinUrl(baseUrl, 'kite-stdlib.zip')).then((r) => {
        if (!r.ok) throw new Error(`cannot load kite-stdlib.zip: HTTP ${r.status} ${r.statusText}`);
        return r.arrayBuffer();
      });
    }
    let factory;
    if (IS_NODE) {
      // load kite.js as CommonJS whatever package.json surrounds it (dist/ declares "module"
      // for controller.js): compile it as a function of the CommonJS arguments
      const file = joinUrl(baseUrl, 'kite.js');
      const src = nodeRequire('fs').readFileSync(file, 'utf8');
      const mod = { exports: {} };
      const fn = nodeRequire('vm').compileFunction(src, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
      fn(mod.exports, nodeRequire, mod, file, nodeRequire('path').dirname(file));
      factory = mod.exports;
    } else {
      importScripts(joinUrl(baseUrl, 'kite.js'));
      factory = self.createKiteModule;
    }
    const tLoaded = now();
    Module = await factory(moduleArg);
    const tInstantiated = now();
    const zip = new Uint8Array(await stdlib);
    Module.FS.mkdirTree('/lib/python3.11/lib-dynload');
    Module.FS.writeFile('/lib/python311.zip', zip);
    const config = Object.assign({ home: '/', argv: [''] }, msg.config || {});
    if (config.recursion_limit == null && !IS_NODE) config.recursion_limit = browserRecursionLimit();
    const startReply = JSON.parse(Module.start(JSON.stringify(config)));
    if (startReply.status !== 'ok') {
      throw new Error(`Python did not start: ${startReply.evalue || JSON.stringify(startReply)}`);
    }
    const t1 = now();
    ready = true;
    post({
      type: 'ready',
      startup_ms: t1 - t0,
      timings: {
        load_js_ms: tLoaded - t0,
        instantiate_ms: tInstantiated - tLoaded,
        python_start_ms: t1 - tInstantiated,
      },
      recursion_limit: startReply.recursion_limit,
      isolated: i32 !== null,
    });
    while (queue.length && !dead) handle(queue.shift());
  }

  // CPython's recursion limit must trip before the engine's stack runs out (a RangeError kills the
  // worker and its state). Measured in Node 20 with a 4 MB worker stack: the costliest C-level
  // recursion found (__getattr__ -> getattr, eval, lru_cache-style C wrappers) crashes at ~1,375
  // levels when a trivial JS function recurses 55,000 deep, i.e. ~0.025 levels per JS frame.
  // Browsers fix a worker's stack (Chromium: ~10,000 JS frames), so there the limit is derived
  // from a quick probe (~4 ms) at 80% of that estimate. Node workers get a 16 MB stack instead
  // (wasm/node/worker-factory.js) and keep CPython's 1,000 (x5 margin).
  function browserRecursionLimit() {
    let depth = 0;
    const probe = () => {
      depth++;
      probe();
    };
    try {
      probe();
    } catch (e) {
      /* RangeError: the depth is what we wanted */
    }
    return Math.max(100, Math.min(1000, Math.floor(depth * 0.02)));
  }

  function handle(msg) {
    if (dead) return;
    let reply;
    try {
      Module.kiteRequestId = msg.id | 0; // whom an interrupt in the buffer is for (i32[3])
      reply = Module.handle(msg.msg_type, JSON.stringify(msg.content || {}));
    } catch (e) {
      fatal(e, `while handling ${msg.msg_type}`);
      return;
    }
    post({ type: 'reply', id: msg.id, content: JSON.parse(reply) });
  }

  function onMessage(msg) {
    if (dead || !msg) return;
    switch (msg.type) {
      case 'init':
        init(msg).catch((e) => fatal(e, 'during startup'));
        break;
      case 'request':
        if (ready) handle(msg);
        else queue.push(msg);
        break;
      case 'input_reply':
        // Without a shared buffer the worker cannot block for input (input() reports it is
        // unsupported), so a late reply has nobody to go to.
        break;
      default:
        break;
    }
  }
})();
