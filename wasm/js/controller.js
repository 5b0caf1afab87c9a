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
  'not cross-origin isolated (no SharedArrayBuffer) and no service worker relays requests for ' +
  'this page, so a running cell cannot be interrupted (serve the page with COOP same-origin + ' +
  'COEP require-corp headers, or let JupyterLite\'s service worker control it); restart the ' +
  'kernel to stop it';

// ---- the service-worker relay (pages without cross-origin isolation) ----------------------
// Without a SharedArrayBuffer the worker reaches the page with SYNCHRONOUS XMLHttpRequests that
// the site's service worker relays to the page (JupyterLite's "/api/stdin/" relay over the
// BroadcastChannel "/sw-api.v1"; the page side is wasm/jupyterlite/src/relay.ts, which calls
// answerRelay). What the shared buffer holds lives here instead: the pending signal and the seq
// of the execute_request it is aimed at. The worker polls (CPython's periodic check, at most
// every RELAY_POLL_MS while a cell runs) and blocks in held requests (time.sleep, input()) that
// are answered at once on Interrupt, on the input_reply, or when their time is up.
/** The interrupt channels a worker can have (`interruptChannel`, the worker's `ready`). */
export const CHANNELS = Object.freeze({ SHARED: 'shared-memory', RELAY: 'service-worker', NONE: 'none' });
/** Longest wait the page holds one relayed request for (the worker asks again). */
export const RELAY_HOLD_MS = 10000;

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

/** How long a dated interrupt that arrived before its execute_request waits for it (ms). */
export const ARMED_INTERRUPT_MS = 10000;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2})?)?$/;

/**
 * A Jupyter header `date` (ISO 8601, e.g. 2026-12-01T11:48:57.123456Z) as microseconds since
 * 1970, or null when absent or unreadable. Exact to the microsecond (Date.parse keeps ms only):
 * two messages a few µs apart compare in the order the client dated them. No zone = UTC.
 * The same reading as native/posix_interrupts.cpp's parse_date.
 */
export function parseDate(iso) {
  if (typeof iso !== 'string' || iso.length > 64) return null;
  const m = ISO_DATE.exec(iso);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v || 0));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const micros = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  const offset = m[9] ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] || 0)) : 0;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offset * 60000;
  return Number.isFinite(ms) ? ms * 1000 + micros : null;
}
const dateOf = (header) => (header && typeof header === 'object' ? parseDate(header.date) : null);

export class KiteController {
  /**
   * createWorker: () => worker adapter; baseUrl: where kite.js, kite.wasm, kite-stdlib.zip live;
   * config: python_config overrides for the worker ({recursion_limit, argv, home});
   * env: environment variables Python starts with ({name: value}; e.g. KITE_INDEX_URL);
   * preload: URLs of scripts the worker downloads while it starts (browser: drive.js);
   * onMessage(msg): every Jupyter message for the client (msg.channel: shell, control, iopub,
   * stdin; buffers as ArrayBuffers); onFatal(err): the worker died (KernelDiedError).
   */
  constructor({ createWorker, baseUrl = '', config = null, env = null, preload = null, onMessage, onFatal } = {}) {
    if (typeof createWorker !== 'function') throw new TypeError('KiteController: createWorker is required');
    this._createWorker = createWorker;
    this._baseUrl = baseUrl;
    this._config = config;
    this._env = env;
    this._preload = preload;
    // the kernel's location and drive (setLocation), sent again to every new worker
    this._location = null;
    this._locationWaiters = []; // resolvers of setLocation(), answered in order by the worker
    this._onMessage = onMessage || (() => {});
    this._onFatal = onFatal || (() => {});
    this._buffer = null;
    this._i32 = null;
    this._u8 = null;
    this._worker = null;
    this._state = 'new'; // new | starting | ready | dead | shutdown
    this._seq = 0; // messages posted to the current worker
    this._pending = new Map(); // seq -> {id, date} of an execute_request whose execute_reply (or a comm_msg whose idle) is not seen yet
    // dated interrupts (interrupt_request): the latest execute_request date sent (µs, parseDate),
    // and an interrupt that came before its execute_request {date, signal, until} (see interrupt())
    this._lastExecuteDate = null;
    this._armed = null;
    this._generation = 0; // bumps on every (re)start: messages of an old worker are ignored
    this._session = uuid(); // of the messages built here (interrupt_reply and its statuses)
    this._startPromise = null;
    this.startupMs = null; // the worker's own measure: module load + stdlib + Py init
    this.recursionLimit = null;
    this._kernelInfo = null; // kernel_info_reply content reported by the worker at start
    // the service-worker relay: set by useRelay() before start() (pages without isolation)
    this._relay = null; // {url, browsingContextId} of the page's relay, or null
    this.relayId = uuid(); // what the page's relay dispatches this controller's requests by
    this._channel = null; // CHANNELS.* reported by the worker when it is ready
    this.relayInfo = null; // the worker's relay probe: {ok, rtt_ms, reason}
    this._rsig = 0; // relay: the pending signal ...
    this._rtarget = 0; // ... the seqs of the requests it is aimed at (the first ...
    this._rlast = 0; // ... and the last: see _aim) ...
    this._rid = 0; // ... and its number: kept until the worker acknowledges it (`ack`)
    this._held = new Set(); // relay: requests the page holds ({op, seq, finish(response)})
    this._stdin = { waiting: false, value: null }; // relay: an input_request waiting for its reply
  }

  /**
   * Lets the worker reach this page through a service-worker relay when there is no shared
   * memory: relay = {url (absolute, ending in /api/stdin/<name>), browsingContextId,
   * interval_ms (optional: how often CPython polls the page while a cell runs)}, or null.
   * The page must route what arrives there to answerRelay(data) (data.kite === this.relayId).
   */
  useRelay(relay) {
    this._relay = relay && relay.url && relay.browsingContextId
      ? { url: String(relay.url), browsingContextId: String(relay.browsingContextId), interval_ms: Number(relay.interval_ms) || null }
      : null;
  }

  /**
   * How interrupts reach the running cell: 'shared-memory' (SharedArrayBuffer + Atomics),
   * 'service-worker' (the relay, polled) or 'none'; null until the worker is ready.
   */
  get interruptChannel() {
    return this._channel;
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
      for (const k of ['SIGNAL', 'TARGET', 'TARGET_LAST', 'SEQUENCE', 'INPUT_LENGTH']) Atomics.store(this._i32, LAYOUT[k], 0);
      Atomics.store(this._i32, LAYOUT.STDIN_STATE, LAYOUT.STDIN_NONE);
    }
    const generation = ++this._generation;
    this._seq = 0;
    this._pending.clear();
    this._armed = null;
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
    this._resetRelay();
    this._channel = null;
    const relay = this._buffer === null && this._relay ? { ...this._relay, kite: this.relayId, generation } : null;
    worker.postMessage({ type: 'init', buffer: this._buffer, baseUrl: this._baseUrl, config: this._config, layout: LAYOUT, relay, env: this._env, preload: this._preload });
    if (this._location) worker.postMessage({ type: 'location', ...this._location });
    return this._startPromise;
  }

  /**
   * The kernel's location (JupyterLite's "dir" or "Drive:dir" of its notebook) and, in a browser
   * whose page answers DriveFS requests, drive = {script (drive.js URL), baseUrl,
   * browsingContextId}: the worker mounts the contents at /drive and makes the location its cwd
   * (wasm/jupyterlite/worker/drive.js). Kept for restarts. Posted before any later message, so
   * the next cell runs there. Resolves with the worker's {ok, cwd, reason, ms}.
   */
  setLocation(location, drive = null) {
    this._location = { location: String(location || ''), drive: drive || null };
    if (!this._worker || this._state === 'dead' || this._state === 'shutdown') {
      return Promise.resolve({ ok: false, cwd: null, reason: `the kernel is ${this._state}` });
    }
    return new Promise((resolve) => {
      this._locationWaiters.push(resolve);
      this._worker.postMessage({ type: 'location', ...this._location });
    });
  }

  _onWorkerMessage(m) {
    switch (m && m.type) {
      case 'ready':
        this.startupMs = m.startup_ms;
        this.recursionLimit = m.recursion_limit;
        this._kernelInfo = m.kernel_info && typeof m.kernel_info === 'object' ? m.kernel_info : null;
        this._channel = m.interrupt_channel || (m.isolated ? CHANNELS.SHARED : CHANNELS.NONE);
        this.relayInfo = m.relay || null;
        this._state = 'ready';
        this._startResolve({
          startup_ms: m.startup_ms,
          timings: m.timings,
          recursion_limit: m.recursion_limit,
          isolated: !!m.isolated,
          interrupt_channel: this._channel,
          relay: this.relayInfo,
        });
        break;
      case 'message':
        if (m.msg && msgType(m.msg) === 'execute_reply') this._executeDone(msgId(m.msg.parent_header));
        // a comm_msg (widget callback) has no reply: its idle status ends it
        else if (m.msg && msgType(m.msg) === 'status' && m.msg.content && m.msg.content.execution_state === 'idle') this._executeDone(msgId(m.msg.parent_header));
        // relay: from now on an input_reply is the answer the blocked worker waits for
        if (m.msg && msgType(m.msg) === 'input_request' && !this._i32) this._stdin = { waiting: true, value: null };
        this._emit(m.msg);
        break;
      case 'location': {
        const resolve = this._locationWaiters.shift();
        if (resolve) resolve({ ok: !!m.ok, cwd: m.cwd || null, reason: m.reason || '', ms: m.ms, script_ms: m.script_ms });
        break;
      }
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
    for (const [seq, pending] of this._pending) {
      if (pending.id === id) {
        done = seq;
        break;
      }
    }
    if (done === null) return;
    for (const seq of [...this._pending.keys()]) if (seq <= done) this._pending.delete(seq);
    // relay: a signal aimed at requests that are all over can only be stale
    if (this._rsig !== 0 && this._rlast <= done) this._rsig = 0;
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
    this._resetRelay();
    this._dropLocationWaiters('the kernel died');
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
    if (type === 'execute_request' || type === 'comm_msg') {
      const id = msgId(msg.header);
      const date = dateOf(msg.header);
      if (id !== null) this._pending.set(seq, { id, date });
      this._sentExecute(seq, date);
    }
    return true;
  }

  // An execute_request dated `date` is message `seq` in the worker: an armed interrupt dated at
  // or after it is aimed at it now; one dated before it is over (shell messages arrive in
  // order: no execute_request sent before the interrupt can come any more), and so is one
  // armed longer than ARMED_INTERRUPT_MS. An undated execute leaves it armed.
  _sentExecute(seq, date) {
    if (date === null) return;
    if (this._lastExecuteDate === null || date > this._lastExecuteDate) this._lastExecuteDate = date;
    const armed = this._armed;
    if (!armed) return;
    this._armed = null;
    if (date <= armed.date && Date.now() <= armed.until) this._aim(seq, seq, armed.signal);
  }

  /**
   * Interrupts the running cell: {ok: true} or {ok: false, reason}. The signal is aimed at the
   * oldest execute_request whose execute_reply has not come back (the worker runs messages in
   * order), so it also stops a cell whose request is still on its way to the worker; with no
   * execute pending it is dropped ({ok: true, idle: true}) instead of leaking into a later cell.
   * `date` (an interrupt_request's header.date; none for SIGINT or the Interrupt button): the
   * interrupt applies only to execute_requests the client sent before it (dated at or before
   * it; an undated execute counts as before), whatever the arrival order across sockets: the
   * oldest such pending execute is the target. With none pending it is dropped when an execute
   * dated after it was already sent (no earlier one can follow: shell messages arrive in order),
   * else kept armed ({ok: true, armed: true}) for the execute_request still on its way: the
   * first dated execute sent next is the target if dated at or before it (see _sentExecute).
   */
  interrupt(signal = SIGINT, date = null) {
    const relayed = !this._i32 && this._channel === CHANNELS.RELAY;
    if (!this._i32 && !relayed) return { ok: false, reason: NOT_ISOLATED_REASON };
    if (this._state !== 'ready' && this._state !== 'starting') {
      return { ok: false, reason: `the kernel is not running (state: ${this._state})` };
    }
    const when = parseDate(date);
    let target = 0;
    let last = 0;
    for (const [seq, pending] of this._pending) {
      if (when === null || pending.date === null || pending.date <= when) {
        if (target === 0) target = seq;
        last = seq;
      }
    }
    if (target !== 0) return this._aim(target, last, signal);
    if (when === null || (this._lastExecuteDate !== null && this._lastExecuteDate > when)) return { ok: true, idle: true };
    if (!this._armed || this._armed.date <= when) this._armed = { date: when, signal, until: Date.now() + ARMED_INTERRUPT_MS };
    return { ok: true, armed: true };
  }

  // The signal into the buffer (or the relay), aimed at messages `seq`..`last` (the pending
  // execute_requests and comm_msgs sent before the interrupt): TARGET, TARGET_LAST, then
  // SIGNAL. The first of them that takes it consumes it: a comm_msg queued before the cell
  // that runs no Python (a widget manager's message to a closed comm) passes it on to the cell
  // instead of losing it.
  _aim(seq, last, signal) {
    if (!this._i32) {
      this._rtarget = seq;
      this._rlast = last;
      this._rsig = signal;
      this._rid++;
      this._relayWake();
      return { ok: true };
    }
    Atomics.store(this._i32, LAYOUT.TARGET, seq);
    Atomics.store(this._i32, LAYOUT.TARGET_LAST, last);
    Atomics.store(this._i32, LAYOUT.SIGNAL, signal);
    Atomics.notify(this._i32, LAYOUT.SIGNAL);
    return { ok: true };
  }

  // interrupt_request: answered here, like ipykernel answers control requests: status busy,
  // interrupt_reply (on the request's channel), status idle, each with the request as parent.
  _answerInterrupt(msg) {
    const r = this.interrupt(SIGINT, this._parentOf(msg).date);
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
    if (!this._i32) return this._relayInput(value);
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

  // ---- the relay (see RELAY_HOLD_MS above) -------------------------------------------------

  /**
   * A request the worker made through the service-worker relay (the page's relay calls this):
   * data = {kite: relayId, generation, op, seq, ...}. Resolves with the response object.
   *   hello           -> {ok: true}                      (the worker's probe at start)
   *   poll  {seq}     -> {signal}                        (CPython's periodic check)
   *   wait  {seq, ms, signals} -> {signal}               (held: time.sleep, kite's waits)
   *   input {seq, ms} -> {value} | {signal} | {timeout}  (held: input())
   * `signal` is the pending signal if it is aimed at message `seq`, else 0; a signal aimed at an
   * earlier message is stale and dropped, one aimed at a later one waits. A signal is answered
   * with its number `sid` and stays pending until a request of the worker carries `ack: sid`
   * (the worker acknowledges what it received in every request): an answer the worker never
   * got (its request timed out meanwhile) is answered again, so no interrupt is lost.
   */
  answerRelay(data) {
    if (!data || data.kite !== this.relayId || data.generation !== this._generation || !this._worker) {
      return Promise.resolve({ stale: true });
    }
    const seq = data.seq | 0;
    const ms = Math.max(0, Math.min(Number(data.ms) || 0, RELAY_HOLD_MS));
    if (this._rsig !== 0 && (data.ack | 0) === this._rid) this._rsig = 0; // the worker has it
    switch (data.op) {
      case 'hello':
        return Promise.resolve({ ok: true });
      case 'poll':
        return Promise.resolve(this._relaySignal(seq));
      case 'wait': {
        const answer = data.signals ? this._relaySignal(seq) : { signal: 0 };
        if (answer.signal !== 0 || ms === 0) return Promise.resolve(answer);
        return this._hold({ op: 'wait', seq, signals: !!data.signals }, ms, { signal: 0 });
      }
      case 'input': {
        if (this._stdin.value !== null) return Promise.resolve({ value: this._takeInput() });
        this._stdin.waiting = true; // (the input_request may still be on its way)
        const answer = this._relaySignal(seq);
        if (answer.signal !== 0) {
          this._stdin = { waiting: false, value: null };
          return Promise.resolve(answer);
        }
        return this._hold({ op: 'input', seq, signals: true }, ms || RELAY_HOLD_MS, { signal: 0, timeout: true });
      }
      default:
        return Promise.resolve({ error: `unknown relay op ${String(data.op)}` });
    }
  }

  // The relayed signal for message `seq`: {signal, sid}, or {signal: 0}. A signal aimed only at
  // earlier messages is stale: dropped (the shared buffer's begin_execute does the same).
  _relaySignal(seq) {
    if (this._rsig !== 0 && this._rtarget <= seq && seq <= this._rlast) return { signal: this._rsig, sid: this._rid };
    if (this._rsig !== 0 && this._rlast < seq) this._rsig = 0;
    return { signal: 0 };
  }

  _hold(request, ms, timeoutResponse) {
    return new Promise((resolve) => {
      const held = {
        ...request,
        finish: (response) => {
          if (!this._held.delete(held)) return;
          clearTimeout(held.timer);
          resolve(response);
        },
      };
      held.timer = setTimeout(() => {
        if (held.op === 'input' && this._stdin.value !== null) held.finish({ value: this._takeInput() });
        else held.finish(timeoutResponse);
      }, ms);
      this._held.add(held);
    });
  }

  // A signal or an input reply arrived: answer the held request it is for.
  _relayWake() {
    for (const held of [...this._held]) {
      if (held.op === 'input' && this._stdin.value !== null) {
        held.finish({ value: this._takeInput() });
        continue;
      }
      if (!held.signals) continue;
      const answer = this._relaySignal(held.seq);
      if (answer.signal !== 0) {
        if (held.op === 'input') this._stdin = { waiting: false, value: null };
        held.finish(answer);
      }
    }
  }

  _relayInput(value) {
    if (!this._relay || !this._stdin.waiting) return false;
    let text = value == null ? '' : String(value);
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > LAYOUT.INPUT_CAPACITY) {
      // the same cut as the shared buffer's (at a character boundary)
      let n = LAYOUT.INPUT_CAPACITY;
      while (n > 0 && (bytes[n] & 0xc0) === 0x80) n--;
      text = new TextDecoder().decode(bytes.subarray(0, n));
    }
    this._stdin.value = text;
    this._relayWake();
    return true;
  }

  _takeInput() {
    const value = this._stdin.value;
    this._stdin = { waiting: false, value: null };
    return value;
  }

  // A new, dead or stopped worker: nothing held stays held (the service worker would keep the
  // request open), no signal or input reply carries over.
  _dropLocationWaiters(reason) {
    for (const resolve of this._locationWaiters.splice(0)) resolve({ ok: false, cwd: null, reason });
  }

  _resetRelay() {
    for (const held of [...this._held]) held.finish({ stale: true });
    this._rsig = 0;
    this._rtarget = 0;
    this._rlast = 0;
    this._stdin = { waiting: false, value: null };
  }

  /** Kills the worker (even mid-cell) and starts a fresh one (Python state lost). */
  restart() {
    this._generation++; // ignore anything the old worker still sends
    this._terminateWorker();
    this._resetRelay();
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
    this._resetRelay();
    this._dropLocationWaiters('the kernel was shut down');
    if (this._state === 'starting' && this._startReject) {
      this._startReject(new KernelDiedError('the kernel was shut down during startup'));
    }
    this._state = 'shutdown';
  }
}
