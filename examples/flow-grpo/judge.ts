/**
 * The held-out judge of the 2026-12-07 study: a small classifier of the four prompts, trained once
 * on real (procedural) images and frozen, that no arm ever trains on. It stands for the paper's
 * held-out preference models (PickScore, ImageReward): a learned model of "does this image look
 * like the prompt, the way real images of it do", not one of the three training rewards.
 *
 * The classifier is a multinomial logistic regression on the pixel intensities (clip(x) + 1) / 2
 * (256 and a bias, 4 classes), fitted in float64 by full-batch gradient descent with an L2 penalty
 * on 2,048 real images drawn from their own seeded stream (not the fidelity bank's, not any arm's).
 * The penalty keeps it soft, so the score has headroom on the base model (about 1.4 base-model
 * within-prompt stds below its ceiling 0; accuracy 0.87 on fresh real images). The score of an
 * image for prompt c is log p(c | image), the log-probability of the prompt's class.
 *
 * Fitting is deterministic (a fixed seed, a fixed number of plain float64 steps, no threads) and
 * done once per process, on first use (about a second); every worker thread gets the same weights.
 */
import { D, NUM_CLASSES, Rng, sampleBatch } from './data.js';

export const JUDGE_NAME = 'judge';

/** How the judge is fitted: fixed before the 2026-12-07 study ran (see its pre-registration). */
export interface JudgeConfig {
  images: number;
  seed: number;
  steps: number;
  learningRate: number;
  l2: number;
}

export const JUDGE_CONFIG: JudgeConfig = { images: 2048, seed: 20261207, steps: 150, learningRate: 0.5, l2: 1e-2 };

export interface Judge {
  /** Weights [D + 1, C] (the last row is the bias), row-major. */
  weights: Float64Array;
  /** Accuracy and mean log p(true class) on 1,024 fresh real images (a different stream). */
  realAccuracy: number;
  realMeanLogProb: number;
}

function clip(v: number): number {
  return v < -1 ? -1 : v > 1 ? 1 : v;
}

/** The logits of one image whose features are given directly (intensities in [0, 1]) into `out` [C]. */
function logits(w: Float64Array, u: ArrayLike<number>, o: number, out: Float64Array): void {
  const C = NUM_CLASSES;
  for (let c = 0; c < C; c++) out[c] = w[D * C + c]!;
  for (let p = 0; p < D; p++) {
    const val = u[o + p]!;
    if (val === 0) continue;
    const row = p * C;
    for (let c = 0; c < C; c++) out[c] = out[c]! + val * w[row + c]!;
  }
}

/** The logits of one image [D] of pixels (clipped to [-1, 1], then intensity (x + 1) / 2) into `out` [C]. */
function intensityLogits(w: Float64Array, x: ArrayLike<number>, o: number, out: Float64Array): void {
  const C = NUM_CLASSES;
  for (let c = 0; c < C; c++) out[c] = w[D * C + c]!;
  for (let p = 0; p < D; p++) {
    const val = (clip(x[o + p]!) + 1) / 2;
    if (val === 0) continue;
    const row = p * C;
    for (let c = 0; c < C; c++) out[c] = out[c]! + val * w[row + c]!;
  }
}

function logSoftmaxInPlace(z: Float64Array): void {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  let s = 0;
  for (const v of z) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  for (let c = 0; c < z.length; c++) z[c] = z[c]! - lse;
}

/**
 * Fit the judge (deterministic): multinomial logistic regression on the pixels' intensities
 * (clip(x) + 1) / 2, full-batch gradient descent with heavy-ball momentum 0.9 and an L2 penalty,
 * in float64, from zero weights.
 */
export function fitJudge(config: JudgeConfig = JUDGE_CONFIG): Judge {
  const C = NUM_CLASSES;
  const { x, cls } = sampleBatch(config.images, new Rng(config.seed));
  const n = config.images;
  const u = new Float64Array(n * D);
  for (let m = 0; m < n * D; m++) u[m] = (clip(x[m]!) + 1) / 2;
  const w = new Float64Array((D + 1) * C);
  const v = new Float64Array((D + 1) * C);
  const grad = new Float64Array((D + 1) * C);
  const lp = new Float64Array(C);
  const r = new Float64Array(C);
  for (let step = 0; step < config.steps; step++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      logits(w, u, i * D, lp);
      logSoftmaxInPlace(lp);
      for (let c = 0; c < C; c++) r[c] = Math.exp(lp[c]!) - (cls[i] === c ? 1 : 0);
      for (let p = 0; p < D; p++) {
        const val = u[i * D + p]!;
        const row = p * C;
        for (let c = 0; c < C; c++) grad[row + c] = grad[row + c]! + r[c]! * val;
      }
      for (let c = 0; c < C; c++) grad[D * C + c] = grad[D * C + c]! + r[c]!;
    }
    for (let k = 0; k < w.length; k++) {
      const g = grad[k]! / n + (k < D * C ? config.l2 * w[k]! : 0);
      v[k] = 0.9 * v[k]! - config.learningRate * g;
      w[k] = w[k]! + v[k]!;
    }
  }
  const test = sampleBatch(1024, new Rng(config.seed + 1));
  const scores = judgeScores(test.x, test.cls, { weights: w, realAccuracy: 0, realMeanLogProb: 0 });
  let correct = 0;
  for (let i = 0; i < 1024; i++) {
    intensityLogits(w, test.x, i * D, lp);
    let best = 0;
    for (let c = 1; c < C; c++) if (lp[c]! > lp[best]!) best = c;
    if (best === test.cls[i]) correct++;
  }
  return { weights: w, realAccuracy: correct / 1024, realMeanLogProb: scores.reduce((a, b) => a + b, 0) / 1024 };
}

let judge: Judge | undefined;

/** The frozen judge (fitted on first use). */
export function theJudge(): Judge {
  judge ??= fitJudge();
  return judge;
}

/** The judge's score of N images [N, D] for their prompts cls: log p(cls[i] | image i), [N]. */
export function judgeScores(x: ArrayLike<number>, cls: Int32Array, j: Judge = theJudge()): Float32Array {
  const N = cls.length;
  const out = new Float32Array(N);
  const lp = new Float64Array(NUM_CLASSES);
  for (let i = 0; i < N; i++) {
    intensityLogits(j.weights, x, i * D, lp);
    logSoftmaxInPlace(lp);
    out[i] = lp[cls[i]!]!;
  }
  return out;
}
