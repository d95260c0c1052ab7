/**
 * Three cheap deterministic rewards of the final image that pull apart, standing for a generator's
 * text alignment, aesthetics and quality models, and one held-out metric never trained on.
 * Each is computed on the image clipped to the displayable range [-1, 1].
 */
import { CLASSES, D, NUM_CLASSES, Rng, SIDE, sampleImage, template } from './data.js';

export const REWARD_NAMES = ['align', 'contrast', 'smooth'] as const;
export const K = REWARD_NAMES.length;
export const HELDOUT_NAME = 'fidelity';

const TEMPLATES = Array.from({ length: NUM_CLASSES }, (_, c) => template(c));

function clipped(x: ArrayLike<number>, o: number): Float32Array {
  const y = new Float32Array(D);
  for (let p = 0; p < D; p++) y[p] = Math.max(-1, Math.min(1, x[o + p]!));
  return y;
}

/** "Text alignment": Pearson correlation with the class's canonical shape, in [-1, 1]. */
export function alignReward(y: Float32Array, c: number): number {
  const t = TEMPLATES[c]!;
  let my = 0;
  let mt = 0;
  for (let p = 0; p < D; p++) {
    my += y[p]!;
    mt += t[p]!;
  }
  my /= D;
  mt /= D;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let p = 0; p < D; p++) {
    const a = y[p]! - my;
    const b = t[p]! - mt;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** "Aesthetics": contrast, the standard deviation of the pixels, in [0, 1]. */
export function contrastReward(y: Float32Array): number {
  let m = 0;
  for (let p = 0; p < D; p++) m += y[p]!;
  m /= D;
  let v = 0;
  for (let p = 0; p < D; p++) v += (y[p]! - m) ** 2;
  return Math.sqrt(v / D);
}

/** "Quality": smoothness, 1 - mean |difference of neighbouring pixels| / 2, in [0, 1]. */
export function smoothReward(y: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      if (c + 1 < SIDE) {
        s += Math.abs(y[r * SIDE + c]! - y[r * SIDE + c + 1]!);
        n++;
      }
      if (r + 1 < SIDE) {
        s += Math.abs(y[r * SIDE + c]! - y[(r + 1) * SIDE + c]!);
        n++;
      }
    }
  }
  return 1 - s / n / 2;
}

/** Rewards [N, K] of N images [N, D] with classes cls. */
export function scoreImages(x: ArrayLike<number>, cls: Int32Array): Float32Array {
  const N = cls.length;
  const out = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    const y = clipped(x, i * D);
    out[i * K] = alignReward(y, cls[i]!);
    out[i * K + 1] = contrastReward(y);
    out[i * K + 2] = smoothReward(y);
  }
  return out;
}

// Held-out: nearest-neighbour fidelity to a fixed bank of real images of the class.
const BANK_SIZE = 256;
let bank: Float32Array[][] | undefined;
function realBank(): Float32Array[][] {
  if (!bank) {
    const rng = new Rng(777);
    bank = Array.from({ length: NUM_CLASSES }, (_, c) =>
      Array.from({ length: BANK_SIZE }, () => clipped(sampleImage(c, rng), 0)),
    );
  }
  return bank;
}

/**
 * Held-out "fidelity" (never trained on): 1 - RMS distance to the nearest of 256 real images of
 * the class, / 2; in [0, 1]. It drops when a policy games the three rewards with unnatural images.
 */
export function heldOut(x: ArrayLike<number>, cls: Int32Array): Float32Array {
  const N = cls.length;
  const out = new Float32Array(N);
  const b = realBank();
  for (let i = 0; i < N; i++) {
    const y = clipped(x, i * D);
    let best = Infinity;
    for (const r of b[cls[i]!]!) {
      let d = 0;
      for (let p = 0; p < D; p++) d += (y[p]! - r[p]!) ** 2;
      if (d < best) best = d;
    }
    out[i] = 1 - Math.sqrt(best / D) / 2;
  }
  return out;
}

export { CLASSES };
