// KiteController: the main-thread side of a kite wasm kernel. It starts worker.js, owns the
// interrupt/stdin SharedArrayBuffer (layout in DEVELOPERS.md), forwards requests to the worker one
// at a time and turns a dead worker into rejected promises + onFatal. The same class drives a
// browser Worker and a Node worker_threads Worker through a small adapter returned by
// `createWorker()`: {postMessage(msg), onMessage(cb), onError(cb), terminate()}.
// ESM, no Node or DOM imports: it works in Node >= 20 and bundled by webpack.

// ---- the shared buffer layout (DEVELOPERS.md "The interrupt buffer") ----
export const SIGNAL_INDEX = 0; // i32[0]: pending signal number; every wake-up notifies i32[0]
export const STDIN_STATE_INDEX = 1; // i32[1]: 0 none, 1 worker waits for input, 2 reply written
export const INPUT_LENGTH_INDEX = 2; // i32[2]: byte length of the UTF-8 input reply
export const TARGET_INDEX = 3; // i32[3]: id of the request the pending signal is meant for
export const INPUT_OFFSET = 16; // the reply's bytes start here
export const INPUT_CAPACITY = 65536; // longest reply, in bytes
export const BUFFER_BYTES = INPUT_OFFSET + INPUT_CAPACITY;
export const STDIN_NONE = 0;
export const STDIN_WAITING = 1;
export const STDIN_REPLIED = 2;
export const SIGINT = 2;

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

/** Error of a request that could not complete because the worker died or was replaced. */
export class KernelDiedError extends Error {
  constructor(message, { fatal = false, stack = '' } = {}) {
    super(message);
    this.name = 'KernelDiedError';
    this.fatal = fatal; // true: a wasm trap/abort/RangeError killed the worker
    this.workerStack = stack;
  }
}

/** Adapter over a browser `Worker` (classic script) at `url`. */
export function browserWorkerFactory(url) {
  return () => {
    const w = new Worker(url);
    return {
      postMessage: (msg) => w.postMessage(msg),
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

export class KiteController {
  // config (optional): python_config overrides for the worker, e.g. {recursion_limit: 500}
  constructor({ createWorker, baseUrl = '', onPublish, onInputRequest, onFatal, onStatus, config = null } = {}) {
    if (typeof createWorker !== 'function') throw new TypeError('KiteController: createWorker is required');
    this._createWorker = createWorker;
    this._baseUrl = baseUrl;
    this._config = config;
    this._onPublish = onPublish || (() => {});
    this._onInputRequest = onInputRequest || (() => {});
    this._onFatal = onFatal || (() => {});
    this._onStatus = onStatus || (() => {});
    this._buffer = null;
    this._i32 = null;
    this._u8 = null;
    this._worker = null;
    this._state = 'new'; // new | starting | ready | dead | shutdown
    this._nextId = 1;
    this._pending = new Map(); // id -> {resolve, reject, msg_type}
    this._generation = 0; // bumps on every (re)start: messages of an old worker are ignored
    this.startupMs = null; // the worker's own measure: module load + stdlib + Py init
  }

  /** True when the kernel can be interrupted (a SharedArrayBuffer is shared with the worker). */
  get isolated() {
    return this._buffer !== null || (this._state === 'new' && canShareMemory());
  }

  get state() {
    return this._state;
  }

  _setState(s) {
    this._state = s;
    try {
      this._onStatus(s);
    } catch (e) {
      /* a status listener must not break the kernel */
    }
  }

  /** Starts the worker; resolves with {startup_ms} when Python is ready. */
  start() {
    if (this._state === 'starting' || this._state === 'ready') {
      return this._startPromise;
    }
    if (this._buffer === null && canShareMemory()) {
      this._buffer = new SharedArrayBuffer(BUFFER_BYTES);
      this._i32 = new Int32Array(this._buffer);
      this._u8 = new Uint8Array(this._buffer);
    }
    if (this._i32) {
      Atomics.store(this._i32, SIGNAL_INDEX, 0);
      Atomics.store(this._i32, STDIN_STATE_INDEX, STDIN_NONE);
    }
    const generation = ++this._generation;
    this._setState('starting');
    const worker = this._createWorker();
    this._worker = worker;
    this._startPromise = new Promise((resolve, reject) => {
      this._startResolve = resolve;
      this._startReject = reject;
    });
    this._startPromise.catch(() => {}); // callers see the rejection; never an unhandled one
    worker.onMessage((msg) => {
      if (generation === this._generation) this._onWorkerMessage(msg);
    });
    worker.onError((err) => {
      if (generation !== this._generation) return;
      const e = err instanceof Error ? err : new Error(String(err));
      this._die(`the kernel worker failed: ${e.message}`, e.stack || '');
    });
    worker.postMessage({ type: 'init', buffer: this._buffer, baseUrl: this._baseUrl, config: this._config });
    return this._startPromise;
  }

  _onWorkerMessage(msg) {
    switch (msg && msg.type) {
      case 'ready':
        this.startupMs = msg.startup_ms;
        this.recursionLimit = msg.recursion_limit;
        this._setState('ready');
        this._startResolve({ startup_ms: msg.startup_ms, recursion_limit: msg.recursion_limit, timings: msg.timings });
        break;
      case 'publish':
        this._onPublish(msg.msg_type, msg.content);
        break;
      case 'input_request':
        this._onInputRequest(msg.prompt, !!msg.password);
        break;
      case 'reply': {
        const p = this._pending.get(msg.id);
        if (p) {
          this._pending.delete(msg.id);
          p.resolve(msg.content);
        }
        break;
      }
      case 'fatal':
        this._die(msg.message || 'the kernel worker crashed', msg.stack || '');
        break;
      default:
        break;
    }
  }

  _die(message, stack) {
    if (this._state === 'dead' || this._state === 'shutdown') return;
    const wasStarting = this._state === 'starting';
    this._setState('dead');
    const err = new KernelDiedError(message, { fatal: true, stack });
    this._rejectPending(err);
    if (wasStarting) this._startReject(err);
    // the module is in an undefined state after a trap: free its memory now
    this._terminateWorker();
    try {
      this._onFatal(err);
    } catch (e) {
      /* ignore listener errors */
    }
  }

  _rejectPending(err) {
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const p of pending) p.reject(err);
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
   * Sends a request (execute_request, kernel_info_request, ...) and resolves with the reply
   * content. Requests run one at a time, in order, in the worker.
   */
  request(msg_type, content = {}) {
    if (this._state !== 'ready' && this._state !== 'starting') {
      return Promise.reject(new KernelDiedError(`the kernel is not running (state: ${this._state})`));
    }
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, msg_type });
      this._worker.postMessage({ type: 'request', id, msg_type, content });
    });
  }

  /**
   * Interrupts the running cell: {ok: true} or {ok: false, reason}. The signal is aimed at the
   * oldest unanswered request (the worker runs them in order), so it also stops a cell whose
   * request is still on its way to the worker; with nothing running it is dropped ({idle: true})
   * instead of leaking into the next cell.
   */
  interrupt(signal = SIGINT) {
    if (!this._i32) return { ok: false, reason: NOT_ISOLATED_REASON };
    if (this._state !== 'ready' && this._state !== 'starting') {
      return { ok: false, reason: `the kernel is not running (state: ${this._state})` };
    }
    const target = this._pending.keys().next();
    if (target.done) return { ok: true, idle: true };
    Atomics.store(this._i32, TARGET_INDEX, target.value);
    Atomics.store(this._i32, SIGNAL_INDEX, signal);
    Atomics.notify(this._i32, SIGNAL_INDEX);
    return { ok: true };
  }

  /** Answers the worker's pending input_request. Returns false if nobody was waiting. */
  inputReply(value) {
    value = value == null ? '' : String(value);
    if (!this._i32) {
      if (!this._worker) return false;
      this._worker.postMessage({ type: 'input_reply', value });
      return true;
    }
    if (Atomics.load(this._i32, STDIN_STATE_INDEX) !== STDIN_WAITING) return false;
    let bytes = new TextEncoder().encode(value);
    if (bytes.length > INPUT_CAPACITY) {
      // cut at a character boundary (never inside a UTF-8 sequence)
      let n = INPUT_CAPACITY;
      while (n > 0 && (bytes[n] & 0xc0) === 0x80) n--;
      bytes = bytes.subarray(0, n);
    }
    this._u8.set(bytes, INPUT_OFFSET);
    Atomics.store(this._i32, INPUT_LENGTH_INDEX, bytes.length);
    Atomics.store(this._i32, STDIN_STATE_INDEX, STDIN_REPLIED);
    Atomics.notify(this._i32, SIGNAL_INDEX);
    return true;
  }

  /** Kills the worker (even mid-cell) and starts a fresh one; pending requests are rejected. */
  restart() {
    this._generation++; // ignore anything the old worker still sends
    this._terminateWorker();
    this._rejectPending(new KernelDiedError('the kernel was restarted; the request was cancelled'));
    if (this._state === 'starting' && this._startReject) {
      this._startReject(new KernelDiedError('the kernel was restarted during startup'));
    }
    this._state = 'new';
    return this.start();
  }

  /** Stops the worker for good; pending requests are rejected. */
  shutdown() {
    this._generation++;
    this._terminateWorker();
    this._rejectPending(new KernelDiedError('the kernel was shut down'));
    if (this._state === 'starting' && this._startReject) {
      this._startReject(new KernelDiedError('the kernel was shut down during startup'));
    }
    this._setState('shutdown');
  }
}
