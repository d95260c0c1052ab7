#!/usr/bin/env node
// The Python wheel (`npm run pack:wheel -- --out DIR`): ONE wheel, py3-none-manylinux_2_XX_x86_64, for
// every CPython >= 3.9 (the package binds the library with ctypes: nothing in it depends on the
// interpreter's ABI), bundling libotca.so (the C ABI over the core: CPU backend and CUDA backend,
// static CUDA runtime) as otca/_lib/libotca.so. XX is the newest glibc symbol version the library
// needs (scripts/symbol-versions.mjs, the scan the npm prebuild reports with), so pip installs it only where that glibc is.
//
//   --out DIR                 where the wheel goes (default: the repository root)
//   --reuse [path]            bundle an existing library (default build/Release/libotca.so, built by
//                             `cmake --build build --target otca_capi` when missing) instead of a
//                             release build for every shipped CUDA architecture; the tests use this
//   --cuda-architectures L    the release build for these architectures only (e.g. 90-real, for the
//                             GPU check's sm_90 wheel); default: every shipped architecture
//   --python PATH             the interpreter whose pip builds the wheel (default .venv-python's, else python3)
// The build itself is `pip wheel ./python` with OTCA_LIBRARY and OTCA_WHEEL_PLATFORM set
// (python/hatch_build.py), from the configured pip index (hatchling). The last line of stdout is
// `OTCA_WHEEL {json}` with the wheel's path, bytes, platform tag and library.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { symbolVersions, versionText } from './symbol-versions.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** The wheel's platform tag for a library: manylinux_2_XX_x86_64 from its glibc floor. */
export function platformTag(path) {
  const [major, minor] = symbolVersions(path).glibc ?? [2, 17];
  return `manylinux_${major}_${minor}_x86_64`;
}

function option(argv, name) {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
}

function run(cmd, args, options = {}) {
  console.error(`[pack-wheel] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2], ...options });
  if (r.status !== 0) {
    console.error(`[pack-wheel] failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status || 1);
  }
}

/** The library to bundle: reused, or a release build in build-wheel/ for the shipped architectures. */
function library(argv) {
  if (argv.includes('--reuse')) {
    const given = option(argv, '--reuse');
    const path = resolve(root, given ?? join('build', 'Release', 'libotca.so'));
    if (!existsSync(path) && given === undefined) run('cmake', ['--build', 'build', '--parallel', '2', '--target', 'otca_capi']);
    if (!existsSync(path)) {
      console.error(`[pack-wheel] --reuse: no ${path}`);
      process.exit(1);
    }
    return path;
  }
  const out = join(root, 'build-wheel');
  // every shipped architecture: `shipped` where cmake/cuda_architectures.cmake names them, else the
  // CMake default, which is that list
  const archs = option(argv, '--cuda-architectures') ?? (existsSync(join(root, 'cmake', 'cuda_architectures.cmake')) ? 'shipped' : undefined);
  run('cmake', ['-S', root, '-B', out, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', ...(archs ? [`-DOTCA_CUDA_ARCHITECTURES=${archs}`] : [])]);
  run('cmake', ['--build', out, '--parallel', '2', '--target', 'otca_capi']);
  const found = [join(out, 'Release', 'libotca.so'), join(out, 'libotca.so')].find(existsSync);
  if (!found) {
    console.error(`[pack-wheel] the build in ${out} wrote no libotca.so`);
    process.exit(1);
  }
  return found;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const outDir = resolve(option(argv, '--out') ?? root);
  const python =
    option(argv, '--python') ?? (existsSync(join(root, '.venv-python', 'bin', 'python')) ? join(root, '.venv-python', 'bin', 'python') : 'python3');
  const built = library(argv);
  // a stripped copy: the symbols a debugger wants are not what a trainer installs
  const stage = mkdtempSync(join(tmpdir(), 'otca-wheel-'));
  const lib = join(stage, 'libotca.so');
  copyFileSync(built, lib);
  spawnSync('strip', ['--strip-unneeded', lib], { stdio: 'ignore' });
  const platform = platformTag(lib);
  const { libstdcxx } = symbolVersions(lib);
  if (libstdcxx) {
    console.error(`[pack-wheel] note: the library needs the system's libstdc++ (up to ${versionText(libstdcxx)}); link it in (as the addon does) for a wheel that needs glibc only`);
  }
  mkdirSync(outDir, { recursive: true });
  const before = new Set(readdirSync(outDir));
  run(python, ['-m', 'pip', 'wheel', '--no-deps', '--retries', '1', '--wheel-dir', outDir, join(root, 'python')], {
    env: { ...process.env, OTCA_LIBRARY: lib, OTCA_WHEEL_PLATFORM: platform, PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  });
  const wheel = readdirSync(outDir).find((f) => f.endsWith(`-py3-none-${platform}.whl`) && (!before.has(f) || f.startsWith('otca-')));
  rmSync(stage, { recursive: true, force: true });
  if (!wheel) {
    console.error(`[pack-wheel] no otca-*-py3-none-${platform}.whl in ${outDir}`);
    process.exit(1);
  }
  const path = join(outDir, wheel);
  const bytes = statSync(path).size;
  console.error(`[pack-wheel] ${path}: ${(bytes / 2 ** 20).toFixed(2)} MiB, ${platform}, bundling ${built}`);
  console.log(`OTCA_WHEEL ${JSON.stringify({ wheel: path, bytes, platform, library: built })}`);
}
