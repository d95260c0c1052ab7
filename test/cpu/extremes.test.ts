// Inputs at the edges of what is accepted give finite, correct numbers, and inputs past them a
// typed error naming the argument (issue "Reliability", items 5-9): the smallest accepted epsilons,
// latents at any finite scale, trajectories whose dS is at the scale of float32 rounding, extreme
// rewards and option values, SharedArrayBuffer and other-realm inputs, huge shapes and thread counts.
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  objectiveCredit,
  otcaAdvantages,
  otcaAdvantagesAsync,
  referenceAdvantages,
  referenceObjectiveCredit,
  Tensor,
  type OtcaOptions,
  type ReferenceOptions,
} from '../../lib/index.js';
import { ALL_FIELDS, dataOf, expectMatchesReference, makeCase } from '../helpers/cases.js';
import { expectBitEqual, expectClose, maxAbs } from '../helpers/compare.js';
import { encode } from '../helpers/encode.js';
import { rng, trajectories } from '../helpers/random.js';

const SEED = 20261205;

function allFinite(result: Record<string, unknown>): void {
  for (const [name, t] of Object.entries(result)) {
    if (name === 'backend') continue;
    const data = (t as { data: Float32Array }).data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new Error(`${name}[${i}] = ${data[i]}`);
    }
  }
}

describe('the smallest accepted epsilons keep A = 0 where a std is 0, never NaN', () => {
  const smallest: OtcaOptions = { epsAdv: 0, epsTcd: Number.MIN_VALUE, epsMoca: 1e-30, epsSolver: 0 };
  const [N, T, D, K] = [6, 4, 32, 3];
  for (const [label, G, values] of [
    ['G = 1', 1, undefined],
    ['equal rewards in every group', 3, new Float32Array(N * K).fill(0.1)],
    ['equal rewards, float64, a value whose sum / n rounds', 2, new Float64Array(N * K).fill(0.7)],
  ] as const) {
    for (const extra of [{}, { stdScope: 'batch' }, { objective: 'weighted-reward' }, { objective: 'weighted-advantage' }, { stdCorrection: 0 }] as const) {
      it(`${label}, ${JSON.stringify(extra)}`, () => {
        const c = makeCase({ seed: SEED, N, G, T, D, K, rewardValues: values, rewardDtype: values instanceof Float64Array ? 'float64' : 'float32' });
        const options = { ...smallest, ...extra } as OtcaOptions;
        const out = otcaAdvantages(c.input, { ...options, outputs: 'all' });
        allFinite(out);
        for (const v of out.objectiveAdvantages.data) expect(v).toBe(0);
        for (const v of out.advantages.data) expect(v).toBe(0);
        const ref = referenceAdvantages(c.ref, options as ReferenceOptions);
        for (const v of ref.objectiveAdvantages) expect(v).toBe(0);
        for (const v of ref.exploration) expect(Number.isFinite(v)).toBe(true);
      });
    }
  }
  it('a std of 0 across the whole batch (stdScope batch) with epsAdv 0', () => {
    const c = makeCase({ seed: SEED, N: 4, G: 2, T: 3, D: 16, K: 2, rewardValues: new Float32Array(8).fill(-3.3) });
    const out = otcaAdvantages(c.input, { epsAdv: 0, stdScope: 'batch', outputs: 'all' });
    allFinite(out);
    expect(Array.from(out.fused.data)).toEqual([0, 0, 0, 0]);
  });
});

describe('latents at any finite scale: the cosine is scale-invariant', () => {
  const [N, G, T, D, K] = [4, 2, 6, 300, 2];
  const base = trajectories(SEED, N, T, D);
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
    const scales = dtype === 'float16' ? [2 ** -10, 2 ** 10, 60000 / 4] : [1e-19, 1e-25, 1e-30, 1e-37, 1e-40, 1e19, 1e30, 3e37];
    for (const scale of scales) {
      it(`${dtype} latents times ${scale}`, async () => {
        const values = base.map((v) => v * scale);
        const c = makeCase({ seed: SEED, N, G, T, D, K, latentDtype: dtype, latentValues: values });
        const ref = referenceAdvantages(c.ref);
        const out = otcaAdvantages(c.input, { outputs: 'all' });
        allFinite(out);
        expectMatchesReference(out, ref, c, {}, dtype === 'float32' ? 1e-5 : 1e-3, `${dtype} x ${scale}`);
        // the async call and one sample at a normal scale among tiny ones agree as well
        const again = await otcaAdvantagesAsync(c.input, { outputs: 'all' });
        for (const f of ALL_FIELDS) expectBitEqual(dataOf(again, f), dataOf(out, f), f);
      });
    }
  }
  it('one tiny sample among normal ones is recomputed alone; the others keep their bits', () => {
    const values = Float32Array.from(base);
    for (let m = 0; m < (T + 1) * D; m++) values[2 * (T + 1) * D + m]! *= 1e-30;
    const mixed = makeCase({ seed: SEED, N, G, T, D, K, latentValues: values });
    const normal = makeCase({ seed: SEED, N, G, T, D, K, latentValues: base });
    const a = otcaAdvantages(mixed.input, { outputs: ['similarity', 'stepWeights'] });
    const b = otcaAdvantages(normal.input, { outputs: ['similarity', 'stepWeights'] });
    for (const i of [0, 1, 3]) expectBitEqual(a.stepWeights.data.subarray(i * T, (i + 1) * T), b.stepWeights.data.subarray(i * T, (i + 1) * T), `sample ${i}`);
    expectClose(a.similarity.data.subarray(2 * (T + 1), 3 * (T + 1)), referenceAdvantages(mixed.ref).similarity.subarray(2 * (T + 1), 3 * (T + 1)), 1e-6, 'tiny sample S');
  });
});

describe('dS at the scale of float32 rounding', () => {
  it('D = 1: S is +-1 exactly, so every step weight is exactly 1', () => {
    const [N, T] = [6, 16];
    const rand = rng(SEED);
    const values = new Float32Array(N * (T + 1)).map(() => 0.25 + rand());
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      const c = makeCase({ seed: SEED, N, G: 3, T, D: 1, K: 2, latentDtype: dtype, latentValues: values });
      const out = otcaAdvantages(c.input, { outputs: ['stepWeights', 'deltaS'] });
      for (const w of out.stepWeights.data) expect(w).toBe(1);
      for (const d of out.deltaS.data) expect(d).toBe(0);
    }
  });
  it('every state within 1e-3 of the final one: step weights as the float64 reference to 1e-6', () => {
    const [N, T, D] = [4, 16, 4096];
    const base = trajectories(SEED + 1, N, T, D);
    const rand = rng(SEED + 2);
    const values = new Float32Array(base.length);
    for (let i = 0; i < N; i++)
      for (let j = 0; j <= T; j++)
        for (let d = 0; d < D; d++) values[(i * (T + 1) + j) * D + d] = base[(i * (T + 1) + T) * D + d]! * (1 + 1e-3 * (rand() - 0.5));
    const c = makeCase({ seed: SEED, N, G: 2, T, D, K: 2, latentValues: values });
    const out = otcaAdvantages(c.input, { outputs: 'all' });
    const ref = referenceAdvantages(c.ref);
    expectClose(out.stepWeights.data, ref.stepWeights, 1e-6, 'w');
    expectClose(out.rawWeights.data, ref.rawWeights, 1e-6, 'wbar');
  });
  it('above the float64 threshold (total gain >= 2^-10) the weights stay within the documented bound', () => {
    // S_t rises by a total of ~2^-9 over T steps: the float32 sums are kept, and the error of w is
    // bounded by 2 * 2e-7 * (1 - w_min) * T * (1 + T * wbar_t) / sum_t u_t (docs/algorithm.md)
    const [N, T, D] = [4, 8, 2048];
    const rand = rng(SEED + 3);
    const values = new Float32Array(N * (T + 1) * D);
    for (let i = 0; i < N; i++) {
      const x = Array.from({ length: D }, () => rand() - 0.5);
      const y = Array.from({ length: D }, () => rand() - 0.5);
      for (let j = 0; j <= T; j++) {
        const angle = 0.1 * (1 - j / T);  // 1 - cos(0.1) ~ 5e-3 of alignment gained in all
        for (let d = 0; d < D; d++) values[(i * (T + 1) + j) * D + d] = Math.cos(angle) * x[d]! + Math.sin(angle) * y[d]!;
      }
    }
    const c = makeCase({ seed: SEED, N, G: 2, T, D, K: 2, latentValues: values });
    const out = otcaAdvantages(c.input, { outputs: 'all' });
    const ref = referenceAdvantages(c.ref);
    let bound = 0;
    for (let i = 0; i < N; i++) {
      let sumU = 0;
      for (let t = 0; t < T; t++) sumU += Math.max(0, ref.deltaS[i * T + t]!) + 1e-6;
      for (let t = 0; t < T; t++) bound = Math.max(bound, (2 * 2e-7 * 0.5 * T * (1 + T * ref.rawWeights[i * T + t]!)) / sumU);
    }
    let worst = 0;
    for (let k = 0; k < ref.stepWeights.length; k++) worst = Math.max(worst, Math.abs(out.stepWeights.data[k]! - ref.stepWeights[k]!));
    expect(worst).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(1e-3);
  });
});

describe('extreme finite rewards and options: finite correct outputs or a RangeError naming them', () => {
  const [N, G, T, D, K] = [4, 2, 3, 16, 2];
  it('rewards of magnitude 1e100 (the limit) give the same advantages as rewards of magnitude 1', () => {
    const unit = new Float64Array([0.5, -1, 1, 0.25, -0.75, 2, 0, 1]);
    const a = makeCase({ seed: SEED, N, G, T, D, K, rewardDtype: 'float64', rewardValues: unit });
    const b = makeCase({ seed: SEED, N, G, T, D, K, rewardDtype: 'float64', rewardValues: unit.map((v) => v * 5e99) });  // largest: 1e100
    for (const options of [{}, { stdScope: 'batch' }, { objective: 'weighted-reward' }] as const) {
      const x = otcaAdvantages(a.input, { ...options, outputs: 'all', epsAdv: 0 });
      const y = otcaAdvantages(b.input, { ...options, outputs: 'all', epsAdv: 0 });
      allFinite(y);
      expectClose(y.objectiveAdvantages.data, x.objectiveAdvantages.data, 1e-6, 'A');
      expectClose(y.advantages.data, x.advantages.data, 1e-6, 'Adv');
    }
  });
  it('past the limits: rewards, objectiveWeights, objectiveScale, epsilons, trajectory scores', () => {
    const c = makeCase({ seed: SEED, N, G, T, D, K, rewardDtype: 'float64', rewardValues: new Float64Array([1, 2, 3, 4, 5, 6, 1e308, 8]) });
    expect(() => otcaAdvantages(c.input)).toThrow(new RangeError('Expected |r| <= 1e+100 for rewards but received 1e+308 at sample 3, objective 0'));
    const ok = makeCase({ seed: SEED, N, G, T, D, K });
    expect(() => otcaAdvantages(ok.input, { objectiveWeights: [1, 1e10] })).toThrow(
      new RangeError('Expected finite number in [-1000000000, 1000000000] for objectiveWeights[1] but received 10000000000'),
    );
    expect(() => otcaAdvantages(ok.input, { objectiveScale: [1e39, 1] })).toThrow(/for objectiveScale\[0\] but received 1e\+39/);
    expect(() => otcaAdvantages(ok.input, { epsMoca: 1e-31 })).toThrow(new RangeError('Expected number in [1e-30, 1e+100] for epsMoca but received 1e-31'));
    expect(() => otcaAdvantages(ok.input, { epsTcd: 1e101 })).toThrow(/for epsTcd but received 1e\+101/);
    expect(() => otcaAdvantages(ok.input, { epsAdv: Infinity })).toThrow(/for epsAdv but received Infinity/);
    expect(() =>
      objectiveCredit({ rewards: ok.input.rewards, trajectoryScore: new Float32Array([0, 5, 0, 0]), groupSize: G }),
    ).toThrow(new RangeError('Expected |q| <= 4 (phase 1 gives |q| <= 2) for trajectoryScore but received 5 at sample 1'));
    expect(() => referenceObjectiveCredit({ rewards: [1e101, 0], trajectoryScore: [0, 0], groupSize: 2 })).toThrow(/\|r\| <= 1e\+100/);
  });
  it('the largest accepted weights and scales with no clip: every output finite', () => {
    const c = makeCase({ seed: SEED, N: 8, G: 8, T, D, K });
    for (const objective of ['moca', 'weighted-advantage', 'weighted-reward'] as const) {
      const out = otcaAdvantages(c.input, { objective, advClip: Infinity, objectiveWeights: [1e9, -1e9], objectiveScale: [1e9, 1e9], outputs: 'all' });
      allFinite(out);
      expect(maxAbs(out.objectiveAdvantages.data)).toBeGreaterThan(1e8);
    }
  });
  it('the smallest epsMoca with equal trajectory scores: e = |q| / 1e-30 stays finite', () => {
    const rewards = Tensor.from(new Float32Array([1, 0, 0, 1]), [2, 2]);
    const out = objectiveCredit({ rewards, trajectoryScore: new Float32Array([2, 2]), groupSize: 2 }, { epsMoca: 1e-30 });
    allFinite(out);
    expect(out.exploration.data[0]).toBeCloseTo(2e30, -25);
  });
});

describe('inputs from elsewhere: SharedArrayBuffer, another realm', () => {
  const [N, G, T, D, K] = [4, 2, 3, 40, 2];
  it('views of SharedArrayBuffers give the same bits as ordinary ones, sync and async', async () => {
    const c = makeCase({ seed: SEED, N, G, T, D, K, layout: 'list', latentDtype: 'bfloat16' });
    const share = <A extends Float32Array | Uint16Array>(a: A): A => {
      const s = new (a.constructor as new (b: SharedArrayBuffer) => A)(new SharedArrayBuffer(a.byteLength));
      s.set(a);
      return s;
    };
    const shared = {
      rewards: Tensor.from(share(c.rewardData as Float32Array), [N, K]),
      latents: (c.latentData as Uint16Array[]).map((s) => Tensor.from(share(s), [N, D], 'bfloat16')),
      groupSize: G,
    };
    const expected = otcaAdvantages(c.input, { outputs: 'all' });
    for (const got of [otcaAdvantages(shared, { outputs: 'all' }), await otcaAdvantagesAsync(shared, { outputs: 'all' })]) {
      for (const f of ALL_FIELDS) expectBitEqual(dataOf(got, f), dataOf(expected, f), f);
    }
  });
  it('TypedArrays made in a vm context are taken for what they are', () => {
    const c = makeCase({ seed: SEED, N, G, T, D, K });
    const foreign = runInNewContext(`new Float32Array(${N * (T + 1) * D})`) as Float32Array;
    foreign.set(c.latentData[0] as Float32Array);
    const foreignRewards = runInNewContext(`new Float32Array(${N * K})`) as Float32Array;
    foreignRewards.set(c.rewardData);
    const out = otcaAdvantages({ rewards: Tensor.from(foreignRewards, [N, K]), latents: Tensor.from(foreign, [N, T + 1, D]), groupSize: G });
    expectBitEqual(out.advantages.data, otcaAdvantages(c.input).advantages.data, 'advantages');
    const weights = runInNewContext('new Float64Array([1, 2])') as Float64Array;
    expect(otcaAdvantages(c.input, { objective: 'weighted-advantage', objectiveWeights: weights }).advantages.shape).toEqual([N, T]);
    const q = runInNewContext('new Float32Array([0.1, 0.2, 0.3, 0.4])') as Float32Array;
    expect(objectiveCredit({ rewards: c.input.rewards, trajectoryScore: q, groupSize: G }).fused.shape).toEqual([N]);
  });
});

describe('sizes and thread counts', () => {
  it('Tensor.empty past a TypedArray\'s length is a RangeError naming the shape', () => {
    expect(() => Tensor.empty([2 ** 30, 2 ** 30])).toThrow(
      new RangeError('Expected a shape of at most 4294967296 elements (one TypedArray) for shape but received [1073741824, 1073741824] (1152921504606847000 elements)'),
    );
  });
  it.runIf(process.platform === 'linux')('threads: 4096 is accepted and runs on at most the hardware threads (no parked extras)', () => {
    const c = makeCase({ seed: SEED, N: 8, G: 4, T: 8, D: 40_000, K: 2, kind: 'random' });
    const expected = otcaAdvantages(c.input, { threads: 1 });
    const before = readdirSync('/proc/self/task').length;
    const out = otcaAdvantages(c.input, { threads: 4096 });
    const after = readdirSync('/proc/self/task').length;
    expectBitEqual(out.advantages.data, expected.advantages.data, 'advantages');
    expect(after - before).toBeLessThanOrEqual(availableParallelism());
  });
});

describe('encode helper sanity (inputs above use it)', () => {
  it('bfloat16 of 1e-40 is a subnormal, not 0', () => {
    expect(encode(new Float32Array([1e-40]), 'bfloat16')[0]).not.toBe(0);
  });
});
