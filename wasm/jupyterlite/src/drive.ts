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

import { relayUnavailableReason, ServiceWorkerListener } from './relay';

/** What a worker needs to mount the drive (controller.setLocation's `drive`). */
export interface IDriveOptions {
  /** URL of the worker's DriveFS bundle (static/kite/drive.js) */
  script: string;
  /** absolute base URL of the site, ending in '/' (DriveFS posts to `${baseUrl}api/drive`) */
  baseUrl: string;
  browsingContextId: string;
}

export class PageDrive {
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
    this._listener.listen();
    let baseUrl = new URL(PageConfig.getBaseUrl(), globalThis.location?.href).href;
    baseUrl = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
    return {
      script: assetsUrl + 'drive.js', // (the worker's preload has the same URL)
      baseUrl,
      browsingContextId: this._listener.browsingContextId
    };
  }

  private async _answer(data: any): Promise<any> {
    try {
      return await this._processor.processDriveRequest(data);
    } catch (err) {
      // Unanswered, the worker would wait forever (the service worker has no time limit); an
      // answer DriveFS cannot read would kill the interpreter. So: what DriveFS takes as "no such
      // file" for `get`, empty values otherwise (a lost `put` is only logged, as here).
      const method = data?.method;
      console.warn('[kite] drive request failed', method, data?.path, err);
      return method === 'get' ? null : method === 'readdir' ? [] : {};
    }
  }

  private _processor: DriveContentsProcessor;
  private _listener = new ServiceWorkerListener(
    pathname => pathname.includes('/api/drive'),
    data => this._answer(data)
  );
}
