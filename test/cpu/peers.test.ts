// The presets, and the option sets docs/peers.md gives for each trainer of its table, against the
// project's own ports of the peers' advantage computations (test/helpers/peers.ts, each written from
// the peer's code and naming the commit, file and function it follows), on fresh random batches
// shaped as each trainer makes them: e.g. DanceGRPO's contiguous groups of num_generations (one
// reward in the FLUX trainer; several, each normalised on its own, in the HunyuanVideo trainer), and
// Flow-GRPO's prompt groups as its sampler scatters them over an epoch (shuffled, of unequal size,
// singletons included) through groupIds. Every path is run:
// otcaAdvantages, the plan (createAdvantageStep), the two phases, and the float64 reference.
//
// Tolerance (u = 2^-24, float32's unit roundoff), per sample, derived from where each side rounds:
// - otca computes the statistics in float64 and rounds its outputs to float32: u |A|.
// - DanceGRPO computes in float32 (its rewards are `.to(torch.float32)`): its group mean carries up to
//   n u M (n the group size, M the group's largest |r|: an n-term float32 sum), which the
//   normalisation divides by (std + eps); its std, n/2 + 3 roundings relative. Together
//   |otca - port| <= (n + 4) u (a + M / (std + eps)), a = |r - mean| / (std + eps) before the clamp.
// - Flow-GRPO normalises in float64 but fuses its K rewards in float32 first (multi_score), each
//   sample's fused reward off by up to Delta = 2K u max_i sum_k |w_k r_ik|; that moves the value, the
//   prompt's mean and the batch std by at most Delta each, so |otca - port| <= u |A| + (2 + a) Delta /
//   (std + eps) + 1e-12 (float64 summation orders).
// The clamp at 5 is 1-Lipschitz and keeps these bounds. Both are a few float32 roundings of the
// inputs seen through the normalisation: what "equal to float32 precision" means for a quotient
// by a std. Where the peer's own rounding is taken out (DanceGRPO's lines run in float64; Flow-GRPO
// with one reward of weight 1, whose fusion is exact), the bound is otca's own: u |A| + 1e-12.
// The worst difference per preset is printed in one line at the end.
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PRESETS,
  Tensor,
  combineCredit,
  createAdvantageStep,
  objectiveCredit,
  otcaAdvantages,
  trajectoryCredit,
  type OtcaOptions,
} from '../../lib/index.js';
import { referenceAdvantages } from '../../lib/reference.js';
import { expectBitEqual } from '../helpers/compare.js';
import {
  danceGrpoFluxAdvantages,
  danceGrpoHunyuanAdvantages,
  diffusionNftAdvantages,
  diffusionNftLossWeights,
  flowFactoryAdvantages,
  verlFlowGrpoAdvantages,
  mixGrpoAdvantageAggr,
  mixGrpoRewardAggr,
  branchGrpoPathAdvantages,
  flowGrpoAdvantages,
  flowGrpoEpochPrompts,
  flowGrpoMultiScore,
  flowGrpoWanKlRewardAdvantages,
  turningPointGrpoAdvantages,
  gdpoAdvantages,
  groupIdsOf,
  grpoClippedLoss,
  prefGrpoAdvantages,
  prefGrpoWinRates,
} from '../helpers/peers.js';
import { gaussian, rng, trajectories } from '../helpers/random.js';
import { TEST_SEED as SEED } from '../helpers/seed.js';

const U = 2 ** -24;
const T = 4;
const D = 24;

// ------------------------------------------------------------------ comparison and the record

interface Worst {
  abs: number;
  rel: number;
  ofTolerance: number;
  values: number;
}
const worst: Record<string, Worst> = {};

/**
 * Asserts |actual_i - port_i| <= tolerance_i for every i and records the worst absolute difference,
 * the worst relative to the case's largest |port|, and the worst share of the tolerance used.
 */
function expectWithin(key: string, actual: ArrayLike<number>, port: ArrayLike<number>, tolerance: ArrayLike<number>, label: string): void {
  expect(actual.length, `${label}: length`).toBe(port.length);
  let scale = 0;
  for (let i = 0; i < port.length; i++) scale = Math.max(scale, Math.abs(port[i]!));
  const w = (worst[key] ??= { abs: 0, rel: 0, ofTolerance: 0, values: 0 });
  for (let i = 0; i < port.length; i++) {
    const d = Math.abs(actual[i]! - port[i]!);
    if (!(d <= tolerance[i]!)) {
      throw new Error(`${label}: |otca - port| = ${d.toExponential(3)} > ${tolerance[i]!.toExponential(3)} at sample ${i} (otca ${actual[i]}, port ${port[i]})`);
    }
    w.abs = Math.max(w.abs, d);
    w.rel = Math.max(w.rel, d / Math.max(scale, 1e-30));
    w.ofTolerance = Math.max(w.ofTolerance, d / tolerance[i]!);
  }
  w.values += port.length;
}

afterAll(() => {
  const line = Object.entries(worst)
    .map(([k, w]) => `${k}: abs ${w.abs.toExponential(2)}, rel ${w.rel.toExponential(2)}, ${(100 * w.ofTolerance).toFixed(1)}% of tolerance (${w.values} values)`)
    .join('; ');
  console.log(`[peers] worst |otca - port| (seed ${SEED}): ${line}`);
});

/** The mean of a group's values (float64), and the std with the given correction. */
function stats(xs: readonly number[], correction: number): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const dof = xs.length - correction;
  const ss = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, std: dof > 0 ? Math.sqrt(ss / dof) : 0 };
}

/** Each sample's group members (by id). */
function membersOf(ids: ArrayLike<number>): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const list = groups.get(ids[i]!) ?? [];
    list.push(i);
    groups.set(ids[i]!, list);
  }
  return groups;
}

/** The DanceGRPO tolerance for one reward column (see the header): (n + 4) u (a + M / (std + eps)). */
function danceTolerance(column: ArrayLike<number>, G: number): Float64Array {
  const tol = new Float64Array(column.length);
  for (let start = 0; start < column.length; start += G) {
    const group = Array.from({ length: G }, (_, m) => column[start + m]!);
    const { mean, std } = stats(group, 1);
    const M = Math.max(...group.map(Math.abs));
    for (let m = 0; m < G; m++) tol[start + m] = (G + 4) * U * (Math.abs(group[m]! - mean) / (std + 1e-8) + M / (std + 1e-8));
  }
  return tol;
}

/**
 * The tolerance of Flow-GRPO's tracker (population std + 1e-4, clamp 5) on one column of values `R`
 * that the peer holds rounded, each off by up to delta[i]: that moves the value, its prompt's mean and
 * the std by at most the largest delta in their scope, so u |A| + (2 + a) Delta / (std + 1e-4) +
 * 1e-12, the std over the batch (global_std) or the prompt (see the header).
 */
function trackerTolerance(R: ArrayLike<number>, delta: ArrayLike<number>, ids: ArrayLike<number>, globalStd: boolean): Float64Array {
  const all = Array.from({ length: ids.length }, (_, i) => i);
  const batch = stats(all.map((i) => R[i]!), 0);
  const batchDelta = Math.max(...all.map((i) => delta[i]!));
  const tol = new Float64Array(ids.length);
  for (const members of membersOf(ids).values()) {
    const g = stats(members.map((i) => R[i]!), 0);
    const spread = (globalStd ? batch.std : g.std) + 1e-4;
    const d = globalStd ? batchDelta : Math.max(...members.map((i) => delta[i]!));
    for (const i of members) {
      const a = Math.abs(R[i]! - g.mean) / spread;
      tol[i] = U * Math.min(a, 5) + ((2 + a) * d) / spread + 1e-12;
    }
  }
  return tol;
}

/**
 * The Flow-GRPO tolerance: multi_score's float32 fusion puts each fused reward off by up to Delta =
 * 2K u max_i sum_k |w_k r_ik| (0 for one reward of weight 1, whose float32 sum is the reward itself).
 */
function flowTolerance(scores: Float32Array, weights: readonly number[], ids: ArrayLike<number>, globalStd: boolean): Float64Array {
  const K = weights.length;
  const N = ids.length;
  const R = Array.from({ length: N }, (_, i) => weights.reduce((s, w, k) => s + w * scores[i * K + k]!, 0));
  const S = Array.from({ length: N }, (_, i) => weights.reduce((s, w, k) => s + Math.abs(w * scores[i * K + k]!), 0));
  const delta = K === 1 && weights[0] === 1 ? 0 : 2 * K * U * Math.max(...S);
  return trackerTolerance(R, new Float64Array(N).fill(delta), ids, globalStd);
}

/**
 * The Wan trainer's float32 per-step reward (its line 788, `avg - kl_reward * kl` in float32) against
 * otca fusing the columns [R, kl] in float64: each value off by Delta <= 2 u (|R| + 2 |kl_reward kl|)
 * (two roundings, and kl_reward itself as a float32 scalar); the tracker's tolerance at each step.
 */
function wanFloat32Tolerance(R: ArrayLike<number>, kl: ArrayLike<number>, klReward: number, ids: ArrayLike<number>, TS: number, globalStd: boolean): Float64Array {
  const N = ids.length;
  const tol = new Float64Array(N * TS);
  for (let t = 0; t < TS; t++) {
    const r = Float64Array.from({ length: N }, (_, i) => R[i]! - klReward * kl[i * TS + t]!);
    const delta = Float64Array.from({ length: N }, (_, i) => 2 * U * (Math.abs(R[i]!) + 2 * Math.abs(klReward * kl[i * TS + t]!)));
    trackerTolerance(r, delta, ids, globalStd).forEach((v, i) => (tol[i * TS + t] = v));
  }
  return tol;
}

/** otca's own rounding: float64 statistics rounded to float32 once (plus float64 summation orders). */
function ownRounding(port: ArrayLike<number>): Float64Array {
  return Float64Array.from(port, (a) => U * Math.abs(a) + 1e-12);
}

// ------------------------------------------------------------------ inputs

/**
 * One Flow-GRPO epoch's prompts (flowGrpoEpochPrompts) in the shape each case's checks rely on, for
 * any seed: prompt groups scattered over the batch (unless every prompt is drawn once), of unequal
 * sizes where the epoch has several batches, and with singletons where k = 1. A draw without that shape (rare, but some seeds give one)
 * is replaced by the next seed's, so OTCA_TEST_SEED can vary freely; the first draw is the seed's own.
 */
function epochPrompts(seed: number, ...sampler: [number, number, number, number]): string[] {
  const [, , k, batches] = sampler;
  for (let j = 0; j < 1000; j++) {
    const prompts = flowGrpoEpochPrompts(rng(seed + 1_000_003 * j), ...sampler);
    const ids = groupIdsOf(prompts);
    const sizes = [...membersOf(ids).values()].map((m) => m.length);
    const scattered = ids.some((id, i) => i > 0 && id !== ids[i - 1] && ids.indexOf(id) < i);
    if ((scattered || (k === 1 && batches === 1)) && (batches === 1 || new Set(sizes).size > 1) && (k !== 1 || sizes.includes(1))) return prompts;
  }
  throw new Error(`no epoch of the shape the tests need from sampler ${sampler.join(', ')}`);
}

/** Latents for N samples (their values do not matter with temporal 'uniform', but every path reads them). */
function latentsOf(seed: number, N: number): { flat: Float32Array; tensor: Tensor<'float32'> } {
  const flat = trajectories(seed, N, T, D);
  return { flat, tensor: Tensor.from(flat, [N, T + 1, D]) };
}

/**
 * Rewards [N, K] as reward models give them: a per-objective level, a per-group offset (some
 * prompts are easier) and per-sample noise. 'clip' is a CLIP/HPS-like score (level ~0.3, spread
 * ~0.01-0.02, so a float32 ulp is a visible share of the spread), 'unit' an O(1) one.
 */
function rewardsOf(seed: number, ids: ArrayLike<number>, K: number, kind: 'clip' | 'unit' | 'pickscore'): Float32Array {
  const g = gaussian(rng(seed));
  const N = ids.length;
  const [level, spread] = kind === 'clip' ? [0.3, 0.015] : kind === 'pickscore' ? [21.5, 0.4] : [0, 1];
  const offsets = new Map<number, number[]>();
  const out = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    if (!offsets.has(ids[i]!)) offsets.set(ids[i]!, Array.from({ length: K }, () => spread * g()));
    for (let k = 0; k < K; k++) out[i * K + k] = level * (1 + 0.2 * k) + offsets.get(ids[i]!)![k]! + spread * g();
  }
  return out;
}

function column(r: Float32Array, K: number, k: number): Float32Array {
  return Float32Array.from({ length: r.length / K }, (_, i) => r[i * K + k]!);
}

/** Advantages [N, T] of a 'uniform' preset are f broadcast over the steps, bit for bit. */
function expectBroadcast(advantages: Float32Array, fused: Float32Array, label: string): void {
  for (let i = 0; i < fused.length; i++)
    for (let t = 0; t < T; t++) if (!Object.is(advantages[i * T + t], fused[i])) throw new Error(`${label}: Adv[${i},${t}] = ${advantages[i * T + t]} is not f = ${fused[i]}`);
}

/**
 * Runs a case through every path and checks that they agree with each other bit for bit (the plan
 * and the two phases against the one call), returning the one call's result and the reference's.
 */
function runAllPaths(
  rewards: Float32Array,
  K: number,
  groups: { groupSize: number } | { groupIds: Int32Array },
  options: OtcaOptions,
  seed: number,
  label: string,
) {
  const N = rewards.length / K;
  const { flat, tensor } = latentsOf(seed, N);
  const rewardsT = Tensor.from(rewards, [N, K]);
  const inputs = { rewards: rewardsT, latents: tensor, ...groups };
  const out = otcaAdvantages(inputs, { ...options, outputs: 'all' });
  expect(out.backend).toBe('cpu');
  expectBroadcast(out.advantages.data, out.fused.data, label);

  const step = createAdvantageStep({ ...options, outputs: 'all' });
  const planned = step.run(inputs);
  for (const f of ['advantages', 'objectiveAdvantages', 'fused'] as const) expectBitEqual(planned[f].data, out[f].data, `${label}: plan ${f}`);
  step.dispose();

  const phase1 = trajectoryCredit({ latents: tensor }, options);
  const phase2 = objectiveCredit({ rewards: rewardsT, trajectoryScore: phase1.trajectoryScore, ...groups }, options);
  for (const f of ['objectiveAdvantages', 'fused'] as const) expectBitEqual(phase2[f].data, out[f].data, `${label}: phases ${f}`);

  const ref = referenceAdvantages({ rewards, K, latents: flat, N, T, D, ...groups }, options);
  return { out, ref };
}

// ------------------------------------------------------------------ DanceGRPO

describe(`preset 'dancegrpo' reproduces DanceGRPO's trainers (seed ${SEED})`, () => {
  // fastvideo/train_grpo_flux.py: one reward, groups of num_generations in a row (12 in its script).
  const flux: [number, number, 'clip' | 'unit'][] = [[1, 12, 'clip'], [2, 12, 'clip'], [3, 8, 'unit'], [2, 16, 'clip'], [4, 6, 'unit']];
  flux.forEach(([B, G, kind], c) =>
    it(`FLUX trainer (K = 1): ${B} prompt(s) x ${G} generations, ${kind} rewards`, () => {
      const N = B * G;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / G));
      const r = rewardsOf(SEED + 31 * c, ids, 1, kind);
      const port = danceGrpoFluxAdvantages(r, G);
      const { out, ref } = runAllPaths(r, 1, { groupSize: G }, { preset: 'dancegrpo' }, SEED + c, `flux ${c}`);
      const tol = danceTolerance(r, G);
      expectWithin('dancegrpo', out.fused.data, port, tol, `flux ${c} fused`);
      expectWithin('dancegrpo (reference)', ref.fused, port, tol, `flux ${c} reference`);
      const port64 = danceGrpoFluxAdvantages(r, G, 5, 'float64');
      expectWithin('dancegrpo, its lines in float64', out.fused.data, port64, ownRounding(port64), `flux ${c} fused vs float64 port`);
    }),
  );

  it('FLUX trainer: the clamp at adv_clip_max = 5 (a group of 32 with one outlier)', () => {
    // With the Bessel std no |A| exceeds (n - 1) / sqrt(n), so the clamp can bind only from n = 27.
    const G = 32;
    const ids = new Int32Array(G);
    const r = rewardsOf(SEED + 5, ids, 1, 'clip');
    r[7] = 0.9;
    const port = danceGrpoFluxAdvantages(r, G);
    expect(port[7]).toBe(5); // the case clamps
    const { out } = runAllPaths(r, 1, { groupSize: G }, { preset: 'dancegrpo' }, SEED + 5, 'flux clamp');
    expect(out.fused.data[7]).toBe(5);
    expectWithin('dancegrpo', out.fused.data, port, danceTolerance(r, G), 'flux clamp');
  });

  // fastvideo/train_grpo_hunyuan.py: vq and mq rewards, coefficients vq_coef, mq_coef (1 and 0 by
  // default, its script keeps them), 24 generations in its script; K = 3 is the same loop once more.
  const hunyuan: [number, number, number[], 'clip' | 'unit'][] = [
    [1, 24, [1, 0], 'unit'],
    [2, 24, [1, 0.5], 'clip'],
    [3, 8, [1, 0.5, 0.25], 'unit'],
    [2, 12, [0.7, 1.3, -0.4], 'clip'],
  ];
  hunyuan.forEach(([B, G, coefs, kind], c) =>
    it(`HunyuanVideo trainer (K = ${coefs.length}, coefficients ${coefs.join(', ')}): per-reward advantages and the fused value`, () => {
      const K = coefs.length;
      const N = B * G;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / G));
      const r = rewardsOf(SEED + 77 * c, ids, K, kind);
      const columns = Array.from({ length: K }, (_, k) => column(r, K, k));
      const port = danceGrpoHunyuanAdvantages(columns, G, coefs);
      const options: OtcaOptions = { preset: 'dancegrpo', objectiveWeights: coefs };
      const { out, ref } = runAllPaths(r, K, { groupSize: G }, options, SEED + 100 + c, `hunyuan ${c}`);
      const tols = columns.map((col) => danceTolerance(col, G));
      for (let k = 0; k < K; k++) {
        expectWithin('dancegrpo', column(out.objectiveAdvantages.data, K, k), port.perReward[k]!, tols[k]!, `hunyuan ${c} A[:, ${k}]`);
        expectWithin('dancegrpo (reference)', Float64Array.from({ length: N }, (_, i) => ref.objectiveAdvantages[i * K + k]!), port.perReward[k]!, tols[k]!, `hunyuan ${c} reference A[:, ${k}]`);
      }
      const fusedTol = Float64Array.from({ length: N }, (_, i) => U * Math.abs(port.fused[i]!) + coefs.reduce((s, w, k) => s + Math.abs(w) * tols[k]![i]!, 0));
      expectWithin('dancegrpo', out.fused.data, port.fused, fusedTol, `hunyuan ${c} fused`);
      const port64 = danceGrpoHunyuanAdvantages(columns, G, coefs, 5, 'float64');
      for (let k = 0; k < K; k++)
        expectWithin('dancegrpo, its lines in float64', column(out.objectiveAdvantages.data, K, k), port64.perReward[k]!, ownRounding(port64.perReward[k]!), `hunyuan ${c} A[:, ${k}] vs float64 port`);
      // f = sum_k coef_k A_k in float64 from float32-rounded A: the rounding of each A, times |coef|
      const fused64Tol = Float64Array.from({ length: N }, (_, i) => U * Math.abs(port64.fused[i]!) + coefs.reduce((s, w, k) => s + Math.abs(w) * U * Math.abs(port64.perReward[k]![i]!), 0) + 1e-12);
      expectWithin('dancegrpo, its lines in float64', out.fused.data, port64.fused, fused64Tol, `hunyuan ${c} fused vs float64 port`);

      // 'weighted-reward' (Flow-GRPO's fusion) is not DanceGRPO's computation where two rewards count.
      if (coefs.filter((w) => w !== 0).length >= 2) {
        const wrong = otcaAdvantages({ rewards: Tensor.from(r, [N, K]), latents: latentsOf(SEED, N).tensor, groupSize: G }, { ...options, objective: 'weighted-reward', outputs: ['fused'] });
        let d = 0;
        for (let i = 0; i < N; i++) d = Math.max(d, Math.abs(wrong.fused.data[i]! - port.fused[i]!));
        expect(d).toBeGreaterThan(0.1);
      }
    }),
  );

  it("one fused value stands for the summed per-reward losses while every ratio is inside the clip range, and not outside it", () => {
    // The trainer's loss: sum_k coef_k * max(-A_k rho, -A_k clamp(rho)); one loss on f = sum_k coef_k A_k.
    const [G, coefs, clipRange] = [24, [1, 0.5], 1e-4];
    const ids = new Int32Array(G);
    const r = rewardsOf(SEED + 9, ids, 2, 'unit');
    const port = danceGrpoHunyuanAdvantages([column(r, 2, 0), column(r, 2, 1)], G, coefs);
    const perReward = (i: number, rho: number) =>
      coefs.reduce(
        (acc, w, k) => {
          const l = grpoClippedLoss(port.perReward[k]![i]!, rho, clipRange);
          return { loss: acc.loss + w * l.loss, dRatio: acc.dRatio + w * l.dRatio };
        },
        { loss: 0, dRatio: 0 },
      );
    for (let i = 0; i < G; i++) {
      for (const rho of [1 - clipRange, 1 - clipRange / 3, 1, 1 + clipRange / 2, 1 + clipRange]) {
        const a = perReward(i, rho);
        const b = grpoClippedLoss(port.fused[i]!, rho, clipRange);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-12);
        expect(Math.abs(a.dRatio - b.dRatio)).toBeLessThan(1e-12);
      }
    }
    // Outside the range, a sample whose rewards disagree in sign keeps a gradient per reward that
    // the fused loss clips away: objectiveAdvantages is then what reproduces the trainer.
    let differ = 0;
    for (let i = 0; i < G; i++) {
      const [a0, a1] = [port.perReward[0]![i]!, port.perReward[1]![i]!];
      if (Math.sign(a0) === Math.sign(a1)) continue;
      const rho = port.fused[i]! > 0 ? 1 + 3 * clipRange : 1 - 3 * clipRange;
      if (perReward(i, rho).dRatio !== grpoClippedLoss(port.fused[i]!, rho, clipRange).dRatio) differ++;
    }
    expect(differ).toBeGreaterThan(0);
  });
});

// ------------------------------------------------------------------ Flow-GRPO

describe(`preset 'flow-grpo' reproduces Flow-GRPO's trainer, prompt groups through groupIds (seed ${SEED})`, () => {
  interface FlowCase {
    label: string;
    /** Sampler: dataset size, distinct prompts per batch, repeats k, batches per epoch. */
    sampler: [number, number, number, number];
    weights: number[];
    kind: 'clip' | 'unit' | 'pickscore' | 'binary';
    globalStd?: boolean;
    outlier?: boolean;
    /** The sampler's numbers guarantee prompts of different sizes (more draws than prompts, or 12 draws of groups of 4 from 10). */
    unequal?: boolean;
  }
  const cases: FlowCase[] = [
    { label: 'one reward (pickscore-like), k = 4, prompts drawn in several batches', sampler: [10, 3, 4, 4], weights: [1], kind: 'pickscore', unequal: true },
    { label: 'two rewards weighted 0.6 / 0.4 (CLIP-like), k = 6', sampler: [8, 4, 6, 3], weights: [0.6, 0.4], kind: 'clip' },
    { label: 'three rewards, k = 3', sampler: [12, 5, 3, 3], weights: [1, 0.5, 2], kind: 'unit' },
    { label: 'k = 1 (config/base.py): singletons and prompts drawn twice', sampler: [20, 6, 1, 4], weights: [1], kind: 'unit', unequal: true },
    { label: 'binary rewards (geneval-like): groups with equal rewards', sampler: [6, 4, 4, 3], weights: [1], kind: 'binary' },
    { label: 'global_std False: the std per prompt', sampler: [8, 3, 4, 4], weights: [0.5, 1], kind: 'clip', globalStd: false },
    { label: 'an outlier beyond the clamp at adv_clip_max = 5', sampler: [16, 8, 8, 1], weights: [1], kind: 'unit', outlier: true },
  ];
  cases.forEach((flowCase, c) =>
    it(flowCase.label, () => {
      const prompts = epochPrompts(SEED + 13 * c, ...flowCase.sampler);
      const ids = groupIdsOf(prompts);
      const N = ids.length;
      const K = flowCase.weights.length;
      const scores =
        flowCase.kind === 'binary'
          ? Float32Array.from({ length: N }, (_, i) => (ids[i]! % 3 === 0 ? 1 : ids[i]! % 3 === 1 ? 0 : Number(rng(SEED + i)() < 0.5)))
          : rewardsOf(SEED + 17 * c, ids, K, flowCase.kind);
      if (flowCase.outlier) scores[5] = 40;
      const globalStd = flowCase.globalStd ?? true;
      const port = flowGrpoAdvantages(prompts, flowGrpoMultiScore(scores, flowCase.weights), globalStd);
      if (flowCase.outlier) expect(port[5]).toBe(5); // the case clamps
      // the batch is what the case says: shuffled, unequal or singleton groups
      const sizes = [...membersOf(ids).values()].map((m) => m.length);
      expect(ids.some((id, i) => i > 0 && id !== ids[i - 1] && ids.indexOf(id) < i)).toBe(true);
      if (flowCase.sampler[2] === 1) expect(sizes).toContain(1);
      if (flowCase.unequal) expect(new Set(sizes).size).toBeGreaterThan(1);

      const options: OtcaOptions = { preset: 'flow-grpo', objectiveWeights: flowCase.weights, ...(globalStd ? {} : { stdScope: 'group' }) };
      const { out, ref } = runAllPaths(scores, K, { groupIds: ids }, options, SEED + 200 + c, flowCase.label);
      const tol = flowTolerance(scores, flowCase.weights, ids, globalStd);
      expectWithin(K === 1 && flowCase.weights[0] === 1 ? 'flow-grpo, one reward' : 'flow-grpo, K >= 2', out.fused.data, port, tol, `${flowCase.label} fused`);
      expectWithin('flow-grpo (reference)', ref.fused, port, tol, `${flowCase.label} reference`);
      // a prompt drawn once has A = 0 on both sides, as does a prompt whose rewards are all equal
      for (const members of membersOf(ids).values()) {
        if (members.length === 1 || members.every((i) => scores[i * K] === scores[members[0]! * K])) {
          for (const i of members) {
            expect(out.fused.data[i]).toBe(0);
            expect(Math.abs(port[i]!)).toBeLessThan(1e-9);
          }
        }
      }
    }),
  );

  it("otca's default epsAdv (1e-8) and Bessel std are not Flow-GRPO's: the preset's options matter", () => {
    const prompts = epochPrompts(SEED + 3, 8, 4, 6, 3);
    const ids = groupIdsOf(prompts);
    const scores = rewardsOf(SEED + 4, ids, 1, 'clip');
    const port = flowGrpoAdvantages(prompts, flowGrpoMultiScore(scores, [1]));
    const N = ids.length;
    const run = (o: OtcaOptions) => otcaAdvantages({ rewards: Tensor.from(scores, [N, 1]), latents: latentsOf(SEED, N).tensor, groupIds: ids }, { ...o, outputs: ['fused'] }).fused.data;
    const maxDiff = (x: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - port[i]!)), 0);
    const { epsAdv: _eps, ...otherwise } = PRESETS['flow-grpo'];
    expect(maxDiff(run({ ...otherwise, objectiveWeights: [1] }))).toBeGreaterThan(1e-4);
    expect(maxDiff(run({ preset: 'flow-grpo', stdCorrection: 1 }))).toBeGreaterThan(1e-3);
    expect(maxDiff(run({ preset: 'flow-grpo' }))).toBeLessThan(1e-5);
  });
});

// ------------------------------------------------------------------ DiffusionNFT

describe(`DiffusionNFT's advantage is Flow-GRPO's preset, and its loss's r follows from otca's advantage by its own lines (seed ${SEED})`, () => {
  interface NftCase {
    label: string;
    /** Sampler (the same DistributedKRepeatSampler as Flow-GRPO's): dataset size, distinct prompts per batch, repeats k, batches per epoch. */
    sampler: [number, number, number, number];
    weights: number[];
    kind: 'clip' | 'unit' | 'pickscore' | 'binary';
    /** false: the batch z-score of lines 770-772 (unreachable at 24af555, ported as it reads). */
    perPrompt?: boolean;
    globalStd?: boolean;
    outlier?: boolean;
    /** One prompt's samples all get the same rewards. */
    tied?: boolean;
    unequal?: boolean;
  }
  // k >= 2 throughout: with num_image_per_prompt = 1 the trainer turns tracking off and stops (lines 505-510).
  const cases: NftCase[] = [
    { label: 'tracker, one reward (pickscore-like), k = 8, prompts drawn in several batches', sampler: [10, 3, 8, 4], weights: [1], kind: 'pickscore', unequal: true },
    { label: 'tracker, three rewards of weight 1 (config/nft.py sd3_multi_reward), k = 6', sampler: [8, 4, 6, 3], weights: [1, 1, 1], kind: 'clip' },
    { label: 'tracker, two rewards weighted 0.7 / 0.3, one prompt tied', sampler: [12, 5, 4, 3], weights: [0.7, 0.3], kind: 'unit', tied: true },
    { label: 'tracker, binary rewards (geneval-like): prompts with equal rewards', sampler: [6, 4, 4, 3], weights: [1], kind: 'binary' },
    { label: 'tracker, global_std False: the std per prompt', sampler: [8, 3, 4, 4], weights: [0.5, 1], kind: 'clip', globalStd: false, unequal: true },
    { label: 'tracker, an outlier beyond the clamp at adv_clip_max = 5', sampler: [16, 8, 8, 1], weights: [1], kind: 'unit', outlier: true },
    { label: 'batch branch (lines 770-772), one reward', sampler: [10, 4, 6, 2], weights: [1], kind: 'pickscore', perPrompt: false },
    { label: 'batch branch, two rewards, an outlier beyond the clamp', sampler: [16, 8, 8, 1], weights: [1, 0.5], kind: 'unit', perPrompt: false, outlier: true },
  ];
  const prepare = (nft: NftCase, c: number) => {
    const prompts = epochPrompts(SEED + 41 * c, ...nft.sampler);
    const ids = groupIdsOf(prompts);
    const N = ids.length;
    const K = nft.weights.length;
    const scores =
      nft.kind === 'binary'
        ? Float32Array.from({ length: N }, (_, i) => (ids[i]! % 3 === 0 ? 1 : ids[i]! % 3 === 1 ? 0 : Number(rng(SEED + i)() < 0.5)))
        : rewardsOf(SEED + 43 * c, ids, K, nft.kind);
    if (nft.tied) for (let i = 0; i < N; i++) if (ids[i] === 1) for (let k = 0; k < K; k++) scores[i * K + k] = 0.25 + k;
    if (nft.outlier) scores[5 * K] = 40;
    return { prompts, ids, N, K, scores };
  };

  cases.forEach((nft, c) =>
    it(nft.label, () => {
      const { prompts, ids, N, K, scores } = prepare(nft, c);
      const perPrompt = nft.perPrompt ?? true;
      const globalStd = nft.globalStd ?? true;
      const port = diffusionNftAdvantages(prompts, scores, nft.weights, perPrompt, globalStd);
      const loss = diffusionNftLossWeights(port);
      if (nft.outlier) {
        expect(port[5]).toBeGreaterThan(5); // the case clamps
        expect(loss.advantagesClip[5]).toBe(5);
        expect(loss.r[5]).toBe(1);
      }
      const sizes = [...membersOf(ids).values()].map((m) => m.length);
      expect(ids.some((id, i) => i > 0 && id !== ids[i - 1] && ids.indexOf(id) < i)).toBe(true); // scattered
      if (nft.unequal) expect(new Set(sizes).size).toBeGreaterThan(1);

      // the tracker: prompts as groupIds; the batch branch: the whole batch one group
      const options: OtcaOptions = { preset: 'flow-grpo', objectiveWeights: nft.weights, ...(globalStd ? {} : { stdScope: 'group' }) };
      const groups = { groupIds: perPrompt ? ids : new Int32Array(N) };
      const { out, ref } = runAllPaths(scores, K, groups, options, SEED + 300 + c, nft.label);
      const key = perPrompt ? 'diffusion-nft, tracker' : 'diffusion-nft, batch branch';
      expectWithin(key, out.fused.data, loss.advantagesClip, relativeTolerance(loss.advantagesClip), `${nft.label} fused`);
      expectWithin('diffusion-nft (reference)', ref.fused, loss.advantagesClip, relativeTolerance(loss.advantagesClip), `${nft.label} reference`);
      // r at every step from otca's Adv[:, j]: by the trainer's own lines 909-929 (kept as they are,
      // reading otca's advantages), and by the one line docs/peers.md gives (the preset's Adv is
      // already within [-5, 5])
      for (let t = 0; t < T; t++) {
        const step = Float32Array.from({ length: N }, (_, i) => out.advantages.data[i * T + t]!);
        expectWithin('diffusion-nft r', diffusionNftLossWeights(step).r, loss.r, relativeTolerance(loss.r), `${nft.label} r at step ${t}`);
        expectWithin('diffusion-nft r', Float64Array.from(step, (a) => a / 10 + 0.5), loss.r, relativeTolerance(loss.r), `${nft.label} r = Adv / 10 + 0.5 at step ${t}`);
      }
      if (nft.tied) {
        for (let i = 0; i < N; i++) {
          if (ids[i] !== 1) continue;
          expect(out.fused.data[i]).toBe(0);
          expect(Math.abs(port[i]!)).toBeLessThan(1e-12);
          expect(diffusionNftLossWeights([out.fused.data[i]!]).r[0]).toBe(0.5);
        }
      }
    }),
  );

  it('the port of the loss lines 909-929 at hand-computed points (adv_clip_max 5 and 2)', () => {
    const a = [-7, -5, -2.5, -1e-9, 0, 1e-9, 2.5, 5, 7];
    expect(Array.from(diffusionNftLossWeights(a).r)).toEqual([0, 0, 0.25, 0.5 - 1e-10, 0.5, 0.5 + 1e-10, 0.75, 1, 1]);
    expect(Array.from(diffusionNftLossWeights(a, 2).r)).toEqual([0, 0, 0, 0.25 * (2 - 1e-9), 0.5, 0.5 + 0.25e-9, 1, 1, 1]);
    expect(Array.from(diffusionNftLossWeights(a, 5, 'positive_only').r)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5 + 1e-10, 0.75, 1, 1]);
    expect(Array.from(diffusionNftLossWeights(a, 5, 'negative_only').r)).toEqual([0, 0, 0.25, 0.5 - 1e-10, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(diffusionNftLossWeights(a, 5, 'one_only').r)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6]);
    expect(Array.from(diffusionNftLossWeights(a, 5, 'binary').r)).toEqual([0.4, 0.4, 0.4, 0.4, 0.5, 0.6, 0.6, 0.6, 0.6]);
    expect(Array.from(diffusionNftLossWeights(a).advantagesClip)).toEqual([-5, -5, -2.5, -1e-9, 0, 1e-9, 2.5, 5, 5]);
  });

  it("adv_mode's variants (positive_only, negative_only, one_only, binary) give the port's r from otca's advantage, ties included", () => {
    for (const c of [0, 3]) {
      const { prompts, ids, N, K, scores } = prepare(cases[c]!, c);
      const port = diffusionNftAdvantages(prompts, scores, cases[c]!.weights);
      const fused = otcaAdvantages({ rewards: Tensor.from(scores, [N, K]), latents: latentsOf(SEED, N).tensor, groupIds: ids }, { preset: 'flow-grpo', outputs: ['fused'] }).fused.data;
      for (const mode of ['positive_only', 'negative_only', 'one_only', 'binary'] as const) {
        const want = diffusionNftLossWeights(port, 5, mode).r;
        expectWithin('diffusion-nft r', diffusionNftLossWeights(fused, 5, mode).r, want, relativeTolerance(want), `${cases[c]!.label}, adv_mode ${mode}`);
        expect(new Set(want).size).toBeGreaterThan(1);
      }
    }
  });

  it("the preset's statistics are DiffusionNFT's: Bessel's std or otca's default epsAdv do not reproduce it", () => {
    const { prompts, ids, N, K, scores } = prepare(cases[1]!, 1);
    const port = diffusionNftLossWeights(diffusionNftAdvantages(prompts, scores, cases[1]!.weights)).advantagesClip;
    const run = (o: OtcaOptions) => otcaAdvantages({ rewards: Tensor.from(scores, [N, K]), latents: latentsOf(SEED, N).tensor, groupIds: ids }, { ...o, objectiveWeights: cases[1]!.weights, outputs: ['fused'] }).fused.data;
    const maxDiff = (x: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - port[i]!)), 0);
    expect(maxDiff(run({ preset: 'flow-grpo' }))).toBeLessThan(1e-5);
    expect(maxDiff(run({ preset: 'flow-grpo', stdCorrection: 1 }))).toBeGreaterThan(1e-3);
    expect(maxDiff(run({ preset: 'flow-grpo', epsAdv: 1e-8 }))).toBeGreaterThan(1e-5);
    expect(maxDiff(run({ preset: 'flow-grpo', stdScope: 'group' }))).toBeGreaterThan(1e-2);
  });
});

// ------------------------------------------------------------------ GDPO and Flow-Factory

/** 1e-5 of the case's largest |port| (what "within 1e-5 relative" means for a batch of values), plus 1e-12 for exact zeros. */
function relativeTolerance(port: ArrayLike<number>): Float64Array {
  let scale = 0;
  for (let i = 0; i < port.length; i++) scale = Math.max(scale, Math.abs(port[i]!));
  return Float64Array.from(port, () => 1e-5 * scale + 1e-12);
}

describe(`preset 'gdpo' reproduces GDPO's trainer, both branches on K (seed ${SEED})`, () => {
  interface GdpoCase {
    label: string;
    B: number;
    G: number;
    weights: number[];
    kind: 'clip' | 'unit';
    /** Objective 0 of group 1 all equal (its std 0: A = 0 there on both sides). */
    tied?: boolean;
  }
  const cases: GdpoCase[] = [
    { label: 'K = 3 weighted 1 / 0.5 / 2, 4 prompts x 8', B: 4, G: 8, weights: [1, 0.5, 2], kind: 'clip' },
    { label: 'K = 2, 6 prompts x 4, a group with tied rewards', B: 6, G: 4, weights: [1, 1], kind: 'unit', tied: true },
    { label: 'K = 4, 2 prompts x 16', B: 2, G: 16, weights: [0.25, 1, 1, 0.5], kind: 'unit' },
    { label: 'K = 1 (the trainer skips the GDPO step): weighted reward per group, weight 2', B: 3, G: 8, weights: [2], kind: 'clip' },
    { label: 'K = 1, 5 prompts x 6, a group with tied rewards', B: 5, G: 6, weights: [0.7], kind: 'unit', tied: true },
  ];
  cases.forEach((gc, c) =>
    it(gc.label, () => {
      const N = gc.B * gc.G;
      const K = gc.weights.length;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / gc.G));
      const r = rewardsOf(SEED + 41 * c, ids, K, gc.kind);
      if (gc.tied) for (let m = 0; m < gc.G; m++) r[(gc.G + m) * K] = 0.25;
      const port = gdpoAdvantages(Float64Array.from(r), K, gc.G, gc.weights);
      const { out, ref } = runAllPaths(r, K, { groupSize: gc.G }, { preset: 'gdpo', objectiveWeights: gc.weights }, SEED + 300 + c, `gdpo ${c}`);
      const key = K === 1 ? 'gdpo, K = 1' : 'gdpo, K >= 2';
      expectWithin(key, out.fused.data, port, relativeTolerance(port), `gdpo ${c} fused`);
      expectWithin(`${key} (reference)`, ref.fused, port, relativeTolerance(port), `gdpo ${c} reference`);
      if (gc.tied && K === 1) for (let m = 0; m < gc.G; m++) expect(out.fused.data[gc.G + m]).toBe(0);
    }),
  );

  it('the K = 1 branch is not the K >= 2 formula with one reward (the preset resolves on K)', () => {
    const G = 8;
    const ids = Int32Array.from({ length: 3 * G }, (_, i) => Math.floor(i / G));
    const r = rewardsOf(SEED + 97, ids, 1, 'unit');
    const asTwoStep = otcaAdvantages({ rewards: Tensor.from(r, [3 * G, 1]), latents: latentsOf(SEED, 3 * G).tensor, groupSize: G }, { ...PRESETS.gdpo, objectiveWeights: [2], outputs: ['fused'] });
    const preset = otcaAdvantages({ rewards: Tensor.from(r, [3 * G, 1]), latents: latentsOf(SEED, 3 * G).tensor, groupSize: G }, { preset: 'gdpo', objectiveWeights: [2], outputs: ['fused'] });
    const port = gdpoAdvantages(Float64Array.from(r), 1, G, [2]);
    expectWithin('gdpo, K = 1', preset.fused.data, port, relativeTolerance(port), 'K = 1 preset');
    expect(Math.max(...Array.from(asTwoStep.fused.data, (x, i) => Math.abs(x - port[i]!)))).toBeGreaterThan(1e-3);
    // one plan serves both: K = 1 and K = 3 calls on the same step, in turn
    const step = createAdvantageStep({ preset: 'gdpo', outputs: ['fused'] });
    const r3 = rewardsOf(SEED + 98, ids, 3, 'unit');
    for (let round = 0; round < 2; round++) {
      const one = step.run({ rewards: Tensor.from(r, [3 * G, 1]), latents: latentsOf(SEED, 3 * G).tensor, groupSize: G }).fused.data;
      const three = step.run({ rewards: Tensor.from(r3, [3 * G, 3]), latents: latentsOf(SEED, 3 * G).tensor, groupSize: G }).fused.data;
      const port1 = gdpoAdvantages(Float64Array.from(r), 1, G, [1]);
      const port3 = gdpoAdvantages(Float64Array.from(r3), 3, G, [1, 1, 1]);
      expectWithin('gdpo, K = 1', one, port1, relativeTolerance(port1), `plan K = 1, round ${round}`);
      expectWithin('gdpo, K >= 2', three, port3, relativeTolerance(port3), `plan K = 3, round ${round}`);
    }
    expect(step.options.fusedNormalization).toBe('batch'); // the options a step reports are the K >= 2 ones
    step.dispose();
    // an option given beside the preset overrides its K = 1 variant too
    const overridden = otcaAdvantages({ rewards: Tensor.from(r, [3 * G, 1]), latents: latentsOf(SEED, 3 * G).tensor, groupSize: G }, { preset: 'gdpo', objective: 'weighted-advantage', outputs: ['fused'] });
    const spelled = otcaAdvantages({ rewards: Tensor.from(r, [3 * G, 1]), latents: latentsOf(SEED, 3 * G).tensor, groupSize: G }, { ...PRESETS.gdpo, fusedNormalization: 'none', outputs: ['fused'] });
    expectBitEqual(overridden.fused.data, spelled.fused.data, 'gdpo with objective given, K = 1');
  });
});

describe(`preset 'flow-factory' reproduces Flow-Factory's AdvantageProcessor, groups through groupIds (seed ${SEED})`, () => {
  interface FfCase {
    label: string;
    /** Sampler: dataset size, distinct prompts per batch, repeats k, batches. */
    sampler: [number, number, number, number];
    weights: number[];
    kind: 'clip' | 'unit' | 'pickscore';
    /** A group whose rewards differ by a float32 ulp or so: the 1e-6 floor binds there. */
    floorBinds?: boolean;
    /** One outlier: the batch z-score passes 5 and the final clamp binds. */
    outlier?: boolean;
  }
  const cases: FfCase[] = [
    { label: 'K = 1, scattered prompts of unequal sizes', sampler: [10, 3, 4, 4], weights: [1], kind: 'pickscore' },
    { label: 'K = 3 weighted 1 / 0.5 / 2, scattered groups', sampler: [12, 5, 3, 3], weights: [1, 0.5, 2], kind: 'unit' },
    { label: 'K = 2, a group whose std is below the 1e-6 floor', sampler: [8, 4, 4, 2], weights: [0.6, 0.4], kind: 'clip', floorBinds: true },
    { label: 'K = 1, singletons and prompts drawn twice, the floor binding in a group', sampler: [20, 6, 1, 4], weights: [1], kind: 'unit', floorBinds: true },
    { label: 'K = 2, 64 samples with an outlier past the clamp at 5', sampler: [16, 8, 8, 1], weights: [1, 1], kind: 'unit', outlier: true },
  ];
  cases.forEach((fc_, c) =>
    it(fc_.label, () => {
      const prompts = epochPrompts(SEED + 59 * c, ...fc_.sampler);
      const ids = groupIdsOf(prompts);
      const N = ids.length;
      const K = fc_.weights.length;
      const r = rewardsOf(SEED + 61 * c, ids, K, fc_.kind);
      const groups = [...membersOf(ids).values()];
      if (fc_.floorBinds) {
        const members = groups.find((m) => m.length >= 2)!;
        // float32 neighbours of 0.3: population std ~3e-8, far below 1e-6
        members.forEach((i, m) => (r[i * K] = m % 2 === 0 ? Math.fround(0.3) : Math.fround(0.3 + 2 ** -25)));
        expect(stats(members.map((i) => r[i * K]!), 0).std).toBeLessThan(1e-6);
      }
      if (fc_.outlier) {
        // every other prompt's rewards tied (A = 0 there), sample 5 far above its own prompt's: its
        // batch z-score then passes 5 (a group's z-score alone stays below sqrt(n - 1))
        for (let i = 0; i < N; i++) for (let k = 0; k < K; k++) if (ids[i] !== ids[5]) r[i * K + k] = 0.1 * ids[i]!;
        for (let k = 0; k < K; k++) r[5 * K + k] = 60;
      }
      const port = flowFactoryAdvantages(Float64Array.from(r), K, ids, fc_.weights);
      if (fc_.outlier) expect(port[5]).toBe(5);
      expect(ids.some((id, i) => i > 0 && id !== ids[i - 1] && ids.indexOf(id) < i)).toBe(true); // scattered
      const { out, ref } = runAllPaths(r, K, { groupIds: ids }, { preset: 'flow-factory', objectiveWeights: fc_.weights }, SEED + 400 + c, `flow-factory ${c}`);
      const key = K === 1 ? 'flow-factory, K = 1' : 'flow-factory, K >= 2';
      expectWithin(key, out.fused.data, port, relativeTolerance(port), `flow-factory ${c} fused`);
      expectWithin(`${key} (reference)`, ref.fused, port, relativeTolerance(port), `flow-factory ${c} reference`);
      if (fc_.floorBinds) {
        // the floor, not an offset: A = (r - mean) / 1e-6 in that group, not / (std + 1e-6)
        const members = groups.find((m) => m.length >= 2)!;
        const column0 = members.map((i) => r[i * K]!);
        const { mean, std } = stats(column0, 0);
        const i0 = members[0]!;
        expect(out.objectiveAdvantages.data[i0 * K]).toBeCloseTo((r[i0 * K]! - mean) / 1e-6, 6);
        const added = otcaAdvantages({ rewards: Tensor.from(r, [N, K]), latents: latentsOf(SEED, N).tensor, groupIds: ids }, { preset: 'flow-factory', objectiveWeights: fc_.weights, stdStabilizer: 'add', outputs: ['objectiveAdvantages'] });
        expect(added.objectiveAdvantages.data[i0 * K]).toBeCloseTo((r[i0 * K]! - mean) / (std + 1e-6), 6);
        expect(std).toBeGreaterThan(1e-9); // so the two differ
      }
    }),
  );

  it('a batch whose fused values are all equal gives 0 everywhere (the batch std floored, never NaN)', () => {
    const ids = Int32Array.from([0, 1, 0, 1, 2, 2]);
    const r = Float32Array.from([1, 2, 1, 2, 3, 3]); // every group tied: every A is 0
    const port = flowFactoryAdvantages(Float64Array.from(r), 1, ids, [1]);
    const { out } = runAllPaths(r, 1, { groupIds: ids }, { preset: 'flow-factory' }, SEED + 450, 'flow-factory all tied');
    expect(Array.from(out.fused.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Math.max(...port.map(Math.abs))).toBeLessThan(1e-9);
  });
});

describe(`MixGRPO: advantage_aggr is DanceGRPO's per-reward sum clamped once, after the sum; reward_aggr DanceGRPO's z-score of the weighted reward (seed ${SEED})`, () => {
  const cases: { label: string; G: number; B: number; weights: number[]; outlier?: boolean }[] = [
    { label: 'K = 2, weights 1 / 1 (normalised to 0.5 / 0.5), 3 prompts x 12', G: 12, B: 3, weights: [1, 1] },
    { label: 'K = 3, weights 2 / 1 / 1, 2 prompts x 8', G: 8, B: 2, weights: [2, 1, 1] },
    { label: 'K = 2, 32 generations, one reward an outlier: its A passes 5, only the sum is clamped', G: 32, B: 2, weights: [1, 1], outlier: true },
  ];
  cases.forEach((mc, c) =>
    it(mc.label, () => {
      const N = mc.G * mc.B;
      const K = mc.weights.length;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / mc.G));
      const r = rewardsOf(SEED + 79 * c, ids, K, 'unit');
      if (mc.outlier) {
        for (let i = 0; i < mc.G; i++) r[i * K] = 0.01 * i;
        r[3 * K] = 50;  // group 0, reward 0: A = (G - 1) / sqrt(G) = 5.48
      }
      const port = mixGrpoAdvantageAggr(Float64Array.from(r), K, mc.G, mc.weights);
      const total = mc.weights.reduce((a, b) => a + b, 0);
      const options = { preset: 'dancegrpo', advClip: Infinity, fusedClip: 5, objectiveWeights: mc.weights.map((w) => w / total) } as const;
      const { out, ref } = runAllPaths(r, K, { groupSize: mc.G }, options, SEED + 480 + c, `mixgrpo ${c}`);
      expectWithin('mixgrpo (advantage_aggr)', out.fused.data, port, relativeTolerance(port), `mixgrpo ${c} fused`);
      expectWithin('mixgrpo (advantage_aggr, reference)', ref.fused, port, relativeTolerance(port), `mixgrpo ${c} reference`);
      if (mc.outlier) {
        // the DanceGRPO preset clamps each reward's A first: it does not give MixGRPO's value here
        const dance = runAllPaths(r, K, { groupSize: mc.G }, { preset: 'dancegrpo', objectiveWeights: options.objectiveWeights }, SEED + 490, 'mixgrpo vs dancegrpo').out;
        expect(Math.abs(dance.fused.data[3]! - port[3]!)).toBeGreaterThan(0.1);
      }
    }),
  );

  // reward_aggr: the rewards merged per sample (Python floats, weights divided by their sum), made
  // float32, z-scored per group in float64 here (see mixGrpoRewardAggr) and clamped once. otca fuses in
  // float64, so the port's float32 rounding of the merged reward R, Delta <= u max_g |R|, moves the
  // value, the group's mean and its std by at most Delta (sqrt(n / (n - 1)) Delta for the std): the
  // tolerance u |A| + (2 + 1.1 a) Delta / (std + 1e-8) + 1e-12, a = |R - mean| / (std + 1e-8), as for
  // Flow-GRPO's float32 fusion. Against the port without that rounding: otca's own, u |A| + 1e-12.

  /** Per-group (contiguous G) bound for the float32 rounding of the merged reward (see above). */
  function mergedRoundingTolerance(rewards: Float32Array, K: number, G: number, weights: readonly number[]): Float64Array {
    const total = weights.reduce((a, b) => a + b, 0);
    const R = Array.from({ length: rewards.length / K }, (_, i) => weights.reduce((s, w, k) => s + rewards[i * K + k]! * (w / total), 0));
    const tol = new Float64Array(R.length);
    for (let start = 0; start < R.length; start += G) {
      const group = R.slice(start, start + G);
      const { mean, std } = stats(group, 1);
      const delta = U * Math.max(...group.map(Math.abs));
      for (let m = 0; m < G; m++) {
        const a = Math.abs(group[m]! - mean) / (std + 1e-8);
        tol[start + m] = U * Math.min(a, 5) + ((2 + 1.1 * a) * delta) / (std + 1e-8) + 1e-12;
      }
    }
    return tol;
  }

  /** Rewards [N, K] with one kind per column (its multi_reward script: HPS, ImageReward, PickScore). */
  function mixedRewards(seed: number, ids: Int32Array, kinds: ('clip' | 'unit' | 'pickscore')[]): Float32Array {
    const columns = kinds.map((kind, k) => rewardsOf(seed + k, ids, 1, kind));
    return Float32Array.from({ length: ids.length * kinds.length }, (_, x) => columns[x % kinds.length]![Math.floor(x / kinds.length)]!);
  }

  const aggrCases: { label: string; G: number; B: number; weights: number[]; kinds: ('clip' | 'unit' | 'pickscore')[]; edit?: (r: Float32Array, K: number, G: number) => void; check?: (port: Float64Array, fused: Float32Array, G: number) => void; rawWeights?: boolean }[] = [
    { label: 'reward_aggr, K = 3 as its multi_reward script (HPS, ImageReward, PickScore; weights 1 / 1 / 1, normalised to 1/3), 2 prompts x 12', G: 12, B: 2, weights: [1, 1, 1], kinds: ['clip', 'unit', 'pickscore'] },
    { label: 'reward_aggr, K = 2, weights 2 / 1 (normalised to 2/3, 1/3; as given they differ), 3 prompts x 12, CLIP-like rewards', G: 12, B: 3, weights: [2, 1], kinds: ['clip', 'clip'], rawWeights: true },
    { label: 'reward_aggr, K = 1 (weight 0.7, normalised to 1), 4 prompts x 8', G: 8, B: 4, weights: [0.7], kinds: ['unit'] },
    {
      label: 'reward_aggr, a tied group: every reward of prompt 1 equal (A = 0, never NaN), K = 2',
      ...{ G: 6, B: 3, weights: [1, 1], kinds: ['clip', 'unit'] as ('clip' | 'unit')[] },
      edit: (r, K, G) => { for (let i = G; i < 2 * G; i++) [r[i * K], r[i * K + 1]] = [0.25, 0.5]; },
      check: (port, fused, G) => { for (let i = G; i < 2 * G; i++) expect([port[i], fused[i]]).toEqual([0, 0]); },
    },
    {
      label: 'reward_aggr, a merged value beyond the clamp: 32 generations, sample 3 far above its group in both rewards (z = 31 / sqrt(32) = 5.48, clamped once to 5)',
      ...{ G: 32, B: 2, weights: [1, 1], kinds: ['clip', 'clip'] as 'clip'[] },
      edit: (r, K, G) => { for (let i = 0; i < G; i++) [r[i * K], r[i * K + 1]] = [0.3 + 0.0001 * i, 0.36 - 0.0001 * i]; [r[3 * K], r[3 * K + 1]] = [0.9, 0.9]; },
      check: (port, fused) => expect([port[3], fused[3]]).toEqual([5, 5]),
    },
  ];
  aggrCases.forEach((mc, c) =>
    it(mc.label, () => {
      const N = mc.G * mc.B;
      const K = mc.weights.length;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / mc.G));
      const r = mixedRewards(SEED + 83 * c, ids, mc.kinds);
      mc.edit?.(r, K, mc.G);
      const port = mixGrpoRewardAggr(r, K, mc.G, mc.weights);
      const port64 = mixGrpoRewardAggr(r, K, mc.G, mc.weights, 5, 'float64');
      const total = mc.weights.reduce((a, b) => a + b, 0);
      const normalised = mc.weights.map((w) => w / total);
      const options = { preset: 'dancegrpo', objective: 'weighted-reward', objectiveWeights: normalised } as const;
      const { out, ref } = runAllPaths(r, K, { groupSize: mc.G }, options, SEED + 500 + c, `mixgrpo reward_aggr ${c}`);
      const tol = mergedRoundingTolerance(r, K, mc.G, mc.weights);
      expectWithin('mixgrpo (reward_aggr)', out.fused.data, port, tol, `mixgrpo reward_aggr ${c} fused`);
      expectWithin('mixgrpo (reward_aggr, reference)', ref.fused, port, tol, `mixgrpo reward_aggr ${c} reference`);
      expectWithin('mixgrpo (reward_aggr), its lines without the float32 merge', out.fused.data, port64, ownRounding(port64), `mixgrpo reward_aggr ${c} fused vs float64 port`);
      mc.check?.(port, out.fused.data, mc.G);
      if (mc.rawWeights) {
        // its weights divided by their sum: as given, only the 1e-8 in (std + 1e-8) tells them apart,
        // by eps (1 - 1 / sum w) / std relative (~7e-7 for CLIP-like spreads), more than otca's own rounding
        const raw = runAllPaths(r, K, { groupSize: mc.G }, { ...options, objectiveWeights: mc.weights }, SEED + 510 + c, `mixgrpo reward_aggr ${c} raw weights`).out;
        const tol64 = ownRounding(port64);
        expect(Math.max(...Array.from(port64, (p, i) => Math.abs(raw.fused.data[i]! - p) / tol64[i]!))).toBeGreaterThan(2);
      }
    }),
  );
});

describe(`verl's diffusion trainer (verl-omni's FLOW_GRPO estimator) is Flow-GRPO's preset with Bessel's std (seed ${SEED})`, () => {
  const cases: { label: string; sampler: [number, number, number, number]; globalStd: boolean; kind: 'clip' | 'unit' | 'pickscore' }[] = [
    { label: 'global_std (its default): scattered prompts of unequal sizes, singletons among them', sampler: [20, 6, 1, 4], globalStd: true, kind: 'pickscore' },
    { label: 'global_std: 48 samples, prompts drawn several times', sampler: [12, 4, 4, 3], globalStd: true, kind: 'unit' },
    { label: 'global_std false: each prompt its own Bessel std', sampler: [10, 3, 4, 4], globalStd: false, kind: 'clip' },
  ];
  cases.forEach((vc, c) =>
    it(vc.label, () => {
      const ids = groupIdsOf(epochPrompts(SEED + 71 * c, ...vc.sampler));
      const r = rewardsOf(SEED + 73 * c, ids, 1, vc.kind);
      const port = verlFlowGrpoAdvantages(Float64Array.from(r), ids, vc.globalStd);
      const options = { preset: 'flow-grpo', stdCorrection: 1, stdScope: vc.globalStd ? 'batch' : 'group' } as const;
      const { out, ref } = runAllPaths(r, 1, { groupIds: ids }, options, SEED + 470 + c, `verl ${c}`);
      expectWithin('verl (verl-omni)', out.fused.data, port, relativeTolerance(port), `verl ${c} fused`);
      expectWithin('verl (verl-omni, reference)', ref.fused, port, relativeTolerance(port), `verl ${c} reference`);
    }),
  );
});

describe(`BranchGRPO's leaves (every step from the last split on) are the DanceGRPO preset over each tree (seed ${SEED})`, () => {
  /** Column t of a port's [N, steps] result. */
  const stepOf = (port: Float64Array, steps: number, t: number) => Float64Array.from({ length: port.length / steps }, (_, i) => port[i * steps + t]!);
  const cases: { label: string; steps: number; splits: number[]; trees: number; kind: 'clip' | 'unit' | 'pickscore'; outlier?: boolean }[] = [
    { label: 'its script: 20 steps, splits 0,3,6,9 (16 leaves), 2 prompts, HPS-like rewards', steps: 20, splits: [0, 3, 6, 9], trees: 2, kind: 'clip' },
    { label: 'tree_split_rounds 4 (splits 0,5,10,15), 3 prompts, PickScore-like rewards', steps: 20, splits: [0, 5, 10, 15], trees: 3, kind: 'pickscore' },
    { label: '32 leaves (splits 2,4,6,8,10), one outlier leaf: its z-score 31/sqrt(32) = 5.48 is clamped at 5', steps: 16, splits: [2, 4, 6, 8, 10], trees: 2, kind: 'unit', outlier: true },
  ];
  cases.forEach((bc, c) =>
    it(bc.label, () => {
      const L = 2 ** bc.splits.length;
      const N = L * bc.trees;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / L));
      const r = rewardsOf(SEED + 83 * c, ids, 1, bc.kind);
      if (bc.outlier) {
        for (let j = 0; j < L; j++) r[L + j] = 0.01 * j;
        r[L + 5] = 50;
      }
      const port = branchGrpoPathAdvantages(Float64Array.from(r), bc.steps, bc.splits);
      const { out, ref } = runAllPaths(r, 1, { groupSize: L }, { preset: 'dancegrpo' }, SEED + 520 + c, `branchgrpo ${c}`);
      const last = Math.max(...bc.splits);
      for (let t = last; t < bc.steps; t++) {
        const leaves = stepOf(port, bc.steps, t);
        expectWithin('branchgrpo (leaves)', out.fused.data, leaves, relativeTolerance(leaves), `branchgrpo ${c} step ${t}`);
        expectWithin('branchgrpo (leaves, reference)', ref.fused, leaves, relativeTolerance(leaves), `branchgrpo ${c} reference step ${t}`);
      }
      if (bc.outlier) {
        expect(port[(L + 5) * bc.steps + last]).toBe(5);
        expect(out.fused.data[L + 5]).toBe(5);
      }
      // before the last split a step's advantage is its node's, z-scored among the distinct nodes of
      // that depth: not the leaf's (what the row calls not expressible), and 0 before the first split
      const node = stepOf(port, bc.steps, last - 1);
      expect(Math.max(...node.map((a, i) => Math.abs(a - out.fused.data[i]!)))).toBeGreaterThan(0.05);
      for (let t = 0; t < Math.min(...bc.splits); t++) expect(Math.max(...stepOf(port, bc.steps, t).map(Math.abs))).toBe(0);
    }),
  );

  it('a tree whose leaves are all tied gives 0 in both', () => {
    const steps = 8;
    const splits = [0, 2, 4];
    const r = Float32Array.from([0.31, 0.29, 0.33, 0.3, 0.28, 0.32, 0.3, 0.34, ...Array.from({ length: 8 }, () => 0.3)]);
    const port = branchGrpoPathAdvantages(Float64Array.from(r), steps, splits);
    const { out } = runAllPaths(r, 1, { groupSize: 8 }, { preset: 'dancegrpo' }, SEED + 530, 'branchgrpo tied');
    expect(Array.from(out.fused.data.subarray(8))).toEqual(new Array(8).fill(0));
    expect(Array.from(stepOf(port, steps, 4).subarray(8))).toEqual(new Array(8).fill(0));
    const leaves = stepOf(port, steps, 4);
    expectWithin('branchgrpo (leaves)', out.fused.data, leaves, relativeTolerance(leaves), 'branchgrpo tied');
  });

  it('where a tree\'s std is positive but below 1e-6 BranchGRPO gives 0 and the preset does not', () => {
    // PickScore-like values near 21.5: one leaf of 16 one float32 ulp above the others,
    // std = ulp / sqrt(16) = 4.8e-7
    const steps = 20;
    const splits = [0, 3, 6, 9];
    const base = Math.fround(21.5);
    const r = new Float32Array(16).fill(base);
    r[7] = base + 2 ** -19; // 21.5's float32 ulp
    expect(r[7]).not.toBe(base);
    const port = branchGrpoPathAdvantages(Float64Array.from(r), steps, splits);
    expect(Math.max(...port.map(Math.abs))).toBe(0);
    const { out } = runAllPaths(r, 1, { groupSize: 16 }, { preset: 'dancegrpo' }, SEED + 531, 'branchgrpo std below 1e-6');
    // otca: (15/16) d / (d/4 + 1e-8) = 3.67 for that leaf
    expect(out.fused.data[7]).toBeCloseTo(3.673, 3);
    expect(out.fused.data[0]).toBeLessThan(-0.2);
  });
});

// ------------------------------------------------------------------ Pref-GRPO

describe(`Pref-GRPO's compute_weighted_advantages is DanceGRPO's per-reward sum with its raw weights, clamped once (seed ${SEED})`, () => {
  interface PrefCase {
    label: string;
    B: number;
    G: number;
    weights: number[];
    useGroup: boolean;
    applyGdpo: boolean;
    kind: 'clip' | 'unit' | 'pickscore';
    /** Column 0 holds UnifiedReward-Think's pairwise win rates within each group (its `_pairwise_win_rate`). */
    winRates?: boolean;
    /** Group 1's comparisons all ties: every win rate 0.5, the group's std 0. */
    tied?: boolean;
    /** Inputs set so that the clamp at 5 binds (see the case). */
    pastClamp?: 'sum' | 'batch';
    /** The weights normalised to sum 1 (as MixGRPO does) must not reproduce it. */
    rawWeights?: boolean;
  }
  const cases: PrefCase[] = [
    { label: 'K = 1, use_group, 4 prompts x 8', B: 4, G: 8, weights: [1], useGroup: true, applyGdpo: false, kind: 'clip' },
    {
      label: "K = 2 weighted 0.4 / 0.6, use_group + apply_gdpo (its scripts' setting), 8 GPUs x 8, win rates with a tied group",
      B: 8, G: 8, weights: [0.4, 0.6], useGroup: true, applyGdpo: true, kind: 'clip', winRates: true, tied: true,
    },
    { label: 'K = 3 weighted 1.4 / 0.7 / 2, use_group, 3 prompts x 16: the weights as given, not normalised', B: 3, G: 16, weights: [1.4, 0.7, 2], useGroup: true, applyGdpo: false, kind: 'unit', rawWeights: true },
    { label: 'K = 1 weighted 0.7, win rates, use_group + apply_gdpo, 5 prompts x 6, a tied group', B: 5, G: 6, weights: [0.7], useGroup: true, applyGdpo: true, kind: 'unit', winRates: true, tied: true },
    { label: 'K = 1, use_group off: one z-score over the batch (mean too), 48 samples', B: 6, G: 8, weights: [1], useGroup: false, applyGdpo: false, kind: 'pickscore' },
    { label: 'K = 2 weighted 1 / 0.5, use_group off + apply_gdpo', B: 4, G: 8, weights: [1, 0.5], useGroup: false, applyGdpo: true, kind: 'unit' },
    { label: 'K = 1, use_group off, 64 samples with an outlier: its batch z-score passes 5', B: 4, G: 16, weights: [1], useGroup: false, applyGdpo: false, kind: 'unit', pastClamp: 'batch' },
    {
      label: "K = 2, use_group, 2 prompts x 32: one sample's sum passes 5 with neither reward's A past 5, another's rewards each past 5",
      B: 2, G: 32, weights: [1, 1], useGroup: true, applyGdpo: false, kind: 'unit', pastClamp: 'sum',
    },
  ];
  cases.forEach((pc, c) =>
    it(pc.label, () => {
      const N = pc.B * pc.G;
      const K = pc.weights.length;
      const ids = Int32Array.from({ length: N }, (_, i) => Math.floor(i / pc.G));
      const r = rewardsOf(SEED + 1000 + 83 * c, ids, K, pc.kind);
      if (pc.winRates) {
        // a latent quality per image, read by a noisy judge that calls 1 in 5 comparisons a tie
        const g = gaussian(rng(SEED + 1001 + 83 * c));
        for (let b = 0; b < pc.B; b++) {
          const quality = Array.from({ length: pc.G }, () => g());
          const tiedGroup = pc.tied && b === 1;
          const rates = prefGrpoWinRates(pc.G, (i, j) => {
            const noise = g();
            if (tiedGroup || Math.abs(noise) < 0.25) return 0;
            return quality[i]! + 0.5 * noise > quality[j]! ? 1 : 2;
          });
          for (let m = 0; m < pc.G; m++) r[(b * pc.G + m) * K] = rates[m]!;
        }
      }
      if (pc.pastClamp === 'batch') {
        for (let i = 0; i < N; i++) r[i] = 0.01 * (i % 7);
        r[5] = 40; // batch z-score (N - 1) / sqrt(N) = 7.9 at most: 7.9 here
      }
      if (pc.pastClamp === 'sum') {
        // group 0, sample 3: both rewards far above the rest, each A near 31 / sqrt(32) = 5.48;
        // group 1: rewards alternating +-1 and sample 40 at 5, each A = 3.64, their sum 7.29
        for (let k = 0; k < K; k++) {
          r[3 * K + k] = 50;
          for (let m = 0; m < pc.G; m++) r[(pc.G + m) * K + k] = m % 2 === 0 ? 1 : -1;
          r[40 * K + k] = 5;
        }
      }
      const port = prefGrpoAdvantages(Float64Array.from(r), K, pc.G, pc.weights, { useGroup: pc.useGroup, applyGdpo: pc.applyGdpo });
      const options: OtcaOptions = {
        preset: 'dancegrpo',
        advClip: Infinity,
        fusedClip: 5,
        objectiveWeights: pc.weights,
        ...(pc.applyGdpo ? { fusedNormalization: 'batch' as const } : {}),
      };
      // use_group: contiguous groups of num_generations; without it the batch is the one group
      const groups = pc.useGroup ? { groupSize: pc.G } : { groupIds: new Int32Array(N) };
      const { out, ref } = runAllPaths(r, K, groups, options, SEED + 700 + c, `pref-grpo ${c}`);
      const key = `pref-grpo, ${pc.useGroup ? 'use_group' : 'batch'}${pc.applyGdpo ? ' + apply_gdpo' : ''}`;
      expectWithin(key, out.fused.data, port, relativeTolerance(port), `pref-grpo ${c} fused`);
      expectWithin('pref-grpo (reference)', ref.fused, port, relativeTolerance(port), `pref-grpo ${c} reference`);

      if (pc.tied) {
        for (let m = 0; m < pc.G; m++) {
          expect(r[(pc.G + m) * K]).toBe(0.5);
          expect(out.objectiveAdvantages.data[(pc.G + m) * K]).toBe(0); // std 0: A = 0 on both sides
        }
      }
      if (!pc.useGroup) {
        // the batch is the group: the prompts as groups give other values
        const byPrompt = otcaAdvantages({ rewards: Tensor.from(r, [N, K]), latents: latentsOf(SEED, N).tensor, groupSize: pc.G }, { ...options, outputs: ['fused'] });
        expect(Math.max(...Array.from(byPrompt.fused.data, (x, i) => Math.abs(x - port[i]!)))).toBeGreaterThan(1e-3);
      }
      if (pc.rawWeights) {
        const total = pc.weights.reduce((a, b) => a + b, 0);
        const normalised = otcaAdvantages({ rewards: Tensor.from(r, [N, K]), latents: latentsOf(SEED, N).tensor, groupSize: pc.G }, { ...options, objectiveWeights: pc.weights.map((w) => w / total), outputs: ['fused'] });
        expect(Math.max(...Array.from(normalised.fused.data, (x, i) => Math.abs(x - port[i]!)))).toBeGreaterThan(0.1);
      }
      if (pc.pastClamp === 'batch') expect(port[5]).toBe(5);
      if (pc.pastClamp === 'sum') {
        const A = out.objectiveAdvantages.data;
        for (let k = 0; k < K; k++) {
          expect(A[3 * K + k]).toBeGreaterThan(5); // each reward's A past 5 ...
          expect(A[40 * K + k]).toBeLessThan(5); // ... and neither past 5
        }
        expect(A[40 * K]! + A[40 * K + 1]!).toBeGreaterThan(7);
        expect(port[3]).toBe(5);
        expect(port[40]).toBe(5);
        // the plain DanceGRPO preset clamps each reward's A and not the sum: 10 and 7.29 there
        const dance = runAllPaths(r, K, { groupSize: pc.G }, { preset: 'dancegrpo', objectiveWeights: pc.weights }, SEED + 790, 'pref-grpo vs dancegrpo').out.fused.data;
        expect(dance[3]).toBeCloseTo(10, 5);
        expect(dance[40]! - port[40]!).toBeGreaterThan(1);
      }
    }),
  );
});

// ------------------------------------------------------------------ per-step rewards: Flow-GRPO's Wan trainer, TurningPoint-GRPO
//
// Both give each step its own reward, [N, T], and normalise it with Flow-GRPO's PerPromptStatTracker
// one step at a time (per prompt, population std + 1e-4, or the batch's std at that step with
// global_std), then clamp at 5: the 'flow-grpo' preset on rewards [N, T, K]. Here they run through
// every path on batches shaped as their samplers make them (prompts scattered over the epoch, of
// unequal sizes, singletons), with a tied prompt and a value beyond the clamp.

const TS = 5; // the steps of the per-step cases (the latents' T)

/**
 * Runs per-step rewards [N, TS, K] through the one call, the plan, the two phases (and
 * combineCredit) and the float64 reference, checking that the native paths agree bit for bit and
 * that Adv is f (temporal 'uniform'); returns the one call's result and the reference's.
 */
function runAllPathsPerStep(rewards: Float32Array, K: number, groupIds: Int32Array, options: OtcaOptions, seed: number, label: string) {
  const N = groupIds.length;
  const flat = trajectories(seed, N, TS, D);
  const latents = Tensor.from(flat, [N, TS + 1, D]);
  const rewardsT = Tensor.from(rewards, [N, TS, K]);
  const inputs = { rewards: rewardsT, latents, groupIds };
  const out = otcaAdvantages(inputs, { ...options, outputs: 'all' });
  expect(out.backend).toBe('cpu');
  expect(out.fused.shape).toEqual([N, TS]);
  expectBitEqual(out.advantages.data, out.fused.data, `${label}: Adv is f`);
  const step = createAdvantageStep({ ...options, outputs: 'all' });
  const planned = step.run(inputs);
  for (const f of ['advantages', 'objectiveAdvantages', 'fused'] as const) expectBitEqual(planned[f].data, out[f].data, `${label}: plan ${f}`);
  step.dispose();
  const phase1 = trajectoryCredit({ latents }, options);
  const phase2 = objectiveCredit({ rewards: rewardsT, trajectoryScore: phase1.trajectoryScore, groupIds }, options);
  for (const f of ['objectiveAdvantages', 'fused'] as const) expectBitEqual(phase2[f].data, out[f].data, `${label}: phases ${f}`);
  expectBitEqual(combineCredit(phase1, phase2).data, out.advantages.data, `${label}: combineCredit`);
  const ref = referenceAdvantages({ rewards: { data: rewards, shape: [N, TS, K] }, latents: flat, N, T: TS, D, groupIds }, options);
  return { out, ref };
}

/** Two prompts of 32 samples each, shuffled together (a group large enough for a population z-score beyond 5). */
function twoPromptsOf32(seed: number): string[] {
  const prompts = Array.from({ length: 64 }, (_, i) => `p${i % 2}`);
  const rand = rng(seed);
  for (let i = prompts.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [prompts[i], prompts[j]] = [prompts[j]!, prompts[i]!];
  }
  return prompts;
}

describe(`Flow-GRPO's Wan trainer with its per-step KL reward is the 'flow-grpo' preset on rewards [N, T, K] (seed ${SEED})`, () => {
  interface WanCase {
    label: string;
    /** Sampler (as flowGrpoEpochPrompts): dataset size, distinct prompts per batch, repeats k, batches per epoch; or the 2 x 32 batch. */
    sampler: [number, number, number, number] | 'two of 32';
    globalStd: boolean;
    klReward: number;
    kind: 'unit' | 'pickscore' | 'clip';
    /** Prompt p1 tied (equal task rewards and KL) and, in prompt p0, a KL outlier at step 2 beyond the clamp. */
    tiedAndOutlier?: boolean;
  }
  const cases: WanCase[] = [
    { label: "its own config (global_std False), kl_reward 0.1: scattered prompts of unequal sizes", sampler: [10, 3, 4, 4], globalStd: false, klReward: 0.1, kind: 'unit' },
    { label: "config/base.py's global_std True, kl_reward 0.5, pickscore-like rewards, k = 6", sampler: [8, 4, 6, 3], globalStd: true, klReward: 0.5, kind: 'pickscore' },
    { label: 'k = 1: singletons among prompts drawn twice, kl_reward 0.04', sampler: [20, 6, 1, 4], globalStd: false, klReward: 0.04, kind: 'clip' },
    { label: 'a tied prompt and a KL outlier beyond the clamp at 5 (2 prompts x 32)', sampler: 'two of 32', globalStd: false, klReward: 0.1, kind: 'unit', tiedAndOutlier: true },
  ];
  cases.forEach((wc, c) =>
    it(wc.label, () => {
      const prompts = wc.sampler === 'two of 32' ? twoPromptsOf32(SEED + 101 * c) : epochPrompts(SEED + 101 * c, ...wc.sampler);
      const ids = groupIdsOf(prompts);
      const N = ids.length;
      const R = rewardsOf(SEED + 103 * c, ids, 1, wc.kind); // the task reward `avg` [N], float32
      const g = gaussian(rng(SEED + 107 * c));
      const kl = Float32Array.from({ length: N * TS }, (_, x) => 0.05 * (1 + (x % TS)) * Math.abs(g())); // the sampler's per-step KL, >= 0
      const outlier = prompts.indexOf('p0');
      if (wc.tiedAndOutlier) {
        const tied = prompts.indexOf('p1');
        for (let i = 0; i < N; i++)
          if (prompts[i] === 'p1') {
            R[i] = R[tied]!;
            for (let t = 0; t < TS; t++) kl[i * TS + t] = kl[tied * TS + t]!;
          }
        kl[outlier * TS + 2] = 200; // r = R - 0.1 * 200, far below its prompt at step 2: z -> -sqrt(31)
      }
      const sizes = [...membersOf(ids).values()].map((m) => m.length);
      if (wc.sampler !== 'two of 32') expect(ids.some((id, i) => i > 0 && id !== ids[i - 1] && ids.indexOf(id) < i)).toBe(true);
      if (Array.isArray(wc.sampler) && wc.sampler[2] === 1) expect(sizes).toContain(1);
      if (c === 0) expect(new Set(sizes).size).toBeGreaterThan(1);

      const port64 = flowGrpoWanKlRewardAdvantages(prompts, R, kl, TS, wc.klReward, { globalStd: wc.globalStd });
      const port32 = flowGrpoWanKlRewardAdvantages(prompts, R, kl, TS, wc.klReward, { globalStd: wc.globalStd, precision: 'float32' });
      const preset: OtcaOptions = { preset: 'flow-grpo', stdScope: wc.globalStd ? 'batch' : 'group' };

      // K = 1: the trainer's own per-step reward (line 788, float32), one column
      const perStep = Float32Array.from({ length: N * TS }, (_, x) => Math.fround(R[Math.floor(x / TS)]! - Math.fround(wc.klReward * kl[x]!)));
      const one = runAllPathsPerStep(perStep, 1, ids, preset, SEED + 500 + c, `wan ${c} K = 1`);
      expectWithin('wan kl reward, K = 1 (its per-step reward)', one.out.fused.data, port32, relativeTolerance(port32), `wan ${c} K = 1 fused`);
      expectWithin('wan kl reward, K = 1 (reference)', one.ref.fused, port32, relativeTolerance(port32), `wan ${c} K = 1 reference`);

      // K = 2: the task reward repeated over the steps and the KL, weights [1, -kl_reward]
      const columns = Float32Array.from({ length: N * TS * 2 }, (_, x) => (x % 2 === 0 ? R[Math.floor(x / (2 * TS))]! : kl[Math.floor(x / 2)]!));
      const two = runAllPathsPerStep(columns, 2, ids, { ...preset, objectiveWeights: [1, -wc.klReward] }, SEED + 510 + c, `wan ${c} K = 2`);
      expectWithin('wan kl reward, K = 2 ([R, kl], weights [1, -kl_reward])', two.out.fused.data, port64, relativeTolerance(port64), `wan ${c} K = 2 fused`);
      expectWithin('wan kl reward, K = 2 (reference)', two.ref.fused, port64, relativeTolerance(port64), `wan ${c} K = 2 reference`);
      // against the trainer's float32 line 788: otca fuses the columns in float64
      expectWithin('wan kl reward, K = 2 vs its float32 per-step reward', two.out.fused.data, port32, wanFloat32Tolerance(R, kl, wc.klReward, ids, TS, wc.globalStd), `wan ${c} K = 2 vs float32`);

      // a prompt of one sample, and a prompt whose per-step rewards are all equal, get 0 on both sides
      for (const members of membersOf(ids).values()) {
        for (let t = 0; t < TS; t++) {
          if (members.length > 1 && !members.every((i) => perStep[i * TS + t] === perStep[members[0]! * TS + t])) continue;
          for (const i of members) {
            expect(one.out.fused.data[i * TS + t]).toBe(0);
            expect(two.out.fused.data[i * TS + t]).toBe(0);
            expect(Math.abs(port64[i * TS + t]!)).toBeLessThan(1e-9); // the port's index-order mean of equal values
          }
        }
      }
      if (wc.tiedAndOutlier) {
        expect(port64[outlier * TS + 2]).toBe(-5); // the case clamps
        expect(one.out.fused.data[outlier * TS + 2]).toBe(-5);
        expect(two.out.fused.data[outlier * TS + 2]).toBe(-5);
      }
    }),
  );
});

/**
 * Per-step rewards shaped like TurningPoint-GRPO's `process_rewards` (its defaults: the increment d_t
 * of the reward of an ODE completion after t SDE steps, plus eta = 1 times the SDE-minus-ODE gain at
 * a step whose d_t turns to agree with that gain, and at the first step if it agrees). Test input,
 * not a port: the trainer builds these itself and hands them to its tracker, as it would to otca.
 * Row-major [N, TS], float32 as the trainer's tensors.
 */
function processRewardsLike(seed: number, ids: ArrayLike<number>): Float32Array {
  const g = gaussian(rng(seed));
  const N = ids.length;
  const out = new Float32Array(N * TS);
  for (let i = 0; i < N; i++) {
    const seq = [21.5 + 0.3 * g()]; // R_0: the pure-ODE reward (pickscore-like)
    for (let t = 1; t <= TS; t++) seq.push(seq[t - 1]! + 0.05 * g());
    const gain = seq[TS]! - seq[0]!;
    let lastSign = 0;
    for (let t = 0; t < TS; t++) {
      const d = seq[t + 1]! - seq[t]!;
      const s = Math.sign(d) * Math.sign(gain);
      const turning = t === 0 ? s > 0 : lastSign < 0 && s > 0;
      out[i * TS + t] = Math.fround(d + (turning ? gain : 0));
      lastSign = s;
    }
  }
  return out;
}

describe(`TurningPoint-GRPO's per-step trackers are the 'flow-grpo' preset on its process rewards [N, T, 1] (seed ${SEED})`, () => {
  // One process-reward column: its turning-point bonus depends on the signs of the fused reward's
  // increments, so a trainer with several reward models fuses them before the increments (K = 1 here).
  interface TpCase {
    label: string;
    sampler: [number, number, number, number] | 'two of 32';
    globalStd: boolean;
    perPromptStatTracking?: boolean;
    tiedAndOutlier?: boolean;
  }
  const cases: TpCase[] = [
    { label: 'per-prompt trackers, global_std False (its configs): scattered prompts of unequal sizes', sampler: [10, 3, 4, 4], globalStd: false },
    { label: "global_std True (config/base.py): the batch's std at each step", sampler: [8, 4, 6, 3], globalStd: true },
    { label: 'k = 1 with the trackers on: singletons among prompts drawn twice', sampler: [20, 6, 1, 4], globalStd: false },
    { label: 'one image per prompt (trackers off): each step over the whole batch, all groupIds 0', sampler: [40, 12, 1, 1], globalStd: false, perPromptStatTracking: false },
    { label: 'a tied prompt and a process reward beyond the clamp at 5 (2 prompts x 32)', sampler: 'two of 32', globalStd: false, tiedAndOutlier: true },
  ];
  cases.forEach((tc, c) =>
    it(tc.label, () => {
      const prompts = tc.sampler === 'two of 32' ? twoPromptsOf32(SEED + 131 * c) : epochPrompts(SEED + 131 * c, ...tc.sampler);
      const perPrompt = tc.perPromptStatTracking ?? true;
      const ids = perPrompt ? groupIdsOf(prompts) : new Int32Array(prompts.length);
      const N = ids.length;
      const r = processRewardsLike(SEED + 137 * c, ids);
      const outlier = prompts.indexOf('p0');
      if (tc.tiedAndOutlier) {
        const tied = prompts.indexOf('p1');
        for (let i = 0; i < N; i++) if (prompts[i] === 'p1') for (let t = 0; t < TS; t++) r[i * TS + t] = r[tied * TS + t]!;
        r[outlier * TS + 2] = 50; // far above its prompt at step 2: z -> sqrt(31)
      }
      if (perPrompt && tc.sampler !== 'two of 32') expect(ids.some((id, i) => i > 0 && id !== ids[i - 1] && ids.indexOf(id) < i)).toBe(true);
      if (c === 0) expect(new Set([...membersOf(ids).values()].map((m) => m.length)).size).toBeGreaterThan(1);
      if (c === 2) expect([...membersOf(ids).values()].map((m) => m.length)).toContain(1);

      const port = turningPointGrpoAdvantages(prompts, r, TS, { globalStd: tc.globalStd, perPromptStatTracking: perPrompt });
      const options: OtcaOptions = { preset: 'flow-grpo', stdScope: tc.globalStd ? 'batch' : 'group' };
      const { out, ref } = runAllPathsPerStep(r, 1, ids, options, SEED + 530 + c, `tp ${c}`);
      expectWithin('turningpoint (process rewards)', out.fused.data, port, relativeTolerance(port), `tp ${c} fused`);
      expectWithin('turningpoint (process rewards, reference)', ref.fused, port, relativeTolerance(port), `tp ${c} reference`);
      if (tc.tiedAndOutlier) {
        for (let i = 0; i < N; i++)
          if (prompts[i] === 'p1')
            for (let t = 0; t < TS; t++) {
              expect(out.fused.data[i * TS + t]).toBe(0);
              expect(Math.abs(port[i * TS + t]!)).toBeLessThan(1e-9);
            }
        expect(port[outlier * TS + 2]).toBe(5); // the case clamps
        expect(out.fused.data[outlier * TS + 2]).toBe(5);
      }
    }),
  );
});

// ------------------------------------------------------------------ presets and overrides

describe('presets', () => {
  it('hold the peers\' settings (uniform over steps, clip 5; DanceGRPO per reward, Bessel, 1e-8; Flow-GRPO fused reward, batch population std, 1e-4)', () => {
    expect(PRESETS.dancegrpo).toEqual({ objective: 'weighted-advantage', temporal: 'uniform', stdScope: 'group', stdCorrection: 1, epsAdv: 1e-8, advClip: 5 });
    expect(PRESETS['flow-grpo']).toEqual({ objective: 'weighted-reward', temporal: 'uniform', stdScope: 'batch', stdCorrection: 0, epsAdv: 1e-4, advClip: 5 });
    expect(PRESETS.gdpo).toEqual({ objective: 'weighted-advantage', temporal: 'uniform', stdScope: 'group', stdCorrection: 1, stdStabilizer: 'add', epsAdv: 1e-4, advClip: Infinity, fusedNormalization: 'batch', fusedClip: Infinity });
    expect(PRESETS['flow-factory']).toEqual({ objective: 'weighted-advantage', temporal: 'uniform', stdScope: 'group', stdCorrection: 0, stdStabilizer: 'floor', epsAdv: 1e-6, advClip: Infinity, fusedNormalization: 'batch', fusedClip: 5 });
  });

  it("options beside a preset override it: { preset: 'flow-grpo', temporal: 'tcd', objective: 'moca' } is Flow-GRPO's statistics with OTCA", () => {
    const prompts = epochPrompts(SEED + 21, 8, 4, 4, 3);
    const ids = groupIdsOf(prompts);
    const N = ids.length;
    const K = 3;
    const r = rewardsOf(SEED + 22, ids, K, 'unit');
    const { flat, tensor } = latentsOf(SEED + 23, N);
    const inputs = { rewards: Tensor.from(r, [N, K]), latents: tensor, groupIds: ids };
    const overridden = otcaAdvantages(inputs, { preset: 'flow-grpo', temporal: 'tcd', objective: 'moca', outputs: 'all' });
    const spelled = otcaAdvantages(inputs, { objective: 'moca', temporal: 'tcd', stdScope: 'batch', stdCorrection: 0, epsAdv: 1e-4, advClip: 5, outputs: 'all' });
    const preset = otcaAdvantages(inputs, { preset: 'flow-grpo', outputs: 'all' });
    for (const f of ['advantages', 'objectiveAdvantages', 'stepWeights', 'lambda', 'fused'] as const) expectBitEqual(overridden[f].data, spelled[f].data, f);
    // the override took effect: per-step weights (not all 1) and MOCA's lambda
    expect(overridden.stepWeights.data.some((w) => w !== 1)).toBe(true);
    expect(preset.stepWeights.data.every((w) => w === 1)).toBe(true);
    expect(overridden.lambda.data.some((l) => l > 0)).toBe(true);
    expect(overridden.advantages.data).not.toEqual(preset.advantages.data);
    // the plan resolves the same options, and so does the reference
    const step = createAdvantageStep({ preset: 'flow-grpo', temporal: 'tcd', objective: 'moca', outputs: 'all' });
    expectBitEqual(step.run(inputs).advantages.data, overridden.advantages.data, 'plan');
    step.dispose();
    const refInput = { rewards: r, K, latents: flat, N, T, D, groupIds: ids };
    const refOverridden = referenceAdvantages(refInput, { preset: 'flow-grpo', temporal: 'tcd', objective: 'moca' });
    const refSpelled = referenceAdvantages(refInput, { objective: 'moca', temporal: 'tcd', stdScope: 'batch', stdCorrection: 0, epsAdv: 1e-4, advClip: 5 });
    expect(refOverridden).toEqual(refSpelled);
    // DanceGRPO with TCD and MOCA is otca's defaults (the paper builds on DanceGRPO)
    expectBitEqual(otcaAdvantages(inputs, { preset: 'dancegrpo', temporal: 'tcd', objective: 'moca' }).advantages.data, otcaAdvantages(inputs).advantages.data, 'dancegrpo + tcd + moca');
    // and an override of one statistic keeps the rest of the preset
    const groupStd = otcaAdvantages(inputs, { preset: 'dancegrpo', stdCorrection: 0, outputs: ['fused'] });
    const groupStdSpelled = otcaAdvantages(inputs, { ...PRESETS.dancegrpo, stdCorrection: 0, outputs: ['fused'] });
    expectBitEqual(groupStd.fused.data, groupStdSpelled.fused.data, 'dancegrpo with stdCorrection 0');
  });
});

// ------------------------------------------------------------------ groupIds as blocks == groupSize

const presetOptions = fc.record(
  {
    preset: fc.constantFrom('dancegrpo' as const, 'flow-grpo' as const, 'gdpo' as const, 'flow-factory' as const),
    temporal: fc.constantFrom('tcd' as const, 'uniform' as const),
    objective: fc.constantFrom('moca' as const, 'min-norm' as const, 'weighted-advantage' as const, 'weighted-reward' as const),
    stdScope: fc.constantFrom('group' as const, 'batch' as const),
    stdCorrection: fc.constantFrom(0 as const, 1 as const),
    explorationSignal: fc.constantFrom('absolute' as const, 'centered' as const),
  },
  { requiredKeys: [] },
);
const blockCase = fc.record({
  B: fc.integer({ min: 1, max: 4 }),
  G: fc.integer({ min: 1, max: 6 }),
  K: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  // the blocks' ids: any distinct integers, in any order (a relabelling of 0..B-1)
  idStride: fc.integer({ min: 1, max: 1000 }),
  idShuffle: fc.integer({ min: 0, max: 2 ** 30 }),
  idsAs: fc.constantFrom('Int32Array' as const, 'array' as const),
});

/** ids of contiguous blocks of G, block b labelled by a shuffled, strided id. */
function blockIds(B: number, G: number, stride: number, shuffleSeed: number): number[] {
  const rand = rng(shuffleSeed);
  const labels = Array.from({ length: B }, (_, b) => b * stride + 3);
  for (let b = B - 1; b > 0; b--) {
    const j = Math.floor(rand() * (b + 1));
    [labels[b], labels[j]] = [labels[j]!, labels[b]!];
  }
  return Array.from({ length: B * G }, (_, i) => labels[Math.floor(i / G)]!);
}

const ALL = ['advantages', 'similarity', 'deltaS', 'stepWeights', 'rawWeights', 'objectiveAdvantages', 'coefficients', 'trajectoryScore', 'exploration', 'lambda', 'fused'] as const;

describe(`property: groupIds of contiguous blocks give exactly the groupSize result (seed ${SEED})`, () => {
  it('on the CPU: one call, the plan, and phase 2', () => {
    fc.assert(
      fc.property(blockCase, presetOptions, (s, o) => {
        const N = s.B * s.G;
        const ids = blockIds(s.B, s.G, s.idStride, s.idShuffle);
        const groupIds = s.idsAs === 'Int32Array' ? Int32Array.from(ids) : ids;
        const r = rewardsOf(s.seed, Int32Array.from(ids), s.K, 'unit');
        const options: OtcaOptions = { ...o, objectiveWeights: Array.from({ length: s.K }, (_, k) => 1 - 0.3 * k) };
        const { tensor } = latentsOf(s.seed + 1, N);
        const rewards = Tensor.from(r, [N, s.K]);
        const bySize = otcaAdvantages({ rewards, latents: tensor, groupSize: s.G }, { ...options, outputs: 'all' });
        const byIds = otcaAdvantages({ rewards, latents: tensor, groupIds }, { ...options, outputs: 'all' });
        for (const f of ALL) expectBitEqual(byIds[f].data, bySize[f].data, `one call ${f}`);
        const step = createAdvantageStep({ ...options, outputs: 'all' });
        const planned = step.run({ rewards, latents: tensor, groupIds });
        for (const f of ALL) expectBitEqual(planned[f].data, bySize[f].data, `plan ${f}`);
        const q = step.trajectory({ latents: tensor }).trajectoryScore;
        const a = step.objective({ rewards, trajectoryScore: q, groupSize: s.G });
        const b = objectiveCredit({ rewards, trajectoryScore: q, groupIds }, options);
        for (const f of ['objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'] as const) expectBitEqual(b[f].data, a[f].data, `phase 2 ${f}`);
        step.dispose();
      }),
      { numRuns: 150, seed: SEED },
    );
  });

  // The simulated CUDA device (build/simulated/, see gpu-simulated.test.ts) in a child process: the
  // device path of the binding with groupIds (host ids with device tensors, uploaded by the call).
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const simBinary = join(root, 'build', 'simulated', 'build', 'Release', 'otca.node');
  const distIndex = join(root, 'dist', 'lib', 'index.js');
  const noCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0;
  const skip = noCmake && !existsSync(simBinary);
  it.skipIf(skip)(`on the simulated device: one call and the plan${skip ? ' (skipped: cmake not found, build/simulated/ not built)' : ''}`, () => {
    expect(existsSync(simBinary), `${simBinary} is missing: run node scripts/ensure-built.mjs --tests`).toBe(true);
    expect(existsSync(distIndex), `${distIndex} is missing: run npm run build:ts`).toBe(true);
    const cases = fc.sample(fc.tuple(blockCase, presetOptions), { numRuns: 40, seed: SEED }).map(([s, o]) => {
      const N = s.B * s.G;
      const ids = blockIds(s.B, s.G, s.idStride, s.idShuffle);
      return {
        N, G: s.G, K: s.K, T, D, ids,
        r: Array.from(rewardsOf(s.seed, Int32Array.from(ids), s.K, 'unit')),
        z: Array.from(trajectories(s.seed + 1, N, T, D)),
        options: { ...o, objectiveWeights: Array.from({ length: s.K }, (_, k) => 1 - 0.3 * k) },
      };
    });
    const script = `
      import { pathToFileURL } from 'node:url';
      const otca = await import(pathToFileURL(process.env.PEERS_DIST_INDEX).href);
      const { Tensor } = otca;
      let text = '';
      for await (const chunk of process.stdin) text += chunk;
      const results = [];
      const b64 = (t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64');
      for (const c of JSON.parse(text)) {
        const rewards = Tensor.from(Float32Array.from(c.r), [c.N, c.K]).to('cuda:0');
        const latents = Tensor.from(Float32Array.from(c.z), [c.N, c.T + 1, c.D]).to('cuda:0');
        const options = { ...c.options, device: 'cuda:0', outputDevice: 'cpu', outputs: 'all' };
        const bySize = otca.otcaAdvantages({ rewards, latents, groupSize: c.G }, options);
        const byIds = otca.otcaAdvantages({ rewards, latents, groupIds: Int32Array.from(c.ids) }, options);
        const step = otca.createAdvantageStep(options);
        const planned = step.run({ rewards, latents, groupIds: c.ids });
        const fields = {};
        for (const f of ${JSON.stringify(ALL)}) fields[f] = [b64(bySize[f]), b64(byIds[f]), b64(planned[f])];
        results.push({ backend: [bySize.backend, byIds.backend, planned.backend], fields });
        step.dispose();
        rewards.dispose();
        latents.dispose();
      }
      process.stdout.write(JSON.stringify(results));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      input: JSON.stringify(cases),
      env: { ...process.env, OTCA_PREBUILD: join(root, 'build', 'simulated'), PEERS_DIST_INDEX: distIndex },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const results = JSON.parse(child.stdout) as { backend: string[]; fields: Record<string, [string, string, string]> }[];
    expect(results.length).toBe(cases.length);
    results.forEach((res, c) => {
      expect(res.backend).toEqual(['cuda:0', 'cuda:0', 'cuda:0']);
      for (const [f, [bySize, byIds, planned]] of Object.entries(res.fields)) {
        expect(byIds, `case ${c} ${f}: groupIds vs groupSize`).toBe(bySize);
        expect(planned, `case ${c} ${f}: plan with groupIds vs groupSize`).toBe(bySize);
      }
    });
  });
});
