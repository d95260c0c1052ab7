// Bit-identical outputs whatever the thread count (fixed reduction order over chunks of D).
import { describe, it } from 'vitest';
import { otcaAdvantages } from '../../lib/index.js';
import { ALL_FIELDS, dataOf, makeCase } from '../helpers/cases.js';
import { expectBitEqual } from '../helpers/compare.js';

import { TEST_SEED as SEED } from '../helpers/seed.js';

describe('determinism across thread counts', () => {
  for (const latentDtype of ['float32', 'bfloat16'] as const)
    for (const layout of ['stacked', 'list'] as const)
      it(`${latentDtype} ${layout}: threads 1, 2, 8 give the same bits (N=4, T=4, D=100000)`, () => {
        const c = makeCase({ seed: SEED, N: 4, G: 2, T: 4, D: 100_000, K: 3, latentDtype, layout, kind: 'random' });
        const base = otcaAdvantages(c.input, { outputs: 'all', threads: 1 });
        for (const threads of [2, 8, 3, undefined]) {
          const out = otcaAdvantages(c.input, { outputs: 'all', threads });
          for (const f of ALL_FIELDS) expectBitEqual(dataOf(out, f), dataOf(base, f), `threads ${threads} ${f}`);
        }
        // and repeated calls
        const again = otcaAdvantages(c.input, { outputs: 'all', threads: 8 });
        for (const f of ALL_FIELDS) expectBitEqual(dataOf(again, f), dataOf(base, f), `repeat ${f}`);
      });
});
