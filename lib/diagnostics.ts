/**
 * Credit diagnostics (paper appendix, Table 5): how well the trajectory's alignment gains dS
 * predict the per-step reward gains dR, per sample and averaged over samples, with two controls
 * the paper does not report: a shuffled-pair null and a residual after the shared per-step profile.
 * @packageDocumentation
 */
import { decodeBFloat16, decodeFloat16 } from './reference.js';
import { hasMember, member } from './own.js';

/**
 * A matrix [N, T] as diagnostics accept it:
 * - anything with `.data` and `.shape` (the public `Tensor`, float32/float64, or float16/bfloat16
 *   raw bits with `.dtype` set), with `shape` `[N, T]` or `[T]` (one sample);
 * - a list of N rows (each an array or TypedArray of T numbers);
 * - a flat array or TypedArray of T numbers (one sample).
 */
export type DiagnosticsMatrix =
  | {
      /** The values, row-major. */
      readonly data: ArrayLike<number>;
      /** `[N, T]`, or `[T]` for one sample. */
      readonly shape: readonly number[];
      /** float32 or float64 (the values as they are), or float16 / bfloat16 (bits, decoded exactly). */
      readonly dtype?: string;
    }
  | readonly ArrayLike<number>[]
  | ArrayLike<number>;

/** The Table-5 metrics, one field per metric. */
export interface CreditMetrics<V> {
  /** Pearson correlation of dS and dR over steps (0 where either has zero variance). */
  pearson: V;
  /** Spearman rank correlation (Pearson of average ranks; ties share their mean rank). */
  spearman: V;
  /** Share of step pairs t < t' that dS and dR order the same way (a tie in either disagrees). */
  pairwise: V;
  /** |top3(dR) ∩ top3(dS)| / 3 (ties broken by lower index; k = T where T < 3). */
  recall3: V;
  /** |top5(dR) ∩ top5(dS)| / 5 (ties broken by lower index; k = T where T < 5). */
  recall5: V;
  /** |argmax_t dS - argmax_t dR| in steps (first index of the maximum). */
  argmaxDistance: V;
}

/** Result of {@link creditDiagnostics}. */
export interface CreditDiagnostics {
  /** Each metric for each sample (Float64Array of N). */
  perSample: CreditMetrics<Float64Array>;
  /** Each metric averaged over the N samples. */
  mean: CreditMetrics<number>;
  /**
   * Each metric's sample standard deviation over the N samples (ddof 1, as the paper's
   * "mean ± std"); 0 for N = 1.
   */
  std: CreditMetrics<number>;
  /**
   * The shuffled-pair null: each metric averaged over i of dS[i] against dR[(i + 1) mod N], the
   * reward gains of a different trajectory (a fixed derangement, so it is deterministic). A pair
   * from two unrelated trajectories shares only what every trajectory shares, such as the
   * sampler's per-step profile (the noise schedule makes some steps move more than others on every
   * trajectory), so the null is the score that profile alone earns. dS says which steps of
   * *this* trajectory earned its reward only as far as `mean` exceeds `shuffledNull`.
   * `null` for N = 1 (there is no other trajectory).
   */
  shuffledNull: CreditMetrics<number> | null;
  /**
   * Each metric averaged over samples after removing the shared per-step profile: computed on
   * dS[i, t] - mean_j dS[j, t] against dR[i, t] - mean_j dR[j, t]. What is left is how this
   * trajectory differs from the average one, so a residual Pearson or Spearman well above 0 is
   * per-trajectory credit; near 0 means the agreement in `mean` came from the profile. (For
   * N = 1 both residuals are all zero, so the correlations are 0.)
   */
  residual: CreditMetrics<number>;
  /** The paper's figures on FLUX (511 trajectories, 16 steps), for comparison. */
  paper: CreditMetrics<number>;
}

/** The metric names of {@link CreditMetrics}, in table order. */
export const CREDIT_METRIC_NAMES: readonly (keyof CreditMetrics<number>)[] = Object.freeze([
  'pearson',
  'spearman',
  'pairwise',
  'recall3',
  'recall5',
  'argmaxDistance',
] as const);

/** The paper's Table 5 (FLUX, 511 trajectories, 16 steps). */
export const PAPER_CREDIT_DIAGNOSTICS: Readonly<CreditMetrics<number>> = Object.freeze({
  pearson: 0.909,
  spearman: 0.838,
  pairwise: 0.843,
  recall3: 0.77,
  recall5: 0.892,
  argmaxDistance: 0.74,
});

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `${x.constructor.name} of length ${(x as unknown as ArrayLike<number>).length}`;
  if (typeof x === 'object') {
    const missing = ['data', 'shape'].filter((key) => !hasMember(x, key));
    return missing.length === 0 ? 'an object' : `an object without ${missing.join(' and ')}`;
  }
  return `${typeof x} ${String(x)}`;
}

function isNumberArrayLike(x: unknown): x is ArrayLike<number> {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return true;
  return Array.isArray(x) && x.every((v) => typeof v === 'number');
}

/** Rows of a [N, T] matrix as float64 arrays, validated. */
function toRows(name: string, x: unknown): Float64Array[] {
  let rows: Float64Array[];
  // own properties or a class's accessors (Tensor#data), never Object.prototype's
  if (typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) && hasMember(x, 'data') && hasMember(x, 'shape')) {
    const t = { data: member(x, 'data'), shape: member(x, 'shape'), dtype: member(x, 'dtype') };
    const shape = t.shape;
    if (!Array.isArray(shape) || (shape.length !== 1 && shape.length !== 2) || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
      throw new RangeError(`Expected shape [N, T] for ${name} but received ${Array.isArray(shape) ? `[${shape.join(', ')}]` : describe(shape)}`);
    }
    const data = t.data;
    if (!isNumberArrayLike(data)) {
      throw new TypeError(`Expected a TypedArray or number[] as data for ${name} but received ${describe(data)}`);
    }
    const [N, T] = shape.length === 1 ? [1, shape[0] as number] : [shape[0] as number, shape[1] as number];
    if (data.length !== N * T) {
      throw new RangeError(`Expected ${N * T} elements for ${name} (shape [${shape.join(', ')}]) but received ${data.length}`);
    }
    const dtype = t.dtype;
    if (dtype !== undefined && dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16' && dtype !== 'bfloat16') {
      throw new TypeError(`Expected dtype float32, float64, float16 or bfloat16 for ${name} but received ${String(dtype)}`);
    }
    const decode = dtype === 'float16' ? decodeFloat16 : dtype === 'bfloat16' ? decodeBFloat16 : (v: number) => v;
    rows = [];
    for (let i = 0; i < N; i++) {
      const row = new Float64Array(T);
      for (let t2 = 0; t2 < T; t2++) row[t2] = decode(data[i * T + t2]!);
      rows.push(row);
    }
  } else if (isNumberArrayLike(x)) {
    rows = [Float64Array.from(x)];
  } else if (Array.isArray(x) && x.length > 0 && x.every((r) => isNumberArrayLike(r))) {
    rows = x.map((r: ArrayLike<number>) => Float64Array.from(r));
  } else {
    throw new TypeError(
      `Expected a Tensor [N, T], a {data, shape} object, a list of rows or one row of numbers for ${name} but received ${describe(x)}`,
    );
  }
  if (rows.length < 1) throw new RangeError(`Expected at least 1 sample for ${name} but received 0`);
  const T = rows[0]!.length;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.length !== T) {
      throw new RangeError(`Expected rows of equal length ${T} for ${name} but received ${rows[i]!.length} at sample ${i}`);
    }
    if (T < 2) throw new RangeError(`Expected at least 2 steps (T >= 2) for ${name} but received T = ${T}`);
    for (let t = 0; t < T; t++) {
      const v = rows[i]![t]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(`Expected finite values for ${name} but received ${String(v)} at sample ${i}, step ${t}`);
      }
    }
  }
  return rows;
}

/**
 * Pearson correlation, 0 where either has zero variance. Each input is first divided by its
 * largest |value| (the correlation does not change), so rows near the float64 limits (1e300)
 * neither overflow nor underflow in the sums of squares.
 */
function pearsonOf(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const xs = scaledRow(x);
  const ys = scaledRow(y);
  let mx = 0;
  let my = 0;
  for (let t = 0; t < n; t++) {
    mx += xs[t]!;
    my += ys[t]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let t = 0; t < n; t++) {
    const dx = xs[t]! - mx;
    const dy = ys[t]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  return Math.max(-1, Math.min(1, sxy / (Math.sqrt(sxx) * Math.sqrt(syy))));
}

/** x divided by its largest |value| (x itself where that is 0). */
function scaledRow(x: ArrayLike<number>): Float64Array {
  let m = 0;
  for (let t = 0; t < x.length; t++) m = Math.max(m, Math.abs(x[t]!));
  const out = Float64Array.from(x);
  if (m > 0) for (let t = 0; t < out.length; t++) out[t] = out[t]! / m;
  return out;
}

/** Ranks 1..n, ties sharing their average rank. */
function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || a - b);
  const ranks = new Float64Array(n);
  let p = 0;
  while (p < n) {
    let q = p;
    while (q + 1 < n && x[order[q + 1]!] === x[order[p]!]) q++;
    const rank = (p + q) / 2 + 1;
    for (let m = p; m <= q; m++) ranks[order[m]!] = rank;
    p = q + 1;
  }
  return ranks;
}

function pairwiseOf(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let agree = 0;
  let pairs = 0;
  for (let t = 0; t < n; t++) {
    for (let u = t + 1; u < n; u++) {
      const sx = Math.sign(x[u]! - x[t]!);
      const sy = Math.sign(y[u]! - y[t]!);
      if (sx !== 0 && sx === sy) agree++;
      pairs++;
    }
  }
  return agree / pairs;
}

/** Indices of the k largest values (ties broken by the lower index). */
function topK(x: ArrayLike<number>, k: number): Set<number> {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
  return new Set(order.slice(0, k));
}

function recallOf(dS: ArrayLike<number>, dR: ArrayLike<number>, k: number): number {
  const kk = Math.min(k, dS.length);
  const s = topK(dS, kk);
  let hit = 0;
  for (const t of topK(dR, kk)) if (s.has(t)) hit++;
  return hit / kk;
}

function argmaxOf(x: ArrayLike<number>): number {
  let best = 0;
  for (let t = 1; t < x.length; t++) if (x[t]! > x[best]!) best = t;
  return best;
}

/** The six metrics of row x of dS against row y of dR. */
function metricsOfPair(x: Float64Array, y: Float64Array, out: CreditMetrics<Float64Array>, i: number): void {
  out.pearson[i] = pearsonOf(x, y);
  out.spearman[i] = pearsonOf(averageRanks(x), averageRanks(y));
  out.pairwise[i] = pairwiseOf(x, y);
  out.recall3[i] = recallOf(x, y, 3);
  out.recall5[i] = recallOf(x, y, 5);
  out.argmaxDistance[i] = Math.abs(argmaxOf(x) - argmaxOf(y));
}

/** Each metric for dS[i] against dR[partner(i)], i = 0..N-1. */
function metricsOfRows(s: Float64Array[], r: Float64Array[], partner: (i: number) => number): CreditMetrics<Float64Array> {
  const N = s.length;
  const out: CreditMetrics<Float64Array> = {
    pearson: new Float64Array(N),
    spearman: new Float64Array(N),
    pairwise: new Float64Array(N),
    recall3: new Float64Array(N),
    recall5: new Float64Array(N),
    argmaxDistance: new Float64Array(N),
  };
  for (let i = 0; i < N; i++) metricsOfPair(s[i]!, r[partner(i)]!, out, i);
  return out;
}

function summarize(m: CreditMetrics<Float64Array>, f: (a: Float64Array) => number): CreditMetrics<number> {
  return {
    pearson: f(m.pearson),
    spearman: f(m.spearman),
    pairwise: f(m.pairwise),
    recall3: f(m.recall3),
    recall5: f(m.recall5),
    argmaxDistance: f(m.argmaxDistance),
  };
}

function meanOf(a: Float64Array): number {
  let sum = 0;
  for (const v of a) sum += v;
  return sum / a.length;
}

/** Sample standard deviation (ddof 1); 0 for one value. */
function stdOf(a: Float64Array): number {
  if (a.length < 2) return 0;
  const m = meanOf(a);
  let ss = 0;
  for (const v of a) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (a.length - 1));
}

/**
 * Rows minus the per-step mean over rows. The matrix is first divided by its largest |value|
 * (every metric is unchanged by a positive scale), so the column sums cannot overflow.
 */
function residualRows(rows: Float64Array[]): Float64Array[] {
  const N = rows.length;
  const T = rows[0]!.length;
  let m = 0;
  for (const row of rows) for (const v of row) m = Math.max(m, Math.abs(v));
  // Divide (not multiply by 1 / m, which is Infinity for a subnormal m).
  const scale = m > 0 ? m : 1;
  const mean = new Float64Array(T);
  for (const row of rows) for (let t = 0; t < T; t++) mean[t] = mean[t]! + row[t]! / scale;
  for (let t = 0; t < T; t++) mean[t] = mean[t]! / N;
  return rows.map((row) => row.map((v, t) => v / scale - mean[t]!));
}

/**
 * The Table-5 credit diagnostics: how well the alignment gains dS (phase 1's `deltaS`) predict
 * per-step reward gains dR (reward of the decoded prediction after step t minus before), per
 * sample and averaged over samples, next to the paper's FLUX figures; with the spread over
 * samples and two controls: a shuffled-pair null (what the shared per-step profile alone scores)
 * and the residual after that profile (what is left for per-trajectory credit).
 *
 * Conventions: Pearson (and so Spearman) is 0 for a sample where dS or dR has zero variance;
 * Spearman uses average ranks for ties; pairwise agreement counts a tie in either as a
 * disagreement; Recall@k breaks ties by the lower step index and uses k = T where T < k;
 * argmax takes the first index of the maximum. Computed in float64; every metric is invariant to
 * a positive scale of dS or dR, and values anywhere in the finite float64 range give finite results.
 *
 * How to read it: per-step credit shows as `mean` well above `shuffledNull` and a `residual`
 * correlation well above 0. A high `mean` next to an equally high `shuffledNull` says that dS and
 * dR share the sampler's per-step profile, not that dS ranks the steps of each trajectory.
 *
 * @param deltaS dS [N, T]: a Tensor, a `{ data, shape }` object, a list of N rows, or one row.
 * @param deltaR dR [N, T], in any of the same forms; its shape must equal deltaS's.
 * @throws TypeError for a value of the wrong kind; RangeError for a bad shape, T < 2, mismatched
 *   shapes or a non-finite value (naming the sample and step).
 *
 * @example
 * ```ts
 * const out = otcaAdvantages({ rewards, latents, groupSize: 12 }, { outputs: ['deltaS'] });
 * const diag = creditDiagnostics(out.deltaS!, { data: dR, shape: [12, 16] });
 * console.log(diag.mean.spearman, 'null', diag.shuffledNull?.spearman, 'residual', diag.residual.spearman);
 * ```
 */
export function creditDiagnostics(deltaS: DiagnosticsMatrix, deltaR: DiagnosticsMatrix): CreditDiagnostics {
  const s = toRows('deltaS', deltaS);
  const r = toRows('deltaR', deltaR);
  if (s.length !== r.length || s[0]!.length !== r[0]!.length) {
    throw new RangeError(
      `Expected shape [${s.length}, ${s[0]!.length}] (that of deltaS) for deltaR but received [${r.length}, ${r[0]!.length}]`,
    );
  }
  const N = s.length;
  const perSample = metricsOfRows(s, r, (i) => i);
  const shuffled = N > 1 ? metricsOfRows(s, r, (i) => (i + 1) % N) : undefined;
  const residual = metricsOfRows(residualRows(s), residualRows(r), (i) => i);
  return {
    perSample,
    mean: summarize(perSample, meanOf),
    std: summarize(perSample, stdOf),
    shuffledNull: shuffled ? summarize(shuffled, meanOf) : null,
    residual: summarize(residual, meanOf),
    paper: { ...PAPER_CREDIT_DIAGNOSTICS },
  };
}
