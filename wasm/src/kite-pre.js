// --pre-js of kite.js: the JS half of the message transport (wasm/src/wasm_transport.cpp,
// embind_entry.cpp). These helpers run inside the module factory (`Module` is the module object)
// and never throw: a JS exception unwinding through wasm frames would skip C++ destructors.
//
// In:  xserver.notify_listener(msg) calls Module.kiteEncodeMessage(msg), which turns the plain
//      JS message {channel, header, parent_header, metadata, content, buffers} into JSON text per
//      part plus Uint8Array views of the buffers (ArrayBuffer, any TypedArray or DataView).
// Out: the transport calls Module.kiteDeliverMessage(json, views): the message becomes a JS
//      object again, with each buffer copied into its own ArrayBuffer, and goes to
//      Module.kiteSend(msg) (kite's worker.js), or to postMessage(msg) when no kiteSend is set
//      (the convention of JupyterLite's xeus worker).

Module['kiteEncodeMessage'] = function (msg) {
  var out = { channel: '', header: 'null', parent_header: '{}', metadata: '{}', content: 'null', buffers: [], errors: [] };
  try {
    if (!msg || typeof msg !== 'object') {
      out.errors.push('the message is not an object');
      return out;
    }
    out.channel = typeof msg.channel === 'string' ? msg.channel : '';
    var parts = ['header', 'parent_header', 'metadata', 'content'];
    for (var i = 0; i < parts.length; i++) {
      var name = parts[i];
      var value = msg[name];
      if (value === undefined) {
        if (name === 'header' || name === 'content') out.errors.push('the message has no ' + name);
        continue; // parent_header and metadata default to {}
      }
      try {
        var text = JSON.stringify(value);
        out[name] = text === undefined ? 'null' : text;
      } catch (e) {
        out.errors.push('the ' + name + ' cannot be encoded as JSON (' + String(e && e.message) + ')');
      }
    }
    var buffers = msg.buffers;
    if (buffers != null) {
      if (typeof buffers.length !== 'number') {
        out.errors.push('buffers is not an array');
      } else {
        for (var j = 0; j < buffers.length; j++) {
          var b = buffers[j];
          if (b instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer)) {
            out.buffers.push(new Uint8Array(b));
          } else if (b && ArrayBuffer.isView(b)) {
            out.buffers.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
          } else {
            out.errors.push('buffer ' + j + ' is not an ArrayBuffer, TypedArray or DataView');
            out.buffers.push(new Uint8Array(0));
          }
        }
      }
    }
  } catch (e) {
    out.errors.push('the message cannot be read (' + String(e && e.message) + ')');
  }
  return out;
};

Module['kiteDeliverMessage'] = function (json, views) {
  try {
    var msg = JSON.parse(json);
    var buffers = [];
    for (var i = 0; i < views.length; i++) buffers.push(views[i].slice().buffer); // out of wasm memory
    msg.buffers = buffers;
    if (typeof Module['kiteSend'] === 'function') Module['kiteSend'](msg);
    else if (typeof postMessage === 'function') postMessage(msg, buffers);
    else Module['kiteLog']('kite: no Module.kiteSend: dropped a ' + (msg.header && msg.header.msg_type) + ' message');
  } catch (e) {
    Module['kiteLog']('kite: cannot deliver a message: ' + String(e && e.stack || e));
  }
};

Module['kiteLog'] = Module['kiteLog'] || function (text) {
  try {
    console.error(text);
  } catch (e) {
    /* nowhere to log */
  }
};

// stdin: the transport's request_input. Returns what Module.kiteRequestInput(msg) returns (the
// reply's value, or a negative signal number), or null when no input can be asked for.
Module['kiteAskInput'] = function (json) {
  try {
    if (typeof Module['kiteRequestInput'] !== 'function') return null;
    var answer = Module['kiteRequestInput'](JSON.parse(json));
    if (typeof answer === 'string' || typeof answer === 'number') return answer;
    return null;
  } catch (e) {
    Module['kiteLog']('kite: input request failed: ' + String(e && e.stack || e));
    return null;
  }
};
