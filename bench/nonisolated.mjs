// Interrupt without cross-origin isolation (issue 11): kite's JupyterLite site (build/site) in
// headless Chromium, the same run, on
//   isolated    served with COOP/COEP (wasm/serve.py): SharedArrayBuffer + Atomics
//   relay[@MS]  served without them (as GitHub Pages does): JupyterLite's service worker relays
//               the worker's synchronous requests to the page (wasm/jupyterlite/src/relay.ts),
//               CPython consults the page every MS ms while a cell runs (default: the worker's)
//   none        served without them, service workers blocked (some private windows): no channel,
//               no polling (the baseline of the polling cost), time.sleep spins
// One browser, one context + notebook per configuration, all open at once; the measures
// alternate between configurations round by round (paired samples):
//   click -> traceback   `while True: pass` (and naive fib(40)) in a notebook cell, a real click
//                        on the toolbar's Interrupt button at a random moment 0.3-0.8 s into
//                        the cell -> "KeyboardInterrupt" in the cell's output (page clock)
//   pystone              pystones/s of bench/pystone.py run in the kernel; polling cost =
//                        relay vs none (same page and server, only the channel differs)
//   CPU in sleep         CPU time of all Chromium processes during `time.sleep(5)`, minus the
//                        same 5 s idle just before, in % of one core
//   1+1                  execute_request -> execute_reply through the page's kernel connection
//   relay round trip     the worker's own account (each poll reports its polls, the ms they
//                        blocked it and its interval): ms per poll, and the share of pystone's
//                        wall time spent blocked in polls (the polling cost, without the noise
//                        of comparing two pystone runs on a machine that does other things)
// Usage: node bench/nonisolated.mjs [--rounds 5] [--interrupts 12] [--intervals 100]
//                                   [--out build/bench/nonisolated.json]
//   --intervals 50,100,200 adds one relay configuration per fixed interval (the cost/latency
//   curve); the plain `relay` configuration uses the worker's default (adaptive) interval.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { stats, machine, writeJson, arg, sleep, log, fileId } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SITE = process.env.KITE_SITE || path.join(ROOT, 'build/site');
const ROUNDS = +arg('rounds', 5);
const INTERRUPTS = +arg('interrupts', 12);
const INTERVALS = String(arg('intervals', '')).split(',').filter(Boolean).map(Number);
const PYSTONE_LOOPS = +arg('pystone-loops', 200000);
const OUT = arg('out', path.join(ROOT, 'build/bench/nonisolated.json'));
const PY = process.env.KITE_BENCH_PYTHON || path.join(ROOT, '.venv/bin/python');
const SERVE = path.join(ROOT, 'wasm/serve.py');
const CHROMIUM = process.env.KITE_BENCH_CHROMIUM || '/usr/bin/chromium';
const POLL_MS_KEY = 'kite-jupyterlite:relay-poll-ms'; // wasm/jupyterlite/src/relay.ts
const PYSTONE = fs.readFileSync(path.join(ROOT, 'bench/pystone.py'), 'utf8').replace(/\nif __name__ == '__main__':[\s\S]*$/, '\n');

function die(msg) {
  log('FAILED: ' + msg);
  process.exit(1);
}

const servers = [];
function get(url) {
  return new Promise((resolve) => {
    http.get(url, (r) => { r.resume(); resolve(r); }).on('error', () => resolve(null));
  });
}
async function serve(isolation) {
  const p = spawn(PY, [SERVE, SITE, '--port', '0', ...(isolation ? [] : ['--no-isolation']), '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(p);
  const line = await new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    p.on('exit', () => reject(new Error(`wasm/serve.py exited: ${out}`)));
  });
  const url = 'http://' + line.split('http://')[1].split(/\s/)[0];
  const r = await get(url + 'index.html');
  const coop = r && r.headers['cross-origin-opener-policy'];
  if (isolation !== (coop === 'same-origin')) die(`unexpected isolation headers from ${url} (COOP ${coop})`);
  return url;
}
process.on('exit', () => { for (const p of servers) p.kill(); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- CPU time of the browser's processes (/proc, clock ticks): chrom* below rootPid ----------
const HZ = 100;
// {total, threads: Map(name -> ticks)} over the threads of chrom* processes below rootPid
function cpuTicks(rootPid) {
  const procs = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      procs.set(+d, { ppid: +f[1], chrome: /chrom/i.test(comm) });
    } catch {
      // gone
    }
  }
  const out = { total: 0, threads: new Map() };
  for (const [pid, p] of procs) {
    if (!p.chrome) continue;
    let mine = false;
    for (let q = p.ppid, hops = 0; q && hops < 20; q = procs.get(q)?.ppid, hops++) {
      if (q === rootPid) {
        mine = true;
        break;
      }
    }
    if (!mine) continue;
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const s = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        const ticks = +f[11] + +f[12];
        out.total += ticks;
        const key = `${pid}/${t}/${name}`;
        out.threads.set(key, ticks);
      } catch {
        // gone
      }
    }
  }
  return out;
}

// CPU (% of one core) between two cpuTicks snapshots: all, and the worker threads
// (Chromium names a dedicated worker's thread "DedicatedWorker thread", a service worker's
// "ServiceWorker thread"; the page's own main thread is not counted there)
function cpuPct(a, b, seconds) {
  const workers = { total: 0, dedicated: 0, service: 0 };
  const top = [];
  for (const [key, ticks] of b.threads) {
    const d = ticks - (a.threads.get(key) ?? ticks);
    if (d <= 0) continue;
    top.push([key.split('/').slice(2).join('/'), d]);
    if (/DedicatedWorker/i.test(key)) workers.dedicated += d;
    if (/ServiceWorker/i.test(key)) workers.service += d;
  }
  const pct = (t) => (100 * t) / HZ / seconds;
  return {
    all: pct(b.total - a.total),
    dedicated: pct(workers.dedicated),
    service: pct(workers.service),
    top: top.sort((x, y) => y[1] - x[1]).slice(0, 6).map(([k, d]) => [k, +pct(d).toFixed(1)]),
  };
}

// ---- a kite notebook per configuration -----------------------------------------------------------
async function openConfig(browser, cfg) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: cfg.sw ? 'allow' : 'block' });
  await ctx.addInitScript(({ key, ms }) => {
    try {
      if (ms) localStorage.setItem(key, String(ms));
      else localStorage.removeItem(key);
    } catch {
      // no storage
    }
    // the relay's traffic as the page sees it: the service worker's broadcasts (requests) and
    // kite's answers, on the same BroadcastChannel (relay.ts)
    window.__relay = { polls: [], served: new Map(), serveMs: [] };
    try {
      const bc = new BroadcastChannel('/sw-api.v1');
      bc.onmessage = (e) => {
        const m = e.data || {};
        const now = performance.now();
        if (m.data && m.data.op) {
          if (m.data.op === 'poll') window.__relay.polls.push([now, m.data.polls, m.data.blocked_ms, m.data.interval_ms]);
          window.__relay.served.set(m.requestId, now);
        } else if (m.response && window.__relay.served.has(m.requestId)) {
          window.__relay.serveMs.push(now - window.__relay.served.get(m.requestId));
          window.__relay.served.delete(m.requestId);
        }
      };
    } catch {
      // no BroadcastChannel
    }
  }, { key: POLL_MS_KEY, ms: cfg.interval || null });
  const page = await ctx.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  await page.goto(cfg.url + 'lab/index.html');
  const card = page.locator('.jp-LauncherCard[data-category="Notebook"][title="Python 3.11 (kite)"]');
  await card.first().waitFor({ timeout: 90000 });
  await card.first().click();
  await page.waitForFunction(() => {
    const el = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
    return el && el.getAttribute('data-status') === 'idle' && window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
  }, null, { timeout: 90000, polling: 50 });
  const r = await execute(page, '1+1');
  if (r.result !== '2') throw new Error(`${cfg.name}: 1+1 gave ${JSON.stringify(r)}`);
  await execute(page, PYSTONE);
  const channel = consoleLines.find((l) => l.includes('interrupt channel:')) || '';
  return { ...cfg, ctx, page, console: consoleLines, channelLine: channel.replace(/^.*?interrupt channel:/, 'interrupt channel:').slice(0, 200) };
}

/** Runs `code` through the notebook's kernel connection; {ms, result, error, stdout, status}. */
function execute(page, code) {
  return page.evaluate(async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const t0 = performance.now();
    const future = kernel.requestExecute({ code, store_history: false });
    let result = null;
    let error = null;
    const stdout = [];
    future.onIOPub = (msg) => {
      const t = msg.header.msg_type;
      if (t === 'execute_result') result = msg.content.data['text/plain'];
      else if (t === 'error') error = `${msg.content.ename}: ${msg.content.evalue}`;
      else if (t === 'stream') stdout.push(msg.content.text);
    };
    const reply = await future.done;
    return { ms: performance.now() - t0, result, error, stdout: stdout.join(''), status: reply.content.status };
  }, code);
}

async function typeCell(page, code) {
  await page.locator('.jp-NotebookPanel .jp-Cell .cm-content').last().click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.insertText(code);
  await page.keyboard.press('Shift+Enter');
}

// click on Interrupt -> "KeyboardInterrupt" in the running cell's output (page clock, ms)
async function clickToTraceback(page, code) {
  const cellsBefore = await page.locator('.jp-NotebookPanel .jp-Cell').count();
  await typeCell(page, code);
  await page.waitForSelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="busy"]', { timeout: 10000 });
  await sleep(300 + Math.random() * 500); // a random phase against the poll interval
  await page.evaluate((index) => {
    const probe = (window.__probe = { click: null, seen: null });
    const button = document.querySelector('.jp-NotebookPanel [data-command="notebook:interrupt-kernel"]');
    button.addEventListener('pointerdown', () => (probe.click ??= performance.now()), { capture: true, once: true });
    const cell = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[index];
    const obs = new MutationObserver(() => {
      if (probe.seen === null && cell.querySelector('.jp-OutputArea')?.textContent.includes('KeyboardInterrupt')) {
        probe.seen = performance.now();
        obs.disconnect();
      }
    });
    obs.observe(cell, { subtree: true, childList: true, characterData: true });
  }, cellsBefore - 1);
  await page.locator('.jp-NotebookPanel [data-command="notebook:interrupt-kernel"]').first().click();
  await page.waitForFunction(() => window.__probe.seen !== null, null, { timeout: 10000, polling: 20 });
  const p = await page.evaluate(() => window.__probe);
  await page.waitForSelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 10000 });
  return p.seen - p.click;
}

async function main() {
  if (!fs.existsSync(path.join(SITE, 'extensions/kite-jupyterlite/static/kite/kite.wasm'))) die(`no site at ${SITE} (make site)`);
  if (!fs.existsSync(CHROMIUM)) die(`${CHROMIUM} missing`);
  const isolatedUrl = await serve(true);
  const plainUrl = await serve(false);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // the Chromium processes are descendants of this node process (so are the two servers, whose
  // processes are not counted: cpuTicks counts processes named chrom* only)
  const rootPid = process.pid;
  const defs = [
    { name: 'isolated', url: isolatedUrl, sw: true },
    { name: 'relay', url: plainUrl, sw: true },
    ...INTERVALS.map((ms) => ({ name: `relay@${ms}`, url: plainUrl, sw: true, interval: ms })),
    { name: 'none', url: plainUrl, sw: false },
  ];
  const result = { machine_before: machine(), chromium: browser.version(), rounds: ROUNDS, interrupts: INTERRUPTS, pystone_loops: PYSTONE_LOOPS,
    kite_wasm: await fileId(path.join(SITE, 'extensions/kite-jupyterlite/static/kite/kite.wasm')), configs: {} };
  const pages = [];
  for (const d of defs) {
    const c = await openConfig(browser, d);
    log(`${c.name}: ${c.channelLine}`);
    pages.push(c);
    result.configs[c.name] = { channel: c.channelLine, one_plus_one_ms: [], pystone: [], cpu_sleep_pct: [], cpu_idle_pct: [], sleep_ms: [], interrupt_loop_ms: [], interrupt_fib_ms: [] };
  }
  const polled = (c) => c.sw;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...pages].reverse() : pages;
    for (const c of order) {
      const R = result.configs[c.name];
      // 1+1 (x10)
      for (let i = 0; i < 10; i++) R.one_plus_one_ms.push((await execute(c.page, '1+1')).ms);
      // pystone
      await c.page.evaluate(() => { window.__relay.polls = []; window.__relay.serveMs = []; });
      const ps = await execute(c.page, `pystones(${PYSTONE_LOOPS})[1]`);
      R.pystone.push(Number(ps.result));
      const relay = await c.page.evaluate(() => ({ polls: window.__relay.polls, serveMs: window.__relay.serveMs }));
      (R.poll_gaps_ms ??= []).push(...relay.polls.slice(1).map((p, i) => p[0] - relay.polls[i][0]));
      (R.poll_intervals_ms ??= []).push(...relay.polls.map((p) => p[3]).filter((x) => typeof x === 'number'));
      if (relay.polls.length > 1) {
        // the worker's own account (worker.js): polls made and ms blocked in them, cumulative
        const [a, b] = [relay.polls[0], relay.polls.at(-1)];
        (R.poll_windows ??= []).push({ wall_ms: b[0] - a[0], polls: b[1] - a[1], blocked_ms: b[2] - a[2] });
      }
      (R.page_serve_ms ??= []).push(...relay.serveMs);
      // CPU: 5 s idle, then time.sleep(5)
      {
        let a = cpuTicks(rootPid);
        let w0 = Date.now();
        await sleep(5000);
        const idle = cpuPct(a, cpuTicks(rootPid), (Date.now() - w0) / 1000);
        a = cpuTicks(rootPid);
        w0 = Date.now();
        const s = await execute(c.page, 'import time; time.sleep(5)');
        const busy = cpuPct(a, cpuTicks(rootPid), (Date.now() - w0) / 1000);
        R.cpu_idle_pct.push(idle.all);
        R.cpu_sleep_pct.push(busy.all - idle.all);
        (R.cpu_sleep_worker_threads_pct ??= []).push(busy.dedicated + busy.service);
        (R.cpu_sleep_top_threads ??= []).push(busy.top);
        R.sleep_ms.push(s.ms);
      }
      // click -> traceback
      if (polled(c)) {
        const n = Math.ceil(INTERRUPTS / ROUNDS);
        for (let i = 0; i < n; i++) R.interrupt_loop_ms.push(await clickToTraceback(c.page, 'while True:\n    pass'));
        R.interrupt_fib_ms.push(await clickToTraceback(c.page, 'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nfib(40)'));
      }
      log(`round ${round + 1}/${ROUNDS} ${c.name}: pystone ${R.pystone.at(-1).toFixed(0)}/s, 1+1 ${stats(R.one_plus_one_ms.slice(-10)).median.toFixed(1)} ms, ` +
        `sleep CPU ${R.cpu_sleep_pct.at(-1)?.toFixed(1)} %, interrupt ${R.interrupt_loop_ms.slice(-3).map((x) => x.toFixed(0)).join(' ')} ms`);
    }
  }
  await browser.close();
  result.machine_after = machine();
  const summary = {};
  const base = result.configs.none.pystone;
  for (const [name, R] of Object.entries(result.configs)) {
    summary[name] = {
      channel: R.channel,
      click_to_traceback_loop_ms: stats(R.interrupt_loop_ms),
      click_to_traceback_fib_ms: stats(R.interrupt_fib_ms),
      pystone_per_s: stats(R.pystone),
      // paired by round: (none - this) / none
      polling_cost_pct: stats(R.pystone.map((v, i) => 100 * (base[i] - v) / base[i])),
      cpu_during_sleep_pct_of_core: stats(R.cpu_sleep_pct),
      cpu_idle_pct_of_core: stats(R.cpu_idle_pct),
      // the kernel's worker thread + the service worker's thread (both renderer-side threads)
      cpu_during_sleep_worker_threads_pct_of_core: stats(R.cpu_sleep_worker_threads_pct || []),
      sleep_5s_ms: stats(R.sleep_ms),
      one_plus_one_ms: stats(R.one_plus_one_ms),
      polls_per_pystone_run: R.poll_gaps_ms ? (R.poll_gaps_ms.length / ROUNDS + 1) : 0,
      // the poll interval the worker used (fixed by the page, or adaptive: worker.js)
      poll_interval_ms: stats(R.poll_intervals_ms || []),
      // time between two polls seen by the page (interval + round trip + the getter's granularity)
      poll_period_ms: stats(R.poll_gaps_ms || []),
      // what the worker measured itself while pystone ran: time blocked in polls / wall time
      poll_blocked_share_pct: R.poll_windows ? stats(R.poll_windows.map((w) => (100 * w.blocked_ms) / w.wall_ms)) : null,
      poll_blocked_ms_per_poll: R.poll_windows ? stats(R.poll_windows.map((w) => w.blocked_ms / Math.max(1, w.polls))) : null,
      // best of the rounds against the best of 'none' (less sensitive to other load on the machine)
      polling_cost_best_pct: 100 * (Math.max(...base) - Math.max(...R.pystone)) / Math.max(...base),
      page_serve_ms: stats(R.page_serve_ms || []),
    };
    for (const v of Object.values(summary[name])) if (v && typeof v === 'object') delete v.samples;
  }
  result.summary = summary;
  writeJson(OUT, result);
  console.log(JSON.stringify(summary, null, 1));
  log(`results: ${OUT}`);
  process.exit(0);
}

main().catch((e) => {
  log(e.stack);
  process.exit(1);
});
