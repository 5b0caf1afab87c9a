// Assembles a dist/ directory with the fake module (test/fake-kite.js) and the real worker.js and
// controller.js, to test the hosts without the wasm build:  node make-fake-dist.mjs OUT_DIR
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const js = path.join(here, '../../js');
const out = path.resolve(process.argv[2] || 'fake-dist');
mkdirSync(out, { recursive: true });
copyFileSync(path.join(here, 'fake-kite.js'), path.join(out, 'kite.js'));
copyFileSync(path.join(js, 'worker.js'), path.join(out, 'worker.js'));
copyFileSync(path.join(js, 'controller.js'), path.join(out, 'controller.js'));
writeFileSync(path.join(out, 'kite.wasm'), '');
writeFileSync(path.join(out, 'kite-stdlib.zip'), '');
writeFileSync(path.join(out, 'package.json'), '{"type": "module"}\n');
console.log(out);
