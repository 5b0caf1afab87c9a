#!/usr/bin/env node
// kite-node: a Jupyter kernel process (protocol 5.3 over ZeroMQ) whose Python is kite's wasm
// CPython, run by wasm/js/worker.js in a worker thread and driven by wasm/js/controller.js.
//
//   node kite-node.mjs -f <connection file> --dist <build/wasm/dist> [--debug]
//
// Shell requests run one at a time in arrival order; control (interrupt, shutdown, kernel_info)
// is answered at once even while a cell runs, because the cell runs in the worker thread.
// A crashed worker (wasm trap, stack overflow, abort) is reported on the running request and
// replaced by a fresh one: the kernel keeps serving, with its Python state lost.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { nodeWorkerFactory } from './worker-factory.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTOCOL_VERSION = '5.3';
const DELIM = Buffer.from('<IDS|MSG>');
const T_START = performance.now();

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const opts = { connectionFile: null, dist: null, debug: false, stackSizeMb: 16 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-f' || a === '--connection-file') opts.connectionFile = argv[++i];
    else if (a.startsWith('--connection-file=')) opts.connectionFile = a.split('=', 2)[1];
    else if (a === '--dist') opts.dist = argv[++i];
    else if (a.startsWith('--dist=')) opts.dist = a.split('=', 2)[1];
    else if (a === '--stack-size-mb') opts.stackSizeMb = Number(argv[++i]);
    else if (a === '--debug') opts.debug = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: kite-node.mjs -f CONNECTION_FILE [--dist DIST_DIR] [--debug]');
      process.exit(0);
    } else {
      console.error(`[kite-node] unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!opts.connectionFile) {
    console.error('[kite-node] missing -f CONNECTION_FILE');
    process.exit(2);
  }
  opts.dist = path.resolve(opts.dist || process.env.KITE_DIST || path.join(HERE, '../../build/wasm/dist'));
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => console.error('[kite-node]', ...a);
const debug = opts.debug ? log : () => {};

for (const f of ['kite.js', 'kite.wasm', 'kite-stdlib.zip', 'worker.js', 'controller.js']) {
  if (!existsSync(path.join(opts.dist, f))) {
    log(`missing ${path.join(opts.dist, f)}: build the wasm kernel first (make wasm)`);
    process.exit(1);
  }
}
// controller.js is loaded from the deployable bundle, the same file the browser host uses
const { KiteController, KernelDiedError } = await import(pathToFileURL(path.join(opts.dist, 'controller.js')).href);

const conn = JSON.parse(readFileSync(opts.connectionFile, 'utf8'));
const key = Buffer.from(conn.key || '', 'utf8');
if (key.length && conn.signature_scheme && conn.signature_scheme !== 'hmac-sha256') {
  log(`unsupported signature_scheme ${conn.signature_scheme} (only hmac-sha256)`);
  process.exit(1);
}
const session = randomUUID();

// ---------------------------------------------------------------- wire protocol
function sign(frames) {
  if (!key.length) return '';
  const h = createHmac('sha256', key);
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

function newHeader(msg_type) {
  return {
    msg_id: randomUUID(),
    session,
    username: 'kite',
    date: new Date().toISOString(),
    msg_type,
    version: PROTOCOL_VERSION,
  };
}

/** Parses a multipart message; returns {ids, header, parent, metadata, content, buffers} or
 *  {drop: reason} (not answerable: bad signature / no delimiter) or {ids, bad: reason, header?}. */
function parseMessage(frames) {
  const idx = frames.findIndex((f) => f.length === DELIM.length && f.equals(DELIM));
  if (idx < 0) return { drop: 'no <IDS|MSG> delimiter' };
  const ids = frames.slice(0, idx);
  if (frames.length < idx + 6) return { drop: `expected 5 frames after <IDS|MSG>, got ${frames.length - idx - 1}`, ids };
  const sig = frames[idx + 1].toString('latin1');
  const parts = frames.slice(idx + 2, idx + 6);
  if (key.length) {
    const want = Buffer.from(sign(parts), 'latin1');
    const got = Buffer.from(sig, 'latin1');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { drop: 'invalid HMAC signature', ids };
  }
  const names = ['header', 'parent_header', 'metadata', 'content'];
  const parsed = [];
  for (let i = 0; i < 4; i++) {
    try {
      parsed.push(JSON.parse(parts[i].toString('utf8')));
    } catch (e) {
      return { ids, bad: `the ${names[i]} frame is not valid JSON (${e.message})`, header: i > 0 ? parsed[0] : null };
    }
  }
  const [header, parent, metadata, content] = parsed;
  if (!header || typeof header !== 'object' || Array.isArray(header)) return { ids, bad: 'the header is not a JSON object' };
  for (const field of ['msg_id', 'msg_type']) {
    if (typeof header[field] !== 'string' || !header[field]) {
      return { ids, bad: `the header has no ${field}`, header };
    }
  }
  if (!content || typeof content !== 'object' || Array.isArray(content)) {
    return { ids, bad: 'the content is not a JSON object', header };
  }
  return { ids, header, parent, metadata, content, buffers: frames.slice(idx + 6) };
}

// zeromq.js allows one send at a time per socket: chain them.
class Channel {
  constructor(name, sock) {
    this.name = name;
    this.sock = sock;
    this.tail = Promise.resolve();
  }
  send(msg_type, content, { parent = {}, ids = [], metadata = {} } = {}) {
    const header = newHeader(msg_type);
    const parts = [header, parent || {}, metadata, content].map((o) => Buffer.from(JSON.stringify(o), 'utf8'));
    const frames = [...ids, DELIM, Buffer.from(sign(parts), 'latin1'), ...parts];
    debug(`-> ${this.name} ${msg_type}`);
    this.tail = this.tail.then(() => this.sock.send(frames)).catch((e) => {
      if (!exitStarted) log(`${this.name}: send failed: ${e.message}`);
    });
    return this.tail;
  }
}

function replyType(msg_type) {
  if (typeof msg_type !== 'string' || !msg_type) return 'error_reply';
  return msg_type.endsWith('_request') ? msg_type.slice(0, -'_request'.length) + '_reply' : `${msg_type}_reply`;
}

function errorContent(ename, evalue) {
  return { status: 'error', ename, evalue, traceback: [`${ename}: ${evalue}`] };
}

// ---------------------------------------------------------------- the wasm kernel
// Started first: the worker (another thread) loads the wasm and Python while this thread loads
// ZeroMQ and binds the sockets.
let shell = null;
let control = null;
let stdin = null;
let iopub = null;
let sockets = {};
let current = null; // the shell request being run: {ids, header, ...}
let kernelInfo = null; // cached kernel_info_reply content (asked once per worker)
let executionCount = 0; // mirrors the interpreter's, to announce execute_input
let restarting = null; // promise while a crashed worker is being replaced
let exiting = false;
let exitStarted = false;

const controller = new KiteController({
  createWorker: nodeWorkerFactory(path.join(opts.dist, 'worker.js'), { stackSizeMb: opts.stackSizeMb }),
  baseUrl: opts.dist,
  onPublish: (msg_type, content) => iopub.send(msg_type, content, { parent: current ? current.header : {} }),
  onInputRequest: (prompt, password) => {
    if (!current) {
      controller.inputReply('');
      return;
    }
    stdin.send('input_request', { prompt, password }, { parent: current.header, ids: current.ids });
  },
  onFatal: (err) => {
    log(`the wasm worker died: ${err.message}`);
    if (err.workerStack) debug(err.workerStack);
    if (!exiting) recover();
  },
});

function recover() {
  if (!restarting) {
    kernelInfo = null;
    executionCount = 0;
    const t0 = performance.now();
    restarting = controller
      .restart()
      .then(() => {
        log(`worker restarted in ${(performance.now() - t0).toFixed(0)} ms`);
        return fetchKernelInfo();
      })
      .catch((e) => {
        log(`cannot restart the wasm worker: ${e.message}; exiting`);
        shutdownAndExit(1);
      })
      .finally(() => {
        restarting = null;
      });
  }
  return restarting;
}

async function fetchKernelInfo() {
  if (!kernelInfo) {
    const info = await controller.request('kernel_info_request', {});
    kernelInfo = { ...info, protocol_version: PROTOCOL_VERSION };
    if (!kernelInfo.status) kernelInfo.status = 'ok';
  }
  return kernelInfo;
}

controller
  .start()
  .then(({ startup_ms }) => debug(`python ready: worker ${startup_ms.toFixed(0)} ms, process ${(performance.now() - T_START).toFixed(0)} ms`))
  .catch((e) => {
    log(`the wasm kernel did not start: ${e.message}`);
    shutdownAndExit(1);
  });
fetchKernelInfo().catch(() => {}); // warm the cache while the client connects

// ---------------------------------------------------------------- sockets
function endpoint(port) {
  return conn.transport === 'ipc' ? `ipc://${conn.ip}-${port}` : `${conn.transport || 'tcp'}://${conn.ip}:${port}`;
}
const zmq = await import('zeromq');
sockets = {
  shell: new zmq.Router({ linger: 1000 }),
  control: new zmq.Router({ linger: 1000 }),
  stdin: new zmq.Router({ linger: 1000 }),
  iopub: new zmq.Publisher({ linger: 1000 }),
  hb: new zmq.Reply({ linger: 0 }),
};
await Promise.all([
  sockets.shell.bind(endpoint(conn.shell_port)),
  sockets.control.bind(endpoint(conn.control_port)),
  sockets.stdin.bind(endpoint(conn.stdin_port)),
  sockets.iopub.bind(endpoint(conn.iopub_port)),
  sockets.hb.bind(endpoint(conn.hb_port)),
]);
shell = new Channel('shell', sockets.shell);
control = new Channel('control', sockets.control);
stdin = new Channel('stdin', sockets.stdin);
iopub = new Channel('iopub', sockets.iopub);
const status = (state, parent) => iopub.send('status', { execution_state: state }, { parent });

// ---------------------------------------------------------------- shell
const shellQueue = [];
let shellRunning = false;

const FORWARDED = new Set([
  'execute_request', 'complete_request', 'inspect_request', 'is_complete_request',
  'history_request', 'comm_info_request',
]);

async function runShell(msg) {
  const { header, content, ids } = msg;
  const type = header.msg_type;
  const parent = header;
  if (type === 'shutdown_request') return handleShutdown(shell, msg);
  if (type === 'comm_msg' || type === 'comm_close') return; // no comm targets: nothing to do
  await status('busy', parent);
  try {
    if (msg.aborted) {
      await shell.send(replyType(type), { status: 'aborted', execution_count: executionCount || null }, { parent, ids });
      return;
    }
    if (type === 'comm_open') {
      // no comm targets are registered: close it, as ipykernel does for an unknown target
      await iopub.send('comm_close', { comm_id: content.comm_id, data: {} }, { parent });
      return;
    }
    if (type === 'kernel_info_request') {
      if (restarting) await restarting;
      await shell.send('kernel_info_reply', await fetchKernelInfo(), { parent, ids });
      return;
    }
    if (!FORWARDED.has(type)) {
      log(`unknown shell message type ${type}`);
      await shell.send(replyType(type), errorContent('UnknownMessageType', `kite does not handle ${type} messages`), { parent, ids });
      return;
    }
    if (restarting) await restarting;
    if (type === 'execute_request' && !content.silent) {
      await iopub.send('execute_input', { code: String(content.code ?? ''), execution_count: executionCount + 1 }, { parent });
    }
    current = msg;
    let reply;
    try {
      reply = await controller.request(type, content);
    } catch (e) {
      if (!(e instanceof KernelDiedError)) throw e;
      const evalue =
        `the kite kernel crashed (${e.message}) and was restarted automatically: ` +
        'its state is lost (variables, imports and definitions must be recreated)';
      const err = errorContent('KernelCrashed', evalue);
      if (type === 'execute_request') {
        await iopub.send('error', { ename: err.ename, evalue: err.evalue, traceback: err.traceback }, { parent });
        err.execution_count = executionCount + 1;
      }
      await shell.send(replyType(type), err, { parent, ids });
      current = null;
      await status('starting', parent);
      await recover();
      return;
    }
    current = null;
    if (type === 'execute_request') {
      if (Number.isInteger(reply.execution_count)) executionCount = reply.execution_count;
      if (reply.status === 'error' && content.stop_on_error !== false) {
        for (const q of shellQueue) if (q.header.msg_type === 'execute_request') q.aborted = true;
      }
    }
    await shell.send(replyType(type), reply, { parent, ids });
  } catch (e) {
    log(`error while handling ${type}: ${e.stack || e}`);
    await shell.send(replyType(type), errorContent('KiteHostError', String(e.message || e)), { parent, ids });
  } finally {
    current = null;
    await status('idle', parent);
  }
}

async function pumpShell() {
  if (shellRunning) return;
  shellRunning = true;
  try {
    while (shellQueue.length && !exiting) await runShell(shellQueue.shift());
  } finally {
    shellRunning = false;
  }
}

/** Replies to a message that could not be parsed but can be answered (it has ids). */
async function answerMalformed(channel, m) {
  const type = m.header && typeof m.header.msg_type === 'string' ? m.header.msg_type : null;
  const parent = m.header && typeof m.header === 'object' ? m.header : {};
  log(`malformed message on ${channel.name}: ${m.bad}`);
  await channel.send(replyType(type), errorContent('MalformedMessage', `malformed ${type || 'message'}: ${m.bad}`), { parent, ids: m.ids });
}

async function serveShell() {
  for await (const frames of sockets.shell) {
    const m = parseMessage(frames);
    if (m.drop) {
      log(`dropped a message on shell: ${m.drop}`);
      continue;
    }
    if (m.bad) {
      answerMalformed(shell, m);
      continue;
    }
    debug(`<- shell ${m.header.msg_type}`);
    shellQueue.push(m);
    pumpShell();
  }
}

// ---------------------------------------------------------------- control
async function serveControl() {
  for await (const frames of sockets.control) {
    const m = parseMessage(frames);
    if (m.drop) {
      log(`dropped a message on control: ${m.drop}`);
      continue;
    }
    if (m.bad) {
      answerMalformed(control, m);
      continue;
    }
    const type = m.header.msg_type;
    const parent = m.header;
    debug(`<- control ${type}`);
    try {
      if (type === 'interrupt_request') {
        const r = controller.interrupt();
        if (!r.ok) log(`interrupt failed: ${r.reason}`);
        await control.send('interrupt_reply', r.ok ? { status: 'ok' } : errorContent('InterruptFailed', r.reason), { parent, ids: m.ids });
      } else if (type === 'shutdown_request') {
        await handleShutdown(control, m);
      } else if (type === 'kernel_info_request') {
        if (restarting) await restarting;
        await control.send('kernel_info_reply', await fetchKernelInfo(), { parent, ids: m.ids });
      } else {
        log(`unknown control message type ${type}`);
        await control.send(replyType(type), errorContent('UnknownMessageType', `kite does not handle ${type} messages`), { parent, ids: m.ids });
      }
    } catch (e) {
      log(`error while handling control ${type}: ${e.stack || e}`);
      await control.send(replyType(type), errorContent('KiteHostError', String(e.message || e)), { parent, ids: m.ids });
    }
  }
}

// ---------------------------------------------------------------- stdin
async function serveStdin() {
  for await (const frames of sockets.stdin) {
    const m = parseMessage(frames);
    if (m.drop || m.bad) {
      log(`dropped a message on stdin: ${m.drop || m.bad}`);
      continue;
    }
    if (m.header.msg_type === 'input_reply') {
      if (!controller.inputReply(String(m.content.value ?? ''))) debug('input_reply with no input pending: ignored');
    } else {
      log(`unexpected ${m.header.msg_type} on stdin: ignored`);
    }
  }
}

async function serveHeartbeat() {
  for await (const frames of sockets.hb) await sockets.hb.send(frames);
}

// ---------------------------------------------------------------- lifetime
async function handleShutdown(channel, m) {
  const restart = !!m.content.restart;
  const parent = m.header;
  exiting = true;
  await status('busy', parent);
  // let Python run its shutdown hooks when it is idle (never wait long for a busy or dead one)
  if (!current && controller.state === 'ready') {
    const hooks = controller.request('shutdown_request', { restart }).catch(() => {});
    await Promise.race([hooks, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  await channel.send('shutdown_reply', { status: 'ok', restart }, { parent, ids: m.ids });
  await iopub.send('shutdown_reply', { status: 'ok', restart }, { parent });
  await status('idle', parent);
  shutdownAndExit(0);
}

function shutdownAndExit(code) {
  if (exitStarted) return;
  exitStarted = true;
  exiting = true;
  controller.shutdown(); // terminates the worker thread
  // let queued frames reach the wire (linger), then go
  const done = Promise.all([shell, control, stdin, iopub].filter(Boolean).map((c) => c.tail));
  done.finally(() => {
    for (const s of Object.values(sockets)) {
      try {
        s.close();
      } catch (e) {
        /* closing */
      }
    }
    setTimeout(() => process.exit(code), 20).unref();
    setTimeout(() => process.exit(code), 1000);
  });
}

// SIGINT = interrupt the running cell (interrupt_mode "signal" clients, Ctrl-C in a terminal)
process.on('SIGINT', () => {
  const r = controller.interrupt();
  if (!r.ok) log(`SIGINT: ${r.reason}`);
});
process.on('SIGTERM', () => shutdownAndExit(0));
process.on('SIGHUP', () => shutdownAndExit(0));

// exit when the process that started us goes away (jupyter_client sets JPY_PARENT_PID)
const parentPid = Number(process.env.JPY_PARENT_PID || 0);
const startPpid = process.ppid;
setInterval(() => {
  let gone = process.ppid !== startPpid;
  if (parentPid > 1) {
    try {
      process.kill(parentPid, 0);
    } catch (e) {
      gone = gone || e.code === 'ESRCH';
    }
  }
  if (gone) {
    log('parent process is gone: exiting');
    shutdownAndExit(0);
  }
}, 1000).unref();

status('starting', {});
debug(`listening (${conn.transport}://${conn.ip}), dist ${opts.dist}`);
for (const [name, serve] of [['shell', serveShell], ['control', serveControl], ['stdin', serveStdin], ['hb', serveHeartbeat]]) {
  serve().catch((e) => {
    if (!exiting) {
      log(`${name} loop failed: ${e.stack || e}`);
      shutdownAndExit(1);
    }
  });
}
