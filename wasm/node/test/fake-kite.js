// A stand-in for kite.js (the Emscripten module) with the same JS surface (createKiteModule ->
// {FS, start, handle}) and the same buffer protocol, interpreting a toy subset of Python:
// `1+1`-style JS expressions, `x = expr`, `print(expr)`, `while True: pass`, `time.sleep(s)`,
// `input(prompt)`, `crash()` (real JS stack overflow). Lets the controller, worker.js and
// kite-node be tested without the wasm build: node wasm/node/test/make-fake-dist.mjs DIR.
'use strict';
function createKiteModule(Module) {
  const scope = {};
  let count = 0;
  const i32 = () => Module.kiteBuffer;
  function takeSignal() {
    return i32() ? Atomics.exchange(i32(), 0, 0) : 0;
  }
  function kbi() {
    return { status: 'error', ename: 'KeyboardInterrupt', evalue: '', traceback: ['KeyboardInterrupt'] };
  }
  function run(code) {
    let m;
    if ((m = /^while True: pass$/.exec(code))) {
      for (;;) if (i32() && Atomics.load(i32(), 0)) { takeSignal(); return kbi(); }
    }
    if ((m = /^time\.sleep\((.+)\)$/.exec(code))) {
      const end = Date.now() + Number(m[1]) * 1000;
      for (;;) {
        const left = end - Date.now();
        if (left <= 0) return null;
        if (i32()) { Atomics.wait(i32(), 0, 0, left); if (Atomics.load(i32(), 0)) { takeSignal(); return kbi(); } }
      }
    }
    if ((m = /^(?:(\w+) = )?input\((.*)\)$/.exec(code))) {
      if (!i32()) return { status: 'error', ename: 'StdinNotImplementedError', evalue: 'no buffer', traceback: [] };
      Atomics.store(i32(), 1, 1);
      Module.kiteInputRequest(m[2] ? eval(m[2]) : '', false);
      for (;;) {
        if (Atomics.load(i32(), 1) === 2) {
          const n = Atomics.load(i32(), 2);
          const v = new TextDecoder().decode(new Uint8Array(i32().buffer).slice(16, 16 + n));
          Atomics.store(i32(), 1, 0);
          if (m[1]) scope[m[1]] = v; else Module.kitePublish('execute_result', JSON.stringify({ execution_count: count, data: { 'text/plain': JSON.stringify(v) }, metadata: {} }));
          return null;
        }
        if (Atomics.load(i32(), 0)) { takeSignal(); Atomics.store(i32(), 1, 0); return kbi(); }
        Atomics.wait(i32(), 0, 0, 20); // bounded: a reply may land between the checks and the wait
      }
    }
    if ((m = /^crash\(\)$/.exec(code))) { const f = () => f() + 1; f(); }
    const ev = (e) => Function('scope', `with (scope) { return (${e}); }`)(scope);
    if ((m = /^(\w+) = (.+)$/.exec(code))) { scope[m[1]] = ev(m[2]); return null; }
    if ((m = /^print\((.*)\)$/.exec(code))) {
      Module.kitePublish('stream', JSON.stringify({ name: 'stdout', text: String(ev(m[1])) + '\n' }));
      return null;
    }
    try {
      const v = ev(code);
      Module.kitePublish('execute_result', JSON.stringify({ execution_count: count, data: { 'text/plain': String(v) }, metadata: {} }));
    } catch (e) {
      if (e instanceof ReferenceError) return { status: 'error', ename: 'NameError', evalue: e.message, traceback: [] };
      throw e;
    }
    return null;
  }
  const api = {
    FS: { mkdirTree() {}, writeFile() {} },
    start() { return JSON.stringify({ status: 'ok' }); },
    handle(type, json) {
      const c = JSON.parse(json);
      if (type === 'kernel_info_request') {
        return JSON.stringify({ status: 'ok', protocol_version: '5.3', implementation: 'kite-fake', implementation_version: '0.0',
          language_info: { name: 'python', version: '3.11.2', mimetype: 'text/x-python', file_extension: '.py' }, banner: 'fake', help_links: [] });
      }
      if (type === 'execute_request') {
        // clear(), as wasm_interrupt_source.cpp: keep a signal aimed at this request (i32[3])
        if (i32() && Atomics.load(i32(), 3) !== (Module.kiteRequestId | 0)) Atomics.store(i32(), 0, 0);
        if (!c.silent && c.store_history !== false) count++;
        const r = run(String(c.code).trim());
        if (r) { Module.kitePublish('error', JSON.stringify({ ename: r.ename, evalue: r.evalue, traceback: r.traceback })); return JSON.stringify({ ...r, execution_count: count }); }
        return JSON.stringify({ status: 'ok', execution_count: count, user_expressions: {} });
      }
      return JSON.stringify({ status: 'ok' });
    },
  };
  Object.assign(Module, api);
  return Promise.resolve(Module);
}
if (typeof module === 'object' && module.exports) module.exports = createKiteModule;
