// The options beyond the paper that act on the fused advantage f and on the stds
// (docs/algorithm.md, "Beyond the paper"): fusedNormalization ('group' / 'batch': f standardised
// after the fusion), stdStabilizer ('floor': max(std, epsAdv) instead of std + epsAdv) and fusedClip
// (a clip of the final f). On the CPU backend, against the float64 reference, through every path
// (one call, the plan, the two phases with combineCredit, sync and async), with contiguous groups
// and with scattered groups of unequal sizes (groupIds); and the old options' bits unchanged.
import { describe, expect, it } from 'vitest';
import {
  combineCredit,
  createAdvantageStep,
  objectiveCredit,
  objectiveCreditAsync,
  otcaAdvantages,
  otcaAdvantagesAsync,
  Tensor,
  trajectoryCredit,
  type OtcaOptions,
} from '../../lib/index.js';
import { referenceAdvantages, referenceObjectiveCredit } from '../../lib/reference.js';
import { expectBitEqual, expectClose } from '../helpers/compare.js';
import { rewards as randomRewards, rng, trajectories } from '../helpers/random.js';
import { TEST_SEED as SEED } from '../helpers/seed.js';

const T = 5;
const D = 48;
const OBJECTIVE = ['objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'] as const;

/** Scattered groups of unequal sizes (1 to 4), shuffled: what a trainer's prompt ids look like. */
function scatteredIds(seed: number, N: number): Int32Array {
  const ids: number[] = [];
  for (let g = 0, size = 1; ids.length < N; g++, size = (size % 4) + 1) for (let m = 0; m < size && ids.length < N; m++) ids.push(g);
  const rand = rng(seed);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return Int32Array.from(ids);
}

function caseOf(seed: number, N: number, K: number) {
  const flat = trajectories(seed, N, T, D);
  const r = randomRewards(seed + 1, N, K) as Float32Array;
  return { flat, r, latents: Tensor.from(flat, [N, T + 1, D]), rewards: Tensor.from(r, [N, K]) };
}

const MODES: [string, OtcaOptions][] = [
  ["fusedNormalization 'batch' (moca)", { fusedNormalization: 'batch' }],
  ["fusedNormalization 'group', floor 1e-3", { fusedNormalization: 'group', stdStabilizer: 'floor', epsAdv: 1e-3 }],
  ["weighted-advantage, 'batch', floor, fusedClip 1", { objective: 'weighted-advantage', fusedNormalization: 'batch', stdStabilizer: 'floor', epsAdv: 1e-6, fusedClip: 1 }],
  ['weighted-reward, batch std, fusedClip 0.5', { objective: 'weighted-reward', stdScope: 'batch', fusedClip: 0.5 }],
  ["min-norm, 'group', population std, fusedClip 2", { objective: 'min-norm', fusedNormalization: 'group', stdCorrection: 0, fusedClip: 2 }],
];

describe(`fusedNormalization, stdStabilizer and fusedClip on the CPU backend against the reference (seed ${SEED})`, () => {
  MODES.forEach(([name, options], m) => {
    for (const K of [1, 3]) {
      for (const grouping of ['groupSize', 'groupIds'] as const) {
        it(`${name}, K = ${K}, ${grouping}`, async () => {
          const N = grouping === 'groupSize' ? 12 : 13;
          const c = caseOf(SEED + 10 * m + K, N, K);
          const groups = grouping === 'groupSize' ? { groupSize: 4 } : { groupIds: scatteredIds(SEED + m, N) };
          const inputs = { rewards: c.rewards, latents: c.latents, ...groups };
          const out = otcaAdvantages(inputs, { ...options, device: 'cpu', outputs: 'all' });

          // phase 2 against the reference on the same float32 q: every objective field, f included
          const ref2 = referenceObjectiveCredit({ rewards: c.r, trajectoryScore: out.trajectoryScore.data, K, ...groups }, options);
          for (const f of OBJECTIVE) expectClose(out[f].data, ref2[f], 1e-6, `${name} ${f}`);
          // the whole step against the reference; f does not depend on q outside MOCA
          if (options.objective === 'weighted-advantage' || options.objective === 'weighted-reward') {
            const ref = referenceAdvantages({ rewards: c.r, K, latents: c.flat, N, T, D, ...groups }, options);
            expectClose(out.fused.data, ref.fused, 1e-6, `${name} fused (whole step)`);
            expectClose(out.advantages.data, ref.advantages, 1e-5, `${name} advantages (whole step)`);
          }

          // the plan, the two phases with combineCredit, and the async calls: the same bits
          const step = createAdvantageStep({ ...options, device: 'cpu', outputs: 'all' });
          const planned = step.run(inputs);
          for (const f of ['advantages', ...OBJECTIVE] as const) expectBitEqual(planned[f].data, out[f].data, `${name}: plan ${f}`);
          step.dispose();
          const p1 = trajectoryCredit({ latents: c.latents }, { ...options, device: 'cpu' });
          const p2 = objectiveCredit({ rewards: c.rewards, trajectoryScore: p1.trajectoryScore, ...groups }, { ...options, device: 'cpu' });
          for (const f of OBJECTIVE) expectBitEqual(p2[f].data, out[f].data, `${name}: phase 2 ${f}`);
          expectBitEqual(combineCredit(p1, p2).data, out.advantages.data, `${name}: combineCredit`);
          const outAsync = await otcaAdvantagesAsync(inputs, { ...options, device: 'cpu', outputs: 'all' });
          for (const f of ['advantages', ...OBJECTIVE] as const) expectBitEqual(outAsync[f].data, out[f].data, `${name}: async ${f}`);
          const p2Async = await objectiveCreditAsync({ rewards: c.rewards, trajectoryScore: p1.trajectoryScore, ...groups }, { ...options, device: 'cpu' });
          expectBitEqual(p2Async.fused.data, out.fused.data, `${name}: phase 2 async fused`);

          // what each option promises of the final f
          const f = Float64Array.from(out.fused.data);
          const clipAt = options.fusedClip ?? Infinity;
          expect(Math.max(...f.map(Math.abs))).toBeLessThanOrEqual(clipAt);
          if (options.fusedNormalization !== undefined && clipAt === Infinity) {
            const sets = options.fusedNormalization === 'batch' ? [Array.from({ length: N }, (_, i) => i)] : groupLists(groups, N);
            for (const members of sets) {
              const mean = members.reduce((s, i) => s + f[i]!, 0) / members.length;
              expect(Math.abs(mean)).toBeLessThan(1e-6);
            }
          }
        });
      }
    }
  });
});

function groupLists(groups: { groupSize: number } | { groupIds: Int32Array }, N: number): number[][] {
  const byId = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const id = 'groupSize' in groups ? Math.floor(i / groups.groupSize) : groups.groupIds[i]!;
    byId.set(id, [...(byId.get(id) ?? []), i]);
  }
  return [...byId.values()];
}

describe('the new options, one at a time', () => {
  const c = caseOf(SEED + 500, 12, 3);
  const inputs = { rewards: c.rewards, latents: c.latents, groupSize: 4 };
  const run = (o: OtcaOptions) => otcaAdvantages(inputs, { ...o, device: 'cpu', outputs: 'all' });

  it("their defaults are the old behaviour, bit for bit ('none', 'add', Infinity)", () => {
    const old = run({});
    const explicit = run({ fusedNormalization: 'none', stdStabilizer: 'add', fusedClip: Infinity });
    for (const f of ['advantages', ...OBJECTIVE] as const) expectBitEqual(explicit[f].data, old[f].data, f);
    expect(createAdvantageStep().options).toMatchObject({ fusedNormalization: 'none', stdStabilizer: 'add', fusedClip: Infinity });
  });

  it("'batch' gives f mean 0 and (Bessel) std 1 over the batch; 'group' mean 0 in every group; A is unchanged", () => {
    const plain = run({ objective: 'weighted-advantage' });
    const batch = run({ objective: 'weighted-advantage', fusedNormalization: 'batch' });
    const group = run({ objective: 'weighted-advantage', fusedNormalization: 'group' });
    expectBitEqual(batch.objectiveAdvantages.data, plain.objectiveAdvantages.data, 'A');
    const f = Array.from(batch.fused.data);
    const mean = f.reduce((s, x) => s + x, 0) / f.length;
    const std = Math.sqrt(f.reduce((s, x) => s + (x - mean) ** 2, 0) / (f.length - 1));
    expect(Math.abs(mean)).toBeLessThan(1e-6);
    expect(std).toBeCloseTo(1, 5);
    for (let g = 0; g < 3; g++) {
      const members = Array.from(group.fused.data.subarray(4 * g, 4 * g + 4));
      expect(Math.abs(members.reduce((s, x) => s + x, 0))).toBeLessThan(1e-6);
    }
    // the fused normalisation acts after the fusion: plain f standardised
    const pf = Array.from(plain.fused.data);
    expect(Math.max(...pf.map(Math.abs))).not.toBeCloseTo(Math.max(...f.map(Math.abs)), 2);
  });

  it("'floor' divides tied rewards by epsAdv where the std is below it, and by the std elsewhere", () => {
    // group 0: two values 1e-4 apart (std ~ 5.8e-5 < epsAdv); group 1: spread 1 (std > epsAdv)
    const r = Float32Array.from([0.5, 0.5, 0.5, 0.5001, 0, 1, 2, 3]);
    const N = 8;
    const lat = caseOf(SEED + 501, N, 1).latents;
    const o = { objective: 'weighted-advantage', advClip: Infinity, epsAdv: 1e-3, device: 'cpu', outputs: ['fused'] } as const;
    const floor = otcaAdvantages({ rewards: Tensor.from(r, [N, 1]), latents: lat, groupSize: 4 }, { ...o, stdStabilizer: 'floor' }).fused.data;
    const add = otcaAdvantages({ rewards: Tensor.from(r, [N, 1]), latents: lat, groupSize: 4 }, { ...o, stdStabilizer: 'add' }).fused.data;
    const mean0 = (3 * 0.5 + Math.fround(0.5001)) / 4;
    expect(floor[3]).toBeCloseTo((Math.fround(0.5001) - mean0) / 1e-3, 4);  // the floor binds
    const std1 = Math.sqrt(5 / 3);
    expect(floor[7]).toBeCloseTo((3 - 1.5) / std1, 6);  // it does not
    expect(add[7]).toBeCloseTo((3 - 1.5) / (std1 + 1e-3), 6);
    const ref = referenceObjectiveCredit({ rewards: r, trajectoryScore: new Float64Array(N), groupSize: 4, K: 1 }, { ...o, stdStabilizer: 'floor' });
    expectClose(floor, ref.fused, 1e-6, 'floor vs reference');
  });

  it('fusedClip clips the final f, after the normalisation; advClip clips each A before the fusion', () => {
    const o = { objective: 'weighted-advantage', objectiveWeights: [2, 2, 2] } as const;
    const plain = run(o);
    const clipped = run({ ...o, fusedClip: 0.75 });
    expect(Math.max(...Array.from(plain.fused.data, Math.abs))).toBeGreaterThan(0.75);
    plain.fused.data.forEach((x, i) => expect(clipped.fused.data[i]).toBe(Math.max(-0.75, Math.min(0.75, x))));
    expectBitEqual(clipped.objectiveAdvantages.data, plain.objectiveAdvantages.data, 'A untouched by fusedClip');
    const both = run({ ...o, fusedNormalization: 'batch', fusedClip: 0.75 });
    const normalised = run({ ...o, fusedNormalization: 'batch' });
    normalised.fused.data.forEach((x, i) => expect(both.fused.data[i]).toBe(Math.max(-0.75, Math.min(0.75, x))));
  });

  it('bad values are typed errors naming the option', () => {
    expect(() => run({ fusedClip: 0 })).toThrow(new RangeError('Expected number in (0, Infinity] for fusedClip but received 0'));
    expect(() => run({ fusedClip: Number.NaN })).toThrow(RangeError);
    expect(() => run({ fusedNormalization: 'sample' as never })).toThrow(/Expected one of 'none', 'group', 'batch' for fusedNormalization but received/);
    expect(() => run({ stdStabilizer: 'max' as never })).toThrow(/Expected one of 'add', 'floor' for stdStabilizer/);
  });
});
