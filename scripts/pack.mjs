#!/usr/bin/env node
// Builds everything the tarball holds and packs it (`npm run pack:tarball`):
//   1. the prebuild (scripts/prebuild.mjs: prebuildify + the cmake-js shim; --clean by default),
//   2. the JavaScript (scripts/pack-js.mjs: dist/esm, dist/cjs, dist/vendor),
//   3. `npm pack --ignore-scripts` (the steps above are what `prepack` would run),
// then reports the binary's size and the tarball's packed and unpacked sizes, and fails when the
// unpacked size reaches 15 MB.
//
//   --reuse [path]          prebuild an existing addon instead of compiling (see prebuild.mjs)
//   --pack-destination dir  where the .tgz goes (default: the repository root)
// The last line of stdout is `OTCA_PACK {json}` with tarball, bytes and file list, for the tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const LIMIT = 15_000_000;

function option(name) {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
}

function step(script, args) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', script), ...args], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const reuse = argv.includes('--reuse');
step('prebuild.mjs', reuse ? ['--reuse', ...(option('--reuse') ? [option('--reuse')] : [])] : ['--clean']);
step('pack-js.mjs', []);

const dest = resolve(option('--pack-destination') ?? root);
const npmCli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
const out = execFileSync(npmCli[0], [...npmCli.slice(1), 'pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
const info = JSON.parse(out.slice(out.indexOf('[')))[0];
const tarball = join(dest, info.filename);
const binary = info.files.find((f) => /^prebuilds\/[^/]+\/otca\.node$/.test(f.path));
const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;

console.error(`[pack] ${tarball}`);
console.error(`[pack]   ${info.entryCount} files, ${mib(statSync(tarball).size)} packed, ${mib(info.unpackedSize)} unpacked (limit 15 MB)`);
console.error(`[pack]   binary ${binary ? `${binary.path}: ${mib(binary.size)} (${binary.size} bytes)` : 'MISSING'}`);
if (!binary) {
  console.error('[pack] the tarball holds no prebuilds/<platform>-<arch>/otca.node');
  process.exit(1);
}
if (info.unpackedSize >= LIMIT) {
  console.error(`[pack] unpacked size ${info.unpackedSize} bytes is over the 15 MB limit`);
  process.exit(1);
}
console.log(`OTCA_PACK ${JSON.stringify({ tarball, unpackedSize: info.unpackedSize, binary, files: info.files.map((f) => f.path) })}`);
