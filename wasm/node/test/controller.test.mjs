// Unit tests of KiteController + worker.js with the fake module (no wasm build needed):
//   node --test wasm/node/test/
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { nodeWorkerFactory } from '../worker-factory.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = mkdtempSync(path.join(os.tmpdir(), 'kite-fake-dist-'));
execFileSync(process.execPath, [path.join(here, 'make-fake-dist.mjs'), dist]);
const { KiteController, KernelDiedError, INPUT_CAPACITY } = await import(pathToFileURL(path.join(dist, 'controller.js')).href);

function make(extra = {}) {
  const pubs = [];
  const c = new KiteController({
    createWorker: nodeWorkerFactory(path.join(dist, 'worker.js')),
    baseUrl: dist,
    onPublish: (t, m) => pubs.push([t, m]),
    ...extra,
  });
  return { c, pubs };
}

const exec = (c, code) => c.request('execute_request', { code });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('start, execute, publish', async () => {
  const { c, pubs } = make();
  assert.equal(c.isolated, true);
  const { startup_ms } = await c.start();
  assert.ok(startup_ms >= 0);
  const reply = await exec(c, '1+1');
  assert.equal(reply.status, 'ok');
  assert.deepEqual(pubs.at(-1), ['execute_result', { execution_count: 1, data: { 'text/plain': '2' }, metadata: {} }]);
  c.shutdown();
});

test('interrupt a busy loop and a sleep', async () => {
  const { c } = make();
  await c.start();
  for (const code of ['while True: pass', 'time.sleep(30)']) {
    const p = exec(c, code);
    await sleep(100);
    const t0 = performance.now();
    assert.deepEqual(c.interrupt(), { ok: true });
    const r = await p;
    assert.equal(r.ename, 'KeyboardInterrupt');
    assert.ok(performance.now() - t0 < 200, code);
  }
  c.shutdown();
});

test('input round trip, long and non-ASCII replies', async () => {
  let c;
  ({ c } = make({ onInputRequest: () => c.inputReply('é'.repeat(INPUT_CAPACITY)) }));
  await c.start();
  assert.equal(c.inputReply('nobody waits'), false);
  assert.equal((await exec(c, 'v = input("x")')).status, 'ok');
  c.shutdown();
});

test('fatal error rejects the request, calls onFatal, restart works', async () => {
  let fatal = null;
  const { c } = make({ onFatal: (e) => (fatal = e) });
  await c.start();
  await assert.rejects(exec(c, 'crash()'), (e) => e instanceof KernelDiedError && e.fatal && /RangeError/.test(e.message));
  assert.ok(fatal && /Maximum call stack/.test(fatal.message));
  assert.equal(c.state, 'dead');
  assert.deepEqual(c.interrupt().ok, false);
  await assert.rejects(exec(c, '1'), KernelDiedError);
  await c.restart();
  assert.equal((await exec(c, '2+3')).status, 'ok');
  c.shutdown();
});

test('restart cancels a running request', async () => {
  const { c } = make();
  await c.start();
  const p = exec(c, 'while True: pass');
  await sleep(50);
  const restarted = c.restart();
  await assert.rejects(p, /restarted/);
  await restarted;
  assert.equal((await exec(c, '1')).status, 'ok');
  c.shutdown();
  await assert.rejects(exec(c, '1'), /not running/);
});

test('an interrupt while idle is dropped, one sent with the request is kept', async () => {
  const { c } = make();
  await c.start();
  assert.deepEqual(c.interrupt(), { ok: true, idle: true });
  assert.equal((await exec(c, '1+1')).status, 'ok'); // nothing leaked into this cell
  const p = exec(c, 'while True: pass');
  assert.deepEqual(c.interrupt(), { ok: true }); // before the worker even saw the request
  assert.equal((await p).ename, 'KeyboardInterrupt');
  c.shutdown();
});
