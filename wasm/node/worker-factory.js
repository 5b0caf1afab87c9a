// Node-only: the adapter KiteController expects, over a worker_threads Worker running worker.js.
// ESM (wasm/node/package.json has "type": "module").
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * Returns createWorker() for KiteController. `workerPath` is dist/worker.js.
 * resourceLimits.stackSizeMb: the V8 stack of the worker thread, where every wasm frame lives: it
 * bounds how deep CPython can recurse in C before a RangeError. Measured (Node 20): the costliest
 * C-level recursion (__getattr__ -> getattr) crashes at ~1,375 levels with 4 MB, ~5,750 with
 * 16 MB; 16 MB keeps CPython's default recursion limit (1,000) a RecursionError with margin.
 */
export function nodeWorkerFactory(workerPath, { stackSizeMb = 16 } = {}) {
  // worker.js is a classic script that uses require(): evaluate its source as CommonJS, whatever
  // "type" the package.json next to it declares (dist/ says "module" for controller.js).
  const source = readFileSync(workerPath, 'utf8');
  return () => {
    const w = new Worker(source, { eval: true, resourceLimits: { stackSizeMb }, stdout: false, stderr: false });
    let onError = () => {};
    let terminated = false;
    w.on('error', (e) => onError(e));
    w.on('exit', (code) => {
      if (!terminated) onError(new Error(`the worker thread exited unexpectedly (code ${code})`));
    });
    return {
      postMessage: (msg, transfer) => w.postMessage(msg, transfer || []),
      onMessage: (cb) => w.on('message', cb),
      onError: (cb) => {
        onError = cb;
      },
      terminate: () => {
        terminated = true;
        return w.terminate();
      },
      thread: w,
    };
  };
}
