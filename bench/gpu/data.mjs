// Inputs for the GPU benchmark, the GPU tests and the reference cases: flow-like latent
// trajectories and rewards, dtype conversion, and the case-file format that torch_reference.py
// reads. Plain ESM with node builtins and dist/ only (the device machine has no node_modules).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodeBFloat16, encodeFloat16 } from '../../dist/lib/dtypes.js';

/** mulberry32: a small seeded uniform generator in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A flow-like trajectory [N, T+1, D] in float32: z_j = (1 - s_j) noise + s_j x + 0.02 jitter,
 * with s_j = (j/T)^p and p drawn per sample, so that the cosines to the final state rise
 * unevenly and differ between samples (as a sampler's do). Never zeros.
 */
export function makeTrajectory(N, T, D, seed) {
  const rand = rng(seed);
  const z = new Float32Array(N * (T + 1) * D);
  const noise = new Float32Array(D);
  const x = new Float32Array(D);
  for (let i = 0; i < N; i++) {
    for (let d = 0; d < D; d++) {
      noise[d] = 2 * rand() - 1;
      x[d] = 2 * rand() - 1;
    }
    const p = 0.5 + 1.5 * rand();
    for (let j = 0; j <= T; j++) {
      const s = (j / T) ** p;
      const off = (i * (T + 1) + j) * D;
      for (let d = 0; d < D; d++) z[off + d] = (1 - s) * noise[d] + s * x[d] + 0.04 * (rand() - 0.5);
    }
  }
  return z;
}

/** Rewards [N, K] in float32 (uniform in [0, 1)). */
export function makeRewards(N, K, seed) {
  const rand = rng(seed ^ 0x5bd1e995);
  const r = new Float32Array(N * K);
  for (let k = 0; k < r.length; k++) r[k] = rand();
  return r;
}

/** float32 -> bfloat16 / float16 bits, round to nearest even: the library's own encoders. */
export const toBf16 = (src) => encodeBFloat16(src);
export const toF16 = (src) => encodeFloat16(src);

/** The latents of a float32 trajectory in `dtype`: Float32Array or Uint16Array of bits. */
export function convert(z, dtype) {
  if (dtype === 'float32') return z;
  if (dtype === 'bfloat16') return toBf16(z);
  if (dtype === 'float16') return toF16(z);
  throw new Error(`unknown dtype ${dtype}`);
}

/** The T+1 states [N, D] of a flat [N, T+1, D] array, copied (same TypedArray class). */
export function statesOf(flat, N, T, D) {
  const states = [];
  for (let j = 0; j <= T; j++) {
    const s = new flat.constructor(N * D);
    for (let i = 0; i < N; i++) s.set(flat.subarray((i * (T + 1) + j) * D, (i * (T + 1) + j + 1) * D), i * D);
    states.push(s);
  }
  return states;
}

export const elemSize = (dtype) => (dtype === 'float32' ? 4 : 2);
const fileKind = { float32: 'f32', bfloat16: 'bf16', float16: 'f16' };

/**
 * Writes a case directory for torch_reference.py: case.json plus raw little-endian files.
 * Each case: { name, N, T, D, K, G, dtype, layout, latents (flat [N,T+1,D], dtype's array),
 * rewards (Float32Array or Float64Array), arrays: { 'ref_advantages': Float64Array, 'ours_x': ... } }.
 */
export function writeCases(dir, cases) {
  mkdirSync(dir, { recursive: true });
  const meta = [];
  for (const c of cases) {
    const base = c.name.replace(/[^A-Za-z0-9_.-]/g, '_');
    const files = {};
    const put = (key, arr, kind) => {
      const fname = `${base}.${key}.${kind}`;
      writeFileSync(join(dir, fname), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      files[key] = [fname, kind];
    };
    put('latents', c.latents, fileKind[c.dtype]);
    put('rewards', c.rewards, c.rewards instanceof Float64Array ? 'f64' : 'f32');
    for (const [key, arr] of Object.entries(c.arrays ?? {})) {
      put(key, arr, arr instanceof Float64Array ? 'f64' : 'f32');
    }
    meta.push({
      name: c.name, N: c.N, T: c.T, D: c.D, K: c.K, G: c.G, dtype: c.dtype, layout: c.layout,
      files, ...(c.kwargs ? { kwargs: c.kwargs } : {}),
    });
  }
  writeFileSync(join(dir, 'case.json'), JSON.stringify({ cases: meta }, null, 1));
}
