/**
 * `npm run example:multi-rank [-- --ranks R]`: OTCA across R worker processes, each holding a slice
 * of every group, as ranks of a data-parallel trainer do. Each rank runs phase 1 (trajectoryCredit)
 * on its own latents; the ranks all-gather N * (K + 1) floats (rewards and trajectory scores) over
 * Node's IPC, here through this coordinator; each runs phase 2 (objectiveCredit) on the whole batch
 * and combines (combineCredit) its own rows. The advantages must equal the single-process
 * otcaAdvantages bit for bit: the largest difference printed is 0, else the exit code is 1.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { otcaAdvantages, Tensor } from '../../lib/index.js';
import { B, D, G, K, N, T, rewards, trajectory } from './data.js';

/** What a rank sends. */
export type FromRank =
  | { kind: 'share'; rank: number; samples: number[]; share: Float32Array }
  | { kind: 'advantages'; rank: number; samples: number[]; advantages: Float32Array };
/** What the coordinator sends each rank: the gathered [N, K + 1]. */
export interface ToRank {
  gathered: Float32Array;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { ranks: { type: 'string', default: '4' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: npm run example:multi-rank [-- --ranks R]   (R divides the group size 8)');
    return 0;
  }
  const R = Number(values.ranks);
  if (!Number.isInteger(R) || R < 1 || G % R !== 0) {
    console.error(`--ranks: expected a divisor of the group size ${G}, got ${values.ranks}`);
    return 2;
  }

  // The single-process result, from the whole batch.
  const lat = new Float32Array(N * (T + 1) * D);
  const rew = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    lat.set(trajectory(i), i * (T + 1) * D);
    rew.set(rewards(i), i * K);
  }
  const single = otcaAdvantages({ rewards: Tensor.from(rew, [N, K]), latents: Tensor.from(lat, [N, T + 1, D]), groupSize: G }).advantages.data;

  // R ranks; the coordinator only relays the N * (K + 1) floats and collects the results.
  const workerFile = fileURLToPath(new URL('./worker.js', import.meta.url));
  const workers = Array.from({ length: R }, (_, rank) =>
    fork(workerFile, [], { serialization: 'advanced', env: { ...process.env, OTCA_RANK: String(rank), OTCA_RANKS: String(R) } }),
  );
  const gathered = new Float32Array(N * (K + 1));
  const multi = new Float32Array(N * T);
  let shares = 0;
  let finished = 0;
  await new Promise<void>((resolve, reject) => {
    for (const w of workers) {
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`a rank exited with code ${code}`))));
      w.on('message', (msg: FromRank) => {
        if (msg.kind === 'share') {
          msg.samples.forEach((i, m) => gathered.set(msg.share.subarray(m * (K + 1), (m + 1) * (K + 1)), i * (K + 1)));
          if (++shares === R) for (const v of workers) v.send({ gathered } satisfies ToRank);
        } else {
          msg.samples.forEach((i, m) => multi.set(msg.advantages.subarray(m * T, (m + 1) * T), i * T));
          if (++finished === R) resolve();
        }
      });
    }
  });

  let largest = 0;
  for (let k = 0; k < N * T; k++) largest = Math.max(largest, Math.abs(multi[k]! - single[k]!));
  console.log(
    `${R} ranks, ${B} groups of ${G} (${G / R} samples of each group per rank), T = ${T}, D = ${D}, K = ${K}: ` +
      `gathered ${N * (K + 1)} floats; largest difference from the single-process result: ${largest}`,
  );
  return largest === 0 ? 0 : 1;
}

process.exitCode = await main();
