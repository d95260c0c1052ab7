/**
 * The AdvantageStep: a plan that parses and checks its options once, owns its native state (CPU
 * workspaces, or on CUDA a stream, a workspace, a pinned mailbox and staging), and then runs with
 * buffers and shapes only. A trainer makes one and calls it every iteration; the one-shot functions
 * of api.ts are thin wrappers over cached steps.
 * @packageDocumentation
 */
import type { LatentDtype, RewardDtype } from './dtypes.js';
import { rangeError, typeError } from './errors.js';
import {
  native,
  OUTPUT_COUNT,
  OUTPUT_SLOTS,
  RUN_HEADER,
  RUN_KIND,
  runPlan,
  type NativeBuffer,
  type NativeCudaStatus,
  type NativeDeviceBuffer,
  type NativeLatents,
  type NativePlan,
  type NativeRewards,
  type NativeRun,
} from './native.js';
import { OBJECTIVE_OUTPUTS, TRAJECTORY_OUTPUTS, type OtcaOptions, type OutputName, type OutputsRequest } from './options.js';
import { cudaReason, cudaStatus, deviceIndex, isTensor, requireCuda, Tensor, type Device } from './tensor.js';
import {
  checkGroups,
  checkLatents,
  checkOptionsForK,
  checkOutputTensor,
  checkRewards,
  checkTrajectoryScore,
  guardAsyncInput,
  readOptions,
  resolveOptions,
  runInputs,
  type ResolvedOptions,
} from './validate.js';

/** Every option of a step with its resolved value: the preset and the defaults applied. */
export type StepOptions = Readonly<Required<Omit<OtcaOptions, 'preset' | 'objectiveWeights' | 'objectiveScale'>>> &
  Pick<OtcaOptions, 'preset' | 'objectiveWeights' | 'objectiveScale'>;

/** The backend that ran a call: `'cpu'`, or `'cuda:N'` with the CUDA backend. */
export type BackendName = 'cpu' | `cuda:${number}`;

/**
 * The latent trajectory z (paper eq. 6): one Tensor [N, T+1, D], or a list of T+1 Tensors [N, D]
 * (state j = 0 is the initial noise, j = T the final latent), float32, float16 or bfloat16.
 */
export type LatentsInput = Tensor<LatentDtype> | readonly Tensor<LatentDtype>[];

/**
 * Which samples form a group (the G outputs of one prompt): exactly one of `groupSize` (groups are
 * contiguous runs of G samples, G dividing N) and `groupIds` (each sample's group id, integers >= 0:
 * groups of any size >= 1, in any order, as a shuffled batch holds them; results stay in input
 * order, and ids that form contiguous blocks give exactly the groupSize result).
 */
export type GroupsInput =
  | {
      /** G: samples per group; groups are contiguous runs of G samples, G dividing N. */
      groupSize: number;
      /** Absent where groupSize is given. */
      groupIds?: undefined;
    }
  | {
      /** Each sample's group id, N integers in [0, 2^31 - 1]: groups of any size, in any order. */
      groupIds: Int32Array | readonly number[];
      /** Absent where groupIds are given. */
      groupSize?: undefined;
    };

/** Inputs of {@link AdvantageStep.run} and {@link otcaAdvantages}. */
export type OtcaInputs = {
  /**
   * Rewards r [N, K] (K objectives per sample), or per-step rewards [N, T, K] (a score per sample,
   * step and objective: eq. 2 and the fusion then run per step; docs/algorithm.md); float32 or
   * float64; finite, |r| <= 1e100.
   */
  rewards: Tensor<RewardDtype>;
  /** The latent trajectory z, see {@link LatentsInput}. */
  latents: LatentsInput;
} & GroupsInput;

/** Inputs of {@link AdvantageStep.trajectory} and {@link trajectoryCredit} (phase 1). */
export interface TrajectoryInputs {
  /** The latent trajectory z, see {@link LatentsInput}. */
  latents: LatentsInput;
}

/** Inputs of {@link AdvantageStep.objective} and {@link objectiveCredit} (phase 2). */
export type ObjectiveInputs = {
  /** Rewards r [N, K], or per-step rewards [N, T, K]; float32 or float64; finite, |r| <= 1e100. */
  rewards: Tensor<RewardDtype>;
  /** The trajectory score q [N] (eq. 12), as phase 1 returned it: a float32 Tensor [N] or a Float32Array. */
  trajectoryScore: Tensor<'float32'> | Float32Array;
} & GroupsInput;

/** Every result tensor, by name, with its shape. All float32, row-major. */
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
  /** A [N, K]: per-objective group advantages (eq. 2); [N, T, K] from per-step rewards. */
  objectiveAdvantages: Tensor<'float32'>;
  /** c [N, K]: the objective coefficients (Algorithm 1, or the weights); [N, T, K] from per-step rewards. */
  coefficients: Tensor<'float32'>;
  /** q [N]: the trajectory score sum_t wbar dS (eq. 12). */
  trajectoryScore: Tensor<'float32'>;
  /** e [N]: the exploration signal (eq. 12). */
  exploration: Tensor<'float32'>;
  /** lam [N]: the exploration bias (eq. 14; 0 unless objective 'moca'); [N, T] from per-step rewards. */
  lambda: Tensor<'float32'>;
  /** f [N]: the fused advantage sum_k c_k A_k (after fusedNormalization and fusedClip); [N, T] from per-step rewards. */
  fused: Tensor<'float32'>;
}

/** The outputs besides the advantages, which `outputs` asks for. */
export type ExtraOutputs = Omit<OutputTensors, 'advantages'>;

/**
 * The result of a run: `backend`, `advantages`, and the outputs asked for. With a literal `outputs`
 * option the requested fields are typed as present.
 */
export type OtcaResult<O extends OutputsRequest = OutputsRequest> = {
  /** The backend that ran the call. */
  backend: BackendName;
  /** Adv [N, T]. */
  advantages: Tensor<'float32'>;
} & (OutputsRequest extends O
  ? Partial<ExtraOutputs>
  : O extends 'all'
    ? ExtraOutputs
    : O extends 'advantages'
      ? Record<never, never>
      : O extends readonly (infer Name)[]
        ? Pick<OutputTensors, Name & OutputName>
        : Partial<ExtraOutputs>);

/** The result of phase 1. */
export type TrajectoryResult = {
  /** The backend that ran the call. */
  backend: BackendName;
} & Pick<OutputTensors, (typeof TRAJECTORY_OUTPUTS)[number]>;

/** The result of phase 2. */
export type ObjectiveResult = {
  /** The backend that ran the call. */
  backend: BackendName;
} & Pick<OutputTensors, (typeof OBJECTIVE_OUTPUTS)[number]>;

/** Tensors to write results into instead of new ones (a loop that passes them allocates nothing). */
export type OutputTargets = Partial<OutputTensors>;

// ---------------------------------------------------------------- devices

let warnedFallback = false;

/**
 * @internal What 'auto' says when it finds CUDA compiled in but unusable: nothing where there is no
 * NVIDIA driver at all (a CPU machine: nothing went wrong); where a driver answered but CUDA cannot
 * be used (driver too old, no kernel image for the GPU), why and what to do.
 */
export function fallbackWarning(status: NativeCudaStatus): { message: string; detail: string } | undefined {
  if (!status.compiled || status.usable || status.driverVersion === 0) return undefined;
  return {
    message: `otca: device 'auto' runs on the CPU because CUDA cannot be used: ${cudaReason(status)}`,
    detail:
      "Pass device: 'cpu' (or set OTCA_DEVICE=cpu) to choose the CPU explicitly, without this warning; " +
      'see the README, "GPUs and drivers", for the driver otca needs and how to build for your GPU.',
  };
}

/** Emits {@link fallbackWarning} once per process. */
function fallBack(status: NativeCudaStatus): void {
  if (warnedFallback) return;
  const w = fallbackWarning(status);
  if (w === undefined) return;
  warnedFallback = true;
  process.emitWarning(w.message, { type: 'OtcaWarning', code: 'OTCA_CUDA_FALLBACK', detail: w.detail });
}

interface Placement {
  /** -1: the CPU backend; N: cuda:N. */
  device: number;
  backend: BackendName;
  /** Where the results go: 'cpu' or 'cuda:N'. */
  outputDevice: Device;
}

const CPU_PLACEMENT: Placement = Object.freeze({ device: -1, backend: 'cpu', outputDevice: 'cpu' });

// ---------------------------------------------------------------- the step

/** The number of elements of an output (S: the steps of per-step rewards, 0 for rewards [N, K]). */
function outputSize(name: OutputName, N: number, T: number, K: number, S = 0): number {
  switch (name) {
    case 'similarity':
      return N * (T + 1);
    case 'advantages':
    case 'deltaS':
    case 'stepWeights':
    case 'rawWeights':
      return N * T;
    case 'objectiveAdvantages':
    case 'coefficients':
      return N * Math.max(S, 1) * K;
    case 'lambda':
    case 'fused':
      return N * Math.max(S, 1);
    default:
      return N;
  }
}

/** The output names of each kind of run, and their shapes (S as in outputSize). */
function outputShape(name: OutputName, N: number, T: number, K: number, S = 0): number[] {
  switch (name) {
    case 'similarity':
      return [N, T + 1];
    case 'advantages':
    case 'deltaS':
    case 'stepWeights':
    case 'rawWeights':
      return [N, T];
    case 'objectiveAdvantages':
    case 'coefficients':
      return S > 0 ? [N, S, K] : [N, K];
    case 'lambda':
    case 'fused':
      return S > 0 ? [N, S] : [N];
    default:
      return [N];
  }
}

const KIND_OUTPUTS: readonly (readonly OutputName[])[] = [[], TRAJECTORY_OUTPUTS, OBJECTIVE_OUTPUTS];

/**
 * A plan for the advantage step: the options of {@link createAdvantageStep}, parsed and checked
 * once, and the native state its runs reuse. `run` computes Adv [N, T] (and the outputs asked for)
 * from rewards, latents and groups; `trajectory` and `objective` are the two phases, for trainers
 * whose groups span several processes or GPUs. Sync methods block the calling thread; the `Async`
 * ones run on the libuv thread pool (see the README, "Async calls and their inputs"). Several runs
 * of one step may be in flight at once. Disposable: `using step = createAdvantageStep(...)` (`using` needs TypeScript 5.2+ (compiled down for Node 20 and 22) or, in plain JavaScript, Node 24+; else call `dispose()`).
 *
 * @typeParam O - the `outputs` option, which types the results' fields.
 */
export class AdvantageStep<O extends OutputsRequest = OutputsRequest> {
  /** The step's options, resolved: every option with its value (preset and defaults applied). */
  readonly options: StepOptions;
  #resolved: ResolvedOptions;
  /** The native plans, by backend device (-1: the CPU), made on first use. */
  #plans = new Map<number, NativePlan>();
  /** The plans of calls with one objective, where the preset branches on K (options.nativeSingleObjective). */
  #singleObjectivePlans = new Map<number, NativePlan>();
  #header = new Float64Array(RUN_HEADER.length);
  /** The outputs each kind of run returns without output targets (RUN_KIND order). */
  #names: readonly (readonly OutputName[])[];
  /** Inputs of async runs in flight (a borrowed device tensor's owner with them), held until done. */
  #inFlight = new Set<unknown>();
  #disposed = false;

  /** @internal Use {@link createAdvantageStep}. */
  constructor(resolved: ResolvedOptions) {
    this.#resolved = resolved;
    this.options = resolved.values;
    this.#names = [Object.freeze([...resolved.outputs]), TRAJECTORY_OUTPUTS, OBJECTIVE_OUTPUTS];
  }

  /**
   * Adv [N, T] and the requested outputs, synchronously.
   * @param inputs - `{ rewards [N, K], latents, groupSize }` or `{ rewards, latents, groupIds }`.
   * @param outputs - tensors to write results into (float32, the result's shape, on the device the
   *   results go to); each one given is also returned. Default: new tensors.
   * @throws TypeError / RangeError naming the argument on bad input, before any work.
   */
  run(inputs: OtcaInputs, outputs?: OutputTargets): OtcaResult<O> {
    return this.#call(RUN_KIND.advantages, inputs, outputs, false) as OtcaResult<O>;
  }

  /** {@link run} on the libuv thread pool: the event loop stays free, every input is held until it settles. */
  async runAsync(inputs: OtcaInputs, outputs?: OutputTargets): Promise<OtcaResult<O>> {
    return (await this.#call(RUN_KIND.advantages, inputs, outputs, true)) as OtcaResult<O>;
  }

  /**
   * Phase 1: everything that needs only each sample's own latents — similarity S, deltaS dS,
   * rawWeights wbar, stepWeights w and trajectoryScore q. Run where the latents live; gather q and
   * the rewards, then run {@link objective}. Adv[i,t] = w[i,t] * f[i] ({@link combineCredit}).
   */
  trajectory(inputs: TrajectoryInputs, outputs?: OutputTargets): TrajectoryResult {
    return this.#call(RUN_KIND.trajectory, inputs, outputs, false) as TrajectoryResult;
  }

  /** {@link trajectory} on the libuv thread pool. */
  async trajectoryAsync(inputs: TrajectoryInputs, outputs?: OutputTargets): Promise<TrajectoryResult> {
    return (await this.#call(RUN_KIND.trajectory, inputs, outputs, true)) as TrajectoryResult;
  }

  /**
   * Phase 2: everything per group from N*(K+1) numbers — objectiveAdvantages A (eq. 2), exploration
   * e (eq. 12), lambda (eq. 14), coefficients c (Algorithm 1) and fused f.
   */
  objective(inputs: ObjectiveInputs, outputs?: OutputTargets): ObjectiveResult {
    return this.#call(RUN_KIND.objective, inputs, outputs, false) as ObjectiveResult;
  }

  /** {@link objective} on the libuv thread pool. */
  async objectiveAsync(inputs: ObjectiveInputs, outputs?: OutputTargets): Promise<ObjectiveResult> {
    return (await this.#call(RUN_KIND.objective, inputs, outputs, true)) as ObjectiveResult;
  }

  /** Whether {@link dispose} was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Releases the step's native state now (CUDA streams, workspaces and staging; CPU workspaces):
   * runs in flight finish first with what they use. Idempotent; any run afterwards throws.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const plan of this.#plans.values()) plan.dispose();
    this.#plans.clear();
    for (const plan of this.#singleObjectivePlans.values()) plan.dispose();
    this.#singleObjectivePlans.clear();
  }

  /** `using step = createAdvantageStep(...)` disposes at the end of the scope (`using` needs TypeScript 5.2+ (compiled down for Node 20 and 22) or, in plain JavaScript, Node 24+). */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The plan of `device`, made on first use; never on a disposed step (a getter of the inputs or of
   * the output targets may have disposed it during this call's validation). Calls with one objective
   * use the preset's K = 1 plan where it branches on K (PRESETS_SINGLE_OBJECTIVE).
   */
  #plan(device: number, K: number): NativePlan {
    if (this.#disposed) throw disposedError();
    const single = K === 1 ? this.#resolved.nativeSingleObjective : undefined;
    const plans = single === undefined ? this.#plans : this.#singleObjectivePlans;
    let plan = plans.get(device);
    if (plan === undefined) {
      plan = new (native().NativePlan)(device, single ?? this.#resolved.native);
      plans.set(device, plan);
    }
    return plan;
  }

  /**
   * Where a run goes, from the step's device and its inputs' devices (every check before any work),
   * and where its results go.
   */
  #place(latents: readonly unknown[] | undefined, first: unknown, firstArgument: string, second: unknown): Placement {
    const opts = this.#resolved;
    const onHost = (t: unknown): boolean => !isTensor(t) || t.device === 'cpu';
    if (opts.device.kind === 'cpu' && onHost(first) && onHost(second) && (latents === undefined || latents.every(onHost))) {
      return CPU_PLACEMENT;  // the common case, without the checks' closures
    }
    const others: [string, unknown][] = [];
    if (first !== undefined) others.push([firstArgument, first]);
    if (second !== undefined) others.push(['trajectoryScore', second]);
    let inputDevice: Device | undefined;
    let firstName = '';
    const visit = (value: unknown, name: () => string): void => {
      if (!isTensor(value) || value.device === 'cpu') return;
      if (inputDevice === undefined) {
        inputDevice = value.device;
        firstName = name();
      } else if (value.device !== inputDevice) {
        throw rangeError(`a Tensor on ${inputDevice} (as ${firstName}) or on the host`, name(), `a Tensor on ${value.device}`, false);
      }
    };
    if (latents !== undefined) {
      if (latents.length === 1) visit(latents[0], () => 'latents');
      else for (let j = 0; j < latents.length; j++) visit(latents[j], () => `latents[${j}]`);
    }
    for (const [name, value] of others) visit(value, () => name);
    const onDevice = (device: number): Placement => {
      const name: Device = `cuda:${device}`;
      const toDevice = opts.outputDevice === 'device' || (opts.outputDevice === 'input' && inputDevice !== undefined);
      return { device, backend: name, outputDevice: toDevice ? name : 'cpu' };
    };
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
        return CPU_PLACEMENT;
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
        if (status.compiled) fallBack(status);
        return CPU_PLACEMENT;
      }
    }
  }

  /** Validates, places, allocates (or checks the caller's outputs), runs, and wraps the results. */
  #call(kind: number, inputs: unknown, targets: OutputTargets | undefined, async: boolean): Record<string, unknown> | Promise<Record<string, unknown>> {
    if (this.#disposed) throw disposedError();
    const h = this.#header;
    h.fill(0);
    let latents: NativeLatents | undefined;
    let rewards: NativeRewards | undefined;
    let groupIds: Int32Array | undefined;
    let trajectoryScore: NativeBuffer<Float32Array> | undefined;
    let N = 0, T = 0, K = 0, S = 0;
    let placement: Placement;
    const o = runInputs(inputs, kind);
    if (kind === RUN_KIND.advantages) {
      latents = checkLatents(o.latents);
      rewards = checkRewards(o.rewards, latents.N);
      if (rewards.T !== 0 && rewards.T !== latents.T) {
        throw rangeError(`${latents.T} steps (T as in latents)`, 'rewards', `shape [${rewards.N}, ${rewards.T}, ${rewards.K}]`, false);
      }
      const groups = checkGroups(o.groupSize, o.groupIds, latents.N);
      h[RUN_HEADER.groupSize] = groups.groupSize;
      groupIds = groups.groupIds;
      checkOptionsForK(this.#resolved, rewards.K);
      placement = this.#place(latents.tensors, o.rewards, 'rewards', undefined);
    } else if (kind === RUN_KIND.trajectory) {
      latents = checkLatents(o.latents);
      placement = this.#place(latents.tensors, undefined, '', undefined);
    } else {
      rewards = checkRewards(o.rewards);
      trajectoryScore = checkTrajectoryScore(o.trajectoryScore, rewards.N);
      const groups = checkGroups(o.groupSize, o.groupIds, rewards.N);
      h[RUN_HEADER.groupSize] = groups.groupSize;
      groupIds = groups.groupIds;
      checkOptionsForK(this.#resolved, rewards.K);
      placement = this.#place(undefined, o.rewards, 'rewards', o.trajectoryScore);
    }
    if (latents !== undefined) {
      N = latents.N;
      T = latents.T;
      h[RUN_HEADER.latentDtype] = latents.dtype;
      h[RUN_HEADER.N] = N;
      h[RUN_HEADER.T] = T;
      h[RUN_HEADER.D] = latents.D;
      h[RUN_HEADER.stacked] = latents.stacked ? 1 : 0;
    }
    if (rewards !== undefined) {
      N = rewards.N;
      K = rewards.K;
      S = rewards.T;
      h[RUN_HEADER.rewardSteps] = S;
      h[RUN_HEADER.rewardDtype] = rewards.dtype;
      h[RUN_HEADER.rewardN] = N;
      h[RUN_HEADER.K] = K;
    }

    // the outputs: the caller's, checked, else new ones (host arrays, or one device allocation)
    let names = this.#names[kind]!;
    let given: Partial<Record<OutputName, Tensor>> | undefined;
    if (targets !== undefined) {
      if (typeof targets !== 'object' || targets === null) throw typeError('an object of output Tensors', 'outputs', targets);
      given = Object.create(null) as Partial<Record<OutputName, Tensor>>;  // no key from Object.prototype
      const extra: OutputName[] = [];
      for (const name of Object.keys(targets)) {
        const allowed = kind === RUN_KIND.advantages ? Object.prototype.hasOwnProperty.call(OUTPUT_SLOTS, name) : KIND_OUTPUTS[kind]!.includes(name as never);
        if (!allowed) throw rangeError(`an output of this call (one of ${(kind === RUN_KIND.advantages ? Object.keys(OUTPUT_SLOTS) : KIND_OUTPUTS[kind]!).join(', ')})`, 'outputs', JSON.stringify(name), false);
        const target = (targets as Record<string, unknown>)[name];
        if (target === undefined) continue;
        const shape = outputShape(name as OutputName, N, T, K, S);
        checkOutputTensor(target, name, shape, placement.outputDevice);
        given[name as OutputName] = target as Tensor;
        if (!names.includes(name as OutputName)) extra.push(name as OutputName);
      }
      if (extra.length > 0) names = [...names, ...extra];
    }
    const buffers: (NativeBuffer<Float32Array> | undefined)[] = EMPTY_SLOTS.slice();
    let mask = 0;
    let fresh = 0;
    for (let n = 0; n < names.length; n++) {
      const name = names[n]!;
      const k = OUTPUT_SLOTS[name];
      mask |= 1 << k;
      const target = given?.[name];
      if (target !== undefined) buffers[k] = Tensor._native(target) as NativeBuffer<Float32Array>;
      else if (placement.outputDevice === 'cpu') buffers[k] = new Float32Array(outputSize(name, N, T, K, S));
      else fresh++;
    }
    let deviceBuffers: NativeDeviceBuffer[] | undefined;
    if (fresh > 0) {
      const freshNames = names.filter((name) => given?.[name] === undefined);
      deviceBuffers = native().deviceAlloc(deviceIndex(placement.outputDevice), freshNames.map((name) => outputSize(name, N, T, K, S) * 4));
      freshNames.forEach((name, k) => (buffers[OUTPUT_SLOTS[name]] = deviceBuffers![k]));
    }
    h[RUN_HEADER.outputMask] = mask;

    const run: NativeRun = {
      header: h,
      states: latents?.states,
      rewards: rewards?.data,
      trajectoryScore,
      groupIds,
      outputs: buffers,
    };
    const call: Call = { placement, names, given, buffers, deviceBuffers, N, T, K, S };
    let plan: NativePlan;
    try {
      plan = this.#plan(placement.device, K);
      if (!async) runPlan(plan, kind, run, false);
    } catch (e) {
      release(call);
      throw e;
    }
    if (!async) return collect(call);
    return this.#runAsync(plan, kind, run, [latents?.tensors, rewards?.tensor, inputs], call);
  }

  async #runAsync(plan: NativePlan, kind: number, run: NativeRun, hold: unknown, call: Call): Promise<Record<string, unknown>> {
    let pending: Promise<void>;
    let commit: () => void;
    try {
      commit = guardRun(run, call.given);
      pending = runPlan(plan, kind, run, true);
    } catch (e) {
      release(call);
      throw e;
    }
    this.#inFlight.add(hold);
    try {
      await pending;
    } catch (e) {
      release(call);
      throw e;
    } finally {
      this.#inFlight.delete(hold);
    }
    commit();
    return collect(call);
  }
}

const NOTHING_TO_COMMIT = (): void => {};

/** The error of a run of a disposed step. */
function disposedError(): Error {
  return new Error('This AdvantageStep was disposed; create another with createAdvantageStep()');
}

/** What a run needs once the native call is done. */
interface Call {
  placement: Placement;
  names: readonly OutputName[];
  given: Partial<Record<OutputName, Tensor>> | undefined;
  buffers: (NativeBuffer<Float32Array> | undefined)[];
  deviceBuffers: NativeDeviceBuffer[] | undefined;
  N: number;
  T: number;
  K: number;
  /** The steps of per-step rewards (0: rewards [N, K]). */
  S: number;
}

const EMPTY_SLOTS: readonly undefined[] = new Array(OUTPUT_COUNT).fill(undefined);

/** The result object: `backend` and each output (the caller's tensor where one was given). */
function collect(c: Call): Record<string, unknown> {
  const result: Record<string, unknown> = { backend: c.placement.backend };
  const onHost = c.placement.outputDevice === 'cpu';
  for (let n = 0; n < c.names.length; n++) {
    const name = c.names[n]!;
    const target = c.given?.[name];
    if (target !== undefined) {
      result[name] = target;
      continue;
    }
    const buffer = c.buffers[OUTPUT_SLOTS[name]];
    const shape = outputShape(name, c.N, c.T, c.K, c.S);
    result[name] = onHost
      ? Tensor._wrapResult(buffer as Float32Array, shape)
      : Tensor._wrapDevice(buffer as NativeDeviceBuffer, shape, c.placement.outputDevice);
  }
  return result;
}

/** Frees the device outputs of a run that failed (they would otherwise wait for the GC). */
function release(c: Call): void {
  if (c.deviceBuffers !== undefined) for (const b of c.deviceBuffers) native().deviceRelease(b);
}

/**
 * The host inputs of an async run and the output arrays its caller passed, guarded (validate.ts
 * guardAsyncInput): none can go away under it. Returns what to do once the run is done: copy
 * results into the caller's output arrays where the run wrote copies of them (on a Node whose
 * untransferable mark does not stop `transfer()`).
 */
function guardRun(run: NativeRun, given: Call['given']): () => void {
  const host = <A extends ArrayBufferView>(b: NativeBuffer<A> | undefined, name: string): NativeBuffer<A> | undefined =>
    b !== undefined && ArrayBuffer.isView(b) ? guardAsyncInput(b as A, name) : b;
  if (run.states !== undefined) {
    const states = run.states;
    run.states = states.map((b, j) => host(b, states.length === 1 ? 'latents' : `latents[${j}]`)!);
  }
  run.rewards = host(run.rewards, 'rewards');
  run.trajectoryScore = host(run.trajectoryScore, 'trajectoryScore');
  // run.groupIds is the call's own snapshot (validate.ts checkGroups): nobody else holds it.
  // The caller's host outputs are written while the run is in flight: they must not go away either.
  // Fresh result arrays are not guarded: nobody else holds them until the call resolves, and then
  // they are the caller's, to transfer as they like (as a synchronous call's results).
  if (given === undefined) return NOTHING_TO_COMMIT;
  const copies: [Float32Array, Float32Array][] = [];
  for (const name of Object.keys(OUTPUT_SLOTS) as OutputName[]) {
    if (given[name] === undefined) continue;
    const k = OUTPUT_SLOTS[name];
    const b = run.outputs[k];
    if (b === undefined || !ArrayBuffer.isView(b)) continue;
    const written = guardAsyncInput(b, `outputs.${name}`);
    if (written !== b) {
      copies.push([b, written]);
      run.outputs[k] = written;
    }
  }
  return () => {
    for (const [target, written] of copies) if (target.length === written.length) target.set(written);
  };
}

/**
 * A plan for the OTCA advantage step: its options parsed and checked once, its native state (CPU
 * workspaces; on CUDA a stream, workspace, pinned mailbox and staging) made on first use and reused
 * by every run. Make one per trainer and call `run` (or `runAsync`) every iteration; pass output
 * tensors to reuse them, and a loop allocates nothing.
 *
 * @param options - {@link OtcaOptions}; `outputs` selects the extra result fields.
 * @throws TypeError / RangeError naming the option on bad options; DeviceUnavailableError where
 *   `device: 'cuda'` is asked for and CUDA cannot be used (at the first run on it).
 * @example
 * ```ts
 * import { createAdvantageStep, Tensor } from 'otca';
 * using step = createAdvantageStep({ outputs: ['stepWeights'] }); // TypeScript 5.2+ or Node 24+; else const + step.dispose()
 * for (const batch of batches) {
 *   const out = step.run({ rewards: batch.rewards, latents: batch.latents, groupSize: 12 });
 *   out.advantages.data;  // Float32Array [N, T]
 * }
 * ```
 */
export function createAdvantageStep<const O extends OutputsRequest = 'advantages'>(
  options?: OtcaOptions & { outputs?: O },
): AdvantageStep<O> {
  return new AdvantageStep<O>(resolveOptions(readOptions(options)));
}
