// otcaAdvantagesAsync: same numbers as the sync call, the event loop stays free on a 200 MB batch,
// concurrent calls are independent, and the inputs stay alive while the work runs.
import { describe, expect, it } from 'vitest';
import { otcaAdvantages, otcaAdvantagesAsync, Tensor } from '../../lib/index.js';
import { ALL_FIELDS, dataOf, makeCase } from '../helpers/cases.js';
import { expectBitEqual } from '../helpers/compare.js';

import { TEST_SEED as SEED } from '../helpers/seed.js';
const gc = (globalThis as { gc?: () => void }).gc;

/** A cheap deterministic fill (xorshift), for inputs too large for the Gaussian generator. */
function fill(a: Float32Array, seed: number, scale = 1): Float32Array {
  let x = seed | 1;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = ((x >>> 0) / 4294967296 - 0.5) * scale;
  }
  return a;
}

/**
 * How many turns the event loop took while `work` was pending: a setImmediate chain runs once per
 * turn. A call that blocked the loop gets none; one that runs off it gets a turn per loop iteration
 * however loaded the machine is (no timer resolution or latency in the measure).
 */
async function loopTurnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const spin = (): void => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await new Promise((r) => setImmediate(r));
  const before = turns;
  try {
    await work();
  } finally {
    running = false;
  }
  return turns - before;
}

describe('otcaAdvantagesAsync', () => {
  it('equals the sync result bit for bit (all outputs, both layouts, bf16)', async () => {
    for (const [layout, latentDtype] of [['stacked', 'float32'], ['list', 'bfloat16']] as const) {
      const c = makeCase({ seed: SEED, N: 8, G: 4, T: 6, D: 500, K: 3, layout, latentDtype });
      const sync = otcaAdvantages(c.input, { outputs: 'all' });
      const asyncOut = await otcaAdvantagesAsync(c.input, { outputs: 'all' });
      expect(asyncOut.backend).toBe('cpu');
      for (const f of ALL_FIELDS) expectBitEqual(dataOf(asyncOut, f), dataOf(sync, f), `${layout} ${f}`);
    }
  });

  it('a 200 MB batch leaves the event loop free (it keeps turning while the call runs)', { timeout: 120_000 }, async () => {
    // N = 12, T = 16, D = 245,760 float32: 12 * 17 * 245760 * 4 B = 200.5 MB
    const [N, T, D, K] = [12, 16, 245_760, 3];
    const latents = Tensor.from(fill(new Float32Array(N * (T + 1) * D), SEED + 1), [N, T + 1, D]);
    const rewards = Tensor.from(fill(new Float32Array(N * K), SEED + 2), [N, K]);
    const input = { rewards, latents, groupSize: 12 };
    let result: Awaited<ReturnType<typeof otcaAdvantagesAsync>> | undefined;
    const turns = await loopTurnsDuring(async () => {
      result = await otcaAdvantagesAsync(input, { outputs: 'all' });
    });
    // a blocking call would give 0; reading 200 MB takes tens of ms, thousands of turns here
    expect(turns, `event-loop turns while the call ran`).toBeGreaterThan(10);
    const sync = otcaAdvantages(input, { outputs: 'all' });
    for (const f of ALL_FIELDS) expectBitEqual(dataOf(result, f), dataOf(sync, f), f);
  });

  it('several concurrent calls each get their own correct result', async () => {
    const cases = Array.from({ length: 8 }, (_, m) =>
      makeCase({ seed: SEED + 10 * m, N: 2 * (1 + (m % 3)), G: 2, T: 2 + m, D: 300 + 97 * m, K: 1 + (m % 3), layout: m % 2 ? 'list' : 'stacked' }),
    );
    const expected = cases.map((c) => otcaAdvantages(c.input, { outputs: 'all', threads: 1 }));
    const got = await Promise.all(cases.map((c, m) => otcaAdvantagesAsync(c.input, { outputs: 'all', threads: m % 3 })));
    got.forEach((g, m) => {
      for (const f of ALL_FIELDS) expectBitEqual(dataOf(g, f), dataOf(expected[m], f), `call ${m} ${f}`);
    });
  });

  it('keeps its input buffers alive when the caller drops them (gc during the work)', async () => {
    expect(gc, 'run with --expose-gc (vitest.config.ts execArgv)').toBeTypeOf('function');
    const spec = { seed: SEED + 5, N: 8, G: 4, T: 8, D: 40_000, K: 2, layout: 'list' as const };
    const expected = otcaAdvantages(makeCase(spec).input, { outputs: 'all' });
    // The only references to the arrays and tensors live in this closure's temporaries.
    const pending = (() => otcaAdvantagesAsync(makeCase(spec).input, { outputs: 'all' }))();
    for (let m = 0; m < 5; m++) {
      gc!();
      // churn memory so that a freed backing store would be reused
      fill(new Float32Array(1 << 20), m);
      await new Promise((r) => setImmediate(r));
    }
    const got = await pending;
    for (const f of ALL_FIELDS) expectBitEqual(dataOf(got, f), dataOf(expected, f), f);
  });
});
