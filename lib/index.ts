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
export { Tensor, type Device, type DeviceRequest } from './tensor.js';
export {
  DTYPES,
  DTYPE_BYTES,
  type Dtype,
  type DtypeArrayMap,
  type LatentDtype,
  type RewardDtype,
  type TypedArrayFor,
} from './dtypes.js';
export {
  DEFAULT_OPTIONS,
  OPTION_NAMES,
  OUTPUT_NAMES,
  OBJECTIVE_OUTPUTS,
  TRAJECTORY_OUTPUTS,
  type ExplorationMode,
  type ObjectiveMode,
  type OtcaOptions,
  type OutputDeviceMode,
  type OutputName,
  type OutputsRequest,
  type StdScopeMode,
  type TemporalMode,
  type WeightScaleMode,
} from './options.js';
export { DeviceUnavailableError } from './errors.js';
export {
  backendInfo,
  objectiveCredit,
  objectiveCreditAsync,
  otcaAdvantages,
  otcaAdvantagesAsync,
  trajectoryCredit,
  trajectoryCreditAsync,
  type BackendInfo,
  type BackendName,
  type CpuBackendInfo,
  type CudaBackendInfo,
  type CudaDeviceInfo,
  type LatentsInput,
  type ObjectiveInputs,
  type ObjectiveResult,
  type OtcaInputs,
  type OtcaResult,
  type OutputTensors,
  type TrajectoryInputs,
  type TrajectoryResult,
} from './api.js';
export * from './diagnostics.js';
export * from './reference.js';
