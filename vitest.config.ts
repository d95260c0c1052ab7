import { defineConfig } from 'vitest/config';

// 'forks' so a native crash takes down one worker process with a report, not the runner.
export default defineConfig({
  test: {
    pool: 'forks',
    // global.gc for the soak and async-lifetime tests (test/cpu/soak.test.ts, async.test.ts).
    execArgv: ['--expose-gc'],
    include: ['test/cpu/**/*.test.ts', 'test/package/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
