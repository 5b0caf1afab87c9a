// The xeus-lite entry of kite: what @jupyterlite/xeus's stock worker needs from a kernel's
// `bin/<name>.js`. The prefix's bin/kite-xeus.js is kite.js + worker.js (as a library) + this file
// (wasm/prefix/make_prefix.py). What that worker does with it (read in @jupyterlite/xeus 5.1):
//   importScripts(<name>.js); Module = await createXeusModule({locateFile}); unpack the prefix's
//   packages into Module.FS (kite's: /lib/python311.zip, the stdlib); new Module.xkernel(argv);
//   .get_server(); .start(); then server.notify_listener(msg) for every message, synchronously.
//   The kernel posts every message it produces with self.postMessage(msg) (msg.channel says
//   where it goes) and asks for stdin with the synchronous self.get_stdin(input_request).
// Nothing of the protocol is here: xkernel/xserver are kite's module (wasm/src, the one core),
// messages leave through kite-pre.js (no Module.kiteSend: postMessage as they are), stdin and the
// service-worker relay are worker.js's.
// Interrupt: kite's JupyterLite extension, installed next to jupyterlite-xeus, answers the hello
// posted here with the shared buffer (cross-origin isolated page) or the relay's address (page
// with a service worker): wasm/jupyterlite/src/xeus.ts. Without it (no answer by HELLO_GRACE_MS
// after the module is compiled) kite runs as any xeus kernel: no interrupt, stdin through get_stdin.
'use strict';
(function () {
  const KEY = 'kite_xeus'; // the field of kite's own messages between this worker and the page
  // The page answers the hello at once when kite's extension is there, while the module
  // compiles (hundreds of ms): the answer is waited for at most this long after that.
  const HELLO_GRACE_MS = 300;
  const lib = self.kiteWorkerLibrary;

  // {buffer, layout, relay, base_url} from kite's extension (base_url: kite's assets, for fetch.js), or null
  function handshake() {
    return new Promise((resolve) => {
      const done = (init) => {
        clearTimeout(timer);
        self.removeEventListener('message', onMessage);
        resolve(init);
      };
      const timer = setTimeout(() => done(null), 30000); // (never left listening)
      function onMessage(e) {
        const data = e.data && e.data[KEY];
        if (data && data.op === 'init') done(data);
      }
      self.addEventListener('message', onMessage);
      self.postMessage({ [KEY]: { op: 'hello' } });
    });
  }

  // stdin the xeus way: get_stdin posts the input_request and returns the input_reply message
  function xeusStdin(msg) {
    if (typeof self.get_stdin !== 'function') return null;
    const reply = self.get_stdin(msg);
    if (!reply || reply.error) return null;
    const value = reply.content ? reply.content.value : reply.value;
    return typeof value === 'string' ? value : null;
  }

  function setUp(Module, init) {
    const layout = (init && init.layout) || null;
    const i32 = init && init.buffer && layout && typeof SharedArrayBuffer !== 'undefined' ? new Int32Array(init.buffer) : null;
    let relay = null;
    if (!i32 && init && init.relay && typeof XMLHttpRequest !== 'undefined') {
      relay = lib.makeRelay(init.relay);
      relay.probe();
    }
    // read by wasm/src/kite-library.js at each use, as in worker.js
    Module.kiteBuffer = i32;
    Module.kiteLayout = layout;
    Module.kiteRelay = relay && relay.ok ? relay : null;
    // the package installer's HTTP (kite.packages: _kite.fetch), from kite's assets on the page
    if (init && init.base_url && lib.lazyFetcher) Module.kiteFetch = lib.lazyFetcher(init.base_url, i32, layout);
    Module.kiteRequestInput = (m) => (i32 ? lib.requestInput(m, i32, layout) : relay && relay.ok ? relay.input(m) : xeusStdin(m));
    // without buffer or relay, input() blocks in get_stdin (not interruptible, as in xeus-python)
    Module.kiteStdinWithoutSignals = !i32 && !(relay && relay.ok);
    const channel = i32 ? 'shared-memory' : relay && relay.ok ? 'service-worker' : 'none';

    // xeus passes the kernelspec's argv; kite's xkernel also takes the home and the recursion
    // limit the worker's stack allows (worker.js does the same for kite's own worker)
    const Kernel = Module.xkernel;
    Module.xkernel = function (argv) {
      Module.FS.mkdirTree('/lib/python3.11/lib-dynload');
      const kernel = new Kernel({
        home: '/',
        argv: Array.isArray(argv) ? argv.map(String) : [''],
        recursion_limit: lib.browserRecursionLimit(),
      });
      return {
        get_server: () => kernel.get_server(),
        start() {
          const started = JSON.parse(kernel.start());
          if (started.status !== 'ok') throw new Error(`kite: Python did not start: ${started.evalue || JSON.stringify(started)}`);
          self.postMessage({
            [KEY]: {
              op: 'ready',
              interrupt_channel: channel,
              relay: relay ? { ok: relay.ok, rtt_ms: relay.rtt_ms, reason: relay.ok ? '' : relay.reason } : null,
              recursion_limit: started.recursion_limit,
              kernel_info: started.kernel_info,
            },
          });
          return started;
        },
      };
    };
  }

  self.createXeusModule = async function (moduleArg) {
    const answer = handshake();
    const Module = await self.createKiteModule(Object.assign({ noExitRuntime: true }, moduleArg));
    const init = await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve(null), HELLO_GRACE_MS))]);
    setUp(Module, init);
    return Module;
  };
})();
