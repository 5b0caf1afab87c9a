// Unit tests of the controller's side of the service-worker relay (pages without cross-origin
// isolation): KiteController.answerRelay with a stub worker, no browser and no wasm needed.
//   node --test wasm/js/test/
// What the relay must keep from the shared buffer's contract (DEVELOPERS.md): an interrupt aims
// at the pending execute_requests (and comm_msgs) sent before it, the oldest first; the first
// that asks takes it; a signal aimed only at earlier messages is dropped when the worker asks
// with a later seq, one aimed at later messages waits; nothing leaks past the execute_reply of
// the last of them; held waits and input() wake at once on Interrupt.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'kite-relay-test-')), 'controller.js');
execFileSync(process.execPath, [path.join(here, '..', 'embed-layout.mjs'), path.join(here, '..', 'controller.js'), path.join(here, '..', 'buffer-layout.json'), out]);
const { KiteController, RELAY_HOLD_MS } = await import(pathToFileURL(out).href);

// as on a page without cross-origin isolation: the controller makes no SharedArrayBuffer
globalThis.crossOriginIsolated = false;

const RELAY = { url: 'http://example.test/api/stdin/kite', browsingContextId: 'page-1' };

let nextId = 1;
function request(msg_type, content = {}, channel = 'shell') {
  return { channel, header: { msg_id: `m-${nextId++}`, msg_type, session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' }, parent_header: {}, metadata: {}, content, buffers: [] };
}

/** A controller over a stub worker that reports the relay channel; `worker.emit(msg)` plays the kernel. */
async function make({ channel = 'service-worker' } = {}) {
  const worker = { posted: [], cb: null };
  const c = new KiteController({
    createWorker: () => ({
      postMessage: (m) => {
        worker.posted.push(m);
        if (m.type === 'init') setTimeout(() => worker.cb({ type: 'ready', startup_ms: 1, timings: {}, recursion_limit: 100, isolated: false, interrupt_channel: channel, relay: { ok: true, rtt_ms: 1, interval_ms: 100, reason: '' } }), 0);
      },
      onMessage: (cb) => (worker.cb = cb),
      onError: () => {},
      terminate: () => {},
    }),
    onMessage: () => {},
  });
  c.useRelay(RELAY);
  const info = await c.start();
  worker.emit = (msg) => worker.cb({ type: 'message', msg });
  const init = worker.posted.find((m) => m.type === 'init');
  // as worker.js: every request acknowledges the last signal received (its sid)
  let ack = 0;
  const ask = async (op, fields = {}) => {
    const answer = await c.answerRelay({ kite: c.relayId, generation: init.relay.generation, ack, op, ...fields });
    if (answer.signal > 0) ack = answer.sid;
    return strip(answer);
  };
  const reply = (req, msg_type = 'execute_reply') => worker.emit({ ...request(msg_type, { status: 'ok' }), parent_header: req.header });
  return { c, worker, info, init, ask, reply };
}

const strip = ({ sid, ...rest }) => rest; // the signal's number: checked in its own test
const within = (promise, ms) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`not answered within ${ms} ms`)), ms))]);

test('the worker gets the relay in init; the channel is reported', async () => {
  const { c, init, info, ask } = await make();
  assert.equal(init.buffer, null);
  assert.equal(init.relay.url, RELAY.url);
  assert.equal(init.relay.browsingContextId, RELAY.browsingContextId);
  assert.equal(init.relay.kite, c.relayId);
  assert.equal(info.interrupt_channel, 'service-worker');
  assert.equal(c.interruptChannel, 'service-worker');
  assert.deepEqual(await ask('hello'), { ok: true });
});

test('without a relay that answered, interrupt() fails with the reason', async () => {
  const { c } = await make({ channel: 'none' });
  c.send(request('execute_request', { code: 'while True: pass' }));
  const r = c.interrupt();
  assert.equal(r.ok, false);
  assert.match(r.reason, /service worker/);
});

test('an interrupt reaches the poll of its execute_request once', async () => {
  const { c, ask } = await make();
  assert.deepEqual(c.interrupt(), { ok: true, idle: true }); // idle: dropped
  assert.deepEqual(await ask('poll', { seq: 1 }), { signal: 0 });
  c.send(request('execute_request', { code: 'loop' })); // seq 1
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.deepEqual(await ask('poll', { seq: 1 }), { signal: 2 });
  assert.deepEqual(await ask('poll', { seq: 1 }), { signal: 0 });
});

test('a signal for an earlier message is dropped; one for a later message waits', async () => {
  const { c, ask } = await make();
  c.send(request('complete_request', { code: 'x', cursor_pos: 1 })); // seq 1
  c.send(request('execute_request', { code: 'loop' })); // seq 2: the oldest pending execute
  c.interrupt();
  assert.deepEqual(await ask('wait', { seq: 1, ms: 20, signals: false }), { signal: 0 }); // not for seq 1
  assert.deepEqual(await ask('poll', { seq: 2 }), { signal: 2 });
  c.interrupt(); // aimed at 2 (still pending)
  c.send(request('execute_request', { code: 'a' })); // seq 3, sent after the interrupt
  assert.deepEqual(await ask('poll', { seq: 3 }), { signal: 0 }); // stale when seq 3 asks
  assert.deepEqual(await ask('poll', { seq: 2 }), { signal: 0 }); // and gone
});

test('an interrupt the comm_msg before the cell does not take reaches the cell', async () => {
  // a first visit in the browser: the widget manager's comm_open and comm_msg were queued ahead
  // of `while True: pass` when the user pressed Interrupt; the comm_msg ran no Python
  const { c, ask, worker } = await make();
  c.send(request('comm_open', { comm_id: 'w', target_name: 'jupyter.widget.control', data: {} })); // seq 1
  const comm = request('comm_msg', { comm_id: 'w', data: {} });
  c.send(comm); // seq 2: pending (widget callbacks are interruptible)
  c.send(request('execute_request', { code: 'while True: pass' })); // seq 3
  assert.deepEqual(c.interrupt(), { ok: true }); // aimed at 2..3
  // its idle status (a comm_msg has no reply), without having asked for the signal
  worker.emit({ ...request('status', { execution_state: 'idle' }, 'iopub'), parent_header: comm.header });
  assert.deepEqual(await ask('poll', { seq: 3 }), { signal: 2 });
  assert.deepEqual(await ask('poll', { seq: 3 }), { signal: 0 }); // taken once
});

test('an interrupt reaches every cell sent before it until one takes it, none after', async () => {
  const { c, ask } = await make();
  c.send(request('execute_request', { code: 'a' })); // seq 1
  c.send(request('execute_request', { code: 'b' })); // seq 2
  c.interrupt(); // aimed at 1..2
  c.send(request('execute_request', { code: 'c' })); // seq 3: sent after it
  assert.deepEqual(await ask('poll', { seq: 2 }), { signal: 2 }); // 1 ended without asking
  c.interrupt(); // aimed at 1..3 (no reply came back yet)
  assert.deepEqual(await ask('poll', { seq: 4 }), { signal: 0 }); // past them all: dropped
  assert.deepEqual(await ask('poll', { seq: 3 }), { signal: 0 });
});

test('no interrupt leaks past the execute_reply of its target', async () => {
  const { c, ask, reply } = await make();
  const first = request('execute_request', { code: 'short' });
  c.send(first); // seq 1
  c.interrupt(); // aimed at 1, which ends before polling
  reply(first);
  c.send(request('execute_request', { code: 'next' })); // seq 2
  assert.deepEqual(await ask('poll', { seq: 2 }), { signal: 0 });
  assert.deepEqual(c.interrupt(), { ok: true });
  assert.deepEqual(await ask('poll', { seq: 2 }), { signal: 2 });
});

test('a held wait is answered at once on Interrupt, else when its time is up', async () => {
  const { c, ask } = await make();
  c.send(request('execute_request', { code: 'time.sleep(600)' })); // seq 1
  const t0 = Date.now();
  const timed = await ask('wait', { seq: 1, ms: 60, signals: true });
  assert.deepEqual(timed, { signal: 0 });
  assert.ok(Date.now() - t0 >= 55, `answered after ${Date.now() - t0} ms`);
  const held = ask('wait', { seq: 1, ms: RELAY_HOLD_MS, signals: true });
  setTimeout(() => c.interrupt(), 20);
  assert.deepEqual(await within(held, 1000), { signal: 2 });
  // a signal already pending answers the next wait at once
  c.interrupt();
  assert.deepEqual(await within(ask('wait', { seq: 1, ms: RELAY_HOLD_MS, signals: true }), 200), { signal: 2 });
  // outside a cell's signals (signals: false) a wait is not cut short
  c.interrupt();
  assert.deepEqual(await ask('wait', { seq: 1, ms: 30, signals: false }), { signal: 0 });
  assert.deepEqual(await ask('poll', { seq: 1 }), { signal: 2 }); // still there for the cell
});

test('input(): the reply answers the held request; a reply before the request is kept', async () => {
  const { c, ask, worker } = await make();
  c.send(request('execute_request', { code: 'input()' })); // seq 1
  assert.equal(c.send(request('input_reply', { value: 'too early' }, 'stdin')), false); // nobody asked
  worker.emit(request('input_request', { prompt: '?', password: false }, 'stdin'));
  const held = ask('input', { seq: 1, ms: RELAY_HOLD_MS });
  setTimeout(() => c.send(request('input_reply', { value: 'kite' }, 'stdin')), 10);
  assert.deepEqual(await within(held, 1000), { value: 'kite' });
  // the reply may come before the worker's request reaches the page
  worker.emit(request('input_request', { prompt: '?', password: false }, 'stdin'));
  assert.equal(c.send(request('input_reply', { value: 'early' }, 'stdin')), true);
  assert.deepEqual(await within(ask('input', { seq: 1, ms: RELAY_HOLD_MS }), 200), { value: 'early' });
  // a held input times out with {timeout} and the worker asks again
  worker.emit(request('input_request', { prompt: '?', password: false }, 'stdin'));
  assert.deepEqual(await ask('input', { seq: 1, ms: 30 }), { signal: 0, timeout: true });
  c.send(request('input_reply', { value: 'later' }, 'stdin'));
  assert.deepEqual(await ask('input', { seq: 1, ms: 30 }), { value: 'later' });
});

test('input(): Interrupt ends the wait; a late reply is refused', async () => {
  const { c, ask, worker } = await make();
  c.send(request('execute_request', { code: 'input()' })); // seq 1
  worker.emit(request('input_request', { prompt: '?', password: false }, 'stdin'));
  const held = ask('input', { seq: 1, ms: RELAY_HOLD_MS });
  setTimeout(() => c.interrupt(), 10);
  assert.deepEqual(await within(held, 1000), { signal: 2 });
  assert.equal(c.send(request('input_reply', { value: 'late' }, 'stdin')), false);
});

test('a signal answered but never received (request timed out) is answered again', async () => {
  const { c, init } = await make();
  c.send(request('execute_request', { code: 'loop' })); // seq 1
  c.interrupt();
  const raw = (ack, op = 'poll') => c.answerRelay({ kite: c.relayId, generation: init.relay.generation, ack, op, seq: 1 });
  const first = await raw(0);
  assert.equal(first.signal, 2);
  assert.ok(first.sid > 0);
  assert.deepEqual(await raw(0), first); // not acknowledged: answered again
  assert.deepEqual(await raw(first.sid), { signal: 0 }); // acknowledged: gone
  // a second interrupt before the first is acknowledged is a new signal
  c.interrupt();
  const second = await raw(first.sid);
  assert.equal(second.signal, 2);
  assert.ok(second.sid > first.sid);
  c.interrupt(); // coalesced with the unacknowledged one, as in the one-slot shared buffer
  const third = await raw(first.sid);
  assert.ok(third.sid > second.sid);
  assert.deepEqual(await raw(third.sid), { signal: 0 });
});

test('restart: held requests are released, an old generation is stale', async () => {
  const { c, ask, init } = await make();
  c.send(request('execute_request', { code: 'time.sleep(600)' }));
  const held = ask('wait', { seq: 1, ms: RELAY_HOLD_MS, signals: true });
  await c.restart();
  assert.deepEqual(await within(held, 200), { stale: true });
  assert.deepEqual(await c.answerRelay({ kite: c.relayId, generation: init.relay.generation, op: 'poll', seq: 1 }), { stale: true });
  assert.deepEqual(await c.answerRelay({ kite: 'someone else', generation: c._generation, op: 'poll', seq: 1 }), { stale: true });
  c.shutdown();
});
