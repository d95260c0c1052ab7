// The GPU tests (test/gpu/*.test.mjs, plain node:test over dist/) on the simulated CUDA device of
// the test build build/simulated/ (test/native/sim/simulated_device.cpp: the otca::gpu API over host memory, with bounds
// checks on every device pointer). CI has no GPU: this runs the whole Node device-tensor path there
// (device tensors, outputDevice, the async stream pool, lifetimes, borrowed pointers, device
// selection) on every change. It cannot check the kernels: those run only on a real device
// (scripts/gpu-check.sh).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const simBinary = join(root, 'build', 'simulated', 'build', 'Release', 'otca.node');
const files = readdirSync(join(root, 'test', 'gpu')).filter((f) => f.endsWith('.test.mjs')).sort();

// The simulated device is a CMake build; where cmake is absent (npm test then builds the addon with
// node-gyp) it is not built, and these tests skip saying so. Where cmake is present they require it.
const noCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0;
const skipReason = noCmake && !existsSync(simBinary) ? ' (skipped: cmake not found, build/simulated/ not built)' : '';

// The only test that may skip on a usable device: it checks the error where none is usable.
const SKIP_ON_A_DEVICE = /device 'cuda' where none is usable/;

describe('test/gpu on the simulated device', () => {
  for (const file of files) {
    it.skipIf(skipReason !== '')(`${file} passes with nothing skipped${skipReason}`, () => {
      expect(existsSync(simBinary), `${simBinary} is missing: run node scripts/ensure-built.mjs --tests`).toBe(true);
      const r = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-reporter=tap', join('test', 'gpu', file)], {
        cwd: root,
        env: { ...process.env, OTCA_PREBUILD: join(root, 'build', 'simulated'), OTCA_GPU_TEST_DEVICE: '' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      const out = `${r.stdout}\n${r.stderr}`;
      const failed = out.split('\n').filter((l) => /^\s*not ok /.test(l));
      expect(failed, out).toEqual([]);
      expect(r.status, out).toBe(0);
      const skipped = out.split('\n').filter((l) => /^ok .*# SKIP/.test(l) && !SKIP_ON_A_DEVICE.test(l));
      expect(skipped, 'tests skipped on the simulated device').toEqual([]);
      const passed = Number(/^# pass (\d+)/m.exec(out)?.[1] ?? 0);
      expect(passed, out).toBeGreaterThan(0);
    });
  }
});
