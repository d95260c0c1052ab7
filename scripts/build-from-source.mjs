#!/usr/bin/env node
// Builds otca's native addon from source in an installed package: shipped as
// node_modules/otca/src/build-from-source.mjs beside the sources (scripts/pack.mjs puts it there),
// run by hand, never by an install script:
//
//   node node_modules/otca/src/build-from-source.mjs [--cpu] [--gyp] [--cuda-architectures=89-real] [--jobs=N] [--nodedir=DIR]
//
// With cmake on PATH: CMake over src/CMakeLists.txt, with the CUDA backend where a CUDA compiler
// (nvcc, the user's own toolkit) is found and --cpu is not given: for this machine's GPUs (or one
// PTX target where nvidia-smi lists none), every architecture of the prebuild with
// --cuda-architectures=shipped, or the ones --cuda-architectures names (e.g. 89-real). Without
// cmake, or with --gyp: node-gyp (npm's own copy) over src/binding.gyp, CPU-only, needing python3 and
// make. Either way the addon lands in build/Release/otca.node, which otca loads before its prebuild
// (a CPU-only build never before a prebuild with CUDA: lib/native.ts). Node's headers come from
// --nodedir, npm's nodedir setting, or the folders Node's own installs put them in.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = dirname(fileURLToPath(import.meta.url));
const pkg = dirname(src);
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const value = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const out = join(pkg, 'build', 'Release', 'otca.node');
const jobs = value('jobs') ?? String(Math.max(1, Math.min(availableParallelism(), 8)));

if (!existsSync(join(src, 'binding.gyp')) || !existsSync(join(src, 'CMakeLists.txt'))) {
  console.error(`otca: ${src} holds no sources (binding.gyp, CMakeLists.txt). In a git checkout, use \`npm run build\`.`);
  process.exit(1);
}

// node-addon-api's headers ship in src/vendor: both builds ask `require('node-addon-api')` for them.
const env = { ...process.env, NODE_PATH: [join(src, 'vendor'), process.env.NODE_PATH].filter(Boolean).join(delimiter) };

function nodeHeaders() {
  const given = value('nodedir') ?? process.env.npm_config_nodedir;
  const candidates = [
    ...(given ? [join(given, 'include', 'node'), given] : []),
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

function run(cmd, args, cwd = pkg) {
  console.log(`otca: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, env, stdio: 'inherit' });
  if (r.error) console.error(`otca: cannot run ${cmd}: ${r.error.message}`);
  return r.status === 0;
}

const hasCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
let ok;
if (hasCmake && !flag('gyp')) {
  const headers = nodeHeaders();
  if (!headers) {
    console.error("otca: Node's headers (node_api.h) not found; pass --nodedir=<folder of Node's install>, or use --gyp (node-gyp downloads them)");
    process.exit(1);
  }
  const work = join(pkg, 'build', 'cmake');
  const defs = [
    '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_JS_INC=${headers};${join(src, 'vendor', 'node-addon-api')}`,
    `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${dirname(out)}`,
    `-DOTCA_CUDA=${flag('cpu') ? 'OFF' : 'ON'}`,
    ...(value('cuda-architectures') ? [`-DOTCA_CUDA_ARCHITECTURES=${value('cuda-architectures')}`] : []),
  ];
  ok = run('cmake', ['-S', src, '-B', work, ...defs]) && run('cmake', ['--build', work, '--target', 'otca', '--parallel', jobs]);
} else {
  if (!flag('cpu') && !flag('gyp')) console.log('otca: cmake not found: building CPU-only with node-gyp (install cmake for the CUDA build)');
  const gyp = [
    ...(process.env.npm_execpath ? [join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')] : []),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => existsSync(p));
  const headers = nodeHeaders();
  const nodedir = headers && headers.endsWith(join('include', 'node')) ? dirname(dirname(headers)) : undefined;
  const args = ['rebuild', '-j', jobs, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  ok = gyp ? run(process.execPath, [gyp, ...args], src) : run('node-gyp', args, src);
  if (ok) {
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(join(src, 'build', 'Release', 'otca.node'), out);
    rmSync(join(src, 'build'), { recursive: true, force: true });
  }
}
if (!ok || !existsSync(out)) {
  console.error('otca: the from-source build failed (see above).');
  process.exit(1);
}
const addon = createRequire(out)(out);
const cuda = addon.backendInfo().cuda;
console.log(`otca: built ${out} (${cuda.compiled ? `CPU + CUDA ${cuda.architectures}` : 'CPU only'})`);
