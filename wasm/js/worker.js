// kite's wasm worker: ONE classic script that runs unchanged in a browser Worker (importScripts,
// fetch, self.postMessage) and in Node worker_threads (require, fs, parentPort). It loads kite.js +
// kite.wasm, writes the stdlib zip to MEMFS /lib/python311.zip, starts Python and then hands every
// Jupyter message to the wasm kernel, whole, in arrival order (DEVELOPERS.md "Worker messages"):
//   main -> worker  {type: 'init', buffer, baseUrl, config, layout}, then {type: 'message', msg}
//   worker -> main  {type: 'ready', startup_ms, timings, recursion_limit, isolated, kernel_info} | {type: 'fatal', message, stack} | {type: 'message', msg}
// The wasm side (wasm/src, xeus-lite style): new Module.xkernel(config), .start(),
// .get_server().notify_listener(msg); out through Module.kiteSend(msg); stdin through the
// synchronous Module.kiteRequestInput(msg), which blocks on the shared buffer.
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
    post = (m, transfer) => parentPort.postMessage(m, transfer || []);
    parentPort.on('message', (m) => onMessage(m));
  } else {
    post = (m, transfer) => self.postMessage(m, transfer || []);
    self.onmessage = (e) => onMessage(e.data);
  }

  let Module = null;
  let server = null;
  let dead = false;
  const queue = []; // messages that arrived before Python was ready

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

  /** A Jupyter message out of the kernel: posted whole, its buffers transferred. */
  function sendMessage(msg) {
    const transfer = Array.isArray(msg.buffers) ? msg.buffers.filter((b) => b instanceof ArrayBuffer) : [];
    post({ type: 'message', msg }, transfer);
  }

  /**
   * stdin (called synchronously from the wasm kernel): posts the input_request, then blocks on
   * the shared buffer until the main side writes the reply (a string is returned) or a signal
   * arrives (its negative number is returned). Every wake-up is Atomics.notify on i32[SIGNAL].
   */
  function requestInput(msg, i32, L) {
    if (!i32) return null;
    Atomics.store(i32, L.STDIN_STATE, L.STDIN_WAITING);
    sendMessage(msg);
    for (;;) {
      if (Atomics.load(i32, L.STDIN_STATE) === L.STDIN_REPLIED) {
        const n = Math.min(Math.max(Atomics.load(i32, L.INPUT_LENGTH), 0), L.INPUT_CAPACITY);
        // copy out of the shared memory first: TextDecoder refuses shared views in browsers
        const bytes = new Uint8Array(i32.buffer, L.INPUT_OFFSET, n).slice();
        Atomics.store(i32, L.STDIN_STATE, L.STDIN_NONE);
        return new TextDecoder().decode(bytes);
      }
      if (Atomics.load(i32, L.SIGNAL) !== 0) {
        const sig = Atomics.exchange(i32, L.SIGNAL, 0);
        if (sig !== 0) {
          Atomics.store(i32, L.STDIN_STATE, L.STDIN_NONE);
          return -sig;
        }
      }
      // A signal changes i32[SIGNAL] itself, so it cannot be missed; a reply changes
      // i32[STDIN_STATE], and could land between the check above and this wait (a lost
      // wake-up): hence the bounded wait.
      Atomics.wait(i32, L.SIGNAL, 0, 20);
    }
  }

  async function init(msg) {
    const t0 = now();
    const baseUrl = msg.baseUrl || (IS_NODE ? process.cwd() : '');
    const layout = msg.layout || null;
    const buffer = msg.buffer && layout ? msg.buffer : null;
    const i32 = buffer ? new Int32Array(buffer) : null;
    const moduleArg = {
      locateFile: (p) => joinUrl(baseUrl, p),
      print: (s) => console.log(s),
      printErr: (s) => console.error(s),
      noExitRuntime: true,
      // read by wasm/src (EM_JS): the shared buffer (null without cross-origin isolation) and
      // its layout (wasm/js/buffer-layout.json, from the controller)
      kiteBuffer: i32,
      kiteLayout: layout,
      kiteSend: sendMessage,
      kiteRequestInput: (m) => requestInput(m, i32, layout),
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
    const kernel = new Module.xkernel(config);
    const started = JSON.parse(kernel.start()); // publishes status "starting"
    if (started.status !== 'ok') {
      throw new Error(`Python did not start: ${started.evalue || JSON.stringify(started)}`);
    }
    server = kernel.get_server();
    const t1 = now();
    post({
      type: 'ready',
      startup_ms: t1 - t0,
      timings: {
        load_js_ms: tLoaded - t0,
        instantiate_ms: tInstantiated - tLoaded,
        python_start_ms: t1 - tInstantiated,
      },
      recursion_limit: started.recursion_limit,
      isolated: i32 !== null,
      kernel_info: started.kernel_info,
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

  // One message = one notify_listener call, whatever it holds: the controller numbered it, and
  // the server counts the calls the same way (the interrupt contract).
  function handle(msg) {
    if (dead) return;
    try {
      server.notify_listener(msg);
    } catch (e) {
      const type = msg && msg.header && msg.header.msg_type;
      fatal(e, `while handling ${typeof type === 'string' ? type : 'a message'}`);
    }
  }

  function onMessage(m) {
    if (dead || !m) return;
    switch (m.type) {
      case 'init':
        init(m).catch((e) => fatal(e, 'during startup'));
        break;
      case 'message':
        if (server) handle(m.msg);
        else queue.push(m.msg);
        break;
      default:
        break;
    }
  }
})();
