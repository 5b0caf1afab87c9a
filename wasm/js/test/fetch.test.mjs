// wasm/js/fetch.js under Node (`node --test`): the helper thread, the shared-memory mailbox,
// signals abandoning a transfer, requests after an abandoned one, files, errors, bodies larger
// than one chunk. The HTTP server runs in its own worker thread: this thread blocks in fetches.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { makeFetcher } = require('../fetch.js');
const LAYOUT = { SIGNAL: 0 };
const BIG = 3 * 1024 * 1024 + 17;

const server = new Worker(`
  const http = require('http');
  const { parentPort } = require('worker_threads');
  const big = Buffer.alloc(${BIG}, 7);
  http.createServer((req, res) => {
    if (req.url === '/big') { res.end(big); return; }
    if (req.url === '/slow') { res.write('x'); setTimeout(() => res.end('y'), 5000); return; }
    if (req.url === '/headers') { res.setHeader('X-Test', 'yes'); res.end(req.headers['accept'] || ''); return; }
    res.statusCode = 404; res.end('no');
  }).listen(0, '127.0.0.1', function () { parentPort.postMessage(this.address().port); });
`, { eval: true });
const port = await new Promise((resolve) => server.once('message', resolve));
server.unref();
const base = `http://127.0.0.1:${port}`;
const i32 = new Int32Array(new SharedArrayBuffer(4));
const fetch = makeFetcher({ isNode: true, nodeRequire: require, i32, layout: LAYOUT, baseUrl: '' });
const text = (r) => new TextDecoder().decode(r.body);

test('status, headers and body of a GET', () => {
  const r = fetch(`${base}/headers`, JSON.stringify({ Accept: 'application/vnd.pypi.simple.v1+json' }), true);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.headersJson)['x-test'], 'yes');
  assert.equal(text(r), 'application/vnd.pypi.simple.v1+json');
  assert.equal(fetch(`${base}/nothing`, '{}', true).status, 404);
});

test('a body of several chunks arrives whole', () => {
  const r = fetch(`${base}/big`, '{}', false);
  assert.equal(r.body.length, BIG);
  assert.ok(r.body.every((b) => b === 7));
});

test('a pending signal abandons the transfer; the next request works', () => {
  const writer = new Worker(`  // writes the signal while this thread blocks in the fetch
    const { workerData } = require('worker_threads');
    const a = new Int32Array(workerData);
    setTimeout(() => { Atomics.store(a, 0, 2); Atomics.notify(a, 0); }, 300);
  `, { eval: true, workerData: i32.buffer });
  const t0 = Date.now();
  const r = fetch(`${base}/slow`, '{}', true);
  const ms = Date.now() - t0;
  assert.deepEqual(r, { signal: 2 });
  assert.ok(ms < 2000, `abandoned after ${ms} ms`);
  assert.equal(Atomics.load(i32, 0), 2, 'the signal stays for the C++ side to take');
  Atomics.store(i32, 0, 0);
  writer.terminate();
  for (let i = 0; i < 3; i++) assert.equal(fetch(`${base}/headers`, '{}', true).status, 200);
});

test('outside a cell (watch false) a signal does not cut the fetch', () => {
  Atomics.store(i32, 0, 2);
  try {
    assert.equal(fetch(`${base}/headers`, '{}', false).status, 200);
  } finally {
    Atomics.store(i32, 0, 0);
  }
});

test('files and plain paths; a missing file is a 404', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kite-fetch-'));
  writeFileSync(path.join(dir, 'all.json'), '{"a": 1}');
  assert.equal(text(fetch(path.join(dir, 'all.json'), '{}', true)), '{"a": 1}');
  assert.equal(text(fetch(`file://${dir}/all.json`, '{}', true)), '{"a": 1}');
  assert.equal(fetch(path.join(dir, 'missing.json'), '{}', true).status, 404);
});

test('nothing listening: an error, not an exception', () => {
  const r = fetch('http://127.0.0.1:9/x', '{}', true);
  assert.match(r.error, /fetch failed/);
});
