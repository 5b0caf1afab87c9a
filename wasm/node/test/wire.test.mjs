// Unit tests of wire.js (parsing, limits) and message-limit.js:   node --test wasm/node/test/
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';

import { MAX_JSON_DEPTH, jsonDepth } from '../message-limit.js';
import { createWire, shallowHeader } from '../wire.js';

const KEY = Buffer.from('k');
const DELIM = Buffer.from('<IDS|MSG>');
const sign = (parts) => {
  const h = createHmac('sha256', KEY);
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest('hex'));
};
const header = (extra = {}) => ({ msg_id: 'm1', msg_type: 'kernel_info_request', session: 's', username: 'u', date: '2026-12-01T12:00:00.000001Z', version: '5.3', ...extra });
const deepText = (depth, kind = 'list') => (kind === 'list' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '{}' + '}'.repeat(depth));
/** Frames of a signed message; `raw` replaces a part's JSON text ({header|parent|metadata|content: text}). */
function frames(objs = {}, raw = {}) {
  const names = ['header', 'parent', 'metadata', 'content'];
  const base = { header: header(), parent: {}, metadata: {}, content: {}, ...objs };
  const parts = names.map((n) => Buffer.from(raw[n] !== undefined ? raw[n] : JSON.stringify(base[n])));
  return [Buffer.from('id'), DELIM, sign(parts), ...parts];
}
/** `{..., "deep": <deep>}` spliced as text (JSON.stringify could not write it). */
const withDeep = (obj, depth, kind) => JSON.stringify(obj).slice(0, -1) + `${Object.keys(obj).length ? ',' : ''}"deep":${deepText(depth, kind)}}`;

test('jsonDepth: brackets outside strings, escapes, early stop', () => {
  assert.equal(jsonDepth(Buffer.from('{}')), 1);
  assert.equal(jsonDepth(Buffer.from('1')), 0);
  assert.equal(jsonDepth(Buffer.from('{"a": [1, {"b": []}], "c": {}}')), 4);
  assert.equal(jsonDepth(Buffer.from('{"a": "[[[[{{{{"}')), 1);
  assert.equal(jsonDepth(Buffer.from('{"a": "x\\\\", "b": [[]]}')), 3); // an escaped backslash ends the string
  assert.equal(jsonDepth(Buffer.from('{"a": "x\\"[[[[", "b": []}')), 2); // an escaped quote does not
  assert.equal(jsonDepth(Buffer.from('{"\u00e9[": ["\u{1F600}"]}')), 2);
  assert.equal(jsonDepth(Buffer.from(deepText(100000))), 100000);
  assert.equal(jsonDepth(Buffer.from(deepText(100000, 'dict')), 256), 257);
  assert.equal(jsonDepth(Buffer.from('{"a": "unterminated')), 1);
});

test('messages nested within the limit are parsed as they are', () => {
  const { parseMessage } = createWire({ key: KEY, maxMessageBytes: 0 });
  const m = parseMessage(frames({}, { content: withDeep({ x: 1 }, MAX_JSON_DEPTH - 1), parent: withDeep({}, MAX_JSON_DEPTH - 1) }), 'shell');
  assert.ok(m.msg, JSON.stringify(m).slice(0, 200));
  assert.equal(m.msg.content.x, 1);
  assert.equal(jsonDepth(Buffer.from(JSON.stringify(m.msg.content))), MAX_JSON_DEPTH);
});

test('a frame nested deeper than the limit: MalformedMessage, with the (shallow) header as parent', () => {
  const { parseMessage, frame, hostMessage } = createWire({ key: KEY, maxMessageBytes: 0 });
  for (const part of ['parent', 'metadata', 'content']) {
    for (const depth of [MAX_JSON_DEPTH, 3000, 100000]) {
      for (const kind of ['list', 'dict']) {
        const m = parseMessage(frames({}, { [part]: withDeep({}, depth, kind) }), 'shell');
        const name = { parent: 'parent_header', metadata: 'metadata', content: 'content' }[part];
        assert.equal(m.msg, undefined);
        assert.match(m.bad, new RegExp(`the ${name} frame nests deeper than ${MAX_JSON_DEPTH} levels`));
        assert.deepEqual(m.header, header());
      }
    }
  }
});

test('a header nested too deep is never echoed: only its shallow fields are kept', () => {
  const { parseMessage, frame, hostMessage } = createWire({ key: KEY, maxMessageBytes: 0 });
  for (const depth of [MAX_JSON_DEPTH, 10000, 100000]) {
    const m = parseMessage(frames({}, { header: withDeep(header(), depth, 'dict') }), 'shell');
    assert.match(m.bad, /the header frame nests deeper than/);
    assert.deepEqual(m.header, header());
    // what the host answers with can be framed (JSON.stringify never meets the deep value)
    const out = frame(hostMessage('shell', 'kernel_info_reply', { status: 'error' }, m.header), m.ids);
    assert.ok(out.every((f) => jsonDepth(f) <= 2));
  }
  // deep and without msg_id: the header is still not echoed
  const noId = parseMessage(frames({}, { header: withDeep({ msg_type: 'x_request' }, 5000) }), 'shell');
  assert.deepEqual(noId.header, { msg_type: 'x_request' });
  // a deep header AND a deep content: the shallow header
  const both = parseMessage(frames({}, { header: withDeep(header(), 5000), content: withDeep({}, 5000) }), 'shell');
  assert.deepEqual(both.header, header());
  assert.deepEqual(shallowHeader([1]), {});
});

test('over the size limit: a deep header is shallow too', () => {
  const { parseMessage } = createWire({ key: KEY, maxMessageBytes: 1000 });
  const m = parseMessage(frames({ content: { x: 'a'.repeat(2000) } }, { header: withDeep(header(), 1000) }), 'shell');
  assert.equal(m.tooLarge > 1000, true);
  assert.deepEqual(m.header, header());
});
