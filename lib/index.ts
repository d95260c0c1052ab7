/**
 * otca: OTCA per-step advantages (objective-aware trajectory credit assignment, arXiv 2604.19234)
 * for GRPO post-training of flow-matching generators, computed by a C++ core (multithreaded CPU;
 * CUDA in builds that have it) behind this TypeScript API.
 *
 * @example
 * ```ts
 * import { Tensor, otcaAdvantages } from 'otca';
 * const rewards = Tensor.from(new Float32Array(N * K), [N, K]);
 * const latents = Tensor.from(bits, [N, T + 1, D], 'bfloat16');
 * const out = otcaAdvantages({ rewards, latents, groupSize: G }, { outputs: 'all' });
 * out.advantages.data;  // Float32Array [N, T]
 * ```
 * @packageDocumentation
 */
import './bundled.js'; // first: a bundled copy fails with otca's message (lib/bundled.ts)
export { Tensor, type Device, type DeviceRequest } from './tensor.js';
export {
  DTYPES,
  DTYPE_BYTES,
  encodeBFloat16,
  encodeFloat16,
  type Dtype,
  type DtypeArrayMap,
  type LatentDtype,
  type RewardDtype,
  type TypedArrayFor,
} from './dtypes.js';
export {
  DEFAULT_OPTIONS,
  MAX_OBJECTIVE_FACTOR,
  MAX_REWARD_MAGNITUDE,
  MAX_SCORE_MAGNITUDE,
  OPTION_NAMES,
  OPTION_SCHEMA,
  OUTPUT_NAMES,
  OBJECTIVE_OUTPUTS,
  PRESETS,
  PRESETS_SINGLE_OBJECTIVE,
  presetOptions,
  TRAJECTORY_OUTPUTS,
  type ExplorationMode,
  type FusedNormalizationMode,
  type StdStabilizerMode,
  type ObjectiveMode,
  type OptionSpec,
  type OtcaOptions,
  type OutputDeviceMode,
  type OutputName,
  type OutputsRequest,
  type PresetName,
  type StdScopeMode,
  type TemporalMode,
  type WeightScaleMode,
} from './options.js';
export { DeviceUnavailableError } from './errors.js';
export {
  AdvantageStep,
  createAdvantageStep,
  type BackendName,
  type GroupsInput,
  type LatentsInput,
  type ObjectiveInputs,
  type ObjectiveResult,
  type OtcaInputs,
  type ExtraOutputs,
  type OtcaResult,
  type OutputTargets,
  type OutputTensors,
  type StepOptions,
  type TrajectoryInputs,
  type TrajectoryResult,
} from './step.js';
export {
  backendInfo,
  combineCredit,
  objectiveCredit,
  objectiveCreditAsync,
  otcaAdvantages,
  otcaAdvantagesAsync,
  trajectoryCredit,
  trajectoryCreditAsync,
  type BackendInfo,
  type CpuBackendInfo,
  type CudaBackendInfo,
  type CudaDeviceInfo,
} from './api.js';
export * from './diagnostics.js';
export * from './reference.js';
