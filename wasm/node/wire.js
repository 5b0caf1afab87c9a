// The Jupyter wire protocol for kite-node (messaging spec 5.3 over ZeroMQ): parsing and HMAC
// verification of incoming multipart messages, framing and signing of outgoing ones, and the
// few messages the host itself builds. No sockets, no kernel state. ESM, Node only.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

import { MAX_HEADER_FRAME, MAX_JSON_DEPTH, jsonDepth } from './message-limit.js';

export const PROTOCOL_VERSION = '5.3';
const DELIM = Buffer.from('<IDS|MSG>');

export const isObject = (v) => !!v && typeof v === 'object' && !Array.isArray(v);

/** An exact ArrayBuffer copy of a frame (transferred to the worker, never a pooled one). */
function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

export function replyType(msg_type) {
  if (typeof msg_type !== 'string' || !msg_type) return 'error_reply';
  return msg_type.endsWith('_request') ? msg_type.slice(0, -'_request'.length) + '_reply' : `${msg_type}_reply`;
}

/**
 * A header nested deeper than MAX_JSON_DEPTH, made safe to use as a parent_header: its top-level
 * fields whose values are not objects or arrays (msg_id, msg_type, session, date, ...).
 */
export function shallowHeader(header) {
  const out = {};
  if (isObject(header)) for (const [k, v] of Object.entries(header)) if (v === null || typeof v !== 'object') out[k] = v;
  return out;
}

const tooDeepText = (name) => `the ${name} frame nests deeper than ${MAX_JSON_DEPTH} levels of arrays/objects (the kernel's limit)`;

export function errorContent(ename, evalue) {
  return { status: 'error', ename, evalue, traceback: [`${ename}: ${evalue}`] };
}

/**
 * The wire of one connection: `key` (the connection file's HMAC key, '' for none),
 * `maxMessageBytes` (0: no limit).
 */
export function createWire({ key, maxMessageBytes }) {
  const session = randomUUID(); // of the few messages built by the host

  function sign(frames) {
    if (!key.length) return '';
    const h = createHmac('sha256', key);
    for (const f of frames) h.update(f);
    return h.digest('hex');
  }

  /**
   * Parses a multipart message into {ids, msg} (msg: a whole Jupyter message for the core), or
   * {drop: reason} (not answerable: bad signature, no delimiter, too few frames), or
   * {ids, bad: reason, header?} (answerable here: it cannot reach the core), or
   * {ids, tooLarge: bytes, header} (over the message size limit: only the header was parsed).
   */
  function parseMessage(frames, channel) {
    const idx = frames.findIndex((f) => f.length === DELIM.length && f.equals(DELIM));
    if (idx < 0) return { drop: 'no <IDS|MSG> delimiter' };
    const ids = frames.slice(0, idx).map((f) => Buffer.from(f)); // copies: never a view into a big message
    if (frames.length < idx + 6) return { drop: `expected 5 frames after <IDS|MSG>, got ${frames.length - idx - 1}`, ids };
    const parts = frames.slice(idx + 2, idx + 6);
    if (key.length) {
      const want = Buffer.from(sign(parts), 'latin1');
      const got = frames[idx + 1];
      if (got.length !== want.length || !timingSafeEqual(got, want)) return { drop: 'invalid HMAC signature', ids };
    }
    if (maxMessageBytes > 0) {
      let size = 0;
      for (let i = idx + 2; i < frames.length; i++) size += frames[i].length;
      if (size > maxMessageBytes) {
        // not parsed, not handed to the worker: only the header, to route the error reply
        let header = null;
        if (parts[0].length <= MAX_HEADER_FRAME) {
          try {
            header = JSON.parse(parts[0].toString('utf8'));
            if (jsonDepth(parts[0], MAX_JSON_DEPTH) > MAX_JSON_DEPTH) header = shallowHeader(header);
          } catch (e) {
            header = null;
          }
        }
        if (!isObject(header) || typeof header.msg_id !== 'string' || typeof header.msg_type !== 'string' || !header.msg_type) {
          return { drop: `a message of ${size} bytes, over the limit of ${maxMessageBytes}, whose header cannot be read`, ids };
        }
        return { ids, tooLarge: size, header };
      }
    }
    const names = ['header', 'parent_header', 'metadata', 'content'];
    // Nesting is measured before parsing (a linear scan, no recursion): a frame deeper than
    // MAX_JSON_DEPTH never becomes a structure anything walks recursively (JSON.stringify, the
    // worker, a client's decoder when echoed as parent_header). A too-deep header is answered
    // with its shallow fields as parent (shallowHeader), never echoed.
    let deepHeader = false;
    const parsed = [];
    for (let i = 0; i < 4; i++) {
      const tooDeep = jsonDepth(parts[i], MAX_JSON_DEPTH) > MAX_JSON_DEPTH;
      if (tooDeep && i > 0) return { ids, bad: tooDeepText(names[i]), header: deepHeader ? shallowHeader(parsed[0]) : parsed[0] };
      try {
        parsed.push(JSON.parse(parts[i].toString('utf8'))); // V8's JSON.parse does not recurse
      } catch (e) {
        return { ids, bad: `the ${names[i]} frame is not valid JSON (${e.message})`, header: i > 0 ? (deepHeader ? shallowHeader(parsed[0]) : parsed[0]) : null };
      }
      if (tooDeep) deepHeader = true;
    }
    const [parsedHeader, parent_header, metadata, content] = parsed;
    if (!isObject(parsedHeader)) return { ids, bad: 'the header is not a JSON object' };
    const header = deepHeader ? shallowHeader(parsedHeader) : parsedHeader;
    // replies are routed back by the request's msg_id; the core drops a message without msg_type
    for (const field of ['msg_id', 'msg_type']) {
      if (typeof header[field] !== 'string' || !header[field]) return { ids, bad: `the header has no ${field}`, header };
    }
    if (deepHeader) return { ids, bad: tooDeepText('header'), header };
    const buffers = frames.slice(idx + 6).map(toArrayBuffer);
    return { ids, msg: { channel, header, parent_header, metadata, content, buffers } };
  }

  /** A message built by this host (errors it answers itself, crash recovery statuses). */
  function hostMessage(channel, msg_type, content, parent) {
    return {
      channel,
      header: { msg_id: randomUUID(), session, username: 'kite', date: new Date().toISOString(), msg_type, version: PROTOCOL_VERSION },
      parent_header: isObject(parent) ? parent : {},
      metadata: {},
      content,
      buffers: [],
    };
  }

  /** The frames of `msg` for a socket: routing ids (not on iopub), delimiter, signature, parts, buffers. */
  function frame(msg, ids = []) {
    const parts = [msg.header, msg.parent_header || {}, msg.metadata || {}, msg.content || {}].map((o) => Buffer.from(JSON.stringify(o), 'utf8'));
    const buffers = (msg.buffers || []).map((b) => (ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b)));
    return [...(msg.channel === 'iopub' ? [] : ids), DELIM, Buffer.from(sign(parts), 'latin1'), ...parts, ...buffers];
  }

  return { parseMessage, hostMessage, frame };
}
