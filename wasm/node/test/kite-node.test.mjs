// kite-node.mjs end to end on the fake module (no wasm build needed): framing, HMAC, routing of
// replies by parent msg_id, buffers, errors built by the host, interrupt_request, crash recovery
// and shutdown, through real ZeroMQ sockets.   node --test wasm/node/test/
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as zmq from 'zeromq';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = mkdtempSync(path.join(os.tmpdir(), 'kite-fake-dist-'));
execFileSync(process.execPath, [path.join(here, 'make-fake-dist.mjs'), dist]);
const DELIM = Buffer.from('<IDS|MSG>');
const KEY = 'test-key';

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function sign(parts) {
  const h = createHmac('sha256', KEY);
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest('hex'));
}

let proc;
let conn;
let stderr = '';
const sockets = {};
const iopubMsgs = [];

function frames(msg_type, content = {}, { header = {}, buffers = [], raw = null } = {}) {
  const h = { msg_id: randomUUID(), msg_type, session: 's', username: 'u', date: new Date().toISOString(), version: '5.3', ...header };
  const parts = raw || [h, {}, {}, content].map((o) => Buffer.from(JSON.stringify(o)));
  return { id: h.msg_id, frames: [DELIM, sign(parts), ...parts, ...buffers] };
}

function parse(fr) {
  const i = fr.findIndex((f) => f.equals(DELIM));
  const parts = fr.slice(i + 2, i + 6);
  assert.ok(fr[i + 1].equals(sign(parts)), 'the kernel signs what it sends');
  const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
  return { header, parent_header, metadata, content, buffers: fr.slice(i + 6) };
}

async function recv(sock, timeout = 5000) {
  const t = setTimeout(() => sock.close(), timeout);
  try {
    const [fr] = await Promise.all([sock.receive()]);
    return parse(fr);
  } finally {
    clearTimeout(t);
  }
}

/** Waits for iopub messages with parent msg_id until status idle. */
async function idleOf(id, timeout = 5000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const mine = iopubMsgs.filter((m) => m.parent_header.msg_id === id);
    if (mine.some((m) => m.header.msg_type === 'status' && m.content.execution_state === 'idle')) return mine;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no idle for ${id}`);
}

async function request(channel, msg_type, content, opts) {
  const { id, frames: fr } = frames(msg_type, content, opts);
  await sockets[channel].send(fr);
  const reply = await recv(sockets[channel]);
  return { id, reply };
}

before(async () => {
  const ports = [];
  for (let i = 0; i < 5; i++) ports.push(await freePort());
  conn = { transport: 'tcp', ip: '127.0.0.1', shell_port: ports[0], iopub_port: ports[1], stdin_port: ports[2], control_port: ports[3], hb_port: ports[4], key: KEY, signature_scheme: 'hmac-sha256' };
  const file = path.join(dist, 'connection.json');
  writeFileSync(file, JSON.stringify(conn));
  // a 1 MiB message size limit (the default is 64 MiB), for the MessageTooLarge test
  const env = { ...process.env, KITE_MAX_MESSAGE_BYTES: '1M' };
  proc = spawn(process.execPath, [path.join(here, '../kite-node.mjs'), '-f', file, '--dist', dist], { stdio: ['ignore', 'inherit', 'pipe'], env });
  proc.stderr.on('data', (d) => (stderr += d));
  const url = (p) => `tcp://127.0.0.1:${p}`;
  for (const name of ['shell', 'control', 'stdin']) {
    sockets[name] = new zmq.Dealer({ linger: 0, routingId: `test-${name}` });
    sockets[name].connect(url(conn[`${name}_port`]));
  }
  sockets.iopub = new zmq.Subscriber({ linger: 0 });
  sockets.iopub.connect(url(conn.iopub_port));
  sockets.iopub.subscribe();
  (async () => {
    for await (const fr of sockets.iopub) iopubMsgs.push(parse(fr));
  })().catch(() => {});
  // the kernel is up when kernel_info is answered (iopub subscription settles meanwhile)
  for (let i = 0; i < 50; i++) {
    const { id, frames: fr } = frames('kernel_info_request');
    await sockets.shell.send(fr);
    await recv(sockets.shell, 10000);
    try {
      await idleOf(id, 200);
      return;
    } catch {
      /* iopub not subscribed yet */
    }
  }
});

after(() => {
  for (const s of Object.values(sockets)) s.close();
  if (proc.exitCode === null) proc.kill('SIGKILL');
});

test('execute: the reply is routed back, iopub carries the request as parent', async () => {
  const { id, reply } = await request('shell', 'execute_request', { code: '1+1', silent: false });
  assert.equal(reply.header.msg_type, 'execute_reply');
  assert.equal(reply.parent_header.msg_id, id);
  assert.equal(reply.content.status, 'ok');
  const mine = await idleOf(id);
  assert.deepEqual(mine.map((m) => m.header.msg_type), ['status', 'execute_input', 'execute_result', 'status']);
});

test('buffers travel with the message, both ways', async () => {
  const { id, reply } = await request('shell', 'execute_request', { code: 'echo_buffers()' }, { buffers: [Buffer.from([1, 2, 3]), Buffer.from('xyz')] });
  assert.equal(reply.content.status, 'ok');
  const out = (await idleOf(id)).find((m) => m.header.msg_type === 'display_data');
  assert.deepEqual(out.buffers.map((b) => [...b]), [[1, 2, 3], [...Buffer.from('xyz')]]);
});

test('messages that cannot reach the core are answered by the host', async () => {
  // bad JSON in the content frame
  const h = { msg_id: randomUUID(), msg_type: 'execute_request', session: 's', username: 'u', date: '', version: '5.3' };
  let r = await request('shell', 'execute_request', {}, { raw: [Buffer.from(JSON.stringify(h)), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{not json')] });
  assert.equal(r.reply.header.msg_type, 'execute_reply');
  assert.equal(r.reply.content.status, 'error');
  assert.match(r.reply.content.evalue, /content.*JSON/);
  // a header without msg_id
  r = await request('control', 'kernel_info_request', {}, { raw: [Buffer.from('{"msg_type": "kernel_info_request"}'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')] });
  assert.equal(r.reply.content.status, 'error');
  assert.match(r.reply.content.evalue, /msg_id/);
  // a bad signature: dropped
  const { frames: fr } = frames('kernel_info_request');
  fr[1] = Buffer.from('0'.repeat(64));
  await sockets.shell.send(fr);
  r = await request('shell', 'kernel_info_request', {});
  assert.equal(r.reply.header.msg_type, 'kernel_info_reply'); // the next reply is for the next request
});

test('JSON nested deeper than the limit: MalformedMessage, the deep value never echoed, the kernel lives', async () => {
  const deep = (n) => '{"a":'.repeat(n) + '{}' + '}'.repeat(n);
  for (const depth of [3000, 10000, 100000]) {
    const h = { msg_id: randomUUID(), msg_type: 'kernel_info_request', session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' };
    // a deep header: answered with its shallow fields as parent
    const hText = JSON.stringify(h).slice(0, -1) + `,"deep":${deep(depth)}}`;
    let r = await request('shell', 'kernel_info_request', {}, { raw: [Buffer.from(hText), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')] });
    assert.equal(r.reply.header.msg_type, 'kernel_info_reply');
    assert.equal(r.reply.content.ename, 'MalformedMessage');
    assert.match(r.reply.content.evalue, /header frame nests deeper than 256/);
    assert.deepEqual(r.reply.parent_header, h);
    // a deep content on control
    const c = { ...h, msg_id: randomUUID() };
    r = await request('control', 'kernel_info_request', {}, { raw: [Buffer.from(JSON.stringify(c)), Buffer.from('{}'), Buffer.from('{}'), Buffer.from(`{"x":${deep(depth)}}`)] });
    assert.equal(r.reply.content.ename, 'MalformedMessage');
    assert.match(r.reply.content.evalue, /content frame nests deeper than 256/);
    assert.deepEqual(r.reply.parent_header, c);
  }
  const r = await request('shell', 'execute_request', { code: '1+1' });
  assert.equal(r.reply.content.status, 'ok');
  assert.equal(proc.exitCode, null);
});

test('a message over the size limit gets MessageTooLarge and never reaches the kernel', async () => {
  const big = 'x'.repeat(1024 * 1024 + 1);
  let r = await request('shell', 'execute_request', { code: `# ${big}` });
  assert.equal(r.reply.header.msg_type, 'execute_reply');
  assert.equal(r.reply.content.status, 'error');
  assert.equal(r.reply.content.ename, 'MessageTooLarge');
  assert.match(r.reply.content.evalue, /\(1048576 bytes\)/);
  assert.match(r.reply.content.evalue, /KITE_MAX_MESSAGE_BYTES/);
  let mine = await idleOf(r.id);
  assert.deepEqual(mine.map((m) => m.header.msg_type), ['status', 'error', 'status']);
  // the size counts buffers too; a comm_msg (no reply in the protocol) gets an iopub stderr stream
  const { id, frames: fr } = frames('comm_msg', { comm_id: 'c', data: {} }, { buffers: [Buffer.alloc(1024 * 1024)] });
  await sockets.shell.send(fr);
  mine = await idleOf(id);
  const stream = mine.find((m) => m.header.msg_type === 'stream');
  assert.equal(stream.content.name, 'stderr');
  assert.match(stream.content.text, /MessageTooLarge/);
  // on control too; and the kernel goes on
  r = await request('control', 'kernel_info_request', { pad: big });
  assert.equal(r.reply.content.ename, 'MessageTooLarge');
  r = await request('shell', 'execute_request', { code: '1+1' });
  assert.equal(r.reply.content.status, 'ok');
});

test('kernel_info and interrupt on control while a cell runs; the cell is interrupted', async () => {
  const { id, frames: fr } = frames('execute_request', { code: 'while True: pass' });
  await sockets.shell.send(fr);
  await new Promise((r) => setTimeout(r, 100));
  let r = await request('control', 'kernel_info_request', {});
  assert.equal(r.reply.content.language_info.name, 'python');
  r = await request('control', 'interrupt_request', {});
  assert.equal(r.reply.header.msg_type, 'interrupt_reply');
  assert.equal(r.reply.content.status, 'ok');
  const reply = await recv(sockets.shell);
  assert.equal(reply.parent_header.msg_id, id);
  assert.equal(reply.content.ename, 'KeyboardInterrupt');
});

test('a crashed worker: KernelCrashed reply and error, restarting, idle, then it serves again', async () => {
  const { id, reply } = await request('shell', 'execute_request', { code: 'crash()' });
  assert.equal(reply.parent_header.msg_id, id);
  assert.equal(reply.content.ename, 'KernelCrashed');
  const mine = await idleOf(id, 10000);
  const states = mine.filter((m) => m.header.msg_type === 'status').map((m) => m.content.execution_state);
  assert.deepEqual(states.slice(-2), ['restarting', 'idle']);
  assert.ok(mine.some((m) => m.header.msg_type === 'error' && m.content.ename === 'KernelCrashed'));
  const again = await request('shell', 'execute_request', { code: '2+2' });
  assert.equal(again.reply.content.status, 'ok');
});

test('shutdown_request: reply, then the process exits', async () => {
  const exited = new Promise((r) => proc.on('exit', r));
  const { reply } = await request('control', 'shutdown_request', { restart: false });
  assert.equal(reply.header.msg_type, 'shutdown_reply');
  assert.equal(reply.content.status, 'ok');
  assert.equal(await exited, 0, stderr);
});
