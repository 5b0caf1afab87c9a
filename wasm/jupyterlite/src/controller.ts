// How the extension finds and loads kite's controller (wasm/js/controller.js) at run time.
//
// The wasm assets (controller.js, worker.js, kite.js, kite.wasm, kite-stdlib.zip) are static files
// of this federated extension, under `<labextensions>/kite-jupyterlite/static/kite/`. They are not
// bundled: the controller is imported by URL, so the same files serve the Node host and the page.

import { PageConfig, URLExt } from '@jupyterlab/coreutils';

/** The npm / labextension name of this package. */
export const EXTENSION_NAME = 'kite-jupyterlite';

/** Result of `KiteController.interrupt()`. */
export interface IInterruptResult {
  ok: boolean;
  reason?: string;
}

/** Options of `new KiteController(...)` (wasm/js/controller.js). */
export interface IControllerOptions {
  createWorker?: (...args: any[]) => any;
  baseUrl: string;
  onPublish: (msgType: string, content: any) => void;
  onInputRequest: (prompt: string, password: boolean) => void;
  onFatal: (err: any) => void;
}

/** The part of wasm/js/controller.js the kernel uses. */
export interface IKiteController {
  start(): Promise<any>;
  request(msgType: string, content: any): Promise<any>;
  interrupt(signal?: number): IInterruptResult;
  inputReply(value: string): void;
  restart(): Promise<any>;
  shutdown(): any;
  readonly isolated: boolean;
  /** new | starting | ready | dead | shutdown */
  readonly state?: string;
  /** The worker's own start-up measure (module load + stdlib + Py init), in ms. */
  readonly startupMs?: number | null;
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
  onPublish?: (msgType: string, content: any) => void;
  onInputRequest?: (prompt: string, password: boolean) => void;
  onFatal?: (err: any) => void;
}

/** A controller whose worker is starting (or started), with relayed callbacks. */
export interface IControllerHandle {
  controller: IKiteController;
  handlers: IControllerHandlers;
  /** Resolves when Python is ready in the worker. */
  started: Promise<any>;
}

/** Create a controller and start its worker now. */
export function startController(mod: IControllerModule, baseUrl: string): IControllerHandle {
  const handlers: IControllerHandlers = {};
  const controller = new mod.KiteController({
    baseUrl,
    createWorker: browserWorkerFactory(mod, baseUrl),
    onPublish: (msgType, content) => handlers.onPublish?.(msgType, content),
    onInputRequest: (prompt, password) => handlers.onInputRequest?.(prompt, password),
    onFatal: err => handlers.onFatal?.(err)
  });
  const started = controller.start();
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

/** Whether this page can share memory with a worker (needed for interrupt and input()). */
export function pageIsIsolated(): boolean {
  return (
    (globalThis as any).crossOriginIsolated === true &&
    typeof SharedArrayBuffer !== 'undefined'
  );
}
