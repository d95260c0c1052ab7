import { defineConfig } from 'vitest/config';

// 'forks' so a native crash takes down one worker process with a report, not the runner.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/cpu/**/*.test.ts', 'test/package/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
