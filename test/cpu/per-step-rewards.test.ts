// Per-step rewards (issue 20 item 3): rewards [N, T, K], eq. 2 per step and objective within the
// group, the fusion per (sample, step), Adv[i,t] = w[i,t] f[i,t]; e (and so the tanh(e) of MOCA's
// lambda) stays per sample, from q. First in the float64 reference, the oracle; then the CPU backend
// against it through every path (the emulated CUDA kernels are checked against the CPU backend in
// test/native/emulation, the simulated device in test/gpu/parity.test.mjs); the 'g2rpo' preset
// against a port of G2RPO's computation.
import { describe, expect, it } from 'vitest';
import { combineCredit, createAdvantageStep, objectiveCredit, objectiveCreditAsync, otcaAdvantages, otcaAdvantagesAsync, Tensor, trajectoryCredit, type OtcaOptions } from '../../lib/index.js';
import { expectBitEqual, expectClose } from '../helpers/compare.js';
import { referenceAdvantages, referenceObjectiveCredit, type ReferenceOptions } from '../../lib/reference.js';
import { g2rpoAdvantagesFromDescription } from '../helpers/peers.js';
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

  it("G2RPO's computation (ported from the issue's description) is weighted-advantage with fusedClip 5, a per-step sum beyond the clip included", () => {
    const [N, G, K] = [12, 4, 4];
    const r = perStepRewards(SEED + 6, N, K);
    // sample 0 far above its group in every column at step 2: each z-score (n - 1) / sqrt(n) = 1.5, the sum 6 > 5
    for (let k = 0; k < K; k++) r[(0 * T + 2) * K + k] = 50;
    const port = g2rpoAdvantagesFromDescription(r, N, T, K, G);
    expect(port[0 * T + 2]).toBe(5);
    const options: ReferenceOptions = { objective: 'weighted-advantage', temporal: 'uniform', stdScope: 'group', stdCorrection: 1, epsAdv: 1e-8, advClip: Infinity, fusedClip: 5 };
    const ref = referenceAdvantages({ rewards: { data: r, shape: [N, T, K] }, latents: trajectories(SEED + 7, N, T, D), N, T, D, groupSize: G }, options);
    let worst = 0;
    for (let x = 0; x < N * T; x++) worst = Math.max(worst, Math.abs(ref.advantages[x]! - port[x]!));
    expect(worst).toBeLessThan(1e-12);
    expect(ref.advantages[0 * T + 2]).toBe(5);
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

  it("preset 'g2rpo' reproduces G2RPO's computation (ported from its description), a per-step sum beyond the clamp included", () => {
    const [N, G, K] = [12, 4, 4];
    const r = Float32Array.from(perStepRewards(SEED + 40, N, K));
    for (let k = 0; k < K; k++) r[(0 * T + 2) * K + k] = 50;
    const port = g2rpoAdvantagesFromDescription(r, N, T, K, G);
    expect(port[0 * T + 2]).toBe(5);
    const out = otcaAdvantages({ rewards: Tensor.from(r, [N, T, K]), latents: Tensor.from(trajectories(SEED + 41, N, T, D), [N, T + 1, D]), groupSize: G }, { preset: 'g2rpo', device: 'cpu', outputs: ['fused'] });
    let scale = 0;
    let worst = 0;
    for (let x = 0; x < N * T; x++) {
      scale = Math.max(scale, Math.abs(port[x]!));
      worst = Math.max(worst, Math.abs(out.advantages.data[x]! - port[x]!));
    }
    expect(worst / scale).toBeLessThan(1e-5);
    console.log(`[peers] worst |otca - port| for g2rpo (port from the description): rel ${(worst / scale).toExponential(2)} (${N * T} values)`);
    expect(out.advantages.data[0 * T + 2]).toBe(5);
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
