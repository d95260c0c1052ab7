// Per-step rewards (issue 20 item 3): rewards [N, T, K], eq. 2 per step and objective within the
// group, the fusion per (sample, step), Adv[i,t] = w[i,t] f[i,t]; e (and so the tanh(e) of MOCA's
// lambda) stays per sample, from q. First in the float64 reference, the oracle; then the CPU backend
// against it through every path (the emulated CUDA kernels are checked against the CPU backend in
// test/native/emulation, the simulated device in test/gpu/parity.test.mjs); the 'g2rpo' preset
// against the port of Granular-GRPO's train_one_step (test/helpers/peers.ts), at the end.
import { afterAll, describe, expect, it } from 'vitest';
import { PRESETS, combineCredit, createAdvantageStep, objectiveCredit, objectiveCreditAsync, otcaAdvantages, otcaAdvantagesAsync, Tensor, trajectoryCredit, type OtcaOptions } from '../../lib/index.js';
import { expectBitEqual, expectClose } from '../helpers/compare.js';
import { referenceAdvantages, referenceObjectiveCredit, type ReferenceOptions } from '../../lib/reference.js';
import { g2rpoAdvantages } from '../helpers/peers.js';
import { gaussian, rng, trajectories } from '../helpers/random.js';
import { TEST_SEED as SEED } from '../helpers/seed.js';

const [T, D] = [6, 32];

function perStepRewards(seed: number, N: number, K: number): Float64Array {
  const g = gaussian(rng(seed));
  return Float64Array.from({ length: N * T * K }, () => g());
}

describe(`per-step rewards in the reference (seed ${SEED})`, () => {
  const modes: [string, ReferenceOptions][] = [
    ['moca, tcd', {}],
    ['weighted-advantage, fused batch normalisation', { objective: 'weighted-advantage', fusedNormalization: 'batch' }],
    ['weighted-reward, batch std, fused clip', { objective: 'weighted-reward', stdScope: 'batch', fusedClip: 0.5 }],
    ['min-norm, floor, group normalisation', { objective: 'min-norm', stdStabilizer: 'floor', epsAdv: 1e-3, fusedNormalization: 'group' }],
  ];
  for (const [name, options] of modes) {
    it(`${name}: each step is the per-sample computation on that step's rewards`, () => {
      const [N, G, K] = [8, 4, 3];
      const r = perStepRewards(SEED + 1, N, K);
      const latents = trajectories(SEED + 2, N, T, D);
      const ref = referenceAdvantages({ rewards: { data: r, shape: [N, T, K] }, latents, N, T, D, groupSize: G }, options);
      expect(ref.fused.length).toBe(N * T);
      expect(ref.objectiveAdvantages.length).toBe(N * T * K);
      for (let t = 0; t < T; t++) {
        const slice = Float64Array.from({ length: N * K }, (_, x) => r[(Math.floor(x / K) * T + t) * K + (x % K)]!);
        const one = referenceObjectiveCredit({ rewards: slice, trajectoryScore: ref.trajectoryScore, groupSize: G, K }, options);
        for (let i = 0; i < N; i++) {
          expect(ref.fused[i * T + t]).toBe(one.fused[i]);
          expect(ref.lambda[i * T + t]).toBe(one.lambda[i]);
          expect(ref.advantages[i * T + t]).toBe(ref.stepWeights[i * T + t]! * one.fused[i]!);
          for (let k = 0; k < K; k++) {
            expect(ref.objectiveAdvantages[(i * T + t) * K + k]).toBe(one.objectiveAdvantages[i * K + k]);
            expect(ref.coefficients[(i * T + t) * K + k]).toBe(one.coefficients[i * K + k]);
          }
        }
        expect(Array.from(ref.exploration)).toEqual(Array.from(one.exploration)); // e per sample
      }
    });
  }

  it('rewards equal at every step give the per-sample result at every step', () => {
    const [N, G, K] = [6, 3, 2];
    const perSample = perStepRewards(SEED + 3, N, K).subarray(0, N * K);
    const r = Float64Array.from({ length: N * T * K }, (_, x) => perSample[Math.floor(x / (T * K)) * K + (x % K)]!);
    const latents = trajectories(SEED + 4, N, T, D);
    const steps = referenceAdvantages({ rewards: r, K, rewardSteps: T, latents, N, T, D, groupSize: G });
    const once = referenceAdvantages({ rewards: perSample, K, latents, N, T, D, groupSize: G });
    expect(Array.from(steps.advantages)).toEqual(Array.from(once.advantages));
  });

  it("MOCA's lambda per step: relu(s[i,t]) / (|s[i,t]| + epsMoca) * tanh(e[i]), e from the per-sample q", () => {
    const [N, G, K] = [4, 4, 3];
    const r = perStepRewards(SEED + 5, N, K);
    const q = Float64Array.from([0.2, 0.5, 0.1, 0.35]);
    const out = referenceObjectiveCredit({ rewards: { data: r, shape: [N, T, K] }, trajectoryScore: q, groupSize: G });
    for (let i = 0; i < N; i++)
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += out.objectiveAdvantages[(i * T + t) * K + k]!;
        expect(out.lambda[i * T + t]).toBeCloseTo((Math.max(0, s) / (Math.abs(s) + 1e-6)) * Math.tanh(out.exploration[i]!), 14);
      }
  });

  it('per-step rewards whose T is not the latents\' T are an error naming rewards', () => {
    const r = perStepRewards(SEED + 8, 4, 1).subarray(0, 4 * (T - 1));
    expect(() => referenceAdvantages({ rewards: { data: r, shape: [4, T - 1, 1] }, latents: trajectories(SEED, 4, T, D), N: 4, T, D, groupSize: 2 })).toThrow(
      new RangeError(`Expected ${T} steps (as latents) for rewards but received ${T - 1}`),
    );
  });
});

// ------------------------------------------------------------------ the native backends


const OBJECTIVE = ['objectiveAdvantages', 'lambda', 'coefficients', 'fused'] as const;

describe(`per-step rewards on the CPU backend against the reference (seed ${SEED})`, () => {
  const modes: [string, OtcaOptions][] = [
    ['moca, tcd', {}],
    ['weighted-reward, batch std, per-step KL as a weighted column', { objective: 'weighted-reward', stdScope: 'batch', objectiveWeights: [1, -0.1], stdCorrection: 0, epsAdv: 1e-4 }],
    ["weighted-advantage, fused 'batch', floor", { objective: 'weighted-advantage', fusedNormalization: 'batch', stdStabilizer: 'floor', epsAdv: 1e-6, fusedClip: 2 }],
    ["min-norm, fused 'group'", { objective: 'min-norm', fusedNormalization: 'group' }],
  ];
  modes.forEach(([name, options], m) => {
    for (const grouping of ['groupSize', 'groupIds'] as const) {
      it(`${name}, ${grouping}`, async () => {
        const K = options.objectiveWeights?.length ?? 2;
        const N = grouping === 'groupSize' ? 8 : 9;
        const groups = grouping === 'groupSize' ? { groupSize: 4 } : { groupIds: Int32Array.from([2, 0, 1, 2, 0, 2, 1, 5, 0]) };
        const r = Float32Array.from(perStepRewards(SEED + 20 + m, N, K));
        const flat = trajectories(SEED + 30 + m, N, T, D);
        const rewards = Tensor.from(r, [N, T, K]);
        const latents = Tensor.from(flat, [N, T + 1, D]);
        const inputs = { rewards, latents, ...groups };
        const out = otcaAdvantages(inputs, { ...options, device: 'cpu', outputs: 'all' });
        expect(out.fused.shape).toEqual([N, T]);
        expect(out.objectiveAdvantages.shape).toEqual([N, T, K]);
        expect(out.coefficients.shape).toEqual([N, T, K]);
        expect(out.lambda.shape).toEqual([N, T]);
        expect(out.exploration.shape).toEqual([N]);
        // phase 2 against the reference on the same float32 q
        const ref2 = referenceObjectiveCredit({ rewards: { data: r, shape: [N, T, K] }, trajectoryScore: out.trajectoryScore.data, ...groups }, options);
        for (const f of [...OBJECTIVE, 'exploration'] as const) expectClose(out[f].data, ref2[f], 1e-6, `${name} ${f}`);
        for (let i = 0; i < N; i++)
          for (let t = 0; t < T; t++) expect(out.advantages.data[i * T + t]).toBe(Math.fround(out.stepWeights.data[i * T + t]! * out.fused.data[i * T + t]!));
        // every path: the plan, the phases with combineCredit, async
        const step = createAdvantageStep({ ...options, device: 'cpu', outputs: 'all' });
        const planned = step.run(inputs);
        for (const f of ['advantages', ...OBJECTIVE] as const) expectBitEqual(planned[f].data, out[f].data, `${name}: plan ${f}`);
        step.dispose();
        const p1 = trajectoryCredit({ latents }, { ...options, device: 'cpu' });
        const p2 = objectiveCredit({ rewards, trajectoryScore: p1.trajectoryScore, ...groups }, { ...options, device: 'cpu' });
        for (const f of OBJECTIVE) expectBitEqual(p2[f].data, out[f].data, `${name}: phase 2 ${f}`);
        expectBitEqual(combineCredit(p1, p2).data, out.advantages.data, `${name}: combineCredit`);
        const outAsync = await otcaAdvantagesAsync(inputs, { ...options, device: 'cpu', outputs: 'all' });
        for (const f of ['advantages', ...OBJECTIVE] as const) expectBitEqual(outAsync[f].data, out[f].data, `${name}: async ${f}`);
        const p2Async = await objectiveCreditAsync({ rewards, trajectoryScore: p1.trajectoryScore, ...groups }, { ...options, device: 'cpu' });
        expectBitEqual(p2Async.fused.data, out.fused.data, `${name}: phase 2 async`);
      });
    }
  });

  it('bad per-step rewards: a T other than the latents\', a NaN named by sample, step and objective', () => {
    const latents = Tensor.from(trajectories(SEED, 4, T, D), [4, T + 1, D]);
    expect(() => otcaAdvantages({ rewards: Tensor.from(new Float32Array(4 * (T - 1)), [4, T - 1, 1]), latents, groupSize: 2 }, { device: 'cpu' })).toThrow(
      new RangeError(`Expected ${T} steps (T as in latents) for rewards but received shape [4, ${T - 1}, 1]`),
    );
    const r = new Float32Array(4 * T * 2);
    r[(2 * T + 1) * 2 + 1] = Number.NaN;
    expect(() => otcaAdvantages({ rewards: Tensor.from(r, [4, T, 2]), latents, groupSize: 2 }, { device: 'cpu' })).toThrow(
      new RangeError('Expected finite values for rewards but received NaN at sample 2, step 1, objective 1'),
    );
    expect(() => otcaAdvantages({ rewards: Tensor.from(new Float32Array(0), [4, 0, 1]), latents, groupSize: 2 }, { device: 'cpu' })).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ G2RPO

describe(`preset 'g2rpo' reproduces Granular-GRPO's train_one_step (seed ${SEED})`, () => {
  // Tolerance (u = 2^-24), per value, from where each side rounds: the trainer computes each column's
  // z-score in float32, off by up to (n + 4) u (a + M / (std + eps)) (test/cpu/peers.test.ts derives
  // this for DanceGRPO's identical lines), then adds the K columns in float32, each addition off by
  // u times the sum of |A_k| at most; otca rounds each A_k and f to float32 once. The clamp at 5 is
  // 1-Lipschitz. Against the same lines in float64 only otca's own rounding is left.
  const U = 2 ** -24;
  const worst = { rel: 0, rel64: 0, values: 0 };
  afterAll(() => {
    console.log(`[peers] worst |otca - port| for g2rpo (seed ${SEED}): rel ${worst.rel.toExponential(2)} against its float32 lines, rel ${worst.rel64.toExponential(2)} against them in float64 (${worst.values} values)`);
  });

  /**
   * Per-step rewards as its trainers give them: rewards[m][j] [N, S] for reward model m (HPS ~0.27,
   * CLIP score ~0.38) and granularity j; a group shares its anchor trajectory, so an offset per
   * (prompt, step), and each sample's own SDE step adds noise.
   */
  function g2rpoRewards(seed: number, B: number, G: number, S: number, models: number, granularities: number): Float32Array[][] {
    const g = gaussian(rng(seed));
    return Array.from({ length: models }, (_, m) =>
      Array.from({ length: granularities }, () => {
        const out = new Float32Array(B * G * S);
        for (let b = 0; b < B; b++)
          for (let t = 0; t < S; t++) {
            const offset = 0.01 * g();
            for (let i = 0; i < G; i++) out[(b * G + i) * S + t] = (m === 0 ? 0.27 : 0.38) + offset + 0.008 * g();
          }
        return out;
      }),
    );
  }

  /** otca's layout [N, S, K], column k = m * granularities + j (HPS's granularities, then CLIP's). */
  function asOtca(rewards: Float32Array[][], N: number, S: number): Float32Array {
    const columns = rewards.flat();
    const K = columns.length;
    return Float32Array.from({ length: N * S * K }, (_, x) => columns[x % K]![Math.floor(x / K)]!);
  }

  /** (n + 4) u (a + M / (std + eps)) for each value of one column (the trainer's float32 z-score). */
  function columnTolerance(column: ArrayLike<number>, G: number, S: number): Float64Array {
    const tol = new Float64Array(column.length);
    for (let start = 0; start < column.length / S; start += G)
      for (let t = 0; t < S; t++) {
        const group = Array.from({ length: G }, (_, m) => column[(start + m) * S + t]!);
        const mean = group.reduce((a, b) => a + b, 0) / G;
        const std = Math.sqrt(group.reduce((a, b) => a + (b - mean) ** 2, 0) / (G - 1)) + 1e-8;
        const M = Math.max(...group.map(Math.abs));
        for (let m = 0; m < G; m++) tol[(start + m) * S + t] = (G + 4) * U * (Math.abs(group[m]! - mean) / std + M / std);
      }
    return tol;
  }

  // Each value within its bound `tol`; with `maxRelative`, also the worst difference relative to the
  // batch's largest advantage (the 1e-5, for the float64 port: against the trainer's float32
  // lines only the derived bound applies, since its own rounding can pass 1e-5 of the batch's scale).
  function expectWithin(actual: ArrayLike<number>, port: ArrayLike<number>, tol: ArrayLike<number>, label: string, maxRelative = Infinity): number {
    let scale = 0;
    for (let x = 0; x < port.length; x++) scale = Math.max(scale, Math.abs(port[x]!));
    let rel = 0;
    for (let x = 0; x < port.length; x++) {
      const d = Math.abs(actual[x]! - port[x]!);
      if (!(d <= tol[x]!)) throw new Error(`${label}: |otca - port| = ${d.toExponential(3)} > ${tol[x]!.toExponential(3)} at ${x} (otca ${actual[x]}, port ${port[x]})`);
      rel = Math.max(rel, d / scale);
    }
    expect(rel, `${label}: worst relative difference`).toBeLessThan(maxRelative);
    return rel;
  }

  /**
   * Step 1 of a group of G (>= 27, so that a z-score can pass 5): sample 5 at 0.9 in column 0 (z ~ 5.47)
   * and about one std below its group in column 1 (z ~ -1): the sum, ~4.4, is under the clamp, while
   * clamping each column first would give ~4.0.
   */
  function sumUnderTheClamp([a, b]: Float32Array[], G: number, S: number): void {
    for (let i = 0; i < G; i++) [a![i * S + 1], b![i * S + 1]] = [0.27 + 0.001 * i, 0.27 + 0.001 * ((i * 7) % G)];
    a![5 * S + 1] = 0.9;
    b![5 * S + 1] = 0.276;
  }

  it('holds its settings: unweighted sum of per-column group z-scores (Bessel + 1e-8), clamped at 5 after the sum, one value per trained step', () => {
    expect(PRESETS.g2rpo).toEqual({ objective: 'weighted-advantage', temporal: 'uniform', stdScope: 'group', stdCorrection: 1, stdStabilizer: 'add', epsAdv: 1e-8, advClip: Infinity, fusedNormalization: 'none', fusedClip: 5 });
  });

  interface Case {
    label: string;
    B: number;
    G: number;
    S: number;
    models: number;
    granularities: number;
    edit?: (r: Float32Array[][], G: number, S: number) => void;
    check?: (port: Float64Array, fused: Float32Array, S: number, G: number) => void;
  }
  const cases: Case[] = [
    { label: 'train_g2rpo_hps.py as its script runs it: K = 2 (granularities 1 and 2), 12 generations, 8 trained steps', B: 2, G: 12, S: 8, models: 1, granularities: 2 },
    { label: 'K = 1 (one granularity), 3 prompts x 6 generations, 4 trained steps', B: 3, G: 6, S: 4, models: 1, granularities: 1 },
    { label: 'train_g2rpo_hps_clip.py: HPS and CLIP score, two granularities each (K = 4), summed without weights', B: 2, G: 12, S: 8, models: 2, granularities: 2 },
    {
      label: 'a tied group: every reward of prompt 1 equal at step 2 (its z-scores are 0, never NaN), K = 2',
      ...{ B: 3, G: 4, S: 4, models: 1, granularities: 2 },
      edit: (r, G, S) => r.flat().forEach((col, j) => { for (let i = G; i < 2 * G; i++) col[i * S + 2] = j === 0 ? 0.25 : 0.5; }),
      check: (port, fused, S, G) => {
        for (let i = G; i < 2 * G; i++) expect([port[i * S + 2], fused[i * S + 2]]).toEqual([0, 0]);
      },
    },
    {
      label: 'a per-step sum beyond the clamp: sample 0 far above its group in every column at step 3, K = 4 (each 11 / sqrt(12) = 3.18, the sum 12.7)',
      ...{ B: 2, G: 12, S: 8, models: 2, granularities: 2 },
      edit: (r, _G, S) => r.flat().forEach((col) => (col[0 * S + 3] = 0.9)),
      check: (port, fused, S) => expect([port[0 * S + 3], fused[0 * S + 3]]).toEqual([5, 5]),
    },
    {
      label: 'only the sum is clamped: 32 generations, one column\'s z-score past 5 (31 / sqrt(32) = 5.48), the other pulling the sum back under 5, K = 2',
      ...{ B: 1, G: 32, S: 2, models: 1, granularities: 2 },
      edit: (r, G, S) => sumUnderTheClamp(r[0]!, G, S),
      check: (port, fused, S) => {
        expect(port[5 * S + 1]).toBeGreaterThan(4.2);
        expect(port[5 * S + 1]).toBeLessThan(4.8);
        expect(Math.abs(fused[5 * S + 1]! - port[5 * S + 1]!)).toBeLessThan(1e-5);
      },
    },
  ];
  cases.forEach((gc, c) =>
    it(gc.label, async () => {
      const { B, G, S, models, granularities } = gc;
      const N = B * G;
      const K = models * granularities;
      const rewards = g2rpoRewards(SEED + 50 + c, B, G, S, models, granularities);
      gc.edit?.(rewards, G, S);
      const port = g2rpoAdvantages(rewards, G, S);
      const port64 = g2rpoAdvantages(rewards, G, S, 5, 'float64');
      const r = asOtca(rewards, N, S);
      const flat = trajectories(SEED + 60 + c, N, S, D);
      const inputs = { rewards: Tensor.from(r, [N, S, K]), latents: Tensor.from(flat, [N, S + 1, D]), groupSize: G };
      const options: OtcaOptions = { preset: 'g2rpo', device: 'cpu' };
      const out = otcaAdvantages(inputs, { ...options, outputs: ['objectiveAdvantages', 'fused'] });
      expectBitEqual(out.advantages.data, out.fused.data, `${gc.label}: Adv is f at every step (uniform)`);

      const columnTols = rewards.flat().map((col) => columnTolerance(col, G, S));
      const sumAbs = new Float64Array(N * S); // sum_k |A_k| per (sample, step)
      for (let x = 0; x < N * S; x++) for (let k = 0; k < K; k++) sumAbs[x]! += Math.abs(out.objectiveAdvantages.data[x * K + k]!);
      const tol = Float64Array.from({ length: N * S }, (_, x) => columnTols.reduce((s, t) => s + t[x]!, 0) + (K + 1) * U * sumAbs[x]! + U * Math.abs(port[x]!) + 1e-12);
      const tol64 = Float64Array.from({ length: N * S }, (_, x) => U * (Math.abs(port64[x]!) + sumAbs[x]!) + 1e-12);
      worst.rel = Math.max(worst.rel, expectWithin(out.fused.data, port, tol, `${gc.label}: vs its float32 lines`));
      worst.rel64 = Math.max(worst.rel64, expectWithin(out.fused.data, port64, tol64, `${gc.label}: vs its lines in float64`, 1e-5));
      worst.values += N * S;
      gc.check?.(port, out.fused.data, S, G);

      // the reference, the plan, the two phases and async give the same
      const ref = referenceAdvantages({ rewards: { data: r, shape: [N, S, K] }, latents: flat, N, T: S, D, groupSize: G }, { preset: 'g2rpo' });
      expectWithin(ref.advantages, port64, Float64Array.from(port64, (p) => 1e-12 * (1 + Math.abs(p))), `${gc.label}: reference (float64) vs its lines in float64`);
      const step = createAdvantageStep({ ...options, outputs: ['fused'] });
      expectBitEqual(step.run(inputs).advantages.data, out.advantages.data, `${gc.label}: plan`);
      step.dispose();
      const p1 = trajectoryCredit({ latents: inputs.latents }, options);
      const p2 = objectiveCredit({ rewards: inputs.rewards, trajectoryScore: p1.trajectoryScore, groupSize: G }, options);
      expectBitEqual(combineCredit(p1, p2).data, out.advantages.data, `${gc.label}: phases`);
      expectBitEqual((await otcaAdvantagesAsync(inputs, options)).advantages.data, out.advantages.data, `${gc.label}: async`);
    }),
  );

  it('a per-column clamp (advClip 5) or weights other than 1 do not give its numbers (the test can fail)', () => {
    const [G, S] = [32, 2];
    const rewards = g2rpoRewards(SEED + 70, 1, G, S, 1, 2);
    sumUnderTheClamp(rewards[0]!, G, S);
    const port = g2rpoAdvantages(rewards, G, S, 5, 'float64'); // its lines without its float32 rounding, which alone can reach 1e-5
    const inputs = { rewards: Tensor.from(asOtca(rewards, G, S), [G, S, 2]), latents: Tensor.from(trajectories(SEED + 71, G, S, D), [G, S + 1, D]), groupSize: G };
    const perColumn = otcaAdvantages(inputs, { preset: 'g2rpo', advClip: 5, device: 'cpu' }).advantages.data;
    const weighted = otcaAdvantages(inputs, { preset: 'g2rpo', objectiveWeights: [0.5, 0.5], device: 'cpu' }).advantages.data;
    const own = otcaAdvantages(inputs, { preset: 'g2rpo', device: 'cpu' }).advantages.data;
    const maxDiff = (a: ArrayLike<number>) => Math.max(...Array.from(port, (p, x) => Math.abs(a[x]! - p)));
    expect(maxDiff(own)).toBeLessThan(1e-5);
    expect(Math.abs(perColumn[5 * S + 1]! - port[5 * S + 1]!)).toBeGreaterThan(0.3);
    expect(maxDiff(weighted)).toBeGreaterThan(0.1);
  });
});
