// The CUDA backend's own code (csrc/core/advantage_step.cuh's kernels and gpu_runtime.cu) on the CPU
// emulation of test/native/emulation: built and run here because CI has no GPU. It checks the
// kernels' logic against the CPU backend for every streaming variant, dtype and layout, block-order
// independence, the two-phase composition and the non-finite-input messages (see kernel_test.cpp).
// Speed and the memory model need the real device (scripts/gpu-check.sh).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('CUDA kernels on the CPU emulation', () => {
  // as shipped; with the opt-in tail experiments of bench/NOTES.md section 7 compiled in; and the
  // small cases under AddressSanitizer + UBSan (device allocations exact: an over-read is reported)
  const flags = { shipped: [], experiments: ['--experiments'], asan: ['--asan'] } as const;
  for (const config of ['shipped', 'experiments', 'asan'] as const) {
    it(`${config}: every case passes`, () => {
      const args = [join('test', 'native', 'emulation', 'build.sh'), ...flags[config]];
      const r = spawnSync('bash', args, { cwd: root, encoding: 'utf8', timeout: 600_000 });
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.error, out).toBeUndefined();
      const failed = out.split('\n').filter((l) => l.startsWith('FAIL'));
      expect(failed, out).toEqual([]);
      expect(out, out).toMatch(/^PASSED: \d+ checks, 0 failed$/m);
      const cases = out.split('\n').filter((l) => l.startsWith('ok   v'));
      expect(cases.length, 'cases x variants').toBeGreaterThanOrEqual(config === 'asan' ? 8 : 40);
      expect(out, out).not.toMatch(/AddressSanitizer|runtime error:/);
      expect(r.status, out).toBe(0);
    }, 600_000);
  }
});
