// Drives Debian's chromium (headless) through playwright-core against the kite JupyterLite site.
//
//   node tests/browser/driver.mjs --url http://127.0.0.1:PORT/ --scenario NAME --out DIR
//
// Runs one scenario (see SCENARIOS below), saves screenshots into DIR, and prints one JSON line
// (prefixed with "RESULT ") holding what the scenario measured. pytest (test_lite.py) asserts.
// playwright-core comes from wasm/jupyterlite/node_modules; it never downloads a browser.

import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { installClient, protocolChecks } from './protocol.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'wasm', 'jupyterlite', 'package.json'));
process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.KITE_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
];

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      args[argv[i].slice(2)] = argv[i + 1];
      i++;
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const BASE = args.url.endsWith('/') ? args.url : args.url + '/';
const OUT = args.out;
const SCENARIO = args.scenario;
const TIMEOUT = Number(args.timeout || 60000);
// --card: the launcher card openKiteNotebook opens (the xeus prefix's kite is another kernel)
const CARD = args.card || 'Python 3.11 (kite)';
mkdirSync(OUT, { recursive: true });

const result = { scenario: SCENARIO, screenshots: [], console: [], errors: [] };
const sleep = ms => new Promise(r => setTimeout(r, ms));

// ----------------------------------------------------------------------------------------------
// Page helpers

async function shot(page, name) {
  // --tag X: X-<scenario>-<step>.png (the same scenario run on another kind of page)
  const file = path.join(OUT, `${args.tag ? args.tag + '-' : ''}${SCENARIO}-${name}.png`);
  await page.screenshot({ path: file });
  result.screenshots.push(file);
  return file;
}

/** Open the lab and a new kite notebook from the launcher; wait until the kernel is idle. */
async function openKiteNotebook(page, { waitIdle = true } = {}) {
  const t0 = Date.now();
  await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
  const card = page
    .locator('.jp-Launcher-section')
    .filter({ hasText: 'Notebook' })
    .locator(`.jp-LauncherCard[title="${CARD}"]`);
  await card.first().waitFor({ timeout: TIMEOUT });
  result.launcherMs = Date.now() - t0;
  const tClick = Date.now();
  await card.first().click();
  await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor({ timeout: TIMEOUT });
  if (waitIdle) {
    await waitKernelIdle(page);
    result.kernelIdleMs = Date.now() - tClick;
  }
}

function indicator(page) {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
}

async function kernelStatus(page) {
  return indicator(page).first().getAttribute('data-status');
}

async function waitKernelIdle(page, timeout = TIMEOUT) {
  await page.waitForFunction(
    () => {
      const el = document.querySelector(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator'
      );
      return el && el.getAttribute('data-status') === 'idle';
    },
    null,
    { timeout, polling: 50 }
  );
}

/** Wait until the visible notebook's kernel is kite and idle; records when (page clock). */
async function waitNotebookKernelIdle(page, timeout = TIMEOUT) {
  await page.waitForFunction(
    () => {
      const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
      const el = panel?.querySelector('.jp-Notebook-ExecutionIndicator');
      const name = panel?.querySelector('.jp-Toolbar-kernelName')?.textContent ?? '';
      if (panel) {
        window.__panelAt ??= performance.now();
      }
      if (el?.getAttribute('data-status') === 'idle' && name.includes('kite')) {
        window.__idleAt ??= performance.now();
        return true;
      }
      return false;
    },
    null,
    { timeout, polling: 10 }
  );
}

function cells(page) {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
}

/** Put `code` in cell `index` (creating cells below as needed). */
async function setCell(page, index, code) {
  let n = await cells(page).count();
  while (n <= index) {
    await cells(page).nth(n - 1).click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('b');
    await page.waitForFunction(
      k => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length > k,
      n - 1
    );
    n = await cells(page).count();
  }
  const editor = cells(page).nth(index).locator('.cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(code);
}

/** Run cell `index` (Shift+Enter from its editor). */
async function runCell(page, index) {
  await cells(page).nth(index).locator('.cm-content').click();
  await page.keyboard.press('Shift+Enter');
}

async function typeAndRun(page, index, code) {
  await setCell(page, index, code);
  await runCell(page, index);
}

function outputText(page, index) {
  return cells(page).nth(index).locator('.jp-OutputArea').innerText();
}

async function waitOutput(page, index, pattern, timeout = TIMEOUT) {
  const t0 = Date.now();
  for (;;) {
    const text = await outputText(page, index).catch(() => '');
    if (pattern.test(text)) {
      return text;
    }
    if (Date.now() - t0 > timeout) {
      throw new Error(`cell ${index}: output never matched ${pattern}; got: ${text.slice(0, 500)}`);
    }
    await sleep(50);
  }
}

/** Wait until cell `index` shows an execution count (not "[*]" nor empty). */
async function waitCellDone(page, index, timeout = TIMEOUT) {
  const prompt = cells(page).nth(index).locator('.jp-InputPrompt');
  const t0 = Date.now();
  for (;;) {
    const text = (await prompt.innerText().catch(() => '')).trim();
    if (/\[\d+\]/.test(text)) {
      return text;
    }
    if (Date.now() - t0 > timeout) {
      throw new Error(`cell ${index} never finished (prompt ${text})`);
    }
    await sleep(50);
  }
}

async function waitBusy(page, timeout = 20000) {
  await page.waitForFunction(
    () => {
      const el = document.querySelector(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator'
      );
      return el && el.getAttribute('data-status') === 'busy';
    },
    null,
    { timeout, polling: 20 }
  );
}

/**
 * Arm an in-page probe on cell `index`: the time of the next click on the toolbar Interrupt
 * button and the time a KeyboardInterrupt (or `pattern`) first shows in that cell's output,
 * both on the page's clock.
 */
async function armInterruptProbe(page, index, pattern = 'KeyboardInterrupt') {
  await page.evaluate(
    ([index, pattern]) => {
      const probe = (window.__kiteProbe = { click: null, seen: null });
      const button = document.querySelector(
        '.jp-NotebookPanel:not(.lm-mod-hidden) [data-command="notebook:interrupt-kernel"]'
      );
      button.addEventListener('pointerdown', () => (probe.click ??= performance.now()), {
        capture: true,
        once: true
      });
      button.addEventListener('click', () => (probe.click ??= performance.now()), {
        capture: true,
        once: true
      });
      const cell = document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'
      )[index];
      const check = () => {
        if (probe.seen === null && cell.querySelector('.jp-OutputArea')?.textContent.includes(pattern)) {
          probe.seen = performance.now();
          observer.disconnect();
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(cell, { subtree: true, childList: true, characterData: true });
    },
    [index, pattern]
  );
}

async function clickInterrupt(page) {
  await page
    .locator('.jp-NotebookPanel:not(.lm-mod-hidden) [data-command="notebook:interrupt-kernel"]')
    .first()
    .click();
}

/** Click Interrupt and measure click -> traceback in cell `index` (ms). */
async function interruptAndMeasure(page, index, pattern = 'KeyboardInterrupt') {
  await armInterruptProbe(page, index, pattern);
  await clickInterrupt(page);
  await waitOutput(page, index, new RegExp(pattern), 10000);
  const probe = await page.evaluate(() => window.__kiteProbe);
  return probe.click !== null && probe.seen !== null ? probe.seen - probe.click : null;
}

// Opens a kite notebook whose first cell sets the state every interrupt scenario checks later.
async function openWithState(page) {
  await openKiteNotebook(page);
  await typeAndRun(page, 0, 'x = 41');
  await waitCellDone(page, 0);
}

// After an interrupt of cell `index`: the kernel is idle again, the cell's output, and whether
// the state from before survived (`x + 1` run in cell `index + 1`).
async function recordAfterInterrupt(page, index) {
  await waitKernelIdle(page, 5000);
  result.statusAfter = await kernelStatus(page);
  result.output = await outputText(page, index);
  await typeAndRun(page, index + 1, 'x + 1');
  await waitCellDone(page, index + 1);
  result.after = await waitOutput(page, index + 1, /\S/);
  await shot(page, 'interrupted');
}

async function interruptScenario(page, code, { settleMs = 700, name }) {
  await openWithState(page);
  await typeAndRun(page, 1, code);
  await waitBusy(page);
  await sleep(settleMs);
  result.statusBeforeInterrupt = await kernelStatus(page);
  await shot(page, 'running');
  result.interruptMs = await interruptAndMeasure(page, 1);
  await recordAfterInterrupt(page, 1);
}

// The notebook's files (issue 9 part 4): JupyterLite's contents seen from Python and back.

/** Wait until JupyterLab is up and its contents manager usable (window.jupyterapp). */
async function waitApp(page) {
  await page.waitForFunction(() => window.jupyterapp?.serviceManager?.contents, null, { timeout: TIMEOUT });
  await page.locator('.jp-DirListing-content').first().waitFor({ timeout: TIMEOUT });
}

/** Save `files` ({path: text or {base64}}) through JupyterLite's contents API, dirs included. */
async function saveContents(page, dir, files) {
  await page.evaluate(
    async ([dir, files]) => {
      const contents = window.jupyterapp.serviceManager.contents;
      try {
        await contents.get(dir, { content: false });
      } catch {
        const made = await contents.newUntitled({ type: 'directory', path: '' });
        await contents.rename(made.path, dir);
      }
      for (const [name, body] of Object.entries(files)) {
        const model = typeof body === 'string'
          ? { type: 'file', format: 'text', content: body }
          : { type: name.endsWith('.ipynb') ? 'notebook' : 'file', format: 'json', content: body };
        await contents.save(`${dir}/${name}`, model);
      }
    },
    [dir, files]
  );
}

/** A notebook that opens on the kite kernel, with `sources` as code cells. */
function kiteNotebook(sources) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'kite', display_name: 'Python 3.11 (kite)', language: 'python' } },
    cells: sources.map((source, i) => ({ id: `c${i}`, cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null }))
  };
}

/** Open `path` (a kite notebook) in the lab and wait for its kernel. */
async function openNotebook(page, path) {
  await page.evaluate(p => window.jupyterapp.commands.execute('docmanager:open', { path: p }), path);
  await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor({ timeout: TIMEOUT });
  await waitNotebookKernelIdle(page);
}

/** Run cell `index` of the open notebook and return its output once it has a count. */
async function runAndRead(page, index, pattern = /\S/) {
  await runCell(page, index);
  await waitCellDone(page, index);
  return waitOutput(page, index, pattern);
}

/** The names the file browser shows for `dir` (it navigates there). */
async function fileBrowserNames(page, dir) {
  await page.evaluate(d => window.jupyterapp.commands.execute('filebrowser:go-to-path', { path: d }), dir);
  await page.waitForFunction(
    d => document.querySelector('.jp-FileBrowser-crumbs')?.textContent.includes(d),
    dir
  );
  await sleep(300);
  return page.locator('.jp-DirListing-item .jp-DirListing-itemText').allInnerTexts();
}

/** The kite lines of the console, for assertions on the drive's log line. */
function kiteConsole() {
  return result.console.filter(line => line.includes('[kite]'));
}

// ----------------------------------------------------------------------------------------------
// Scenarios

const SCENARIOS = {
  // kite from an emscripten-forge prefix, run by @jupyterlite/xeus's stock worker (build/xeus-site,
  // tests/browser/test_xeus_prefix.py; --card 'Python 3.11 (kite, xeus)'): one notebook, every
  // check in a row, so the test stays short
  async xeus(page) {
    const t0 = Date.now();
    await openKiteNotebook(page);
    result.isolated = await page.evaluate(() => crossOriginIsolated);
    await typeAndRun(page, 0, 'x = 41');
    await waitCellDone(page, 0);
    // page load -> the first cell's reply (launcher, kernel start, one execute): the figure that
    // compares this site with kite's own (the same scenario runs there)
    result.loadToFirstCellMs = Date.now() - t0;
    await page.locator('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName').first().waitFor();
    result.kernelName = await page.locator('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName').first().innerText();
    // the launcher offers it (a new tab: the first one became the notebook)
    await page.evaluate(() => window.jupyterapp.commands.execute('launcher:create'));
    const card = page.locator(`.jp-LauncherCard[title="${CARD}"]`).first();
    await card.waitFor({ timeout: TIMEOUT });
    result.cards = await page.locator('.jp-LauncherCard').evaluateAll(els => els.map(e => e.getAttribute('title')));
    await shot(page, 'launcher');
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'Untitled' }).first().click();
    for (const [index, name, code] of [
      [1, 'loop', 'while True:\n    pass'],
      [2, 'sleep', 'import time\ntime.sleep(600)']
    ]) {
      await typeAndRun(page, index, code);
      await waitBusy(page);
      await sleep(500);
      result[`${name}Ms`] = await interruptAndMeasure(page, index);
      await waitKernelIdle(page, 5000);
      result[name] = await outputText(page, index);
      await shot(page, name);
    }
    await typeAndRun(page, 3, "name = input('Your name: ')\nprint('Hello,', name)");
    const box = cells(page).nth(3).locator('.jp-Stdin-input');
    await box.waitFor({ timeout: 20000 });
    await box.fill('kite');
    await box.press('Enter');
    result.answered = await waitOutput(page, 3, /Hello, kite/, 20000);
    await waitCellDone(page, 3);
    await typeAndRun(page, 4, 'x + 1');
    await waitCellDone(page, 4);
    result.after = await waitOutput(page, 4, /\S/);
    await shot(page, 'done');
  },

  async launcher(page) {
    await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
    await page.locator('.jp-LauncherCard').first().waitFor({ timeout: TIMEOUT });
    await sleep(500);
    result.cards = await page.locator('.jp-LauncherCard').evaluateAll(els =>
      els.map(e => e.getAttribute('title'))
    );
    result.isolated = await page.evaluate(() => crossOriginIsolated);
    await shot(page, 'launcher');
  },

  async start(page) {
    await openKiteNotebook(page);
    await typeAndRun(page, 0, 'import sys; print(sys.version)');
    await waitCellDone(page, 0);
    result.output = await outputText(page, 0);
    result.isolated = await page.evaluate(() => crossOriginIsolated);
    await shot(page, 'ready');
    // the kernel picker (Kernel > Change Kernel…) offers kite too
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Kernel$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Change Kernel/ }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor({ timeout: 10000 });
    result.pickerOptions = await dialog.locator('select option').evaluateAll(els =>
      els.map(e => e.textContent.trim())
    );
    await shot(page, 'picker');
    await dialog.locator('.jp-mod-reject').first().click();
  },

  async loop(page) {
    await interruptScenario(page, 'while True:\n    pass', {});
  },

  async sleep(page) {
    await interruptScenario(page, 'import time\ntime.sleep(600)', {});
  },

  // --code CODE [--settle MS]: interrupt any cell (e.g. a %pip install with a slow download)
  async interrupt(page) {
    await interruptScenario(page, args.code, { settleMs: Number(args.settle || 700) });
  },

  async fib(page) {
    await interruptScenario(
      page,
      'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nfib(40)',
      {}
    );
  },

  async handler(page) {
    await openWithState(page);
    await typeAndRun(
      page,
      1,
      [
        'import signal, time',
        'hits = 0',
        'def handler(signum, frame):',
        '    global hits',
        '    hits += 1',
        "    print(f'handler caught SIGINT #{hits}', flush=True)",
        'old = signal.signal(signal.SIGINT, handler)',
        'try:',
        '    while hits < 2:',
        '        pass',
        'finally:',
        '    signal.signal(signal.SIGINT, old)',
        "print('loop left after', hits, 'interrupts')"
      ].join('\n')
    );
    await waitBusy(page);
    await sleep(500);
    result.firstMs = await interruptAndMeasure(page, 1, 'handler caught SIGINT #1');
    await sleep(300);
    result.statusBetween = await kernelStatus(page);
    await shot(page, 'first');
    result.secondMs = await interruptAndMeasure(page, 1, 'loop left after 2');
    await waitCellDone(page, 1);
    await waitKernelIdle(page, 5000);
    result.output = await outputText(page, 1);
    await typeAndRun(page, 2, 'x + 1');
    await waitCellDone(page, 2);
    result.after = await waitOutput(page, 2, /\S/);
    await shot(page, 'done');
  },

  async input(page) {
    await openWithState(page);
    // 1. answer an input() request
    await typeAndRun(page, 1, "name = input('Your name: ')\nprint('Hello,', name)");
    const box = cells(page).nth(1).locator('.jp-Stdin-input');
    await box.waitFor({ timeout: 20000 });
    await shot(page, 'prompt');
    await box.fill('kite');
    await box.press('Enter');
    result.answered = await waitOutput(page, 1, /Hello, kite/, 20000);
    await waitCellDone(page, 1);
    // 2. interrupt while input() waits
    await typeAndRun(page, 2, "input('Waiting forever: ')");
    await cells(page).nth(2).locator('.jp-Stdin-input').waitFor({ timeout: 20000 });
    await sleep(300);
    result.interruptMs = await interruptAndMeasure(page, 2);
    await recordAfterInterrupt(page, 2);
  },

  async runall(page) {
    await openKiteNotebook(page);
    await setCell(page, 0, "x = 41\nprint('first cell starts')\nwhile True:\n    pass");
    await setCell(page, 1, "print('second cell ran')\ny = 1");
    await setCell(page, 2, "print('third cell ran')\nz = 1");
    await page.keyboard.press('Escape');
    // Run > Run All Cells (menu), as a user would.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
    await waitOutput(page, 0, /first cell starts/, 20000);
    await sleep(700);
    await shot(page, 'running');
    result.interruptMs = await interruptAndMeasure(page, 0);
    await waitKernelIdle(page, 5000);
    await sleep(500);
    result.statusAfter = await kernelStatus(page);
    result.outputs = [];
    result.prompts = [];
    for (let i = 0; i < 3; i++) {
      result.outputs.push(await outputText(page, i).catch(() => ''));
      result.prompts.push((await cells(page).nth(i).locator('.jp-InputPrompt').innerText()).trim());
    }
    await typeAndRun(page, 3, "'y' in dir(), 'z' in dir(), x + 1");
    await waitCellDone(page, 3);
    result.after = await waitOutput(page, 3, /\S/);
    await shot(page, 'interrupted');
  },

  async control(page) {
    // An interrupt_request on the control channel (kernelspec interrupt_mode: message), sent
    // through the notebook's own kernel connection while a cell loops.
    await openWithState(page);
    await typeAndRun(page, 1, 'while True:\n    pass');
    await waitBusy(page);
    await sleep(500);
    await armInterruptProbe(page, 1);
    result.reply = await page.evaluate(async () => {
      const app = window.jupyterapp;
      if (!app) {
        throw new Error('window.jupyterapp missing (exposeAppInBrowser)');
      }
      const kernel = app.shell.currentWidget.sessionContext.session.kernel;
      const msg = {
        header: {
          msg_id: 'interrupt-' + Math.random().toString(16).slice(2),
          msg_type: 'interrupt_request',
          session: kernel.clientId,
          username: kernel.username,
          date: new Date().toISOString(),
          version: '5.3'
        },
        parent_header: {},
        metadata: {},
        content: {},
        channel: 'control',
        buffers: []
      };
      window.__kiteProbe.click = performance.now();
      const future = kernel.sendControlMessage(msg, true, false);
      const reply = await new Promise((resolve, reject) => {
        future.onReply = resolve;
        setTimeout(() => reject(new Error('no interrupt_reply within 5 s')), 5000);
      });
      return { ms: performance.now() - window.__kiteProbe.click, type: reply.header.msg_type, content: reply.content };
    });
    await waitOutput(page, 1, /KeyboardInterrupt/, 10000);
    const probe = await page.evaluate(() => window.__kiteProbe);
    result.interruptMs = probe.seen - probe.click;
    await recordAfterInterrupt(page, 1);
  },

  async rich(page) {
    await openKiteNotebook(page);
    await typeAndRun(
      page,
      0,
      [
        'class Kite:',
        '    def _repr_html_(self):',
        "        return '<b class=\"kite-html\" style=\"color:#c60\">a kite</b> in <i>HTML</i>'",
        'Kite()'
      ].join('\n')
    );
    await waitCellDone(page, 0);
    const b = cells(page).nth(0).locator('.jp-OutputArea-output b.kite-html');
    await b.waitFor({ timeout: 10000 });
    result.html = await b.innerText();
    result.mime = await cells(page)
      .nth(0)
      .locator('.jp-OutputArea-output')
      .first()
      .getAttribute('data-mime-type');
    await shot(page, 'html');
  },

  async restart(page) {
    await openKiteNotebook(page);
    await typeAndRun(page, 0, 'x = 41\nx');
    await waitCellDone(page, 0);
    // Kernel > Restart Kernel..., then confirm the dialog.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Kernel$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Restart Kernel…$/ }).click();
    const confirm = page.locator('.jp-Dialog .jp-mod-accept');
    await confirm.waitFor({ timeout: 10000 });
    const t0 = Date.now();
    await confirm.click();
    await sleep(100);
    await waitKernelIdle(page, 20000);
    result.restartMs = Date.now() - t0;
    await typeAndRun(page, 1, "print('x' in dir())");
    await waitCellDone(page, 1);
    result.after = await waitOutput(page, 1, /True|False/);
    await shot(page, 'restarted');
  },

  async crash(page) {
    // A wasm trap / JS RangeError kills the worker: the cell says so, JupyterLab shows its
    // "kernel appears to have died, it will restart automatically" dialog, and a fresh
    // interpreter answers.
    await openKiteNotebook(page);
    await typeAndRun(page, 0, 'x = 41');
    await waitCellDone(page, 0);
    const code =
      args.code ||
      [
        'import sys',
        'sys.setrecursionlimit(10**7)',
        'deep = []',
        'for _ in range(10**6):',
        '    deep = [deep]',
        'repr(deep)'
      ].join('\n');
    const t0 = Date.now();
    await typeAndRun(page, 1, code);
    result.crashOutput = await waitOutput(page, 1, /KernelCrashed/, 120000);
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor({ timeout: 20000 }).catch(() => undefined);
    if (await dialog.count()) {
      result.dialog = await dialog.innerText();
      await shot(page, 'dialog');
      await dialog.locator('.jp-mod-accept, .jp-mod-reject').first().click();
    }
    await waitKernelIdle(page, 30000);
    result.recoveredMs = Date.now() - t0;
    await typeAndRun(page, 2, args.after || "print('x' in dir())");
    await waitCellDone(page, 2);
    result.after = await waitOutput(page, 2, /\S/);
    await waitKernelIdle(page, 5000);
    result.statusAfter = await kernelStatus(page);
    await shot(page, 'recovered');
  },

  async bench(page) {
    // Figures (not asserted): cold load, warm-cache loads (navigation -> kernel idle), bytes of
    // the kernel's files, and click on Interrupt -> traceback for `while True: pass`.
    const runs = Number(args.runs || 5);
    const kernelBytes = new Map();
    page.on('requestfinished', async request => {
      const url = request.url();
      if (!url.includes('/extensions/kite-jupyterlite/')) {
        return;
      }
      try {
        const sizes = await request.sizes();
        const response = await request.response();
        kernelBytes.set(url, {
          status: response ? response.status() : 0,
          bytes: sizes.responseBodySize + sizes.responseHeadersSize
        });
      } catch {
        // ignore
      }
    });
    await openKiteNotebook(page);
    result.coldLauncherMs = result.launcherMs;
    result.coldKernelBytes = [...kernelBytes.entries()].map(([u, v]) => [u.split('/').pop(), v]);
    result.coldKernelTotal = [...kernelBytes.values()].reduce((a, v) => a + v.bytes, 0);
    // interrupt latency
    result.interruptMs = [];
    for (let i = 0; i < runs; i++) {
      const index = i;
      await typeAndRun(page, index, 'while True:\n    pass');
      await waitBusy(page);
      await sleep(300);
      result.interruptMs.push(await interruptAndMeasure(page, index));
      await waitKernelIdle(page, 5000);
    }
    // warm HTTP cache: open the sample notebook (kernelspec kite in its metadata) again and
    // again; time from navigation start to the kite kernel being idle
    result.warmLoadMs = [];
    for (let i = 0; i < runs; i++) {
      kernelBytes.clear();
      await page.goto(BASE + 'lab/index.html?path=interrupts.ipynb', { waitUntil: 'commit' });
      await waitNotebookKernelIdle(page);
      const [idleAt, panelAt] = await page.evaluate(() => [window.__idleAt, window.__panelAt]);
      result.warmLoadMs.push(idleAt);
      (result.warmPanelMs ??= []).push(panelAt);
    }
    result.warmKernelTotal = [...kernelBytes.values()].reduce((a, v) => a + v.bytes, 0);
    const median = xs => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
    };
    result.median = {
      warmLoadMs: median(result.warmLoadMs),
      warmPanelMs: median(result.warmPanelMs),
      interruptMs: median(result.interruptMs)
    };
    await shot(page, 'done');
  },

  async protocol(page) {
    // Raw protocol messages to a kite kernel started through the page's service manager (no UI);
    // see protocol.mjs. test_lite_protocol.py asserts on what comes back.
    await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => !!window.jupyterapp, null, { timeout: TIMEOUT });
    result.client = await installClient(page);
    result.checks = await protocolChecks(page);
  },

  async prewarm(page) {
    // Which page loads download the kernel ahead of time (a fresh browser profile: empty cache,
    // no localStorage): a plain lab page must not; a kite notebook must, and takes the spare.
    const fetched = [];
    page.on('requestfinished', async request => {
      const url = request.url();
      if (!url.includes('/extensions/kite-jupyterlite/static/kite/')) {
        return;
      }
      const sizes = await request.sizes().catch(() => null);
      fetched.push({ file: url.split('/').pop(), bytes: sizes ? sizes.responseBodySize : null });
    });
    const workers = [];
    page.on('worker', w => workers.push(w.url()));
    await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
    await page.locator('.jp-LauncherCard').first().waitFor({ timeout: TIMEOUT });
    await sleep(Number(args.settle || 3000));
    result.plain = { fetched: [...fetched], workers: [...workers] };
    result.plain.bytes = fetched.reduce((a, f) => a + (f.bytes ?? 0), 0);
    await shot(page, 'plain');
    fetched.length = 0;
    workers.length = 0;
    const t0 = Date.now();
    const notebook = BASE + 'lab/index.html?path=interrupts.ipynb';
    await page.goto(notebook, { waitUntil: 'domcontentloaded' });
    await waitNotebookKernelIdle(page);
    result.notebook = { fetched: [...fetched], workers: [...workers], idleMs: Date.now() - t0 };
    result.notebook.bytes = fetched.reduce((a, f) => a + (f.bytes ?? 0), 0);
    await shot(page, 'notebook');
  },

  async pageload(page) {
    // Where the time from navigation to "kernel idle" goes, warm HTTP cache: one visit to fill
    // the cache (and mark kite as used on the site), then `runs` loads of a kite notebook, each
    // with the page's navigation timing, kite's performance marks (kernel.ts, index.ts) and the
    // moment the notebook's indicator says idle.
    const runs = Number(args.runs || 5);
    const url = BASE + (args.path || 'lab/index.html?path=interrupts.ipynb');
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await waitNotebookKernelIdle(page);
    result.loads = [];
    for (let i = 0; i < runs; i++) {
      await page.goto(url, { waitUntil: 'commit' });
      await waitNotebookKernelIdle(page);
      result.loads.push(
        await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const marks = {};
          for (const m of performance.getEntriesByType('mark')) {
            if (m.name.startsWith('kite:')) {
              marks[m.name.slice(5)] ??= Math.round(m.startTime);
            }
          }
          return {
            responseEnd: Math.round(nav.responseEnd),
            domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
            load: Math.round(nav.loadEventEnd),
            panel: Math.round(window.__panelAt),
            idle: Math.round(window.__idleAt),
            marks
          };
        })
      );
    }
    const median = xs => {
      const s = xs.filter(x => typeof x === 'number').sort((a, b) => a - b);
      return s.length ? s[Math.floor(s.length / 2)] : null;
    };
    const keys = new Set();
    for (const l of result.loads) {
      for (const k of Object.keys(l)) keys.add(k);
      for (const k of Object.keys(l.marks)) keys.add('mark:' + k);
    }
    result.median = {};
    for (const k of keys) {
      if (k === 'marks') continue;
      result.median[k] = median(
        result.loads.map(l => (k.startsWith('mark:') ? l.marks[k.slice(5)] : l[k]))
      );
    }
    result.kiteConsole = result.console.filter(l => l.includes('[kite]')).slice(-6);
  },

  async soak(page) {
    // --rounds N: a loop, a sleep or fib(40), interrupted (kernel.interrupt(), the toolbar's
    // path) 0.05-0.45 s after it was sent (sometimes before it reached the worker): each must end
    // with KeyboardInterrupt within 5 s (none lost); then an interrupt while idle, and `1+1` must
    // still answer 2 (none leaks into the next cell).
    await openKiteNotebook(page);
    await page.waitForFunction(() => !!window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel, null, {
      timeout: TIMEOUT
    });
    result.soak = await page.evaluate(async rounds => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      const sleep = ms => new Promise(r => setTimeout(r, ms));
      const run = code => {
        const future = kernel.requestExecute({ code, store_history: false });
        const seen = { ename: null, text: null };
        future.onIOPub = m => {
          if (m.header.msg_type === 'error') seen.ename = m.content.ename;
          if (m.header.msg_type === 'execute_result') seen.text = m.content.data['text/plain'];
        };
        return future.done.then(r => ({ status: r.content.status, ...seen }));
      };
      const codes = [
        'while True: pass',
        'import time; time.sleep(600)',
        'def f(n): return n if n < 2 else f(n - 1) + f(n - 2)\nf(40)'
      ];
      const out = { rounds, interrupted: 0, lost: [], leaked: [], ms: [] };
      // warm-up: the first execute_request of a new connection can take longer than 50 ms to
      // reach the kernel, and an undated interrupt (the toolbar's) that arrives before it finds
      // nothing to stop (isolated pages too): not what this soak measures
      await run('1+1');
      for (let i = 0; i < rounds; i++) {
        const cell = run(codes[i % codes.length]);
        await sleep(50 + Math.random() * 400);
        const t0 = performance.now();
        await kernel.interrupt();
        let r = await Promise.race([cell, sleep(5000).then(() => null)]);
        if (r && r.ename === 'KeyboardInterrupt') {
          out.interrupted++;
          out.ms.push(performance.now() - t0);
        } else {
          out.lost.push({ round: i, result: r });
          if (!r) {
            await kernel.interrupt();
            r = await Promise.race([cell, sleep(5000).then(() => null)]);
          }
        }
        await kernel.interrupt(); // idle: must be dropped
        const q = await run('1+1');
        if (q.status !== 'ok' || q.text !== '2') out.leaked.push({ round: i, result: q });
      }
      return out;
    }, Number(args.rounds || 20));
    await shot(page, 'done');
  },

  async ignored(page) {
    // SIG_IGN: Interrupt (once in a loop, once in time.sleep) changes nothing, the cell ends.
    await openWithState(page);
    await typeAndRun(
      page,
      1,
      [
        'import signal, time',
        'old = signal.signal(signal.SIGINT, signal.SIG_IGN)',
        't0 = time.time()',
        "print('looping', flush=True)",
        'while time.time() - t0 < 2:',
        '    pass',
        "print('sleeping', flush=True)",
        'time.sleep(2)',
        'signal.signal(signal.SIGINT, old)',
        "print(f'survived {time.time() - t0:.1f} s')"
      ].join('\n')
    );
    await waitOutput(page, 1, /looping/, 20000);
    await sleep(700);
    await clickInterrupt(page);
    await waitOutput(page, 1, /sleeping/, 10000);
    await sleep(700);
    await clickInterrupt(page);
    await shot(page, 'sleeping');
    result.output = await waitOutput(page, 1, /survived/, 10000);
    await waitCellDone(page, 1);
    await waitKernelIdle(page, 5000);
    await typeAndRun(page, 2, 'x + 1');
    await waitCellDone(page, 2);
    result.after = await waitOutput(page, 2, /\S/);
    await shot(page, 'done');
  },

  async firstvisit(page) {
    // A first visit straight to a kite notebook (fresh profile): the interpreter is prewarmed
    // while the page loads, possibly before the service worker controls the page; Interrupt must
    // still work without isolation (the worker is replaced once the relay exists).
    await page.addInitScript(() => {
      // the relay's traffic as the page sees it (requests and kite's answers on the channel
      // relay.ts uses): in the result, to tell a lost signal from a worker that never asked
      window.__relayLog = [];
      try {
        const bc = new BroadcastChannel('/sw-api.v1');
        bc.onmessage = (e) => {
          const m = e.data || {};
          const t = Math.round(performance.now());
          if (m.data && m.data.op) window.__relayLog.push([t, m.requestId, m.data.op, m.data.generation, m.data.seq, m.data.ack]);
          else if (m.response) window.__relayLog.push([t, m.requestId, 'answer', JSON.stringify(m.response)]);
        };
      } catch {
        // no BroadcastChannel
      }
    });
    await page.goto(BASE + 'lab/index.html?path=interrupts.ipynb', { waitUntil: 'domcontentloaded' });
    await waitNotebookKernelIdle(page);
    // empty the (windowed: not every cell is rendered) notebook: select all cells, delete them
    await cells(page).first().locator('.jp-InputPrompt').click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('d');
    await page.keyboard.press('d');
    await page.waitForFunction(
      () => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length === 1
    );
    const index = 0;
    await typeAndRun(page, index, 'x = 41\nwhile True:\n    pass');
    await waitBusy(page);
    await sleep(700);
    result.statusBeforeInterrupt = await kernelStatus(page);
    try {
      result.interruptMs = await interruptAndMeasure(page, index);
    } finally {
      // the last 40 relay messages (all of them, if the interrupt was lost)
      result.relayLog = await page.evaluate(() => (window.__relayLog || []).slice(-40));
    }
    await recordAfterInterrupt(page, index);
  },

  async widgets(page) {
    // ipywidgets from the site's bundled packages: a slider dragged with the mouse reaches a
    // Python observer that prints into an Output widget; interact renders and recomputes; a
    // few magics. --install: the %pip line (default: from the site's bundled index).
    await openKiteNotebook(page);
    const install = args.install || '%pip install ipywidgets';
    await typeAndRun(page, 0, install);
    await waitCellDone(page, 0, 120000);
    result.install = await outputText(page, 0).catch(() => '');
    const t0 = Date.now();
    await typeAndRun(page, 1, [
      'import ipywidgets as widgets',
      'out = widgets.Output()',
      "slider = widgets.IntSlider(value=10, min=0, max=100, description='n')",
      'def on_change(change):',
      '    with out:',
      "        print('observed', change['new'])",
      "slider.observe(on_change, 'value')",
      'widgets.VBox([slider, out])'
    ].join('\n'));
    const handle = cells(page).nth(1).locator('.jp-OutputArea .noUi-handle').first();
    await handle.waitFor({ timeout: TIMEOUT });
    result.sliderShownMs = Date.now() - t0; // import ipywidgets + first widget rendered
    await shot(page, 'slider');
    const track = await cells(page).nth(1).locator('.jp-OutputArea .noUi-target').first().boundingBox();
    const box = await handle.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(track.x + track.width * 0.75, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    // the cell's outer output area (an Output widget nests another one)
    const widgetText = i => cells(page).nth(i).locator('.jp-OutputArea').first().innerText();
    for (const t1 = Date.now(); !/observed \d+/.test(await widgetText(1).catch(() => '')); await sleep(50)) {
      if (Date.now() - t1 > TIMEOUT) throw new Error('the observer never printed into the Output widget');
    }
    await sleep(500); // the last updates of the drag
    result.observed = await widgetText(1);
    result.sliderValue = await cells(page).nth(1).locator('.widget-readout').first().innerText().catch(() => '');
    await shot(page, 'dragged');
    await typeAndRun(page, 2, '@widgets.interact(x=(0, 10))\ndef square(x=4):\n    print(x, "squared is", x * x)');
    for (const t1 = Date.now(); !/4 squared is 16/.test(await widgetText(2).catch(() => '')); await sleep(50)) {
      if (Date.now() - t1 > TIMEOUT) throw new Error('interact never showed square(4)');
    }
    result.interact = await widgetText(2);
    await cells(page).nth(2).locator('.jp-OutputArea .noUi-handle').first().waitFor({ timeout: TIMEOUT });
    await cells(page).nth(2).locator('.jp-OutputArea .noUi-handle').first().focus();
    await page.keyboard.press('ArrowRight');
    for (const t1 = Date.now(); !/5 squared is 25/.test(await widgetText(2).catch(() => '')); await sleep(50)) {
      if (Date.now() - t1 > TIMEOUT) throw new Error('interact did not recompute after the key press');
    }
    result.interactAfterKey = await widgetText(2);
    await shot(page, 'interact');
    await typeAndRun(page, 3, '%time sum(range(10**5))');
    await waitCellDone(page, 3);
    result.time = await waitOutput(page, 3, /Wall time/);
    await typeAndRun(page, 4, '%%html\n<b id="kite-html-magic">bold from a cell magic</b>');
    await waitCellDone(page, 4);
    result.html = await cells(page).nth(4).locator('#kite-html-magic').innerText().catch(() => '');
    await shot(page, 'magics');
  },

  async numpy(page) {
    // numpy from the site's bundled wheels (issue 13): a plain import, a computation, a loop of
    // numpy calls interrupted from the toolbar, the state kept; then a fresh kernel where
    // `%pip install numpy` lets the worker load the side modules while idle before `import`.
    const timed = async (index, code, timeout = 180000) => {
      await setCell(page, index, code);
      const t0 = Date.now();
      await runCell(page, index);
      await waitCellDone(page, index, timeout);
      return Date.now() - t0; // Shift+Enter -> execution count shown
    };
    // the rest needs numpy: stop at the cell that failed, with its traceback
    const expectNoTraceback = (what, text) => {
      if (text.includes('Traceback')) throw new Error(`${what} failed:\n${text}`);
    };
    // the indicator says idle before the interpreter has started: a first cell waits for it,
    // so the import's time is the import's alone
    await openWithState(page);
    result.isolated = await page.evaluate(() => crossOriginIsolated);
    result.importMs = await timed(1, 'import numpy as np\nprint(np.__version__)');
    result.importOutput = await outputText(page, 1).catch(() => '');
    result.importStderr = (await cells(page).nth(1)
      .locator('[data-mime-type="application/vnd.jupyter.stderr"]').allInnerTexts()).join('\n');
    await shot(page, 'imported');
    expectNoTraceback('import numpy as np', result.importOutput);
    await timed(2, [
      'a = np.array([[3.0, 1.0], [1.0, 2.0]])',
      'print(np.linalg.solve(a, np.array([9.0, 8.0])))',
      'np.random.default_rng(0).random(3)'
    ].join('\n'));
    result.computed = await waitOutput(page, 2, /array\(/);
    await typeAndRun(page, 3, 'v = np.zeros(1000)\nwhile True:\n    v = v + 1');
    await waitBusy(page);
    await sleep(700);
    result.statusBeforeInterrupt = await kernelStatus(page);
    await shot(page, 'running');
    result.interruptMs = await interruptAndMeasure(page, 3);
    await waitKernelIdle(page, 5000);
    result.statusAfter = await kernelStatus(page);
    result.output = await outputText(page, 3);
    await typeAndRun(page, 4, 'print(float(v[0]) > 0, bool((v == v[0]).all()), x + 1)');
    await waitCellDone(page, 4);
    result.after = await waitOutput(page, 4, /\S/);
    await shot(page, 'interrupted');

    // a fresh interpreter: Kernel > Restart Kernel…
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Kernel$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Restart Kernel…$/ }).click();
    const confirm = page.locator('.jp-Dialog .jp-mod-accept');
    await confirm.waitFor({ timeout: 10000 });
    await confirm.click();
    await sleep(100);
    await waitKernelIdle(page, 30000);
    await timed(5, "import sys\nprint('numpy' in sys.modules, 'x' in dir())");
    result.restarted = await waitOutput(page, 5, /\S/);
    const ready = () => result.console.filter(l => l.includes('side module ready before its import'));
    const readyBefore = ready().length;
    result.pipMs = await timed(6, '%pip install numpy');
    result.pip = await outputText(page, 6).catch(() => '');
    expectNoTraceback('%pip install numpy', result.pip);
    // a user takes a few seconds to type the next cell: wait until the preload lines stop
    // coming (1.5 s without a new one), at most 30 s
    const tPip = Date.now();
    for (let seen = -1, since = Date.now(); Date.now() - tPip < 30000; await sleep(100)) {
      const n = ready().length - readyBefore;
      if (n !== seen) {
        seen = n;
        since = Date.now();
      } else if (n > 0 && Date.now() - since > 1500) {
        break;
      }
    }
    result.preloadWaitMs = Date.now() - tPip;
    result.preloadedLines = ready().slice(readyBefore);
    result.preloadedImportMs = await timed(7, 'import numpy\nnumpy.arange(6).reshape(2, 3).sum(axis=0)');
    result.preloadedOutput = await waitOutput(page, 7, /\S/);
    result.preloadedLinesAfterImport = ready().length - readyBefore - result.preloadedLines.length;
    await shot(page, 'preloaded');
    result.kite = kiteConsole();
  },

  async demo(page) {
    // --notebook PATH (a notebook of the site's content): Run All as a user would; the outputs
    // of every code cell, and any error
    await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
    await waitApp(page);
    await openNotebook(page, args.notebook);
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
    const code = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell');
    const n = await code.count();
    result.outputs = [];
    for (let i = 0; i < n; i++) {
      const prompt = code.nth(i).locator('.jp-InputPrompt');
      for (const t0 = Date.now(); !/\[\d+\]/.test(await prompt.innerText().catch(() => '')); await sleep(100)) {
        if (Date.now() - t0 > 120000) throw new Error(`code cell ${i} never finished`);
      }
      result.outputs.push(await code.nth(i).locator('.jp-OutputArea').first().innerText().catch(() => ''));
    }
    result.errors_shown = await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type="application/vnd.jupyter.stderr"]').allInnerTexts();
    await shot(page, 'done');
  },

  async files(page) {
    // A CSV saved through JupyterLite's contents (what an upload does) next to a notebook in a
    // sub-directory; the notebook's cells read it with csv (cwd = the notebook's directory) and
    // write a text and a binary file, which the file browser lists; after a reload the files are
    // still there (IndexedDB) and a fresh kernel reads them back.
    const dir = args.dir || 'files-test';
    await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
    await waitApp(page);
    await saveContents(page, dir, {
      'people.csv': 'name,born\nAda Lovelace,1815\nGrace Hopper,1906\n',
      'files.ipynb': kiteNotebook([
        "import csv, os\nprint(os.getcwd())\nwith open('people.csv', newline='') as f:\n    rows = list(csv.DictReader(f))\nprint(rows)",
        "with open('written.txt', 'w') as f:\n    f.write('written by kite\\n')\nwith open('blob.bin', 'wb') as f:\n    f.write(bytes(range(256)))\nprint(sorted(os.listdir('.')))",
        "import os\nprint(open('written.txt').read().strip(), len(open('blob.bin', 'rb').read()), os.getcwd())"
      ])
    });
    await openNotebook(page, `${dir}/files.ipynb`);
    result.read = await runAndRead(page, 0, /Lovelace/);
    result.listed = await runAndRead(page, 1, /written/);
    result.browser = await fileBrowserNames(page, dir);
    await shot(page, 'written');
    result.blob = await page.evaluate(
      async p => {
        const m = await window.jupyterapp.serviceManager.contents.get(p, { content: true, format: 'base64' });
        return { format: m.format, bytes: atob(m.content.replace(/\s/g, '')).length };
      },
      `${dir}/blob.bin`
    );
    // reload: the files come from the browser's storage, a fresh kernel reads them
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitApp(page);
    result.browserAfterReload = await fileBrowserNames(page, dir);
    await openNotebook(page, `${dir}/files.ipynb`);
    result.afterReload = await runAndRead(page, 2, /written by kite/);
    await shot(page, 'reloaded');
    result.kite = kiteConsole();
    result.isolated = await page.evaluate(() => crossOriginIsolated);
  },

  async modules(page) {
    // The notebook's directory is sys.path[0] (cwd = /drive/<dir>): a module saved next to the
    // notebook through JupyterLite's contents (an upload, the editor) while the kernel runs is
    // importable by the next cell, though an earlier import listed the directory without it;
    // and what a top-level import's search of that directory costs (every `import` of a module
    // not yet loaded looks there first).
    const dir = args.dir || 'modules-test';
    await page.addInitScript(() => {
      // the worker's drive requests as the page sees them (relayed by the service worker)
      window.__driveCalls = {};
      try {
        new BroadcastChannel('/sw-api.v1').onmessage = (e) => {
          const method = e.data && e.data.data && e.data.data.method;
          if (method) window.__driveCalls[method] = (window.__driveCalls[method] || 0) + 1;
        };
      } catch {
        // no BroadcastChannel
      }
    });
    await page.goto(BASE + 'lab/index.html', { waitUntil: 'domcontentloaded' });
    await waitApp(page);
    const probe =
      "import importlib.util, sys, time\n" +
      "def _probe(n=40):\n" +
      "    t = time.perf_counter()\n" +
      "    for i in range(n):\n" +
      "        importlib.util.find_spec('kite_no_such_module_%d' % i)\n" +
      "    return (time.perf_counter() - t) * 1000 / n\n" +
      "_here = _probe()\n" +
      "_cwd = sys.path.pop(0)\n" +
      "_elsewhere = _probe()\n" +
      "sys.path.insert(0, _cwd)\n" +
      "print('find_spec of a missing module: %.3f ms with the notebook directory in sys.path, %.3f ms without' % (_here, _elsewhere))";
    await saveContents(page, dir, {
      'modules.ipynb': kiteNotebook([
        "import importlib.util\nprint('before:', importlib.util.find_spec('kite_helper_mod'))",
        "import kite_helper_mod\nprint('after:', kite_helper_mod.VALUE)",
        probe,
      ])
    });
    await openNotebook(page, `${dir}/modules.ipynb`);
    result.before = await runAndRead(page, 0, /before:/);
    await saveContents(page, dir, { 'kite_helper_mod.py': 'VALUE = 42\n' });
    result.after = await runAndRead(page, 1, /after:|Error/);
    const calls = () => page.evaluate(() => ({ ...window.__driveCalls }));
    const before = await calls();
    result.probe = await runAndRead(page, 2, /find_spec|Error/);
    const after = await calls();
    // the probe cell's drive requests: 40 imports searched the notebook's directory
    result.probeDriveCalls = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] || 0)]));
    await shot(page, 'modules');
    result.kite = kiteConsole();
  },

  async cells(page) {
    // --cells '["code", ...]' (JSON): run each in a new kite notebook, in order; their outputs
    const sources = JSON.parse(args.cells);
    await openKiteNotebook(page);
    result.outputs = [];
    result.cellMs = []; // Shift+Enter -> execution count shown (typing excluded)
    for (let i = 0; i < sources.length; i++) {
      await setCell(page, i, sources[i]);
      const t0 = Date.now();
      await runCell(page, i);
      await waitCellDone(page, i, Number(args.cellTimeout || TIMEOUT));
      result.cellMs.push(Date.now() - t0);
      result.outputs.push(await outputText(page, i).catch(() => ''));
    }
    await shot(page, 'done');
    result.kite = kiteConsole();
  },

  async nodrive(page) {
    // no service worker (blocked, as in some private windows): no drive, a clear log line, and
    // Python works in its in-memory directory
    await openKiteNotebook(page);
    await typeAndRun(page, 0, "import os\nopen('scratch.txt', 'w').write('x')\nprint(os.getcwd(), sorted(os.listdir('.'))[:5])");
    await waitCellDone(page, 0);
    result.output = await waitOutput(page, 0, /\S/);
    await shot(page, 'nodrive');
    result.kite = kiteConsole();
  },

  async notisolated(page) {
    await openKiteNotebook(page);
    result.isolated = await page.evaluate(() => crossOriginIsolated);
    await typeAndRun(page, 0, 'x = 41\nprint(x)');
    await waitCellDone(page, 0);
    result.first = await outputText(page, 0);
    await typeAndRun(page, 1, 'while True:\n    pass');
    await waitBusy(page);
    await sleep(500);
    await clickInterrupt(page);
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor({ timeout: 10000 });
    result.dialogTitle = await dialog.locator('.jp-Dialog-header').innerText();
    result.dialogBody = await dialog.locator('.jp-Dialog-body').innerText();
    await shot(page, 'dialog');
    // The offered way out: restart the kernel.
    await dialog.locator('.jp-mod-accept').click();
    await waitKernelIdle(page, 20000);
    await typeAndRun(page, 2, "print('alive after restart')");
    await waitCellDone(page, 2);
    result.after = await waitOutput(page, 2, /alive/);
    await shot(page, 'restarted');
  }
};

// ----------------------------------------------------------------------------------------------

async function main() {
  const scenario = SCENARIOS[SCENARIO];
  if (!scenario) {
    throw new Error(`unknown scenario ${SCENARIO}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'kite-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
    // --sw block: no service worker at all (as in some private windows): no relay on pages
    // without cross-origin isolation, so Interrupt can only offer the restart dialog
    serviceWorkers: args.sw === 'block' ? 'block' : 'allow'
  });
  let page;
  try {
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(TIMEOUT);
    page.on('console', msg => result.console.push(`${msg.type()}: ${msg.text()}`));
    page.on('pageerror', err => result.errors.push(String(err)));
    await scenario(page);
    result.ok = true;
  } catch (err) {
    result.ok = false;
    result.failure = String(err && err.stack ? err.stack : err);
    if (page) {
      await shot(page, 'failure').catch(() => undefined);
    }
  } finally {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\n');
}

main().catch(err => {
  process.stdout.write('RESULT ' + JSON.stringify({ ok: false, failure: String(err) }) + '\n');
  process.exit(1);
});
