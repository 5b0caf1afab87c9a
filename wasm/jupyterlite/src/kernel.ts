// The main-thread side of the kite kernel: a JupyterLite IKernel that forwards whole Jupyter
// messages to the wasm interpreter in a Web Worker (through kite's controller,
// wasm/js/controller.js) and hands whatever the worker sends back to JupyterLite.
//
// The Jupyter protocol rules (status busy/idle, execute_input, execution counts, stop_on_error,
// replies of every request type, comms, history) live in the core in the worker (kernel/). What
// stays here is only what cannot run there:
//   - interrupts: the controller answers a control-channel interrupt_request itself and writes
//     SIGINT into the shared buffer; `interrupt()` serves the kernel client's REST-style path;
//   - input_reply: the controller writes it into the shared buffer the blocked worker waits on;
//   - a dead worker (wasm trap, RangeError): the requests it was running get KernelCrashed replies,
//     then status "restarting", a fresh worker, "idle";
//   - the routing JupyterLite's LiteKernelClient needs (header.session, see _toFrontend).

import { KernelMessage } from '@jupyterlab/services';
import { IKernel } from '@jupyterlite/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IControllerHandle,
  IInterruptResult,
  IKiteController,
  loadControllerModule,
  pageIsIsolated,
  startController
} from './controller';
import { IDriveOptions } from './drive';
import { describeInterruptChannel, relayUnavailableReason } from './relay';

/** Why a page that is not cross-origin isolated cannot interrupt (console, log, dialog). */
export const NOT_ISOLATED_REASON =
  'This page is not cross-origin isolated and no service worker relays requests for it, so ' +
  'kite cannot interrupt a running cell: interrupting needs a SharedArrayBuffer, which ' +
  'browsers only provide when the page is served with the headers ' +
  '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp", ' +
  "or JupyterLite's service worker (unavailable in some private windows). Everything else works.";

/** A performance mark (the page-load breakdown of the benchmark reads them). */
export function mark(name: string): void {
  try {
    performance.mark(`kite:${name}`);
  } catch {
    // marks are best effort
  }
}

export namespace KiteKernel {
  export interface IHooks {
    /** Interrupt was asked for a busy kernel but cannot be delivered (page not isolated). */
    onInterruptUnavailable?: (kernel: KiteKernel, reason: string) => void;
    /** A controller started ahead of time, if any (see Prewarm). */
    takeSpare?: () => Promise<IControllerHandle | null>;
    /** Log lines for the log console (start-up, isolation, crashes). */
    log?: (kernel: KiteKernel, level: 'info' | 'warning' | 'error', text: string) => void;
    /** The page's drive for the worker (the notebook's files), or why there is none. */
    drive?: () => IDriveOptions | string;
  }

  export interface IOptions extends IKernel.IOptions {
    /** Absolute URL (ending in '/') of the wasm assets. */
    assetsUrl: string;
    hooks?: IHooks;
  }
}

/** A request sent to the worker whose reply has not come back yet. */
interface IPending {
  msg: KernelMessage.IMessage;
  /** The execution_count the core announced in execute_input, if any. */
  executionCount: number | null;
}

export class KiteKernel implements IKernel {
  constructor(options: KiteKernel.IOptions) {
    this._id = options.id;
    this._name = options.name;
    this._location = options.location;
    this._sendMessage = options.sendMessage;
    this._assetsUrl = options.assetsUrl;
    this._hooks = options.hooks ?? {};
    mark('kernel-created');
    // Never rejects: a kernel that cannot start answers requests with errors (see _dead).
    this._ready = this._start();
  }

  get id(): string {
    return this._id;
  }

  get name(): string {
    return this._name;
  }

  get location(): string {
    return this._location;
  }

  /** Resolves when the interpreter is ready (after start, and after a crash-restart). */
  get ready(): Promise<void> {
    return this._ready;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  /** Whether interrupt (and blocking input()) can use shared memory on this page. */
  get isolated(): boolean {
    return this._controller ? !!this._controller.isolated : pageIsIsolated();
  }

  /** Milliseconds from construction to "Python ready" (for the benchmark). */
  get startupMs(): number {
    return this._startupMs;
  }

  /** Whether an execute request is in the worker (running or queued there). */
  get busy(): boolean {
    for (const pending of this._pending.values()) {
      if (pending.msg.header.msg_type === 'execute_request') {
        return true;
      }
    }
    return false;
  }

  /**
   * Interrupt the running cell (the kernel client's interrupt(), i.e. the Interrupt button):
   * SIGINT into the shared buffer, aimed at the oldest execute request in the worker. On a page
   * without cross-origin isolation this cannot work: the result says why and, if a cell runs,
   * the UI hook explains it to the user.
   */
  interrupt(): IInterruptResult {
    if (!this._controller) {
      return { ok: false, reason: 'the kernel is still starting' };
    }
    let result: IInterruptResult;
    try {
      result = this._controller.interrupt(2) ?? { ok: false, reason: 'no answer' };
    } catch (err) {
      result = { ok: false, reason: String(err) };
    }
    if (!result.ok) {
      const reason = this.isolated ? result.reason || 'unknown reason' : NOT_ISOLATED_REASON;
      console.warn(`[kite] interrupt not delivered: ${reason}`);
      if (this.busy) {
        this._hooks.onInterruptUnavailable?.(this, reason);
      }
      return { ok: false, reason };
    }
    return result;
  }

  /**
   * A message from a client (LiteKernelClient calls this one message at a time, after `ready`;
   * input_reply comes outside that queue, while a cell waits for it). It is posted to the worker
   * at once: the worker handles shell messages in order, so this resolves without waiting for
   * the reply and LiteKernelClient's queue stays empty (an interrupt_request never waits behind
   * a running cell).
   */
  async handleMessage(msg: KernelMessage.IMessage): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    if (msg.header.session) {
      this._lastSession = msg.header.session;
    }
    if (this._firstMessage) {
      this._firstMessage = false;
      mark('first-message');
    }
    const msgType = msg.header.msg_type;
    if (msgType !== 'input_reply') {
      // input_reply must not wait: the worker is blocked in input() until it arrives.
      await this._ready;
    }
    const tracked = msgType.endsWith('_request') && msgType !== 'interrupt_request';
    for (let attempt = 0; ; attempt++) {
      const controller = this._controller;
      if (this._dead || !controller) {
        this._answerDead(msg);
        return;
      }
      if (tracked) {
        this._pending.set(msg.header.msg_id, { msg, executionCount: null });
      }
      try {
        controller.send(msg);
        return;
      } catch (err: any) {
        this._pending.delete(msg.header.msg_id);
        if (err?.name !== 'KernelDiedError' || attempt > 0) {
          // Not sent (e.g. a DataCloneError), the worker is fine: the request fails alone.
          console.warn(`[kite] ${msgType} not delivered`, err);
          this._answerUnsent(msg, err);
          return;
        }
        // The worker died before its fatal report reached us: recover, then send again.
        this._onFatal(err);
        await this._ready;
      }
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    const controller = this._controller;
    this._controller = null;
    this._pending.clear();
    try {
      void Promise.resolve(controller?.shutdown()).catch(() => undefined);
    } catch (err) {
      console.warn('[kite] shutdown failed', err);
    }
    this._disposed.emit(void 0);
    Signal.clearData(this);
  }

  private async _start(): Promise<void> {
    const t0 = performance.now();
    try {
      let handle = (await this._hooks.takeSpare?.()) ?? null;
      const prewarmed = handle !== null;
      if (!handle) {
        const mod = await loadControllerModule(this._assetsUrl);
        if (this._isDisposed) {
          return;
        }
        handle = startController(mod, this._assetsUrl);
      }
      handle.handlers.onMessage = msg => this._toFrontend(msg);
      handle.handlers.onFatal = err => this._onFatal(err);
      const controller = handle.controller;
      this._controller = controller;
      if (this._isDisposed) {
        void Promise.resolve(controller.shutdown()).catch(() => undefined);
        return;
      }
      // before any message of the kernel: its first cell runs in the notebook's directory
      let drive = this._mountDrive(controller);
      const started = await handle.started;
      if (!drive.offered && !relayUnavailableReason()) {
        // a first visit: the service worker took control of the page while the kernel started
        drive = this._mountDrive(controller);
      }
      void drive.result.then(outcome => this._logDrive(outcome));
      this._started = true;
      this._startupMs = performance.now() - t0;
      mark('kernel-ready');
      const channel = describeInterruptChannel(controller);
      console.info(
        `[kite] kernel ${this.id} ready in ${this._startupMs.toFixed(0)} ms` +
          `${prewarmed ? ' (prewarmed interpreter)' : ''}; ${channel.text}; worker: ` +
          JSON.stringify({ startup_ms: started?.startup_ms, ...(started?.timings ?? {}) })
      );
      // the kernel's log says which interrupt channel is in use (issue 11)
      this._hooks.log?.(this, channel.level, channel.text);
      if (channel.level === 'warning') {
        console.warn(`[kite] ${NOT_ISOLATED_REASON}`);
      }
    } catch (err) {
      this._dead = err ?? new Error('the kernel did not start');
      const text = `the kite interpreter did not start: ${String((err as any)?.message ?? err)}`;
      console.error(`[kite] ${text}`, err);
      this._hooks.log?.(this, 'error', text);
    }
  }

  /**
   * Mount JupyterLite's contents in the worker, cwd = the notebook's directory (worker/drive.js).
   * `offered` is false when the page has no drive to offer (no service worker controls it).
   */
  private _mountDrive(controller: IKiteController): {
    offered: boolean;
    result: Promise<{ ok: boolean; text: string }>;
  } {
    const drive = this._hooks.drive?.() ?? 'no drive on this page';
    const offered = typeof drive !== 'string';
    const result = controller.setLocation(this._location, offered ? drive : null).then(r => ({
      ok: r.ok,
      text: r.ok
        ? `files: the notebook's directory is the cwd (${r.cwd}); JupyterLite's files are under /drive` +
          (r.reason ? ` (${r.reason})` : '') +
          (r.ms !== undefined
            ? `; mounted in ${r.ms.toFixed(1)} ms (loading drive.js: ${r.script_ms?.toFixed(1)} ms)`
            : '')
        : `files: JupyterLite's files are not available to Python (${offered ? r.reason : drive}); ` +
          `the cwd is ${r.cwd ?? '?'}, in memory only`
    }));
    return { offered, result };
  }

  /** The drive's outcome in the console and the log console (a warning when not mounted). */
  private _logDrive({ ok, text }: { ok: boolean; text: string }): void {
    console[ok ? 'info' : 'warn'](`[kite] ${text}`);
    this._hooks.log?.(this, ok ? 'info' : 'warning', text);
  }

  /**
   * Every message the worker sends goes to the frontend through here, in JupyterLite's shape.
   * LiteKernelClient routes by `header.session`: the socket of that client id gets the message
   * (iopub then goes to every client of the kernel), so a message gets the session of the client
   * whose request caused it (parent_header.session), as JupyterLite's own kernels do.
   */
  private _toFrontend(raw: any): void {
    if (this._isDisposed || !raw || !raw.header) {
      return;
    }
    const parent = raw.parent_header && raw.parent_header.msg_id ? raw.parent_header : {};
    const session: string = parent.session || this._lastSession;
    if (!session) {
      // Nobody is connected yet (the worker's "starting" status at start-up).
      return;
    }
    const msg = {
      channel: raw.channel,
      header: { ...raw.header, session },
      parent_header: parent,
      metadata: raw.metadata ?? {},
      content: raw.content ?? {},
      buffers: (raw.buffers ?? []).map(toArrayBuffer)
    } as KernelMessage.IMessage;
    const msgType = msg.header.msg_type;
    if (msg.channel === 'iopub') {
      if (msgType === 'execute_input' && parent.msg_id) {
        const pending = this._pending.get(parent.msg_id);
        if (pending) {
          pending.executionCount = (msg.content as any).execution_count ?? null;
        }
      }
    } else if (msgType.endsWith('_reply') && parent.msg_id) {
      this._pending.delete(parent.msg_id);
      if (msgType === 'kernel_info_reply' && this._firstInfoReply) {
        this._firstInfoReply = false;
        mark('first-kernel-info-reply');
      }
      if (msgType === 'execute_reply' && (msg.content as any).status === 'error') {
        // LiteKernelClient cancels every message still waiting in its per-kernel queue, WITHOUT
        // answering them, when it sees an execute_reply with status "error" unless
        // metadata.cause is "interrupt". The core already aborts queued execute requests itself
        // (stop_on_error), and messages do wait in that queue while the kernel (re)starts, so
        // the tag keeps LiteKernelClient from dropping them (which would leave cells at "[*]").
        msg.metadata = { ...msg.metadata, cause: 'interrupt' };
      }
    }
    this._sendMessage(msg);
  }

  /** A message the frontend sent to a kernel that could not start: error reply, status dead. */
  private _answerDead(msg: KernelMessage.IMessage): void {
    const msgType = msg.header.msg_type;
    if (!msgType.endsWith('_request')) {
      return;
    }
    const reason = String(this._dead?.message ?? this._dead);
    const evalue = `the kite interpreter did not start: ${reason}`;
    this._reply(msg, { status: 'error', ename: 'KernelDead', evalue, traceback: [] });
    this._status(msg, 'dead');
  }

  /** A request the controller could not post: error reply and idle, so the client is not stuck. */
  private _answerUnsent(msg: KernelMessage.IMessage, err: any): void {
    if (!msg.header.msg_type.endsWith('_request')) {
      return;
    }
    const ename = String(err?.name ?? 'Error');
    const evalue = String(err?.message ?? err);
    this._reply(msg, { status: 'error', ename, evalue, traceback: [] });
    this._status(msg, 'idle');
  }

  private _onFatal(err: any): void {
    if (this._isDisposed || this._recovering || !this._started) {
      // (a worker that dies while starting is _start's failure, reported there)
      return;
    }
    const text = `the kite interpreter crashed: ${String(err?.message ?? err ?? 'fatal error')}`;
    console.error(`[kite] ${text}`, err);
    this._hooks.log?.(this, 'error', text);
    this._recovering = this._recover(text);
    this._ready = this._recovering;
  }

  /**
   * After a crash: the request the worker was running gets a KernelCrashed error (iopub error +
   * error reply), the ones queued behind it are aborted, then status "restarting" (as
   * jupyter_server says when it auto-restarts a dead kernel), a fresh interpreter and "idle".
   * If the restart fails, "dead" (the user can restart or pick another kernel).
   */
  private async _recover(text: string): Promise<void> {
    const pending = [...this._pending.values()];
    this._pending.clear();
    const evalue = `${text}; its state is lost and the kernel restarts now.`;
    const traceback = [`\u001b[0;31mKernelCrashed\u001b[0m: ${evalue}`];
    pending.forEach(({ msg, executionCount }, index) => {
      const isExecute = msg.header.msg_type === 'execute_request';
      if (index === 0) {
        if (isExecute) {
          this._publish(msg, 'error', { ename: 'KernelCrashed', evalue, traceback });
        }
        this._reply(msg, {
          status: 'error',
          ename: 'KernelCrashed',
          evalue,
          traceback,
          ...(isExecute ? { execution_count: executionCount } : {})
        });
      } else if (isExecute) {
        this._reply(msg, { status: 'aborted', execution_count: null });
      } else {
        this._reply(msg, { status: 'error', ename: 'KernelCrashed', evalue, traceback: [] });
      }
      this._status(msg, 'idle');
    });
    const parent = pending[0]?.msg;
    this._status(parent, 'restarting');
    try {
      if (!this._controller) {
        throw new Error('no controller');
      }
      await this._controller.restart();
      this._hooks.log?.(this, 'info', 'kite restarted after the crash');
      this._status(parent, 'idle');
    } catch (err) {
      console.error('[kite] restart after crash failed', err);
      this._hooks.log?.(this, 'error', `restart after crash failed: ${err}`);
      this._dead = err ?? new Error('restart failed');
      this._status(parent, 'dead');
    } finally {
      this._recovering = null;
    }
  }

  private _reply(request: KernelMessage.IMessage, content: any): void {
    const msgType = request.header.msg_type.replace(/_request$/, '_reply');
    const msg = KernelMessage.createMessage({
      msgType: msgType as any,
      channel: (request.channel === 'control' ? 'control' : 'shell') as any,
      session: request.header.session,
      parentHeader: request.header as any,
      content,
      metadata: content.status === 'error' ? { cause: 'interrupt' } : {}
    });
    this._pending.delete(request.header.msg_id);
    this._sendMessage(msg);
  }

  private _publish(parent: KernelMessage.IMessage, msgType: string, content: any): void {
    this._sendMessage(
      KernelMessage.createMessage({
        msgType: msgType as any,
        channel: 'iopub',
        session: parent.header.session,
        parentHeader: parent.header as any,
        content
      })
    );
  }

  private _status(parent: KernelMessage.IMessage | undefined, state: KernelMessage.Status): void {
    const session = parent?.header.session || this._lastSession;
    if (!session || this._isDisposed) {
      return;
    }
    this._sendMessage(
      KernelMessage.createMessage({
        msgType: 'status',
        channel: 'iopub',
        session,
        parentHeader: (parent?.header ?? {}) as any,
        content: { execution_state: state }
      })
    );
  }

  private _id: string;
  private _name: string;
  private _location: string;
  private _sendMessage: IKernel.SendMessage;
  private _assetsUrl: string;
  private _hooks: KiteKernel.IHooks;
  private _isDisposed = false;
  private _disposed = new Signal<this, void>(this);
  private _controller: IKiteController | null = null;
  private _ready: Promise<void>;
  private _startupMs = 0;
  private _pending = new Map<string, IPending>();
  private _lastSession = '';
  private _dead: any = null;
  private _recovering: Promise<void> | null = null;
  private _started = false;
  private _firstMessage = true;
  private _firstInfoReply = true;
}

/** A buffer as a whole ArrayBuffer (JupyterLab's serializer ignores a view's byteOffset). */
function toArrayBuffer(buffer: any): ArrayBuffer {
  if (buffer instanceof ArrayBuffer) {
    return buffer;
  }
  if (ArrayBuffer.isView(buffer)) {
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    return view.slice().buffer;
  }
  return new Uint8Array(buffer ?? []).buffer;
}
