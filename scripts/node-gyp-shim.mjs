#!/usr/bin/env node
// What prebuildify runs instead of node-gyp (scripts/prebuild.mjs passes `--node-gyp` this file).
//
// prebuildify calls `<node-gyp> rebuild --target=<node> --devdir=... --arch=x64 --release` in its cwd
// and then takes the first .node in <cwd>/build/Release, strips it and MOVES it to
// prebuilds/<platform>-<arch>/<name>.node. scripts/prebuild.mjs gives it a staging cwd
// (build-prebuild/, gitignored) so that move never touches the developer's build/Release.
//
// This shim produces <cwd>/build/Release/otca.node in one of two ways:
//  - OTCA_PREBUILD_REUSE=<path of an otca.node>: copy that file (the tests reuse the addon that
//    `npm test` already built instead of compiling CUDA a second time);
//  - otherwise: cmake-js over the repository's CMakeLists.txt into <cwd>/build: CUDA when nvcc is found
//    (cmake/cuda.cmake: static CUDA runtime), for every shipped architecture (OTCA_CUDA_ARCHITECTURES
//    =shipped, cmake/cuda_architectures.cmake; the environment variable OTCA_CUDA_ARCHITECTURES
//    names others), CPU-only otherwise. libstdc++ is linked in (CMakeLists.txt otca_link_portable),
//    so the glibc of the packing machine sets the floor (2.34 on Debian 12), not its g++.
//    OTCA_PREBUILD_CLEAN=1 starts from an empty build folder (what `npm run pack:tarball` does).
// node-gyp's flags are accepted and ignored (--target: N-API, one binary for every Node >= 20).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const stage = process.cwd();
const args = process.argv.slice(2);
const command = args.find((a) => !a.startsWith('-'));
if (command !== 'rebuild' && command !== 'build') {
  console.error(`[node-gyp-shim] Expected rebuild or build for the command but received ${command}`);
  process.exit(1);
}
const arch = args.find((a) => a.startsWith('--arch='))?.slice('--arch='.length);
if (arch && arch !== process.arch) {
  console.error(`[node-gyp-shim] cross builds are not supported: Expected ${process.arch} for --arch but received ${arch}`);
  process.exit(1);
}

const out = join(stage, 'build');
const release = join(out, 'Release');
if (command === 'rebuild') rmSync(release, { recursive: true, force: true });

const reuse = process.env.OTCA_PREBUILD_REUSE;
if (reuse) {
  if (!existsSync(reuse)) {
    console.error(`[node-gyp-shim] OTCA_PREBUILD_REUSE names ${reuse}, which does not exist`);
    process.exit(1);
  }
  mkdirSync(release, { recursive: true });
  copyFileSync(resolve(reuse), join(release, 'otca.node'));
  console.log(`[node-gyp-shim] reusing ${reuse}`);
  process.exit(0);
}

if (process.env.OTCA_PREBUILD_CLEAN === '1') rmSync(out, { recursive: true, force: true });
const jobs = String(Math.max(1, Math.min(availableParallelism(), Number(process.env.OTCA_BUILD_JOBS) || 8)));
const cmakeJs = join(repo, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const cmakeArgs = [
  cmakeJs, 'compile', '--directory', repo, '--out', out, '--parallel', jobs, '--log-level', 'warn',
  '--CDCMAKE_BUILD_TYPE=Release',
  '--CDOTCA_CUDA=ON',
  `--CDOTCA_CUDA_ARCHITECTURES=${process.env.OTCA_CUDA_ARCHITECTURES || 'shipped'}`,
];
console.log(`[node-gyp-shim] cmake-js compile --out ${out}`);
const r = spawnSync(process.execPath, cmakeArgs, { cwd: repo, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const built = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')) : [];
if (built.length === 0) {
  console.error(`[node-gyp-shim] cmake-js finished but ${release} holds no .node file`);
  process.exit(1);
}
