// Unit tests of KiteController + worker.js with the fake module (no wasm build needed):
//   node --test wasm/node/test/
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { nodeWorkerFactory } from '../worker-factory.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = mkdtempSync(path.join(os.tmpdir(), 'kite-fake-dist-'));
execFileSync(process.execPath, [path.join(here, 'make-fake-dist.mjs'), dist]);
const { KiteController, KernelDiedError, INPUT_CAPACITY, LAYOUT, parseDate, ARMED_INTERRUPT_MS } = await import(pathToFileURL(path.join(dist, 'controller.js')).href);

let nextId = 1;
function request(msg_type, content = {}, { channel = 'shell', buffers = [] } = {}) {
  return {
    channel,
    header: { msg_id: `test-${nextId++}`, msg_type, session: 'test', username: 't', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content,
    buffers,
  };
}

/** A controller whose messages are collected per parent msg_id; exec() resolves at idle. */
function make(extra = {}) {
  const all = [];
  const waiters = new Map(); // msg_id -> {resolve, msgs}
  const c = new KiteController({
    createWorker: nodeWorkerFactory(path.join(dist, 'worker.js')),
    baseUrl: dist,
    onMessage: (m) => {
      all.push(m);
      const w = waiters.get(m.parent_header && m.parent_header.msg_id);
      if (!w) return;
      w.msgs.push(m);
      if (m.header.msg_type === 'status' && m.content.execution_state === 'idle') {
        waiters.delete(m.parent_header.msg_id);
        w.resolve({ reply: w.msgs.find((x) => x.header.msg_type.endsWith('_reply')), msgs: w.msgs });
      }
    },
    ...extra,
  });
  const run = (msg) =>
    new Promise((resolve, reject) => {
      waiters.set(msg.header.msg_id, { resolve, msgs: [] });
      try {
        c.send(msg);
      } catch (e) {
        waiters.delete(msg.header.msg_id);
        reject(e);
      }
    });
  const exec = (code, opts) => run(request('execute_request', { code, silent: false, store_history: true, allow_stdin: true }, opts));
  return { c, all, run, exec };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the built controller embeds buffer-layout.json', () => {
  const layout = JSON.parse(readFileSync(path.join(here, '../../js/buffer-layout.json'), 'utf8'));
  assert.deepEqual({ ...LAYOUT }, layout);
  assert.equal(INPUT_CAPACITY, layout.INPUT_CAPACITY);
});

test('start, execute: whole messages with the request as parent', async () => {
  const { c, all, exec } = make();
  assert.equal(c.isolated, true);
  const info = await c.start();
  assert.ok(info.startup_ms >= 0);
  assert.equal(info.isolated, true);
  assert.equal(info.recursion_limit, 1000);
  const { reply, msgs } = await exec('1+1');
  assert.equal(reply.channel, 'shell');
  assert.equal(reply.header.msg_type, 'execute_reply');
  assert.equal(reply.content.status, 'ok');
  assert.deepEqual(msgs.map((m) => m.header.msg_type), ['status', 'execute_input', 'execute_result', 'execute_reply', 'status']);
  assert.deepEqual(msgs.find((m) => m.header.msg_type === 'execute_result').content.data, { 'text/plain': '2' });
  assert.ok(msgs.every((m) => Array.isArray(m.buffers)));
  // the worker's status "starting" came first, without a parent
  assert.equal(all[0].header.msg_type, 'status');
  assert.equal(all[0].content.execution_state, 'starting');
  assert.deepEqual(c.interrupt(), { ok: true, idle: true }); // the execute is no longer pending
  c.shutdown();
});

test('binary buffers go to the worker and come back', async () => {
  const { c, exec } = make();
  await c.start();
  const ab = new Uint8Array([1, 2, 3]).buffer;
  const view = new Uint16Array([0x0102, 0x0304, 0x0506]).subarray(1);
  const { msgs } = await exec('echo_buffers()', { buffers: [ab, view, new DataView(new ArrayBuffer(2))] });
  assert.equal(ab.byteLength, 0, 'an ArrayBuffer is transferred, not copied');
  const out = msgs.find((m) => m.header.msg_type === 'display_data');
  assert.equal(out.buffers.length, 3);
  assert.ok(out.buffers.every((b) => b instanceof ArrayBuffer));
  assert.deepEqual([...new Uint8Array(out.buffers[0])], [1, 2, 3]);
  assert.deepEqual([...new Uint16Array(out.buffers[1])], [0x0304, 0x0506]);
  assert.equal(out.buffers[2].byteLength, 2);
  c.shutdown();
});

test('interrupt a busy loop and a sleep', async () => {
  const { c, exec } = make();
  await c.start();
  for (const code of ['while True: pass', 'time.sleep(30)']) {
    const p = exec(code);
    await sleep(100);
    const t0 = performance.now();
    assert.deepEqual(c.interrupt(), { ok: true });
    const { reply } = await p;
    assert.equal(reply.content.ename, 'KeyboardInterrupt');
    assert.ok(performance.now() - t0 < 200, code);
  }
  c.shutdown();
});

test('interrupt_request is answered by the controller: busy, reply, idle', async () => {
  const { c, all, exec } = make();
  await c.start();
  const p = exec('while True: pass');
  await sleep(50);
  const req = request('interrupt_request', {}, { channel: 'control' });
  const before = all.length;
  c.send(req);
  const mine = all.slice(before).filter((m) => m.parent_header.msg_id === req.header.msg_id);
  assert.deepEqual(mine.map((m) => [m.channel, m.header.msg_type]), [['iopub', 'status'], ['control', 'interrupt_reply'], ['iopub', 'status']]);
  assert.equal(mine[1].content.status, 'ok');
  assert.deepEqual(mine.map((m) => m.content.execution_state), ['busy', undefined, 'idle']);
  assert.equal((await p).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('input: the reply reaches input(), an unsolicited reply is ignored', async () => {
  const got = [];
  const h = make({
    onMessage: (m) => {
      got.push(m);
      if (m.header.msg_type === 'input_request') {
        const reply = request('input_reply', { value: 'é'.repeat(INPUT_CAPACITY) }, { channel: 'stdin' });
        reply.parent_header = m.header;
        assert.equal(h.c.send(reply), true);
      }
      if (m.header.msg_type === 'execute_result' || (m.header.msg_type === 'status' && m.content.execution_state === 'idle')) {
        const w = waiting.get(m.parent_header.msg_id);
        if (w && m.header.msg_type === 'status') w(got.filter((x) => x.parent_header.msg_id === m.parent_header.msg_id));
      }
    },
  });
  const waiting = new Map();
  const run = (code) =>
    new Promise((resolve) => {
      const msg = request('execute_request', { code, allow_stdin: true });
      waiting.set(msg.header.msg_id, resolve);
      h.c.send(msg);
    });
  await h.c.start();
  assert.equal(h.c.send(request('input_reply', { value: 'nobody waits' }, { channel: 'stdin' })), false);
  const msgs = await run('input("x")');
  const reply = msgs.find((m) => m.header.msg_type === 'execute_reply');
  assert.equal(reply.content.status, 'ok');
  const text = JSON.parse(msgs.find((m) => m.header.msg_type === 'execute_result').content.data['text/plain']);
  assert.equal(text, 'é'.repeat(INPUT_CAPACITY / 2));
  h.c.shutdown();
});

test('an interrupt cuts input() short', async () => {
  const { c, all, exec } = make();
  await c.start();
  const p = exec('v = input("never")');
  for (let i = 0; i < 100 && !all.some((m) => m.header.msg_type === 'input_request'); i++) await sleep(10);
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.equal((await p).reply.content.ename, 'KeyboardInterrupt');
  // a late answer is ignored
  assert.equal(c.send(request('input_reply', { value: 'late' }, { channel: 'stdin' })), false);
  c.shutdown();
});

test('fatal error: onFatal, state dead, send throws, restart works', async () => {
  let fatal = null;
  const { c, exec } = make({ onFatal: (e) => (fatal = e) });
  await c.start();
  const p = exec('crash()');
  for (let i = 0; i < 200 && !fatal; i++) await sleep(10);
  assert.ok(fatal instanceof KernelDiedError && fatal.fatal, String(fatal));
  assert.match(fatal.message, /Maximum call stack/);
  assert.equal(c.state, 'dead');
  assert.equal(c.interrupt().ok, false);
  assert.throws(() => c.send(request('execute_request', { code: '1' })), KernelDiedError);
  void p; // never answered by the worker: hosts answer it (kite-node: KernelCrashed)
  await c.restart();
  assert.equal(c.state, 'ready');
  assert.equal((await exec('2+3')).reply.content.status, 'ok');
  c.shutdown();
  assert.equal(c.state, 'shutdown');
  assert.throws(() => c.send(request('execute_request', { code: '1' })), /not running/);
});

test('restart stops a running cell; messages are numbered again from 1', async () => {
  const { c, exec } = make();
  await c.start();
  exec('while True: pass');
  await sleep(50);
  await c.restart();
  const p = exec('while True: pass');
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 1);
  assert.equal((await p).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('an interrupt while idle is dropped, one sent with the request is kept', async () => {
  const { c, exec } = make();
  await c.start();
  assert.deepEqual(c.interrupt(), { ok: true, idle: true });
  assert.equal((await exec('1+1')).reply.content.status, 'ok'); // nothing leaked into this cell
  const p = exec('while True: pass');
  assert.deepEqual(c.interrupt(), { ok: true }); // before the worker even saw the request
  assert.equal((await p).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('a stale signal aimed at an earlier message is dropped when an execute starts', async () => {
  const { c, exec } = make();
  await c.start();
  await exec('1');
  // as if an interrupt raced with the end of message 1: aimed at 1, still in the buffer
  Atomics.store(c._i32, LAYOUT.TARGET, 1);
  Atomics.store(c._i32, LAYOUT.SIGNAL, 2);
  const { reply } = await exec('time.sleep(0.2)');
  assert.equal(reply.content.status, 'ok');
  assert.equal(Atomics.load(c._i32, LAYOUT.SIGNAL), 0);
  c.shutdown();
});

test('a message postMessage refuses is not sent, counted or pending (issue 14)', async () => {
  const { c, exec } = make();
  await c.start();
  await exec('1');
  const bad = request('execute_request', { code: '1', f: () => 1 }); // functions cannot be cloned
  assert.throws(() => c.send(bad), (e) => e.name === 'DataCloneError');
  assert.deepEqual(c.interrupt(), { ok: true, idle: true });
  const p = exec('while True: pass');
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 2); // exec('1') was 1: the refused one is not counted
  assert.equal((await p).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('the oldest pending execute is the target, until its reply comes back', async () => {
  const { c, exec } = make();
  await c.start();
  const first = exec('time.sleep(0.3)');
  const second = exec('while True: pass');
  assert.deepEqual(c.interrupt(0), { ok: true }); // signal 0: aims without interrupting
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 1);
  await first;
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 2);
  assert.equal((await second).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('control kernel_info and shutdown never wait behind a running cell', async () => {
  const { c, all, exec } = make();
  await c.start();
  exec('while True: pass');
  await sleep(50);
  let before = all.length;
  const info = request('kernel_info_request', {}, { channel: 'control' });
  c.send(info);
  let mine = all.slice(before).filter((m) => m.parent_header.msg_id === info.header.msg_id);
  assert.deepEqual(mine.map((m) => m.header.msg_type), ['status', 'kernel_info_reply', 'status']);
  assert.equal(mine[1].channel, 'control');
  assert.equal(mine[1].content.language_info.name, 'python');
  before = all.length;
  const bye = request('shutdown_request', { restart: false }, { channel: 'control' });
  c.send(bye);
  mine = all.slice(before).filter((m) => m.parent_header.msg_id === bye.header.msg_id);
  assert.deepEqual(mine.map((m) => [m.channel, m.header.msg_type]), [
    ['iopub', 'status'], ['control', 'shutdown_reply'], ['iopub', 'shutdown_reply'], ['iopub', 'status']]);
  assert.deepEqual(mine[1].content, { status: 'ok', restart: false });
  c.shutdown();
});

test('shutdown_request while idle goes to the worker (its core answers)', async () => {
  const { c, run } = make();
  await c.start();
  const { reply, msgs } = await run(request('shutdown_request', { restart: true }, { channel: 'control' }));
  assert.deepEqual(reply.content, { status: 'ok', restart: true });
  assert.equal(reply.header.session, 'fake'); // built by the (fake) core, not the controller
  assert.ok(msgs.some((m) => m.channel === 'iopub' && m.header.msg_type === 'shutdown_reply'));
  c.shutdown();
});

// ---- dated interrupts (issue 14): an interrupt_request applies to the execute_requests the
// client sent before it (header.date), whatever order they arrive in.

/** An ISO 8601 date with microseconds, `us` µs after T0 (as jupyter_client writes them). */
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0) * 1000;
function stamp(us) {
  const t = T0 + us;
  return new Date(Math.floor(t / 1000)).toISOString().slice(0, 23) + String(t % 1000).padStart(3, '0') + 'Z';
}
function dated(msg, us) {
  msg.header.date = stamp(us);
  return msg;
}
const code = (text) => ({ code: text, silent: false, store_history: true, allow_stdin: true });

test('parseDate: microseconds, zones, no fraction; unreadable -> null', () => {
  assert.equal(parseDate('2026-12-01T12:00:00.000001Z') - parseDate('2026-12-01T12:00:00Z'), 1);
  assert.equal(parseDate('2026-12-01T12:00:00.123456+00:00'), parseDate('2026-12-01T12:00:00.123456Z'));
  assert.equal(parseDate('2026-12-01T13:30:00.5+01:30'), parseDate('2026-12-01T12:00:00.500000Z'));
  assert.equal(parseDate('2026-12-01T12:00:00.1234567Z'), parseDate('2026-12-01T12:00:00.123456Z')); // beyond µs: cut
  assert.equal(parseDate('2026-12-01T12:00:00.123456'), parseDate('2026-12-01T12:00:00.123456Z')); // naive = UTC
  assert.equal(parseDate(stamp(7)) - T0, 7);
  for (const bad of [undefined, null, 5, '', 'yesterday', '2026-13-01T00:00:00Z', '2026-12-01T12:00:00Zjunk', 'x'.repeat(100)]) {
    assert.equal(parseDate(bad), null, String(bad));
  }
});

test('a dated interrupt never hits an execute dated after it, even one that arrived first', async () => {
  const { c, all, run } = make();
  await c.start();
  // the next cell overtook the interrupt (shell before control): the interrupt is for earlier cells
  const later = run(dated(request('execute_request', code('time.sleep(0.3)')), 10));
  const req = dated(request('interrupt_request', {}, { channel: 'control' }), 5);
  const before = all.length;
  c.send(req);
  const reply = all.slice(before).find((m) => m.header.msg_type === 'interrupt_reply');
  assert.equal(reply.content.status, 'ok');
  assert.equal((await later).reply.content.status, 'ok');
  assert.equal(c._armed, null, 'an execute dated after it was already sent: nothing to wait for');
  // equal dates count as "before": that cell is interrupted
  const same = run(dated(request('execute_request', code('while True: pass')), 20));
  assert.deepEqual(c.interrupt(2, stamp(20)), { ok: true });
  assert.equal((await same).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('a dated interrupt aims at the oldest pending execute dated at or before it', async () => {
  const { c, run } = make();
  await c.start();
  const first = run(dated(request('execute_request', code('time.sleep(0.3)')), 10));
  const second = run(dated(request('execute_request', code('while True: pass')), 20));
  const third = run(dated(request('execute_request', code('time.sleep(0.1)')), 30));
  assert.deepEqual(c.interrupt(0, stamp(15)), { ok: true }); // signal 0: aims without interrupting
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 1);
  await first;
  assert.deepEqual(c.interrupt(2, stamp(25)), { ok: true }); // the 1st is over: the 2nd, not the 3rd
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 2);
  assert.equal((await second).reply.content.ename, 'KeyboardInterrupt');
  assert.equal((await third).reply.content.status, 'ok');
  // undated (SIGINT, the Interrupt button): the oldest pending, as before
  const fourth = run(dated(request('execute_request', code('while True: pass')), 40));
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.equal((await fourth).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('an interrupt that arrives before its execute_request is armed and hits it', async () => {
  const { c, all, run } = make();
  await c.start();
  await run(dated(request('execute_request', code('1')), 10));
  // the client sent execute (dated 20) then interrupt (dated 30); the interrupt arrived first
  const req = dated(request('interrupt_request', {}, { channel: 'control' }), 30);
  const before = all.length;
  c.send(req);
  assert.equal(all.slice(before).find((m) => m.header.msg_type === 'interrupt_reply').content.status, 'ok');
  assert.ok(c._armed, 'kept armed');
  const p = run(dated(request('execute_request', code('time.sleep(30)')), 20));
  assert.equal(c._armed, null, 'used once');
  assert.equal(Atomics.load(c._i32, LAYOUT.TARGET), 2);
  assert.equal((await p).reply.content.ename, 'KeyboardInterrupt');
  // a non-execute request in between neither uses nor discards it
  assert.deepEqual(c.interrupt(2, stamp(50)), { ok: true, armed: true });
  await run(dated(request('complete_request', { code: 'pri', cursor_pos: 3 }), 45));
  assert.ok(c._armed);
  const q = run(dated(request('execute_request', code('while True: pass')), 40));
  assert.equal((await q).reply.content.ename, 'KeyboardInterrupt');
  c.shutdown();
});

test('an armed interrupt is discarded by an execute dated after it, and after ARMED_INTERRUPT_MS', async () => {
  const { c, run } = make();
  await c.start();
  assert.equal(ARMED_INTERRUPT_MS, 10000);
  assert.deepEqual(c.interrupt(2, stamp(10)), { ok: true, armed: true });
  const { reply } = await run(dated(request('execute_request', code('time.sleep(0.2)')), 11));
  assert.equal(reply.content.status, 'ok', 'dated after the interrupt: never hit');
  assert.equal(c._armed, null);
  // an older-dated execute after that (another client) is not hit either: the interrupt is over
  assert.equal((await run(dated(request('execute_request', code('time.sleep(0.1)')), 5))).reply.content.status, 'ok');
  // expired: armed longer than ARMED_INTERRUPT_MS before its execute came
  assert.deepEqual(c.interrupt(2, stamp(100)), { ok: true, armed: true });
  c._armed.until = Date.now() - 1;
  assert.equal((await run(dated(request('execute_request', code('time.sleep(0.1)')), 90))).reply.content.status, 'ok');
  assert.equal(c._armed, null);
  // an undated execute leaves it armed (no order can be told); a restart discards it
  assert.deepEqual(c.interrupt(2, stamp(200)), { ok: true, armed: true });
  const undated = request('execute_request', code('1'));
  delete undated.header.date;
  assert.equal((await run(undated)).reply.content.status, 'ok');
  assert.ok(c._armed);
  await c.restart();
  assert.equal(c._armed, null);
  assert.equal((await run(dated(request('execute_request', code('time.sleep(0.1)')), 150))).reply.content.status, 'ok');
  c.shutdown();
});
