#!/usr/bin/env node
// kite-node: a Jupyter kernel process (protocol 5.3 over ZeroMQ) whose Python is kite's wasm
// CPython, run by wasm/js/worker.js in a worker thread and driven by wasm/js/controller.js.
//
//   node kite-node.mjs -f <connection file> --dist <build/wasm/dist> [--debug]
//
// This host is transport only: every Jupyter rule (status, execute_input, counting,
// stop_on_error, replies, comms, validation) is kite::kernel_core's, in the worker. Here:
// framing and HMAC signing/verification, the sockets, routing replies back to the client
// identities by parent msg_id, heartbeat, exit when the parent process dies, SIGINT ->
// controller.interrupt(), and recovery from a crashed worker (the requests it had are answered
// with an error `KernelCrashed`, status `restarting`, a fresh worker, status `idle`).
// Messages that cannot reach the core (bad JSON, a header that is not an object or has no
// msg_id / msg_type, a message the worker cannot be sent) get an error reply built here, and so
// does a message over the size limit (MessageTooLarge; message-limit.js), read no further than
// its header.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { DEFAULT_MAX_MESSAGE_BYTES, frameCap, parseBytes, releaseSoon, tooLargeText } from './message-limit.js';
import { nodeWorkerFactory } from './worker-factory.js';
import { createWire, errorContent, isObject, replyType } from './wire.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const T_START = performance.now();
const START_PPID = process.ppid; // read first: the parent may die while the kernel starts

// ---------------------------------------------------------------- arguments
// The message size limit (message-limit.js): KITE_MAX_MESSAGE_BYTES or --max-message-bytes.
function parseArgs(argv) {
  const opts = { connectionFile: null, dist: null, debug: false, stackSizeMb: 16, maxMessageBytes: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-f' || a === '--connection-file') opts.connectionFile = argv[++i];
    else if (a.startsWith('--connection-file=')) opts.connectionFile = a.split('=', 2)[1];
    else if (a === '--dist') opts.dist = argv[++i];
    else if (a.startsWith('--dist=')) opts.dist = a.split('=', 2)[1];
    else if (a === '--stack-size-mb') opts.stackSizeMb = Number(argv[++i]);
    else if (a === '--max-message-bytes') opts.maxMessageBytes = argv[++i];
    else if (a.startsWith('--max-message-bytes=')) opts.maxMessageBytes = a.split('=', 2)[1];
    else if (a === '--debug') opts.debug = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: kite-node.mjs -f CONNECTION_FILE [--dist DIST_DIR] [--max-message-bytes N] [--debug]');
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
  const limitText = opts.maxMessageBytes ?? process.env.KITE_MAX_MESSAGE_BYTES;
  if (limitText === undefined || limitText === '') {
    opts.maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  } else {
    opts.maxMessageBytes = parseBytes(limitText);
    if (!Number.isFinite(opts.maxMessageBytes) || opts.maxMessageBytes < 0) {
      console.error(`[kite-node] bad message size limit ${JSON.stringify(limitText)} (KITE_MAX_MESSAGE_BYTES / --max-message-bytes): bytes, e.g. 67108864 or 64M; 0 = no limit`);
      process.exit(2);
    }
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
const { KiteController } = await import(pathToFileURL(path.join(opts.dist, 'controller.js')).href);

const conn = JSON.parse(readFileSync(opts.connectionFile, 'utf8'));
const key = Buffer.from(conn.key || '', 'utf8');
if (key.length && conn.signature_scheme && conn.signature_scheme !== 'hmac-sha256') {
  log(`unsupported signature_scheme ${conn.signature_scheme} (only hmac-sha256)`);
  process.exit(1);
}

// ---------------------------------------------------------------- wire protocol (wire.js)
const { parseMessage, hostMessage, frame } = createWire({ key, maxMessageBytes: opts.maxMessageBytes });

// ---------------------------------------------------------------- state
let sockets = null;
let exiting = false;
let exitStarted = false;
const outbox = []; // [msg, ids] produced before the sockets were bound
const tails = { shell: Promise.resolve(), control: Promise.resolve(), stdin: Promise.resolve(), iopub: Promise.resolve() };
// msg_id -> [{channel, ids, header}]: requests handed to the worker whose reply has not come back
// (a list: two clients may reuse a msg_id). Only *_request messages get replies.
const routes = new Map();
let routeCount = 0;
const MAX_ROUTES = 10000;
let restarting = null; // promise while a crashed worker is being replaced
let shuttingDown = null; // msg_id of the shutdown_request that was answered

function addRoute(channel, ids, header) {
  const list = routes.get(header.msg_id);
  const entry = { channel, ids, header };
  if (list) list.push(entry);
  else routes.set(header.msg_id, [entry]);
  if (++routeCount > MAX_ROUTES) {
    // a reply lost somewhere must not grow this map for ever: forget the oldest
    const [oldest, l] = routes.entries().next().value;
    l.shift();
    if (!l.length) routes.delete(oldest);
    routeCount--;
    log(`more than ${MAX_ROUTES} requests without replies: forgot the route of ${oldest}`);
  }
}

function takeRoute(msgId, channel) {
  const list = routes.get(msgId);
  if (!list) return null;
  const i = list.findIndex((e) => e.channel === channel);
  if (i < 0) return null;
  const [entry] = list.splice(i, 1);
  if (!list.length) routes.delete(msgId);
  routeCount--;
  return entry;
}

function peekRoute(msgId) {
  const list = routes.get(msgId);
  return list ? list[0] : null;
}

// ---------------------------------------------------------------- out: to the wire
/** Frames one message and queues it on its socket (zeromq.js allows one send at a time). */
function transmit(msg, ids = []) {
  if (!sockets) {
    outbox.push([msg, ids]);
    return tails.iopub;
  }
  const channel = msg.channel;
  const sock = sockets[channel];
  if (!sock) {
    log(`a message for an unknown channel ${JSON.stringify(channel)} dropped`);
    return Promise.resolve();
  }
  let frames;
  try {
    frames = frame(msg, ids);
  } catch (e) {
    // never from a client's structure (wire.js bounds their nesting): a kernel message that
    // cannot be serialised is dropped, and the loop that sent it lives on
    log(`a ${msg.header && msg.header.msg_type} message for ${channel} cannot be serialised (${e.message}): dropped`);
    return Promise.resolve();
  }
  debug(`-> ${channel} ${msg.header.msg_type}`);
  tails[channel] = tails[channel].then(() => sock.send(frames)).catch((e) => {
    if (!exitStarted) log(`${channel}: send failed: ${e.message}`);
  });
  return tails[channel];
}

/** A message from the kernel (the core in the worker, or the controller). */
function fromKernel(msg) {
  if (!msg || !isObject(msg.header)) return;
  const type = msg.header.msg_type;
  const parentId = isObject(msg.parent_header) ? msg.parent_header.msg_id : undefined;
  if (msg.channel === 'iopub') {
    transmit(msg);
    // after a shutdown_reply: exit once the core's status idle for that request is out
    if (shuttingDown === parentId && type === 'status' && msg.content && msg.content.execution_state === 'idle') shutdownAndExit(0);
    return;
  }
  if (msg.channel === 'stdin') {
    // input_request: to the client that sent the execute_request (still waiting for its reply)
    const route = peekRoute(parentId);
    if (!route) {
      log(`${type} for an unknown request ${parentId}: dropped`);
      return;
    }
    transmit(msg, route.ids);
    return;
  }
  // shell / control reply
  const route = takeRoute(parentId, msg.channel);
  if (!route) {
    log(`${type} for an unknown request ${parentId} on ${msg.channel}: dropped`);
    return;
  }
  transmit(msg, route.ids);
  if (type === 'shutdown_reply' && shuttingDown === null) {
    // the kernel agreed to stop: exit after its last status (or at once if that never comes)
    exiting = true;
    shuttingDown = parentId;
    setTimeout(() => shutdownAndExit(0), 500).unref();
  }
}

// ---------------------------------------------------------------- the wasm kernel
// Started first: the worker (another thread) loads the wasm and Python while this thread loads
// ZeroMQ and binds the sockets.
const controller = new KiteController({
  createWorker: nodeWorkerFactory(path.join(opts.dist, 'worker.js'), { stackSizeMb: opts.stackSizeMb }),
  baseUrl: opts.dist,
  onMessage: fromKernel,
  onFatal: (err) => {
    log(`the wasm worker died: ${err.message}`);
    if (err.workerStack) debug(err.workerStack);
    if (!exiting) recover(err);
  },
});

/**
 * A crashed worker: every request it had (handed over, no reply yet) is answered with an error
 * `KernelCrashed` (+ an iopub error for an execute_request), status `restarting`, a fresh
 * worker, then status `idle`, with the crashed request as parent.
 */
function recover(err) {
  const lost = [];
  for (const list of routes.values()) lost.push(...list);
  routes.clear();
  routeCount = 0;
  // os._exit(n) (or a C-level exit()) ends the wasm program: Emscripten throws ExitStatus
  const exited = /ExitStatus: Program terminated with exit\((-?\d+)\)/.exec(err.message || '');
  const what = exited ? `exited with status ${exited[1]} (os._exit() or exit() in C)` : `crashed (${err.message})`;
  const evalue =
    `the kite kernel ${what} and was restarted automatically: ` +
    'its state is lost (variables, imports and definitions must be recreated)';
  for (const r of lost) {
    const content = errorContent('KernelCrashed', evalue);
    if (r.header.msg_type === 'execute_request') {
      transmit(hostMessage('iopub', 'error', { ename: content.ename, evalue: content.evalue, traceback: content.traceback }, r.header));
      content.execution_count = null;
    }
    transmit(hostMessage(r.channel, replyType(r.header.msg_type), content, r.header), r.ids);
  }
  const parent = (lost.find((r) => r.channel === 'shell') || lost[0] || {}).header || {};
  transmit(hostMessage('iopub', 'status', { execution_state: 'restarting' }, parent));
  if (!restarting) {
    const t0 = performance.now();
    restarting = controller
      .restart()
      .then(() => {
        log(`worker restarted in ${(performance.now() - t0).toFixed(0)} ms`);
        transmit(hostMessage('iopub', 'status', { execution_state: 'idle' }, parent));
      })
      .catch((e) => {
        log(`cannot restart the wasm worker: ${e.message}; exiting`);
        shutdownAndExit(1);
      })
      .finally(() => {
        restarting = null;
      });
  }
}

controller
  .start()
  .then(({ startup_ms }) => debug(`python ready: worker ${startup_ms.toFixed(0)} ms, process ${(performance.now() - T_START).toFixed(0)} ms`))
  .catch((e) => {
    log(`the wasm kernel did not start: ${e.message}`);
    shutdownAndExit(1);
  });

// ---------------------------------------------------------------- sockets
function endpoint(port) {
  return conn.transport === 'ipc' ? `ipc://${conn.ip}-${port}` : `${conn.transport || 'tcp'}://${conn.ip}:${port}`;
}
const zmq = await import('zeromq');
const maxMessageSize = frameCap(opts.maxMessageBytes);
const bound = {
  shell: new zmq.Router({ linger: 1000, maxMessageSize }),
  control: new zmq.Router({ linger: 1000, maxMessageSize }),
  stdin: new zmq.Router({ linger: 1000, maxMessageSize }),
  iopub: new zmq.Publisher({ linger: 1000 }),
  hb: new zmq.Reply({ linger: 0, maxMessageSize: 1024 * 1024 }), // pings are a few bytes
};
await Promise.all([
  bound.shell.bind(endpoint(conn.shell_port)),
  bound.control.bind(endpoint(conn.control_port)),
  bound.stdin.bind(endpoint(conn.stdin_port)),
  bound.iopub.bind(endpoint(conn.iopub_port)),
  bound.hb.bind(endpoint(conn.hb_port)),
]);
sockets = bound;
for (const [msg, ids] of outbox.splice(0)) transmit(msg, ids);

// ---------------------------------------------------------------- in: from the wire
/** Answers a message that cannot reach the core (its sender is known: it has ids). */
function answerMalformed(channel, m) {
  const header = isObject(m.header) ? m.header : {};
  const type = typeof header.msg_type === 'string' ? header.msg_type : null;
  log(`malformed message on ${channel}: ${m.bad}`);
  const content = errorContent('MalformedMessage', `malformed ${type || 'message'}: ${m.bad}`);
  transmit(hostMessage(channel, replyType(type), content, header), m.ids);
}

/**
 * A message over the size limit (its header read, nothing else): a request gets an error reply
 * `MessageTooLarge` (an execute_request also an iopub `error`, shown in the cell); another shell
 * or control message (comm_msg, ...) has no reply in the protocol, so the error goes to iopub
 * stderr. Between status busy and idle with the message as parent, as the core's replies are.
 * The worker never sees it: the kernel's state and memory are untouched.
 */
function answerTooLarge(channel, m) {
  const type = m.header.msg_type;
  const limit = opts.maxMessageBytes;
  const evalue = tooLargeText(type, m.tooLarge, limit);
  log(`${type} on ${channel}: ${m.tooLarge} bytes, over the message size limit (${limit}): not processed`);
  releaseSoon();
  if (channel === 'stdin') return; // an input_reply: nothing can answer it; input() keeps waiting
  transmit(hostMessage('iopub', 'status', { execution_state: 'busy' }, m.header));
  const content = errorContent('MessageTooLarge', evalue);
  if (type.endsWith('_request')) {
    if (type === 'execute_request') {
      transmit(hostMessage('iopub', 'error', { ename: content.ename, evalue: content.evalue, traceback: content.traceback }, m.header));
      content.execution_count = null;
    }
    transmit(hostMessage(channel, replyType(type), content, m.header), m.ids);
  } else {
    transmit(hostMessage('iopub', 'stream', { name: 'stderr', text: `MessageTooLarge: ${evalue}\n` }, m.header));
  }
  transmit(hostMessage('iopub', 'status', { execution_state: 'idle' }, m.header));
}

function deliver(channel, ids, msg) {
  const type = msg.header.msg_type;
  debug(`<- ${channel} ${type}`);
  const routed = type.endsWith('_request');
  if (routed) addRoute(channel, ids, msg.header);
  let handled;
  try {
    handled = controller.send(msg);
  } catch (e) {
    // never reached the worker (a dead kernel, or postMessage refused it): answer it here
    if (routed) takeRoute(msg.header.msg_id, channel);
    log(`cannot hand ${type} to the kernel: ${e.message}`);
    if (routed) {
      const content = errorContent(e.name === 'KernelDiedError' ? 'KernelNotRunning' : 'MalformedMessage', `${type} could not be passed to the kernel: ${e.message}`);
      transmit(hostMessage(channel, replyType(type), content, msg.header), ids);
    }
    return;
  }
  if (handled === false) debug(`${type} on ${channel}: nobody was waiting for it`);
}

async function serve(channel) {
  for await (const frames of sockets[channel]) {
    const m = parseMessage(frames, channel);
    // the suspended loop may keep this array alive until the next message: empty it, so a
    // large message's frames are garbage now
    frames.length = 0;
    if (m.drop) {
      log(`dropped a message on ${channel}: ${m.drop}`);
      continue;
    }
    if (m.tooLarge) {
      answerTooLarge(channel, m);
      continue;
    }
    if (m.bad) {
      if (channel === 'stdin') log(`dropped a message on stdin: ${m.bad}`);
      else answerMalformed(channel, m);
      continue;
    }
    deliver(channel, m.ids, m.msg);
  }
}

async function serveHeartbeat() {
  for await (const frames of sockets.hb) await sockets.hb.send(frames);
}

// ---------------------------------------------------------------- lifetime
function shutdownAndExit(code) {
  if (exitStarted) return;
  exitStarted = true;
  exiting = true;
  // whatever happens below (a send that never completes), the process ends within 1.5 s
  setTimeout(() => process.exit(code), 1500);
  controller.shutdown(); // terminates the worker thread
  // let queued frames reach the wire (linger), then go
  Promise.all(Object.values(tails)).finally(() => {
    for (const s of Object.values(sockets || {})) {
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
setInterval(() => {
  let gone = process.ppid !== START_PPID;
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

debug(`listening (${conn.transport}://${conn.ip}), dist ${opts.dist}`);
for (const [name, run] of [['shell', () => serve('shell')], ['control', () => serve('control')], ['stdin', () => serve('stdin')], ['hb', serveHeartbeat]]) {
  run().catch((e) => {
    if (!exiting) {
      log(`${name} loop failed: ${e.stack || e}`);
      shutdownAndExit(1);
    }
  });
}
