// A stand-in for kite.js (the Emscripten module) with the same JS surface (createKiteModule ->
// {FS, xkernel}; xkernel.start(), .get_server().notify_listener(msg); out through
// Module.kiteSend(msg), stdin through Module.kiteRequestInput(msg)) and the same buffer protocol,
// read through Module.kiteLayout (wasm/js/buffer-layout.json, handed over by the controller), as
// wasm/src does. It plays a toy kernel_core (status busy/idle, execute_input, counting, replies
// with the request as parent) over a toy subset of Python: `1+1`-style JS expressions,
// `x = expr`, `print(expr)`, `while True: pass`, `time.sleep(s)`, `input(prompt)`, `crash()`
// (a real JS stack overflow), `echo_buffers()` (publishes the request's buffers back).
// Lets the controller, worker.js and kite-node be tested without the wasm build:
//   node wasm/node/test/make-fake-dist.mjs DIR
'use strict';
function createKiteModule(Module) {
  const scope = {};
  let count = 0;
  let seq = 0; // notify_listener calls, as the real server counts them
  let inExecute = false;
  let current = null; // the request being handled
  const L = () => Module.kiteLayout;
  const i32 = () => (Module.kiteBuffer && Module.kiteLayout ? Module.kiteBuffer : null);
  const id = () => Math.random().toString(16).slice(2) + Date.now().toString(16);

  function message(channel, msg_type, content, parent, buffers = []) {
    return {
      channel,
      header: { msg_id: id(), session: 'fake', username: 'kite', date: new Date().toISOString(), msg_type, version: '5.3' },
      parent_header: parent || {},
      metadata: {},
      content,
      buffers,
    };
  }
  const send = (m) => Module.kiteSend(m);
  const publish = (type, content, buffers) => send(message('iopub', type, content, current && current.header, buffers));

  // the interrupt contract of wasm_interrupt_source.cpp
  function beginRequest(execute) {
    inExecute = execute;
    if (!execute || !i32()) return;
    const v = Atomics.load(i32(), L().SIGNAL);
    if (v !== 0 && Atomics.load(i32(), L().TARGET) !== seq) {
      if (Atomics.compareExchange(i32(), L().SIGNAL, v, 0) === v && Atomics.load(i32(), L().TARGET) === seq) {
        Atomics.compareExchange(i32(), L().SIGNAL, 0, v);
      }
    }
  }
  const takeSignal = () => (inExecute && i32() ? Atomics.exchange(i32(), L().SIGNAL, 0) : 0);
  const pendingSignal = () => inExecute && i32() && Atomics.load(i32(), L().SIGNAL) !== 0;
  const kbi = () => ({ status: 'error', ename: 'KeyboardInterrupt', evalue: '', traceback: ['KeyboardInterrupt'] });

  function run(code, msg) {
    let m;
    if ((m = /^while True: pass$/.exec(code))) {
      for (;;) if (pendingSignal()) { takeSignal(); return kbi(); }
    }
    if ((m = /^time\.sleep\((.+)\)$/.exec(code))) {
      const end = Date.now() + Number(m[1]) * 1000;
      for (;;) {
        const left = end - Date.now();
        if (left <= 0) return null;
        if (i32()) {
          Atomics.wait(i32(), L().SIGNAL, 0, left);
          if (pendingSignal()) { takeSignal(); return kbi(); }
        }
      }
    }
    if ((m = /^(?:(\w+) = )?input\((.*)\)$/.exec(code))) {
      if (!i32()) return { status: 'error', ename: 'StdinNotImplementedError', evalue: 'no buffer', traceback: [] };
      const v = Module.kiteRequestInput(message('stdin', 'input_request', { prompt: m[2] ? eval(m[2]) : '', password: false }, msg.header));
      if (typeof v === 'number') return kbi();
      if (m[1]) scope[m[1]] = v;
      else publish('execute_result', { execution_count: count, data: { 'text/plain': JSON.stringify(v) }, metadata: {} });
      return null;
    }
    if ((m = /^crash\(\)$/.exec(code))) { const f = () => f() + 1; f(); }
    if ((m = /^echo_buffers\(\)$/.exec(code))) {
      publish('display_data', { data: { 'text/plain': `${msg.buffers.length} buffers` }, metadata: {} }, msg.buffers.map((b) => b.slice().buffer));
      return null;
    }
    const ev = (e) => Function('scope', `with (scope) { return (${e}); }`)(scope);
    if ((m = /^(\w+) = (.+)$/.exec(code))) { scope[m[1]] = ev(m[2]); return null; }
    if ((m = /^print\((.*)\)$/.exec(code))) {
      publish('stream', { name: 'stdout', text: String(ev(m[1])) + '\n' });
      return null;
    }
    try {
      const v = ev(code);
      publish('execute_result', { execution_count: count, data: { 'text/plain': String(v) }, metadata: {} });
    } catch (e) {
      if (e instanceof ReferenceError) return { status: 'error', ename: 'NameError', evalue: e.message, traceback: [] };
      throw e;
    }
    return null;
  }

  const kernelInfo = { status: 'ok', protocol_version: '5.3', implementation: 'kite-fake', implementation_version: '0.0',
    language_info: { name: 'python', version: '3.11.2', mimetype: 'text/x-python', file_extension: '.py' }, banner: 'fake', help_links: [] };

  function handle(msg) {
    const type = msg.header.msg_type;
    const execute = type === 'execute_request';
    send(message('iopub', 'status', { execution_state: 'busy' }, msg.header));
    beginRequest(execute);
    let reply;
    if (type === 'kernel_info_request') {
      reply = kernelInfo;
    } else if (type === 'shutdown_request') {
      reply = { status: 'ok', restart: !!msg.content.restart };
      send(message('iopub', 'shutdown_reply', reply, msg.header));
    } else if (execute) {
      const c = msg.content;
      if (!c.silent) send(message('iopub', 'execute_input', { code: c.code, execution_count: count + 1 }, msg.header));
      if (!c.silent && c.store_history !== false) count++;
      const r = run(String(c.code).trim(), msg);
      if (r) {
        publish('error', { ename: r.ename, evalue: r.evalue, traceback: r.traceback });
        reply = { ...r, execution_count: count };
      } else {
        reply = { status: 'ok', execution_count: count, user_expressions: {} };
      }
    } else if (/_request$/.test(type)) {
      reply = { status: 'ok' };
    }
    inExecute = false;
    if (reply) send(message(msg.channel, type.replace(/_request$/, '_reply'), reply, msg.header));
    send(message('iopub', 'status', { execution_state: 'idle' }, msg.header));
  }

  class xserver {
    notify_listener(msg) {
      seq++; // every call counts, a malformed message too
      if (i32()) Atomics.store(i32(), L().SEQUENCE, seq);
      if (!msg || !msg.header || typeof msg.header.msg_type !== 'string') {
        console.error('[fake-kite] malformed message dropped');
        return;
      }
      const buffers = (msg.buffers || []).map((b) => (ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b)));
      current = { ...msg, buffers };
      try {
        handle(current);
      } finally {
        current = null;
      }
    }
    message_count() {
      return seq;
    }
  }
  class xkernel {
    constructor(config) {
      this.config = config || {};
      this.server = new xserver();
    }
    get_server() {
      return this.server;
    }
    start() {
      send(message('iopub', 'status', { execution_state: 'starting' }, {}));
      return JSON.stringify({ status: 'ok', recursion_limit: this.config.recursion_limit || 1000, interruptible: !!i32(), kernel_info: kernelInfo });
    }
  }
  Object.assign(Module, { FS: { mkdirTree() {}, writeFile() {} }, xkernel });
  return Promise.resolve(Module);
}
if (typeof module === 'object' && module.exports) module.exports = createKiteModule;
