/**
 * One rank: holds the latents of its samples only, runs phase 1 on them, sends its samples' rewards
 * and trajectory scores (K + 1 floats each) to the coordinator, receives all N * (K + 1), runs phase 2
 * on the whole batch (cheap: N * (K + 1) numbers) and returns the advantages of its own samples.
 */
import { combineCredit, objectiveCredit, Tensor, trajectoryCredit } from '../../lib/index.js';
import { K, N, T, D, G, rewards, samplesOf, trajectory } from './data.js';
import type { FromRank, ToRank } from './main.js';

const rank = Number(process.env.OTCA_RANK);
const ranks = Number(process.env.OTCA_RANKS);
const mine = samplesOf(rank, ranks);
const n = mine.length;

// Phase 1 where the latents live: only this rank's n samples.
const latents = new Float32Array(n * (T + 1) * D);
mine.forEach((i, m) => latents.set(trajectory(i), m * (T + 1) * D));
const phase1 = trajectoryCredit({ latents: Tensor.from(latents, [n, T + 1, D]) });

// Its share of the gather: [reward_0 .. reward_{K-1}, q] per sample.
const share = new Float32Array(n * (K + 1));
mine.forEach((i, m) => {
  share.set(rewards(i), m * (K + 1));
  share[m * (K + 1) + K] = phase1.trajectoryScore.data[m]!;
});
const send = (msg: FromRank): void => void process.send!(msg);
send({ kind: 'share', rank, samples: mine, share });

process.on('message', (msg: ToRank) => {
  // Phase 2 on the gathered N * (K + 1) floats, identical on every rank.
  const all = msg.gathered;
  const r = new Float32Array(N * K);
  const q = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    r.set(all.subarray(i * (K + 1), i * (K + 1) + K), i * K);
    q[i] = all[i * (K + 1) + K]!;
  }
  const phase2 = objectiveCredit({ rewards: Tensor.from(r, [N, K]), trajectoryScore: q, groupSize: G });
  // This rank's rows of f, then Adv = w * f for its own samples.
  const f = Float32Array.from(mine, (i) => phase2.fused.data[i]!);
  const adv = combineCredit(phase1, { fused: Tensor.from(f, [n]) });
  send({ kind: 'advantages', rank, samples: mine, advantages: adv.data });
  process.disconnect();
});
