// Part 3: the JupyterLite sites in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): kite's site (build/site) vs the Pyodide-kernel site (build/bench/pyodide-site).
// Both are served by the project's static server (wasm/serve.py, COOP/COEP) on their own ports.
// Per run and per site (order alternates between runs), each in a fresh browser context (empty
// cache):
//   REPL  (repl/index.html?kernel=NAME&toolbar=1): navigation start -> first "Kernel Idle";
//         then `1+1` x5: Shift+Enter keydown -> output "2" in the DOM; bytes downloaded.
//   Lab   (lab/index.html, launcher card -> new notebook, `1+1` to know the kernel is up):
//         17 standard-library imports in one cell, timed inside it (the notebook's directory,
//         JupyterLite's drive, is sys.path[0]: each import searches it first);
//         `while True: pass`, a real mouse click on the toolbar's interrupt button -> "KeyboardInterrupt" in the cell's output (timeout 10 s,
//         then the outcome is recorded as "not interrupted").
// Usage: node bench/browser.mjs [--runs 5] [--interrupts 5] [--out build/bench/browser.json]
//                               [--only kite|pyodide]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { stats, ratio, machine, writeJson, arg, sleep, log, fileId } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = +arg('runs', 5);
const INTERRUPTS = +arg('interrupts', 5);
const OUT = arg('out', path.join(ROOT, 'build/bench/browser.json'));
const ONLY = arg('only', null);
const INTERRUPT_TIMEOUT_MS = +arg('interrupt-timeout', 10000);
// modules neither kernel loads at start-up (the cell reports how many it had: PRELOADED)
const IMPORTS = 'colorsys, netrc, wave, mailbox, tomllib, graphlib, zipapp, tabnanny, filecmp, fileinput, sched, pickletools, quopri, symtable, pyclbr, modulefinder, getopt';
const IMPORTS_CELL = `import sys, time; _pre = sum(m in sys.modules for m in '${IMPORTS}'.split(', ')); _t = time.perf_counter(); import ${IMPORTS}; print('IMPORTS_MS', round((time.perf_counter() - _t) * 1000, 1), 'PRELOADED', _pre)`;
const PY = process.env.KITE_BENCH_PYTHON || path.join(ROOT, '.venv/bin/python');
const SERVE = process.env.KITE_BENCH_SERVE || path.join(ROOT, 'wasm/serve.py');
const CHROMIUM = process.env.KITE_BENCH_CHROMIUM || '/usr/bin/chromium';

const SITES = {
  kite: {
    dir: path.join(ROOT, 'build/site'), port: 8931, kernel: 'kite', card: /kite/i,
    // files that exist only because of the kernel (extension bundle, worker, module, stdlib)
    kernelFiles: /kite|worker\.js|controller\.js/i,
  },
  pyodide: {
    dir: path.join(ROOT, 'build/bench/pyodide-site'), port: 8932, kernel: 'python', card: /Pyodide/i,
    kernelFiles: /\/static\/pyodide\/|\/pypi\/|pyodide-kernel-extension/,
  },
};

function die(msg) { log('FAILED: ' + msg); process.exit(1); }

function get(url) {
  return new Promise((resolve) => {
    http.get(url, (r) => { r.resume(); resolve(r); }).on('error', () => resolve(null));
  });
}

const servers = [];
async function serve(site) {
  const p = spawn(PY, [SERVE, site.dir, '--port', String(site.port), '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  servers.push(p);
  for (let i = 0; i < 100; i++) {
    const r = await get(`http://127.0.0.1:${site.port}/index.html`);
    if (r) {
      const coop = r.headers['cross-origin-opener-policy'], coep = r.headers['cross-origin-embedder-policy'];
      if (coop !== 'same-origin' || coep !== 'require-corp') die(`wasm/serve.py does not send COOP/COEP (got ${coop}/${coep})`);
      return;
    }
    if (p.exitCode !== null) die(`wasm/serve.py exited: ${err}`);
    await sleep(100);
  }
  die(`wasm/serve.py did not answer on port ${site.port}: ${err}`);
}
process.on('exit', () => { for (const p of servers) p.kill(); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// In-page watcher: resolves with performance.now() when `count` elements matching `sel` have
// text matching `re` (null after `timeout` ms). Installed before the action it times.
function watchFn({ sel, re, count, timeout }) {
  return new Promise((resolve) => {
    const rx = new RegExp(re);
    const ok = () => [...document.querySelectorAll(sel)].filter((e) => rx.test(e.textContent)).length >= count;
    if (ok()) return resolve(performance.now());
    const obs = new MutationObserver(() => { if (ok()) { obs.disconnect(); clearTimeout(t); resolve(performance.now()); } });
    obs.observe(document.body, { subtree: true, childList: true, characterData: true });
    const t = setTimeout(() => { obs.disconnect(); resolve(null); }, timeout);
  });
}

async function newContext(browser, site) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const net = { total: 0, kernel: 0, files: {} };
  ctx.on('requestfinished', async (r) => {
    const s = await r.sizes().catch(() => null);
    // a request answered by JupyterLite's service worker is reported twice: once from the
    // worker (its real size) and once from the page (negative size); count positive sizes only
    if (!s || s.responseBodySize <= 0) return;
    net.total += s.responseBodySize;
    const u = new URL(r.url()).pathname;
    if (site.kernelFiles.test(u)) {
      net.kernel += s.responseBodySize;
      net.files[u] = (net.files[u] || 0) + s.responseBodySize;
    }
  });
  await ctx.addInitScript(() => {
    // kernel status transitions of the REPL toolbar, and Shift+Enter keydown times
    window.__status = [];
    window.__runKeys = [];
    let last = null;
    const obs = new MutationObserver(() => {
      const el = document.querySelector('[data-jp-item-name=kernelStatus]');
      const t = el ? el.getAttribute('title') : null;
      if (t !== last) { last = t; window.__status.push([performance.now(), t]); }
    });
    document.addEventListener('DOMContentLoaded', () => obs.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['title'] }));
    window.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.shiftKey) window.__runKeys.push(performance.now()); }, true);
  });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e).slice(0, 300)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text().slice(0, 300)); });
  return { ctx, page, net, errors };
}

async function replRun(browser, name) {
  const site = SITES[name];
  const { ctx, page, net, errors } = await newContext(browser, site);
  const r = { site: name };
  try {
    await page.goto(`http://127.0.0.1:${site.port}/repl/index.html?kernel=${site.kernel}&toolbar=1`);
    await page.waitForFunction(() => window.__status.some((x) => x[1] === 'Kernel Idle'), null, { timeout: 90000, polling: 50 });
    const status = await page.evaluate(() => window.__status);
    r.load_to_idle_ms = status.find((x) => x[1] === 'Kernel Idle')[0];
    r.status = status.map(([t, s]) => [Math.round(t), s]);
    r.crossOriginIsolated = await page.evaluate(() => self.crossOriginIsolated);
    await sleep(300);
    r.one_plus_one_ms = [];
    const input = page.locator('.jp-CodeConsole-input .cm-content');
    for (let i = 0; i < 5; i++) {
      await input.click();
      await page.keyboard.type('1+1');
      const w = page.evaluate(watchFn, { sel: '.jp-CodeConsole-content .jp-OutputArea-output', re: '^\\s*2\\s*$', count: i + 1, timeout: 20000 });
      await page.keyboard.press('Shift+Enter');
      const tOut = await w;
      const tKey = (await page.evaluate(() => window.__runKeys)).at(-1);
      r.one_plus_one_ms.push(tOut == null ? null : tOut - tKey);
      if (i === 0) r.load_to_first_result_ms = tOut;
      await sleep(100);
    }
    await sleep(500);
  } catch (e) {
    r.error = String(e).split('\n')[0];
  }
  r.bytes_total = net.total;
  r.bytes_kernel = net.kernel;
  r.kernel_files = net.files;
  r.page_errors = errors.slice(0, 5);
  await ctx.close();
  return r;
}

async function labInterruptRun(browser, name, attempts) {
  const site = SITES[name];
  const { ctx, page, errors } = await newContext(browser, site);
  const r = { site: name, code: 'while True: pass', interrupt_ms: [], outcomes: [], imports_ms: null };
  const idle = '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]';
  try {
    await page.goto(`http://127.0.0.1:${site.port}/lab/index.html`);
    await page.waitForSelector('.jp-LauncherCard', { timeout: 60000 });
    const cards = await page.evaluate(() => [...document.querySelectorAll('.jp-LauncherCard[data-category="Notebook"]')].map((e) => e.getAttribute('title') || e.textContent));
    const idx = cards.findIndex((c) => site.card.test(c));
    if (idx < 0) throw new Error(`no notebook launcher card matching ${site.card} in ${JSON.stringify(cards)}`);
    await page.locator('.jp-LauncherCard[data-category="Notebook"]').nth(idx).click();
    // the kernel is ready when a first cell has run
    await page.locator('.jp-NotebookPanel .jp-Cell .cm-content').last().click();
    await page.keyboard.type('1+1');
    await page.keyboard.press('Shift+Enter');
    await page.waitForFunction(() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell .jp-OutputArea-output')].some((e) => e.textContent.trim() === '2'), null, { timeout: 90000, polling: 100 });
    await page.waitForSelector(idle, { timeout: 10000 });
    await page.locator('.jp-NotebookPanel .jp-Cell .cm-content').last().click();
    await page.keyboard.type(IMPORTS_CELL);
    await page.keyboard.press('Shift+Enter');
    const printed = await page.waitForFunction(() => {
      const m = [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell .jp-OutputArea-output')].map((e) => e.textContent).join('\n').match(/IMPORTS_MS ([\d.]+) PRELOADED (\d+)|(\w+Error)/);
      return m && (m[3] || `${m[1]} ${m[2]}`);
    }, null, { timeout: 60000, polling: 50 });
    const imports = await printed.jsonValue();
    if (!/^[\d.]+ \d+$/.test(imports)) throw new Error(`the imports cell failed: ${imports}`);
    [r.imports_ms, r.imports_preloaded] = imports.split(' ').map(Number);
    await page.waitForSelector(idle, { timeout: 10000 });
    await page.evaluate(() => {
      window.__clicks = [];
      // the click starts at pointerdown (JupyterLab's toolbar buttons may act before 'click')
      document.addEventListener('pointerdown', (e) => {
        if (e.target.closest && e.target.closest('[data-command="notebook:interrupt-kernel"]')) window.__clicks.push(performance.now());
      }, true);
    });
    for (let k = 0; k < attempts; k++) {
      await page.locator('.jp-NotebookPanel .jp-Cell .cm-content').last().click();
      await page.keyboard.type(r.code);
      await page.keyboard.press('Shift+Enter');
      await page.waitForSelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="busy"]', { timeout: 10000 });
      await sleep(500);
      const w = page.evaluate(watchFn, { sel: '.jp-NotebookPanel .jp-Cell .jp-OutputArea', re: 'KeyboardInterrupt', count: k + 1, timeout: INTERRUPT_TIMEOUT_MS });
      // a real click (mouse events through the browser); timed by a capturing listener in the page
      await page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').click();
      const tClick = (await page.evaluate(() => window.__clicks)).at(-1);
      if (tClick == null) throw new Error('the interrupt click was not seen by the page');
      const tOut = await w;
      if (tOut == null) {
        const still = await page.evaluate(() => document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')?.getAttribute('data-status'));
        r.outcomes.push(`no KeyboardInterrupt within ${INTERRUPT_TIMEOUT_MS / 1000} s of the click (kernel status: ${still})`);
        r.interrupt_ms.push(null);
        break; // the kernel is stuck in the loop: nothing more to measure in this page
      }
      r.outcomes.push('interrupted');
      r.interrupt_ms.push(tOut - tClick);
      await page.waitForSelector(idle, { timeout: 10000 });
      await sleep(200);
    }
  } catch (e) {
    r.error = String(e).split('\n')[0];
  }
  r.page_errors = errors.slice(0, 5);
  await ctx.close();
  return r;
}

async function main() {
  const names = ONLY ? [ONLY] : ['kite', 'pyodide'];
  for (const n of names) {
    const s = SITES[n];
    if (!fs.existsSync(path.join(s.dir, 'index.html'))) die(`${n} site missing: ${s.dir}/index.html`);
  }
  if (!fs.existsSync(SERVE)) die(`wasm/serve.py missing (the project's COOP/COEP static server)`);
  if (!fs.existsSync(CHROMIUM)) die(`${CHROMIUM} missing`);
  for (const n of names) await serve(SITES[n]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const result = { machine_before: machine(), chromium: browser.version(), runs: RUNS, repl: {}, interrupt: {},
    kite_wasm: await fileId(path.join(SITES.kite.dir, 'extensions/kite-jupyterlite/static/kite/kite.wasm')) };
  for (const n of names) { result.repl[n] = []; result.interrupt[n] = []; }
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 ? [...names].reverse() : names;
    for (const n of order) {
      const r = await replRun(browser, n);
      log(`browser run ${i + 1}/${RUNS} ${n}: idle ${r.load_to_idle_ms?.toFixed(0)} ms, 1+1 ${r.one_plus_one_ms?.map((x) => x?.toFixed(1)).join(' ')} ms, kernel ${(r.bytes_kernel / 1e6).toFixed(2)} MB${r.error ? ' ERROR ' + r.error : ''}`);
      result.repl[n].push(r);
    }
  }
  const INT_RUNS = Math.max(1, Math.ceil(RUNS / 2));
  for (let i = 0; i < INT_RUNS; i++) {
    for (const n of names) {
      const r = await labInterruptRun(browser, n, n === 'pyodide' ? 1 : INTERRUPTS);
      log(`browser interrupt ${i + 1}/${INT_RUNS} ${n}: imports ${r.imports_ms} ms (${r.imports_preloaded} of 17 already loaded); interrupts ${r.interrupt_ms.map((x) => (x == null ? 'none' : x.toFixed(1))).join(' ')}${r.error ? ' ERROR ' + r.error : ''}`);
      result.interrupt[n].push(r);
    }
  }
  await browser.close();
  result.machine_after = machine();

  const summary = {};
  for (const n of names) {
    const reps = result.repl[n];
    const ints = result.interrupt[n];
    const allInt = ints.flatMap((r) => r.interrupt_ms);
    summary[n] = {
      load_to_idle_ms: stats(reps.map((r) => r.load_to_idle_ms)),
      load_to_first_result_ms: stats(reps.map((r) => r.load_to_first_result_ms)),
      one_plus_one_ms: stats(reps.flatMap((r) => r.one_plus_one_ms || [])),
      kernel_bytes: stats(reps.map((r) => r.bytes_kernel)),
      page_bytes: stats(reps.map((r) => r.bytes_total)),
      interrupt_click_to_traceback_ms: stats(allInt),
      stdlib_imports_ms: stats(ints.map((r) => r.imports_ms)),
      interrupts: { attempted: allInt.length, interrupted: allInt.filter((x) => x != null).length, timeout_ms: INTERRUPT_TIMEOUT_MS },
      errors: [...reps, ...ints].filter((r) => r.error).map((r) => `${r.error}${r.page_errors.length ? ` (page error: ${r.page_errors.at(-1)})` : ''}`),
    };
  }
  if (names.length === 2) {
    const k = result.repl.kite, p = result.repl.pyodide;
    summary.ratios_kite_over_pyodide = {
      load_to_idle: ratio(k.map((r) => r.load_to_idle_ms), p.map((r) => r.load_to_idle_ms)),
      load_to_first_result: ratio(k.map((r) => r.load_to_first_result_ms), p.map((r) => r.load_to_first_result_ms)),
      kernel_bytes: ratio(k.map((r) => r.bytes_kernel), p.map((r) => r.bytes_kernel)),
      stdlib_imports: ratio(result.interrupt.kite.map((r) => r.imports_ms), result.interrupt.pyodide.map((r) => r.imports_ms)),
    };
  }
  result.summary = summary;
  writeJson(OUT, result);
  log(`browser results: ${OUT}`);
  const failed = names.filter((n) => summary[n].load_to_idle_ms.n === 0);
  if (failed.length) die(`no successful page load for ${failed.join(', ')}`);
  process.exit(0); // also stops the servers
}

main().catch((e) => { log(e.stack); process.exit(1); });
