// kite's wasm worker: ONE classic script that runs unchanged in a browser Worker (importScripts,
// fetch, self.postMessage) and in Node worker_threads (require, fs, parentPort). It loads kite.js +
// kite.wasm, writes the stdlib zip to MEMFS /lib/python311.zip, starts Python and then hands every
// Jupyter message to the wasm kernel, whole, in arrival order (DEVELOPERS.md "Worker messages"):
//   main -> worker  {type: 'init', buffer, baseUrl, config, layout, relay, env, preload}, then
//                   {type: 'message', msg} and {type: 'location', location, drive} (in order)
//   worker -> main  {type: 'ready', startup_ms, timings, recursion_limit, isolated, kernel_info} | {type: 'fatal', message, stack} | {type: 'message', msg}
//                   | {type: 'location', ok, cwd, reason, ms} (the answer to a 'location')
// The wasm side (wasm/src, xeus-lite style): new Module.xkernel(config), .start(),
// .get_server().notify_listener(msg); out through Module.kiteSend(msg); stdin through the
// synchronous Module.kiteRequestInput(msg), which blocks on the shared buffer.
// Without a shared buffer (page not cross-origin isolated) the worker reaches the page through
// the service-worker relay when the controller offers one (`init.relay`): Module.kiteRelay below,
// used by the C++ interrupt source (wasm/src/kite-library.js) and by input().
// Any exception escaping the wasm (RuntimeError trap, RangeError stack overflow, abort) is fatal:
// the module's memory is in an unknown state, so we post {type:'fatal'} and refuse further work.
'use strict';
(function () {
  const IS_NODE =
    typeof process === 'object' && !!(process.versions && process.versions.node) &&
    typeof importScripts !== 'function';
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  // Loaded as a library by the xeus-lite entry (wasm/xeus/kite-xeus.js, prepended with
  // `self.kiteWorkerLibrary = true`): it takes the stdin and relay pieces below
  // (self.kiteWorkerLibrary = {requestInput, makeRelay, browserRecursionLimit, lazyFetcher}) and speaks
  // @jupyterlite/xeus's worker protocol itself.
  const AS_LIBRARY = !IS_NODE && typeof self === 'object' && self.kiteWorkerLibrary === true;

  let post;
  let nodeRequire = null;
  if (IS_NODE) {
    nodeRequire = require; // wasm/node/worker-factory.js evaluates this file as CommonJS
    const { parentPort } = nodeRequire('worker_threads');
    post = (m, transfer) => parentPort.postMessage(m, transfer || []);
    parentPort.on('message', (m) => onMessage(m));
  } else if (AS_LIBRARY) {
    // inside @jupyterlite/xeus's worker (wasm/xeus/kite-xeus.js): Jupyter messages are posted
    // as they are, the xeus-lite convention; that worker owns onmessage
    post = (m, transfer) => self.postMessage(m && m.type === 'message' ? m.msg : m, transfer || []);
  } else {
    post = (m, transfer) => self.postMessage(m, transfer || []);
    self.onmessage = (e) => onMessage(e.data);
  }

  let Module = null;
  let server = null;
  let dead = false;
  const queue = []; // worker messages ('message', 'location') that arrived before Python was ready

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

  // ---- the service-worker relay (no SharedArrayBuffer) -----------------------------------
  // Synchronous XMLHttpRequests to `relay.url` (JupyterLite's service worker relays any
  // "/api/stdin/" request to the page over a BroadcastChannel; the page's controller answers in
  // answerRelay). The body: {browsingContextId, data: {kite, generation, op, seq, ...}}.
  // CPython's periodic signal check reads Module.Py_EmscriptenSignalBuffer[0] (kite patch 02: a
  // plain read, then 0 written, when the buffer is not shared): here an accessor property of
  // Module returning a private one-element Int32Array, and consulting the page (op 'poll') at
  // most every `interval_ms` while an execute_request runs. Waits (time.sleep, kite's
  // interruptible waits) and input() block on requests the page holds (at most RELAY_HOLD_MS
  // each) and answers at once on Interrupt: no CPU burnt, no lag.
  // The interval: one poll blocks the worker for a round trip (2-6 ms measured in headless
  // Chromium, more on a loaded machine), so polling costs rtt / (interval + rtt) of the cell's
  // time, and click -> KeyboardInterrupt waits about (interval + rtt) / 2 more than with shared
  // memory. By default the interval follows the measured round trip: RELAY_COST_FACTOR x its
  // moving average (a cost of ~2.5 %), within [RELAY_MIN_POLL_MS, RELAY_MAX_POLL_MS] (the
  // latency bound). The page may fix it instead (init.relay.interval_ms). Figures behind these
  // numbers: README.md (isolation section), bench/nonisolated.mjs.
  const RELAY_COST_FACTOR = 40;
  const RELAY_MIN_POLL_MS = 50;
  const RELAY_MAX_POLL_MS = 200;
  const RELAY_FIRST_POLL_MS = 100; // before any poll has been measured
  const RELAY_HOLD_MS = 10000;
  const RELAY_SPIN_MS = 3; // shorter waits than this spin (a round trip costs about as much)
  const RELAY_PROBE_TIMEOUT_MS = 3000;

  function makeRelay(cfg) {
    const cell = new Int32Array(1); // what CPython reads and clears
    const relay = {
      ok: false,
      reason: '',
      rtt_ms: null,
      fixed: Number.isFinite(cfg.interval_ms) && cfg.interval_ms > 0,
      interval_ms: Number.isFinite(cfg.interval_ms) && cfg.interval_ms > 0 ? Math.min(Math.max(cfg.interval_ms, 5), 2000) : RELAY_FIRST_POLL_MS,
      avg_poll_ms: null, // moving average of a poll's round trip
      seq: 0, // the message being handled (set by the C++ interrupt source)
      active: false, // inside an execute_request: polling on, signals count
      pending: 0, // a signal a held wait returned, for take()
      ack: 0, // the number (sid) of the last signal received: sent with every request
      lastPoll: 0,
      ticks: 0,
      polls: 0,
      blockedMs: 0,
    };

    // One synchronous request; the parsed response, or null (with relay.reason) on failure.
    function call(data, timeoutMs) {
      try {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', cfg.url, false);
        if (timeoutMs) xhr.timeout = timeoutMs;
        xhr.setRequestHeader('Content-Type', 'application/json');
        xhr.send(JSON.stringify({ browsingContextId: cfg.browsingContextId, data: Object.assign({ kite: cfg.kite, generation: cfg.generation, ack: relay.ack }, data) }));
        if (xhr.status !== 200) {
          relay.reason = `HTTP ${xhr.status} from ${cfg.url} (no service worker relays it)`;
          return null;
        }
        const answer = JSON.parse(xhr.responseText);
        if (!answer || typeof answer !== 'object') {
          relay.reason = 'the relay answered something else than an object';
          return null;
        }
        if (answer.signal > 0 && answer.sid > 0) relay.ack = answer.sid; // received: acknowledged by the next request
        return answer;
      } catch (e) {
        relay.reason = `${(e && e.name) || 'Error'}: ${(e && e.message) || e}`;
        return null;
      }
    }

    relay.probe = function () {
      const t0 = now();
      const answer = call({ op: 'hello' }, RELAY_PROBE_TIMEOUT_MS);
      relay.rtt_ms = now() - t0;
      relay.ok = !!(answer && answer.ok === true);
      if (!relay.ok && answer) relay.reason = `unexpected answer ${JSON.stringify(answer).slice(0, 200)}`;
      return relay.ok;
    };

    relay.begin = function (seq, execute) {
      relay.seq = seq;
      relay.active = !!execute;
      relay.pending = 0;
      cell[0] = 0;
      relay.lastPoll = Date.now(); // the first poll comes one interval into the cell
    };

    relay.end = function () {
      relay.active = false;
    };

    // The page's signal for the running execute_request (0 if none).
    // Each poll also reports how many polls this worker made and how long they blocked it in
    // total (what polling costs; bench/nonisolated.mjs reads it on the page).
    function poll() {
      const t0 = now();
      const answer = call({ op: 'poll', seq: relay.seq, polls: relay.polls, blocked_ms: relay.blockedMs, interval_ms: relay.interval_ms }, RELAY_HOLD_MS);
      const dt = now() - t0;
      relay.polls++;
      relay.blockedMs += dt;
      relay.avg_poll_ms = relay.avg_poll_ms === null ? dt : 0.8 * relay.avg_poll_ms + 0.2 * dt;
      if (!relay.fixed) {
        relay.interval_ms = Math.min(Math.max(RELAY_COST_FACTOR * relay.avg_poll_ms, RELAY_MIN_POLL_MS), RELAY_MAX_POLL_MS);
      }
      relay.lastPoll = Date.now();
      return answer && answer.signal > 0 ? answer.signal | 0 : 0;
    }

    // kite::interrupt_source::take(): a signal a wait returned, or one the page holds (asked
    // only when a poll is due or the cell ran at least 10 ms since the last one: the check before
    // every execute_reply must not cost a round trip for `1+1`).
    relay.take = function () {
      if (!relay.active) return 0;
      let signal = relay.pending || cell[0];
      relay.pending = 0;
      cell[0] = 0;
      if (signal === 0 && Date.now() - relay.lastPoll >= 10) signal = poll();
      return signal;
    };

    // kite::interrupt_source::wait(): 1 when a signal cut it (then kept for take()), else 0.
    relay.wait = function (ms, signals) {
      const deadline = now() + ms;
      for (;;) {
        const left = deadline - now();
        if (left <= 0) return 0;
        if (left <= RELAY_SPIN_MS) {
          while (now() < deadline) {}
          return 0;
        }
        const chunk = Math.min(left, RELAY_HOLD_MS);
        // the page answers when the time is up; the XHR timeout only guards against a page
        // whose timers are throttled (a background tab). A signal answered to a request that
        // timed out meanwhile is not lost: unacknowledged, the page answers it again.
        const answer = call({ op: 'wait', seq: relay.seq, ms: Math.ceil(chunk), signals: !!(signals && relay.active) }, Math.ceil(chunk) + 50);
        if (answer && answer.signal > 0 && signals && relay.active) {
          relay.pending = answer.signal | 0;
          relay.lastPoll = Date.now();
          return 1;
        }
        if (answer === null && !/Timeout/i.test(relay.reason)) {
          // the relay is gone (should not happen): finish the wait without it
          while (now() < deadline) {}
          return 0;
        }
      }
    };

    // input(): the reply's value, or -signal; null if the relay fails.
    relay.input = function (msg) {
      sendMessage(msg);
      for (let failures = 0; failures < 3; ) {
        const answer = call({ op: 'input', seq: relay.seq, ms: RELAY_HOLD_MS }, RELAY_HOLD_MS + 5000);
        if (answer === null) {
          failures++;
          continue;
        }
        if (typeof answer.value === 'string') return answer.value;
        if (answer.signal > 0) return -(answer.signal | 0);
        if (answer.stale) return null;
        // {timeout: true}: ask again
      }
      return null;
    };

    // Module.Py_EmscriptenSignalBuffer: read twice per CPython check (every 50 eval-breaker
    // ticks); the clock is looked at every 4th read only (Date.now costs ~50 ns in a worker).
    relay.attach = function (module) {
      Object.defineProperty(module, 'Py_EmscriptenSignalBuffer', {
        configurable: true,
        enumerable: false,
        get() {
          if (relay.active && (++relay.ticks & 3) === 0 && cell[0] === 0 && Date.now() - relay.lastPoll >= relay.interval_ms) {
            cell[0] = poll();
          }
          if (module.kiteFlushDue) module.kiteFlushCheck(); // batched stream text (wasm/src/kite-library.js)
          return cell;
        },
        set() {},
      });
    };
    return relay;
  }

  // Scripts the page will want later (drive.js), downloaded while the kernel starts: {url: text}
  const preloaded = new Map();

  function preload(urls) {
    if (IS_NODE || !Array.isArray(urls)) return;
    for (const url of urls) {
      fetch(url)
        .then((r) => (r.ok ? r.text() : null))
        .then((text) => text !== null && preloaded.set(url, text), () => undefined);
    }
  }

  /** importScripts(url), or the preloaded text when it arrived: no request (through the service
   * worker and the network) on the kernel's start-up path. */
  function loadScript(url) {
    const text = preloaded.get(url);
    if (text !== undefined) {
      try {
        (0, eval)(text); // a classic script, evaluated globally as importScripts would
        return;
      } catch (e) {
        if (!(e instanceof EvalError)) throw e; // EvalError: a Content-Security-Policy forbids it
      }
    }
    importScripts(url);
  }

  async function init(msg) {
    const t0 = now();
    preload(msg.preload);
    const baseUrl = msg.baseUrl || (IS_NODE ? process.cwd() : '');
    const layout = msg.layout || null;
    const buffer = msg.buffer && layout ? msg.buffer : null;
    const i32 = buffer ? new Int32Array(buffer) : null;
    // no shared memory: the page's service-worker relay, if the controller offers one and it
    // answers (the probe costs one round trip at start)
    let relay = null;
    if (!i32 && msg.relay && !IS_NODE && typeof XMLHttpRequest !== 'undefined') {
      relay = makeRelay(msg.relay);
      relay.probe();
    }
    const moduleArg = {
      locateFile: (p) => joinUrl(baseUrl, p),
      print: (s) => console.log(s),
      printErr: (s) => console.error(s),
      noExitRuntime: true,
      // read by wasm/src/kite-library.js: the shared buffer (null without cross-origin isolation) and
      // its layout (wasm/js/buffer-layout.json, from the controller)
      kiteBuffer: i32,
      kiteLayout: layout,
      kiteSend: sendMessage,
      kiteRequestInput: (m) => (i32 ? requestInput(m, i32, layout) : relay && relay.ok ? relay.input(m) : null),
      // read by wasm/src/kite-library.js when there is no shared buffer: the relay, if it answered
      kiteRelay: relay && relay.ok ? relay : null,
      // environment variables Python sees from its start (the package indexes of kite.packages:
      // KITE_BUNDLED_INDEX_URL, KITE_INDEX_URL): libc reads ENV once, right after preRun
      preRun: [(mod) => Object.assign(mod.ENV, stringValues(Object.assign(IS_NODE ? nodeEnv() : {}, msg.env)))],
      // `_kite.fetch` (kite.packages' downloads): wasm/js/fetch.js, loaded on the first fetch
      kiteFetch: lazyFetcher(baseUrl, i32, layout),
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
    if (IS_NODE) mountNodeDirs(Module);
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
      interrupt_channel: i32 ? 'shared-memory' : relay && relay.ok ? 'service-worker' : 'none',
      relay: relay ? { ok: relay.ok, rtt_ms: relay.rtt_ms, interval_ms: relay.fixed ? relay.interval_ms : null, adaptive: relay.fixed ? null : [RELAY_COST_FACTOR, RELAY_MIN_POLL_MS, RELAY_MAX_POLL_MS], reason: relay.ok ? '' : relay.reason } : null,
      kernel_info: started.kernel_info,
    });
    while (queue.length && !dead) dispatch(queue.shift());
    setTimeout(() => Module.kiteFetch && Module.kiteFetch.prestart && Module.kiteFetch.prestart(), 0);
  }

  // kite-node: the variables of kite.packages (indexes, install directory) from the process
  function nodeEnv() {
    const out = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(KITE_(BUNDLED_|EXTRA_)?INDEX_URL|KITE_SITE_PACKAGES|PIP_(EXTRA_)?INDEX_URL)$/.test(k)) out[k] = v;
    }
    return out;
  }

  // kite-node: the real working directory is the kernel's cwd (NODEFS, mounted at its own path,
  // so open('data.csv') and paths in tracebacks mean what they mean on the host), and
  // $KITE_SITE_PACKAGES (where %pip installs) is on disk too. "/" is left alone: mounting the
  // host's root would hide the stdlib's MEMFS files.
  function mountNodeDirs(mod) {
    const FS = mod.FS;
    if (!FS || !FS.filesystems || !FS.filesystems.NODEFS) return; // a module built without NODEFS (test fakes)
    const mount = (dir) => {
      FS.mkdirTree(dir);
      FS.mount(FS.filesystems.NODEFS, { root: dir }, dir);
    };
    const cwd = process.cwd();
    if (cwd !== '/') {
      mount(cwd);
      FS.chdir(cwd);
    }
    const site = process.env.KITE_SITE_PACKAGES;
    if (site) {
      const path = nodeRequire('path');
      const dir = path.resolve(site);
      nodeRequire('fs').mkdirSync(dir, { recursive: true });
      if (cwd === '/' || (dir !== cwd && !dir.startsWith(cwd + path.sep))) mount(dir);
    }
  }

  // Module.kiteFetch: loads fetch.js on first use. In a browser, `.prestart()` (called once
  // Python is ready, while this worker is idle) starts its helper thread: Chromium would not
  // start it while this worker blocks in a fetch.
  function lazyFetcher(baseUrl, i32, layout) {
    let fetcher = null;
    const load = () => {
      if (!fetcher) {
        let make;
        if (IS_NODE) {
          const file = joinUrl(baseUrl, 'fetch.js');
          const mod = { exports: {} };
          const src = nodeRequire('fs').readFileSync(file, 'utf8');
          nodeRequire('vm').compileFunction(src, ['exports', 'require', 'module'], { filename: file })(mod.exports, nodeRequire, mod);
          make = mod.exports.makeFetcher;
        } else {
          importScripts(joinUrl(baseUrl, 'fetch.js'));
          make = self.kiteMakeFetcher;
        }
        fetcher = make({ isNode: IS_NODE, nodeRequire, i32, layout, baseUrl });
      }
      return fetcher;
    };
    const kiteFetch = (url, headersJson, watch) => {
      try {
        load();
      } catch (e) {
        return { error: `cannot load fetch.js: ${errorText(e).message}` };
      }
      return fetcher(url, headersJson, watch);
    };
    kiteFetch.prestart = () => {
      try {
        if (!IS_NODE && typeof SharedArrayBuffer !== 'undefined') load().prestart();
      } catch (e) {
        console.error(`kite: cannot start the fetch helper: ${errorText(e).message}`);
      }
    };
    return kiteFetch;
  }

  function stringValues(env) {
    const out = {};
    for (const [k, v] of Object.entries(env && typeof env === 'object' ? env : {})) {
      if (v !== null && v !== undefined) out[k] = String(v);
    }
    return out;
  }

  /**
   * The kernel's location (JupyterLite's "dir" or "Drive:dir" of the notebook): with `drive`
   * ({script, baseUrl, browsingContextId}: the page answers DriveFS requests), JupyterLite's
   * contents are mounted at /drive and the cwd becomes the notebook's directory (worker/drive.js
   * in wasm/jupyterlite, loaded here on first use). Answered with {type: 'location', ok, cwd,
   * reason, ms}; a failure leaves the cwd as it was.
   */
  function setLocation(m) {
    const t0 = now();
    let answer;
    try {
      if (IS_NODE || !m.drive) {
        answer = { ok: false, reason: IS_NODE ? 'not in a browser' : 'the page offers no drive' };
      } else {
        if (!self.kiteDrive) loadScript(m.drive.script);
        const tLoaded = now();
        answer = self.kiteDrive.mount(Module, m.drive, m.location);
        answer.script_ms = tLoaded - t0;
      }
    } catch (e) {
      answer = { ok: false, reason: errorText(e).message };
    }
    answer.cwd = Module.FS.cwd();
    answer.ms = now() - t0;
    post(Object.assign({ type: 'location' }, answer));
  }

  function dispatch(m) {
    if (m.type === 'location') return setLocation(m);
    // the drive's directory stats are cached for one request (wasm/jupyterlite/worker/drive.js)
    if (!IS_NODE && self.kiteDrive) self.kiteDrive.newRequest();
    handle(m.msg);
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
      case 'location':
        if (server) dispatch(m);
        else queue.push(m);
        break;
      default:
        break;
    }
  }

  if (AS_LIBRARY) self.kiteWorkerLibrary = { requestInput, makeRelay, browserRecursionLimit, lazyFetcher };
})();
