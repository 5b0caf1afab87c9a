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
import { KiteKernel } from './kernel';

export { KiteKernel } from './kernel';
export { KiteKernelClient } from './client';

const KERNEL_PLUGIN_ID = 'kite-jupyterlite:kernel';
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
    <p><b>To stop the cell now</b>, restart the kernel (its variables are lost).<br/>
    <b>To make Interrupt work</b>, serve the site with those headers, e.g.
    <code>python wasm/serve.py build/site</code> (<code>make demo</code>).</p>`;
  return new Widget({ node: body });
}

/**
 * Start one interpreter as soon as this module is loaded (while the rest of the app loads), for
 * the first kite kernel: its ~1 s of start-up then overlaps the app's.
 * `litePluginSettings["kite-jupyterlite:kernel"].prewarm = false` turns it off.
 */
const PREWARM: Prewarm | null = (() => {
  try {
    const settings =
      JSON.parse(PageConfig.getOption('litePluginSettings') || '{}')[KERNEL_PLUGIN_ID] ?? {};
    if (settings.prewarm === false || PageConfig.Extension.isDisabled(KERNEL_PLUGIN_ID)) {
      return null;
    }
    const prewarm = new Prewarm(assetsUrl());
    prewarm.start();
    return prewarm;
  } catch (err) {
    console.warn('[kite] no prewarm', err);
    return null;
  }
})();

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
    const prewarm = PREWARM ?? new Prewarm(url);
    let dialogOpen = false;

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
        return new KiteKernel({
          ...options,
          assetsUrl: url,
          hooks: { onInterruptUnavailable, log, takeSpare: () => prewarm.take() }
        });
      }
    });

    if (!(globalThis as any).crossOriginIsolated) {
      console.warn(
        '[kite] this page is not cross-origin isolated: the kite kernel runs, but Interrupt ' +
          'cannot stop a running cell (serve the site with COOP/COEP headers, e.g. wasm/serve.py).'
      );
    }
  }
};

const plugins = [kernelClientPlugin, kernelPlugin] as any[];
export default plugins;
