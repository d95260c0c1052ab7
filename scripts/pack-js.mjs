#!/usr/bin/env node
// The JavaScript of the package, what package.json's `exports` name (`npm run build:dist`; part of
// `npm run build`):
//  - dist/cjs: lib/ compiled once, as CommonJS with .d.ts (tsconfig.cjs.json, @internal stripped),
//    plus a package.json {"type": "commonjs"} so Node reads those .js files as CommonJS inside this
//    "type": "module" package;
//  - dist/esm: for each entry (index, tfjs), an ES module that re-exports the CommonJS build's named
//    exports, and a .d.ts that re-exports its types. One build, so a Tensor (or an error) made
//    through `require('otca')` is the same class as one made through `import`;
//  - the .d.ts of dist/cjs that no entry's types reach (native.d.ts, validate.d.ts, ...) are removed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const cjs = join(root, 'dist', 'cjs');
const esm = join(root, 'dist', 'esm');
/** The package's entries: `otca` and `otca/tfjs`. */
const ENTRIES = ['index', 'tfjs'];

rmSync(cjs, { recursive: true, force: true });
rmSync(esm, { recursive: true, force: true });
rmSync(join(root, 'dist', 'vendor'), { recursive: true, force: true }); // what earlier versions made
console.log('[pack-js] tsc -p tsconfig.cjs.json');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.cjs.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(join(cjs, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

// Only the declarations the entries reach stay.
const reached = new Set();
const visit = (file) => {
  if (reached.has(file)) return;
  reached.add(file);
  const text = readFileSync(join(cjs, file), 'utf8');
  for (const m of text.matchAll(/(?:from|import\()\s*['"]\.\/([\w-]+)\.js['"]/g)) visit(`${m[1]}.d.ts`);
};
for (const entry of ENTRIES) visit(`${entry}.d.ts`);
for (const f of readdirSync(cjs)) if (f.endsWith('.d.ts') && !reached.has(f)) rmSync(join(cjs, f));

// The ES-module entries: named re-exports of the CommonJS build (no default export, as before).
mkdirSync(esm, { recursive: true });
writeFileSync(join(esm, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
const require = createRequire(join(cjs, 'index.js'));
for (const entry of ENTRIES) {
  const names = Object.keys(require(`./${entry}.js`)).filter((k) => k !== '__esModule' && k !== 'default').sort();
  if (names.length === 0) throw new Error(`[pack-js] dist/cjs/${entry}.js exports nothing`);
  const header = `// The ES-module entry of dist/cjs/${entry}.js: the same objects (one Tensor class for import and require).\n`;
  writeFileSync(
    join(esm, `${entry}.js`),
    `${header}import cjs from '../cjs/${entry}.js';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n`,
  );
  writeFileSync(join(esm, `${entry}.d.ts`), `${header}export * from '../cjs/${entry}.js';\n`);
}
if (!existsSync(join(cjs, 'index.d.ts'))) throw new Error('[pack-js] no dist/cjs/index.d.ts');
console.log(`[pack-js] dist/cjs (${[...reached].sort().join(', ')}), dist/esm (${ENTRIES.join(', ')})`);
