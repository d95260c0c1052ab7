/**
 * The toy world: 8x8 grayscale images of four shapes, the class label standing for the prompt.
 * Pixels live in [-1, 1] (background near -1, shape near +1), with per-image jitter in position,
 * size, brightness and pixel noise, so rewards have something to pull on.
 */

export const SIDE = 8;
/** Latent size D (an image is its own latent here). */
export const D = SIDE * SIDE;
export const CLASSES = ['a horizontal bar', 'a vertical bar', 'a square ring', 'a plus sign'] as const;
export const NUM_CLASSES = CLASSES.length;

/** mulberry32: a small seeded PRNG, so every run is reproducible without tf's global RNG. */
export class Rng {
  private s: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  uniform(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = this.uniform();
    while (u <= 1e-12) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Fill `out` with standard normals. */
  normals(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }
}

/** Binary mask of class c's shape, with jitter (dx, dy offsets, size variant 0/1). */
function shapeMask(c: number, dx: number, dy: number, v: number): Uint8Array {
  const m = new Uint8Array(D);
  const set = (r: number, col: number): void => {
    if (r >= 0 && r < SIDE && col >= 0 && col < SIDE) m[r * SIDE + col] = 1;
  };
  if (c === 0 || c === 1) {
    // bar: 2 thick, length 6 or 7, centred at row 3.5 + dy
    const len = 6 + v;
    const start = Math.floor((SIDE - len) / 2) + dx;
    for (let k = 0; k < len; k++) {
      for (let w = 0; w < 2; w++) {
        const r = 3 + dy + w;
        const col = start + k;
        if (c === 0) set(r, col);
        else set(col, r);
      }
    }
  } else if (c === 2) {
    // ring: square outline of side 5 or 6
    const s = 5 + v;
    const o = Math.floor((SIDE - s) / 2);
    for (let k = 0; k < s; k++) {
      set(o + dy, o + dx + k);
      set(o + dy + s - 1, o + dx + k);
      set(o + dy + k, o + dx);
      set(o + dy + k, o + dx + s - 1);
    }
  } else {
    // plus: arms of half-length 2 or 3, 2 thick, centre (3.5 + dy, 3.5 + dx)
    const h = 2 + v;
    for (let k = -h; k <= h + 1; k++) {
      for (let w = 0; w < 2; w++) {
        set(3 + dy + w, 3 + dx + k);
        set(3 + dy + k, 3 + dx + w);
      }
    }
  }
  return m;
}

/** One training image of class c. */
export function sampleImage(c: number, rng: Rng, out: Float32Array = new Float32Array(D)): Float32Array {
  const dx = rng.int(3) - 1;
  const dy = rng.int(3) - 1;
  const m = shapeMask(c, dx, dy, rng.int(2));
  const fg = 0.35 + 0.65 * rng.uniform();
  const bg = -1 + 0.5 * rng.uniform();
  for (let p = 0; p < D; p++) out[p] = (m[p] ? fg : bg) + 0.08 * rng.normal();
  return out;
}

/** The canonical (centred, full-contrast) shape of class c in {-1, +1}: what "the prompt" asks for. */
export function template(c: number): Float32Array {
  const m = shapeMask(c, 0, 0, 0);
  const out = new Float32Array(D);
  for (let p = 0; p < D; p++) out[p] = m[p] ? 1 : -1;
  return out;
}

/** A batch of n training images with uniformly drawn classes. */
export function sampleBatch(n: number, rng: Rng): { x: Float32Array; cls: Int32Array } {
  const x = new Float32Array(n * D);
  const cls = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    cls[i] = rng.int(NUM_CLASSES);
    sampleImage(cls[i]!, rng, x.subarray(i * D, (i + 1) * D));
  }
  return { x, cls };
}
