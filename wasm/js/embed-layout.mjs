#!/usr/bin/env node
// Writes the deployable controller.js: wasm/js/controller.js with the shared buffer layout
// (wasm/js/buffer-layout.json, the one place it is written) embedded where the source says
// `/* @kite-buffer-layout */ null`, so controller.js stays one ES module with no run-time import.
//   node embed-layout.mjs CONTROLLER_JS LAYOUT_JSON OUT_JS
// The worker gets the same layout from the controller (`init`) and hands it to the wasm module
// (Module.kiteLayout), so the C++ (EM_JS), worker.js and the test fake read the same numbers.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const MARKER = '/* @kite-buffer-layout */ null';

const REQUIRED = ['SIGNAL', 'STDIN_STATE', 'INPUT_LENGTH', 'TARGET', 'SEQUENCE', 'TARGET_LAST', 'INPUT_OFFSET',
  'INPUT_CAPACITY', 'STDIN_NONE', 'STDIN_WAITING', 'STDIN_REPLIED', 'SIGINT'];

/** Reads and checks the layout file. */
export function readLayout(layoutPath) {
  const layout = JSON.parse(readFileSync(layoutPath, 'utf8'));
  for (const k of REQUIRED) {
    if (!Number.isInteger(layout[k]) || layout[k] < 0) throw new Error(`${layoutPath}: ${k} must be a non-negative integer`);
  }
  const ints = ['SIGNAL', 'STDIN_STATE', 'INPUT_LENGTH', 'TARGET', 'SEQUENCE', 'TARGET_LAST'].map((k) => layout[k]);
  if (new Set(ints).size !== ints.length) throw new Error(`${layoutPath}: two int32 slots share an index`);
  if (layout.INPUT_OFFSET % 4 !== 0 || layout.INPUT_OFFSET < 4 * (Math.max(...ints) + 1)) {
    throw new Error(`${layoutPath}: INPUT_OFFSET must be 4-aligned and after the int32 slots`);
  }
  return layout;
}

/** The controller's source with the layout embedded. */
export function embedLayout(source, layout) {
  const at = source.indexOf(MARKER);
  if (at < 0 || source.indexOf(MARKER, at + 1) >= 0) throw new Error(`controller.js must contain ${MARKER} exactly once`);
  return source.slice(0, at) + JSON.stringify(layout) + source.slice(at + MARKER.length);
}

export function writeController(controllerPath, layoutPath, outPath) {
  writeFileSync(outPath, embedLayout(readFileSync(controllerPath, 'utf8'), readLayout(layoutPath)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [controllerPath, layoutPath, outPath] = process.argv.slice(2);
  if (!outPath) {
    console.error('usage: node embed-layout.mjs CONTROLLER_JS LAYOUT_JSON OUT_JS');
    process.exit(2);
  }
  writeController(controllerPath, layoutPath, outPath);
}
