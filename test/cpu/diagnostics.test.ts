// Hand-made dS / dR with known Table-5 metrics.
import { describe, expect, it } from 'vitest';
import { creditDiagnostics, PAPER_CREDIT_DIAGNOSTICS } from '../../lib/diagnostics.js';
import { encode } from '../helpers/encode.js';
import { gaussian, rng } from '../helpers/random.js';

const one = (dS: number[], dR: number[]) => {
  const d = creditDiagnostics(dS, dR);
  return {
    pearson: d.perSample.pearson[0]!,
    spearman: d.perSample.spearman[0]!,
    pairwise: d.perSample.pairwise[0]!,
    recall3: d.perSample.recall3[0]!,
    recall5: d.perSample.recall5[0]!,
    argmaxDistance: d.perSample.argmaxDistance[0]!,
  };
};

describe('creditDiagnostics', () => {
  it('perfect agreement: all metrics 1, distance 0 (recall5 uses k = T = 4)', () => {
    const m = one([1, 2, 3, 4], [2, 4, 6, 8]);
    expect(m.pearson).toBeCloseTo(1, 14);
    expect(m.spearman).toBeCloseTo(1, 14);
    expect(m).toMatchObject({ pairwise: 1, recall3: 1, recall5: 1, argmaxDistance: 0 });
  });

  it('reversed order: -1, 0 pairs, recall3 = |{0,1,2} & {1,2,3}| / 3 = 2/3, distance 3', () => {
    const m = one([1, 2, 3, 4], [4, 3, 2, 1]);
    expect(m.pearson).toBeCloseTo(-1, 14);
    expect(m.spearman).toBeCloseTo(-1, 14);
    expect(m.pairwise).toBe(0);
    expect(m.recall3).toBeCloseTo(2 / 3, 14);
    expect(m.recall5).toBe(1);
    expect(m.argmaxDistance).toBe(3);
  });

  it('ties: average ranks, a tie counts as disagreement, lower index wins top-k', () => {
    // dS = [1, 1, 2, 3], dR = [1, 2, 3, 4]
    // Pearson: dx = [-.75, -.75, .25, 1.25], dy = [-1.5, -.5, .5, 1.5]: 3.5 / sqrt(2.75 * 5) = .9438798
    // Spearman: ranks [1.5, 1.5, 3, 4] vs [1, 2, 3, 4]: 4.5 / sqrt(4.5 * 5) = .9486833
    // pairwise: 6 pairs, (0, 1) tied in dS -> 5/6
    // recall3: top3 dS = {3, 2, 0} (index 0 beats index 1), top3 dR = {3, 2, 1} -> 2/3
    const m = one([1, 1, 2, 3], [1, 2, 3, 4]);
    expect(m.pearson).toBeCloseTo(0.9438798, 7);
    expect(m.spearman).toBeCloseTo(0.9486833, 7);
    expect(m.pairwise).toBeCloseTo(5 / 6, 14);
    expect(m.recall3).toBeCloseTo(2 / 3, 14);
    expect(m.argmaxDistance).toBe(0);
  });

  it('zero variance gives Pearson = Spearman = 0, pairwise 0, first-index argmax', () => {
    const m = one([1, 1, 1], [3, 1, 2]);
    expect(m).toMatchObject({ pearson: 0, spearman: 0, pairwise: 0, argmaxDistance: 0 });
    // recall3 with T = 3 uses k = 3: everything -> 1
    expect(m.recall3).toBe(1);
    // argmax takes the first maximum: dS -> 1, dR -> 0
    expect(one([0, 5, 5], [5, 0, 5]).argmaxDistance).toBe(1);
  });

  it('recall@5 with T = 8: top5 {0..4} vs {3..7} -> 2/5; recall@3 -> 0', () => {
    const m = one([8, 7, 6, 5, 4, 3, 2, 1], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(m.recall5).toBeCloseTo(0.4, 14);
    expect(m.recall3).toBe(0);
    expect(m.argmaxDistance).toBe(7);
  });

  it('per-sample values and their mean; the paper figures ride along', () => {
    const dS = { data: new Float32Array([1, 2, 3, 4, 1, 2, 3, 4]), shape: [2, 4] };
    const dR = { data: new Float64Array([2, 4, 6, 8, 4, 3, 2, 1]), shape: [2, 4] as const };
    const d = creditDiagnostics(dS, dR);
    expect(Array.from(d.perSample.pairwise)).toEqual([1, 0]);
    expect(Array.from(d.perSample.argmaxDistance)).toEqual([0, 3]);
    expect(d.mean.pairwise).toBe(0.5);
    expect(d.mean.argmaxDistance).toBe(1.5);
    expect(d.mean.pearson).toBeCloseTo(0, 14);
    expect(d.mean.recall3).toBeCloseTo((1 + 2 / 3) / 2, 14);
    expect(d.paper).toEqual({ pearson: 0.909, spearman: 0.838, pairwise: 0.843, recall3: 0.77, recall5: 0.892, argmaxDistance: 0.74 });
    expect(PAPER_CREDIT_DIAGNOSTICS.recall5).toBe(0.892);
  });

  it('accepts rows, one row, {data, shape} and float16/bfloat16 tensors alike', () => {
    const rows = [
      [0.1, 0.5, 0.25, 0.125],
      [0.5, 0.25, 0.125, 0.1],
    ];
    const r = [
      [1, 2, 0.5, 4],
      [0.5, 2, 1, 4],
    ];
    const a = creditDiagnostics(rows, r);
    const b = creditDiagnostics({ data: Float64Array.from(rows.flat()), shape: [2, 4] }, { data: r.flat(), shape: [2, 4] });
    expect(b).toEqual(a);
    const h = creditDiagnostics({ data: encode([0.5, 0.25, 0.125, 1], 'float16'), shape: [1, 4], dtype: 'float16' }, [1, 2, 0.5, 4]);
    const bf = creditDiagnostics({ data: encode([0.5, 0.25, 0.125, 1], 'bfloat16'), shape: [4], dtype: 'bfloat16' }, [1, 2, 0.5, 4]);
    expect(h).toEqual(creditDiagnostics([0.5, 0.25, 0.125, 1], [1, 2, 0.5, 4]));
    expect(bf).toEqual(h);
    expect(creditDiagnostics([new Float32Array([1, 2, 3])], [[3, 2, 1]]).perSample.pairwise[0]).toBe(0);
  });

  it('rejects bad input with typed, descriptive errors', () => {
    expect(() => creditDiagnostics([1, 2, 3], [1, 2])).toThrow(RangeError);
    expect(() => creditDiagnostics([1, 2, 3], [1, 2])).toThrow(/Expected shape \[1, 3\] \(that of deltaS\) for deltaR but received \[1, 2\]/);
    expect(() => creditDiagnostics([1, NaN, 3], [1, 2, 3])).toThrow(/Expected finite values for deltaS but received NaN at sample 0, step 1/);
    expect(() => creditDiagnostics([[1, 2], [3, Infinity]], [[1, 2], [3, 4]])).toThrow(/for deltaS but received Infinity at sample 1, step 1/);
    expect(() => creditDiagnostics([1], [1])).toThrow(/Expected at least 2 steps \(T >= 2\) for deltaS but received T = 1/);
    expect(() => creditDiagnostics('abc' as never, [1, 2])).toThrow(TypeError);
    expect(() => creditDiagnostics('abc' as never, [1, 2])).toThrow(/for deltaS but received string abc/);
    expect(() => creditDiagnostics([1, 2], null as never)).toThrow(/for deltaR but received null/);
    expect(() => creditDiagnostics({ data: new Float32Array(6), shape: [2, 2] }, [1, 2])).toThrow(
      /Expected 4 elements for deltaS \(shape \[2, 2\]\) but received 6/,
    );
    expect(() => creditDiagnostics({ data: new Float32Array(8), shape: [2, 2, 2] }, [1, 2])).toThrow(
      /Expected shape \[N, T\] for deltaS but received \[2, 2, 2\]/,
    );
    expect(() => creditDiagnostics({ data: new Int8Array(4), shape: [2, 2], dtype: 'int8' }, [1, 2])).toThrow(
      /Expected dtype float32, float64, float16 or bfloat16 for deltaS but received int8/,
    );
    expect(() => creditDiagnostics([[1, 2, 3], [1, 2]], [[1, 2, 3], [1, 2, 3]])).toThrow(
      /Expected rows of equal length 3 for deltaS but received 2 at sample 1/,
    );
  });
});

describe('creditDiagnostics on the public API', () => {
  it('is the package export and takes a result Tensor (deltaS) directly', async () => {
    const api = await import('../../lib/index.js');
    expect(api.creditDiagnostics).toBe(creditDiagnostics);
    const [N, T, D] = [4, 6, 64];
    const z = new Float32Array(N * (T + 1) * D).map((_, m) => Math.sin(m * 0.7) + (m % (T + 1)));
    const out = api.otcaAdvantages(
      { rewards: api.Tensor.from(new Float32Array([1, 2, 3, 4]), [N, 1]), latents: api.Tensor.from(z, [N, T + 1, D]), groupSize: 2 },
      { outputs: ['deltaS'] },
    );
    const d = api.creditDiagnostics(out.deltaS!, out.deltaS!); // dS against itself: perfect agreement
    for (const v of d.perSample.pearson) expect(v).toBeCloseTo(1, 6);
    expect(Array.from(d.perSample.argmaxDistance)).toEqual([0, 0, 0, 0]);
    expect(d.mean.recall3).toBe(1);
  });
});

// ---- The controls (std, shuffledNull, residual), against a plain float64 computation written here.

type Metrics = { pearson: number; spearman: number; pairwise: number; recall3: number; recall5: number; argmaxDistance: number };
const KEYS = ['pearson', 'spearman', 'pairwise', 'recall3', 'recall5', 'argmaxDistance'] as const;

/** The six metrics of one pair of rows, computed the plain way (no scaling, O(T^2) ranks). */
function plainMetrics(x: number[], y: number[]): Metrics {
  const T = x.length;
  const corr = (a: number[], b: number[]): number => {
    const ma = a.reduce((p, v) => p + v, 0) / T;
    const mb = b.reduce((p, v) => p + v, 0) / T;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let t = 0; t < T; t++) {
      ab += (a[t]! - ma) * (b[t]! - mb);
      aa += (a[t]! - ma) ** 2;
      bb += (b[t]! - mb) ** 2;
    }
    return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
  };
  // Average rank: 1 + (number below) + (number of ties - 1) / 2.
  const rank = (a: number[]): number[] => a.map((v) => 1 + a.filter((w) => w < v).length + (a.filter((w) => w === v).length - 1) / 2);
  let agree = 0;
  for (let t = 0; t < T; t++) for (let u = t + 1; u < T; u++) if ((x[u]! - x[t]!) * (y[u]! - y[t]!) > 0) agree++;
  const top = (a: number[], k: number): number[] =>
    a.map((v, t) => [v, t] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, k).map((p) => p[1]);
  const recall = (k: number): number => {
    const kk = Math.min(k, T);
    const s = top(x, kk);
    return top(y, kk).filter((t) => s.includes(t)).length / kk;
  };
  const argmax = (a: number[]): number => a.indexOf(Math.max(...a));
  return {
    pearson: corr(x, y),
    spearman: corr(rank(x), rank(y)),
    pairwise: agree / ((T * (T - 1)) / 2),
    recall3: recall(3),
    recall5: recall(5),
    argmaxDistance: Math.abs(argmax(x) - argmax(y)),
  };
}

function plainControls(dS: number[][], dR: number[][]) {
  const N = dS.length;
  const T = dS[0]!.length;
  const avg = (ms: Metrics[]): Metrics => Object.fromEntries(KEYS.map((k) => [k, ms.reduce((p, m) => p + m[k], 0) / ms.length])) as Metrics;
  const per = dS.map((x, i) => plainMetrics(x, dR[i]!));
  const mean = avg(per);
  const std = Object.fromEntries(
    KEYS.map((k) => [k, N < 2 ? 0 : Math.sqrt(per.reduce((p, m) => p + (m[k] - mean[k]) ** 2, 0) / (N - 1))]),
  ) as Metrics;
  const shuffled = N < 2 ? null : avg(dS.map((x, i) => plainMetrics(x, dR[(i + 1) % N]!)));
  const centre = (rows: number[][]): number[][] => {
    const m = Array.from({ length: T }, (_, t) => rows.reduce((p, r) => p + r[t]!, 0) / N);
    return rows.map((r) => r.map((v, t) => v - m[t]!));
  };
  const cs = centre(dS);
  const cr = centre(dR);
  const residual = avg(cs.map((x, i) => plainMetrics(x, cr[i]!)));
  return { mean, std, shuffled, residual };
}

/** N trajectories sharing a per-step profile, each with its own part; dR = a * dS-part + b * own noise + profile. */
function profileCase(seed: number, N: number, T: number, own: number, coupling: number): { dS: number[][]; dR: number[][] } {
  const g = gaussian(rng(seed));
  const profile = Array.from({ length: T }, (_, t) => Math.exp(-((t - T / 3) ** 2) / 8));
  const dS: number[][] = [];
  const dR: number[][] = [];
  for (let i = 0; i < N; i++) {
    const part = Array.from({ length: T }, () => own * g());
    dS.push(profile.map((p, t) => p + part[t]!));
    dR.push(profile.map((p, t) => 2 * p + coupling * part[t]! + own * g()));
  }
  return { dS, dR };
}

function expectMetricsClose(actual: Metrics, expected: Metrics, digits: number, label: string): void {
  for (const k of KEYS) {
    expect(Number.isFinite(actual[k]), `${label}.${k} finite`).toBe(true);
    expect(actual[k], `${label}.${k}`).toBeCloseTo(expected[k], digits);
  }
}

describe('creditDiagnostics controls: std, shuffledNull, residual', () => {
  it.each([
    [1, 7, 16, 0.3, 0],
    [2, 12, 16, 0.2, 3],
    [3, 2, 5, 1, 1],
    [4, 5, 3, 0.5, -1],
  ])('match a plain float64 computation (seed %i, N %i, T %i)', (seed, N, T, own, coupling) => {
    const { dS, dR } = profileCase(seed, N, T, own, coupling);
    const d = creditDiagnostics(dS, dR);
    const p = plainControls(dS, dR);
    expectMetricsClose(d.mean, p.mean, 12, 'mean');
    expectMetricsClose(d.std, p.std, 12, 'std');
    expectMetricsClose(d.shuffledNull!, p.shuffled!, 12, 'shuffledNull');
    expectMetricsClose(d.residual, p.residual, 12, 'residual');
  });

  it('hand-made: the null pairs dS[i] with dR[i + 1 mod N], std has ddof 1', () => {
    // dS rows equal; dR[0] agrees with them, dR[1] is reversed.
    const d = creditDiagnostics([[1, 2, 3, 4], [1, 2, 3, 4]], [[2, 4, 6, 8], [4, 3, 2, 1]]);
    expect(d.std.pairwise).toBeCloseTo(Math.SQRT1_2, 14); // [1, 0]
    expect(d.std.argmaxDistance).toBeCloseTo(3 * Math.SQRT1_2, 14); // [0, 3]
    // Null: dS[0] vs dR[1] (reversed) and dS[1] vs dR[0] (agreeing): the same pairs, swapped.
    expect(d.shuffledNull).toEqual({ ...d.mean });
    // Residual: the dS rows are their own mean, so residual dS is 0: correlations and pairwise 0.
    expect(d.residual.pearson).toBe(0);
    expect(d.residual.spearman).toBe(0);
    expect(d.residual.pairwise).toBe(0);
    // Three samples: the null rotates the pairing (dR[1], dR[2], dR[0]).
    const e = creditDiagnostics([[1, 2, 3], [3, 2, 1], [1, 3, 2]], [[1, 3, 2], [1, 2, 3], [3, 2, 1]]);
    expect(e.shuffledNull!.pearson).toBeCloseTo(1, 14); // every dS[i] equals dR[i + 1]
    expect(e.shuffledNull!.argmaxDistance).toBe(0);
    expect(e.mean.pearson).toBeCloseTo((-1 + -0.5 + 0.5) / 3, 14);
  });

  it('a shared per-step profile scores high against its null, and its residual is near 0', () => {
    // dS and dR share only the profile: the Table-5 numbers look good, the controls say why.
    const { dS, dR } = profileCase(11, 64, 16, 0.15, 0);
    const d = creditDiagnostics(dS, dR);
    expect(d.mean.pearson).toBeGreaterThan(0.8);
    expect(Math.abs(d.mean.pearson - d.shuffledNull!.pearson)).toBeLessThan(0.05);
    expect(Math.abs(d.residual.pearson)).toBeLessThan(0.1);
    expect(Math.abs(d.residual.spearman)).toBeLessThan(0.1);
    // The same profile plus real per-trajectory credit (dR follows dS's own part): residual high.
    const c = profileCase(11, 64, 16, 0.15, 4);
    const dc = creditDiagnostics(c.dS, c.dR);
    expect(dc.residual.pearson).toBeGreaterThan(0.9);
    expect(dc.mean.pearson - dc.shuffledNull!.pearson).toBeGreaterThan(0.2);
  });

  it('one sample: std 0, no null, residual of zeros', () => {
    const d = creditDiagnostics([1, 3, 2, 5], [2, 3, 1, 4]);
    for (const k of KEYS) expect(d.std[k]).toBe(0);
    expect(d.shuffledNull).toBeNull();
    expect(d.residual.pearson).toBe(0);
    expect(d.residual.pairwise).toBe(0);
  });

  it('extreme finite inputs (1e300, the float64 limits, subnormals) give the finite results of moderate ones', () => {
    const { dS, dR } = profileCase(5, 9, 16, 0.4, 2);
    const base = creditDiagnostics(dS, dR);
    for (const [a, b] of [
      [1e300, 1e300],
      [1.7e308, 1e-300],
      [5e-324 / 0.4, 1],
      [1e-310, 1.5e308],
    ] as const) {
      // Each matrix divided by its largest |value| and multiplied by the scale: the largest |value|
      // is then the scale itself (1.7e308 is next to the largest float64).
      const mx = (m: number[][]): number => Math.max(...m.flat().map(Math.abs));
      const sS = mx(dS);
      const sR = mx(dR);
      const big = creditDiagnostics(
        dS.map((r) => r.map((v) => (v / sS) * a)),
        dR.map((r) => r.map((v) => (v / sR) * b)),
      );
      const label = `scales ${a}, ${b}`;
      if (a < 1e-300) {
        // Subnormal dS keeps few significant bits: only the sign-and-order metrics survive exactly.
        expect(Number.isFinite(big.mean.pearson), label).toBe(true);
        continue;
      }
      expectMetricsClose(big.mean, base.mean, 10, `${label} mean`);
      expectMetricsClose(big.std, base.std, 10, `${label} std`);
      expectMetricsClose(big.shuffledNull!, base.shuffledNull!, 10, `${label} null`);
      expectMetricsClose(big.residual, base.residual, 10, `${label} residual`);
      for (const v of big.perSample.pearson) expect(Number.isFinite(v)).toBe(true);
    }
    // A row of +-1.7e308 (differences overflow to Infinity): still the exact answer.
    const e = creditDiagnostics([[1.7e308, -1.7e308, 0]], [[1, -1, 0]]);
    expect(e.mean.pearson).toBeCloseTo(1, 14);
    expect(e.mean.spearman).toBeCloseTo(1, 14);
    expect(e.mean.pairwise).toBe(1);
  });
});
