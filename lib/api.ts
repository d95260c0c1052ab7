/**
 * The public functions: the one-call advantage step, its two phases, and backend information.
 * @packageDocumentation
 */
import type { LatentDtype, RewardDtype } from './dtypes.js';
import { rangeError } from './errors.js';
import {
  JOB_HEADER,
  native,
  nativeBinaryPath,
  OUTPUT_COUNT,
  OUTPUT_SLOTS,
  packageVersion,
  type NativeBuffer,
  type NativeCudaDevice,
  type NativeDeviceBuffer,
  type NativeJob,
  type NativeLatents,
  type NativeOptions,
  type NativeOutputs,
  type NativeRewards,
} from './native.js';
import { OBJECTIVE_OUTPUTS, TRAJECTORY_OUTPUTS, type OtcaOptions, type OutputName, type OutputsRequest } from './options.js';
import { cudaReason, cudaStatus, deviceIndex, requireCuda, Tensor, type Device } from './tensor.js';
import {
  checkGroupSize,
  checkInputs,
  checkLatents,
  checkOptions,
  checkOptionsForK,
  checkRewards,
  checkTrajectoryScore,
  guardAsyncInput,
  type ResolvedOptions,
} from './validate.js';

/** The backend that ran a call: `'cpu'`, or `'cuda:N'` with the CUDA backend. */
export type BackendName = 'cpu' | `cuda:${number}`;

/**
 * The latent trajectory z (paper eq. 6): one Tensor [N, T+1, D], or a list of T+1 Tensors [N, D]
 * (state j = 0 is the initial noise, j = T the final latent), float32, float16 or bfloat16.
 */
export type LatentsInput = Tensor<LatentDtype> | readonly Tensor<LatentDtype>[];

/** Inputs of {@link otcaAdvantages}. */
export interface OtcaInputs {
  /** Rewards r [N, K] (K objectives per sample), float32 or float64; finite. */
  rewards: Tensor<RewardDtype>;
  /** The latent trajectory z, see {@link LatentsInput}. */
  latents: LatentsInput;
  /** Group size G (samples per prompt); groups are contiguous and G divides N. */
  groupSize: number;
}

/** Inputs of {@link trajectoryCredit} (phase 1). */
export interface TrajectoryInputs {
  /** The latent trajectory z, see {@link LatentsInput}. */
  latents: LatentsInput;
}

/** Inputs of {@link objectiveCredit} (phase 2). */
export interface ObjectiveInputs {
  /** Rewards r [N, K], float32 or float64; finite. */
  rewards: Tensor<RewardDtype>;
  /** The trajectory score q [N] (eq. 11), as phase 1 returned it: a float32 Tensor [N] or a Float32Array. */
  trajectoryScore: Tensor<'float32'> | Float32Array;
  /** Group size G; G divides N. */
  groupSize: number;
}

/** Every result tensor, by name, with its SPEC shape. All float32, row-major. */
export interface OutputTensors {
  /** Adv [N, T]: the per-step advantage w[i,t] * f[i] (eq. 15 input). */
  advantages: Tensor<'float32'>;
  /** S [N, T+1]: cos(z[i,j], z[i,T]) (eq. 6). */
  similarity: Tensor<'float32'>;
  /** dS [N, T]: S[i,t+1] - S[i,t], the alignment gained by step t (eq. 7). */
  deltaS: Tensor<'float32'>;
  /** w [N, T]: the step weights applied to the advantage. */
  stepWeights: Tensor<'float32'>;
  /** wbar [N, T]: the eq. 8 weights (sum 1 over t). */
  rawWeights: Tensor<'float32'>;
  /** A [N, K]: per-objective group advantages (eq. 2). */
  objectiveAdvantages: Tensor<'float32'>;
  /** c [N, K]: the objective coefficients (Algorithm 1, or the weights). */
  coefficients: Tensor<'float32'>;
  /** q [N]: the trajectory score sum_t wbar dS (eq. 11). */
  trajectoryScore: Tensor<'float32'>;
  /** e [N]: the exploration signal (eq. 12). */
  exploration: Tensor<'float32'>;
  /** lam [N]: the exploration bias (eq. 14; 0 unless objective 'moca'). */
  lambda: Tensor<'float32'>;
  /** f [N]: the fused advantage sum_k c_k A_k. */
  fused: Tensor<'float32'>;
}

type Extra = Omit<OutputTensors, 'advantages'>;

/**
 * The result of {@link otcaAdvantages}: `backend`, `advantages`, and the outputs asked for. With a
 * literal `outputs` the requested fields are typed as present.
 */
export type OtcaResult<O extends OutputsRequest = OutputsRequest> = {
  /** The backend that ran the call. */
  backend: BackendName;
  /** Adv [N, T]. */
  advantages: Tensor<'float32'>;
} & (OutputsRequest extends O
  ? Partial<Extra>
  : O extends 'all'
    ? Extra
    : O extends 'advantages'
      ? Record<never, never>
      : O extends readonly (infer Name)[]
        ? Pick<OutputTensors, Name & OutputName>
        : Partial<Extra>);

/** The result of {@link trajectoryCredit} (phase 1). */
export type TrajectoryResult = { backend: BackendName } & Pick<OutputTensors, (typeof TRAJECTORY_OUTPUTS)[number]>;

/** The result of {@link objectiveCredit} (phase 2). */
export type ObjectiveResult = { backend: BackendName } & Pick<OutputTensors, (typeof OBJECTIVE_OUTPUTS)[number]>;

// ---------------------------------------------------------------- preparing a call

interface Prepared {
  job: NativeJob;
  /** The result buffers by name (the same ones as job.outputs). */
  outputs: NativeOutputs;
  backend: BackendName;
  shapes: Partial<Record<OutputName, readonly number[]>>;
  /** The device of the results (device buffers in job.outputs), or 'cpu'. */
  outputDevice: Device;
  /** The caller's inputs, held until an async call is done (borrowed device memory's keepAlive). */
  inputs: unknown;
}

function outputShapes(names: Iterable<OutputName>, N: number, T: number, K: number): Partial<Record<OutputName, number[]>> {
  const out: Partial<Record<OutputName, number[]>> = {};
  for (const name of names) {
    switch (name) {
      case 'similarity':
        out[name] = [N, T + 1];
        break;
      case 'advantages':
      case 'deltaS':
      case 'stepWeights':
      case 'rawWeights':
        out[name] = [N, T];
        break;
      case 'objectiveAdvantages':
      case 'coefficients':
        out[name] = [N, K];
        break;
      default:  // trajectoryScore, exploration, lambda, fused
        out[name] = [N];
    }
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (let k = 0; k < shape.length; k++) size *= shape[k] as number;
  return size;
}

/** Float32 outputs on the host, or one device allocation shared by all of them. */
function allocate(shapes: Partial<Record<OutputName, readonly number[]>>, device: Device): NativeOutputs {
  const outputs: NativeOutputs = {};
  if (device === 'cpu') {
    for (const name of Object.keys(shapes) as OutputName[]) outputs[name] = new Float32Array(sizeOf(shapes[name] as readonly number[]));
    return outputs;
  }
  const entries = Object.entries(shapes) as [OutputName, readonly number[]][];
  const sizes = entries.map(([, shape]) => shape.reduce((a, b) => a * b, 1));
  const buffers = native().deviceAlloc(deviceIndex(device), sizes.map((n) => n * 4));
  entries.forEach(([name], k) => (outputs[name] = buffers[k]));
  return outputs;
}

/** Releases the device outputs of a call that failed (they would otherwise wait for the GC). */
function releaseOutputs(p: Prepared): void {
  if (p.outputDevice === 'cpu') return;
  for (const b of Object.values(p.outputs)) native().deviceRelease(b as NativeDeviceBuffer);
}

let warnedFallback = false;

/** 'auto' fell back to the CPU although CUDA is compiled in: say so, once per process. */
function warnFallback(reason: string): void {
  if (warnedFallback) return;
  warnedFallback = true;
  process.emitWarning(`otca: device 'auto' runs on the CPU because CUDA cannot be used: ${reason}`, {
    type: 'OtcaWarning',
    code: 'OTCA_CUDA_FALLBACK',
    detail: "Pass device: 'cpu' to choose the CPU explicitly (no warning), or see backendInfo().backends.cuda.",
  });
}

/** An input a call reads, named for messages. */
type NamedInput = [name: string, value: unknown];

/**
 * The backend for a validated device request and the inputs' devices (SPEC "Bad input": every
 * check before any work), and where the results go.
 */
function selectBackend(
  opts: ResolvedOptions,
  latents: unknown,
  others: readonly NamedInput[],
): { device: number; backend: BackendName; outputDevice: Device } {
  let inputDevice: Device | undefined;
  let firstName = '';
  // latents first, then the others, in order; names are made only where they are needed
  const visit = (value: unknown, name: () => string): void => {
    if (!(value instanceof Tensor) || value.device === 'cpu') return;
    if (inputDevice === undefined) {
      inputDevice = value.device;
      firstName = name();
    } else if (value.device !== inputDevice) {
      throw rangeError(`a Tensor on ${inputDevice} (as ${firstName}) or on the host`, name(), `a Tensor on ${value.device}`, false);
    }
  };
  if (latents !== undefined) {
    if (Array.isArray(latents)) latents.forEach((t: unknown, j) => visit(t, () => `latents[${j}]`));
    else visit(latents, () => 'latents');
  }
  for (const [name, value] of others) visit(value, () => name);
  const onDevice = (device: number): { device: number; backend: BackendName; outputDevice: Device } => {
    const name: Device = `cuda:${device}`;
    const toDevice = opts.outputDevice === 'device' || (opts.outputDevice === 'input' && inputDevice !== undefined);
    return { device, backend: name, outputDevice: toDevice ? name : 'cpu' };
  };
  const cpu = { device: -1, backend: 'cpu' as const, outputDevice: 'cpu' as const };
  switch (opts.device.kind) {
    case 'cpu':
      if (inputDevice !== undefined) {
        throw rangeError(
          "host Tensors for device 'cpu' (copy with to('cpu'), or pass device 'auto' to run where the inputs are)",
          firstName,
          `a Tensor on ${inputDevice}`,
          false,
        );
      }
      return cpu;
    case 'cuda': {
      const index = opts.device.index;
      requireCuda(index, opts.deviceString);
      if (inputDevice !== undefined && deviceIndex(inputDevice) !== index) {
        throw rangeError(`a Tensor on cuda:${index} (device ${JSON.stringify(opts.deviceString)}) or on the host`, firstName, `a Tensor on ${inputDevice}`, false);
      }
      return onDevice(index);
    }
    case 'auto': {
      if (inputDevice !== undefined) return onDevice(deviceIndex(inputDevice));
      const status = cudaStatus();
      if (status.compiled && status.usable && status.deviceCount > 0) return onDevice(0);
      if (status.compiled) warnFallback(cudaReason(status));
      return cpu;
    }
  }
}

/**
 * The header of every job, reused: the addon copies it out while the call is made (before an async
 * call returns its promise), and each job is handed to the addon right after makeJob fills it, so
 * one array serves every call and a call allocates no header.
 */
const HEADER = new Float64Array(JOB_HEADER.length);

/** The flat job the addon reads (lib/native.ts NativeJob): the numbers in one header. */
function makeJob(
  device: number,
  latents: NativeLatents | undefined,
  rewards: NativeRewards | undefined,
  groupSize: number,
  o: NativeOptions,
  outputs: NativeOutputs,
  trajectoryScore?: NativeBuffer<Float32Array>,
  withWeights = true,
): NativeJob {
  const h = HEADER;
  h.fill(0);
  h[JOB_HEADER.device] = device;
  h[JOB_HEADER.groupSize] = groupSize;
  if (latents !== undefined) {
    h[JOB_HEADER.latentDtype] = latents.dtype;
    h[JOB_HEADER.N] = latents.N;
    h[JOB_HEADER.T] = latents.T;
    h[JOB_HEADER.D] = latents.D;
    h[JOB_HEADER.stacked] = latents.stacked ? 1 : 0;
  }
  if (rewards !== undefined) {
    h[JOB_HEADER.rewardDtype] = rewards.dtype;
    h[JOB_HEADER.rewardN] = rewards.N;
    h[JOB_HEADER.K] = rewards.K;
  }
  h[JOB_HEADER.temporal] = o.temporal;
  h[JOB_HEADER.weightScale] = o.weightScale;
  h[JOB_HEADER.objective] = o.objective;
  h[JOB_HEADER.stdScope] = o.stdScope;
  h[JOB_HEADER.explorationSignal] = o.explorationSignal;
  h[JOB_HEADER.minWeight] = o.minWeight;
  h[JOB_HEADER.stdCorrection] = o.stdCorrection;
  h[JOB_HEADER.advClip] = o.advClip;
  h[JOB_HEADER.epsAdv] = o.epsAdv;
  h[JOB_HEADER.epsTcd] = o.epsTcd;
  h[JOB_HEADER.epsMoca] = o.epsMoca;
  h[JOB_HEADER.epsSolver] = o.epsSolver;
  h[JOB_HEADER.threads] = o.threads;
  // every slot and every key the addon reads is an own property: nothing comes from a prototype
  const slots: (NativeBuffer<Float32Array> | undefined)[] = new Array(OUTPUT_COUNT).fill(undefined);
  let mask = 0;
  for (const name of Object.keys(outputs) as OutputName[]) {
    const k = OUTPUT_SLOTS[name];
    slots[k] = outputs[name];
    mask |= 1 << k;
  }
  h[JOB_HEADER.outputMask] = mask;
  const weights = withWeights ? o.objectiveWeights : undefined;
  const scale = withWeights ? o.objectiveScale : undefined;
  h[JOB_HEADER.weightFlags] = (weights !== undefined ? 1 : 0) | (scale !== undefined ? 2 : 0);
  return {
    header: h,
    outputs: slots,
    states: latents?.states,
    rewards: rewards?.data,
    trajectoryScore,
    objectiveWeights: weights,
    objectiveScale: scale,
  };
}

function prepareAdvantages(inputs: unknown, options: unknown): Prepared {
  const opts = checkOptions(options);
  const o = checkInputs(inputs, ['rewards', 'latents', 'groupSize']);
  const latents = checkLatents(o.latents);
  const rewards = checkRewards(o.rewards, latents.N);
  const groupSize = checkGroupSize(o.groupSize, latents.N);
  checkOptionsForK(opts, rewards.K);
  const { device, backend, outputDevice } = selectBackend(opts, o.latents, [['rewards', o.rewards]]);
  const shapes = outputShapes(opts.outputs, latents.N, latents.T, rewards.K);
  const outputs = allocate(shapes, outputDevice);
  return { job: makeJob(device, latents, rewards, groupSize, opts.native, outputs), outputs, backend, shapes, outputDevice, inputs };
}

function prepareTrajectory(inputs: unknown, options: unknown): Prepared {
  const opts = checkOptions(options);
  const o = checkInputs(inputs, ['latents']);
  const latents = checkLatents(o.latents);
  const { device, backend, outputDevice } = selectBackend(opts, o.latents, []);
  const shapes = outputShapes(TRAJECTORY_OUTPUTS, latents.N, latents.T, 0);
  const outputs = allocate(shapes, outputDevice);
  // K is not known in phase 1, and phase 1 does not read the weight arrays: they are left out
  const job = makeJob(device, latents, undefined, 0, opts.native, outputs, undefined, false);
  return { job, outputs, backend, shapes, outputDevice, inputs };
}

function prepareObjective(inputs: unknown, options: unknown): Prepared {
  const opts = checkOptions(options);
  const o = checkInputs(inputs, ['rewards', 'trajectoryScore', 'groupSize']);
  const rewards = checkRewards(o.rewards);
  const trajectoryScore = checkTrajectoryScore(o.trajectoryScore, rewards.N);
  const groupSize = checkGroupSize(o.groupSize, rewards.N);
  checkOptionsForK(opts, rewards.K);
  const { device, backend, outputDevice } = selectBackend(opts, undefined, [
    ['rewards', o.rewards],
    ['trajectoryScore', o.trajectoryScore],
  ]);
  const shapes = outputShapes(OBJECTIVE_OUTPUTS, rewards.N, 0, rewards.K);
  const outputs = allocate(shapes, outputDevice);
  return {
    job: makeJob(device, undefined, rewards, groupSize, opts.native, outputs, trajectoryScore),
    outputs,
    backend,
    shapes,
    outputDevice,
    inputs,
  };
}

/** Runs a prepared call synchronously; the device outputs are released if it fails. */
function runSync(p: Prepared, fn: (job: NativeJob) => void): Record<string, unknown> {
  try {
    fn(p.job);
  } catch (e) {
    releaseOutputs(p);
    throw e;
  }
  return collect(p);
}

/** Calls in flight: their inputs stay referenced (a borrowed tensor's owner with them) until done. */
const inFlight = new Set<Prepared>();

/** The host buffers of an async call, guarded (validate.ts guardAsyncInput): none can go away under it. */
function guardHostInputs(job: NativeJob): void {
  const host = <A extends ArrayBufferView>(b: NativeBuffer<A> | undefined, name: string): NativeBuffer<A> | undefined =>
    b !== undefined && ArrayBuffer.isView(b) ? guardAsyncInput(b as A, name) : b;
  if (job.states !== undefined) job.states = job.states.map((b, j) => host(b, job.states!.length === 1 ? 'latents' : `latents[${j}]`)!);
  job.rewards = host(job.rewards, 'rewards');
  job.trajectoryScore = host(job.trajectoryScore, 'trajectoryScore');
}

async function runAsync(p: Prepared, fn: (job: NativeJob) => Promise<void>): Promise<Record<string, unknown>> {
  try {
    guardHostInputs(p.job);
  } catch (e) {
    releaseOutputs(p);
    throw e;
  }
  inFlight.add(p);
  try {
    await fn(p.job);
  } catch (e) {
    releaseOutputs(p);
    throw e;
  } finally {
    inFlight.delete(p);
  }
  return collect(p);
}

function collect(p: Prepared): Record<string, unknown> {
  const result: Record<string, unknown> = { backend: p.backend };
  const onHost = p.outputDevice === 'cpu';
  for (const name of Object.keys(p.shapes) as OutputName[]) {
    const shape = p.shapes[name] as readonly number[];
    result[name] = onHost
      ? Tensor._wrapResult(p.outputs[name] as Float32Array, shape)
      : Tensor._wrapDevice(p.outputs[name] as NativeDeviceBuffer, shape, p.outputDevice);
  }
  return result;
}

// ---------------------------------------------------------------- the public calls

/**
 * OTCA per-step advantages Adv [N, T] (SPEC sections 1-4): per-objective group advantages A (eq. 2),
 * trajectory credit w from the latents (TCD, eqs. 6-8), objective fusion f (MOCA, eqs. 11-14), and
 * Adv[i,t] = w[i,t] * f[i]. Runs on `options.device` (see {@link OtcaOptions.device}): inputs may be
 * host or device Tensors; results are device Tensors where the call ran on CUDA with device inputs
 * (see {@link OtcaOptions.outputDevice}), and `backend` says what ran.
 * Synchronous: blocks the calling thread (the CPU backend uses
 * `options.threads` workers); see {@link otcaAdvantagesAsync}. Every argument is validated first.
 *
 * @param inputs - `{ rewards [N, K], latents, groupSize }`.
 * @param options - {@link OtcaOptions}; `outputs` selects the extra result fields.
 * @returns `{ backend, advantages, ...requested outputs }`, float32 Tensors with SPEC shapes.
 * @throws TypeError / RangeError naming the argument on bad input (SPEC "Bad input").
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
  const p = prepareAdvantages(inputs, options);
  return runSync(p, (job) => native().computeAdvantages(job)) as OtcaResult<O>;
}

/**
 * {@link otcaAdvantages} on the libuv thread pool: the event loop stays free while it runs, and every
 * input buffer is held until it finishes. Validation errors reject the promise.
 * @example
 * ```ts
 * const out = await otcaAdvantagesAsync({ rewards, latents, groupSize: 12 }, { threads: 2 });
 * ```
 */
export async function otcaAdvantagesAsync<const O extends OutputsRequest = 'advantages'>(
  inputs: OtcaInputs,
  options?: OtcaOptions & { outputs?: O },
): Promise<OtcaResult<O>> {
  const p = prepareAdvantages(inputs, options);
  return (await runAsync(p, (job) => native().computeAdvantagesAsync(job))) as OtcaResult<O>;
}

/**
 * Phase 1 (SPEC "Two phases"): everything that needs only each sample's own latents — similarity S,
 * deltaS dS, rawWeights wbar, stepWeights w and trajectoryScore q. Run where the latents live; then
 * gather q and the rewards and run {@link objectiveCredit}. Reads the temporal options
 * (temporal, minWeight, weightScale, epsTcd, threads, device); the others are validated and ignored.
 * @example
 * ```ts
 * const t = trajectoryCredit({ latents }, options);
 * const o = objectiveCredit({ rewards, trajectoryScore: t.trajectoryScore, groupSize: G }, options);
 * // Adv[i,t] = t.stepWeights[i,t] * o.fused[i], exactly as otcaAdvantages
 * ```
 */
export function trajectoryCredit(inputs: TrajectoryInputs, options?: OtcaOptions): TrajectoryResult {
  const p = prepareTrajectory(inputs, options);
  return runSync(p, (job) => native().trajectoryCredit(job)) as TrajectoryResult;
}

/** {@link trajectoryCredit} on the libuv thread pool. */
export async function trajectoryCreditAsync(inputs: TrajectoryInputs, options?: OtcaOptions): Promise<TrajectoryResult> {
  const p = prepareTrajectory(inputs, options);
  return (await runAsync(p, (job) => native().trajectoryCreditAsync(job))) as TrajectoryResult;
}

/**
 * Phase 2 (SPEC "Two phases"): everything per group from N*(K+1) numbers — objectiveAdvantages A
 * (eq. 2), exploration e (eq. 12), lambda lam (eq. 14), coefficients c (Algorithm 1) and fused f.
 * @example
 * ```ts
 * const o = objectiveCredit({ rewards, trajectoryScore: q, groupSize: 12 }, { objective: 'moca' });
 * o.fused.data;  // f [N]
 * ```
 */
export function objectiveCredit(inputs: ObjectiveInputs, options?: OtcaOptions): ObjectiveResult {
  const p = prepareObjective(inputs, options);
  return runSync(p, (job) => native().objectiveCredit(job)) as ObjectiveResult;
}

/** {@link objectiveCredit} on the libuv thread pool. */
export async function objectiveCreditAsync(inputs: ObjectiveInputs, options?: OtcaOptions): Promise<ObjectiveResult> {
  const p = prepareObjective(inputs, options);
  return (await runAsync(p, (job) => native().objectiveCreditAsync(job))) as ObjectiveResult;
}

/**
 * @internal For the GPU benchmark's split of the host overhead (bench/gpu/bench.mjs); not part of
 * the public API. One {@link otcaAdvantages} call validated, and its outputs allocated, once:
 * `call()` hands the same native job to the addon again (the outputs are overwritten), so its time
 * is the addon's and the backend's without this TypeScript layer; `release()` frees the device
 * outputs.
 */
export function _repeatableAdvantagesCall(
  inputs: OtcaInputs,
  options?: OtcaOptions,
): { backend: BackendName; call: () => void; release: () => void } {
  const p = prepareAdvantages(inputs, options);
  const job: NativeJob = { ...p.job, header: Float64Array.from(p.job.header) };  // HEADER is shared
  return { backend: p.backend, call: () => native().computeAdvantages(job), release: () => releaseOutputs(p) };
}

// ---------------------------------------------------------------- backend information

/** The CPU backend: always compiled and usable. */
export interface CpuBackendInfo {
  compiled: true;
  usable: true;
  /** Worker threads a call with `threads: 0` uses (the hardware concurrency). */
  threads: number;
}

/** One CUDA device as the runtime reports it, with the device string to pass as `device`. */
export interface CudaDeviceInfo extends NativeCudaDevice {
  /** The device string to pass as `device`, e.g. `'cuda:0'`. */
  device: `cuda:${number}`;
}

/** The CUDA backend: whether it was compiled in, whether it can run here, and why not. */
export interface CudaBackendInfo {
  compiled: boolean;
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
  backends: { cpu: CpuBackendInfo; cuda: CudaBackendInfo };
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
