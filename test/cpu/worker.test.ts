// The addon is context-aware: it loads and runs inside worker_threads Workers (several at once,
// alongside the main thread), and a worker's exit does not disturb the others.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { otcaAdvantages, Tensor } from '../../lib/index.js';
import { rewards as randomRewards, trajectories } from '../helpers/random.js';
import { expectBitEqual } from '../helpers/compare.js';
import { ALL_FIELDS } from '../helpers/cases.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const entryPath = `${root}dist/lib/index.js`;
const workerFile = new URL('../helpers/worker-entry.mjs', import.meta.url);

function start(): Worker {
  return new Worker(workerFile, { workerData: { entry: pathToFileURL(entryPath).href } });
}

function ask(w: Worker, msg: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage(msg);
  });
}

describe('worker_threads', () => {
  it('runs in several workers at once and matches the main thread bit for bit', async () => {
    expect(existsSync(entryPath), `${entryPath} (run npm run build)`).toBe(true);
    const [N, T, D, K, G] = [6, 5, 4000, 3, 3];
    const latents = trajectories(7, N, T, D);
    const rewards = randomRewards(8, N, K) as Float32Array;
    const main = otcaAdvantages({ rewards: Tensor.from(rewards, [N, K]), latents: Tensor.from(latents, [N, T + 1, D]), groupSize: G }, { outputs: 'all' });
    const workers = [start(), start(), start()];
    try {
      const replies = await Promise.all(
        workers.map((w, m) => ask(w, { N, T, D, K, G, latents, rewards, useAsync: m === 1 })),
      );
      for (const reply of replies) {
        expect(reply.failure).toBeUndefined();
        expect(reply.backend).toBe('cpu');
        expect(reply.error).toMatch(/^RangeError: Expected integer >= 1 for groupSize but received 0/);
        const fields = reply.fields as Record<string, Float32Array>;
        for (const f of ALL_FIELDS) expectBitEqual(fields[f]!, (main as unknown as Record<string, { data: Float32Array }>)[f]!.data, f);
      }
      // One worker exits; the others and the main thread still work.
      await workers[0]!.terminate();
      const again = await ask(workers[2]!, { N, T, D, K, G, latents, rewards, useAsync: true });
      expect(again.failure).toBeUndefined();
      expect(otcaAdvantages({ rewards: Tensor.from(rewards, [N, K]), latents: Tensor.from(latents, [N, T + 1, D]), groupSize: G }).advantages.data).toEqual(main.advantages.data);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });

  it('a worker can load, compute and exit repeatedly (addon instance data is per environment)', async () => {
    for (let m = 0; m < 3; m++) {
      const w = start();
      const reply = await ask(w, { N: 2, T: 2, D: 16, K: 1, G: 2, latents: trajectories(m, 2, 2, 16), rewards: new Float32Array([0, 1]), useAsync: m % 2 === 1 });
      expect(reply.failure).toBeUndefined();
      await w.terminate();
    }
  });
});
