/**
 * Seeded random inputs for the tests: a small PRNG, Gaussian draws, realistic and pure-random
 * latent trajectories, rewards, and the two latent layouts.
 */

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform PRNG (Box-Muller). */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export interface TrajectoryOptions {
  /** 'realistic': z_t = (1 - s_t) noise + s_t x + jitter (dS ~ O(1/T)); 'random': i.i.d. N(0, 1). */
  kind?: 'realistic' | 'random';
  /** Std of the per-state jitter of realistic trajectories. Default 0.05. */
  jitter?: number;
}

/**
 * Latents, flat row-major [N, T+1, D] float32. Realistic trajectories interpolate from noise to a
 * target along a per-sample random monotone schedule s_0 = 0 < ... < s_T = 1, so dS is positive
 * on most steps, with sample-to-sample variation of q.
 */
export function trajectories(
  seed: number,
  N: number,
  T: number,
  D: number,
  opts: TrajectoryOptions = {},
): Float32Array {
  const rand = rng(seed);
  const g = gaussian(rand);
  const out = new Float32Array(N * (T + 1) * D);
  const kind = opts.kind ?? 'realistic';
  const jitter = opts.jitter ?? 0.05;
  for (let i = 0; i < N; i++) {
    if (kind === 'random') {
      for (let m = 0; m < (T + 1) * D; m++) out[i * (T + 1) * D + m] = g();
      continue;
    }
    // Random monotone schedule with uneven steps.
    const inc = Array.from({ length: T }, () => 0.2 + rand() * (rand() < 0.3 ? 3 : 1));
    const total = inc.reduce((a, b) => a + b, 0);
    const s = [0];
    for (let t = 0; t < T; t++) s.push(s[t]! + inc[t]! / total);
    s[T] = 1;
    const x = Array.from({ length: D }, g);
    const noise = Array.from({ length: D }, g);
    for (let j = 0; j <= T; j++) {
      const sj = s[j]!;
      for (let d = 0; d < D; d++) {
        out[(i * (T + 1) + j) * D + d] = (1 - sj) * noise[d]! + sj * x[d]! + (j < T ? jitter * g() : 0);
      }
    }
  }
  return out;
}

/** The list layout: T+1 float32 arrays [N, D], copied out of a flat [N, T+1, D] array. */
export function toStates(flat: ArrayLike<number>, N: number, T: number, D: number): Float32Array[] {
  const states: Float32Array[] = [];
  for (let j = 0; j <= T; j++) {
    const s = new Float32Array(N * D);
    for (let i = 0; i < N; i++) {
      for (let d = 0; d < D; d++) s[i * D + d] = flat[(i * (T + 1) + j) * D + d]!;
    }
    states.push(s);
  }
  return states;
}

/** Rewards [N, K] drawn i.i.d. N(mean_k, 1) with a per-objective offset. */
export function rewards(seed: number, N: number, K: number, dtype: 'float32' | 'float64' = 'float32'): Float32Array | Float64Array {
  const g = gaussian(rng(seed));
  const out = dtype === 'float32' ? new Float32Array(N * K) : new Float64Array(N * K);
  for (let i = 0; i < N; i++) for (let k = 0; k < K; k++) out[i * K + k] = 0.3 * k + g();
  return out;
}
