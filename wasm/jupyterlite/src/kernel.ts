// The main-thread side of the kite kernel: a JupyterLite BaseKernel that forwards requests to the
// wasm interpreter running in a Web Worker, through kite's controller (wasm/js/controller.js).

import { KernelMessage } from '@jupyterlab/services';
import { BaseKernel, IKernel } from '@jupyterlite/services';

import {
  IControllerHandle,
  IInterruptResult,
  IKiteController,
  loadControllerModule,
  pageIsIsolated,
  startController
} from './controller';

/** Why a page that is not cross-origin isolated cannot interrupt (console, log, dialog). */
export const NOT_ISOLATED_REASON =
  'This page is not cross-origin isolated, so kite cannot interrupt a running cell: ' +
  'interrupting needs a SharedArrayBuffer, which browsers only provide when the page is ' +
  'served with the headers "Cross-Origin-Opener-Policy: same-origin" and ' +
  '"Cross-Origin-Embedder-Policy: require-corp". Everything else works.';

export namespace KiteKernel {
  export interface IHooks {
    /** Interrupt was asked for a busy kernel but cannot be delivered (page not isolated). */
    onInterruptUnavailable?: (kernel: KiteKernel, reason: string) => void;
    /** A controller started ahead of time, if any (see Prewarm). */
    takeSpare?: () => Promise<IControllerHandle | null>;
    /** Log lines for the log console (start-up, isolation, crashes). */
    log?: (kernel: KiteKernel, level: 'info' | 'warning' | 'error', text: string) => void;
  }

  export interface IOptions extends IKernel.IOptions {
    /** Absolute URL (ending in '/') of the wasm assets. */
    assetsUrl: string;
    hooks?: IHooks;
  }
}

/** Messages the worker answers; anything else is handled here or ignored. */
type WorkerRequest =
  | 'execute_request'
  | 'complete_request'
  | 'inspect_request'
  | 'is_complete_request'
  | 'kernel_info_request'
  | 'comm_info_request'
  | 'shutdown_request';

export class KiteKernel extends BaseKernel {
  constructor(options: KiteKernel.IOptions) {
    // Outgoing messages pass through _outgoing (see there) before LiteKernelClient's sender.
    const relay: { to: IKernel.SendMessage | null } = { to: null };
    const send = options.sendMessage;
    super({ ...options, sendMessage: msg => (relay.to ?? send)(msg) });
    this._send = send;
    relay.to = msg => this._outgoing(msg);
    this._assetsUrl = options.assetsUrl;
    this._hooks = options.hooks ?? {};
    this._ready = this._start();
    // A kernel that failed to start must not leave an unhandled rejection behind; the
    // failure reaches the UI through `ready` (messages wait on it).
    this._ready.catch(() => undefined);
  }

  /** Resolves when the interpreter is ready (after start and after a crash-restart). */
  get ready(): Promise<void> {
    return this._ready;
  }

  /** Whether interrupt (and blocking input()) can use shared memory on this page. */
  get isolated(): boolean {
    return this._controller ? !!this._controller.isolated : pageIsIsolated();
  }

  /** Milliseconds from construction to "Python ready" (for the benchmark). */
  get startupMs(): number {
    return this._startupMs;
  }

  /** Whether a request (a cell, usually) is running in the worker. */
  get busy(): boolean {
    return this._running > 0;
  }

  /**
   * Interrupt the running cell: writes SIGINT into the shared buffer and wakes the worker.
   * On a page without cross-origin isolation this cannot work: the result says why and
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
   * Handle an `interrupt_request` of the control channel as soon as it arrives (the kernel
   * client calls this before the message joins the queue of shell requests).
   */
  handleInterruptRequest(msg: KernelMessage.IMessage): void {
    this._earlyInterrupts.add(msg.header.msg_id);
    const result = this.interrupt();
    const content = result.ok
      ? { status: 'ok' }
      : {
          status: 'error',
          ename: 'InterruptUnavailable',
          evalue: result.reason ?? '',
          traceback: []
        };
    this._send(
      KernelMessage.createMessage({
        msgType: 'interrupt_reply',
        channel: 'control',
        session: msg.header.session,
        parentHeader: msg.header as any,
        content: content as any
      })
    );
  }

  async handleMessage(msg: KernelMessage.IMessage): Promise<void> {
    const msgType = msg.header.msg_type;
    if (msgType === 'input_reply') {
      // Arrives while the cell runs; no busy/idle around it (the cell is still busy).
      this.inputReply((msg as KernelMessage.IInputReplyMsg).content);
      return;
    }
    if (msgType === 'interrupt_request') {
      // Already answered when it arrived (see handleInterruptRequest), unless it came
      // through another path.
      if (!this._earlyInterrupts.delete(msg.header.msg_id)) {
        this.handleInterruptRequest(msg);
        this._earlyInterrupts.delete(msg.header.msg_id);
      }
      return;
    }
    if (msgType === 'execute_request' && this._shouldAbort(msg)) {
      this._replyAborted(msg);
      return;
    }
    await super.handleMessage(msg);
    if (this._crash && !this.isDisposed) {
      await this._restartAfterCrash(msg);
    }
  }

  async kernelInfoRequest(): Promise<KernelMessage.IInfoReplyMsg['content']> {
    const reply = await this._request('kernel_info_request', {});
    if (reply && reply.status !== 'error') {
      return { status: 'ok', ...reply };
    }
    return {
      status: 'ok',
      protocol_version: '5.3',
      implementation: 'kite',
      implementation_version: '0.1.0',
      language_info: {
        name: 'python',
        version: '3.11',
        mimetype: 'text/x-python',
        file_extension: '.py',
        codemirror_mode: { name: 'ipython', version: 3 },
        pygments_lexer: 'ipython3',
        nbconvert_exporter: 'python'
      },
      banner: 'kite: CPython 3.11 (wasm)',
      help_links: []
    } as any;
  }

  async executeRequest(
    content: KernelMessage.IExecuteRequestMsg['content']
  ): Promise<KernelMessage.IExecuteReplyMsg['content']> {
    const reply = await this._request('execute_request', content);
    if (reply) {
      return reply;
    }
    if (this.isDisposed) {
      // Restarted or shut down mid-cell: the frontend already dropped this cell.
      return {
        status: 'error',
        execution_count: this.executionCount,
        ename: 'KernelRestarted',
        evalue: 'the kernel was restarted',
        traceback: []
      } as any;
    }
    // The worker died during the cell (wasm trap, RangeError, ...): say so in the cell.
    const evalue =
      `the kite interpreter crashed (${this._crashMessage()}); ` +
      'its state is lost and the kernel restarts now.';
    const traceback = [`\u001b[0;31mKernelCrashed\u001b[0m: ${evalue}`];
    this.publishExecuteError({ ename: 'KernelCrashed', evalue, traceback });
    return {
      status: 'error',
      execution_count: this.executionCount,
      ename: 'KernelCrashed',
      evalue,
      traceback
    } as any;
  }

  async completeRequest(
    content: KernelMessage.ICompleteRequestMsg['content']
  ): Promise<KernelMessage.ICompleteReplyMsg['content']> {
    return (
      (await this._request('complete_request', content)) ?? {
        status: 'ok',
        matches: [],
        cursor_start: content.cursor_pos,
        cursor_end: content.cursor_pos,
        metadata: {}
      }
    );
  }

  async inspectRequest(
    content: KernelMessage.IInspectRequestMsg['content']
  ): Promise<KernelMessage.IInspectReplyMsg['content']> {
    return (
      (await this._request('inspect_request', content)) ?? {
        status: 'ok',
        found: false,
        data: {},
        metadata: {}
      }
    );
  }

  async isCompleteRequest(
    content: KernelMessage.IIsCompleteRequestMsg['content']
  ): Promise<KernelMessage.IIsCompleteReplyMsg['content']> {
    return (
      (await this._request('is_complete_request', content)) ?? { status: 'unknown' }
    );
  }

  async commInfoRequest(
    content: KernelMessage.ICommInfoRequestMsg['content']
  ): Promise<KernelMessage.ICommInfoReplyMsg['content']> {
    return (
      (await this._request('comm_info_request', content)) ?? { status: 'ok', comms: {} }
    );
  }

  inputReply(content: KernelMessage.IInputReplyMsg['content']): void {
    const value = content.status === 'ok' ? (content as any).value ?? '' : '';
    this._controller?.inputReply(value);
  }

  async commOpen(msg: KernelMessage.ICommOpenMsg): Promise<void> {
    // kite has no comms (no ipywidgets): close what the frontend opens.
  }

  async commMsg(msg: KernelMessage.ICommMsgMsg): Promise<void> {
    // No comms.
  }

  async commClose(msg: KernelMessage.ICommCloseMsg): Promise<void> {
    // No comms.
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    const controller = this._controller;
    this._controller = null;
    try {
      void Promise.resolve(controller?.shutdown()).catch(() => undefined);
    } catch (err) {
      console.warn('[kite] shutdown failed', err);
    }
    super.dispose();
  }

  private async _start(): Promise<void> {
    const t0 = performance.now();
    let handle = (await this._hooks.takeSpare?.()) ?? null;
    const prewarmed = handle !== null;
    if (!handle) {
      const mod = await loadControllerModule(this._assetsUrl);
      if (this.isDisposed) {
        return;
      }
      handle = startController(mod, this._assetsUrl);
    }
    handle.handlers.onPublish = (msgType, content) => this._publish(msgType, content);
    handle.handlers.onInputRequest = (prompt, password) =>
      this.inputRequest({ prompt: prompt ?? '', password: !!password });
    handle.handlers.onFatal = err => this._onFatal(err);
    const controller = handle.controller;
    this._controller = controller;
    if (this.isDisposed) {
      controller.shutdown();
      return;
    }
    await handle.started;
    this._startupMs = performance.now() - t0;
    const where = controller.isolated
      ? 'cross-origin isolated: Interrupt and input() use shared memory'
      : 'NOT cross-origin isolated: Interrupt cannot stop a running cell (restart instead)';
    console.info(
      `[kite] kernel ${this.id} ready in ${this._startupMs.toFixed(0)} ms` +
        `${prewarmed ? ' (prewarmed interpreter)' : ''}; ${where}`
    );
    if (!controller.isolated) {
      console.warn(`[kite] ${NOT_ISOLATED_REASON}`);
      this._hooks.log?.(this, 'warning', NOT_ISOLATED_REASON);
    }
  }

  /**
   * Every message to the frontend goes through here. An execute_reply with status "error" (a
   * KeyboardInterrupt, say) starts an abort, as ipykernel's stop_on_error does: the execute
   * requests sent before it (the rest of a "Run all") are answered "aborted" without running.
   * LiteKernelClient would instead drop them without any reply, which leaves the notebook's
   * execution indicator busy forever; metadata.cause = 'interrupt' is what tells it not to.
   */
  private _outgoing(msg: KernelMessage.IMessage): void {
    if (msg.channel === 'shell' && msg.header.msg_type === 'execute_reply') {
      const content = msg.content as any;
      if (content.status === 'error') {
        const request = this.parent as KernelMessage.IExecuteRequestMsg | undefined;
        if (request?.content?.stop_on_error !== false) {
          this._abortBefore = Date.now();
        }
        msg.metadata = { ...(msg.metadata ?? {}), cause: 'interrupt' };
      }
    }
    this._send(msg);
  }

  /** Whether an execute_request was sent before the last error (stop_on_error). */
  private _shouldAbort(msg: KernelMessage.IMessage): boolean {
    if (!this._abortBefore) {
      return false;
    }
    const sent = Date.parse(msg.header.date ?? '');
    return Number.isFinite(sent) && sent <= this._abortBefore;
  }

  private _replyAborted(msg: KernelMessage.IMessage): void {
    const session = msg.header.session;
    const status = (state: KernelMessage.Status) =>
      this._send(
        KernelMessage.createMessage({
          msgType: 'status',
          channel: 'iopub',
          session,
          parentHeader: msg.header as any,
          content: { execution_state: state }
        })
      );
    status('busy');
    this._send(
      KernelMessage.createMessage({
        msgType: 'execute_reply',
        channel: 'shell',
        session,
        parentHeader: msg.header as any,
        content: { status: 'aborted', execution_count: null } as any,
        metadata: { cause: 'interrupt' }
      })
    );
    status('idle');
  }

  /** Send a request to the worker; `undefined` if the worker died meanwhile. */
  private async _request(msgType: WorkerRequest, content: any): Promise<any | undefined> {
    try {
      await this._ready;
    } catch (err) {
      this._crash = this._crash ?? err;
      return undefined;
    }
    const controller = this._controller;
    if (!controller || this._crash) {
      return undefined;
    }
    this._running++;
    try {
      return await controller.request(msgType, content);
    } catch (err) {
      if (!this._crash && !this.isDisposed) {
        // A rejected request without a fatal report: treat it as a crash all the same.
        this._crash = err ?? new Error('request failed');
      }
      return undefined;
    } finally {
      this._running--;
    }
  }

  /** iopub messages from the interpreter, sent with the current cell as parent. */
  private _publish(msgType: string, content: any): void {
    if (this.isDisposed) {
      return;
    }
    const parent = this.parentHeader;
    if (
      (msgType === 'display_data' ||
        msgType === 'update_display_data' ||
        msgType === 'execute_result') &&
      content &&
      !content.metadata
    ) {
      content.metadata = {};
    }
    this._send(
      KernelMessage.createMessage({
        channel: 'iopub',
        msgType: msgType as any,
        session: parent?.session ?? '',
        parentHeader: parent as any,
        content
      })
    );
  }

  private _onFatal(err: any): void {
    if (this.isDisposed) {
      return;
    }
    this._crash = err ?? new Error('fatal error');
    const text = `the kite interpreter crashed: ${this._crashMessage()}`;
    console.error(`[kite] ${text}`, err);
    this._hooks.log?.(this, 'error', text);
    if (!this.busy) {
      // Died between requests: restart now (nobody waits for a reply).
      void this._restartAfterCrash(this.parent);
    }
  }

  private _crashMessage(): string {
    const err = this._crash;
    if (!err) {
      return 'unknown error';
    }
    return String(err.message ?? err);
  }

  /**
   * After a crash: tell the frontend that the kernel restarts (status "restarting", as
   * jupyter_server does when it auto-restarts a dead kernel), start a fresh interpreter, and
   * report "dead" if that fails too (the user can then restart or pick another kernel).
   */
  private async _restartAfterCrash(parent: KernelMessage.IMessage | undefined): Promise<void> {
    if (this._restarting) {
      return this._restarting;
    }
    const sendStatus = (state: KernelMessage.Status) =>
      this._send(
        KernelMessage.createMessage({
          msgType: 'status',
          channel: 'iopub',
          session: parent?.header.session ?? '',
          parentHeader: parent?.header as any,
          content: { execution_state: state }
        })
      );
    const run = async () => {
      sendStatus('restarting');
      try {
        await this._controller!.restart();
        this._crash = null;
        this._hooks.log?.(this, 'info', 'kite restarted after the crash');
      } catch (err) {
        console.error('[kite] restart after crash failed', err);
        this._hooks.log?.(this, 'error', `restart after crash failed: ${err}`);
        sendStatus('dead');
        throw err;
      }
    };
    this._restarting = run();
    this._ready = this._restarting;
    try {
      await this._restarting;
    } catch {
      // reported above
    } finally {
      this._restarting = null;
    }
  }

  private _send: IKernel.SendMessage;
  private _assetsUrl: string;
  private _hooks: KiteKernel.IHooks;
  private _controller: IKiteController | null = null;
  private _ready: Promise<void>;
  private _startupMs = 0;
  private _running = 0;
  private _crash: any = null;
  private _restarting: Promise<void> | null = null;
  private _earlyInterrupts = new Set<string>();
  private _abortBefore = 0;
}
