// Other signals than SIGINT through the interrupt buffer, on the REAL wasm build (not the fake):
// a user's SIGUSR1 handler runs, SIGINT still raises, and an unhandled SIGUSR1 changes nothing.
//   node wasm/node/test/real-signals.mjs build/wasm/dist   (prints one JSON line)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { nodeWorkerFactory } from '../worker-factory.js';

const dist = path.resolve(process.argv[2] || 'build/wasm/dist');
const { KiteController } = await import(pathToFileURL(path.join(dist, 'controller.js')).href);
const streams = [];
const results = [];
const c = new KiteController({
  createWorker: nodeWorkerFactory(path.join(dist, 'worker.js')),
  baseUrl: dist,
  onPublish: (t, m) => {
    if (t === 'stream') streams.push(m.text);
    if (t === 'execute_result') results.push(m.data['text/plain']);
  },
});
await c.start();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const exec = (code) => c.request('execute_request', { code });
const result = {};

await exec('import signal, time\nhits = []\nsignal.signal(signal.SIGUSR1, lambda s, f: hits.append(s))');
let p = exec('t = time.time()\nwhile len(hits) < 1 and time.time() - t < 5: pass\nprint("usr1", hits)');
await sleep(200);
result.usr1Interrupt = c.interrupt(10);
result.usr1Reply = (await p).status;
p = exec('time.sleep(600)');
await sleep(200);
c.interrupt(10); // handled, returns: the sleep goes on (PEP 475) ...
await sleep(200);
c.interrupt(2); // ... until SIGINT
result.sleepReply = (await p).ename;
await exec('hits');
result.hitsAfterSleep = results.at(-1);
result.streams = streams.join('');
console.log(JSON.stringify(result));
c.shutdown();
