// kite's URL fetcher for the wasm kernel (`_kite.fetch`, wasm/src/wasm_url_fetcher.cpp): HTTP GET
// that is synchronous from Python's view, because the kernel's worker is busy running the cell.
// Loaded by worker.js on the first fetch (a classic script: importScripts in a browser; evaluated
// as CommonJS under Node), so kernel start-up does not pay for it.
//
//   makeFetcher({isNode, nodeRequire, i32, layout, baseUrl}) -> fetch(url, headersJson, watch)
//     -> {status, headersJson, body: Uint8Array} | {signal} | {error}   (never throws);
//   fetch.prestart(): starts the helper thread (needs SharedArrayBuffer)
//
// With SharedArrayBuffer (Node; cross-origin isolated pages): a helper thread (a worker_thread
// under Node, a nested Worker in a browser) does the real fetch and hands the response over in
// chunks through shared memory; this worker waits with Atomics.wait in 10 ms slices and, when
// `watch` (inside an execute_request), gives up as soon as the interrupt slot i32[SIGNAL] is set
// (it leaves the signal there: the C++ side takes it and raises it as time.sleep does), and the
// helper aborts the transfer. Everything after the helper's start goes through shared memory, not
// messages: Chromium neither starts a nested worker nor delivers a message to it while its parent
// blocks. So in a browser the helper is started when the worker is idle (`prestart`, right after
// Python is ready); a fetch before it is up falls back to the synchronous XMLHttpRequest.
// The mailbox (ctrl, Int32Array): [STATE, LENGTH, CANCEL, REQ_ID, READY, BUSY]; `data` holds the
// request (JSON {url, headers}) or one part of the answer. STATE: REQUEST (this side wrote one),
// WORKING (the helper took it), META / CHUNK / END / ERROR (the helper wrote a part and waits),
// IDLE (this side took the part: the helper's turn). CANCEL = the id of an abandoned request.
// Without SharedArrayBuffer (pages without isolation): a synchronous XMLHttpRequest
// (responseType arraybuffer, allowed in workers); an interrupt is seen only when it returns.
// file:// URLs and plain paths are read from the host's disk under Node (a missing file: 404).
'use strict';
(function (root) {
  const IDLE = 0;
  const META = 1;
  const CHUNK = 2;
  const END = 3;
  const ERROR = 4;
  const REQUEST = 5;
  const WORKING = 6;
  const [STATE, LENGTH, CANCEL, REQ_ID, READY, BUSY] = [0, 1, 2, 3, 4, 5];
  const DATA_BYTES = 1 << 20;
  const SLICE_MS = 10;

  // The helper thread's whole program (its source is what runs there); the constants are passed in.
  function helperMain(K) {
    const isNode = typeof process === 'object' && !!(process.versions && process.versions.node) && typeof importScripts !== 'function';
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    let c;
    let d;

    async function handle(text, id) {
      const cancelled = () => Atomics.load(c, K.CANCEL) === id;
      // false once this side abandoned the request
      const handOver = (state, bytes) => {
        if (cancelled()) return false;
        d.set(bytes);
        Atomics.store(c, K.LENGTH, bytes.length);
        Atomics.store(c, K.STATE, state);
        Atomics.notify(c, K.STATE);
        while (Atomics.load(c, K.STATE) === state && !cancelled()) Atomics.wait(c, K.STATE, state, 200);
        return !cancelled();
      };
      const sendBody = (bytes) => {
        for (let i = 0; i < bytes.length; i += d.length) {
          if (!handOver(K.CHUNK, bytes.subarray(i, i + d.length))) return false;
        }
        return true;
      };
      const meta = (status, headers) => handOver(K.META, enc.encode(JSON.stringify({ status, headers })));
      const abort = new AbortController();
      const watchdog = setInterval(() => cancelled() && abort.abort(), 50);
      try {
        const req = JSON.parse(text);
        const url = req.url;
        if (isNode && (url.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:/i.test(url))) {
          const path = url.startsWith('file:') ? require('url').fileURLToPath(url) : require('path').resolve(url);
          let body;
          try {
            body = await require('fs').promises.readFile(path);
          } catch (e) {
            if (!(e && (e.code === 'ENOENT' || e.code === 'ENOTDIR'))) throw e;
            if (meta(404, {})) handOver(K.END, new Uint8Array(0));
            return;
          }
          if (meta(200, { 'content-length': String(body.length) }) && sendBody(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))) {
            handOver(K.END, new Uint8Array(0));
          }
          return;
        }
        const response = await fetch(url, { headers: req.headers || {}, signal: abort.signal, redirect: 'follow' });
        const headers = {};
        response.headers.forEach((v, k) => {
          headers[k.toLowerCase()] = v;
        });
        if (!meta(response.status, headers)) return;
        const reader = response.body ? response.body.getReader() : null;
        while (reader) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!sendBody(value)) return;
        }
        handOver(K.END, new Uint8Array(0));
      } catch (e) {
        const cause = e && e.cause ? ` (${[e.cause.code, e.cause.message || String(e.cause)].filter(Boolean).join(': ')})` : '';
        handOver(K.ERROR, enc.encode(`${(e && e.message) || e}${cause}`.slice(0, 4000)));
      } finally {
        clearInterval(watchdog);
        if (cancelled()) abort.abort();
      }
    }

    async function serve() {
      for (;;) {
        const state = Atomics.load(c, K.STATE);
        if (state !== K.REQUEST) {
          // between requests nothing else runs here: block (Atomics.waitAsync would not keep a
          // Node worker's event loop alive, and the thread would end)
          Atomics.wait(c, K.STATE, state, 1000);
          continue;
        }
        const id = Atomics.load(c, K.REQ_ID);
        Atomics.store(c, K.BUSY, 1);
        const text = dec.decode(d.slice(0, Atomics.load(c, K.LENGTH)));
        Atomics.store(c, K.STATE, K.WORKING);
        try {
          await handle(text, id);
        } finally {
          if (Atomics.load(c, K.CANCEL) === id) Atomics.store(c, K.STATE, K.IDLE);
          Atomics.store(c, K.BUSY, 0);
          Atomics.notify(c, K.BUSY);
        }
      }
    }

    const start = (m) => {
      c = new Int32Array(m.ctrl);
      d = new Uint8Array(m.data);
      Atomics.store(c, K.READY, 1);
      Atomics.notify(c, K.READY);
      serve();
    };
    if (isNode) require('worker_threads').parentPort.once('message', start);
    else self.onmessage = (ev) => start(ev.data);
  }

  function makeFetcher({ isNode, nodeRequire, i32, layout, baseUrl }) {
    let helper = null;
    // SharedArrayBuffer is not even defined on pages without cross-origin isolation
    const shared = typeof SharedArrayBuffer !== 'undefined' && (isNode || typeof Worker === 'function');
    const c = shared ? new Int32Array(new SharedArrayBuffer(32)) : null;
    const data = shared ? new SharedArrayBuffer(DATA_BYTES) : null;
    const dec = new TextDecoder();
    const enc = new TextEncoder();
    const K = { IDLE, META, CHUNK, END, ERROR, REQUEST, WORKING, STATE, LENGTH, CANCEL, REQ_ID, READY, BUSY };
    const src = `(${helperMain.toString()})(${JSON.stringify(K)});`;
    const signalled = (watch) => (watch && i32 && layout ? Atomics.load(i32, layout.SIGNAL) : 0);

    // Starts the helper; in a browser call it while this worker is idle (see the top of the file).
    function prestart() {
      if (helper || !shared) return;
      if (isNode) {
        const { Worker } = nodeRequire('worker_threads');
        helper = new Worker(src, { eval: true });
        helper.unref();
      } else {
        helper = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
      }
      helper.postMessage({ ctrl: c.buffer, data });
    }

    function absolute(url) {
      if (isNode) return url;
      try {
        return new URL(url, baseUrl ? new URL(baseUrl, self.location.href) : self.location.href).href;
      } catch (e) {
        return url;
      }
    }

    // Waits while ctrl[at] === value: true when it changed, {signal} when one is pending first,
    // false after `ms` (Infinity: no limit).
    function waitWhile(at, value, watch, ms) {
      const deadline = Date.now() + ms;
      while (Atomics.load(c, at) === value) {
        const sig = signalled(watch);
        if (sig) return { signal: sig };
        const left = deadline - Date.now();
        if (left <= 0) return false;
        Atomics.wait(c, at, value, Math.min(watch ? SLICE_MS : 1000, left));
      }
      return true;
    }

    // The helper's answer, or null when it is not running (then: XMLHttpRequest).
    function viaHelper(url, headers, watch) {
      if (!helper && isNode) prestart();
      if (!helper) return null;
      let w = waitWhile(READY, 0, watch, isNode ? 10000 : 0);
      if (w !== true) {
        if (w && w.signal) return w;
        return isNode ? { error: 'the fetch helper thread did not start within 10 s' } : null;
      }
      w = waitWhile(BUSY, 1, watch, Infinity); // an abandoned request winding down
      if (w !== true) return w;
      const id = Atomics.add(c, REQ_ID, 1) + 1;
      const request = enc.encode(JSON.stringify({ url, headers }));
      if (request.length > data.byteLength) return { error: 'the URL and headers are too long' };
      new Uint8Array(data).set(request);
      Atomics.store(c, LENGTH, request.length);
      Atomics.store(c, STATE, REQUEST);
      Atomics.notify(c, STATE);
      const chunks = [];
      let total = 0;
      let meta = null;
      for (;;) {
        const state = Atomics.load(c, STATE);
        if (state === REQUEST || state === WORKING || state === IDLE) {
          const sig = signalled(watch);
          if (sig) {
            Atomics.store(c, CANCEL, id); // the helper aborts at its next check (<= 50 ms)
            Atomics.notify(c, STATE);
            return { signal: sig };
          }
          Atomics.wait(c, STATE, state, watch ? SLICE_MS : 1000);
          continue;
        }
        const bytes = new Uint8Array(data, 0, Atomics.load(c, LENGTH)).slice(); // out of shared memory
        Atomics.store(c, STATE, IDLE);
        Atomics.notify(c, STATE);
        if (state === META) meta = JSON.parse(dec.decode(bytes));
        else if (state === CHUNK) {
          chunks.push(bytes);
          total += bytes.length;
        } else if (state === ERROR) return { error: dec.decode(bytes) };
        else if (state === END) break;
      }
      const body = new Uint8Array(total);
      let at = 0;
      for (const b of chunks) {
        body.set(b, at);
        at += b.length;
      }
      return { status: meta.status, headersJson: JSON.stringify(meta.headers || {}), body };
    }

    function viaXhr(url, headers) {
      const xhr = new XMLHttpRequest();
      xhr.open('GET', url, false);
      xhr.responseType = 'arraybuffer';
      for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
      try {
        xhr.send();
      } catch (e) {
        return { error: `${(e && e.message) || e}` };
      }
      if (xhr.status === 0) return { error: `network error (offline, or the server sends no CORS headers)` };
      const out = {};
      for (const line of (xhr.getAllResponseHeaders() || '').trim().split(/[\r\n]+/)) {
        const i = line.indexOf(':');
        if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      return { status: xhr.status, headersJson: JSON.stringify(out), body: new Uint8Array(xhr.response || new ArrayBuffer(0)) };
    }

    const kiteFetch = function (url, headersJson, watch) {
      try {
        const headers = headersJson ? JSON.parse(headersJson) : {};
        const target = absolute(url);
        return viaHelper(target, headers, !!watch) || viaXhr(target, headers);
      } catch (e) {
        return { error: `${(e && e.name) || 'Error'}: ${(e && e.message) || e}` };
      }
    };
    kiteFetch.prestart = prestart;
    return kiteFetch;
  }

  if (typeof module === 'object' && module && module.exports) module.exports = { makeFetcher };
  else root.kiteMakeFetcher = makeFetcher;
})(typeof self !== 'undefined' ? self : globalThis);
