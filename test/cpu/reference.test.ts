// Hand-computed cases for the float64 reference itself (the oracle must be right first).
import { describe, expect, it } from 'vitest';
import {
  decodeBFloat16,
  decodeFloat16,
  referenceAdvantages,
  referenceMocaSolve,
  referenceObjectiveCredit,
  referenceTrajectoryCredit,
} from '../../lib/reference.js';
import { encode } from '../helpers/encode.js';

const close = (a: ArrayLike<number>, b: number[], digits = 9) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]!).toBeCloseTo(v, digits));
};

describe('reference MOCA solver (Algorithm 1, literal)', () => {
  it('step 1: all equal -> one-hot at the first maximum', () => {
    expect(referenceMocaSolve([0.5, 0.5, 0.5], 0.9, 1e-8)).toEqual([1, 0, 0]);
    // 1 and 1 + 5e-9 differ by less than epsSolver: one-hot at the first index of the max (1).
    expect(referenceMocaSolve([1, 1 + 5e-9], 0.3, 1e-8)).toEqual([0, 1]);
  });

  it('K = 1 -> [1], also with epsSolver = 0 (no adjacent pair)', () => {
    expect(referenceMocaSolve([0.7], 0.2, 1e-8)).toEqual([1]);
    expect(referenceMocaSolve([0.7], 0.2, 0)).toEqual([1]);
  });

  it('step 3: interpolates between the adjacent pair around zhat', () => {
    // A = [-1, 0, 2], lam = 1 -> zhat = 0.5 in [0, 2]: c1 = (2 - .5)/2 = .75, c2 = (.5 - 0)/2 = .25
    expect(referenceMocaSolve([-1, 0, 2], 1, 1e-8)).toEqual([0, 0.75, 0.25]);
    // Same values out of index order: sorted indices [1, 2, 0]; the pair is (2, 0).
    expect(referenceMocaSolve([2, -1, 0], 1, 1e-8)).toEqual([0.25, 0, 0.75]);
  });

  it('zhat clipped at smax and at smin -> one-hot (step 2)', () => {
    // A = [0.1, 0.2], lam = 2: zhat = clip(1, .1, .2) = .2 = A[1]
    expect(referenceMocaSolve([0.1, 0.2], 2, 1e-8)).toEqual([0, 1]);
    // A = [0.5, 1.5], lam = 0: zhat = clip(0, .5, 1.5) = .5 = A[0]
    expect(referenceMocaSolve([0.5, 1.5], 0, 1e-8)).toEqual([1, 0]);
    // A = [-1, -2], lam = 0: zhat = clip(0, -2, -1) = -1 = A[0] (the maximum)
    expect(referenceMocaSolve([-1, -2], 0, 1e-8)).toEqual([1, 0]);
  });

  it('step 2 picks the first k within epsSolver of zhat', () => {
    // A = [1, 1, 3], lam = 2: zhat = 1; A[0] and A[1] both match -> k = 0
    expect(referenceMocaSolve([1, 1, 3], 2, 1e-8)).toEqual([1, 0, 0]);
  });

  it('ties with epsSolver = 0: a degenerate pair (hi == lo in value) gives one-hot at lo', () => {
    // A = [1, 1, 3], zhat = 1: sorted [0, 1, 2], first pair (0, 1) has A equal -> one-hot at 0
    expect(referenceMocaSolve([1, 1, 3], 2, 0)).toEqual([1, 0, 0]);
    // A = [3, 1, 1], lam = 4 -> zhat = 2: sorted [1, 2, 0]; pair (1, 2) = (1, 1) misses 2;
    // pair (2, 0) = (1, 3): c2 = (3 - 2)/2 = .5, c0 = (2 - 1)/2 = .5
    expect(referenceMocaSolve([3, 1, 1], 4, 0)).toEqual([0.5, 0, 0.5]);
  });
});

describe('reference TCD', () => {
  // N = 1, T = 2, D = 2: z0 = [1, 0], z1 = [1, 1], z2 = [0, 1].
  // S = [cos(z0,z2), cos(z1,z2), 1] = [0, 1/sqrt2, 1] = [0, .7071067811865476, 1]
  // dS = [.7071067811865476, .2928932188134524] (sum 1)
  // u = dS + 1e-6, sum u = 1 + 2e-6, wbar = u / (1 + 2e-6) = [.70710649..., .29289350...]
  // q = sum wbar dS ~ dS0^2 + dS1^2 = .5 + .0857864376 = .5857864376 (minus O(1e-6))
  // w (tcd, minWeight .5, T = 2) = .5 + .5 * 2 * wbar = .5 + wbar
  const latents = new Float32Array([1, 0, 1, 1, 0, 1]);
  const r2 = Math.SQRT1_2;
  const wbar = [(r2 + 1e-6) / (1 + 2e-6), (1 - r2 + 1e-6) / (1 + 2e-6)];

  it('S, dS, wbar, w, q of a known trajectory', () => {
    const out = referenceTrajectoryCredit({ latents, N: 1, T: 2, D: 2 });
    close(out.similarity, [0, r2, 1], 12);
    close(out.deltaS, [r2, 1 - r2], 12);
    close(out.rawWeights, wbar, 12);
    close(out.stepWeights, [0.5 + wbar[0]!, 0.5 + wbar[1]!], 12);
    expect(out.trajectoryScore[0]).toBeCloseTo(wbar[0]! * r2 + wbar[1]! * (1 - r2), 12);
    expect(out.trajectoryScore[0]).toBeCloseTo(0.5857864376, 5);
    // eq. 8 weights sum to 1, tcd weights have mean 1
    expect(out.rawWeights[0]! + out.rawWeights[1]!).toBeCloseTo(1, 14);
    expect(out.stepWeights[0]! + out.stepWeights[1]!).toBeCloseTo(2, 14);
  });

  it('layouts and options: list layout, sum scale, uniform, minWeight 0', () => {
    const list = [new Float32Array([1, 0]), new Float32Array([1, 1]), new Float32Array([0, 1])];
    const a = referenceTrajectoryCredit({ latents: list, N: 1 });
    const b = referenceTrajectoryCredit({ latents, N: 1, T: 2, D: 2 });
    expect(a).toEqual(b);
    close(referenceTrajectoryCredit({ latents: list, N: 1 }, { weightScale: 'sum' }).stepWeights,
      [(0.5 + wbar[0]!) / 2, (0.5 + wbar[1]!) / 2], 12);
    close(referenceTrajectoryCredit({ latents: list, N: 1 }, { temporal: 'uniform' }).stepWeights, [1, 1]);
    close(referenceTrajectoryCredit({ latents: list, N: 1 }, { temporal: 'uniform', weightScale: 'sum' }).stepWeights, [0.5, 0.5]);
    // minWeight 0: w = T * wbar
    close(referenceTrajectoryCredit({ latents: list, N: 1 }, { minWeight: 0 }).stepWeights, [2 * wbar[0]!, 2 * wbar[1]!], 12);
  });

  it('tensor-like input with float16 / bfloat16 bits decodes exactly', () => {
    const bits16 = encode(latents, 'float16');
    const bitsBf = encode(latents, 'bfloat16');
    const ref = referenceTrajectoryCredit({ latents, N: 1, T: 2, D: 2 });
    expect(referenceTrajectoryCredit({ latents: { data: bits16, shape: [1, 3, 2], dtype: 'float16' } })).toEqual(ref);
    expect(referenceTrajectoryCredit({ latents: { data: bitsBf, shape: [1, 3, 2], dtype: 'bfloat16' } })).toEqual(ref);
    expect(decodeFloat16(0x3c00)).toBe(1);
    expect(decodeFloat16(0xc000)).toBe(-2);
    expect(decodeFloat16(0x0001)).toBe(2 ** -24);
    expect(decodeFloat16(0x7bff)).toBe(65504);
    expect(decodeFloat16(0x7c00)).toBe(Infinity);
    expect(decodeBFloat16(0x3f80)).toBe(1);
    expect(decodeBFloat16(0x4049)).toBe(3.140625);
  });

  it('zero-norm final latent -> S = 0, uniform wbar, q = 0, w = 1', () => {
    // z_T = 0 for both samples; z_0 = 0 too for sample 1.
    const z = new Float32Array([1, 2, 3, 4, 0, 0, /* sample 1 */ 0, 0, 5, 6, 0, 0]);
    const out = referenceTrajectoryCredit({ latents: z, N: 2, T: 2, D: 2 });
    close(out.similarity, [0, 0, 0, 0, 0, 0]);
    close(out.deltaS, [0, 0, 0, 0]);
    close(out.rawWeights, [0.5, 0.5, 0.5, 0.5], 14);
    close(out.stepWeights, [1, 1, 1, 1], 14);
    close(out.trajectoryScore, [0, 0]);
  });

  it('a zero-norm intermediate state has S = 0 there', () => {
    // z0 = 0, z1 = [3, 4], z2 = [3, 4]: S = [0, 1, 1], dS = [1, 0]
    const out = referenceTrajectoryCredit({ latents: new Float32Array([0, 0, 3, 4, 3, 4]), N: 1, T: 2, D: 2 });
    close(out.similarity, [0, 1, 1], 14);
    close(out.deltaS, [1, 0], 14);
  });

  it('non-finite latents name the first sample and state', () => {
    const z = new Float32Array(2 * 3 * 2);
    z[1 * 6 + 2 * 2 + 1] = NaN;
    z[1 * 6 + 1 * 2 + 0] = Infinity;
    expect(() => referenceTrajectoryCredit({ latents: z, N: 2, T: 2, D: 2 })).toThrow(
      /Expected finite values for latents but received Infinity at sample 1, state 1/,
    );
  });
});

describe('reference objective credit (eq. 2, eqs. 12-14)', () => {
  it('eq. 2: Bessel and population std, clipping, scale', () => {
    // r = [1, 2, 3]: mean 2, Bessel std 1 -> A = [-1, 0, 1] / (1 + 1e-8)
    const q = [0, 0, 0];
    let out = referenceObjectiveCredit({ rewards: [1, 2, 3], trajectoryScore: q, groupSize: 3 });
    close(out.objectiveAdvantages, [-1, 0, 1], 7);
    // population std sqrt(2/3) = .8164965809 -> A = -+1.2247448714
    out = referenceObjectiveCredit({ rewards: [1, 2, 3], trajectoryScore: q, groupSize: 3 }, { stdCorrection: 0 });
    close(out.objectiveAdvantages, [-1.2247448714, 0, 1.2247448714], 7);
    // advClip 1.1 clips the population values; objectiveScale 2 doubles
    out = referenceObjectiveCredit(
      { rewards: [1, 2, 3], trajectoryScore: q, groupSize: 3 },
      { stdCorrection: 0, advClip: 1.1, objectiveScale: [2] },
    );
    close(out.objectiveAdvantages, [-2.2, 0, 2.2], 12);
  });

  it("stdScope 'batch': batch std, per-group mean", () => {
    // r = [0, 2, 10, 12], G = 2: group means 1, 11; batch mean 6, Bessel batch std
    // sqrt((36 + 16 + 16 + 36) / 3) = sqrt(34.667) = 5.8878405776 -> A = -+1 / 5.8878 = -+.1698415551
    const out = referenceObjectiveCredit(
      { rewards: [0, 2, 10, 12], trajectoryScore: [0, 0, 0, 0], groupSize: 2 },
      { stdScope: 'batch' },
    );
    close(out.objectiveAdvantages, [-0.1698415551, 0.1698415551, -0.1698415551, 0.1698415551], 9);
    // 'group': std of (0, 2) is sqrt(2) -> A = -+.7071067812
    const g = referenceObjectiveCredit({ rewards: [0, 2, 10, 12], trajectoryScore: [0, 0, 0, 0], groupSize: 2 });
    close(g.objectiveAdvantages, [-Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2, Math.SQRT1_2], 7);
  });

  it('G = 1 -> A = 0, f = 0 (never NaN); equal rewards -> A = 0', () => {
    const out = referenceObjectiveCredit({ rewards: [1, 5, 2, 7], trajectoryScore: [0.1, 0.3], groupSize: 1, K: 2 });
    close(out.objectiveAdvantages, [0, 0, 0, 0]);
    close(out.fused, [0, 0]);
    close(out.coefficients, [1, 0, 1, 0]); // step 1: one-hot at the first maximum
    close(out.lambda, [0, 0]); // s = 0
    const eq = referenceObjectiveCredit({ rewards: [3, 3, 3, 3], trajectoryScore: [0.1, 0.2, 0.3, 0.4], groupSize: 4 });
    close(eq.objectiveAdvantages, [0, 0, 0, 0]);
    close(eq.fused, [0, 0, 0, 0]);
  });

  // K = 2, G = 3. Column 0: r = [1, 2, 3] -> A = [-1, 0, 1] (Bessel std 1).
  // Column 1: r = [3, 0, 0] -> mean 1, deviations [2, -1, -1], std sqrt(6/2) = 1.7320508
  //   -> A = [1.1547005, -.5773503, -.5773503].
  // q = [.2, .1, .3]: group mean .2, Bessel std .1 -> e = |q| / (.1 + 1e-6) = [1.99998, .99999, 2.99997]
  // Sample 0: A = [-1, 1.1547005], s = .1547005 > 0, lam = s/(s + 1e-6) * tanh(1.99998)
  //   = (1 - 6.5e-6) * (tanh 2 - 2e-5 sech^2 2) = (1 - 6.5e-6) * .9640262 = .9640199;
  //   zhat = .4820100 in (-1, 1.1547): c0 = (1.1547005 - .4820100)/2.1547005 = .3121968, c1 = .6878032
  // Sample 1: A = [0, -.5773503], s < 0 -> lam = 0 -> zhat = clip(0, -.577, 0) = 0 = A0 -> c = [1, 0]
  // Sample 2: A = [1, -.5773503], s = .4226497, lam = (1 - 2.4e-6) * tanh(2.99997) = .9950521, zhat = .4975261:
  //   c1 = (1 - .4975261)/1.5773503 = .3185557, c0 = .6814443
  const rewards = new Float64Array([1, 3, 2, 0, 3, 0]);
  const q = [0.2, 0.1, 0.3];

  it('MOCA by hand: interpolated, one-hot at zhat = smax (lam = 0), interpolated', () => {
    const out = referenceObjectiveCredit({ rewards, trajectoryScore: q, groupSize: 3, K: 2 });
    close(out.objectiveAdvantages, [-1, 1.1547005, 0, -0.5773503, 1, -0.5773503], 6);
    close(out.exploration, [1.99998, 0.99999, 2.99997], 5);
    close(out.lambda, [0.9640199, 0, 0.9950521], 6);
    close(out.coefficients, [0.3121968, 0.6878032, 1, 0, 0.6814443, 0.3185557], 6);
    close(out.fused, [0.4820100, 0, 0.4975261], 6);
  });

  it("explorationSignal 'centered' uses |q - mean_g q|", () => {
    const out = referenceObjectiveCredit({ rewards, trajectoryScore: q, groupSize: 3, K: 2 }, { explorationSignal: 'centered' });
    // |q - .2| / (.1 + 1e-6) = [0, .99999, .99999]
    close(out.exploration, [0, 0.99999, 0.99999], 5);
    // sample 0: lam = 0 -> zhat = clip(0, -1, 1.1547) = 0: pair (-1, 1.1547): c0 = 1.1547/2.1547 = .5358984
    close(out.coefficients.subarray(0, 2), [0.5358984, 0.4641016], 6);
    expect(out.fused[0]).toBeCloseTo(0, 12);
  });

  it("'min-norm': lam = 0 in the solve and in the output", () => {
    const out = referenceObjectiveCredit({ rewards, trajectoryScore: q, groupSize: 3, K: 2 }, { objective: 'min-norm' });
    close(out.lambda, [0, 0, 0]);
    // sample 2: zhat = 0 between -.5773503 and 1: c0 = (0 + .5773503)/1.5773503 = .3660254, c1 = .6339746
    close(out.coefficients.subarray(4, 6), [0.3660254, 0.6339746], 6);
    expect(out.fused[2]).toBeCloseTo(0, 12);
    // exploration is still reported
    close(out.exploration, [1.99998, 0.99999, 2.99997], 5);
  });

  it("'weighted-advantage': c = weights, f = sum c A", () => {
    const out = referenceObjectiveCredit(
      { rewards, trajectoryScore: q, groupSize: 3, K: 2 },
      { objective: 'weighted-advantage', objectiveWeights: [2, 0.5] },
    );
    close(out.coefficients, [2, 0.5, 2, 0.5, 2, 0.5]);
    // f0 = 2 * -1 + .5 * 1.1547005 = -1.4226497
    close(out.fused, [-1.4226497, -0.2886751, 1.7113249], 6);
    close(out.lambda, [0, 0, 0]);
  });

  it("'weighted-reward': normalise sum_k w_k r_k, A still per objective", () => {
    // R = [1 + 3, 2 + 0, 3 + 0] = [4, 2, 3]: mean 3, Bessel std 1 -> f = [1, -1, 0]
    const out = referenceObjectiveCredit({ rewards, trajectoryScore: q, groupSize: 3, K: 2 }, { objective: 'weighted-reward' });
    close(out.fused, [1, -1, 0], 7);
    close(out.coefficients, [1, 1, 1, 1, 1, 1]);
    close(out.objectiveAdvantages, [-1, 1.1547005, 0, -0.5773503, 1, -0.5773503], 6);
    // objectiveScale does not scale f in weighted-reward
    const s = referenceObjectiveCredit(
      { rewards, trajectoryScore: q, groupSize: 3, K: 2 },
      { objective: 'weighted-reward', objectiveScale: [3, 3] },
    );
    close(s.fused, [1, -1, 0], 7);
    close(s.objectiveAdvantages, [-3, 3.4641016, 0, -1.7320508, 3, -1.7320508], 6);
  });

  it('non-finite rewards name the first sample and objective', () => {
    expect(() =>
      referenceObjectiveCredit({ rewards: [1, 2, 3, NaN], trajectoryScore: [0, 0], groupSize: 2, K: 2 }),
    ).toThrow(/Expected finite values for rewards but received NaN at sample 1, objective 1/);
  });
});

describe('reference whole step', () => {
  it('Adv = w * f, and equals the two phases', () => {
    // Two samples of the known trajectory (one reversed in magnitude), G = 2, K = 1
    const z = new Float32Array([1, 0, 1, 1, 0, 1, 2, 0, 2, 2, 0, 2]);
    const out = referenceAdvantages({ rewards: [1, 2], K: 1, latents: z, N: 2, T: 2, D: 2, groupSize: 2 });
    // A = [-.7071, .7071]; K = 1 -> c = [1], f = A
    close(out.fused, [-Math.SQRT1_2, Math.SQRT1_2], 7);
    for (let i = 0; i < 2; i++)
      for (let t = 0; t < 2; t++) expect(out.advantages[i * 2 + t]).toBe(out.stepWeights[i * 2 + t]! * out.fused[i]!);
    const p1 = referenceTrajectoryCredit({ latents: z, N: 2, T: 2, D: 2 });
    const p2 = referenceObjectiveCredit({ rewards: [1, 2], trajectoryScore: p1.trajectoryScore, groupSize: 2 });
    expect(out.similarity).toEqual(p1.similarity);
    expect(out.fused).toEqual(p2.fused);
    // q equal for both (same direction) -> std 0 -> e = |q| / 1e-6 huge, tanh = 1, lam = 1 for sample 1
    expect(out.lambda[0]).toBe(0);
    expect(out.lambda[1]).toBeCloseTo(1, 5);
  });

  it('ties in A: the first maximum wins step 1', () => {
    // K = 3 with identical reward columns -> A equal across k -> one-hot at k = 0
    const out = referenceObjectiveCredit({ rewards: [1, 1, 1, 2, 2, 2], trajectoryScore: [0.1, 0.2], groupSize: 2, K: 3 });
    close(out.coefficients, [1, 0, 0, 1, 0, 0]);
  });
});
