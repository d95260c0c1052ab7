/**
 * The benchmark's baseline: the advantage step written the way a Node user would write it, with
 * plain loops over typed arrays (one cosine per state against the final state, float64 scalars in
 * JavaScript, bfloat16 decoded element by element). It computes the default options only
 * (tcd + moca, group std, Bessel), which is all the benchmark asks of it.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bf16ToFloat(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

function cosineF32(a: Float32Array, aOff: number, b: Float32Array, bOff: number, D: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let d = 0; d < D; d++) {
    const x = a[aOff + d];
    const y = b[bOff + d];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / (Math.sqrt(na) * Math.sqrt(nb)) : 0;
}

function cosineBf16(a: Uint16Array, aOff: number, b: Uint16Array, bOff: number, D: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let d = 0; d < D; d++) {
    const x = bf16ToFloat(a[aOff + d]);
    const y = bf16ToFloat(b[bOff + d]);
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / (Math.sqrt(na) * Math.sqrt(nb)) : 0;
}

function meanStd(xs: number[]): [number, number] {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return [m, 0];
  const v = xs.reduce((s, x) => s + (x - m) * (x - m), 0) / (xs.length - 1);
  return [m, Math.sqrt(v)];
}

/** latents: [N, T+1, D] as Float32Array (float32) or Uint16Array (bfloat16 bits). */
export function plainAdvantages(
  rewards: Float32Array,
  K: number,
  latents: Float32Array | Uint16Array,
  N: number,
  T: number,
  D: number,
  G: number,
): Float32Array {
  const minWeight = 0.5;
  const epsTcd = 1e-6;
  const epsMoca = 1e-6;
  const w: number[][] = [];
  const q: number[] = [];
  for (let i = 0; i < N; i++) {
    const base = i * (T + 1) * D;
    const fin = base + T * D;
    const S: number[] = [];
    for (let j = 0; j <= T; j++) {
      S.push(
        latents instanceof Float32Array
          ? cosineF32(latents, base + j * D, latents, fin, D)
          : cosineBf16(latents, base + j * D, latents as Uint16Array, fin, D),
      );
    }
    const dS = S.slice(1).map((s, t) => s - S[t]);
    const u = dS.map((d) => Math.max(0, d) + epsTcd);
    const sumU = u.reduce((s, x) => s + x, 0);
    const wbar = u.map((x) => x / sumU);
    w.push(wbar.map((x) => minWeight + (1 - minWeight) * T * x));
    q.push(wbar.reduce((s, x, t) => s + x * dS[t], 0));
  }
  const out = new Float32Array(N * T);
  for (let g = 0; g < N / G; g++) {
    const idx = Array.from({ length: G }, (_, k) => g * G + k);
    const A = idx.map(() => new Array<number>(K).fill(0));
    for (let k = 0; k < K; k++) {
      const [m, s] = meanStd(idx.map((i) => rewards[i * K + k]));
      idx.forEach((i, r) => {
        A[r][k] = Math.min(5, Math.max(-5, (rewards[i * K + k] - m) / (s + 1e-8)));
      });
    }
    const [, qStd] = meanStd(idx.map((i) => q[i]));
    idx.forEach((i, r) => {
      const a = A[r];
      const e = Math.abs(q[i]) / (qStd + epsMoca);
      const s = a.reduce((x, y) => x + y, 0);
      const lam = (Math.max(0, s) / (Math.abs(s) + epsMoca)) * Math.tanh(e);
      const f = solve(a, lam);
      for (let t = 0; t < T; t++) out[i * T + t] = w[i][t] * f;
    });
  }
  return out;
}

function solve(a: number[], lam: number): number {
  const smin = Math.min(...a);
  const smax = Math.max(...a);
  if (smax - smin < 1e-8) return smax;
  const z = Math.min(smax, Math.max(smin, lam / 2));
  for (const x of a) if (Math.abs(x - z) < 1e-8) return x;
  const s = [...a].sort((x, y) => x - y);
  for (let k = 0; k + 1 < s.length; k++) {
    const lo = s[k];
    const hi = s[k + 1];
    if (lo <= z && z <= hi) return ((hi - z) / (hi - lo)) * lo + ((z - lo) / (hi - lo)) * hi;
  }
  return smax;
}
