/**
 * Credit diagnostics (paper appendix 6.1, Table 5): does the alignment gain dS of each step predict
 * the reward gain dR of that step? Decode x0-hat = z - sigma v at every state of held-out SDE
 * trajectories, score it, dR[t] = R(x0-hat after step t) - R(x0-hat before it), take dS from otca
 * (output 'deltaS') and compare them with otca's creditDiagnostics.
 */
import { creditDiagnostics, type CreditMetrics } from '../../lib/index.js';
import { D, NUM_CLASSES, Rng } from './data.js';
import type { VelocityNet } from './model.js';
import { K, REWARD_NAMES, heldOut, scoreImages } from './rewards.js';
import { finalStates, sdeRollout } from './sampler.js';
import { stepAdvantages } from './advantages.js';

/** What is decoded and scored at each state: the prediction x0-hat, or the state z_t itself. */
export type Decode = 'x0hat' | 'state';

export interface CreditStudy {
  /** Trajectories analysed. */
  trajectories: number;
  /** The otca backend that computed dS. */
  backend: string;
  /** Metrics (sample means) per decode and score: each reward, their sum, the held-out metric. */
  rows: { decode: Decode; score: string; metrics: CreditMetrics<number> }[];
  paper: CreditMetrics<number>;
}

export function creditStudy(net: VelocityNet, groups: number, G: number, T: number, eta: number, seed: number): CreditStudy {
  const N = groups * G;
  const cls = new Int32Array(N);
  for (let b = 0; b < groups; b++) cls.fill(b % NUM_CLASSES, b * G, (b + 1) * G);
  const r = sdeRollout(net, cls, T, eta, new Rng(seed), true);
  const S = T + 1;
  const stateCls = new Int32Array(N * S);
  for (let i = 0; i < N; i++) stateCls.fill(cls[i]!, i * S, (i + 1) * S);
  const finals = scoreImages(finalStatesOf(r.latents, N, T), cls);
  const { deltaS, backend } = stepAdvantages('otca', finals, K, r.latents, N, T, D, G);
  const rows: CreditStudy['rows'] = [];
  for (const decode of ['x0hat', 'state'] as const) {
    // Score the decoded image at every state j = 0..T; rows in (i, j) order, as both layouts are.
    const images = decode === 'x0hat' ? r.x0hat! : r.latents;
    const scores = scoreImages(images, stateCls);
    const held = heldOut(images, stateCls);

    const gains = (score: (i: number, j: number) => number): Float32Array => {
      const dR = new Float32Array(N * T);
      for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) dR[i * T + t] = score(i, t + 1) - score(i, t);
      return dR;
    };
    const named: [string, (i: number, j: number) => number][] = [
      ['sum of rewards', (i, j) => {
        let s = 0;
        for (let k = 0; k < K; k++) s += scores[(i * S + j) * K + k]!;
        return s;
      }],
      ...REWARD_NAMES.map((n, k): [string, (i: number, j: number) => number] => [n, (i, j) => scores[(i * S + j) * K + k]!]),
      ['fidelity (held out)', (i, j) => held[i * S + j]!],
    ];
    for (const [score, f] of named) {
      const d = creditDiagnostics({ data: deltaS, shape: [N, T] }, { data: gains(f), shape: [N, T] });
      rows.push({ decode, score, metrics: d.mean });
    }
  }
  const paper = creditDiagnostics([[0, 1]], [[0, 1]]).paper;
  return { trajectories: N, backend, rows, paper };
}

function finalStatesOf(latents: Float32Array, N: number, T: number): Float32Array {
  return finalStates({ N, T, cls: new Int32Array(N), latents, logProbs: new Float32Array(0) });
}
