/**
 * The toy world: 16x16 grayscale images of four stroke shapes, the class label standing for the
 * prompt. Pixels live in [-1, 1] (background near -1, strokes brighter), with per-image jitter in
 * position, size, stroke width, stroke brightness and background, so the rewards have something to
 * pull on. Wider strokes are drawn brighter on average (as a heavier pen leaves more ink), which is
 * what makes "bright strokes" and "few lit pixels" pull against each other.
 */

export const SIDE = 16;
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

/** A seed for stream `k` of `seed` (splitmix-style mixing), so streams never overlap by accident. */
export function subSeed(seed: number, ...k: number[]): number {
  let h = (seed ^ 0x85ebca6b) >>> 0;
  for (const v of k) {
    h = Math.imul(h ^ (v + 0x9e3779b9 + (h << 6) + (h >>> 2)), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** Geometry of one drawn shape. */
export interface ShapeParams {
  /** Offsets of the shape's centre in pixels. */
  dx: number;
  dy: number;
  /** Half-length of bars and arms, or half-side of the ring. */
  half: number;
  /** Stroke width in pixels (1 to 3). */
  width: number;
}

/** Binary mask of class c's shape with the given geometry. */
export function shapeMask(c: number, p: ShapeParams): Uint8Array {
  const m = new Uint8Array(D);
  const set = (r: number, col: number): void => {
    if (r >= 0 && r < SIDE && col >= 0 && col < SIDE) m[r * SIDE + col] = 1;
  };
  const cy = 8 + p.dy;
  const cx = 8 + p.dx;
  const w0 = -Math.floor(p.width / 2);
  for (let k = -p.half; k < p.half; k++) {
    for (let w = w0; w < w0 + p.width; w++) {
      if (c === 0) set(cy + w, cx + k);
      else if (c === 1) set(cy + k, cx + w);
      else if (c === 3) {
        set(cy + w, cx + k);
        set(cy + k, cx + w);
      }
    }
  }
  if (c === 2) {
    // ring: square outline of side 2 * half, stroke drawn inwards
    for (let k = -p.half; k < p.half; k++) {
      for (let w = 0; w < p.width; w++) {
        set(cy - p.half + w, cx + k);
        set(cy + p.half - 1 - w, cx + k);
        set(cy + k, cx - p.half + w);
        set(cy + k, cx + p.half - 1 - w);
      }
    }
  }
  return m;
}

/** One training image of class c. */
export function sampleImage(c: number, rng: Rng, out: Float32Array = new Float32Array(D)): Float32Array {
  const width = 1 + rng.int(3);
  const p: ShapeParams = { dx: rng.int(5) - 2, dy: rng.int(5) - 2, half: 4 + rng.int(3), width };
  const m = shapeMask(c, p);
  // Stroke brightness: wider strokes brighter on average (the pen's ink), with spread.
  const fg = Math.max(-0.3, Math.min(1, 0.05 + 0.22 * (width - 2) + 0.3 * rng.normal()));
  const bg = -1 + 0.25 * rng.uniform();
  for (let q = 0; q < D; q++) out[q] = m[q] ? fg : bg;
  return out;
}

/** The canonical (centred, width 2, half-length 5, full-contrast) shape of class c in {-1, +1}. */
export function template(c: number): Float32Array {
  const m = shapeMask(c, { dx: 0, dy: 0, half: 5, width: 2 });
  const out = new Float32Array(D);
  for (let q = 0; q < D; q++) out[q] = m[q] ? 1 : -1;
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
