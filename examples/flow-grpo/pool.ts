/**
 * Runs the demo's training jobs: on `jobs` worker threads (worker.ts), or inline for one, with a
 * progress bar per run on a terminal and a line per finished run otherwise. Results come back in
 * the jobs' order, whichever worker ran what.
 */
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import { ARMS } from './advantages.js';
import { HELDOUT_NAME, REWARD_NAMES } from './rewards.js';
import { type RunJob, type RunRecord, runJob } from './study.js';
import type { WorkerMessage } from './worker.js';

/** What the pool needs of the command line. */
export interface PoolArgs {
  jobs: number;
  backend: 'wasm' | 'cpu';
  device: 'auto' | 'cpu' | 'cuda';
}

/** Train every job, on `jobs` worker threads (or inline for one), in a fixed order of results. */
export async function runAll(jobs: RunJob[], args: PoolArgs, baseWeights: Float32Array, hidden: number): Promise<RunRecord[]> {
  const tty = process.stderr.isTTY;
  const multibar = new cliProgress.MultiBar(
    { format: '{name} {bar} {value}/{total} | {r} | {rate}', barsize: 14, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const records = new Map<string, RunRecord>();
  const key = (arm: string, seed: number, lr: number): string => `${arm}/${seed}/${lr}`;
  const show = (rec: RunRecord): void => {
    if (!tty) {
      console.log(
        `${ARMS[rec.arm].short.padEnd(9)} seed ${rec.seed}, lr ${rec.lr}: ${rec.seconds.toFixed(1)} s, final ` +
          `${REWARD_NAMES.map((n, k) => `${n} ${rec.final.rewards[k]!.toFixed(2)}`).join(', ')}, ${HELDOUT_NAME} ${rec.final.heldOut.toFixed(3)}`,
      );
    }
  };
  const describeRewards = (r: number[]): string => REWARD_NAMES.map((n, k) => `${n.slice(0, 5)} ${r[k]!.toFixed(2)}`).join(' ');
  if (args.jobs === 1) {
    for (const job of jobs) {
      const start = performance.now();
      const bar = tty ? multibar.create(job.iters, 0, { name: `${ARMS[job.arm].short.padEnd(9)} s${job.seed}`, r: '', rate: '' }) : undefined;
      const rec = await runJob(job, baseWeights, hidden, (it, r) => bar?.update(it, { r: describeRewards(r), rate: `${((performance.now() - start) / it).toFixed(0)} ms/it` }));
      records.set(key(rec.arm, rec.seed, rec.lr), rec);
      show(rec);
    }
  } else {
    const queue = [...jobs];
    const workers: Promise<void>[] = [];
    for (let w = 0; w < Math.min(args.jobs, jobs.length); w++) {
      workers.push(
        new Promise<void>((resolveWorker, reject) => {
          const worker = new Worker(new URL('./worker.js', import.meta.url), {
            workerData: { backend: args.backend, device: args.device, hidden, baseWeights },
          });
          let bar: cliProgress.SingleBar | undefined;
          let start = 0;
          const next = (): void => {
            const job = queue.shift();
            if (!job) {
              worker.postMessage(null);
              return;
            }
            start = performance.now();
            bar = tty ? multibar.create(job.iters, 0, { name: `${ARMS[job.arm].short.padEnd(9)} s${job.seed}`, r: '', rate: '' }) : undefined;
            worker.postMessage(job);
          };
          worker.on('message', (m: WorkerMessage) => {
            if (m.kind === 'ready') next();
            else if (m.kind === 'progress') bar?.update(m.it, { r: describeRewards(m.rewards), rate: `${((performance.now() - start) / m.it).toFixed(0)} ms/it` });
            else {
              records.set(key(m.rec.arm, m.rec.seed, m.rec.lr), m.rec);
              show(m.rec);
              next();
            }
          });
          worker.on('error', reject);
          worker.on('exit', (code) => (code === 0 ? resolveWorker() : reject(new Error(`a demo worker exited with code ${code}`))));
        }),
      );
    }
    await Promise.all(workers);
  }
  multibar.stop();
  return jobs.map((j) => records.get(key(j.arm, j.seed, j.cfg.lr))!);
}

