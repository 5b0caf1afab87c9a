// --pre-js of kite.js. Under Node 20 the global `fetch` exists but cannot load a file path
// ("Failed to parse URL"), and Emscripten 3.1.6 prefers it for kite.wasm: hide it in Node so the
// module reads the file (worker.js also passes wasmBinary). Elsewhere keep the real one.
var fetch = (typeof process === 'object' && process.versions && process.versions.node)
    ? undefined
    : (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
