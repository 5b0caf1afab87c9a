// KiteController: the main-thread side of a kite wasm kernel, shared by every host (kite-node,
// the JupyterLite kernel). It starts worker.js, owns the shared interrupt/stdin buffer and moves
// whole Jupyter messages: send(msg) posts a message to the worker (numbered 1, 2, 3, ... per
// worker), every message the kernel produces comes back through onMessage(msg) (msg.channel says
// where it goes). The worker has one thread, busy while a cell runs, so what must not wait for
// the cell is answered here and never posted (ipykernel serves these on its control thread):
//   - interrupt_request: SIGINT into the buffer; status busy, interrupt_reply, status idle;
//   - input_reply (stdin): written into the shared buffer, where the blocked worker reads it;
//   - kernel_info_request on control: the kernel_info the worker reported when it started (the
//     core's own answer);
//   - shutdown_request on control while an execute_request is pending (Python's shutdown hooks
//     cannot run before the cell ends); when idle it goes to the worker, whose core answers.
// Answers built here reach onMessage synchronously, from within send().
// A dead worker (wasm trap, stack overflow, abort) becomes onFatal(err) and state 'dead'.
// The worker adapter returned by `createWorker()`: {postMessage(msg, transfer), onMessage(cb),
// onError(cb), terminate()} (browserWorkerFactory below; wasm/node/worker-factory.js in Node).
// ESM, no imports, no Node or DOM dependencies: it works in Node >= 20 and in browsers as is.

// ---- the shared buffer layout: wasm/js/buffer-layout.json, embedded when the bundle is built
// (wasm/js/embed-layout.mjs). int32 indices, except INPUT_OFFSET/INPUT_CAPACITY (bytes).
export const LAYOUT = Object.freeze(/* @kite-buffer-layout */ null);
if (!LAYOUT) throw new Error('kite: this controller.js has no buffer layout: use the built one (dist/controller.js)');
export const SIGINT = LAYOUT.SIGINT;
export const INPUT_CAPACITY = LAYOUT.INPUT_CAPACITY;
export const BUFFER_BYTES = LAYOUT.INPUT_OFFSET + LAYOUT.INPUT_CAPACITY;
export const PROTOCOL_VERSION = '5.3';

export const NOT_ISOLATED_REASON =
  'not cross-origin isolated: SharedArrayBuffer is unavailable, so a running cell cannot be ' +
  'interrupted (serve the page with COOP same-origin + COEP require-corp headers); restart the ' +
  'kernel to stop it';

/** Whether this context can share memory with a worker. */
export function canShareMemory() {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  // Browsers may define SharedArrayBuffer yet refuse to post one without isolation.
  if (typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated) return false;
  return true;
}

/** The worker died or was replaced (a wasm trap/abort/RangeError when `fatal` is true). */
export class KernelDiedError extends Error {
  constructor(message, { fatal = false, stack = '' } = {}) {
    super(message);
    this.name = 'KernelDiedError';
    this.fatal = fatal;
    this.workerStack = stack;
  }
}

/** Adapter over a browser `Worker` (classic script) at `url`. */
export function browserWorkerFactory(url) {
  return () => {
    const w = new Worker(url);
    return {
      postMessage: (msg, transfer) => w.postMessage(msg, transfer || []),
      onMessage: (cb) => w.addEventListener('message', (e) => cb(e.data)),
      onError: (cb) => {
        w.addEventListener('error', (e) => {
          e.preventDefault();
          cb(new Error(e.message || 'worker error'));
        });
        w.addEventListener('messageerror', () => cb(new Error('worker message could not be deserialized')));
      },
      terminate: () => w.terminate(),
    };
  };
}

function uuid() {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const h = () => Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-${h()}-${h()}${h()}${h()}`;
}

const msgType = (msg) => (msg && msg.header && typeof msg.header.msg_type === 'string' ? msg.header.msg_type : '');
const msgId = (header) => (header && typeof header.msg_id === 'string' ? header.msg_id : null);

export class KiteController {
  /**
   * createWorker: () => worker adapter; baseUrl: where kite.js, kite.wasm, kite-stdlib.zip live;
   * config: python_config overrides for the worker ({recursion_limit, argv, home});
   * onMessage(msg): every Jupyter message for the client (msg.channel: shell, control, iopub,
   * stdin; buffers as ArrayBuffers); onFatal(err): the worker died (KernelDiedError).
   */
  constructor({ createWorker, baseUrl = '', config = null, onMessage, onFatal } = {}) {
    if (typeof createWorker !== 'function') throw new TypeError('KiteController: createWorker is required');
    this._createWorker = createWorker;
    this._baseUrl = baseUrl;
    this._config = config;
    this._onMessage = onMessage || (() => {});
    this._onFatal = onFatal || (() => {});
    this._buffer = null;
    this._i32 = null;
    this._u8 = null;
    this._worker = null;
    this._state = 'new'; // new | starting | ready | dead | shutdown
    this._seq = 0; // messages posted to the current worker
    this._pending = new Map(); // seq -> msg_id of an execute_request whose execute_reply is not seen yet
    this._generation = 0; // bumps on every (re)start: messages of an old worker are ignored
    this._session = uuid(); // of the messages built here (interrupt_reply and its statuses)
    this._startPromise = null;
    this.startupMs = null; // the worker's own measure: module load + stdlib + Py init
    this.recursionLimit = null;
    this._kernelInfo = null; // kernel_info_reply content reported by the worker at start
  }

  /** True when the kernel can be interrupted (a SharedArrayBuffer is shared with the worker). */
  get isolated() {
    return this._buffer !== null || (this._state === 'new' && canShareMemory());
  }

  /** new | starting | ready | dead | shutdown */
  get state() {
    return this._state;
  }

  /** Starts the worker; resolves with {startup_ms, timings, recursion_limit, isolated}. */
  start() {
    if (this._state === 'starting' || this._state === 'ready') return this._startPromise;
    if (this._state === 'shutdown') return Promise.reject(new KernelDiedError('the kernel was shut down'));
    if (this._buffer === null && canShareMemory()) {
      this._buffer = new SharedArrayBuffer(BUFFER_BYTES);
      this._i32 = new Int32Array(this._buffer);
      this._u8 = new Uint8Array(this._buffer);
    }
    if (this._i32) {
      for (const k of ['SIGNAL', 'TARGET', 'SEQUENCE', 'INPUT_LENGTH']) Atomics.store(this._i32, LAYOUT[k], 0);
      Atomics.store(this._i32, LAYOUT.STDIN_STATE, LAYOUT.STDIN_NONE);
    }
    const generation = ++this._generation;
    this._seq = 0;
    this._pending.clear();
    this._state = 'starting';
    let resolveStart;
    let rejectStart;
    this._startPromise = new Promise((resolve, reject) => {
      resolveStart = resolve;
      rejectStart = reject;
    });
    this._startResolve = resolveStart;
    this._startReject = rejectStart;
    this._startPromise.catch(() => {}); // callers see the rejection; never an unhandled one
    let worker;
    try {
      worker = this._createWorker();
    } catch (e) {
      this._die(`cannot create the kernel worker: ${e && e.message}`, (e && e.stack) || '');
      return this._startPromise;
    }
    this._worker = worker;
    worker.onMessage((m) => {
      if (generation === this._generation) this._onWorkerMessage(m);
    });
    worker.onError((err) => {
      if (generation !== this._generation) return;
      const e = err instanceof Error ? err : new Error(String(err));
      this._die(`the kernel worker failed: ${e.message}`, e.stack || '');
    });
    worker.postMessage({ type: 'init', buffer: this._buffer, baseUrl: this._baseUrl, config: this._config, layout: LAYOUT });
    return this._startPromise;
  }

  _onWorkerMessage(m) {
    switch (m && m.type) {
      case 'ready':
        this.startupMs = m.startup_ms;
        this.recursionLimit = m.recursion_limit;
        this._kernelInfo = m.kernel_info && typeof m.kernel_info === 'object' ? m.kernel_info : null;
        this._state = 'ready';
        this._startResolve({
          startup_ms: m.startup_ms,
          timings: m.timings,
          recursion_limit: m.recursion_limit,
          isolated: !!m.isolated,
        });
        break;
      case 'message':
        if (m.msg && msgType(m.msg) === 'execute_reply') this._executeDone(msgId(m.msg.parent_header));
        this._emit(m.msg);
        break;
      case 'fatal':
        this._die(m.message || 'the kernel worker crashed', m.stack || '');
        break;
      default:
        break;
    }
  }

  // The worker handles messages in order: the execute_reply of message N also means every
  // execute_request posted before N is over (even one whose reply could not be routed).
  _executeDone(id) {
    if (id === null) return;
    let done = null;
    for (const [seq, pendingId] of this._pending) {
      if (pendingId === id) {
        done = seq;
        break;
      }
    }
    if (done === null) return;
    for (const seq of [...this._pending.keys()]) if (seq <= done) this._pending.delete(seq);
  }

  _emit(msg) {
    try {
      this._onMessage(msg);
    } catch (e) {
      console.error('[kite] onMessage failed:', e);
    }
  }

  _die(message, stack) {
    if (this._state === 'dead' || this._state === 'shutdown') return;
    const wasStarting = this._state === 'starting';
    this._state = 'dead';
    this._pending.clear();
    const err = new KernelDiedError(message, { fatal: true, stack });
    if (wasStarting) this._startReject(err);
    // the module is in an undefined state after a trap: free its memory now
    this._terminateWorker();
    try {
      this._onFatal(err);
    } catch (e) {
      console.error('[kite] onFatal failed:', e);
    }
  }

  _terminateWorker() {
    const w = this._worker;
    this._worker = null;
    if (w) {
      try {
        w.terminate();
      } catch (e) {
        /* already gone */
      }
    }
  }

  /**
   * Sends a whole Jupyter message {channel, header, parent_header, metadata, content, buffers}
   * (buffers: ArrayBuffer / TypedArray / DataView; ArrayBuffers are transferred, not copied).
   * Returns true when the message was posted or answered; false for an input_reply nobody waits
   * for (an abandoned prompt answered late, or no shared buffer) and other stdin messages.
   * Throws a KernelDiedError when the kernel is not running, and whatever postMessage throws
   * (e.g. a DataCloneError): such a message was not sent, counted or recorded as pending.
   */
  send(msg) {
    const type = msgType(msg);
    if (type === 'interrupt_request') {
      this._answerInterrupt(msg);
      return true;
    }
    if (msg && msg.channel === 'control' && type === 'kernel_info_request' && this._kernelInfo && this._state === 'ready') {
      this._answer(msg, 'kernel_info_reply', this._kernelInfo);
      return true;
    }
    if (msg && msg.channel === 'control' && type === 'shutdown_request' && this._pending.size > 0) {
      const restart = !!(msg.content && msg.content.restart === true);
      this._answer(msg, 'shutdown_reply', { status: 'ok', restart }, [this._message('iopub', 'shutdown_reply', { status: 'ok', restart }, this._parentOf(msg))]);
      return true;
    }
    if (type === 'input_reply' || (msg && msg.channel === 'stdin')) {
      return type === 'input_reply' && !!msg.content && this._writeInput(msg.content.value);
    }
    if (this._state !== 'ready' && this._state !== 'starting') {
      throw new KernelDiedError(`the kernel is not running (state: ${this._state})`);
    }
    const transfer = [];
    if (msg && Array.isArray(msg.buffers)) {
      for (const b of msg.buffers) if (b instanceof ArrayBuffer && !transfer.includes(b)) transfer.push(b);
    }
    const seq = this._seq + 1;
    this._worker.postMessage({ type: 'message', msg }, transfer);
    // posted: only now is it message `seq` in the worker too
    this._seq = seq;
    if (type === 'execute_request') {
      const id = msgId(msg.header);
      if (id !== null) this._pending.set(seq, id);
    }
    return true;
  }

  /**
   * Interrupts the running cell: {ok: true} or {ok: false, reason}. The signal is aimed at the
   * oldest execute_request whose execute_reply has not come back (the worker runs messages in
   * order), so it also stops a cell whose request is still on its way to the worker; with no
   * execute pending it is dropped ({ok: true, idle: true}) instead of leaking into a later cell.
   */
  interrupt(signal = SIGINT) {
    if (!this._i32) return { ok: false, reason: NOT_ISOLATED_REASON };
    if (this._state !== 'ready' && this._state !== 'starting') {
      return { ok: false, reason: `the kernel is not running (state: ${this._state})` };
    }
    const oldest = this._pending.keys().next();
    if (oldest.done) return { ok: true, idle: true };
    Atomics.store(this._i32, LAYOUT.TARGET, oldest.value);
    Atomics.store(this._i32, LAYOUT.SIGNAL, signal);
    Atomics.notify(this._i32, LAYOUT.SIGNAL);
    return { ok: true };
  }

  // interrupt_request: answered here, like ipykernel answers control requests: status busy,
  // interrupt_reply (on the request's channel), status idle, each with the request as parent.
  _answerInterrupt(msg) {
    const r = this.interrupt();
    const content = r.ok
      ? { status: 'ok' }
      : { status: 'error', ename: 'InterruptFailed', evalue: r.reason, traceback: [`InterruptFailed: ${r.reason}`] };
    this._answer(msg, 'interrupt_reply', content);
  }

  _parentOf(msg) {
    return msg && msg.header && typeof msg.header === 'object' && !Array.isArray(msg.header) ? msg.header : {};
  }

  // status busy, the reply on the request's channel (+ `also`), status idle
  _answer(msg, replyType, content, also = []) {
    const parent = this._parentOf(msg);
    const channel = msg.channel === 'shell' ? 'shell' : 'control';
    this._emit(this._message('iopub', 'status', { execution_state: 'busy' }, parent));
    this._emit(this._message(channel, replyType, content, parent, { status: content.status }));
    for (const m of also) this._emit(m);
    this._emit(this._message('iopub', 'status', { execution_state: 'idle' }, parent));
  }

  _message(channel, msg_type, content, parent, metadata = {}) {
    return {
      channel,
      header: {
        msg_id: uuid(),
        session: this._session,
        username: 'kite',
        date: new Date().toISOString(),
        msg_type,
        version: PROTOCOL_VERSION,
      },
      parent_header: parent,
      metadata,
      content,
      buffers: [],
    };
  }

  // input_reply: the UTF-8 value into the buffer, for the worker blocked in input().
  _writeInput(value) {
    if (!this._i32) return false;
    if (Atomics.load(this._i32, LAYOUT.STDIN_STATE) !== LAYOUT.STDIN_WAITING) return false;
    let bytes = new TextEncoder().encode(value == null ? '' : String(value));
    if (bytes.length > LAYOUT.INPUT_CAPACITY) {
      // cut at a character boundary (never inside a UTF-8 sequence)
      let n = LAYOUT.INPUT_CAPACITY;
      while (n > 0 && (bytes[n] & 0xc0) === 0x80) n--;
      bytes = bytes.subarray(0, n);
    }
    this._u8.set(bytes, LAYOUT.INPUT_OFFSET);
    Atomics.store(this._i32, LAYOUT.INPUT_LENGTH, bytes.length);
    Atomics.store(this._i32, LAYOUT.STDIN_STATE, LAYOUT.STDIN_REPLIED);
    Atomics.notify(this._i32, LAYOUT.SIGNAL);
    return true;
  }

  /** Kills the worker (even mid-cell) and starts a fresh one (Python state lost). */
  restart() {
    this._generation++; // ignore anything the old worker still sends
    this._terminateWorker();
    if (this._state === 'starting' && this._startReject) {
      this._startReject(new KernelDiedError('the kernel was restarted during startup'));
    }
    this._state = 'new';
    return this.start();
  }

  /** Stops the worker for good. */
  shutdown() {
    this._generation++;
    this._terminateWorker();
    this._pending.clear();
    if (this._state === 'starting' && this._startReject) {
      this._startReject(new KernelDiedError('the kernel was shut down during startup'));
    }
    this._state = 'shutdown';
  }
}
