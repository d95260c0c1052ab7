// The build's configuration (issue 18 items 11 and 12), checked without compiling anything:
//  - which CUDA architectures a build compiles (cmake/cuda_architectures.cmake, run alone with
//    `cmake -P`): a checkout's default (`auto`) compiles the GPUs nvidia-smi lists, or one PTX target
//    where it lists none; `shipped` (the prebuild, `npm run pack:tarball`) every shipped one; a list
//    given explicitly wins; the shipped list is the one the README, the static checks and the
//    prebuild script agree on;
//  - a CUDA configure as `npm test` and `npm run demo` run it (scripts/cmake-js-quiet.mjs over
//    cmake-js) prints none of the lines that say nothing, and names the architectures it chose.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hasCmake = spawnSync('cmake', ['--version']).status === 0;
const hasNvcc = spawnSync('nvcc', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'otca-build-config-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The list `value` stands for, with `nvidiaSmi` as the nvidia-smi asked (a path; '' for none on PATH). */
function resolve(value: string, nvidiaSmi: string): string {
  const script = join(work, 'resolve.cmake');
  writeFileSync(
    script,
    [
      `set(OTCA_NVIDIA_SMI "${nvidiaSmi}")`,
      `include("${join(root, 'cmake', 'cuda_architectures.cmake')}")`,
      `otca_resolve_cuda_architectures("${value}" out)`,
      'message(NOTICE "RESOLVED ${out}")',
      '',
    ].join('\n'),
  );
  const r = spawnSync('cmake', ['-P', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return /RESOLVED (.*)/.exec(r.stderr)?.[1] as string;
}

/** A stand-in nvidia-smi that prints `out` for --query-gpu=compute_cap (and fails with `rc`). */
function fakeSmi(name: string, out: string, rc = 0): string {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\nprintf '${out}'\nexit ${rc}\n`);
  chmodSync(path, 0o755);
  return path;
}

const SHIPPED = '75-real;80-real;86-real;89-real;90-real;100-real;120-real;120-virtual';

describe.runIf(hasCmake && process.platform === 'linux')('CUDA architectures', () => {
  it("a checkout's default compiles the GPUs present: each compute capability nvidia-smi lists, once", () => {
    expect(resolve('auto', fakeSmi('two-gpus', '8.6\\n9.0\\n9.0\\n'))).toBe('86-real;90-real');
    expect(resolve('', fakeSmi('one-gpu', '12.0\\n'))).toBe('120-real');
  });

  it('without a GPU (nvidia-smi missing, failing or listing none) it compiles one PTX target', () => {
    expect(resolve('auto', join(work, 'no-such-nvidia-smi'))).toBe('75-virtual');
    expect(resolve('auto', fakeSmi('no-driver', 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\\n', 9))).toBe('75-virtual');
    expect(resolve('auto', fakeSmi('no-gpus', ''))).toBe('75-virtual');
  });

  it('`shipped` is every shipped architecture, and an explicit list wins over the GPUs present', () => {
    const smi = fakeSmi('h100', '9.0\\n');
    expect(resolve('shipped', smi)).toBe(SHIPPED);
    expect(resolve('89-real', smi)).toBe('89-real');
    expect(resolve('80-real;90-virtual', smi)).toBe('80-real;90-virtual');
  });

  it('the prebuild asks for `shipped`, and the README and the static checks name the same list', () => {
    expect(readFileSync(join(root, 'scripts', 'node-gyp-shim.mjs'), 'utf8')).toContain("`--CDOTCA_CUDA_ARCHITECTURES=${process.env.OTCA_CUDA_ARCHITECTURES || 'shipped'}`");
    const real = SHIPPED.split(';').filter((a) => a.endsWith('-real')).map((a) => a.slice(0, -5));
    const checks = readFileSync(join(root, 'scripts', 'cuda-static-checks.sh'), 'utf8');
    expect(/ARCHS="\$\{1:-([\d ]+)\}"/.exec(checks)?.[1]?.split(' ')).toEqual(real);
    expect(/PTX_ARCH="\$\{PTX_ARCH:-(\d+)\}"/.exec(checks)?.[1]).toBe('120');
    const gpus = /compute capabilities ([\s\S]*?)plus PTX of ([\d.]+)/.exec(readFileSync(join(root, 'README.md'), 'utf8'));
    const caps = [...(gpus?.[1] ?? '').matchAll(/\b(\d+)\.(\d)\b/g)].map((m) => `${m[1]}${m[2]}`);
    expect(caps).toEqual(real);
    expect(gpus?.[2]).toBe('12.0');
  });
});

describe.runIf(hasCmake && hasNvcc && process.platform === 'linux')('the build output', () => {
  it('a CUDA configure through cmake-js prints no noise and names the architectures it chose', async () => {
    const { cmakeJsQuiet } = await import('../../scripts/cmake-js-quiet.mjs');
    let text = '';
    const sink = () => new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
    const smi = fakeSmi('configure-h100', '9.0\\n');
    const ok = await cmakeJsQuiet(
      ['configure', '--out', join(work, 'configure'), '--log-level', 'warn', '--CDOTCA_CUDA=ON', `--CDOTCA_NVIDIA_SMI=${smi}`],
      { out: sink(), err: sink() },
    );
    expect(ok, text).toBe(true);
    expect(text).not.toMatch(/Not searching for unused variables|Unable to find cublas_v2\.h/);
    expect(text).toContain('otca: CUDA ');
    expect(text).toMatch(/otca: CUDA [\d.]+ for 90-real \(otca_cuda\), static runtime/);  // the objects the addon and libotca share
  }, 300_000);
});
