/**
 * Samplers of the flow model, as DanceGRPO runs FLUX (the trainer the paper builds on):
 *
 *   sigmas  = shift s / (1 + (shift - 1) s),  s = 1, 1 - 1/T, ..., 0      (`sd3_time_shift`, shift 3)
 *   sigma = sigmas[t], dsigma = sigmas[t + 1] - sigma (< 0)
 *   x0-hat = z - sigma v
 *   mean   = z + dsigma v - 1/2 eta^2 score dsigma,  score = -(z - (1 - sigma) x0-hat) / sigma^2
 *          = a z + b v,  a = 1 + eta^2 dsigma / (2 sigma),  b = dsigma (1 + eta^2 (1 - sigma) / (2 sigma))
 *   z'     = mean + eta sqrt(-dsigma) eps                                   (`flux_step`, eta 0.3)
 *   logp   = mean over the D dims of the Gaussian log-density of z' (DanceGRPO averages, not sums)
 *
 * plus the deterministic ODE (Euler) sampler on the same schedule, the ODE completion of many
 * intermediate states at once (the per-step credit's value function), and x0-hat.
 */
import type * as TF from '@tensorflow/tfjs';
import { D, type Rng } from './data.js';
import type { VelocityNet } from './model.js';
import { tfjs } from './tf.js';

/** The sampler's settings. */
export interface SamplerConfig {
  /** Steps T. */
  T: number;
  /** Noise level eta of the SDE step (std eta sqrt(-dsigma)). */
  eta: number;
  /** Time shift of the sigma schedule (1: linear). */
  shift: number;
}

/** Shifted sigma schedule 1 -> 0 with T steps (T + 1 values). */
export function sigmaSchedule(T: number, shift: number): Float32Array {
  const s = new Float32Array(T + 1);
  for (let j = 0; j <= T; j++) {
    const u = 1 - j / T;
    s[j] = (shift * u) / (1 + (shift - 1) * u);
  }
  return s;
}

/** Per-step SDE coefficients: mean = a z + b v, noise std c; and the schedule itself. */
export interface StepCoefs {
  sigmas: Float32Array;
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
}

export function sdeCoefs(cfg: SamplerConfig): StepCoefs {
  const { T, eta, shift } = cfg;
  const sigmas = sigmaSchedule(T, shift);
  const a = new Float32Array(T);
  const b = new Float32Array(T);
  const c = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const sigma = sigmas[t]!;
    const ds = sigmas[t + 1]! - sigma;
    a[t] = 1 + (eta * eta * ds) / (2 * sigma);
    b[t] = ds * (1 + (eta * eta * (1 - sigma)) / (2 * sigma));
    c[t] = eta * Math.sqrt(-ds);
  }
  return { sigmas, a, b, c };
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Log-probabilities [m] of transitions z -> zNext at step indices `step` given the velocities v
 * (mean over dims). The one formula used when sampling and when training, so that unchanged
 * parameters give ratio 1.
 */
export function logProbGivenVelocity(z: TF.Tensor2D, zNext: TF.Tensor2D, v: TF.Tensor2D, step: Int32Array, coefs: StepCoefs): TF.Tensor1D {
  const tf = tfjs();
  const m = step.length;
  const a = new Float32Array(m);
  const b = new Float32Array(m);
  const inv = new Float32Array(m);
  const logc = new Float32Array(m);
  for (let r = 0; r < m; r++) {
    const t = step[r]!;
    a[r] = coefs.a[t]!;
    b[r] = coefs.b[t]!;
    inv[r] = -1 / (2 * coefs.c[t]! * coefs.c[t]!);
    logc[r] = -Math.log(coefs.c[t]!) - HALF_LOG_2PI;
  }
  const mean = tf.add(tf.mul(z, tf.tensor2d(a, [m, 1])), tf.mul(v, tf.tensor2d(b, [m, 1])));
  const sq = tf.mean(tf.square(tf.sub(zNext, mean)), 1);
  return tf.add(tf.mul(sq, tf.tensor1d(inv)), tf.tensor1d(logc)) as TF.Tensor1D;
}

/** Log pi(z_{t+1} | z_t) under the network's current parameters (with gradients when inside one). */
export function transitionLogProb(
  net: VelocityNet,
  z: TF.Tensor2D,
  zNext: TF.Tensor2D,
  step: Int32Array,
  cls: Int32Array,
  coefs: StepCoefs,
): TF.Tensor1D {
  const sig = Float32Array.from(step, (t) => coefs.sigmas[t]!);
  return logProbGivenVelocity(z, zNext, net.forward(z, sig, cls), step, coefs);
}

/** A batch of SDE rollouts with everything the trainer and the diagnostics need. */
export interface Rollout {
  N: number;
  T: number;
  cls: Int32Array;
  /**
   * The T+1 states of the trajectories, each [N, D], as the sampler produced them: state 0 is the
   * noise, state T the output. otca takes this list as it is (`otcaAdvantagesTf`, or
   * `otcaAdvantages` with one `Tensor.from(state, [N, D])` per state), so nothing is interleaved.
   */
  states: Float32Array[];
  /** [N, T]: log pi_old of each step. */
  logProbs: Float32Array;
  /** T+1 x [N, D]: the prediction x0-hat at each state (state T: z_T itself). Only when asked. */
  x0hat?: Float32Array[];
}

/**
 * Sample N trajectories of the SDE (no gradients) from the initial noise z0 [N, D] (the caller
 * decides which samples share it), drawing each step's noise from `rng`.
 */
export function sdeRollout(
  net: VelocityNet,
  cls: Int32Array,
  z0: Float32Array,
  coefs: StepCoefs,
  rng: Rng,
  keepX0hat = false,
): Rollout {
  const tf = tfjs();
  const N = cls.length;
  const T = coefs.a.length;
  const states: Float32Array[] = [z0.slice()];
  const logProbs = new Float32Array(N * T);
  const x0hat: Float32Array[] | undefined = keepX0hat ? [] : undefined;
  const eps = new Float32Array(N * D);
  for (let t = 0; t < T; t++) {
    const sigma = coefs.sigmas[t]!;
    const step = new Int32Array(N).fill(t);
    const sig = new Float32Array(N).fill(sigma);
    const zPrev = states[t]!;
    const z = new Float32Array(N * D);
    rng.normals(eps);
    const lp = tf.tidy(() => {
      const zt = tf.tensor2d(zPrev, [N, D]);
      const v = net.forward(zt, sig, cls);
      const vd = v.dataSync() as Float32Array;
      if (x0hat) {
        const xh = new Float32Array(N * D);
        for (let k = 0; k < N * D; k++) xh[k] = zPrev[k]! - sigma * vd[k]!;
        x0hat.push(xh);
      }
      const a = coefs.a[t]!;
      const b = coefs.b[t]!;
      const c = coefs.c[t]!;
      for (let k = 0; k < N * D; k++) z[k] = a * zPrev[k]! + b * vd[k]! + c * eps[k]!;
      return logProbGivenVelocity(zt, tf.tensor2d(z, [N, D]), v, step, coefs).dataSync() as Float32Array;
    });
    states.push(z);
    for (let i = 0; i < N; i++) logProbs[i * T + t] = lp[i]!;
  }
  if (x0hat) x0hat.push(states[T]!.slice());
  return { N, T, cls, states, logProbs, x0hat };
}

/** Deterministic ODE (Euler) sampling from the given initial noise [N, D]; returns the outputs [N, D]. */
export function odeSample(net: VelocityNet, cls: Int32Array, noise: Float32Array, sigmas: Float32Array): Float32Array {
  const tf = tfjs();
  const N = cls.length;
  const T = sigmas.length - 1;
  const z = noise.slice();
  for (let t = 0; t < T; t++) {
    const ds = sigmas[t + 1]! - sigmas[t]!;
    const sig = new Float32Array(N).fill(sigmas[t]!);
    const v = tf.tidy(() => net.forward(tf.tensor2d(z, [N, D]), sig, cls).dataSync() as Float32Array);
    for (let k = 0; k < N * D; k++) z[k] = z[k]! + ds * v[k]!;
  }
  return z;
}

/**
 * The deterministic ODE completion of every state of the trajectories: for each state j = 0..T
 * and sample i, the output of the Euler ODE started from z[j][i] at sigma_j (state T: z_T
 * itself). Returns T+1 x [N, D], as the states. All completions at the same sigma run as one
 * batch (rows in sample-major order (i, j)), so the cost is T batched calls of up to N T rows.
 */
export function odeCompletions(net: VelocityNet, r: Pick<Rollout, 'N' | 'T' | 'cls' | 'states'>, sigmas: Float32Array): Float32Array[] {
  const tf = tfjs();
  const { N, T } = r;
  const out = r.states.map((s) => s.slice());
  for (let t = 0; t < T; t++) {
    // Completions started at j <= t are all at sigma_t now.
    const rows = N * (t + 1);
    const z = new Float32Array(rows * D);
    const cls = new Int32Array(rows);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j <= t; j++) {
        const k = i * (t + 1) + j;
        z.set(out[j]!.subarray(i * D, (i + 1) * D), k * D);
        cls[k] = r.cls[i]!;
      }
    }
    const ds = sigmas[t + 1]! - sigmas[t]!;
    const sig = new Float32Array(rows).fill(sigmas[t]!);
    const v = tf.tidy(() => net.forward(tf.tensor2d(z, [rows, D]), sig, cls).dataSync() as Float32Array);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j <= t; j++) {
        const k = i * (t + 1) + j;
        const o = out[j]!;
        for (let p = 0; p < D; p++) o[i * D + p] = z[k * D + p]! + ds * v[k * D + p]!;
      }
    }
  }
  return out;
}

/** The last state of each trajectory, [N, D] (the sampler's state T itself, not a copy). */
export function finalStates(r: Pick<Rollout, 'T' | 'states'>): Float32Array {
  return r.states[r.T]!;
}
