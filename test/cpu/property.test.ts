// Property tests: random shapes within limits and random options, native == reference.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { otcaAdvantages } from '../../lib/index.js';
import { referenceAdvantages, type ReferenceOptions } from '../../lib/reference.js';
import { expectMatchesReference, makeCase } from '../helpers/cases.js';
import { TEST_SEED } from '../helpers/seed.js';

const options = fc.record(
  {
    temporal: fc.constantFrom('tcd', 'uniform'),
    objective: fc.constantFrom('moca', 'min-norm', 'weighted-advantage', 'weighted-reward'),
    minWeight: fc.double({ min: 0, max: 1, noNaN: true }),
    weightScale: fc.constantFrom('mean', 'sum'),
    stdCorrection: fc.constantFrom(0, 1),
    stdScope: fc.constantFrom('group', 'batch'),
    advClip: fc.constantFrom(5, 1, 0.3, Infinity),
    explorationSignal: fc.constantFrom('absolute', 'centered'),
    epsMoca: fc.constantFrom(1e-6, 1e-3),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<ReferenceOptions>;

const shape = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  G: fc.integer({ min: 1, max: 5 }),
  T: fc.integer({ min: 1, max: 10 }),
  D: fc.integer({ min: 2, max: 300 }),
  K: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  layout: fc.constantFrom('stacked' as const, 'list' as const),
  latentDtype: fc.constantFrom('float32' as const, 'float32' as const, 'bfloat16' as const, 'float16' as const),
  rewardDtype: fc.constantFrom('float32' as const, 'float64' as const),
  kind: fc.constantFrom('realistic' as const, 'random' as const),
  weights: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 5, maxLength: 5 }),
});

describe('property: native == reference', () => {
  it('random shapes, dtypes, layouts and options', () => {
    fc.assert(
      fc.property(shape, options, (s, o) => {
        const N = s.B * s.G;
        const c = makeCase({ seed: s.seed, N, G: s.G, T: s.T, D: s.D, K: s.K, layout: s.layout, latentDtype: s.latentDtype, rewardDtype: s.rewardDtype, kind: s.kind });
        const opts: ReferenceOptions = { ...o };
        if (o.objective?.startsWith('weighted')) opts.objectiveWeights = s.weights.slice(0, s.K);
        const out = otcaAdvantages(c.input, { ...opts, outputs: 'all' } as never);
        const ref = referenceAdvantages(c.ref, opts);
        const tol = s.latentDtype === 'float32' ? 1e-5 : 1e-3;
        expectMatchesReference(out, ref, c, opts, tol, 'property');
      }),
      { numRuns: 300, seed: TEST_SEED },
    );
  });
});
