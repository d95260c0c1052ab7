// otcaAdvantagesAsync: same numbers as the sync call, the event loop stays free on a 200 MB batch,
// concurrent calls are independent, and the inputs stay alive while the work runs.
import { describe, expect, it } from 'vitest';
import {
  createAdvantageStep,
  objectiveCreditAsync,
  otcaAdvantages,
  otcaAdvantagesAsync,
  Tensor,
  trajectoryCreditAsync,
} from '../../lib/index.js';
import { otcaAdvantagesTf } from '../../lib/tfjs.js';
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

  it('a 200 MB batch leaves the event loop free (it keeps turning while the calls run)', { timeout: 120_000 }, async () => {
    // N = 12, T = 16, D = 245,760 float32: 12 * 17 * 245760 * 4 B = 200.5 MB
    const [N, T, D, K] = [12, 16, 245_760, 3];
    const latents = Tensor.from(fill(new Float32Array(N * (T + 1) * D), SEED + 1), [N, T + 1, D]);
    const rewards = Tensor.from(fill(new Float32Array(N * K), SEED + 2), [N, K]);
    const input = { rewards, latents, groupSize: 12 };
    let results: Awaited<ReturnType<typeof otcaAdvantagesAsync>>[] = [];
    // One call reads the 200 MB in about 5 ms on this project's machine: a single main-thread pause
    // that long (a major GC after the 200 MB fill, a loaded machine) could hide every turn. Eight
    // concurrent calls keep the thread pool busy for tens of ms, and the fill's garbage is collected
    // first. A call that blocked would still give 0: each would finish before the loop turned once.
    gc!();
    const turns = await loopTurnsDuring(async () => {
      results = await Promise.all(Array.from({ length: 8 }, () => otcaAdvantagesAsync(input, { outputs: 'all' })));
    });
    expect(turns, `event-loop turns while the calls ran`).toBeGreaterThan(10);
    const sync = otcaAdvantages(input, { outputs: 'all' });
    for (const result of results) for (const f of ALL_FIELDS) expectBitEqual(dataOf(result, f), dataOf(sync, f), f);
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

describe('the results and errors of async calls', () => {
  const [N, G, T, D, K] = [4, 2, 3, 8, 2];
  const latentsOf = (data = fill(new Float32Array(N * (T + 1) * D), 21)) => Tensor.from(data, [N, T + 1, D]);
  const rewards = () => Tensor.from(fill(new Float32Array(N * K), 22), [N, K]);
  const q = () => fill(new Float32Array(N), 23, 0.5);
  /** Whether postMessage with `array.buffer` in the transfer list moves it (the sender's view is then empty). */
  const moves = (array: Float32Array): boolean => {
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(array, [array.buffer as ArrayBuffer]);
    } catch {
      // Node >= 21 refuses to transfer a buffer marked untransferable
    } finally {
      port1.close();
      port2.close();
    }
    return array.buffer.byteLength === 0;
  };

  it("fresh result arrays are the caller's: postMessage moves them, as it moves a sync call's", async () => {
    const step = createAdvantageStep({ device: 'cpu', outputs: 'all' });
    const input = { rewards: rewards(), latents: latentsOf(), groupSize: G };
    const results: [string, Record<string, unknown>][] = [
      ['run', step.run(input)],
      ['runAsync', await step.runAsync(input)],
      ['otcaAdvantagesAsync', await otcaAdvantagesAsync(input)],
      ['trajectoryCreditAsync', await trajectoryCreditAsync({ latents: latentsOf() })],
      ['objectiveCreditAsync', await objectiveCreditAsync({ rewards: rewards(), trajectoryScore: q(), groupSize: G })],
    ];
    for (const [name, result] of results) {
      for (const [field, t] of Object.entries(result)) {
        if (field === 'backend') continue;
        expect(`${name}.${field} moved: ${moves((t as Tensor<'float32'>).data)}`).toBe(`${name}.${field} moved: true`);
      }
    }
  });

  it("the caller's own arrays stay guarded: inputs, and output tensors the caller passed in", async () => {
    const step = createAdvantageStep({ device: 'cpu' });
    const z = fill(new Float32Array(N * (T + 1) * D), 24);
    const out = Tensor.from(new Float32Array(N * T), [N, T]);
    const result = await step.runAsync({ rewards: rewards(), latents: latentsOf(z), groupSize: G }, { advantages: out });
    expect(result.advantages).toBe(out);
    expect(moves(z)).toBe(false);
    expect(moves(out.data)).toBe(false);
  });

  it('every validation error of an async call rejects its promise, never throws (a resizable buffer among them)', async () => {
    const resizable = () => {
      const ab = new ArrayBuffer(N * (T + 1) * D * 4, { maxByteLength: 2 * N * (T + 1) * D * 4 });
      return latentsOf(fill(new Float32Array(ab), 25));
    };
    const resizableQ = () => {
      const ab = new ArrayBuffer(N * 4, { maxByteLength: 8 * N });
      return fill(new Float32Array(ab), 26, 0.5);
    };
    const step = createAdvantageStep({ device: 'cpu' });
    const resizableOut = () => Tensor.from(new Float32Array(new ArrayBuffer(N * T * 4, { maxByteLength: 8 * N * T })), [N, T]);
    const calls: [string, () => Promise<unknown>, RegExp][] = [
      ['otcaAdvantagesAsync, resizable latents', () => otcaAdvantagesAsync({ rewards: rewards(), latents: resizable(), groupSize: G }), /for latents but received a view of a resizable ArrayBuffer$/],
      ['runAsync, resizable latents', () => step.runAsync({ rewards: rewards(), latents: resizable(), groupSize: G }), /for latents but received a view of a resizable ArrayBuffer$/],
      ['runAsync, resizable output', () => step.runAsync({ rewards: rewards(), latents: latentsOf(), groupSize: G }, { advantages: resizableOut() }), /for outputs.advantages but received a view of a resizable ArrayBuffer$/],
      ['trajectoryCreditAsync, resizable latents', () => trajectoryCreditAsync({ latents: resizable() }), /for latents but received a view of a resizable ArrayBuffer$/],
      ['trajectoryAsync, resizable latents', () => step.trajectoryAsync({ latents: resizable() }), /for latents but received a view of a resizable ArrayBuffer$/],
      ['objectiveCreditAsync, resizable q', () => objectiveCreditAsync({ rewards: rewards(), trajectoryScore: resizableQ(), groupSize: G }), /for trajectoryScore but received a view of a resizable ArrayBuffer$/],
      ['objectiveAsync, resizable q', () => step.objectiveAsync({ rewards: rewards(), trajectoryScore: resizableQ(), groupSize: G }), /for trajectoryScore but received a view of a resizable ArrayBuffer$/],
      ['otcaAdvantagesAsync, bad options', () => otcaAdvantagesAsync({ rewards: rewards(), latents: latentsOf(), groupSize: G }, 7 as never), /for options but received 7$/],
      ['otcaAdvantagesAsync, bad inputs', () => otcaAdvantagesAsync(null as never), /for inputs but received null$/],
      ['trajectoryCreditAsync, bad options', () => trajectoryCreditAsync({ latents: latentsOf() }, { minWeight: 2 }), /for minWeight but received 2$/],
      ['objectiveCreditAsync, bad groups', () => objectiveCreditAsync({ rewards: rewards(), trajectoryScore: q(), groupSize: 3 }), /for groupSize but received 3$/],
      ['otcaAdvantagesTf, bad inputs', () => otcaAdvantagesTf(null as never), /for inputs but received null$/],
      ['otcaAdvantagesTf, bad options', () => otcaAdvantagesTf({} as never, 'x' as never), /for options but received "x"$/],
    ];
    for (const [name, call, message] of calls) {
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = call()), name).not.toThrow();
      expect(pending, name).toBeInstanceOf(Promise);
      await expect(pending, name).rejects.toThrow(message);
    }
  });
});
