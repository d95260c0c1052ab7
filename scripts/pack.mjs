#!/usr/bin/env node
// Builds everything the tarball holds, lays it out in a staging folder and packs that
// (`npm run pack:tarball`; publish the .tgz it writes with `npm publish <file>`):
//   1. the prebuild (scripts/prebuild.mjs: prebuildify + the cmake-js shim; --clean by default),
//   2. the JavaScript (scripts/pack-js.mjs: dist/cjs, and dist/esm re-exporting it),
//   3. build-pack/: those, README.md, CHANGELOG.md, LICENSE, docs/algorithm.md and docs/peers.md (their
//      links to files the package does not hold made absolute, into the repository), tfjs/package.json
//      (`otca/tfjs` for TypeScript's node10 resolution), the sources of the from-source build in
//      src/ (binding.gyp there, not at the root, so no package manager infers a `node-gyp rebuild`
//      install script; node-addon-api's headers in src/vendor; scripts/build-from-source.mjs as
//      src/build-from-source.mjs), and a package.json with only what a user's install reads: no
//      devDependencies, and no scripts but `build-from-source`, whose file is in the tarball;
//   4. `npm pack build-pack`.
// Then it reports the binary's size and the tarball's packed and unpacked sizes, and fails when the
// unpacked size reaches 15 MB. `npm pack` in the repository itself is refused (its `prepack` runs
// this file with --refuse): the repository's package.json is the developers'.
//
//   --reuse [path]          prebuild an existing addon instead of compiling (see prebuild.mjs)
//   --pack-destination dir  where the .tgz goes (default: the repository root)
// The last line of stdout is `OTCA_PACK {json}` with tarball, bytes and file list, for the tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const LIMIT = 15_000_000;

if (argv.includes('--refuse')) {
  console.error('otca is packed from a staging folder: run `npm run pack:tarball` (it writes the .tgz; `npm publish <file>` publishes it).');
  process.exit(1);
}

function option(name) {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
}

/**
 * CMakeLists.txt with its test and lab targets configured only where their sources exist: the
 * package holds neither test/ nor bench/, and CMake refuses a target whose sources are missing, even
 * one never built. A no-op once CMakeLists.txt guards them itself; fails loudly where the sections
 * it guards are not found.
 */
function withoutTestTargets(text) {
  const guard = (dir) => `EXISTS "\${CMAKE_CURRENT_SOURCE_DIR}/${dir}"`;
  if (text.includes(guard('test/native'))) return text;
  const at = text.indexOf('tests and lab');
  const tests = 'if(NOT MSVC)';
  const lab = 'if(OTCA_HAVE_CUDA)\n  # The lab';
  if (at < 0 || text.indexOf(tests, at) < 0 || text.indexOf(lab, at) < 0) {
    console.error('[pack] CMakeLists.txt: cannot find its test and lab sections to guard; the from-source CMake build would fail');
    process.exit(1);
  }
  const tail = text.slice(at).replace(tests, `if(NOT MSVC AND ${guard('test/native')})`).replace(lab, `if(OTCA_HAVE_CUDA AND ${guard('bench/lab')})\n  # The lab`);
  return text.slice(0, at) + tail;
}

function step(script, args) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', script), ...args], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const reuse = argv.includes('--reuse');
step('prebuild.mjs', reuse ? ['--reuse', ...(option('--reuse') ? [option('--reuse')] : [])] : ['--clean']);
step('pack-js.mjs', []);

// ---- the staging folder
const stage = join(root, 'build-pack');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const copy = (from, to = from) => cpSync(join(root, from), join(stage, to), { recursive: true });
copy('dist/cjs');
copy('dist/esm');
copy('prebuilds');
for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE', 'docs/algorithm.md', 'docs/peers.md']) if (existsSync(join(root, f))) copy(f);
// `otca/tfjs` for TypeScript's node10 resolution (`moduleResolution: node`, `tsc --module commonjs`),
// which reads no `exports`: a folder tfjs/ whose package.json points at the entry and its types.
mkdirSync(join(stage, 'tfjs'), { recursive: true });
writeFileSync(join(stage, 'tfjs', 'package.json'), `${JSON.stringify({ main: '../dist/cjs/tfjs.js', types: '../dist/cjs/tfjs.d.ts' }, null, 2)}\n`);
copy('binding.gyp', 'src/binding.gyp');
writeFileSync(join(stage, 'src', 'CMakeLists.txt'), withoutTestTargets(readFileSync(join(root, 'CMakeLists.txt'), 'utf8')));
copy('cmake', 'src/cmake');
for (const dir of ['core', 'cpu', 'cuda', 'addon']) copy(`csrc/${dir}`, `src/csrc/${dir}`);
copy('scripts/build-from-source.mjs', 'src/build-from-source.mjs');
const napiDir = dirname(createRequire(join(root, 'package.json')).resolve('node-addon-api/package.json'));
const napiPkg = JSON.parse(readFileSync(join(napiDir, 'package.json'), 'utf8'));
const vendor = join(stage, 'src', 'vendor', 'node-addon-api');
mkdirSync(vendor, { recursive: true });
for (const f of ['index.js', 'napi.h', 'napi-inl.h', 'napi-inl.deprecated.h', 'LICENSE.md']) cpSync(join(napiDir, f), join(vendor, f));
const napiManifest = { name: napiPkg.name, version: napiPkg.version, license: napiPkg.license, main: 'index.js' };
writeFileSync(join(vendor, 'package.json'), `${JSON.stringify(napiManifest, null, 2)}\n`);

const dev = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const KEEP = [
  'name', 'version', 'description', 'keywords', 'license', 'author', 'repository', 'homepage', 'bugs', 'type',
  'engines', 'os', 'cpu', 'libc', 'main', 'types', 'exports', 'dependencies', 'peerDependencies', 'peerDependenciesMeta',
];
const manifest = Object.fromEntries(KEEP.filter((k) => dev[k] !== undefined).map((k) => [k, dev[k]]));
manifest.files = ['dist/', 'prebuilds/', 'src/', 'docs/', 'tfjs/', 'CHANGELOG.md'];
manifest.gypfile = false;
manifest.scripts = { 'build-from-source': 'node src/build-from-source.mjs' };
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

// The README and docs as the registry shows them: a relative link to a file the package does not
// hold (examples/, CONTRIBUTING.md) becomes a link into the repository (package.json `repository`),
// so every link on the package's page works.
const repoUrl = typeof dev.repository === 'object' ? dev.repository.url : dev.repository;
const repoWeb = repoUrl?.replace(/^git\+/, '').replace(/\.git$/, '');
for (const f of ['README.md', 'docs/algorithm.md', 'docs/peers.md']) {
  const at = join(stage, f);
  if (!existsSync(at)) continue;
  const text = readFileSync(at, 'utf8').replace(/\]\(([^)#:\s]+)(#[^)\s]*)?\)/g, (link, target, hash = '') => {
    const inRepo = join(dirname(f), target);
    if (existsSync(join(stage, inRepo))) return link;
    if (!repoWeb) {
      console.error(`[pack] ${f} links to ${target}, which the package does not hold, and package.json has no repository to link to instead`);
      process.exit(1);
    }
    return `](${repoWeb}/blob/main/${inRepo.split('\\').join('/')}${hash})`;
  });
  writeFileSync(at, text);
}

// ---- pack
const dest = resolve(option('--pack-destination') ?? root);
const npmCli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm'];
// --loglevel=warn: npm's notices (the file list) say what the summary below says
const out = execFileSync(npmCli[0], [...npmCli.slice(1), 'pack', stage, '--ignore-scripts', '--json', '--loglevel=warn', '--pack-destination', dest], {
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
console.log(
  `OTCA_PACK ${JSON.stringify({ tarball, packedSize: statSync(tarball).size, unpackedSize: info.unpackedSize, binary, files: info.files.map((f) => f.path) })}`,
);
