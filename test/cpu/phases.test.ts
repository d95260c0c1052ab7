// trajectoryCredit -> objectiveCredit -> Adv = float32(w) * float32(f) equals otcaAdvantages bit for bit.
import { describe, expect, it } from 'vitest';
import { objectiveCredit, otcaAdvantages, trajectoryCredit } from '../../lib/index.js';
import { dataOf, makeCase, OBJECTIVE_FIELDS, TRAJECTORY_FIELDS, type CaseSpec } from '../helpers/cases.js';
import { expectBitEqual } from '../helpers/compare.js';

import { TEST_SEED as SEED } from '../helpers/seed.js';

const cases: [string, CaseSpec, Record<string, unknown>][] = [
  ['defaults, fp32 stacked', { seed: SEED, N: 8, G: 4, T: 6, D: 200, K: 3 }, {}],
  ['bf16 list, centered, batch std', { seed: SEED + 1, N: 6, G: 3, T: 5, D: 130, K: 2, layout: 'list', latentDtype: 'bfloat16' },
    { explorationSignal: 'centered', stdScope: 'batch' }],
  ['fp16, min-norm, uniform, sum', { seed: SEED + 2, N: 4, G: 2, T: 3, D: 64, K: 4, latentDtype: 'float16', rewardDtype: 'float64' },
    { objective: 'min-norm', temporal: 'uniform', weightScale: 'sum' }],
  ['weighted-reward, population std', { seed: SEED + 3, N: 6, G: 6, T: 4, D: 50, K: 3 },
    { objective: 'weighted-reward', objectiveWeights: [1, 2, 0.5], stdCorrection: 0 }],
  ['weighted-advantage, minWeight 0', { seed: SEED + 4, N: 4, G: 2, T: 7, D: 33, K: 2 },
    { objective: 'weighted-advantage', objectiveWeights: [0.3, 0.7], minWeight: 0 }],
  ['K = 1, T = 1, G = 1', { seed: SEED + 5, N: 3, G: 1, T: 1, D: 16, K: 1 }, {}],
];

describe('two phases equal the one-call API bit for bit', () => {
  for (const [name, spec, options] of cases)
    it(name, () => {
      const c = makeCase(spec);
      const all = otcaAdvantages(c.input, { ...options, outputs: 'all' } as never);
      const p1 = trajectoryCredit({ latents: c.input.latents }, options as never);
      for (const f of TRAJECTORY_FIELDS) expectBitEqual(dataOf(p1, f), dataOf(all, f), `phase 1 ${f}`);
      const p2 = objectiveCredit(
        { rewards: c.input.rewards, trajectoryScore: p1.trajectoryScore!, groupSize: spec.G },
        options as never,
      );
      for (const f of OBJECTIVE_FIELDS) expectBitEqual(dataOf(p2, f), dataOf(all, f), `phase 2 ${f}`);
      const { N, T } = c.spec;
      const w = dataOf(p1, 'stepWeights');
      const f = dataOf(p2, 'fused');
      const adv = new Float32Array(N * T);
      for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) adv[i * T + t] = Math.fround(w[i * T + t]! * f[i]!);
      expectBitEqual(adv, dataOf(all, 'advantages'), 'advantages');
      // and 'advantages' alone (the default output) is the same numbers
      expectBitEqual(otcaAdvantages(c.input, options as never).advantages.data, adv, 'default outputs');
    });

  it('objectiveCredit takes q from another process (a plain Float32Array tensor) the same way', async () => {
    const { Tensor } = await import('../../lib/index.js');
    const c = makeCase({ seed: SEED + 9, N: 8, G: 4, T: 4, D: 64, K: 2 });
    const all = otcaAdvantages(c.input, { outputs: 'all' });
    const q = Float32Array.from(dataOf(all, 'trajectoryScore')); // e.g. gathered over NCCL
    const p2 = objectiveCredit({ rewards: c.input.rewards, trajectoryScore: Tensor.from(q, [8]), groupSize: 4 });
    expectBitEqual(dataOf(p2, 'fused'), dataOf(all, 'fused'), 'fused');
    expect(p2.backend).toBe('cpu');
  });
});
