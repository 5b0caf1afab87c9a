// Shared helpers of the Node benchmark scripts: statistics and result files.
import fs from 'node:fs';
import os from 'node:os';

export function stats(samples) {
  const xs = samples.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!xs.length) return { n: 0, median: null, min: null, max: null, samples };
  const m = xs.length >> 1;
  const median = xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
  return { n: xs.length, median, min: xs[0], max: xs[xs.length - 1], samples };
}

// ratio of paired samples (a[i] / b[i]) plus the ratio of the medians
export function ratio(a, b) {
  const pairs = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] !== 0) pairs.push(a[i] / b[i]);
  }
  const sa = stats(a), sb = stats(b);
  return { ...stats(pairs), of_medians: sa.median != null && sb.median ? sa.median / sb.median : null };
}

export function machine() {
  return { loadavg: os.loadavg(), cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, node: process.version, at: new Date().toISOString() };
}

export function writeJson(path, obj) {
  fs.mkdirSync(new URL('.', 'file://' + (path.startsWith('/') ? path : process.cwd() + '/' + path)).pathname, { recursive: true });
  fs.writeFileSync(path, JSON.stringify(obj, null, 1) + '\n');
}

export function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : def;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (...a) => console.error('[bench]', ...a);

// identity of a build artefact, so results say which kite.wasm they measured
export async function fileId(file) {
  const { createHash } = await import('node:crypto');
  try {
    const buf = fs.readFileSync(file);
    return { file, bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex').slice(0, 16), mtime: fs.statSync(file).mtime.toISOString() };
  } catch (e) {
    return { file, error: String(e.message || e) };
  }
}
