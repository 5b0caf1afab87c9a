// Interrupt for the kite kernels that @jupyterlite/xeus loads from an emscripten-forge prefix
// (`jupyter lite build --XeusAddon.prefix=...`; kernelspec metadata.kite.host === 'xeus-lite',
// written by wasm/prefix/make_prefix.py).
//
// @jupyterlite/xeus 5.1 has no interrupt, and its kernel's handleMessage resolves only when the
// worker has handled the message, so LiteKernelClient queues everything (an interrupt_request
// too) behind a running cell. kite keeps xeus's kernel and its stock worker as they are and puts
// its own controller (controller.js: the shared buffer, interrupt aiming, stdin, the
// service-worker relay; the same code as kite's own kernel) between LiteKernelClient and them:
//   - the hello the worker posts at start (wasm/xeus/kite-xeus.js) is answered with the shared
//     buffer, or the relay's address on a page without cross-origin isolation;
//   - every client message goes through controller.send(): it answers interrupt_request and
//     input_reply itself, and numbers the others as the worker's server counts notify_listener
//     calls, then hands them to xeus's handleMessage without waiting (as KiteKernel does);
//   - every message from xeus goes through the controller too (execute_reply ends a pending cell);
//   - the kernel gets kiteInterrupt() for KiteKernelClient (the Interrupt button).
// What is overridden in xeus (small, on the instance only): the factory registered for such a
// kernel (wrapped), its sendMessage option, and the instance's handleMessage, ready and dispose.
// Plus a page-wide guard of Atomics.waitAsync for xeus's `coincident` (guardWaitAsync).

import { IKernel, IKernelSpecs } from '@jupyterlite/services';

import { IInterruptResult, IKiteMessage, loadControllerModule, pageIsIsolated } from './controller';
import { pageRelay } from './relay';

/** The field of kite's own messages between the xeus worker and the page. */
const KEY = 'kite_xeus';

/** A kite kernel that @jupyterlite/xeus created, with kite's interrupt. */
export interface IKiteXeusKernel extends IKernel {
  kiteInterrupt(): IInterruptResult;
}

export function isKiteXeusKernel(kernel: any): kernel is IKiteXeusKernel {
  return typeof kernel?.kiteInterrupt === 'function';
}

function isKiteXeusSpec(spec: any): boolean {
  return spec?.metadata?.kite?.host === 'xeus-lite';
}

type Factory = (options: any) => Promise<IKernel>;

/**
 * Wrap the factories of kite kernels registered by @jupyterlite/xeus, now and later (its plugin
 * registers them after fetching xeus/kernels.json, in any order relative to this one).
 */
export function adoptXeusKernels(kernelspecs: IKernelSpecs, assetsUrl: string): void {
  const adopted = new WeakSet<Factory>();
  const adopt = (name: string, spec: any) => {
    const create = kernelspecs.factories.get(name) as Factory | undefined;
    if (!create || adopted.has(create) || !isKiteXeusSpec(spec)) {
      return;
    }
    const interruptible: Factory = options => createInterruptible(create, options, assetsUrl);
    adopted.add(interruptible);
    kernelspecs.factories.set(name, interruptible as any);
    console.info(`[kite] ${name}: a kite kernel from a xeus prefix; kite makes it interruptible`);
  };
  for (const [name, spec] of Object.entries(kernelspecs.specs?.kernelspecs ?? {})) {
    adopt(name, spec);
  }
  const register = kernelspecs.register.bind(kernelspecs);
  kernelspecs.register = (options: any) => {
    register(options);
    adopt(options.spec.name, options.spec);
  };
}

async function createInterruptible(create: Factory, options: any, assetsUrl: string): Promise<IKernel> {
  const mod = await loadControllerModule(assetsUrl);
  let xeus: any = null;
  let init: any = { op: 'init', buffer: null, layout: null, relay: null };
  let toController: (m: any) => void = () => undefined;
  const early: IKiteMessage[] = []; // posted by the controller before xeus's kernel exists
  let handleInXeus: (msg: any) => Promise<void>;

  const deliver = (msg: IKiteMessage) => {
    if (!xeus) {
      early.push(msg);
      return;
    }
    // not awaited: xeus resolves when the worker is done with the message
    handleInXeus(msg).catch((err: any) => console.error('[kite] xeus kernel failed to take a message', err));
  };
  // the controller's worker: xeus's kernel and worker, seen through kite's messages
  const worker = {
    postMessage(m: any) {
      if (m.type === 'init') {
        init = { op: 'init', buffer: m.buffer, layout: m.layout, relay: m.relay, base_url: m.baseUrl };
      } else if (m.type === 'message') {
        deliver(m.msg);
      }
    },
    onMessage(cb: (m: any) => void) {
      toController = cb;
    },
    onError() {
      // xeus reports nothing when its worker dies
    },
    terminate() {
      // xeus's dispose terminates its worker
    }
  };
  const toClient = (msg: any) => {
    // xeus stamps every message with the session of the last message it was given; the
    // parent's is the client that asked (LiteKernelClient routes replies by it)
    const session = msg.parent_header?.session;
    if (typeof session === 'string' && session) {
      msg.header = { ...msg.header, session };
    }
    if (msg.header?.msg_type === 'execute_reply' && msg.content?.status === 'error') {
      // as KiteKernel: keeps LiteKernelClient from dropping the queued messages unanswered
      msg.metadata = { ...msg.metadata, cause: 'interrupt' };
    }
    options.sendMessage(msg);
  };
  const controller = new mod.KiteController({
    baseUrl: assetsUrl,
    createWorker: () => worker,
    onMessage: toClient,
    onFatal: (err: any) => console.error('[kite] xeus kernel died', err)
  });
  if (!pageIsIsolated()) {
    try {
      pageRelay().attach(controller);
    } catch (err) {
      console.warn('[kite] no service-worker relay for the xeus kernel', err);
    }
  }
  const started = controller.start();

  xeus = await create({ ...options, sendMessage: (msg: any) => toController({ type: 'message', msg }) });
  handleInXeus = xeus.handleMessage.bind(xeus);
  xeus.worker.addEventListener('message', (e: MessageEvent) => {
    const data = e.data?.[KEY];
    if (data?.op === 'hello') {
      xeus.worker.postMessage({ [KEY]: init });
    } else if (data?.op === 'ready') {
      toController({
        type: 'ready',
        startup_ms: null,
        isolated: !!init.buffer,
        interrupt_channel: data.interrupt_channel,
        relay: data.relay,
        recursion_limit: data.recursion_limit,
        kernel_info: data.kernel_info
      });
    }
  });
  for (const msg of early.splice(0)) {
    deliver(msg);
  }

  const xeusReady: Promise<void> = xeus.ready;
  const ready = Promise.all([xeusReady, started]).then(([, info]) => {
    console.info(`[kite] ${xeus.name} (xeus): interrupt channel ${info?.interrupt_channel ?? 'none'}`);
  });
  Object.defineProperty(xeus, 'ready', { get: () => ready, configurable: true });
  xeus.handleMessage = async (msg: any) => {
    try {
      controller.send(msg);
    } catch (err) {
      console.warn('[kite] xeus kernel: message not sent', err);
    }
  };
  xeus.kiteInterrupt = (): IInterruptResult => controller.interrupt(2);
  const dispose = xeus.dispose.bind(xeus);
  xeus.dispose = () => {
    controller.shutdown();
    dispose();
  };
  return xeus as IKiteXeusKernel;
}

/**
 * @jupyterlite/xeus's `coincident` (isolated pages) awaits `Atomics.waitAsync(...).value.then`,
 * assuming an asynchronous answer; Chromium may answer synchronously ({async: false, value:
 * 'not-equal'} when the worker already replied), and the kernel never starts
 * ("value.then is not a function"). This wraps a synchronous answer in a resolved promise, which
 * is what it means. coincident reads Atomics.waitAsync when its module loads: this runs when
 * kite's extension module loads, and helps only if that comes first (see README).
 */
export function guardWaitAsync(): void {
  const atomics: any = (globalThis as any).Atomics;
  if (typeof atomics?.waitAsync !== 'function' || atomics.waitAsync.kiteGuard) {
    return;
  }
  const original = atomics.waitAsync;
  const guarded: any = (...args: any[]) => {
    const result = original.apply(atomics, args);
    if (result && result.async === false) {
      return { async: true, value: Promise.resolve(result.value) };
    }
    return result;
  };
  guarded.kiteGuard = true;
  atomics.waitAsync = guarded;
}
