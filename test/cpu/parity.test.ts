// Native CPU backend vs the float64 reference, on fresh random inputs, every output field.
//
// Tolerance: for each field, max_i |native_i - ref_i| <= tol * max_i |ref_i| (see helpers/compare.ts),
// tol = 1e-5 for float32 latents and 1e-3 for float16/bfloat16 latents (the reference decodes the
// very same bits, so the bound is about the float32 accumulation, not the input rounding).
// The inputs are realistic trajectories (dS ~ O(1/T), well above epsTcd) or pure-random ones, and
// random rewards: every output is then a continuous function of the float32-rounded reductions
// except near ties of A (which depend only on the rewards, computed identically in float64 on both
// sides), so no MOCA branch can flip between float32 and float64 here. The exploration e is
// ill-conditioned where a group's q values nearly agree: see expectMatchesReference (helpers/cases.ts).
import { describe, expect, it } from 'vitest';
import { otcaAdvantages } from '../../lib/index.js';
import { referenceAdvantages, referenceObjectiveCredit, type ReferenceOptions } from '../../lib/reference.js';
import { dataOf, expectMatchesReference, makeCase, type CaseSpec } from '../helpers/cases.js';
import { expectClose } from '../helpers/compare.js';

import { TEST_SEED as SEED } from '../helpers/seed.js';

function check(spec: CaseSpec, options: ReferenceOptions, label: string) {
  const c = makeCase(spec);
  const out = otcaAdvantages(c.input, { ...options, outputs: 'all' } as never);
  expect(out.backend).toBe('cpu');
  const ref = referenceAdvantages(c.ref, options);
  const tol = c.spec.latentDtype === 'float32' ? 1e-5 : 1e-3;
  expectMatchesReference(out, ref, c, options, tol, `${label} seed ${spec.seed}`);
  const shape = (f: string) => (out as unknown as Record<string, { shape: readonly number[] }>)[f]!.shape;
  const { N, T, K } = c.spec;
  expect(shape('advantages')).toEqual([N, T]);
  expect(shape('similarity')).toEqual([N, T + 1]);
  expect(shape('objectiveAdvantages')).toEqual([N, K]);
  expect(shape('fused')).toEqual([N]);
  return { out, ref, c };
}

describe(`parity with the reference (seed ${SEED})`, () => {
  const objectives = ['moca', 'min-norm', 'weighted-advantage', 'weighted-reward'] as const;
  let n = 0;
  for (const objective of objectives)
    for (const temporal of ['tcd', 'uniform'] as const)
      for (const weightScale of ['mean', 'sum'] as const)
        for (const stdScope of ['group', 'batch'] as const)
          for (const explorationSignal of ['absolute', 'centered'] as const)
            for (const stdCorrection of [1, 0]) {
              const k = n++;
              const options: ReferenceOptions = { objective, temporal, weightScale, stdScope, explorationSignal, stdCorrection };
              if (objective.startsWith('weighted')) options.objectiveWeights = [0.5, 1, 2];
              if (k % 3 === 0) options.minWeight = 0.2;
              if (k % 5 === 0) options.objectiveScale = [1, 0.5, 2];
              const label = JSON.stringify(options);
              it(label, () => {
                const spec: CaseSpec = {
                  seed: SEED + 101 * k, N: 8, G: 4, T: 6, D: 96, K: 3,
                  layout: k % 2 ? 'list' : 'stacked',
                  rewardDtype: k % 4 < 2 ? 'float32' : 'float64',
                  kind: k % 7 === 3 ? 'random' : 'realistic',
                };
                check(spec, options, label);
              });
            }

  for (const latentDtype of ['float32', 'float16', 'bfloat16'] as const)
    for (const layout of ['stacked', 'list'] as const)
      for (const rewardDtype of ['float32', 'float64'] as const)
        it(`${latentDtype} latents, ${layout} layout, ${rewardDtype} rewards, FLUX-like T = 16`, () => {
          check({ seed: SEED + 7, N: 12, G: 6, T: 16, D: 1024, K: 3, layout, latentDtype, rewardDtype }, {}, 'dtypes');
        });

  it('large D (fp32 accumulation error stays small at D = 2^18)', () => {
    check({ seed: SEED + 11, N: 2, G: 2, T: 3, D: 1 << 18, K: 2 }, {}, 'large D');
  });

  it('pure-random latents, several shapes', () => {
    for (const [N, G, T, D, K] of [[6, 3, 4, 33, 2], [4, 2, 9, 7, 5], [3, 3, 2, 257, 1]] as const)
      check({ seed: SEED + N * T, N, G, T, D, K, kind: 'random' }, {}, `random ${N}x${T}x${D}`);
  });
});

describe('parity edge cases', () => {
  it('K = 1 (c = [1], f = A)', () => {
    const { out } = check({ seed: SEED + 1, N: 6, G: 3, T: 5, D: 64, K: 1 }, {}, 'K=1');
    expect(Array.from(dataOf(out, 'coefficients'))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(dataOf(out, 'fused')).toEqual(dataOf(out, 'objectiveAdvantages'));
  });

  it('T = 1 (one step: wbar = 1, w = 1 in mean scale)', () => {
    const { out } = check({ seed: SEED + 2, N: 4, G: 2, T: 1, D: 64, K: 2 }, {}, 'T=1');
    expect(Array.from(dataOf(out, 'rawWeights'))).toEqual([1, 1, 1, 1]);
    expect(Array.from(dataOf(out, 'stepWeights'))).toEqual([1, 1, 1, 1]);
  });

  it('G = 1 (A = 0, f = 0, Adv = 0; never NaN)', () => {
    const { out } = check({ seed: SEED + 3, N: 3, G: 1, T: 4, D: 64, K: 2 }, {}, 'G=1');
    for (const f of ['objectiveAdvantages', 'fused', 'advantages'])
      for (const v of dataOf(out, f)) expect(v).toBe(0);
  });

  it('N = G (one group) and stdScope batch agree with group for one group', () => {
    const a = check({ seed: SEED + 4, N: 5, G: 5, T: 4, D: 64, K: 3 }, { stdScope: 'group' }, 'N=G');
    const b = check({ seed: SEED + 4, N: 5, G: 5, T: 4, D: 64, K: 3 }, { stdScope: 'batch' }, 'N=G batch');
    expect(dataOf(b.out, 'advantages')).toEqual(dataOf(a.out, 'advantages'));
  });

  it('equal rewards in a group (A = 0 there)', () => {
    const r = new Float32Array([1, 2, 1, 2, 1, 2, 0.5, 3, 1, 0, 2, 2]);
    const { out } = check({ seed: SEED + 5, N: 6, G: 3, T: 4, D: 64, K: 2, rewardValues: r }, {}, 'equal rewards');
    for (let m = 0; m < 6; m++) expect(dataOf(out, 'objectiveAdvantages')[m]).toBe(0);
  });

  it('zero-norm latents (S = 0 where a norm is 0)', () => {
    const [N, T, D] = [4, 3, 32];
    const c = makeCase({ seed: SEED + 6, N, G: 2, T, D, K: 2 });
    const z = Float32Array.from(c.latentData[0] as Float32Array);
    const zero = (i: number, j: number) => z.fill(0, (i * (T + 1) + j) * D, (i * (T + 1) + j + 1) * D);
    zero(0, T); // final state of sample 0: S = 0 everywhere, wbar uniform
    zero(1, 0); // initial state of sample 1
    zero(2, 1); // an intermediate state of sample 2
    for (let j = 0; j <= T; j++) zero(3, j); // a whole trajectory
    const { out } = check({ seed: SEED + 6, N, G: 2, T, D, K: 2, latentValues: z }, {}, 'zero norms');
    const S = dataOf(out, 'similarity');
    for (let j = 0; j <= T; j++) expect(S[j]).toBe(0);
    expect(S[(T + 1) * 1 + 0]).toBe(0);
    expect(S[(T + 1) * 2 + 1]).toBe(0);
    expect(Array.from(dataOf(out, 'stepWeights').subarray(0, T))).toEqual([1, 1, 1]);
  });

  it('ties in A (identical reward columns) -> one-hot at the first objective', () => {
    const r = new Float64Array(8 * 3);
    for (let i = 0; i < 8; i++) r.fill(Math.sin(i * 1.7), i * 3, i * 3 + 3);
    const { out } = check({ seed: SEED + 8, N: 8, G: 4, T: 4, D: 64, K: 3, rewardValues: r }, {}, 'ties');
    const c = dataOf(out, 'coefficients');
    for (let i = 0; i < 8; i++) expect(Array.from(c.subarray(i * 3, i * 3 + 3))).toEqual([1, 0, 0]);
  });

  it('lambda clipped: zhat = smax (small positive A) and zhat = smin (min-norm, positive A)', () => {
    // Group of 3, K = 2: sample 2 has both A positive; scale 0.2 keeps them below lam/2.
    const r = new Float32Array([0, 0, 1, 1, 0.9, 0.95, /* group 2 */ 0, 0.1, 1, 0.8, 0.7, 1]);
    const options = { objectiveScale: [0.2, 0.2] };
    const spec = { seed: SEED + 9, N: 6, G: 3, T: 5, D: 64, K: 2, rewardValues: r };
    const { ref } = check(spec, options, 'clip smax');
    // The reference confirms the case is what it claims: some sample is one-hot at its maximum
    // with lam/2 > smax.
    let clippedHigh = 0;
    for (let i = 0; i < 6; i++) {
      const A = [ref.objectiveAdvantages[2 * i]!, ref.objectiveAdvantages[2 * i + 1]!];
      if (ref.lambda[i]! / 2 > Math.max(...A)) {
        clippedHigh++;
        expect(ref.fused[i]).toBe(Math.max(...A));
      }
    }
    expect(clippedHigh).toBeGreaterThan(0);
    const mn = check(spec, { ...options, objective: 'min-norm' }, 'clip smin');
    let clippedLow = 0;
    for (let i = 0; i < 6; i++) {
      const A = [mn.ref.objectiveAdvantages[2 * i]!, mn.ref.objectiveAdvantages[2 * i + 1]!];
      if (Math.min(...A) > 0) {
        clippedLow++;
        expect(mn.ref.fused[i]).toBe(Math.min(...A));
      }
    }
    expect(clippedLow).toBeGreaterThan(0);
  });

  it('advClip, eps options and minWeight extremes', () => {
    for (const o of [
      { advClip: 0.5 },
      { advClip: Infinity },
      { epsAdv: 0.1, epsTcd: 1e-3, epsMoca: 1e-2, epsSolver: 0 },
      { minWeight: 0 },
      { minWeight: 1 },
    ] as ReferenceOptions[])
      check({ seed: SEED + 10, N: 8, G: 4, T: 5, D: 64, K: 3 }, o, JSON.stringify(o));
  });

  it('the reference takes the public Tensors directly (shapes inferred, bits decoded)', () => {
    for (const [layout, latentDtype] of [['stacked', 'bfloat16'], ['list', 'float16'], ['list', 'float32']] as const) {
      const c = makeCase({ seed: SEED + 13, N: 4, G: 2, T: 3, D: 40, K: 2, layout, latentDtype, rewardDtype: 'float64' });
      const fromTensors = referenceAdvantages(c.input as never);
      expect(fromTensors).toEqual(referenceAdvantages(c.ref));
    }
  });

  it('objective credit from q alone matches the reference (float64 q through float32)', () => {
    // Phase 2 rounds q to float32; the reference fed the same float32 q must agree to 1e-12-ish.
    const c = makeCase({ seed: SEED + 12, N: 8, G: 4, T: 5, D: 64, K: 3 });
    const out = otcaAdvantages(c.input, { outputs: 'all' });
    const ref = referenceObjectiveCredit({ rewards: c.rewardData, trajectoryScore: dataOf(out, 'trajectoryScore'), groupSize: 4, K: 3 });
    for (const f of ['objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'] as const)
      expectClose(dataOf(out, f), ref[f], 1e-6, f);
  });
});
