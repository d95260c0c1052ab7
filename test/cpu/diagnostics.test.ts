// Hand-made dS / dR with known Table-5 metrics.
import { describe, expect, it } from 'vitest';
import { creditDiagnostics, PAPER_CREDIT_DIAGNOSTICS } from '../../lib/diagnostics.js';
import { encode } from '../helpers/encode.js';

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
