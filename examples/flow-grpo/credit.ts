/**
 * Credit diagnostics (paper appendix 6.1, Table 5), with the controls the paper does not report,
 * on held-out SDE trajectories of the base model: does the alignment gain dS of each step (otca's
 * `deltaS`) say which step earned the reward?
 *
 * Three definitions of a step's reward gain dR_t = V(t + 1) - V(t), where V(j) is:
 * - `value` (true per-step credit): the reward of the deterministic ODE completion from z_j, i.e.
 *   what the trajectory would end at if no more noise were injected after state j;
 * - `state` (the paper's text, "decode the intermediate latent state"): the reward of z_j itself;
 * - `x0hat`: the reward of the prediction x0-hat = z_j - sigma_j v.
 * Each is scored per reward and for their sum, and reported with its spread over trajectories,
 * its shuffled-pair null and its residual after the per-step profile (see `creditDiagnostics`).
 *
 * The same trajectories give the rewards' calibration (within-group spread and correlations on
 * the base model), MOCA's behaviour in closed form, and TCD's average step profile.
 */
import { type CreditMetrics, Tensor, creditDiagnostics, otcaAdvantages } from '../../lib/index.js';
import { D, NUM_CLASSES, Rng } from './data.js';
import type { VelocityNet } from './model.js';
import { K, REWARD_NAMES, rawScores, scoreImages } from './rewards.js';
import { finalStates, odeCompletions, sdeCoefs, sdeRollout } from './sampler.js';
import { type TrainConfig, groupNoise } from './trainer.js';
import { advantageSettings } from './advantages.js';

/** What V(j) scores at state j. */
export type Decode = 'value' | 'state' | 'x0hat';
export const DECODES: readonly Decode[] = ['value', 'state', 'x0hat'];
export const DECODE_LABELS: Record<Decode, string> = {
  value: 'ODE completion (true credit)',
  state: 'z_t itself (paper)',
  x0hat: 'x0-hat',
};

export interface CreditRow {
  decode: Decode;
  /** 'sum' or a reward name. */
  score: string;
  mean: CreditMetrics<number>;
  std: CreditMetrics<number>;
  shuffledNull: CreditMetrics<number>;
  residual: CreditMetrics<number>;
}

/** The rewards on the base model's groups: what "calibrated to conflict" means, measured. */
export interface Calibration {
  /** Within-group std of each reward (in reward units, so 1 where the calibration still holds). */
  withinStd: number[];
  /** Within-group correlation matrix [K][K] (rewards centred on their group mean, pooled). */
  withinCorr: number[][];
  /** Mean of each raw score and its within-group std. */
  rawMean: number[];
  rawWithinStd: number[];
  /** Distance of the mean to the score's ceiling (1), in within-group stds (shape, brightness, sparsity). */
  headroom: number[];
}

/** What MOCA's solver does on these groups: f = clip(lam / 2, min_k A, max_k A), lam = 1[sum A > 0] tanh(e). */
export interface MocaBehaviour {
  samples: number;
  /** Largest |f - clip(lam/2, min A, max A)| (the closed form holds to float32 rounding). */
  closedFormError: number;
  /** Share of samples whose per-reward advantages disagree in sign and sum to > 0 (f = lam / 2 there, unless clipped). */
  mixedPositive: number;
  /** ... disagree in sign and sum to <= 0 (lam = 0, f = 0). */
  mixedNonPositive: number;
  /** ... all >= 0 (f = max(lam / 2, min A) clipped to max A: the smallest where lam / 2 is below it). */
  allNonNegative: number;
  /** ... all <= 0 (lam = 0, f = max A, the advantage closest to 0). */
  allNonPositive: number;
  /** Share of samples with f = 0 (|f| <= 1e-6: the solver's f is lam/2 = 0 up to rounding). */
  zeroShare: number;
  /** Median exploration e and the share of samples with tanh(e) > 0.99. */
  medianExploration: number;
  tanhAbove099: number;
  /** Share with |f| <= 0.5 + 1e-6 (the most MOCA can give a mixed-sign sample). */
  atMostHalf: number;
}

export interface CreditStudy {
  trajectories: number;
  groups: number;
  /** The otca backend that computed dS. */
  backend: string;
  rows: CreditRow[];
  paper: CreditMetrics<number>;
  calibration: Calibration;
  moca: MocaBehaviour;
  /** TCD's step weights w (otca defaults): mean over samples per step, and their std over samples. */
  weightProfile: { mean: number[]; std: number[] };
  /** dS per step: mean and std over samples. */
  deltaSProfile: { mean: number[]; std: number[] };
}

export function creditStudy(net: VelocityNet, groups: number, cfg: TrainConfig, seed: number): CreditStudy {
  const { T, G } = cfg;
  const N = groups * G;
  const cls = new Int32Array(N);
  for (let b = 0; b < groups; b++) cls.fill(b % NUM_CLASSES, b * G, (b + 1) * G);
  const coefs = sdeCoefs(cfg);
  const r = sdeRollout(net, cls, groupNoise(N, G, new Rng(seed)), coefs, new Rng(seed + 1), true);
  const finals = finalStates(r);
  const rewards = scoreImages(finals, cls);
  // The sampler's list of states, as zero-copy views (otca takes the list as it is).
  const out = otcaAdvantages(
    { rewards: Tensor.from(rewards, [N, K]), latents: r.states.map((s) => Tensor.from(s, [N, D])), groupSize: G },
    { device: advantageSettings.device, outputs: 'all' },
  );
  const deltaS = out.deltaS!.data;

  // Each decode: T+1 x [N, D], one [N, D] per state, as the sampler keeps its states.
  const decoded: Record<Decode, Float32Array[]> = {
    value: odeCompletions(net, r, coefs.sigmas),
    state: r.states,
    x0hat: r.x0hat!,
  };
  const rows: CreditRow[] = [];
  for (const decode of DECODES) {
    const scores = decoded[decode].map((x) => scoreImages(x, cls)); // T+1 x [N, K]
    const named: [string, (i: number, j: number) => number][] = [
      [
        'sum',
        (i, j) => {
          let s = 0;
          for (let k = 0; k < K; k++) s += scores[j]![i * K + k]!;
          return s;
        },
      ],
      ...REWARD_NAMES.map((n, k): [string, (i: number, j: number) => number] => [n, (i, j) => scores[j]![i * K + k]!]),
    ];
    for (const [score, f] of named) {
      const dR = new Float32Array(N * T);
      for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) dR[i * T + t] = f(i, t + 1) - f(i, t);
      const d = creditDiagnostics({ data: deltaS, shape: [N, T] }, { data: dR, shape: [N, T] });
      rows.push({ decode, score, mean: d.mean, std: d.std, shuffledNull: d.shuffledNull!, residual: d.residual });
    }
  }
  return {
    trajectories: N,
    groups,
    backend: out.backend,
    rows,
    paper: creditDiagnostics([[0, 1]], [[0, 1]]).paper,
    calibration: calibrate(rewards, rawScores(finals, cls), N, G),
    moca: mocaBehaviour(out.objectiveAdvantages!.data, out.lambda!.data, out.exploration!.data, out.fused!.data, N),
    weightProfile: columnStats(out.stepWeights!.data, N, T),
    deltaSProfile: columnStats(deltaS, N, T),
  };
}

function columnStats(x: ArrayLike<number>, N: number, T: number): { mean: number[]; std: number[] } {
  const mean = Array.from({ length: T }, (_, t) => {
    let s = 0;
    for (let i = 0; i < N; i++) s += x[i * T + t]!;
    return s / N;
  });
  const std = mean.map((m, t) => {
    let s = 0;
    for (let i = 0; i < N; i++) s += (x[i * T + t]! - m) ** 2;
    return Math.sqrt(s / Math.max(1, N - 1));
  });
  return { mean, std };
}

/** Rewards centred on their group mean: within-group std (pooled, ddof per group) and correlations. */
export function calibrate(rewards: Float32Array, raw: Float32Array, N: number, G: number): Calibration {
  const B = N / G;
  const centred = (x: Float32Array): Float64Array[] =>
    Array.from({ length: K }, (_, k) => {
      const c = new Float64Array(N);
      for (let b = 0; b < B; b++) {
        let m = 0;
        for (let g = 0; g < G; g++) m += x[(b * G + g) * K + k]!;
        m /= G;
        for (let g = 0; g < G; g++) c[b * G + g] = x[(b * G + g) * K + k]! - m;
      }
      return c;
    });
  const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0) / (N - B);
  const c = centred(rewards);
  const withinStd = c.map((a) => Math.sqrt(dot(a, a)));
  const withinCorr = c.map((a, i) => c.map((b, j) => dot(a, b) / (withinStd[i]! * withinStd[j]!)));
  const cr = centred(raw);
  const rawWithinStd = cr.map((a) => Math.sqrt(dot(a, a)));
  const rawMean = Array.from({ length: K }, (_, k) => {
    let s = 0;
    for (let i = 0; i < N; i++) s += raw[i * K + k]!;
    return s / N;
  });
  return { withinStd, withinCorr, rawMean, rawWithinStd, headroom: rawMean.map((m, k) => (1 - m) / rawWithinStd[k]!) };
}

/** How MOCA's fused advantage relates to the per-reward ones on these samples. */
export function mocaBehaviour(A: ArrayLike<number>, lambda: ArrayLike<number>, e: ArrayLike<number>, f: ArrayLike<number>, N: number): MocaBehaviour {
  let err = 0;
  let mixedPositive = 0;
  let mixedNonPositive = 0;
  let allNonNegative = 0;
  let allNonPositive = 0;
  let zero = 0;
  let tanh099 = 0;
  let half = 0;
  for (let i = 0; i < N; i++) {
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k]!;
      lo = Math.min(lo, a);
      hi = Math.max(hi, a);
      sum += a;
    }
    err = Math.max(err, Math.abs(f[i]! - Math.min(hi, Math.max(lo, lambda[i]! / 2))));
    if (lo >= 0) allNonNegative++;
    else if (hi <= 0) allNonPositive++;
    else if (sum > 0) mixedPositive++;
    else mixedNonPositive++;
    if (Math.abs(f[i]!) <= 1e-6) zero++;
    if (Math.tanh(e[i]!) > 0.99) tanh099++;
    if (Math.abs(f[i]!) <= 0.5 + 1e-6) half++;
  }
  const sorted = Array.from(e).sort((a, b) => a - b);
  const median = N % 2 ? sorted[(N - 1) / 2]! : (sorted[N / 2 - 1]! + sorted[N / 2]!) / 2;
  return {
    samples: N,
    closedFormError: err,
    mixedPositive: mixedPositive / N,
    mixedNonPositive: mixedNonPositive / N,
    allNonNegative: allNonNegative / N,
    allNonPositive: allNonPositive / N,
    zeroShare: zero / N,
    medianExploration: median,
    tanhAbove099: tanh099 / N,
    atMostHalf: half / N,
  };
}
