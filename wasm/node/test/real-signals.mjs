// Other signals than SIGINT through the interrupt buffer, on the REAL wasm build (not the fake):
// a user's SIGUSR1 handler runs, SIGINT still raises, and an unhandled SIGUSR1 changes nothing.
//   node wasm/node/test/real-signals.mjs build/wasm/dist   (prints one JSON line)
// (tests/test_node_host.py runs it; under `node --test wasm/node/test/` without an argument it
// skips, since it needs the wasm build.)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { nodeWorkerFactory } from '../worker-factory.js';

if (!process.argv[2] && process.env.NODE_TEST_CONTEXT) {
  console.log('# real-signals.mjs: skipped (pass the dist directory of the wasm build to run it)');
  process.exit(0);
}
const dist = path.resolve(process.argv[2] || 'build/wasm/dist');
if (!existsSync(path.join(dist, 'kite.wasm'))) {
  console.error(`no wasm build in ${dist} (make wasm)`);
  process.exit(1);
}
const { KiteController } = await import(pathToFileURL(path.join(dist, 'controller.js')).href);
const streams = [];
const results = [];
const waiting = new Map(); // msg_id -> resolve(execute_reply content)
const c = new KiteController({
  createWorker: nodeWorkerFactory(path.join(dist, 'worker.js')),
  baseUrl: dist,
  onMessage: (m) => {
    const t = m.header.msg_type;
    if (t === 'stream') streams.push(m.content.text);
    if (t === 'execute_result') results.push(m.content.data['text/plain']);
    if (t === 'execute_reply') {
      const w = waiting.get(m.parent_header.msg_id);
      waiting.delete(m.parent_header.msg_id);
      if (w) w(m.content);
    }
  },
});
await c.start();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const exec = (code) =>
  new Promise((resolve) => {
    const header = { msg_id: `signals-${++n}`, msg_type: 'execute_request', session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' };
    waiting.set(header.msg_id, resolve);
    c.send({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code, silent: false, stop_on_error: false }, buffers: [] });
  });
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
