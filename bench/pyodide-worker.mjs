// Pyodide (npm, pinned in bench/package.json) in a Node worker_threads worker, for bench/node_raw.mjs.
// main -> worker: {type:'init', buffer: SharedArrayBuffer|null, pkg?: 'pyodide' | 'pyodide-0.23'}
//                 {type:'run', id, code}
// worker -> main: {type:'ready', startup_ms}
//                 {type:'done', id, ok, value?, ename?, t_end}   t_end: absolute ms
//                 (performance.timeOrigin + performance.now()) when runPython returned or threw
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const abs = () => performance.timeOrigin + performance.now();
let py = null;

parentPort.on('message', async (m) => {
  if (m.type === 'init') {
    const t0 = performance.now();
    const pkg = m.pkg || 'pyodide';
    // the package's own ES module entry, by path (no reliance on package "exports" resolution)
    const indexURL = path.dirname(require.resolve(`${pkg}/package.json`)) + path.sep;
    const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, 'pyodide.mjs')).href);
    py = await loadPyodide({ indexURL, stdout: () => {}, stderr: () => {} });
    if (m.buffer) py.setInterruptBuffer(new Int32Array(m.buffer));
    parentPort.postMessage({ type: 'ready', startup_ms: performance.now() - t0, version: py.version });
  } else if (m.type === 'run') {
    let out;
    try {
      let v = py.runPython(m.code);
      if (v && typeof v.toJs === 'function') {
        const pv = v;
        v = pv.toJs();
        pv.destroy();
      }
      out = { ok: true, value: v };
    } catch (e) {
      const ename = e.type || (String(e.message || e).match(/(\w+(Error|Interrupt|Exception))/) || [])[1] || e.name;
      out = { ok: false, ename, message: String(e.message || e).slice(-300) };
    }
    parentPort.postMessage({ type: 'done', id: m.id, t_end: abs(), ...out });
  }
});
