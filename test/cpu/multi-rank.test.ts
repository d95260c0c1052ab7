// examples/multi-rank (`npm run example:multi-rank`): R processes, each with a slice of every group,
// run phase 1 on their own latents, all-gather N * (K + 1) floats over IPC and run phase 2; the
// advantages equal the single-process otcaAdvantages bit for bit.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../../dist/examples/multi-rank/main.js', import.meta.url));

it.each([1, 2, 4, 8])('%i ranks give the single-process advantages exactly', (ranks) => {
  expect(existsSync(main), 'dist/examples/multi-rank/main.js: run node scripts/ensure-built.mjs').toBe(true);
  const r = spawnSync(process.execPath, [main, '--ranks', String(ranks)], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain(`${ranks} ranks, 4 groups of 8`);
  expect(r.stdout).toMatch(/largest difference from the single-process result: 0\n$/);
});

it('refuses a rank count that does not divide the groups', () => {
  const r = spawnSync(process.execPath, [main, '--ranks', '3'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--ranks');
});
