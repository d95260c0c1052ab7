#!/usr/bin/env node
// The Python suite (test/python, pytest), run by `npm test` after vitest:
//   1. a virtual environment at .venv-python (gitignored), made with --system-site-packages from
//      python3, with what the tests need installed from the configured pip index (torch's CPU build,
//      ml_dtypes, pytest, mypy; numpy where the system has none): skipped when already there;
//   2. the C ABI library build/Release/libotca.so (CMake target otca_capi), built when missing or
//      older than csrc/ (the package loads it from the checkout);
//   3. pytest test/python, with the package imported from python/ (`--bench`: bench/python/bench.py instead).
// Arguments after `--` go to pytest. OTCA_PYTHON=path uses that interpreter instead of the venv.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(root, '.venv-python');
const REQUIREMENTS = ['torch==2.13.0+cpu', 'ml_dtypes', 'pytest', 'numpy', 'mypy'];

function run(cmd, args, options = {}) {
  console.log(`[python-tests] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  return r.status ?? 1;
}

function newest(dir) {
  let t = 0;
  const visit = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else t = Math.max(t, st.mtimeMs);
  };
  if (existsSync(dir)) visit(dir);
  return t;
}

let python = process.env.OTCA_PYTHON;
if (!python) {
  python = join(venv, 'bin', 'python');
  if (!existsSync(python) && run('python3', ['-m', 'venv', '--system-site-packages', venv]) !== 0) {
    console.error('[python-tests] could not create the virtual environment (python3 -m venv)');
    process.exit(1);
  }
  const probe = spawnSync(python, ['-c', 'import torch, ml_dtypes, pytest, numpy, mypy; assert torch.__version__.startswith("2.13.0")'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    // pip's output (its retries of an index this machine cannot reach among it) is shown only when
    // the install fails, so that `npm test` stays quiet
    console.log(`[python-tests] ${python} -m pip install ${REQUIREMENTS.join(' ')}`);
    const r = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--retries', '1', ...REQUIREMENTS], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
      console.error(`[python-tests] pip could not install ${REQUIREMENTS.join(', ')}`);
      process.exit(r.status ?? 1);
    }
  }
}

const library = join(root, 'build', 'Release', 'libotca.so');
const stale = !existsSync(library) || statSync(library).mtimeMs < Math.max(newest(join(root, 'csrc')), statSync(join(root, 'CMakeLists.txt')).mtimeMs);
if (stale) {
  if (!existsSync(join(root, 'build', 'CMakeCache.txt'))) {
    console.error('[python-tests] build/ is not configured: run `node scripts/ensure-built.mjs` first');
    process.exit(1);
  }
  const jobs = String(Math.min(8, Math.max(1, (await import('node:os')).availableParallelism())));
  if (run('cmake', ['--build', 'build', '--parallel', jobs, '--target', 'otca_capi']) !== 0) process.exit(1);
}

const dash = process.argv.indexOf('--');
const extra = dash >= 0 ? process.argv.slice(dash + 1) : [];
const env = { ...process.env, PYTHONPATH: [join(root, 'python'), process.env.PYTHONPATH].filter(Boolean).join(':'), PYTHONDONTWRITEBYTECODE: '1' };
// `--bench`: the Python benchmark (bench/python/bench.py) instead of the tests
if (process.argv.includes('--bench')) process.exit(run(python, [join(root, 'bench', 'python', 'bench.py'), ...extra], { env }));
process.exit(run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', join(root, 'test', 'python'), ...extra], { env }));
