// Assembles a dist/ directory with the fake module (test/fake-kite.js) and the real worker.js and
// controller.js (the layout embedded as the build does it), to test the hosts without the wasm
// build:  node make-fake-dist.mjs [OUT_DIR]   (default: a new temporary directory)
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeController } from '../../js/embed-layout.mjs';

if (!process.argv[2] && process.env.NODE_TEST_CONTEXT) process.exit(0); // collected by `node --test DIR`: nothing to test here

const here = path.dirname(fileURLToPath(import.meta.url));
const js = path.join(here, '../../js');
const out = process.argv[2] ? path.resolve(process.argv[2]) : mkdtempSync(path.join(os.tmpdir(), 'kite-fake-dist-'));
mkdirSync(out, { recursive: true });
copyFileSync(path.join(here, 'fake-kite.js'), path.join(out, 'kite.js'));
copyFileSync(path.join(js, 'worker.js'), path.join(out, 'worker.js'));
writeController(path.join(js, 'controller.js'), path.join(js, 'buffer-layout.json'), path.join(out, 'controller.js'));
writeFileSync(path.join(out, 'kite.wasm'), '');
writeFileSync(path.join(out, 'kite-stdlib.zip'), '');
writeFileSync(path.join(out, 'package.json'), '{"type": "module"}\n');
console.log(out);
