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
