#!/usr/bin/env node
// Builds what `npm test` needs, only where it is missing or stale (quick when nothing changed):
//  - the addon build/Release/otca.node and the C ABI build/Release/libotca.so (the Python package's
//    library), against csrc/**, CMakeLists.txt, cmake/*.cmake, binding.gyp (cmake-js builds both, the
//    default targets; node-gyp from binding.gyp, CPU-only, the addon only, where cmake is not installed);
//  - the TypeScript dist/, against lib/**, bench/**, examples/**, tsconfig.json.
//  - with `--tests`, also CMake's test targets in build/ (CMakeLists.txt): otca_simulated (the addon
//    over a simulated CUDA device, build/simulated/build/Release/otca.node, on which `npm test` runs
//    test/gpu where there is no GPU), otca_core_test, otca_emulated_kernels(_asan), otca_capi_test(_asan),
//    otca_emulated_capi (the C ABI's test, and its CUDA paths on the emulation). ninja rebuilds
//    only what changed.
// `--force` rebuilds all. Set OTCA_CUDA=OFF for a CPU-only cmake build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cmakeJsQuiet } from './cmake-js-quiet.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const force = process.argv.includes('--force');
const tests = process.argv.includes('--tests');
// Extra cmake-js arguments (e.g. --CDOTCA_CUDA=OFF, --CDOTCA_CUDA_ARCHITECTURES=90-real); the
// environment variable OTCA_CUDA=OFF does the same as --CDOTCA_CUDA=OFF.
const cmakeArgs = process.argv.slice(2).filter((a) => a.startsWith('--CD'));
if (process.env.OTCA_CUDA) cmakeArgs.push(`--CDOTCA_CUDA=${process.env.OTCA_CUDA}`);
// cmake-js takes Node's headers from npm's `nodedir` setting, else downloads them. Run as plain
// `node scripts/ensure-built.mjs` (no npm around it, so no setting), offer the running Node's own
// install where it has them: the same version by construction, and no network needed.
if (!process.env.npm_config_nodedir) {
  const nodedir = [join(dirname(process.execPath), '..'), '/usr', '/usr/local'].find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
  if (nodedir) process.env.npm_config_nodedir = nodedir;
}

function newestMtime(paths, filter) {
  let newest = 0;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'node_modules') visit(join(p, name));
    } else if (!filter || filter(p)) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of paths) visit(join(root, p));
  return newest;
}

function mtime(p) {
  const full = join(root, p);
  return existsSync(full) ? statSync(full).mtimeMs : 0;
}

function run(cmd, args) {
  console.log(`[ensure-built] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

function hasCmake() {
  return spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
const jobs = String(Math.max(1, Math.min(availableParallelism(), 8)));

// ---- native
const nativeOut = 'build/Release/otca.node';
const capiOut = process.platform === 'linux' ? 'build/Release/libotca.so' : undefined;  // the C ABI (cmake only)
const nativeSrc = newestMtime(['csrc', 'CMakeLists.txt', 'cmake', 'binding.gyp'], (p) =>
  /\.(cc|cpp|h|hpp|cu|cuh|cmake|gyp|txt)$/.test(p),
);
let cmakeUsed = false;
// cmake-js compile with this script's parallelism and log level, then `extra`.
// Its output less the lines that say nothing (scripts/cmake-js-quiet.mjs).
const cmakeJs = (extra) => {
  const args = ['compile', '--parallel', jobs, '--log-level', 'warn', ...extra];
  console.log(`[ensure-built] cmake-js ${args.join(' ')}`);
  return cmakeJsQuiet(args);
};
if (force || mtime(nativeOut) < nativeSrc || (capiOut && hasCmake() && mtime(capiOut) < nativeSrc)) {
  let ok;
  if (hasCmake()) {
    // A failed cmake-js build fails here (no silent CPU-only fallback: CI must see a broken CUDA build).
    ok = await cmakeJs(cmakeArgs);
    cmakeUsed = true;
  } else {
    console.log('[ensure-built] cmake not found: building CPU-only from binding.gyp with node-gyp');
    const gyp = findNodeGyp();
    ok = gyp !== undefined && run(process.execPath, [gyp, 'rebuild', '-j', jobs, ...nodedirArgs()]);
  }
  ok = ok && existsSync(join(root, nativeOut));
  if (!ok) {
    console.error('[ensure-built] the native build failed (see above)');
    process.exit(1);
  }
}

// ---- the test targets (CMake only: where there is no cmake they are not built, and the tests that
// need them skip saying so)
const testTargets = ['otca_simulated', 'otca_core_test', 'otca_emulated_kernels', 'otca_emulated_kernels_asan',
  'otca_capi_test', 'otca_capi_test_asan', 'otca_emulated_capi'];
if (tests && !hasCmake()) {
  console.log('[ensure-built] cmake not found: the native test targets (simulated device, core test, emulated kernels) are not built');
} else if (tests) {
  if (!cmakeUsed && !existsSync(join(root, 'build', 'CMakeCache.txt'))) {
    // build/ came from node-gyp (or not at all): configure it with cmake-js first
    if (!(await cmakeJs(cmakeArgs))) process.exit(1);
  }
  const testSrc = Math.max(nativeSrc, newestMtime(['test/native', 'bench/lab'], (p) => /\.(c|cc|cpp|h|cu|cuh)$/.test(p)));
  const stamp = 'build/.tests-built';
  const outputs = ['build/simulated/build/Release/otca.node', 'build/otca_core_test', 'build/otca_emulated_kernels', 'build/otca_emulated_kernels_asan',
    'build/otca_capi_test', 'build/otca_capi_test_asan', 'build/otca_emulated_capi'];
  if (force || mtime(stamp) < testSrc || outputs.some((p) => mtime(p) < testSrc)) {
    const ok = run('cmake', ['--build', 'build', '--parallel', jobs, '--target', ...testTargets]);
    if (!ok) {
      console.error('[ensure-built] the native test targets failed to build (see above)');
      process.exit(1);
    }
    writeFileSync(join(root, stamp), `${new Date().toISOString()}\n`);
  }
}

// ---- TypeScript
const tsOut = 'dist/lib/index.js';
const tsSrc = newestMtime(['lib', 'bench', 'examples', 'tsconfig.json'], (p) => p.endsWith('.ts') || p.endsWith('.json'));
if (force || mtime(tsOut) < tsSrc) {
  if (!run(bin('tsc'), ['-p', 'tsconfig.json'])) {
    console.error('[ensure-built] the TypeScript build failed (see above)');
    process.exit(1);
  }
}

// node-gyp: the project's own if installed, else the copy bundled with npm.
function findNodeGyp() {
  const candidates = [
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((p) => existsSync(p));
}

// node-gyp needs Node's headers: npm's configured nodedir when set (offline machines), else its default.
function nodedirArgs() {
  const nodedir = process.env.npm_config_nodedir;
  if (nodedir) return [`--nodedir=${nodedir}`];
  if (existsSync('/usr/include/node/node_api.h') && process.execPath.startsWith('/usr/')) return ['--nodedir=/usr'];
  return [];
}
