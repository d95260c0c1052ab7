/**
 * GRPO for the flow model with otca's per-step advantages: per iteration, sample groups of G SDE
 * trajectories per prompt with the current (old) policy (one initial noise per group, as the paper
 * and DanceGRPO's `init_same_noise` do), score them, get Adv[i, t] from otca, then take
 * `minibatches` Adam steps over shuffled chunks of the T steps (every step trains, as in the
 * paper) on the clipped objective
 *   L = mean_{i,t} max(-Adv[i,t] rho, -Adv[i,t] clip(rho, 1 - eps, 1 + eps)),  rho = pi / pi_old.
 *
 * Random numbers come from streams named by (seed, iteration, purpose), so arms run with the same
 * seed see the same initial noise, the same SDE noise draws and the same step order (common random
 * numbers): their differences are the arms', not the dice's.
 */
import type * as TF from '@tensorflow/tfjs';
import { D, NUM_CLASSES, Rng, subSeed } from './data.js';
import { VelocityNet } from './model.js';
import { K, heldOut, scoreImages } from './rewards.js';
import { judgeScores } from './judge.js';
import { type Rollout, type StepCoefs, finalStates, odeSample, sdeCoefs, sdeRollout, transitionLogProb } from './sampler.js';
import { type ArmName, type StepAdvantages, stepAdvantages } from './advantages.js';
import { tfjs } from './tf.js';

export interface TrainConfig {
  /** SDE steps T. */
  T: number;
  /** Group size G (samples per prompt). */
  G: number;
  /** Prompts (groups) per iteration B; N = B * G. */
  prompts: number;
  /** SDE noise level eta (step std eta sqrt(-dsigma)). */
  eta: number;
  /** Time shift of the sigma schedule. */
  shift: number;
  /** Adam learning rate. */
  lr: number;
  /** Ratio clip range epsilon. */
  clipRange: number;
  /** Adam steps per iteration (each over T / minibatches of the steps, all samples). */
  minibatches: number;
}

export const TRAIN_DEFAULTS: TrainConfig = { T: 16, G: 12, prompts: 4, eta: 0.3, shift: 3, lr: 1e-4, clipRange: 1e-4, minibatches: 4 };

export interface IterationStats {
  /** Mean of each training reward over the batch [K]. */
  rewards: number[];
  loss: number;
  /** Share of (i, t) whose ratio left the clip range. */
  clipFraction: number;
  /** L2 norm of the first minibatch's gradient. */
  gradNorm: number;
  /** Largest |rho - 1| in the first minibatch (0 up to rounding: parameters unchanged then). */
  firstRatioError: number;
}

/** What one iteration used, for tests and logging. */
export interface IterationDetail {
  rollout: Rollout;
  rewardMatrix: Float32Array;
  adv: StepAdvantages;
  stats: IterationStats;
}

export class GrpoTrainer {
  readonly coefs: StepCoefs;
  private readonly opt: TF.Optimizer;
  iteration = 0;

  constructor(
    readonly net: VelocityNet,
    readonly arm: ArmName,
    readonly cfg: TrainConfig,
    readonly seed: number,
  ) {
    this.coefs = sdeCoefs(cfg);
    this.opt = tfjs().train.adam(cfg.lr);
  }

  /** The random stream of this iteration for one purpose (0: initial noise, 1: SDE noise, 2: step order). */
  private stream(purpose: number): Rng {
    return new Rng(subSeed(this.seed, this.iteration, purpose));
  }

  /** Classes of the next batch: each group one prompt, cycling through the classes. */
  private batchClasses(): Int32Array {
    const { prompts, G } = this.cfg;
    const cls = new Int32Array(prompts * G);
    for (let b = 0; b < prompts; b++) cls.fill((this.iteration * prompts + b) % NUM_CLASSES, b * G, (b + 1) * G);
    return cls;
  }

  /** Log-probabilities under the current parameters of the steps (i, t) listed, as a tensor. */
  logProbOf(r: Rollout, rows: { i: Int32Array; t: Int32Array }): TF.Tensor1D {
    const tf = tfjs();
    const m = rows.i.length;
    const z = new Float32Array(m * D);
    const zn = new Float32Array(m * D);
    const cls = new Int32Array(m);
    for (let k = 0; k < m; k++) {
      const i = rows.i[k]!;
      const t = rows.t[k]!;
      z.set(r.states[t]!.subarray(i * D, (i + 1) * D), k * D);
      zn.set(r.states[t + 1]!.subarray(i * D, (i + 1) * D), k * D);
      cls[k] = r.cls[i]!;
    }
    return transitionLogProb(this.net, tf.tensor2d(z, [m, D]), tf.tensor2d(zn, [m, D]), rows.t, cls, this.coefs);
  }

  /** The clipped GRPO loss over the listed steps. */
  lossOf(r: Rollout, adv: Float32Array, rows: { i: Int32Array; t: Int32Array }): { loss: TF.Scalar; ratio: TF.Tensor1D } {
    const tf = tfjs();
    const m = rows.i.length;
    const old = new Float32Array(m);
    const a = new Float32Array(m);
    for (let k = 0; k < m; k++) {
      old[k] = r.logProbs[rows.i[k]! * r.T + rows.t[k]!]!;
      a[k] = adv[rows.i[k]! * r.T + rows.t[k]!]!;
    }
    const ratio = tf.exp(tf.sub(this.logProbOf(r, rows), tf.tensor1d(old))) as TF.Tensor1D;
    const at = tf.tensor1d(a);
    const eps = this.cfg.clipRange;
    const unclipped = tf.mul(tf.neg(at), ratio);
    const clipped = tf.mul(tf.neg(at), tf.clipByValue(ratio, 1 - eps, 1 + eps));
    return { loss: tf.mean(tf.maximum(unclipped, clipped)) as TF.Scalar, ratio };
  }

  /** One GRPO iteration: sample, score, otca advantages, `minibatches` Adam steps. */
  async step(): Promise<IterationDetail> {
    const tf = tfjs();
    const { T, G, minibatches } = this.cfg;
    const cls = this.batchClasses();
    const N = cls.length;
    const rollout = sdeRollout(this.net, cls, groupNoise(N, G, this.stream(0)), this.coefs, this.stream(1));
    const rewardMatrix = scoreImages(finalStates(rollout), cls);
    const adv = await stepAdvantages(this.arm, rewardMatrix, K, rollout.states, N, D, G);

    const order = Array.from({ length: T }, (_, t) => t);
    const shuffle = this.stream(2);
    for (let k = T - 1; k > 0; k--) {
      const j = shuffle.int(k + 1);
      [order[k], order[j]] = [order[j]!, order[k]!];
    }
    let lossSum = 0;
    let clipped = 0;
    let gradNorm = 0;
    let firstRatioError = 0;
    const per = Math.ceil(T / minibatches);
    for (let mb = 0; mb < minibatches; mb++) {
      const steps = order.slice(mb * per, (mb + 1) * per);
      if (steps.length === 0) continue;
      const m = N * steps.length;
      const rows = { i: new Int32Array(m), t: new Int32Array(m) };
      for (let i = 0, k = 0; i < N; i++) {
        for (const t of steps) {
          rows.i[k] = i;
          rows.t[k++] = t;
        }
      }
      let ratioData: Float32Array | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const { loss, ratio } = this.lossOf(rollout, adv.advantages, rows);
        ratioData = ratio.dataSync() as Float32Array;
        return loss;
      }, this.net.vars);
      lossSum += value.dataSync()[0]! * m;
      for (const r of ratioData!) {
        if (Math.abs(r - 1) > this.cfg.clipRange) clipped++;
        if (mb === 0) firstRatioError = Math.max(firstRatioError, Math.abs(r - 1));
      }
      if (mb === 0) {
        gradNorm = Math.sqrt(
          tf.tidy(() => Object.values(grads).reduce((s, g) => s + (tf.sum(tf.square(g)).dataSync()[0] as number), 0)),
        );
      }
      this.opt.applyGradients(grads);
      value.dispose();
      tf.dispose(grads);
    }
    this.iteration++;
    const rewards: number[] = [];
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += rewardMatrix[i * K + k]!;
      rewards.push(s / N);
    }
    return {
      rollout,
      rewardMatrix,
      adv,
      stats: { rewards, loss: lossSum / (N * T), clipFraction: clipped / (N * T), gradNorm, firstRatioError },
    };
  }

  dispose(): void {
    this.opt.dispose();
  }
}

/** Initial noise [N, D] with one draw per group of G samples (the paper's "same noise for generation"). */
export function groupNoise(N: number, G: number, rng: Rng): Float32Array {
  const z = new Float32Array(N * D);
  const one = new Float32Array(D);
  for (let b = 0; b < N / G; b++) {
    rng.normals(one);
    for (let g = 0; g < G; g++) z.set(one, (b * G + g) * D);
  }
  return z;
}

/** Fixed held-out prompts and seeds for evaluation. */
export interface EvalSet {
  cls: Int32Array;
  noise: Float32Array;
}

export function makeEvalSet(perClass: number, seed = 424242): EvalSet {
  const N = perClass * NUM_CLASSES;
  const cls = new Int32Array(N);
  for (let i = 0; i < N; i++) cls[i] = i % NUM_CLASSES;
  return { cls, noise: new Rng(seed).normals(new Float32Array(N * D)) };
}

export interface EvalResult {
  /** Mean of each training reward [K], of the held-out fidelity and of the held-out judge's score, deterministic ODE sampling. */
  rewards: number[];
  heldOut: number;
  judge: number;
  images: Float32Array;
  /** Per image: rewards [n, K], fidelity [n] and the judge's score [n]. */
  perImage: { rewards: Float32Array; heldOut: Float32Array; judge: Float32Array };
}

export function evaluate(net: VelocityNet, set: EvalSet, sigmas: Float32Array): EvalResult {
  const images = odeSample(net, set.cls, set.noise, sigmas);
  const r = scoreImages(images, set.cls);
  const h = heldOut(images, set.cls);
  const j = judgeScores(images, set.cls);
  const N = set.cls.length;
  const rewards = Array.from({ length: K }, (_, k) => {
    let s = 0;
    for (let i = 0; i < N; i++) s += r[i * K + k]!;
    return s / N;
  });
  const meanOf = (xs: Float32Array): number => xs.reduce((a, b) => a + b, 0) / N;
  return { rewards, heldOut: meanOf(h), judge: meanOf(j), images, perImage: { rewards: r, heldOut: h, judge: j } };
}
