/**
 * Three cheap deterministic rewards of the final image that pull against each other, standing for
 * a generator's text alignment, aesthetics and quality models, and one held-out metric never
 * trained on. Each is computed on the image clipped to the displayable range [-1, 1].
 *
 * Calibration (once, on the shipped base model, with the study's sampler: groups of 12 SDE samples
 * of one prompt from one initial noise): each reward is its raw score divided by that score's
 * within-group std on the base model (`REWARD_UNITS`), so all three have the same spread where the
 * trainer sees them (a group), and a reward unit is one base-model within-group std; the base
 * model's mean raw score is subtracted first, so the base model scores about 0 on each. The raw
 * scores are chosen so that brightness and sparsity conflict inside a group (correlation about
 * -0.5 on the base model; the demo reports the matrix it measures) and none is near its ceiling.
 */
import { D, NUM_CLASSES, Rng, SIDE, sampleImage, template } from './data.js';

export const REWARD_NAMES = ['shape', 'brightness', 'sparsity'] as const;
export const K = REWARD_NAMES.length;
export const HELDOUT_NAME = 'fidelity';

/** What each reward stands for in a real trainer (for the report). */
export const REWARD_ROLES = ['text alignment', 'aesthetics', 'quality'] as const;

/**
 * The base model's mean raw score (`REWARD_OFFSETS`) and within-group std (`REWARD_UNITS`) of each
 * reward (shape: a Pearson correlation; brightness and sparsity: in [0, 1]), measured once by
 * `npm run demo -- --calibrate` and frozen here: reward = (raw - offset) / unit.
 */
export const REWARD_OFFSETS: readonly number[] = [0.2891, 0.4791, 0.8797];
export const REWARD_UNITS: readonly number[] = [0.1, 0.061, 0.0126];

const TEMPLATES = Array.from({ length: NUM_CLASSES }, (_, c) => template(c));
/** Pixels averaged by the brightness score. */
const BRIGHT_PIXELS = 12;

function clipped(x: ArrayLike<number>, o: number, y: Float32Array): Float32Array {
  for (let p = 0; p < D; p++) y[p] = Math.max(-1, Math.min(1, x[o + p]!));
  return y;
}

/** "Shape and position" (text alignment): Pearson correlation with the class's canonical shape. */
export function shapeScore(y: Float32Array, c: number): number {
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

/** "Stroke brightness" (aesthetics): mean of the 12 brightest pixels, mapped to [0, 1]. */
export function brightnessScore(y: Float32Array): number {
  const top = new Float32Array(BRIGHT_PIXELS).fill(-Infinity);
  for (let p = 0; p < D; p++) {
    const v = y[p]!;
    if (v <= top[BRIGHT_PIXELS - 1]!) continue;
    let k = BRIGHT_PIXELS - 1;
    while (k > 0 && top[k - 1]! < v) {
      top[k] = top[k - 1]!;
      k--;
    }
    top[k] = v;
  }
  let s = 0;
  for (const v of top) s += v;
  return (s / BRIGHT_PIXELS + 1) / 2;
}

/** "Sparsity" (quality: little stray ink): 1 - mean intensity, intensity (y + 1) / 2 in [0, 1]. */
export function sparsityScore(y: Float32Array): number {
  let s = 0;
  for (let p = 0; p < D; p++) s += (y[p]! + 1) / 2;
  return 1 - s / D;
}

/** Raw scores [N, K] (shape, brightness, sparsity) of N images [N, D] with classes cls. */
export function rawScores(x: ArrayLike<number>, cls: Int32Array): Float32Array {
  const N = cls.length;
  const out = new Float32Array(N * K);
  const y = new Float32Array(D);
  for (let i = 0; i < N; i++) {
    clipped(x, i * D, y);
    out[i * K] = shapeScore(y, cls[i]!);
    out[i * K + 1] = brightnessScore(y);
    out[i * K + 2] = sparsityScore(y);
  }
  return out;
}

/** Rewards [N, K] of N images [N, D] with classes cls: raw scores in calibrated units. */
export function scoreImages(x: ArrayLike<number>, cls: Int32Array): Float32Array {
  const out = rawScores(x, cls);
  for (let m = 0; m < out.length; m++) out[m] = (out[m]! - REWARD_OFFSETS[m % K]!) / REWARD_UNITS[m % K]!;
  return out;
}

// Held-out: nearest-neighbour fidelity to a fixed bank of real images of the class.
const BANK_SIZE = 256;
let bank: Float32Array[][] | undefined;
function realBank(): Float32Array[][] {
  if (!bank) {
    const rng = new Rng(777);
    bank = Array.from({ length: NUM_CLASSES }, (_, c) =>
      Array.from({ length: BANK_SIZE }, () => clipped(sampleImage(c, rng), 0, new Float32Array(D))),
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
  const y = new Float32Array(D);
  for (let i = 0; i < N; i++) {
    clipped(x, i * D, y);
    let best = Infinity;
    for (const r of b[cls[i]!]!) {
      let d = 0;
      for (let p = 0; p < D && d < best; p++) d += (y[p]! - r[p]!) ** 2;
      if (d < best) best = d;
    }
    out[i] = 1 - Math.sqrt(best / D) / 2;
  }
  return out;
}

export { SIDE };
