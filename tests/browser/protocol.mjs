// The browser protocol driver: raw Jupyter messages to a kite kernel in JupyterLite, no UI.
//
// `installClient(page)` starts a kite kernel through the page's own service manager
// (window.jupyterapp, exposed by the site's `exposeAppInBrowser`) and installs `window.__kiteProto`
// in the page: `send(channel, msgType, content, {metadata, buffers})` posts one hand-built
// message through the kernel connection (JupyterLab's websocket serializer, JupyterLite's
// LiteKernelClient, then KiteKernel.handleMessage: the real path of a notebook's messages) and
// `wait(msgId, {reply})` resolves with everything the kernel sent for it: the reply and the iopub
// messages whose parent is that request, once the status "idle" for it has arrived. Every message
// the connection receives is also kept (`log`), buffers as arrays of byte values.
//
// `protocolChecks(page)` runs the checks of tests/browser/test_lite_protocol.py (execution counts,
// stop_on_error, comms, comm_info, history, unknown requests, interrupts, stdin, parent headers)
// in one kernel and returns what it saw; the test asserts.

/** Runs in the page (serialized by page.evaluate): the in-page client. */
async function pageClient(kernelName) {
  const app = window.jupyterapp;
  if (!app) {
    throw new Error('window.jupyterapp missing (exposeAppInBrowser)');
  }
  await app.started;
  const t0 = performance.now();
  const kernel = await app.serviceManager.kernels.startNew({ name: kernelName });
  const log = [];
  const bytes = b => Array.from(new Uint8Array(b.buffer ?? b, b.byteOffset ?? 0, b.byteLength));
  kernel.anyMessage.connect((_, { msg, direction }) => {
    log.push({
      direction,
      channel: msg.channel,
      msg_type: msg.header.msg_type,
      msg_id: msg.header.msg_id,
      parent_id: msg.parent_header?.msg_id ?? null,
      parent_type: msg.parent_header?.msg_type ?? null,
      header: msg.header,
      parent_header: msg.parent_header,
      metadata: msg.metadata,
      content: msg.content,
      buffers: (msg.buffers ?? []).map(bytes),
      at: performance.now()
    });
  });
  const info = await kernel.info;
  const startMs = performance.now() - t0;
  const uuid = () =>
    globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;

  const proto = {
    kernel,
    log,
    info,
    startMs,
    send(channel, msgType, content = {}, { metadata = {}, buffers = [], date } = {}) {
      const msg = {
        channel,
        header: {
          msg_id: uuid(),
          msg_type: msgType,
          session: kernel.clientId,
          username: kernel.username,
          date: date ?? new Date().toISOString(),
          version: '5.3'
        },
        parent_header: {},
        metadata,
        content,
        buffers: buffers.map(b => new Uint8Array(b).buffer)
      };
      const expectReply = msgType.endsWith('_request');
      const future =
        channel === 'control'
          ? kernel.sendControlMessage(msg, expectReply, false)
          : kernel.sendShellMessage(msg, expectReply, false);
      future.done.catch(() => undefined);
      return msg.header.msg_id;
    },
    async wait(msgId, { reply = true, timeout = 30000 } = {}) {
      const t = performance.now();
      for (;;) {
        const mine = log.filter(m => m.direction === 'recv' && m.parent_id === msgId);
        const gotReply = mine.find(m => m.channel !== 'iopub' && m.msg_type.endsWith('_reply'));
        const idle = mine.find(
          m =>
            m.channel === 'iopub' &&
            m.msg_type === 'status' &&
            m.content.execution_state === 'idle'
        );
        if (idle && (gotReply || !reply)) {
          // let the messages queued right behind the idle arrive (nothing should)
          await new Promise(r => setTimeout(r, 20));
          const all = log.filter(m => m.direction === 'recv' && m.parent_id === msgId);
          return {
            msg_id: msgId,
            reply: all.find(m => m.channel !== 'iopub' && m.msg_type.endsWith('_reply')) ?? null,
            iopub: all.filter(m => m.channel === 'iopub'),
            statuses: all
              .filter(m => m.channel === 'iopub' && m.msg_type === 'status')
              .map(m => m.content.execution_state)
          };
        }
        if (performance.now() - t > timeout) {
          throw new Error(
            `no ${reply ? 'reply + ' : ''}idle for ${msgId} within ${timeout} ms; got ` +
              JSON.stringify(mine.map(m => `${m.channel}:${m.msg_type}`))
          );
        }
        await new Promise(r => setTimeout(r, 5));
      }
    },
    async request(channel, msgType, content = {}, options = {}) {
      return proto.wait(proto.send(channel, msgType, content, options), {
        reply: msgType.endsWith('_request')
      });
    },
    execute(code, options = {}) {
      return proto.request('shell', 'execute_request', {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
        ...options
      });
    }
  };
  window.__kiteProto = proto;
  return { startMs, protocol_version: info.protocol_version, implementation: info.implementation };
}

export async function installClient(page, kernelName = 'kite') {
  return page.evaluate(pageClient, kernelName);
}

/** Runs in the page: every check, in one kernel. Returns plain data for pytest. */
async function pageChecks() {
  const p = window.__kiteProto;
  const out = {};
  const brief = r => ({
    reply: r.reply && {
      msg_type: r.reply.msg_type,
      content: r.reply.content,
      metadata: r.reply.metadata
    },
    iopub: r.iopub.map(m => ({ msg_type: m.msg_type, content: m.content, buffers: m.buffers })),
    statuses: r.statuses
  });
  const countOf = r => r.reply?.content?.execution_count;
  const countsIn = (r, type) =>
    r.iopub.filter(m => m.msg_type === type).map(m => m.content.execution_count);
  const inputCount = r => countsIn(r, 'execute_input');
  const resultCount = r => countsIn(r, 'execute_result');

  // kernel_info
  out.kernelInfo = brief(await p.request('shell', 'kernel_info_request', {}));

  // execution counts: normal, silent, store_history=False, normal
  const a = await p.execute('1 + 1');
  const silent = await p.execute('kite_silent = 5\nkite_silent * 2', { silent: true });
  const noHistory = await p.execute('3 * 3', { store_history: false });
  const b = await p.execute('kite_silent + 1');
  out.counts = {
    first: {
      reply: countOf(a),
      input: inputCount(a),
      result: resultCount(a),
      status: a.reply.content.status
    },
    silent: { ...brief(silent), input: inputCount(silent) },
    noHistory: {
      ...brief(noHistory),
      input: inputCount(noHistory),
      result: resultCount(noHistory)
    },
    next: {
      reply: countOf(b),
      input: inputCount(b),
      result: resultCount(b),
      data: b.iopub.find(m => m.msg_type === 'execute_result')?.content.data
    }
  };

  // stop_on_error: three executes sent at once, the first raises; then one sent after the error
  const executeContent = code => ({
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true
  });
  const ids = [
    p.send('shell', 'execute_request', executeContent("raise ValueError('kite stop')")),
    p.send('shell', 'execute_request', executeContent("print('second ran')")),
    p.send('shell', 'execute_request', executeContent("print('third ran')"))
  ];
  const aborted = [];
  for (const id of ids) {
    aborted.push(brief(await p.wait(id)));
  }
  const after = await p.execute("print('after the error')");
  out.stopOnError = { results: aborted, after: brief(after) };

  // comms, from the frontend: a target registered through the `comm` package echoes with buffers
  const setup = await p.execute(
    [
      'import comm',
      'kite_comm_log = []',
      'def kite_echo_target(c, open_msg):',
      "    buffers = [bytes(b) for b in open_msg['buffers']]",
      "    kite_comm_log.append(('open', open_msg['content']['data'], buffers))",
      '    @c.on_msg',
      '    def _echo(msg):',
      "        kite_comm_log.append(('msg', msg['content']['data']))",
      "        back = [bytes(b)[::-1] for b in msg['buffers']]",
      "        c.send(data={'echo': msg['content']['data']}, buffers=back)",
      '    @c.on_close',
      '    def _closed(msg):',
      "        kite_comm_log.append(('close',))",
      "    c.send(data={'opened': open_msg['content']['data']}, buffers=buffers)",
      "comm.get_comm_manager().register_target('kite_echo', kite_echo_target)"
    ].join('\n')
  );
  const commId = 'kite-comm-' + Math.random().toString(16).slice(2);
  const opened = await p.request(
    'shell',
    'comm_open',
    { comm_id: commId, target_name: 'kite_echo', data: { hello: 'kite' } },
    { buffers: [[1, 2, 3]] }
  );
  const infoAll = await p.request('shell', 'comm_info_request', {});
  const infoEcho = await p.request('shell', 'comm_info_request', { target_name: 'kite_echo' });
  const infoOther = await p.request('shell', 'comm_info_request', { target_name: 'kite_other' });
  const echoed = await p.request(
    'shell',
    'comm_msg',
    { comm_id: commId, data: { n: 7 } },
    { buffers: [[4, 5, 6, 255], [0]] }
  );
  const closed = await p.request('shell', 'comm_close', { comm_id: commId, data: {} });
  const infoClosed = await p.request('shell', 'comm_info_request', { target_name: 'kite_echo' });
  const pyLog = await p.execute('kite_comm_log');
  // comms, from the kernel: comm.create_comm opens one on the frontend, with a buffer
  p.kernel.registerCommTarget('kite_front', () => undefined);
  const fromKernel = await p.execute(
    "kite_c = comm.create_comm(target_name='kite_front', data={'from': 'python'},\n" +
      "                         buffers=[b'\\x00\\x01\\xfe'])"
  );
  out.comm = {
    setup: brief(setup),
    commId,
    opened: brief(opened),
    infoAll: brief(infoAll),
    infoEcho: brief(infoEcho),
    infoOther: brief(infoOther),
    echoed: brief(echoed),
    closed: brief(closed),
    infoClosed: brief(infoClosed),
    pyLog:
      pyLog.iopub.find(m => m.msg_type === 'execute_result')?.content.data['text/plain'] ?? null,
    fromKernel: brief(fromKernel)
  };

  // history
  await p.execute("kite_hist = 'one'");
  await p.execute("kite_hist += ' two'");
  out.history = brief(
    await p.request('shell', 'history_request', {
      output: false,
      raw: true,
      hist_access_type: 'tail',
      n: 2
    })
  );

  // an unknown request type
  out.unknown = brief(await p.request('shell', 'kite_bogus_request', { x: 1 }));
  out.unknownControl = brief(await p.request('control', 'kite_bogus_request', {}));
  out.stillAlive = brief(await p.execute('6 * 7'));

  // interrupts through the protocol: interrupt_request on control while a cell loops (the reply
  // must not wait for the cell), an execute queued behind it is aborted (stop_on_error), and an
  // interrupt_request while idle does not leak into the next cell
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const loop = p.send('shell', 'execute_request', executeContent('while True:\n    pass'));
  const queued = p.send('shell', 'execute_request', executeContent("print('queued ran')"));
  await sleep(500);
  const tInterrupt = performance.now();
  const interrupt = p.send('control', 'interrupt_request', {});
  const interruptReply = await p.wait(interrupt);
  const interruptReplyMs = performance.now() - tInterrupt;
  const looped = await p.wait(loop);
  const queuedResult = await p.wait(queued);
  const idleInterrupt = await p.request('control', 'interrupt_request', {});
  await sleep(100);
  const afterIdle = await p.execute("import time; time.sleep(0.2); print('not interrupted')");
  out.interrupt = {
    reply: brief(interruptReply),
    replyMs: interruptReplyMs,
    looped: brief(looped),
    queued: brief(queuedResult),
    idleReply: brief(idleInterrupt),
    afterIdle: brief(afterIdle)
  };

  // stdin: input() asks the frontend (input_request on stdin), the input_reply answers it
  const asking = p.send(
    'shell',
    'execute_request',
    { ...executeContent("print('got', input('Name: '))"), allow_stdin: true }
  );
  let request = null;
  for (let i = 0; i < 400 && !request; i++) {
    request = p.log.find(m => m.channel === 'stdin' && m.parent_id === asking) ?? null;
    if (!request) {
      await sleep(25);
    }
  }
  if (request) {
    p.kernel.sendInputReply({ status: 'ok', value: 'kite' }, request.header);
  }
  out.stdin = {
    request: request && { msg_type: request.msg_type, content: request.content },
    result: brief(await p.wait(asking))
  };

  // every iopub message carries the header of the request that caused it
  const sent = new Map(p.log.filter(m => m.direction === 'send').map(m => [m.msg_id, m]));
  const iopub = p.log.filter(m => m.direction === 'recv' && m.channel === 'iopub');
  out.iopubTotal = iopub.length;
  out.orphans = iopub
    .filter(m => !m.parent_id || !sent.has(m.parent_id))
    .map(m => ({ msg_type: m.msg_type, parent_header: m.parent_header, content: m.content }));
  out.parentMismatch = iopub
    .filter(m => m.parent_id && sent.has(m.parent_id))
    .filter(m => {
      const req = sent.get(m.parent_id);
      return (
        m.parent_header.msg_type !== req.msg_type ||
        m.parent_header.session !== req.header.session ||
        m.parent_header.date !== req.header.date
      );
    })
    .map(m => ({ msg_type: m.msg_type, parent_header: m.parent_header }));
  // replies too
  const replies = p.log.filter(m => m.direction === 'recv' && m.channel !== 'iopub');
  out.repliesWithoutParent = replies
    .filter(m => !m.parent_id || !sent.has(m.parent_id))
    .map(m => ({ channel: m.channel, msg_type: m.msg_type, parent_header: m.parent_header }));
  return out;
}

export async function protocolChecks(page) {
  return page.evaluate(pageChecks);
}
