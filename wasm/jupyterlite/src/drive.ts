// The page's end of the notebook's files in the kernel: answers the DriveFS requests of kite's
// workers (wasm/jupyterlite/worker/drive.js mounts JupyterLite's contents at /drive there).
//
// DriveFS sends each file-system call as a synchronous request to `<base>/api/drive`, which
// JupyterLite's service worker relays to the page over BroadcastChannel("/sw-api.v1") with the
// body's browsingContextId; the page answers with the contents manager (the file browser's), so
// files written by Python show up in the file browser and persist where JupyterLite stores them
// (IndexedDB). JupyterLite's ServiceWorkerManager does the same for its own browsingContextId;
// kite answers for its own (as its interrupt relay does, relay.ts), which needs no service of
// JupyterLite's beyond the contents manager and the service worker itself.

import { PageConfig } from '@jupyterlab/coreutils';
import { Contents } from '@jupyterlab/services';
import { DriveContentsProcessor } from '@jupyterlite/services';

import { RELAY_CHANNEL, relayUnavailableReason } from './relay';

/** What a worker needs to mount the drive (controller.setLocation's `drive`). */
export interface IDriveOptions {
  /** URL of the worker's DriveFS bundle (static/kite/drive.js) */
  script: string;
  /** absolute base URL of the site, ending in '/' (DriveFS posts to `${baseUrl}api/drive`) */
  baseUrl: string;
  browsingContextId: string;
}

function uuid(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

export class PageDrive {
  readonly browsingContextId = uuid();

  constructor(contents: Contents.IManager) {
    this._processor = new DriveContentsProcessor({ contentsManager: contents });
  }

  /**
   * The drive for a worker whose assets are at `assetsUrl`, or a reason why there is none on this
   * page (no service worker controls it: a private window, a site built without one).
   */
  options(assetsUrl: string): IDriveOptions | string {
    const why = relayUnavailableReason();
    if (why) {
      return why;
    }
    this._listen();
    let baseUrl = new URL(PageConfig.getBaseUrl(), globalThis.location?.href).href;
    baseUrl = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
    return {
      script: assetsUrl + 'drive.js', // (the worker's preload has the same URL)
      baseUrl,
      browsingContextId: this.browsingContextId
    };
  }

  private _listen(): void {
    if (this._channel) {
      return;
    }
    this._channel = new BroadcastChannel(RELAY_CHANNEL);
    this._channel.addEventListener('message', event => void this._onMessage(event));
  }

  private async _onMessage(event: MessageEvent): Promise<void> {
    const message = event.data;
    if (
      !message ||
      message.browsingContextId !== this.browsingContextId ||
      typeof message.pathname !== 'string' ||
      !message.pathname.includes('/api/drive')
    ) {
      return;
    }
    let response: any;
    try {
      response = await this._processor.processDriveRequest(message.data);
    } catch (err) {
      // Unanswered, the worker would wait forever (the service worker has no time limit); an
      // answer DriveFS cannot read would kill the interpreter. So: what DriveFS takes as "no such
      // file" for `get`, empty values otherwise (a lost `put` is only logged, as here).
      const method = message.data?.method;
      console.warn('[kite] drive request failed', method, message.data?.path, err);
      response = method === 'get' ? null : method === 'readdir' ? [] : {};
    }
    this._channel?.postMessage({
      response,
      browsingContextId: this.browsingContextId,
      requestId: message.requestId
    });
  }

  private _processor: DriveContentsProcessor;
  private _channel: BroadcastChannel | null = null;
}
