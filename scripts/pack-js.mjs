#!/usr/bin/env node
// The JavaScript half of the published package (`npm run build:dist`):
//  - dist/esm: lib/ compiled as ES modules with .d.ts (tsconfig.esm.json);
//  - dist/cjs: lib/ compiled as CommonJS with .d.ts (tsconfig.cjs.json), plus a package.json
//    {"type": "commonjs"} so Node reads those .js files as CommonJS inside this "type": "module" package;
//  - dist/vendor/node-addon-api: node-addon-api's headers and index.js, so the from-source build
//    (`npm rebuild otca`, scripts/install.mjs) compiles binding.gyp in an installed package, where
//    node-addon-api (a devDependency) is absent. scripts/install.mjs puts dist/vendor on NODE_PATH.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

for (const format of ['esm', 'cjs']) {
  rmSync(join(root, 'dist', format), { recursive: true, force: true });
  console.log(`[pack-js] tsc -p tsconfig.${format}.json`);
  const r = spawnSync(process.execPath, [tsc, '-p', `tsconfig.${format}.json`], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const type = format === 'esm' ? 'module' : 'commonjs';
  writeFileSync(join(root, 'dist', format, 'package.json'), `${JSON.stringify({ type }, null, 2)}\n`);
}

const require = createRequire(join(root, 'package.json'));
const napiDir = dirname(require.resolve('node-addon-api/package.json'));
const napiPkg = JSON.parse(readFileSync(join(napiDir, 'package.json'), 'utf8'));
const vendor = join(root, 'dist', 'vendor', 'node-addon-api');
rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const f of ['index.js', 'napi.h', 'napi-inl.h', 'napi-inl.deprecated.h', 'LICENSE.md']) {
  copyFileSync(join(napiDir, f), join(vendor, f));
}
const trimmed = { name: napiPkg.name, version: napiPkg.version, license: napiPkg.license, main: 'index.js' };
writeFileSync(join(vendor, 'package.json'), `${JSON.stringify(trimmed, null, 2)}\n`);
console.log(`[pack-js] dist/esm, dist/cjs, dist/vendor/node-addon-api (${napiPkg.version})`);
