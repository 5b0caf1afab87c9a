// Part 1: the raw runtimes in Node worker_threads, in one process, interleaved:
//   kite  = build/wasm/dist/worker.js (the project's worker, unchanged) + kite.js/kite.wasm
//   pyodide = npm `pyodide` (pinned in bench/package.json) in bench/pyodide-worker.mjs
//   native = /usr/bin/python3.11 (Debian's CPython 3.11.2) for the throughput ceiling
// Measures: cold start to the first result; interrupt latency (main thread's write to the
// buffer -> the error result back in the main thread) for `while True: pass`, recursive fib,
// time.sleep and a backtracking regex; CPU used during time.sleep(5); interrupt-polling cost
// (same module, signal buffer installed vs not); pystone throughput.
// Usage: node bench/node_raw.mjs [--out build/bench/node_raw.json] [--only kite|pyodide] [--quick]
//        node bench/node_raw.mjs --cold kite|pyodide     (internal: one cold start, prints JSON)
import { Worker } from 'node:worker_threads';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stats, ratio, machine, writeJson, arg, sleep, log, fileId } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const DIST = process.env.KITE_DIST || path.join(ROOT, 'build/wasm/dist');
const NATIVE = process.env.KITE_BENCH_NATIVE_PYTHON || '/usr/bin/python3.11';
const QUICK = process.argv.includes('--quick');
const OUT = arg('out', path.join(ROOT, 'build/bench/node_raw.json'));
const ONLY = arg('only', null);
const PYSTONE = fs.readFileSync(path.join(HERE, 'pystone.py'), 'utf8').replace(/\nif __name__ == '__main__':[\s\S]*$/, '\n');
const now = () => performance.now();
// 'pyodide' is the comparison runtime; 'pyodide023' (npm pyodide 0.23.4, CPython 3.11.2, the same
// interpreter version as kite) is an extra throughput reference only
const PYODIDE_PKG = { pyodide: 'pyodide', pyodide023: 'pyodide-0.23' };

function die(msg) { log('FAILED: ' + msg); process.exit(1); }

// ---------------------------------------------------------------- runtimes
// A runtime: start() -> ready; run(code) -> {ok, ename, value, t_recv}; i32 (the buffer) or null.
// kite's worker speaks whole Jupyter messages (DEVELOPERS.md "Worker messages"); its buffer
// layout comes from dist/controller.js (wasm/js/buffer-layout.json). Pyodide's worker: index 0.
let KITE_LAYOUT = null;
async function kiteLayout() {
  if (!KITE_LAYOUT) KITE_LAYOUT = (await import(path.join(DIST, 'controller.js'))).LAYOUT;
  return KITE_LAYOUT;
}

class Runtime {
  constructor(kind, { buffer = true } = {}) {
    this.kind = kind;
    this.buffer = buffer;
    this.signalAt = 0;
    this.nextId = 1; // kite: also the seq of the message in the worker (one message per run)
    this.pending = new Map();
    this.current = null;
  }

  async start() {
    const t0 = now();
    const layout = this.kind === 'kite' ? await kiteLayout() : null;
    const bytes = layout ? layout.INPUT_OFFSET + layout.INPUT_CAPACITY : 16 + 65536;
    this.sab = this.buffer ? new SharedArrayBuffer(bytes) : null;
    this.i32 = this.sab ? new Int32Array(this.sab) : null;
    if (layout) this.signalAt = layout.SIGNAL;
    if (this.kind === 'kite') {
      const { nodeWorkerFactory } = await import(path.join(ROOT, 'wasm/node/worker-factory.js'));
      this.handle = nodeWorkerFactory(path.join(DIST, 'worker.js'))();
      this.worker = this.handle.thread;
    } else {
      this.worker = new Worker(path.join(HERE, 'pyodide-worker.mjs'));
    }
    const ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m) => {
        if (m.type === 'ready') resolve(m);
        else this.onMessage(m, reject);
      });
      this.worker.on('error', reject);
    });
    this.worker.postMessage(this.kind === 'kite'
      ? { type: 'init', buffer: this.sab, baseUrl: DIST, config: null, layout }
      : { type: 'init', buffer: this.sab, pkg: PYODIDE_PKG[this.kind] });
    this.ready = await ready;
    this.start_ms = now() - t0;
    return this;
  }

  onMessage(m, reject) {
    const t = now();
    if (m.type === 'fatal') { for (const p of this.pending.values()) p.reject(new Error(m.message)); reject(new Error(m.message)); return; }
    if (this.kind === 'kite') {
      if (m.type !== 'message') return;
      const p = this.pending.get(m.msg.parent_header && m.msg.parent_header.msg_id);
      if (!p) return;
      const type = m.msg.header.msg_type;
      if (type === 'execute_result') p.value = m.msg.content.data['text/plain'];
      if (type === 'execute_reply') {
        this.pending.delete(m.msg.parent_header.msg_id);
        const c = m.msg.content;
        p.resolve({ ok: c.status === 'ok', ename: c.ename, value: p.value, t_recv: t });
      }
    } else if (m.type === 'done') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p.resolve({ ok: m.ok, ename: m.ename, value: m.value, t_recv: t, t_end_abs: m.t_end, message: m.message });
    }
  }

  run(code) {
    const id = this.nextId++;
    if (this.i32) Atomics.store(this.i32, this.signalAt, 0); // a stale signal must not hit this run
    if (this.i32 && this.kind === 'kite') Atomics.store(this.i32, KITE_LAYOUT.TARGET, id); // the interrupt contract
    return new Promise((resolve, reject) => {
      const p = { resolve, reject, value: undefined };
      this.current = p;
      if (this.kind === 'kite') {
        const msg_id = `bench-${id}`;
        this.pending.set(msg_id, p);
        this.worker.postMessage({ type: 'message', msg: {
          channel: 'shell',
          header: { msg_id, msg_type: 'execute_request', session: 'bench', username: 'bench', date: new Date().toISOString(), version: '5.3' },
          parent_header: {}, metadata: {}, buffers: [],
          content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: false } } });
      } else {
        this.pending.set(id, p);
        this.worker.postMessage({ type: 'run', id, code });
      }
    });
  }

  // returns the main thread's time of the write
  interrupt() {
    const t = now();
    Atomics.store(this.i32, this.signalAt, 2);
    Atomics.notify(this.i32, this.signalAt);
    return t;
  }

  async value(code) {
    const r = await this.run(code);
    if (!r.ok) throw new Error(`${this.kind}: ${code.slice(0, 60)} failed: ${r.ename} ${r.message || ''}`);
    return r.value;
  }

  async num(code) { return parseFloat(String(await this.value(code))); }

  terminate() { return this.worker.terminate(); }
}

async function startRuntime(kind, opts) {
  return new Runtime(kind, opts).start();
}

// ---------------------------------------------------------------- cold start
// In a fresh process: `node node_raw.mjs --cold KIND` prints {ms} = process start -> 1+1 result.
async function coldChild(kind) {
  const t0 = now(); // performance.now() counts from process start (timeOrigin)
  const rt = await startRuntime(kind, {});
  const v = await rt.value('1+1');
  const t1 = now();
  if (String(v) !== '2') die(`${kind}: 1+1 gave ${v}`);
  process.stdout.write(JSON.stringify({ ms: t1, worker_ms: t1 - t0, ready_ms: rt.start_ms, ready: rt.ready }) + '\n');
  await rt.terminate();
  process.exit(0);
}

function coldProcess(kind) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--cold', kind], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ spawn_to_result_ms: now() - t0, ...JSON.parse(out.split('\n')[0]) });
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => { if (code) reject(new Error(`cold ${kind} exited ${code}: ${err.slice(-500)}`)); });
  });
}

async function coldStart(kinds, reps) {
  const res = {};
  for (const k of kinds) res[k] = { fresh_process_ms: [], new_worker_ms: [], worker_ready: [] };
  for (let i = 0; i < reps; i++) {
    const order = i % 2 ? [...kinds].reverse() : kinds;
    for (const k of order) {
      const r = await coldProcess(k);
      res[k].fresh_process_ms.push(r.spawn_to_result_ms);
      const t0 = now();
      const rt = await startRuntime(k, {});
      const v = await rt.value('1+1');
      res[k].new_worker_ms.push(now() - t0);
      res[k].worker_ready.push({ startup_ms: rt.ready.startup_ms, timings: rt.ready.timings });
      if (String(v) !== '2') die(`${k}: 1+1 gave ${v}`);
      await rt.terminate();
      log(`cold start ${i + 1}/${reps} ${k}: fresh process ${r.spawn_to_result_ms.toFixed(0)} ms, new worker ${res[k].new_worker_ms.at(-1).toFixed(0)} ms`);
    }
  }
  return res;
}

// ---------------------------------------------------------------- interrupts
const FIB = 'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n';
const CASES = {
  while_true: { setup: '', code: 'while True: pass' },
  fib: { setup: FIB, code: 'fib(40)' },
  sleep: { setup: 'import time', code: 'time.sleep(600)', pyodide_code: 'time.sleep(3)' },
  regex: { setup: 'import re', code: "re.match(r'(a+)+$', 'a' * 40 + 'b')" },
};

async function interruptCase(kind, name, reps, timeoutMs) {
  const c = CASES[name];
  const code = (kind === 'pyodide' && c.pyodide_code) || c.code;
  let rt = await startRuntime(kind, {});
  if (c.setup) await rt.value(c.setup);
  const out = { code, latency_ms: [], outcomes: [], timeout_ms: timeoutMs };
  let misses = 0;
  for (let i = 0; i < reps; i++) {
    const p = rt.run(code);
    await sleep(30 + Math.random() * 100);
    const tW = rt.interrupt();
    const r = await Promise.race([p, sleep(timeoutMs).then(() => null)]);
    if (r === null) {
      out.latency_ms.push(null);
      out.outcomes.push(`still running ${timeoutMs} ms after the write (worker terminated)`);
      misses++;
      await rt.terminate();
      if (misses >= 2) break; // it does not interrupt: recorded, stop spending time
      rt = await startRuntime(kind, {});
      if (c.setup) await rt.value(c.setup);
      continue;
    }
    const lat = r.t_recv - tW;
    if (r.ok) {
      out.latency_ms.push(null);
      out.outcomes.push(`completed normally ${lat.toFixed(0)} ms after the write (not interrupted)`);
      (out.completed_after_ms ||= []).push(lat);
      misses++;
      if (misses >= 2 && kind === 'pyodide') break;
    } else if (r.ename === 'KeyboardInterrupt') {
      out.latency_ms.push(lat);
      out.outcomes.push('KeyboardInterrupt');
      // a late KeyboardInterrupt after the sleep ran its course is no interrupt of the sleep
      if (name === 'sleep' && kind === 'pyodide') out.outcomes[out.outcomes.length - 1] = `KeyboardInterrupt ${lat.toFixed(0)} ms after the write`;
    } else {
      out.latency_ms.push(null);
      out.outcomes.push(`error ${r.ename}`);
    }
  }
  await rt.terminate();
  const tally = {};
  for (const o of out.outcomes) { const k = o.replace(/\d+ ms/, 'N ms'); tally[k] = (tally[k] || 0) + 1; }
  out.tally = tally;
  out.stats = stats(out.latency_ms);
  log(`interrupt ${kind} ${name}: median ${out.stats.median?.toFixed(2)} ms max ${out.stats.max?.toFixed(2)} (${JSON.stringify(tally)})`);
  return out;
}

// ---------------------------------------------------------------- CPU during sleep
async function cpuDuringSleep(kind, reps, seconds) {
  const rt = await startRuntime(kind, {});
  await rt.value('import time');
  const out = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = now();
    await rt.value(`time.sleep(${seconds})`);
    const wall = now() - t0;
    const c = process.cpuUsage(c0);
    out.push(((c.user + c.system) / 1000) / wall * 100);
  }
  await rt.terminate();
  log(`cpu during sleep(${seconds}) ${kind}: ${out.map((x) => x.toFixed(1)).join(' ')} % of a core`);
  return stats(out);
}

// ---------------------------------------------------------------- polling overhead
const WORK = {
  loop: {
    setup: 'import time\ndef loop(n):\n    x = 0\n    i = 0\n    while i < n:\n        x += i\n        i += 1\n    return x\n',
    code: (n) => `t = time.perf_counter(); loop(${n}); time.perf_counter() - t`,
    n: QUICK ? 300000 : 4000000,
  },
  calls: {
    setup: 'import time\n' + FIB,
    code: (n) => `t = time.perf_counter(); fib(${n}); time.perf_counter() - t`,
    n: QUICK ? 22 : 28,
  },
};

async function pollingOverhead(kind, reps) {
  const on = await startRuntime(kind, { buffer: true });
  const off = await startRuntime(kind, { buffer: false });
  const res = {};
  for (const [name, w] of Object.entries(WORK)) {
    await on.value(w.setup); await off.value(w.setup);
    // warm-up until both runtimes run at a steady speed (the optimising compile is done)
    for (const rt of [on, off]) {
      let prev = Infinity;
      for (let i = 0; i < 12; i++) {
        const t = await rt.num(w.code(w.n));
        if (Math.abs(t - prev) / t < 0.03) break;
        prev = t;
      }
    }
    const a = [], b = [];
    for (let i = 0; i < reps; i++) {
      if (i % 2) { b.push(await off.num(w.code(w.n))); a.push(await on.num(w.code(w.n))); }
      else { a.push(await on.num(w.code(w.n))); b.push(await off.num(w.code(w.n))); }
    }
    const r = ratio(a, b);
    // paired runs (on, off back to back) cancel most of the drift of a busy machine: the cost is
    // the median of the paired ratios
    res[name] = { n: w.n, on_s: stats(a), off_s: stats(b), on_over_off: r, overhead_pct: (r.median - 1) * 100, overhead_pct_of_medians: (r.of_medians - 1) * 100,
      overhead_pct_of_mins: (stats(a).min / stats(b).min - 1) * 100 };
    log(`polling ${kind} ${name}: on ${stats(a).median.toFixed(3)} s off ${stats(b).median.toFixed(3)} s -> ${res[name].overhead_pct.toFixed(1)} %`);
  }
  await on.terminate(); await off.terminate();
  return res;
}

// ---------------------------------------------------------------- pystone
async function pystone(kinds, reps, loops) {
  const rts = {};
  if (kinds.includes('pyodide')) kinds = [...kinds, 'pyodide023'];
  for (const k of kinds) {
    rts[k] = await startRuntime(k, {});
    await rts[k].value(PYSTONE);
    await rts[k].value(`pystones(${Math.floor(loops / 5)})[1]`); // warm-up
  }
  const res = {};
  for (const k of [...kinds, 'native']) res[k] = [];
  for (let i = 0; i < reps; i++) {
    for (const k of kinds) res[k].push(await rts[k].num(`pystones(${loops})[1]`));
    const outp = execFileSync(NATIVE, [path.join(HERE, 'pystone.py'), String(loops)], { encoding: 'utf8' });
    res.native.push(parseFloat(outp.trim().split(/\s+/)[1]));
  }
  for (const k of kinds) await rts[k].terminate();
  log(`pystone: ${Object.entries(res).map(([k, v]) => `${k} ${stats(v).median.toFixed(0)}/s`).join(', ')}`);
  return res;
}

// ---------------------------------------------------------------- main
async function main() {
  const kinds = ONLY ? [ONLY] : ['kite', 'pyodide'];
  if (kinds.includes('kite')) {
    for (const f of ['kite.js', 'kite.wasm', 'kite-stdlib.zip', 'worker.js']) {
      if (!fs.existsSync(path.join(DIST, f))) die(`kite's wasm build is missing ${DIST}/${f} (make wasm)`);
    }
    if (!fs.existsSync(path.join(ROOT, 'wasm/node/worker-factory.js'))) die('wasm/node/worker-factory.js missing');
  }
  if (!fs.existsSync(NATIVE)) die(`${NATIVE} missing (native CPython 3.11 for the throughput ceiling)`);
  const nativeVersion = execFileSync(NATIVE, ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).trim();
  const R = QUICK ? { cold: 2, int: 5, cpu: 1, poll: 3, pystone: 2 } : { cold: 5, int: 20, cpu: 3, poll: 25, pystone: 5 };
  const result = { machine_before: machine(), reps: R, versions: { native: nativeVersion }, kite_wasm: await fileId(path.join(DIST, 'kite.wasm')) };
  for (const k of kinds.includes('pyodide') ? [...kinds, 'pyodide023'] : kinds) {
    const rt = await startRuntime(k, {});
    result.versions[k] = String(await rt.value('import sys; sys.version.split()[0]')).replace(/'/g, '');
    if (k.startsWith('pyodide')) result.versions[k + '_npm'] = rt.ready.version;
    await rt.terminate();
  }
  log(`versions: ${JSON.stringify(result.versions)}`);

  result.cold_start = await coldStart(kinds, R.cold);

  result.interrupt = {};
  for (const k of kinds) {
    result.interrupt[k] = {};
    for (const name of Object.keys(CASES)) {
      const timeout = k === 'pyodide' ? (name === 'sleep' ? 6000 : 3000) : 5000;
      const reps = k === 'pyodide' && name === 'sleep' ? Math.min(3, R.int) : R.int;
      result.interrupt[k][name] = await interruptCase(k, name, reps, timeout);
    }
  }

  result.cpu_during_sleep_pct = {};
  for (const k of kinds) result.cpu_during_sleep_pct[k] = await cpuDuringSleep(k, R.cpu, 5);

  result.polling_overhead = await pollingProcess(kinds, R.poll);
  result.polling_overhead.v8_flags = '--no-wasm-dynamic-tiering';

  const ps = await pystone(kinds, R.pystone, QUICK ? 20000 : 100000);
  result.pystone_per_s = Object.fromEntries(Object.entries(ps).map(([k, v]) => [k, stats(v)]));
  result.pystone_ratios = {};
  if (ps.kite && ps.pyodide) result.pystone_ratios.kite_over_pyodide = ratio(ps.kite, ps.pyodide);
  if (ps.kite) result.pystone_ratios.kite_over_native = ratio(ps.kite, ps.native);
  if (ps.pyodide) result.pystone_ratios.pyodide_over_native = ratio(ps.pyodide, ps.native);
  if (ps.kite && ps.pyodide023) result.pystone_ratios.kite_over_pyodide023 = ratio(ps.kite, ps.pyodide023);

  // summary
  const cs = result.cold_start;
  result.summary = { cold_start: {}, interrupt_ms: {}, cpu_during_sleep_pct: result.cpu_during_sleep_pct };
  for (const k of kinds) {
    result.summary.cold_start[k] = { fresh_process_ms: stats(cs[k].fresh_process_ms), new_worker_ms: stats(cs[k].new_worker_ms) };
    result.summary.interrupt_ms[k] = Object.fromEntries(Object.entries(result.interrupt[k]).map(([n, v]) => [n, { ...v.stats, tally: v.tally }]));
  }
  if (cs.kite && cs.pyodide) {
    result.summary.cold_start.ratios_kite_over_pyodide = {
      fresh_process: ratio(cs.kite.fresh_process_ms, cs.pyodide.fresh_process_ms),
      new_worker: ratio(cs.kite.new_worker_ms, cs.pyodide.new_worker_ms),
    };
  }
  result.machine_after = machine();
  writeJson(OUT, result);
  log(`node raw results: ${OUT}`);
  process.exit(0);
}

// The polling cost runs in its own process with V8's dynamic wasm tiering off: with it on, one
// worker's copy of CPython's eval loop can stay in baseline (Liftoff) code far longer than the
// other's, which swamps a few-% difference (seen: "off" 40-65 % slower for 25 pairs in a row).
async function pollingChild(kinds, reps) {
  const res = {};
  for (const k of kinds) res[k] = await pollingOverhead(k, reps);
  process.stdout.write(JSON.stringify(res) + '\n');
  process.exit(0);
}

function pollingProcess(kinds, reps) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--no-wasm-dynamic-tiering', fileURLToPath(import.meta.url), '--polling', kinds.join(','), '--reps', String(reps)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code ? reject(new Error(`polling child exited ${code}`)) : resolve(JSON.parse(out))));
  });
}

if (process.argv.includes('--cold')) coldChild(arg('cold'));
else if (process.argv.includes('--polling')) pollingChild(arg('polling').split(','), +arg('reps'));
else main().catch((e) => { log(e.stack); process.exit(1); });
