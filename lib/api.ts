/**
 * The one-shot functions: the advantage step and its two phases as single calls, each a thin
 * wrapper over an {@link AdvantageStep} made for its options (and kept, so that a repeated call with
 * the same options parses nothing twice and reuses the native state); and backend information.
 * @packageDocumentation
 */
import { nativeBinaryPath, native, packageVersion } from './native.js';
import type { OtcaOptions, OutputsRequest } from './options.js';
import {
  AdvantageStep,
  type ObjectiveInputs,
  type ObjectiveResult,
  type OtcaInputs,
  type OtcaResult,
  type TrajectoryInputs,
  type TrajectoryResult,
} from './step.js';
import { rangeError, typeError } from './errors.js';
import { member } from './own.js';
import { cudaReason, isTensor, Tensor } from './tensor.js';
import { optionsKey, readOptions, resolveOptions } from './validate.js';

/** Steps of the one-shot calls, by their resolved options; the least recently used go first. */
const steps = new Map<string, AdvantageStep>();
const MAX_STEPS = 16;

/**
 * The step for `options`: a kept one where equal options were seen, else a new one. The options are
 * read once (validate.ts readOptions), and the key and the plan are both made from that snapshot.
 */
function stepFor(options: unknown): AdvantageStep {
  const snapshot = readOptions(options);
  const key = optionsKey(snapshot);
  if (key === undefined) return new AdvantageStep(resolveOptions(snapshot));  // options of a kind the key does not cover
  let step = steps.get(key);
  if (step !== undefined) {
    steps.delete(key);  // re-inserted below: most recent last
  } else {
    step = new AdvantageStep(resolveOptions(snapshot));
    if (steps.size >= MAX_STEPS) {
      const [oldest, evicted] = steps.entries().next().value as [string, AdvantageStep];
      steps.delete(oldest);
      evicted.dispose();  // runs in flight keep what they use
    }
  }
  steps.set(key, step);
  return step;
}

/**
 * OTCA per-step advantages Adv [N, T]: per-objective group advantages A (eq. 2), trajectory credit
 * w from the latents (TCD, eqs. 6-8), objective fusion f (MOCA, eqs. 11-14), and
 * Adv[i,t] = w[i,t] * f[i]. Runs on `options.device` (see {@link OtcaOptions.device}): inputs may be
 * host or device Tensors; results are device Tensors where the call ran on CUDA with device inputs
 * (see {@link OtcaOptions.outputDevice}), and `backend` says what ran. Synchronous: blocks the
 * calling thread; see {@link otcaAdvantagesAsync}. Every argument is validated first. A trainer that
 * calls it every iteration with the same options can make the step once with
 * {@link createAdvantageStep} instead.
 *
 * @param inputs - `{ rewards [N, K], latents, groupSize }` or `{ rewards, latents, groupIds }`.
 * @param options - {@link OtcaOptions}; `outputs` selects the extra result fields.
 * @returns `{ backend, advantages, ...requested outputs }`, float32 Tensors.
 * @throws TypeError / RangeError naming the argument on bad input.
 * @example
 * ```ts
 * import { Tensor, otcaAdvantages } from 'otca';
 * const rewards = Tensor.from(new Float32Array(N * K), [N, K]);
 * const latents = Tensor.from(bits, [N, T + 1, D], 'bfloat16');   // bits: Uint16Array
 * const out = otcaAdvantages({ rewards, latents, groupSize: G }, { outputs: 'all' });
 * out.advantages.data;  // Float32Array, row-major [N, T]
 * out.lambda.data;      // lam [N]
 * ```
 */
export function otcaAdvantages<const O extends OutputsRequest = 'advantages'>(
  inputs: OtcaInputs,
  options?: OtcaOptions & { outputs?: O },
): OtcaResult<O> {
  return stepFor(options).run(inputs) as OtcaResult<O>;
}

/**
 * {@link otcaAdvantages} on the libuv thread pool: the event loop stays free while it runs, and every
 * input buffer is held until it settles. Validation errors reject the promise.
 * @example
 * ```ts
 * const out = await otcaAdvantagesAsync({ rewards, latents, groupSize: 12 }, { threads: 2 });
 * ```
 */
export async function otcaAdvantagesAsync<const O extends OutputsRequest = 'advantages'>(
  inputs: OtcaInputs,
  options?: OtcaOptions & { outputs?: O },
): Promise<OtcaResult<O>> {
  return (await stepFor(options).runAsync(inputs)) as OtcaResult<O>;
}

/**
 * Phase 1: everything that needs only each sample's own latents — similarity S, deltaS dS,
 * rawWeights wbar, stepWeights w and trajectoryScore q. Run where the latents live; then gather q and
 * the rewards and run {@link objectiveCredit}. Reads the temporal options (temporal, minWeight,
 * weightScale, epsTcd, threads, device); the others are validated and ignored.
 * @example
 * ```ts
 * const t = trajectoryCredit({ latents }, options);
 * const o = objectiveCredit({ rewards, trajectoryScore: t.trajectoryScore, groupSize: G }, options);
 * const adv = combineCredit(t, o);  // exactly otcaAdvantages' advantages
 * ```
 */
export function trajectoryCredit(inputs: TrajectoryInputs, options?: OtcaOptions): TrajectoryResult {
  return stepFor(options).trajectory(inputs);
}

/** {@link trajectoryCredit} on the libuv thread pool. */
export async function trajectoryCreditAsync(inputs: TrajectoryInputs, options?: OtcaOptions): Promise<TrajectoryResult> {
  return stepFor(options).trajectoryAsync(inputs);
}

/**
 * Phase 2: everything per group from N*(K+1) numbers — objectiveAdvantages A (eq. 2), exploration e
 * (eq. 12), lambda lam (eq. 14), coefficients c (Algorithm 1) and fused f.
 * @example
 * ```ts
 * const o = objectiveCredit({ rewards, trajectoryScore: q, groupSize: 12 }, { objective: 'moca' });
 * o.fused.data;  // f [N]
 * ```
 */
export function objectiveCredit(inputs: ObjectiveInputs, options?: OtcaOptions): ObjectiveResult {
  return stepFor(options).objective(inputs);
}

/**
 * The advantages Adv [N, T] from the two phases' results: Adv[i,t] = w[i,t] * f[i] in float32 (f[i,t]
 * with per-step rewards), the very bits the one-call API gives. Host results only (copy device
 * results with `to('cpu')`).
 * @param trajectory - phase 1's result (its `stepWeights` [N, T]).
 * @param objective - phase 2's result (its `fused` [N], or [N, T] from per-step rewards), for the same N samples in the same order.
 * @example
 * ```ts
 * const adv = combineCredit(step.trajectory({ latents }), step.objective({ rewards, trajectoryScore: q, groupSize: G }));
 * ```
 */
export function combineCredit(
  trajectory: { stepWeights: Tensor<'float32'> },
  objective: { fused: Tensor<'float32'> },
): Tensor<'float32'> {
  if (typeof trajectory !== 'object' || trajectory === null) throw typeError("phase 1's result { stepWeights }", 'trajectory', trajectory);
  if (typeof objective !== 'object' || objective === null) throw typeError("phase 2's result { fused }", 'objective', objective);
  const w = member(trajectory, 'stepWeights');
  const f = member(objective, 'fused');
  if (!isTensor(w) || w.dtype !== 'float32' || w.rank !== 2) {
    throw typeError('float32 Tensor [N, T] (phase 1\'s stepWeights)', 'trajectory.stepWeights', w);
  }
  if (!isTensor(f) || f.dtype !== 'float32' || (f.rank !== 1 && f.rank !== 2)) {
    throw typeError('float32 Tensor [N] or [N, T] (phase 2\'s fused)', 'objective.fused', f);
  }
  const [N, T] = w.shape as [number, number];
  const perStep = f.rank === 2;  // per-step rewards: f [N, T]
  if (f.shape[0] !== N || (perStep && f.shape[1] !== T)) {
    throw rangeError(`shape [${perStep ? `${N}, ${T}` : N}] (as trajectory.stepWeights)`, 'objective.fused', `shape [${f.shape.join(', ')}]`, false);
  }
  if (w.device !== 'cpu' || f.device !== 'cpu') {
    throw typeError("host Tensors (copy device results with to('cpu'))", w.device !== 'cpu' ? 'trajectory.stepWeights' : 'objective.fused', `a Tensor on ${w.device !== 'cpu' ? w.device : f.device}`, false);
  }
  const wd = w.data;
  const fd = f.data;
  const out = new Float32Array(N * T);
  for (let i = 0; i < N; i++) {
    const fi = fd[i]!;
    for (let t = 0; t < T; t++) out[i * T + t] = Math.fround(wd[i * T + t]! * (perStep ? fd[i * T + t]! : fi));
  }
  return Tensor._wrapResult(out, [N, T]);
}

/** {@link objectiveCredit} on the libuv thread pool. */
export async function objectiveCreditAsync(inputs: ObjectiveInputs, options?: OtcaOptions): Promise<ObjectiveResult> {
  return stepFor(options).objectiveAsync(inputs);
}

// ---------------------------------------------------------------- backend information

/** The CPU backend: always compiled and usable. */
export interface CpuBackendInfo {
  /** Always: every build has the CPU backend. */
  compiled: true;
  /** Always. */
  usable: true;
  /** Worker threads a call with `threads: 0` uses (the hardware concurrency). */
  threads: number;
}

/** One CUDA device as the runtime reports it, with the device string to pass as `device`. */
export interface CudaDeviceInfo {
  /** The device index N of `'cuda:N'`. */
  index: number;
  /** e.g. `'NVIDIA H100 80GB HBM3'`. */
  name?: string;
  /** e.g. `'9.0'`. */
  computeCapability?: string;
  /** Streaming multiprocessors. */
  multiprocessors?: number;
  /** Bytes of device memory. */
  memory?: number;
  /** Bytes of L2 cache. */
  l2Bytes?: number;
  /** Why the properties could not be read, where they could not. */
  error?: string;
  /** The device string to pass as `device`, e.g. `'cuda:0'`. */
  device: `cuda:${number}`;
}

/** The CUDA backend: whether it was compiled in, whether it can run here, and why not. */
export interface CudaBackendInfo {
  /** Whether this binary has the CUDA backend (the prebuild does; a from-source build without nvcc does not). */
  compiled: boolean;
  /** Whether it can run here: compiled, a driver new enough for its CUDA runtime, a GPU it was built for. */
  usable: boolean;
  /** Why CUDA cannot be used (no driver, no device, ...), with the CUDA error name; absent when usable. */
  reason?: string;
  /** The CUDA devices (listed where usable). */
  devices: CudaDeviceInfo[];
  /** The SASS/PTX targets compiled in, e.g. `['80-real', '90-real', '90-virtual']`. */
  architectures: string[];
  /** How many CUDA devices the runtime reports (0 where none or not usable). */
  deviceCount: number;
  /** cudaDriverGetVersion (e.g. 12040), 0 when none. */
  driverVersion: number;
  /** cudaRuntimeGetVersion, 0 when not compiled. */
  runtimeVersion: number;
}

/** What {@link backendInfo} returns. */
export interface BackendInfo {
  /** The package version. */
  version: string;
  /** Each backend: compiled in, usable here, and its details. */
  backends: {
    /** The multithreaded CPU backend. */
    cpu: CpuBackendInfo;
    /** The CUDA backend. */
    cuda: CudaBackendInfo;
  };
  /** The path of the loaded native binary (build/Release or prebuilds/). */
  binary: string;
}

/**
 * Which backends this build has and which can run now, with the CPU thread count and the loaded
 * binary. Never throws for a missing GPU: CUDA then reports `usable: false` and the reason.
 * @example
 * ```ts
 * const info = backendInfo();
 * if (!info.backends.cuda.usable) console.log('CPU only:', info.backends.cuda.reason);
 * ```
 */
export function backendInfo(): BackendInfo {
  const n = native().backendInfo();
  const cuda: CudaBackendInfo = {
    compiled: n.cuda.compiled,
    usable: n.cuda.usable,
    devices: n.cuda.devices.map((d, i) => ({ ...d, index: d.index ?? i, device: `cuda:${d.index ?? i}` as const })),
    architectures: n.cuda.architectures ? n.cuda.architectures.split(/[;,\s]+/).filter(Boolean) : [],
    deviceCount: n.cuda.deviceCount,
    driverVersion: n.cuda.driverVersion,
    runtimeVersion: n.cuda.runtimeVersion,
  };
  if (!n.cuda.usable) cuda.reason = cudaReason(n.cuda);
  return {
    version: packageVersion(),
    backends: { cpu: { compiled: true, usable: true, threads: n.cpu.threads }, cuda },
    binary: nativeBinaryPath(),
  };
}
