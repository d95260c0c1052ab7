// The native tests CMake builds (CMakeLists.txt, `npm test` builds them through ensure-built):
// - the core test (test/native/core_test.cpp): the CPU reduction's paths and accuracy, the solver,
//   groups by ids, a plan's workspace allocating nothing on a repeated call, errors, threads;
// - the CUDA backend's own code (csrc/cuda: the shipped kernel and host side) and the lab's shapes and
//   tails on the CPU emulation of CUDA (test/native/emulation): against the CPU backend, every dtype
//   and layout, any block and thread order, the two phases, groups by ids, the error messages;
// - the same small cases under AddressSanitizer + UBSan (an access past a device allocation shows);
// - the C ABI (test/native/capi_test.c, C against csrc/capi/otca.h, linked to libotca.so): every entry
//   point, the core's bits on random cases, errors with their messages and argument names, threads;
//   the same under AddressSanitizer + UBSan; and its CUDA paths (otca_run_cuda, otca_check_status)
//   on the emulation (test/native/emulation/capi_enqueue_test.cpp).
// Speed and the memory model need the real device (bench/lab, scripts/gpu-check.sh).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const noCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0;

function runBinary(name: string, args: string[], env: Record<string, string> = {}): string {
  const bin = join(root, 'build', name);
  expect(existsSync(bin), `${bin} is missing: run node scripts/ensure-built.mjs --tests`).toBe(true);
  const r = spawnSync(bin, args, { cwd: root, encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...env } });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.error, out).toBeUndefined();
  expect(out.split('\n').filter((l) => l.startsWith('FAIL')), out).toEqual([]);
  expect(r.status, out).toBe(0);
  return out;
}

describe.skipIf(noCmake)(`native tests${noCmake ? ' (skipped: cmake not found, the test targets are not built)' : ''}`, () => {
  it('core test', () => {
    expect(runBinary('otca_core_test', ['--quick'])).toMatch(/^core_test: all passed$/m);
  }, 600_000);

  it('CUDA kernels on the CPU emulation: the shipped kernel, every lab shape and tail', () => {
    const out = runBinary('otca_emulated_kernels', ['--quick']);
    expect(out).toMatch(/^PASSED: \d+ checks, 0 failed$/m);
    const cases = out.split('\n').filter((l) => l.startsWith('ok   '));
    expect(cases.length, 'cases x kernels').toBeGreaterThanOrEqual(100);
    expect(cases.some((l) => l.startsWith('ok   shipped '))).toBe(true);
    expect(cases.some((l) => l.includes('+lean'))).toBe(true);
  }, 600_000);

  it('the small cases under AddressSanitizer + UBSan', () => {
    const out = runBinary('otca_emulated_kernels_asan', ['--small'], {
      ASAN_OPTIONS: 'detect_stack_use_after_return=0:abort_on_error=0',
      UBSAN_OPTIONS: 'print_stacktrace=1',
    });
    expect(out).toMatch(/^PASSED: \d+ checks, 0 failed$/m);
    expect(out).not.toMatch(/AddressSanitizer|runtime error:/);
  }, 600_000);

  it('the C ABI: libotca.so against the core, errors, threads', () => {
    expect(existsSync(join(root, 'build', 'Release', 'libotca.so')), 'build/Release/libotca.so is built by default').toBe(true);
    expect(runBinary('otca_capi_test', [])).toMatch(/^capi_test: all passed$/m);
  }, 600_000);

  it('the C ABI under AddressSanitizer + UBSan (leaks included)', () => {
    const out = runBinary('otca_capi_test_asan', [], { UBSAN_OPTIONS: 'print_stacktrace=1' });
    expect(out).toMatch(/^capi_test: all passed$/m);
    expect(out).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error:/);
  }, 600_000);

  it("the C ABI's CUDA paths on the emulation: the enqueued run, NaN outputs, otca_check_status", () => {
    const out = runBinary('otca_emulated_capi', [], {
      ASAN_OPTIONS: 'detect_stack_use_after_return=0:abort_on_error=0',
      UBSAN_OPTIONS: 'print_stacktrace=1',
    });
    expect(out).toMatch(/^PASSED: \d+ checks, 0 failed$/m);
    expect(out).toMatch(/^ok +non-finite inputs: NaN outputs, otca_check_status's messages$/m);
    expect(out).not.toMatch(/AddressSanitizer|runtime error:/);
  }, 600_000);
});
