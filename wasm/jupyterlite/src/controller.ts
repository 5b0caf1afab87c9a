// How the extension finds and loads kite's controller (wasm/js/controller.js) at run time.
//
// The wasm assets (controller.js, worker.js, kite.js, kite.wasm, kite-stdlib.zip) are static files
// of this federated extension, under `<labextensions>/kite-jupyterlite/static/kite/`. They are not
// bundled: the controller is imported by URL, so the same files serve the Node host and the page.

import { PageConfig, URLExt } from '@jupyterlab/coreutils';

import { IDriveOptions } from './drive';
import { pageRelay } from './relay';
import { installerEnv } from './siteindex';

/** The npm / labextension name of this package. */
export const EXTENSION_NAME = 'kite-jupyterlite';

/**
 * A whole Jupyter message as the controller takes and gives it (wasm/js/controller.js).
 * In (`send`): buffers may be ArrayBuffer (transferred to the worker, so detached afterwards),
 * TypedArray or DataView (copied). Out (`onMessage`): buffers are ArrayBuffers.
 */
export interface IKiteMessage {
  /** shell | control | stdin | iopub */
  channel: string;
  header: any;
  parent_header: any;
  metadata: any;
  content: any;
  buffers?: (ArrayBuffer | ArrayBufferView)[];
}

/** Result of `KiteController.interrupt()`. */
export interface IInterruptResult {
  ok: boolean;
  /** true: no execute request was pending, the signal was dropped */
  idle?: boolean;
  /** true: a dated interrupt waits for an execute request sent before it that is not here yet */
  armed?: boolean;
  reason?: string;
}

/** What `start()` / `restart()` resolve with (the worker's own measures). */
export interface IStartInfo {
  /** module load + stdlib + Python init, in the worker */
  startup_ms: number;
  timings: { load_js_ms: number; instantiate_ms: number; python_start_ms: number };
  /** sys.getrecursionlimit() in the worker */
  recursion_limit: number;
  /** a SharedArrayBuffer is shared with the worker */
  isolated: boolean;
  /** how interrupts and input() reach the worker (see IKiteController.interruptChannel) */
  interrupt_channel?: InterruptChannel;
  /** the worker's probe of the service-worker relay (pages without isolation), if any */
  relay?: IRelayInfo | null;
}

/**
 * How interrupts (and blocking input()) reach the worker: shared memory on cross-origin
 * isolated pages, the service-worker relay (polled) elsewhere, or nothing (restart only).
 */
export type InterruptChannel = 'shared-memory' | 'service-worker' | 'none';

/** The worker's probe of the relay at start. */
export interface IRelayInfo {
  ok: boolean;
  /** the probe's round trip (ms) */
  rtt_ms: number | null;
  /** how often CPython consults the page while a cell runs (ms), when fixed by the page */
  interval_ms: number | null;
  /** else: [factor, min ms, max ms]: the interval is factor x the measured round trip */
  adaptive?: number[] | null;
  /** why it did not answer */
  reason: string;
}

/** Options of `new KiteController(...)` (wasm/js/controller.js). */
export interface IControllerOptions {
  /** () => {postMessage(msg, transfer), onMessage(cb), onError(cb), terminate()} */
  createWorker: () => any;
  /** where kite.js, kite.wasm, kite-stdlib.zip live */
  baseUrl: string;
  /** python_config overrides for the worker */
  config?: { recursion_limit?: number; argv?: string[]; home?: string } | null;
  /** environment variables Python starts with (the installer's KITE_BUNDLED_INDEX_URL, ...) */
  env?: Record<string, string> | null;
  /** scripts the worker downloads while it starts, for later use (drive.js) */
  preload?: string[] | null;
  /**
   * Every Jupyter message for the client, in order (replies, iopub, stdin input_request).
   * Messages the controller answers itself (interrupt_request; kernel_info_request on control;
   * shutdown_request on control while a cell runs) are delivered synchronously from `send`.
   */
  onMessage: (msg: IKiteMessage) => void;
  /** The worker died (wasm trap, stack overflow, abort): a KernelDiedError; state is 'dead'. */
  onFatal: (err: any) => void;
}

/** wasm/js/controller.js's KiteController. */
export interface IKiteController {
  start(): Promise<IStartInfo>;
  /**
   * Sends a whole message. Returns false only for an input_reply nobody waits for (and other
   * stdin messages). Throws a KernelDiedError (err.name === 'KernelDiedError') when the kernel is
   * not running, or what postMessage throws (e.g. a DataCloneError): then the message was not
   * sent and the worker is fine.
   */
  send(msg: IKiteMessage): boolean;
  /**
   * SIGINT (default) to the worker (shared buffer or relay), aimed at the oldest pending execute
   * request; with `date` (an interrupt_request's header.date), at the oldest one sent at or
   * before it, or armed for one that has not arrived yet.
   */
  interrupt(signal?: number, date?: string | null): IInterruptResult;
  /** Kills the worker (even mid-cell) and starts a fresh one: Python state is lost. */
  restart(): Promise<IStartInfo>;
  shutdown(): void;
  /**
   * The kernel's location (JupyterLite's "dir" or "Drive:dir"): with `drive`, the worker mounts
   * the contents at /drive and runs there (kept for restarts). Never rejects.
   */
  setLocation(location: string, drive?: IDriveOptions | null): Promise<ILocationResult>;
  readonly isolated: boolean;
  /** null until the worker is ready */
  readonly interruptChannel: InterruptChannel | null;
  readonly relayInfo: IRelayInfo | null;
  readonly relayId: string;
  useRelay(relay: { url: string; browsingContextId: string; interval_ms?: number | null } | null): void;
  answerRelay(data: any): Promise<any>;
  readonly state: 'new' | 'starting' | 'ready' | 'dead' | 'shutdown';
  /** The worker's own start-up measure (module load + stdlib + Py init), in ms. */
  readonly startupMs: number | null;
  readonly recursionLimit: number | null;
}

/** The worker's answer to setLocation. */
export interface ILocationResult {
  /** the drive is mounted and the cwd is the location's directory */
  ok: boolean;
  /** the worker's cwd now */
  cwd: string | null;
  /** why not (or what is odd: the directory was not found) */
  reason: string;
  /** how long the worker took (loading drive.js, mounting, chdir), and loading drive.js alone */
  ms?: number;
  script_ms?: number;
}

export interface IControllerModule {
  KiteController: new (options: IControllerOptions) => IKiteController;
  [name: string]: any;
}

/**
 * The absolute URL (ending in '/') of the directory holding the wasm assets.
 *
 * `litePluginSettings["kite-jupyterlite:kernel"].assetsUrl` in jupyter-lite.json overrides it
 * (e.g. to serve the wasm from another path of the same origin).
 */
export function assetsUrl(): string {
  const settings = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}');
  const custom: string | undefined = settings?.['kite-jupyterlite:kernel']?.assetsUrl;
  let url: string;
  if (custom) {
    url = custom;
  } else {
    const labextensions =
      PageConfig.getOption('fullLabextensionsUrl') ||
      URLExt.join(PageConfig.getBaseUrl(), 'extensions');
    url = URLExt.join(labextensions, EXTENSION_NAME, 'static', 'kite');
  }
  url = new URL(url, globalThis.location?.href).href;
  return url.endsWith('/') ? url : url + '/';
}

const modules = new Map<string, Promise<IControllerModule>>();

/** Import controller.js (once per URL). */
export function loadControllerModule(baseUrl: string): Promise<IControllerModule> {
  let mod = modules.get(baseUrl);
  if (!mod) {
    const url = baseUrl + 'controller.js';
    mod = import(/* webpackIgnore: true */ url) as Promise<IControllerModule>;
    mod.catch(() => modules.delete(baseUrl));
    modules.set(baseUrl, mod);
  }
  return mod;
}

/**
 * The worker factory for the page: the controller's `browserWorkerFactory(url)` (an adapter over
 * a classic `Worker` running `worker.js` beside the other assets).
 */
export function browserWorkerFactory(
  mod: IControllerModule,
  baseUrl: string
): () => any {
  if (typeof mod.browserWorkerFactory !== 'function') {
    throw new Error('kite: controller.js has no browserWorkerFactory export');
  }
  return mod.browserWorkerFactory(baseUrl + 'worker.js');
}

/** The callbacks of a controller, switchable after creation (a prewarmed one gets its kernel later). */
export interface IControllerHandlers {
  onMessage?: (msg: IKiteMessage) => void;
  onFatal?: (err: any) => void;
}

/** A controller whose worker is starting (or started), with relayed callbacks. */
export interface IControllerHandle {
  controller: IKiteController;
  handlers: IControllerHandlers;
  /** Resolves when Python is ready in the worker. */
  started: Promise<IStartInfo>;
}

/** Create a controller and start its worker now. */
export function startController(mod: IControllerModule, baseUrl: string): IControllerHandle {
  const handlers: IControllerHandlers = {};
  const controller = new mod.KiteController({
    baseUrl,
    env: installerEnv(),
    // the notebook's files (drive.js): fetched while the interpreter starts, wherever a service
    // worker may relay the drive's requests
    preload: (globalThis as any).navigator?.serviceWorker ? [baseUrl + 'drive.js'] : null,
    createWorker: browserWorkerFactory(mod, baseUrl),
    onMessage: msg => handlers.onMessage?.(msg),
    onFatal: err => handlers.onFatal?.(err)
  });
  let relayed = false;
  if (!pageIsIsolated() && typeof controller.useRelay === 'function') {
    // no shared memory: interrupts and input() go through the site's service worker, if one
    // relays for this worker (the worker probes it at start, see relay.ts)
    try {
      pageRelay().attach(controller);
      relayed = true;
    } catch (err) {
      console.warn('[kite] no service-worker relay', err);
    }
  }
  let started = controller.start();
  if (relayed) {
    // On a first visit the worker may start (prewarm) before JupyterLite's service worker
    // controls the page: then nothing relays its requests. If the service worker takes over
    // meanwhile, replace that still unused worker once, so that Interrupt works.
    started = started.then(async info => {
      if (info?.interrupt_channel !== 'none' || !(await serviceWorkerControls(3000))) {
        return info;
      }
      console.info(
        '[kite] the service worker took control of the page after the interpreter started: ' +
          'starting a fresh one that can use it (Interrupt)'
      );
      return controller.restart();
    });
  }
  started.catch(() => undefined);
  return { controller, handlers, started };
}

/**
 * One interpreter started ahead of time (when the page loads), so the first kite kernel is
 * ready as soon as the notebook asks for it instead of ~0.5 s later.
 */
export class Prewarm {
  constructor(private _baseUrl: string) {}

  /** Start the spare interpreter (once). */
  start(): void {
    if (this._spare || this._used) {
      return;
    }
    const t0 = performance.now();
    this._spare = loadControllerModule(this._baseUrl).then(mod => {
      const tModule = performance.now();
      const handle = startController(mod, this._baseUrl);
      handle.started.then(
        () =>
          console.info(
            `[kite] prewarmed interpreter ready ${(performance.now() - t0).toFixed(0)} ms after ` +
              `app start (controller.js ${(tModule - t0).toFixed(0)} ms, worker startup ` +
              `${Number(handle.controller.startupMs ?? NaN).toFixed(0)} ms); ` +
              `page time ${performance.now().toFixed(0)} ms`
          ),
        () => undefined
      );
      return handle;
    });
    this._spare.catch(err => console.warn('[kite] prewarm failed', err));
  }

  /** The spare, if there is a healthy one (only the first kernel gets it). */
  async take(): Promise<IControllerHandle | null> {
    const spare = this._spare;
    this._spare = null;
    this._used = true;
    if (!spare) {
      return null;
    }
    try {
      const handle = await spare;
      const state = handle.controller.state;
      if (state === 'dead' || state === 'shutdown') {
        return null;
      }
      return handle;
    } catch {
      return null;
    }
  }

  private _spare: Promise<IControllerHandle> | null = null;
  private _used = false;
}

/**
 * Whether a service worker controls this page, now or within `ms` (only waited for when one is
 * registered for it: JupyterLite registers its own while the app starts).
 */
export async function serviceWorkerControls(ms: number): Promise<boolean> {
  const sw = (globalThis as any).navigator?.serviceWorker;
  if (!sw) {
    return false;
  }
  if (sw.controller) {
    return true;
  }
  try {
    if (!(await sw.getRegistration())) {
      return false;
    }
  } catch {
    return false;
  }
  return new Promise<boolean>(resolve => {
    const done = () => {
      clearTimeout(timer);
      resolve(!!sw.controller);
    };
    const timer = setTimeout(done, ms);
    sw.addEventListener('controllerchange', done, { once: true });
  });
}

/** Whether this page can share memory with a worker (needed for interrupt and input()). */
export function pageIsIsolated(): boolean {
  return (
    (globalThis as any).crossOriginIsolated === true &&
    typeof SharedArrayBuffer !== 'undefined'
  );
}
