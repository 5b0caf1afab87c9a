// The message size limit of kite-node (DEVELOPERS.md "The message size limit"): how it is
// configured, what the refusal says, and giving a refused message's memory back. ESM, Node only.
import v8 from 'node:v8';
import vm from 'node:vm';

// 64 MiB: 6x what Jupyter Server lets a browser send (tornado's websocket_max_message_size,
// 10 MiB), room for large widget/comm buffers, while one message can no longer grow the worker's
// wasm memory (which never shrinks) by gigabytes. The same default as kite-native.
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

// libzmq's own per-frame cap (ZMQ_MAXMSGSIZE): over it libzmq drops the connection without a
// word (no reply is possible), so it is set far above the limit, only to keep one frame from
// exhausting the process (Node cannot hold a Buffer over 4 GiB anyway).
const FRAME_HARD_CAP_MIN = 1024 * 1024 * 1024;

// An over-limit message is answered from its header alone; a header frame larger than this is
// not parsed (no real header comes close).
export const MAX_HEADER_FRAME = 64 * 1024;

// The deepest nesting of arrays/objects accepted in each JSON frame of a message (header,
// parent_header, metadata, content). Real messages nest a few levels (widget state and Plotly
// figures: under 20); Python's json (every jupyter_client) fails at about 1,000 (RecursionError),
// JSON.stringify and the worker's conversions recurse too. A deeper frame is refused by
// wire.js's parseMessage before anything parses it into a structure (DEVELOPERS.md).
export const MAX_JSON_DEPTH = 256;

/**
 * The nesting depth of the JSON text in `buf` (bytes), counted without recursion: brackets
 * outside strings. Stops at `limit + 1` (a frame of any depth costs one linear scan at most).
 */
export function jsonDepth(buf, limit = Infinity) {
  let depth = 0;
  let max = 0;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === 0x22) {
      // a string: its closing quote is the next one not escaped by an odd run of backslashes
      for (;;) {
        const j = buf.indexOf(0x22, i + 1);
        if (j < 0) return max; // unterminated: JSON.parse says so
        let k = j - 1;
        while (buf[k] === 0x5c) k--;
        i = j;
        if ((j - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return max;
}

/** Bytes from "67108864", "64M", "64MiB", "1g" (K/M/G: powers of 1024); NaN when unreadable. */
export function parseBytes(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(String(text));
  if (!m) return NaN;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Math.floor(Number(m[1]) * scale);
}

/** ZMQ_MAXMSGSIZE for the shell, control and stdin sockets (-1: none). */
export function frameCap(limit) {
  return limit > 0 ? Math.max(limit, FRAME_HARD_CAP_MIN) : -1;
}

function formatBytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** The evalue of a MessageTooLarge error: the size, the limit, how to raise it. */
export function tooLargeText(msgType, size, limit) {
  return (
    `the ${msgType} message is ${formatBytes(size)} (${size} bytes), over the kernel's limit of ` +
    `${formatBytes(limit)} (${limit} bytes) per message, and was not processed. Send less data per message, ` +
    'or raise the limit: set KITE_MAX_MESSAGE_BYTES (bytes, e.g. 256M; 0 = no limit) in the environment of ' +
    'the kernel (kernelspec "env") or pass --max-message-bytes to kite-node'
  );
}

// A refused message's frames are garbage at once, but V8 frees them (external memory) only at
// its next major collection, which a small heap may not need for a long time: collect soon after
// one, so the process's memory goes back to where it was. `gc` is exposed only then.
let collectGarbage;
let gcTimer = null;
export function releaseSoon() {
  if (collectGarbage === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collectGarbage = vm.runInNewContext('gc');
    } catch (e) {
      collectGarbage = null;
    }
  }
  if (!collectGarbage || gcTimer) return;
  gcTimer = setTimeout(() => {
    gcTimer = null;
    collectGarbage();
  }, 100);
  gcTimer.unref();
}
