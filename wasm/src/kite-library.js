// The JavaScript functions kite's C++ calls (were EM_JS, which a main module cannot use in
// Emscripten 3.1.6). Linked with --js-library; each __sig is the wasm signature.
mergeInto(LibraryManager.library, {
  // ---- wasm_interrupt_source.cpp
  // Every SharedArrayBuffer use is guarded: without cross-origin isolation the name is not even
  // defined, and a ReferenceError would unwind through wasm and CPython frames.
  kite_js_has_buffer: function() {
    return (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) ? 1 : 0;
  },
  kite_js_has_buffer__sig: 'i',
  // Without a shared buffer: the page's service-worker relay (worker.js, Module.kiteRelay), which
  // keeps the pending signal and its target on the page and answers polls and held waits.
  kite_js_has_relay: function() {
    return (Module.kiteRelay && Module.kiteRelay.ok) ? 1 : 0;
  },
  kite_js_has_relay__sig: 'i',
  kite_js_relay_begin: function(seq, execute) {
    if (Module.kiteRelay) Module.kiteRelay.begin(seq | 0, !!execute);
  },
  kite_js_relay_begin__sig: 'vii',
  kite_js_flush_after: function(ms) {
    var due = performance.now() + ms;
    if (!Module.kiteFlushDue || due < Module.kiteFlushDue) Module.kiteFlushDue = due;
  },
  kite_js_flush_after__sig: 'vd',
  kite_js_relay_end: function() {
    if (Module.kiteRelay) Module.kiteRelay.end();
  },
  kite_js_relay_end__sig: 'v',
  // Drops a signal aimed at other messages (an interrupt that raced with the end of an earlier
  // cell), but keeps one the main side already aimed at the execute_request (or comm_msg) now
  // starting: i32[TARGET] <= seq <= i32[TARGET_LAST], the requests sent before the interrupt.
  // An interrupt sent right after execute_request is never lost, nor one that a comm_msg queued
  // before the cell did not take.
  kite_js_begin_execute: function(seq) {
    if (typeof SharedArrayBuffer === 'undefined' || !Module.kiteBuffer || !Module.kiteLayout) return;
    var i32 = Module.kiteBuffer;
    var L = Module.kiteLayout;
    seq = seq | 0;
    var aimedHere = function () {
      var first = Atomics.load(i32, L.TARGET);
      return first <= seq && seq <= Math.max(first, Atomics.load(i32, L.TARGET_LAST));
    };
    var v = Atomics.load(i32, L.SIGNAL);
    if (v === 0 || aimedHere()) return;
    // compare-exchange: never clears a value written after our read; if the main side re-aimed
    // an (equal) signal at this message meanwhile, put it back
    if (Atomics.compareExchange(i32, L.SIGNAL, v, 0) === v && aimedHere()) {
        Atomics.compareExchange(i32, L.SIGNAL, 0, v);
    }
  },
  kite_js_begin_execute__sig: 'vi',
  kite_js_take: function() {
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        return Atomics.exchange(Module.kiteBuffer, Module.kiteLayout.SIGNAL, 0);
    }
    if (Module.kiteRelay && Module.kiteRelay.ok) return Module.kiteRelay.take();
    return 0;
  },
  kite_js_take__sig: 'i',
  // signals != 0: return early (1) when a signal is pending. Otherwise only the time counts.
  kite_js_wait: function(ms, signals) {
    var now = (typeof performance !== 'undefined') ? function() { return performance.now(); } : Date.now;
    var deadline = now() + ms;
    if (signals && typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        var i32 = Module.kiteBuffer;
        var at = Module.kiteLayout.SIGNAL;
        for (;;) {
            if (Atomics.load(i32, at) !== 0) return 1;
            var left = deadline - now();
            if (left <= 0) return 0;
            Atomics.wait(i32, at, 0, left);
        }
    }
    // No shared buffer: a request the page holds until the time is up (or a signal, if asked).
    if (Module.kiteRelay && Module.kiteRelay.ok) return Module.kiteRelay.wait(ms, signals);
    // Nothing may cut this wait short: sleep without burning CPU if we can...
    if (typeof SharedArrayBuffer !== 'undefined') {
        if (!Module.kiteSleepCell) Module.kiteSleepCell = new Int32Array(new SharedArrayBuffer(4));
        for (;;) {
            var rest = deadline - now();
            if (rest <= 0) return 0;
            Atomics.wait(Module.kiteSleepCell, 0, 0, rest);
        }
    }
    // ...else (degraded mode: not cross-origin isolated and no service worker) a blocking wait
    // is impossible in a worker: spin on the clock.
    while (now() < deadline) {}
    return 0;
  },
  kite_js_wait__sig: 'idi',
  kite_js_attach_signal_buffer: function() {
    // Batched stream text (flush_streams_after): CPython's periodic signal check reads
    // Module.Py_EmscriptenSignalBuffer, so its accessor also asks for the flush once it is due
    // (a pending call: the text goes out at the next eval-breaker check).
    Module.kiteFlushDue = 0;
    Module.kiteFlushCheck = function () {
        if (Module.kiteFlushDue && performance.now() >= Module.kiteFlushDue) {
            Module.kiteFlushDue = 0;
            Module._kite_request_stream_flush();
        }
    };
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        // CPython (kite patch 02) reads and clears element 0 with Atomics.exchange: a one-element
        // Int32Array view at i32[SIGNAL], the same atomic size as ours.
        var i32 = Module.kiteBuffer;
        var view = new Int32Array(i32.buffer, i32.byteOffset + 4 * Module.kiteLayout.SIGNAL, 1);
        Object.defineProperty(Module, 'Py_EmscriptenSignalBuffer', {
            configurable: true,
            enumerable: false,
            get: function () {
                if (Module.kiteFlushDue) Module.kiteFlushCheck();
                return view;
            },
            set: function () {},
        });
    } else if (Module.kiteRelay && Module.kiteRelay.ok) {
        // kite patch 02 reads element 0 and writes 0 when the buffer is not shared: the relay's
        // accessor returns a private cell and polls the page (rate-limited) while a cell runs
        Module.kiteRelay.attach(Module);
    }
  },
  kite_js_attach_signal_buffer__sig: 'v',
  // ---- wasm_transport.cpp
  kite_js_log: function(text) {
    Module.kiteLog(UTF8ToString(text));
  },
  kite_js_log__sig: 'vi',
  // Under @jupyterlite/xeus without kite's extension (wasm/xeus/kite-xeus.js): input() may block
  // in the xeus worker's get_stdin, which no signal can cut.
  kite_js_stdin_without_signals: function() {
    return Module.kiteStdinWithoutSignals ? 1 : 0;
  },
  kite_js_stdin_without_signals__sig: 'i',
  // ---- embind_entry.cpp
  // i32[SEQUENCE]: the seq of the message the worker handles (diagnostics for the main side).
  kite_js_note_sequence: function(seq) {
    if (typeof SharedArrayBuffer !== 'undefined' && Module.kiteBuffer && Module.kiteLayout) {
        Atomics.store(Module.kiteBuffer, Module.kiteLayout.SEQUENCE, seq | 0);
    }
  },
  kite_js_note_sequence__sig: 'vi',
  // ---- wasm_extension_preloader.cpp
  // A side module just installed (kite.packages): compile it now, on the engine's background
  // threads, and instantiate it once the worker is idle again (promises run between messages),
  // so `import` finds it in preloadedWasm instead of compiling it synchronously. Instantiation
  // is serialised (the dynamic linker lays modules out in order); an import that came first
  // (same cell) has loaded it already, then the preload stops there.
  kite_js_preload_side_module__deps: ['$loadWebAssemblyModule', '$LDSO'],
  kite_js_preload_side_module: function(pathPtr) {
    var path = UTF8ToString(pathPtr);
    var loaded = function () { return !!(LDSO.loadedLibsByName[path] || Module['preloadedWasm'][path]); };
    var started = performance.now();
    var compiled;
    try {
      compiled = WebAssembly.compile(FS.readFile(path));
    } catch (e) {
      Module.kiteLog('kite: cannot preload ' + path + ': ' + e);
      return;
    }
    compiled.catch(function () {});  // reported once, below
    Module.kiteSideModules = (Module.kiteSideModules || Promise.resolve()).then(function () {
      return compiled;
    }).then(function (wasmModule) {
      if (loaded()) return;
      return loadWebAssemblyModule(wasmModule, {loadAsync: true, nodelete: true}).then(function (exports) {
        if (loaded()) return;
        Module['preloadedWasm'][path] = exports;
        Module.kiteLog('kite: side module ready before its import: ' + path.split('/').pop() + ' (' +
                       (performance.now() - started).toFixed(0) + ' ms after the install)');
      });
    }).catch(function (e) {
      Module.kiteLog('kite: cannot preload ' + path + ': ' + e);
    });
  },
  kite_js_preload_side_module__sig: 'vi',
  // ---- embind functions whose address a position-independent build takes (GOT.func): the
  // main module's start-up needs their wasm signature, which 3.1.6's embind does not declare
  _emval_get_module_property__sig: 'ii',
  _emval_instanceof__sig: 'iii',
  _emval_new_array__sig: 'i',
  _emval_is_string__sig: 'ii',
  _emval_is_number__sig: 'ii',
});
