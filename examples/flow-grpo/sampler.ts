/**
 * Samplers of the flow model: Flow-GRPO's SDE step with its log-probability
 * (`sde_step_with_logprob`), the deterministic ODE (Euler) sampler for evaluation, and x0-hat.
 *
 *   sigma = s[t], sigma' = s[t+1], dt = sigma' - sigma (< 0), sigma_max = s[1]
 *   std   = eta * sqrt(sigma / (1 - (sigma == 1 ? sigma_max : sigma)))
 *   mean  = z * (1 + std^2 / (2 sigma) * dt) + v * (1 + std^2 (1 - sigma) / (2 sigma)) * dt
 *   z'    = mean + std * sqrt(-dt) * eps
 *   logp  = mean over the D dims of the Gaussian log-density of z' (Flow-GRPO averages, not sums)
 */
import type * as TF from '@tensorflow/tfjs';
import { D, Rng } from './data.js';
import type { VelocityNet } from './model.js';
import { tfjs } from './tf.js';

/** Linear sigma schedule 1 -> 0 with T steps (T + 1 values). */
export function sigmaSchedule(T: number): Float32Array {
  const s = new Float32Array(T + 1);
  for (let j = 0; j <= T; j++) s[j] = 1 - j / T;
  return s;
}

/** Per-step SDE coefficients: mean = a z + b v, noise scale c. */
export interface StepCoefs {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
}

export function sdeCoefs(T: number, eta: number): StepCoefs {
  const s = sigmaSchedule(T);
  const sigmaMax = s[1]!;
  const a = new Float32Array(T);
  const b = new Float32Array(T);
  const c = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const sigma = s[t]!;
    const dt = s[t + 1]! - sigma;
    const std = eta * Math.sqrt(sigma / (1 - (sigma === 1 ? sigmaMax : sigma)));
    a[t] = 1 + ((std * std) / (2 * sigma)) * dt;
    b[t] = (1 + (std * std * (1 - sigma)) / (2 * sigma)) * dt;
    c[t] = std * Math.sqrt(-dt);
  }
  return { a, b, c };
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Log-probabilities [m] of transitions zNext given z at step indices `step` (the policy's
 * log pi(a_t | s_t), mean over dims). Used identically when sampling and when training, so
 * unchanged parameters give ratio 1.
 */
export function transitionLogProb(
  net: VelocityNet,
  z: TF.Tensor2D,
  zNext: TF.Tensor2D,
  step: Int32Array,
  cls: Int32Array,
  T: number,
  coefs: StepCoefs,
): TF.Tensor1D {
  const tf = tfjs();
  const m = step.length;
  const sig = new Float32Array(m);
  const a = new Float32Array(m);
  const b = new Float32Array(m);
  const c = new Float32Array(m);
  const logc = new Float32Array(m);
  for (let r = 0; r < m; r++) {
    const t = step[r]!;
    sig[r] = 1 - t / T;
    a[r] = coefs.a[t]!;
    b[r] = coefs.b[t]!;
    c[r] = 1 / (2 * coefs.c[t]! * coefs.c[t]!);
    logc[r] = -Math.log(coefs.c[t]!) - HALF_LOG_2PI;
  }
  const v = net.forward(z, sig, cls);
  const mean = tf.add(tf.mul(z, tf.tensor2d(a, [m, 1])), tf.mul(v, tf.tensor2d(b, [m, 1])));
  const sq = tf.mean(tf.square(tf.sub(zNext, mean)), 1);
  return tf.add(tf.mul(sq, tf.tensor1d(c).neg()), tf.tensor1d(logc)) as TF.Tensor1D;
}

/** A group of SDE rollouts with everything the trainer and the diagnostics need. */
export interface Rollout {
  N: number;
  T: number;
  cls: Int32Array;
  /** [N, T+1, D], sampling order: state 0 is the noise, state T the output. */
  latents: Float32Array;
  /** [N, T]: log pi_old of each step. */
  logProbs: Float32Array;
  /** [N, T+1, D]: the prediction x0-hat at each state (state T: z_T itself). Only when asked. */
  x0hat?: Float32Array;
}

/** Sample N trajectories of the SDE (no gradients). */
export function sdeRollout(
  net: VelocityNet,
  cls: Int32Array,
  T: number,
  eta: number,
  rng: Rng,
  keepX0hat = false,
): Rollout {
  const tf = tfjs();
  const N = cls.length;
  const coefs = sdeCoefs(T, eta);
  const latents = new Float32Array(N * (T + 1) * D);
  const logProbs = new Float32Array(N * T);
  const x0hat = keepX0hat ? new Float32Array(N * (T + 1) * D) : undefined;
  const z = rng.normals(new Float32Array(N * D));
  const eps = new Float32Array(N * D);
  const put = (dst: Float32Array, j: number, src: Float32Array): void => {
    for (let i = 0; i < N; i++) dst.set(src.subarray(i * D, (i + 1) * D), (i * (T + 1) + j) * D);
  };
  put(latents, 0, z);
  for (let t = 0; t < T; t++) {
    const sigma = 1 - t / T;
    const step = new Int32Array(N).fill(t);
    const sig = new Float32Array(N).fill(sigma);
    const v = tf.tidy(() => net.forward(tf.tensor2d(z, [N, D]), sig, cls).dataSync() as Float32Array);
    if (x0hat) {
      const xh = new Float32Array(N * D);
      for (let k = 0; k < N * D; k++) xh[k] = z[k]! - sigma * v[k]!;
      put(x0hat, t, xh);
    }
    const zPrev = z.slice();
    rng.normals(eps);
    const a = coefs.a[t]!;
    const b = coefs.b[t]!;
    const c = coefs.c[t]!;
    for (let k = 0; k < N * D; k++) z[k] = a * zPrev[k]! + b * v[k]! + c * eps[k]!;
    put(latents, t + 1, z);
    const lp = tf.tidy(
      () =>
        transitionLogProb(net, tf.tensor2d(zPrev, [N, D]), tf.tensor2d(z, [N, D]), step, cls, T, coefs).dataSync() as Float32Array,
    );
    for (let i = 0; i < N; i++) logProbs[i * T + t] = lp[i]!;
  }
  if (x0hat) put(x0hat, T, z);
  return { N, T, cls, latents, logProbs, x0hat };
}

/** Deterministic ODE (Euler) sampling from the given initial noise [N, D]; returns the outputs [N, D]. */
export function odeSample(net: VelocityNet, cls: Int32Array, T: number, noise: Float32Array): Float32Array {
  const tf = tfjs();
  const N = cls.length;
  const z = noise.slice();
  for (let t = 0; t < T; t++) {
    const sigma = 1 - t / T;
    const dt = -1 / T;
    const sig = new Float32Array(N).fill(sigma);
    const v = tf.tidy(() => net.forward(tf.tensor2d(z, [N, D]), sig, cls).dataSync() as Float32Array);
    for (let k = 0; k < N * D; k++) z[k] = z[k]! + dt * v[k]!;
  }
  return z;
}

/** The last state of each trajectory, [N, D]. */
export function finalStates(r: Rollout): Float32Array {
  const out = new Float32Array(r.N * D);
  for (let i = 0; i < r.N; i++) {
    const o = (i * (r.T + 1) + r.T) * D;
    out.set(r.latents.subarray(o, o + D), i * D);
  }
  return out;
}
