// The page side of kite's service-worker relay: how a kernel worker reaches the page when the
// page is not cross-origin isolated (no SharedArrayBuffer: GitHub Pages and most static hosts).
//
// JupyterLite's service worker (service-worker.js of the site) relays every same-origin request
// whose path contains "/api/stdin/" to the page over BroadcastChannel("/sw-api.v1"): it posts
// the request's JSON body plus `pathname`, and answers the request with the first broadcast
// reply {browsingContextId, requestId, response} that matches the body's browsingContextId and
// its requestId. JupyterLite's own ServiceWorkerManager listens on the same channel but only
// for its own browsingContextId; kite listens with its own id and its own path
// (`<base>/api/stdin/kite`), so neither sees the other's traffic and JupyterLite is not touched.
//
// The worker (wasm/js/worker.js) sends synchronous XMLHttpRequests with the body
// {browsingContextId, data: {kite: <controller.relayId>, generation, op, ...}}; this module hands
// `data` to the controller it names (controller.answerRelay), which holds the pending signal and
// answers polls at once and waits / input() when due (wasm/js/controller.js).

import { PageConfig, URLExt } from '@jupyterlab/coreutils';

/** The channel JupyterLite's service worker relays "/api/stdin/" requests over. */
export const RELAY_CHANNEL = '/sw-api.v1';
/** The last path segment kite's requests use (JupyterLite's own kernels use other names). */
export const RELAY_NAME = 'kite';

/** What the relay needs of a controller (wasm/js/controller.js's KiteController). */
export interface IRelayTarget {
  readonly relayId: string;
  useRelay(relay: { url: string; browsingContextId: string; interval_ms?: number | null } | null): void;
  answerRelay(data: any): Promise<any>;
}

function uuid(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

/**
 * Answers the requests JupyterLite's service worker relays over RELAY_CHANNEL for one
 * browsingContextId (its own, random) whose path `accepts` takes; `answer` makes the response
 * from the request's body `data`. The interrupt relay (below) and the drive (drive.ts) each
 * have one, with their own id and path.
 */
export class ServiceWorkerListener {
  readonly browsingContextId = uuid();

  constructor(
    private readonly _accepts: (pathname: string) => boolean,
    private readonly _answer: (data: any) => Promise<any>
  ) {}

  /** Start listening (once; later calls do nothing). */
  listen(): void {
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
      !this._accepts(message.pathname)
    ) {
      return; // JupyterLite's own traffic, another tab's, or the other listener's
    }
    const response = await this._answer(message.data);
    this._channel?.postMessage({
      response,
      browsingContextId: this.browsingContextId,
      requestId: message.requestId
    });
  }

  private _channel: BroadcastChannel | null = null;
}

/**
 * Why the relay cannot work on this page (no service worker API, no controlling service worker,
 * no BroadcastChannel), or null when it may (the worker's probe at start decides).
 */
export function relayUnavailableReason(): string | null {
  const sw = (globalThis as any).navigator?.serviceWorker;
  if (typeof BroadcastChannel === 'undefined') {
    return 'this browser has no BroadcastChannel';
  }
  if (!sw) {
    return 'service workers are unavailable on this page (not a secure context, or disabled)';
  }
  if (!sw.controller) {
    return 'no service worker controls this page (yet)';
  }
  return null;
}

/** localStorage key overriding the poll interval on this site (measurements: bench/nonisolated.mjs). */
export const POLL_MS_KEY = 'kite-jupyterlite:relay-poll-ms';

/**
 * How often (ms) Python consults the page while a cell runs, or null for the worker's default
 * (40x the measured round trip, 50-200 ms: wasm/js/worker.js): `litePluginSettings["kite-jupyterlite:kernel"].relayPollMs` in
 * jupyter-lite.json, overridden by localStorage[POLL_MS_KEY]. Clamped to 5..2000 by the worker.
 */
export function relayPollMs(): number | null {
  let value: any = null;
  try {
    value = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}')?.[
      'kite-jupyterlite:kernel'
    ]?.relayPollMs;
  } catch {
    value = null;
  }
  try {
    value = globalThis.localStorage?.getItem(POLL_MS_KEY) ?? value;
  } catch {
    // storage disabled
  }
  const ms = Number(value);
  return value !== null && value !== undefined && Number.isFinite(ms) && ms > 0 ? ms : null;
}

class Relay {
  readonly url: string;

  constructor() {
    this.url = new URL(
      URLExt.join(PageConfig.getBaseUrl(), 'api', 'stdin', RELAY_NAME),
      globalThis.location?.href
    ).href;
  }

  /** Route the requests of `target`'s workers here (from now until `detach`). */
  attach(target: IRelayTarget): void {
    this._listener.listen();
    this._targets.set(target.relayId, target);
    target.useRelay({
      url: this.url,
      browsingContextId: this._listener.browsingContextId,
      interval_ms: relayPollMs()
    });
  }

  detach(target: IRelayTarget): void {
    this._targets.delete(target.relayId);
  }

  private async _answer(data: any): Promise<any> {
    const target = this._targets.get(data?.kite);
    try {
      return target ? await target.answerRelay(data ?? {}) : { stale: true };
    } catch (err) {
      return { error: String(err) };
    }
  }

  private _listener = new ServiceWorkerListener(
    pathname => pathname.endsWith(`/api/stdin/${RELAY_NAME}`),
    data => this._answer(data)
  );
  private _targets = new Map<string, IRelayTarget>();
}

let relay: Relay | null = null;

/** The page's relay (one per page, created on first use). */
export function pageRelay(): Relay {
  relay ??= new Relay();
  return relay;
}

/**
 * The log line saying which interrupt channel a started kernel uses (console and the log
 * console): 'info' with shared memory or the relay, 'warning' with nothing.
 */
export function describeInterruptChannel(controller: {
  isolated: boolean;
  interruptChannel?: string | null;
  relayInfo?: {
    rtt_ms: number | null;
    interval_ms: number | null;
    adaptive?: number[] | null;
    reason: string;
  } | null;
}): { level: 'info' | 'warning'; text: string } {
  const channel = controller.interruptChannel ?? (controller.isolated ? 'shared-memory' : 'none');
  const relay = controller.relayInfo;
  if (channel === 'shared-memory') {
    return {
      level: 'info',
      text: 'interrupt channel: shared memory (cross-origin isolated page); Interrupt and input() use a SharedArrayBuffer'
    };
  }
  if (channel === 'service-worker') {
    return {
      level: 'info',
      text:
        'interrupt channel: service worker (page not cross-origin isolated); Python consults the ' +
        'page ' +
        (relay?.interval_ms
          ? `every ${relay.interval_ms} ms`
          : relay?.adaptive
            ? `every ${relay.adaptive[0]}x the measured round trip (${relay.adaptive[1]}-${relay.adaptive[2]} ms)`
            : 'periodically') +
        ` while a cell runs (round trip ${relay?.rtt_ms != null ? relay.rtt_ms.toFixed(1) : '?'} ms ` +
        'at start); time.sleep and input() wait on requests the page answers at once on Interrupt'
    };
  }
  const why = relay?.reason || relayUnavailableReason() || 'no relay was offered';
  return {
    level: 'warning',
    text:
      'interrupt channel: none. This page is not cross-origin isolated (no SharedArrayBuffer) and ' +
      `the service-worker relay is unavailable (${why}): Interrupt cannot stop a running cell ` +
      '(restart the kernel instead) and input() is not supported'
  };
}
