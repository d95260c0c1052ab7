/**
 * A worker thread of the demo: loads tfjs once, then trains one (arm, seed) run per message and
 * posts its record back. Runs are independent and seeded, so the results do not depend on how
 * many workers there are or which one ran what.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { advantageSettings } from './advantages.js';
import { type RunJob, runJob } from './study.js';
import { initBackend } from './tf.js';

export interface WorkerData {
  backend: 'wasm' | 'cpu';
  device: 'auto' | 'cpu' | 'cuda';
  hidden: number;
  baseWeights: Float32Array;
}

/** Messages a worker posts. */
export type WorkerMessage =
  | { kind: 'ready'; backend: string }
  | { kind: 'progress'; arm: string; seed: number; it: number; rewards: number[] }
  | { kind: 'done'; rec: Awaited<ReturnType<typeof runJob>> };

const port = parentPort!;
const data = workerData as WorkerData;
const backend = await initBackend(data.backend);
advantageSettings.device = data.device;
// The main thread posts the next job only after this one's 'done', so jobs run one at a time.
port.on('message', async (job: RunJob | null) => {
  if (job === null) {
    port.close();
    return;
  }
  const rec = await runJob(job, data.baseWeights, data.hidden, (it, rewards) => {
    if (it % 5 === 0 || it === job.iters) port.postMessage({ kind: 'progress', arm: job.arm, seed: job.seed, it, rewards } satisfies WorkerMessage);
  });
  port.postMessage({ kind: 'done', rec } satisfies WorkerMessage);
});
port.postMessage({ kind: 'ready', backend } satisfies WorkerMessage);
