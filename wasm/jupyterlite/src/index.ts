// kite for JupyterLite: registers the "Python 3.11 (kite)" kernel and the kernel client that
// makes Interrupt reach it.

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ISessionContext, Notification, showDialog } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ILoggerRegistry } from '@jupyterlab/logconsole';
import { IServerSettings, ServerConnection, ServiceManagerPlugin } from '@jupyterlab/services';
import { IKernelClient, IKernelSpecs } from '@jupyterlite/services';
import { Widget } from '@lumino/widgets';

import logoSvg from '../style/logo.svg';
import { KiteKernelClient } from './client';
import { Prewarm, assetsUrl } from './controller';
import { PageDrive } from './drive';
import { KiteKernel, mark } from './kernel';
import { adoptXeusKernels, guardWaitAsync } from './xeus';

export { KiteKernel } from './kernel';
export { KiteKernelClient } from './client';

const KERNEL_PLUGIN_ID = 'kite-jupyterlite:kernel';

// as early as possible: @jupyterlite/xeus's coincident reads Atomics.waitAsync when it loads
guardWaitAsync();
const LOGO = `data:image/svg+xml;base64,${btoa(logoSvg)}`;

/**
 * The in-browser kernel client, replacing `@jupyterlite/services-extension:kernel-client`
 * (a service plugin providing the same token; federated plugins register after core ones, so
 * this one wins).
 */
const kernelClientPlugin: ServiceManagerPlugin<IKernelClient> = {
  id: 'kite-jupyterlite:kernel-client',
  description: 'In-browser kernel client whose interrupt() reaches kite kernels.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [IServerSettings],
  provides: IKernelClient,
  activate: (
    _: null,
    kernelSpecs: IKernelSpecs,
    serverSettings: ServerConnection.ISettings | null
  ): IKernelClient => {
    return new KiteKernelClient({
      kernelSpecs,
      serverSettings: serverSettings ?? undefined
    });
  }
};

/** Find the session context (notebook, console) whose kernel is `kernelId`. */
function findSessionContext(
  app: JupyterFrontEnd,
  kernelId: string
): ISessionContext | undefined {
  const current = app.shell.currentWidget as any;
  const candidates = [current, ...Array.from(app.shell.widgets('main'))];
  for (const widget of candidates) {
    const context: ISessionContext | undefined = (widget as any)?.sessionContext;
    if (context?.session?.kernel?.id === kernelId) {
      return context;
    }
  }
  return undefined;
}

function notIsolatedBody(): Widget {
  const body = document.createElement('div');
  body.className = 'kite-interrupt-dialog';
  body.innerHTML = `
    <p><b>The running cell cannot be interrupted on this page.</b></p>
    <p>kite interrupts Python through shared memory (<code>SharedArrayBuffer</code>), which
    browsers only allow on <i>cross-origin isolated</i> pages: pages served with the headers
    <code>Cross-Origin-Opener-Policy: same-origin</code> and
    <code>Cross-Origin-Embedder-Policy: require-corp</code>. This page was served without them
    (GitHub Pages, for example, cannot set them).</p>
    <p>Without them kite interrupts through JupyterLite's service worker, but no service worker
    relays requests for this page (some browsers disable service workers in private windows;
    the site may have been built without one). Reloading the page can help.</p>
    <p><b>To stop the cell now</b>, restart the kernel (its variables are lost).<br/>
    <b>To make Interrupt work</b>, serve the site with those headers, e.g.
    <code>python wasm/serve.py build/site</code> (<code>make demo</code>).</p>`;
  return new Widget({ node: body });
}

/**
 * When the prewarm starts, by default. On a cold HTTP cache the download (~6 MB) is the long pole:
 * start at module load, so it overlaps JupyterLab's own start. On a warm cache (kite ran on this
 * site before, see kiteUsedRecently) the worker's CPU is the cost, and a worker started at module
 * load competes with the plugins' activation (on a 2-core machine it delayed the notebook by more
 * than it saved: wasm/jupyterlite/README.md, "Start-up"): start once the plugins are activated
 * (`app.started`), still before JupyterLab asks for the kernel. `prewarmWhen` in the plugin
 * settings overrides it (`load`, `started`, `restored`).
 */
function defaultPrewarmWhen(): PrewarmWhen {
  return kiteUsedRecently() !== null ? 'started' : 'load';
}

/** localStorage key: when a kite kernel was last started on this site (this base URL). */
const USED_KEY = `kite-jupyterlite:last-used:${PageConfig.getBaseUrl()}`;
/** A kite kernel started on this site within this many days makes later page loads prewarm. */
const USED_DAYS = 30;

/** Remember that kite runs on this site (see prewarmReason). */
function noteKiteUsed(): void {
  try {
    globalThis.localStorage?.setItem(USED_KEY, String(Date.now()));
  } catch {
    // storage disabled: no prewarm on later loads unless the page asks for kite
  }
}

/** Hours since a kite kernel last started on this site in this browser, if within USED_DAYS. */
function kiteUsedRecently(): number | null {
  try {
    const used = Number(globalThis.localStorage?.getItem(USED_KEY) ?? NaN);
    const age = Date.now() - used;
    return Number.isFinite(used) && age < USED_DAYS * 86400 * 1000 ? age / 3600000 : null;
  } catch {
    return null; // storage disabled
  }
}

/**
 * Why this page load should start an interpreter ahead of time, or null. The prewarm downloads
 * the kernel (~6 MB compressed, from the HTTP cache after the first time) and spends ~1 s of CPU
 * in a worker, which only pays off on a page that is about to start kite, so it runs when:
 *   - the URL asks for kite (`?kernel=kite`, the REPL's and console's parameter);
 *   - the page opens a notebook (`?path=*.ipynb`) or a console, and kite is the site's default
 *     kernel (a new notebook or console gets kite);
 *   - a kite kernel was started on this site in this browser within the last 30 days (a
 *     returning kite user: JupyterLab restores the notebooks that were open).
 * Any other page (a site where kite is installed but not used, the file browser, a notebook of
 * another kernel) downloads nothing of kite until a kite kernel starts.
 * `litePluginSettings["kite-jupyterlite:kernel"].prewarm`: false never prewarms, "always" always.
 */
export function prewarmReason(settings: { prewarm?: boolean | string }): string | null {
  if (settings.prewarm === false || settings.prewarm === 'never') {
    return null;
  }
  if (settings.prewarm === 'always') {
    return 'prewarm: "always"';
  }
  const params = new URLSearchParams(globalThis.location?.search ?? '');
  const kernel = params.get('kernel');
  if (kernel === 'kite') {
    return 'the URL asks for kernel=kite';
  }
  const defaultIsKite = PageConfig.getOption('defaultKernelName') === 'kite';
  const parts = (globalThis.location?.pathname ?? '')
    .split('/')
    .filter(p => p && p !== 'index.html');
  const page = parts[parts.length - 1] ?? '';
  const path = params.get('path') ?? '';
  if (defaultIsKite && !kernel && (page === 'repl' || page === 'consoles')) {
    return 'a console on a site whose default kernel is kite';
  }
  if (defaultIsKite && path.endsWith('.ipynb')) {
    return 'a notebook on a site whose default kernel is kite';
  }
  const hours = kiteUsedRecently();
  return hours === null ? null : `a kite kernel ran on this site ${hours.toFixed(1)} h ago`;
}

/** When the prewarm starts: module load, JupyterLab's `started` or `restored` (see PREWARM). */
type PrewarmWhen = 'load' | 'started' | 'restored';

/**
 * One interpreter started ahead of time when the page is likely to use kite (prewarmReason): the
 * first kite kernel takes it over, so its start-up overlaps the app's.
 * `litePluginSettings["kite-jupyterlite:kernel"].prewarmWhen` picks the moment it starts.
 */
const PREWARM: { prewarm: Prewarm; when: PrewarmWhen } | null = (() => {
  mark('extension-loaded');
  try {
    const settings =
      JSON.parse(PageConfig.getOption('litePluginSettings') || '{}')[KERNEL_PLUGIN_ID] ?? {};
    if (PageConfig.Extension.isDisabled(KERNEL_PLUGIN_ID)) {
      return null;
    }
    const reason = prewarmReason(settings);
    if (!reason) {
      console.info('[kite] no prewarm: nothing on this page asks for kite yet');
      return null;
    }
    const when: PrewarmWhen = ['load', 'started', 'restored'].includes(settings.prewarmWhen)
      ? settings.prewarmWhen
      : defaultPrewarmWhen();
    console.info(`[kite] prewarming an interpreter (at ${when}): ${reason}`);
    const prewarm = new Prewarm(assetsUrl());
    if (when === 'load') {
      startPrewarm(prewarm);
    }
    return { prewarm, when };
  } catch (err) {
    console.warn('[kite] no prewarm', err);
    return null;
  }
})();

function startPrewarm(prewarm: Prewarm): void {
  mark('prewarm-start');
  prewarm.start();
}

/** The kite kernel spec and its factory. */
const kernelPlugin: JupyterFrontEndPlugin<void> = {
  id: KERNEL_PLUGIN_ID,
  description: 'The kite kernel: CPython 3.11 in wasm, interruptible.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [ILoggerRegistry],
  activate: (
    app: JupyterFrontEnd,
    kernelspecs: IKernelSpecs,
    loggerRegistry: ILoggerRegistry | null
  ) => {
    const url = assetsUrl();
    const prewarm = PREWARM?.prewarm ?? new Prewarm(url);
    if (PREWARM && PREWARM.when !== 'load') {
      void app[PREWARM.when].then(() => startPrewarm(PREWARM.prewarm));
    }
    void app.started.then(() => mark('app-started'));
    void app.restored.then(() => mark('app-restored'));
    let dialogOpen = false;
    // the notebook's files in the kernel: the page answers the workers' DriveFS requests
    const drive = new PageDrive(app.serviceManager.contents);

    const log: KiteKernel.IHooks['log'] = (kernel, level, text) => {
      if (!loggerRegistry) {
        return;
      }
      let path = '';
      for (const session of app.serviceManager.sessions.running()) {
        if (session.kernel?.id === kernel.id) {
          path = session.path;
          break;
        }
      }
      loggerRegistry.getLogger(path).log({ type: 'text', level, data: `kite: ${text}` });
    };

    const onInterruptUnavailable = async (kernel: KiteKernel, reason: string) => {
      if (dialogOpen) {
        return;
      }
      dialogOpen = true;
      try {
        const restart = Dialog.warnButton({ label: 'Restart kernel', accept: true });
        const result = await showDialog({
          title: 'Cannot interrupt the kite kernel',
          body: kernel.isolated
            ? `The interrupt was not delivered: ${reason}`
            : notIsolatedBody(),
          buttons: [Dialog.cancelButton({ label: 'Keep running' }), restart],
          hasClose: true
        });
        if (result.button.accept) {
          const context = findSessionContext(app, kernel.id);
          if (context) {
            await context.restartKernel();
          } else {
            await app.serviceManager.kernels.connectTo({ model: { id: kernel.id, name: kernel.name } }).restart();
          }
        }
      } catch (err) {
        console.error('[kite] restart failed', err);
        Notification.error(`kite: restart failed: ${err}`);
      } finally {
        dialogOpen = false;
      }
    };

    kernelspecs.register({
      spec: {
        name: 'kite',
        display_name: 'Python 3.11 (kite)',
        language: 'python',
        argv: [],
        interrupt_mode: 'message',
        metadata: { kite: { assets: url } },
        resources: {
          'logo-32x32': LOGO,
          'logo-64x64': LOGO,
          'logo-svg': LOGO
        }
      } as any,
      create: async (options: any) => {
        noteKiteUsed();
        return new KiteKernel({
          ...options,
          assetsUrl: url,
          hooks: {
            onInterruptUnavailable,
            log,
            takeSpare: () => prewarm.take(),
            drive: () => drive.options(url)
          }
        });
      }
    });

    if (!(globalThis as any).crossOriginIsolated) {
      console.info(
        '[kite] this page is not cross-origin isolated: Interrupt and input() go through ' +
          "JupyterLite's service worker when one controls the page (each kernel logs its channel)."
      );
    }
  }
};

/**
 * Interrupt for kite kernels that @jupyterlite/xeus loads from an emscripten-forge prefix
 * (jupyterlite-xeus): see xeus.ts. Independent of kernelPlugin, which a site that only wants the
 * prefix's kernel may disable.
 */
const xeusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'kite-jupyterlite:xeus',
  description: 'Interrupt and input() for kite kernels loaded by @jupyterlite/xeus.',
  autoStart: true,
  requires: [IKernelSpecs],
  activate: (_: JupyterFrontEnd, kernelspecs: IKernelSpecs) => {
    adoptXeusKernels(kernelspecs, assetsUrl());
  }
};

const plugins = [kernelClientPlugin, kernelPlugin, xeusPlugin] as any[];
export default plugins;
