/**
 * The study's statistics, written out so the report needs no dependency: the paired t-test (with its
 * confidence interval), the exact Wilcoxon signed-rank test, and Holm's step-down correction.
 */

/** log Gamma (Lanczos, g = 7, 9 terms; |error| < 1e-13 for x > 0). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let k = 1; k < 9; k++) a += c[k]! / (x + k);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(|T| >= |t|) for Student's t with df degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t quantile q with P(|T| >= q) = p (bisection on the two-sided p). */
export function studentQuantileTwoSided(p: number, df: number): number {
  let lo = 0;
  let hi = 1e3;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSidedP(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedTest {
  n: number;
  /** Mean of the differences. */
  mean: number;
  /** Sample std of the differences (ddof 1). */
  sd: number;
  /** 95% confidence interval of the mean difference (t-based). */
  ci95: [number, number];
  /** t statistic and its two-sided p (NaN where every difference is equal). */
  t: number;
  pT: number;
  /** Wilcoxon signed-rank W+ (zeros dropped, ties at average ranks) and its exact two-sided p. */
  wPlus: number;
  pWilcoxon: number;
}

/**
 * Exact two-sided p of the Wilcoxon signed-rank test: zeros dropped, |d| ranked with average
 * ranks for ties, and the null distribution of W+ enumerated over every sign assignment of those
 * ranks (2^n, n <= 24), so ties are handled exactly.
 */
export function wilcoxonSignedRank(d: readonly number[]): { wPlus: number; p: number } {
  const x = d.filter((v) => v !== 0);
  const n = x.length;
  if (n === 0) return { wPlus: 0, p: 1 };
  if (n > 24) throw new RangeError(`Expected at most 24 non-zero differences for the exact Wilcoxon test but received ${n}`);
  const order = x.map((v, i) => [Math.abs(v), i] as const).sort((a, b) => a[0] - b[0]);
  const rank = new Float64Array(n);
  for (let p = 0; p < n; ) {
    let q = p;
    while (q + 1 < n && order[q + 1]![0] === order[p]![0]) q++;
    for (let m = p; m <= q; m++) rank[order[m]![1]] = (p + q) / 2 + 1;
    p = q + 1;
  }
  // Ranks are multiples of 1/2: count sign assignments by 2 W+ (an integer) with a subset-sum table.
  const r2 = Array.from(rank, (r) => Math.round(2 * r));
  const total = r2.reduce((a, b) => a + b, 0);
  let counts = new Float64Array(total + 1);
  counts[0] = 1;
  for (const v of r2) {
    const next = counts.slice();
    for (let s = 0; s + v <= total; s++) next[s + v]! += counts[s]!;
    counts = next;
  }
  let w2 = 0;
  x.forEach((v, i) => {
    if (v > 0) w2 += r2[i]!;
  });
  const all = 2 ** n;
  let le = 0;
  let ge = 0;
  for (let s = 0; s <= total; s++) {
    if (s <= w2) le += counts[s]!;
    if (s >= w2) ge += counts[s]!;
  }
  return { wPlus: w2 / 2, p: Math.min(1, (2 * Math.min(le, ge)) / all) };
}

/** Paired tests of differences d (treatment minus control, one per seed). */
export function pairedTests(d: readonly number[]): PairedTest {
  const n = d.length;
  const mean = d.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  const se = sd / Math.sqrt(n);
  const t = se > 0 ? mean / se : NaN;
  const q = n > 1 ? studentQuantileTwoSided(0.05, n - 1) : NaN;
  const w = wilcoxonSignedRank(d);
  return { n, mean, sd, ci95: [mean - q * se, mean + q * se], t, pT: se > 0 ? studentTwoSidedP(t, n - 1) : NaN, wPlus: w.wPlus, pWilcoxon: w.p };
}

/** Holm's step-down adjusted p-values (same order as given; NaN stays NaN and counts as 1). */
export function holm(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((v, i) => [Number.isNaN(v) ? 1 : v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([v, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * v));
    out[i] = Number.isNaN(p[i]!) ? NaN : running;
  });
  return out;
}
