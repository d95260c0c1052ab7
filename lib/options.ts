/**
 * The options of every call, with SPEC's defaults and the paper's symbols.
 * @packageDocumentation
 */
import type { DeviceRequest } from './tensor.js';

/** The per-step and per-sample quantities a call can return (SPEC "What a call returns"). */
export type OutputName =
  | 'advantages'
  | 'similarity'
  | 'deltaS'
  | 'stepWeights'
  | 'rawWeights'
  | 'objectiveAdvantages'
  | 'coefficients'
  | 'trajectoryScore'
  | 'exploration'
  | 'lambda'
  | 'fused';

/** Every output name, in SPEC order. */
export const OUTPUT_NAMES: readonly OutputName[] = Object.freeze([
  'advantages',
  'similarity',
  'deltaS',
  'stepWeights',
  'rawWeights',
  'objectiveAdvantages',
  'coefficients',
  'trajectoryScore',
  'exploration',
  'lambda',
  'fused',
] as const);

/** Phase 1's outputs (`trajectoryCredit`). */
export const TRAJECTORY_OUTPUTS = Object.freeze([
  'similarity',
  'deltaS',
  'rawWeights',
  'stepWeights',
  'trajectoryScore',
] as const);

/** Phase 2's outputs (`objectiveCredit`). */
export const OBJECTIVE_OUTPUTS = Object.freeze([
  'objectiveAdvantages',
  'exploration',
  'lambda',
  'coefficients',
  'fused',
] as const);

/**
 * Where a call's results live: `'input'` (default) on the device of the inputs (device Tensors
 * when the call ran on CUDA and any input was a device Tensor; host Tensors, copied back, when
 * every input was on the host); `'cpu'`: always host Tensors; `'device'`: on the device that ran
 * the call (device Tensors whenever it was CUDA).
 */
export type OutputDeviceMode = 'input' | 'cpu' | 'device';

/** Which outputs a call returns: `'advantages'` (default), `'all'`, or a list of names. */
export type OutputsRequest = 'advantages' | 'all' | readonly OutputName[];

/** Temporal credit (paper section 4.1): `'tcd'` (eq. 6-8 weights) or `'uniform'` (GRPO broadcast). */
export type TemporalMode = 'tcd' | 'uniform';
/** How the K objectives are fused (paper section 4.2 and its baselines). */
export type ObjectiveMode = 'moca' | 'min-norm' | 'weighted-advantage' | 'weighted-reward';
/** Scale of the step weights w: mean 1 over t (`'mean'`) or sum 1 (`'sum'`, eq. 8). */
export type WeightScaleMode = 'mean' | 'sum';
/** Where the reward std of eq. 2 is taken: per group or over the batch (Flow-GRPO). */
export type StdScopeMode = 'group' | 'batch';
/** The exploration signal e (eq. 12): `|q|` (`'absolute'`) or `|q - mean_g q|` (`'centered'`). */
export type ExplorationMode = 'absolute' | 'centered';

/**
 * Options of `otcaAdvantages`, `trajectoryCredit` and `objectiveCredit`. Every field is optional and
 * defaults as in SPEC; unknown names are an error. Each phase reads the options it needs (the same
 * object can be passed to both).
 */
export interface OtcaOptions {
  /** Temporal credit: `'tcd'` gives w = w_min + (1 - w_min) T wbar (eqs. 6-8); `'uniform'` gives w = 1. Default `'tcd'`. */
  temporal?: TemporalMode;
  /**
   * Objective fusion: `'moca'` (eqs. 11-14, Algorithm 1), `'min-norm'` (eq. 11, lam = 0),
   * `'weighted-advantage'` (c = objectiveWeights), `'weighted-reward'` (normalise sum_k w_k r_k).
   * Default `'moca'`.
   */
  objective?: ObjectiveMode;
  /** Per-objective weights w_k (length K, finite) for the weighted objectives. Default all 1. */
  objectiveWeights?: readonly number[] | Float64Array | Float32Array;
  /** Per-objective scale applied to A[i,k] after clipping (eq. 2; length K, finite). Default all 1. */
  objectiveScale?: readonly number[] | Float64Array | Float32Array;
  /** Minimum step weight w_min (paper section 6.5), in [0, 1]; 0 gives eq. 8 itself. Default 0.5. */
  minWeight?: number;
  /** `'mean'`: w has mean 1 over t (GRPO magnitude); `'sum'`: w sums to 1 (eq. 8). Default `'mean'`. */
  weightScale?: WeightScaleMode;
  /** Std correction of std_g (eq. 2, eq. 12): 1 = Bessel (DanceGRPO), 0 = population (Flow-GRPO). Default 1. */
  stdCorrection?: 0 | 1;
  /** Scope of the reward std in eq. 2: `'group'` or `'batch'` (mean stays per group). Default `'group'`. */
  stdScope?: StdScopeMode;
  /** Clip bound of A[i,k] (eq. 2), > 0; `Infinity` disables clipping. Default 5. */
  advClip?: number;
  /** Exploration signal e (eq. 12): `'absolute'` = |q| as printed, `'centered'` = |q - mean_g q|. Default `'absolute'`. */
  explorationSignal?: ExplorationMode;
  /** epsilon of eq. 2's denominator (std + eps), >= 0. Default 1e-8. */
  epsAdv?: number;
  /** epsilon of eq. 8 (u = max(0, dS) + eps), > 0. Default 1e-6. */
  epsTcd?: number;
  /** epsilon of eqs. 12 and 14, > 0. Default 1e-6. */
  epsMoca?: number;
  /** Tolerance of Algorithm 1's equality tests, >= 0. Default 1e-8. */
  epsSolver?: number;
  /**
   * Where to compute: `'auto'`, `'cpu'`, `'cuda'` (= `'cuda:0'`) or `'cuda:N'`. `'auto'` runs on the
   * device the inputs live on, else on cuda:0 where a CUDA device is usable, else on the CPU (and
   * warns once, code `OTCA_CUDA_FALLBACK`, where CUDA was compiled in but cannot be used).
   * `'cuda'` where no device is usable throws a DeviceUnavailableError with the reason; an index
   * past the last device is a RangeError; device inputs on another device than asked are an error.
   * Host inputs of a CUDA call are copied in on the call's stream. Default `'auto'`.
   */
  device?: DeviceRequest;
  /** Where the results live (see {@link OutputDeviceMode}). Default `'input'`. */
  outputDevice?: OutputDeviceMode;
  /** CPU worker threads, an integer >= 0; 0 = every core. Results do not depend on it. Default 0. */
  threads?: number;
  /**
   * Which results to return besides `advantages`: `'advantages'`, `'all'`, or a list of
   * {@link OutputName}s. Ignored by the phase functions, which return all their fields. Default `'advantages'`.
   */
  outputs?: OutputsRequest;
}

/** Every option name (anything else is an error). */
export const OPTION_NAMES: readonly (keyof OtcaOptions)[] = Object.freeze([
  'temporal',
  'objective',
  'objectiveWeights',
  'objectiveScale',
  'minWeight',
  'weightScale',
  'stdCorrection',
  'stdScope',
  'advClip',
  'explorationSignal',
  'epsAdv',
  'epsTcd',
  'epsMoca',
  'epsSolver',
  'device',
  'outputDevice',
  'threads',
  'outputs',
] as const);

/** The defaults of SPEC, frozen. */
export const DEFAULT_OPTIONS = Object.freeze({
  temporal: 'tcd',
  objective: 'moca',
  minWeight: 0.5,
  weightScale: 'mean',
  stdCorrection: 1,
  stdScope: 'group',
  advClip: 5,
  explorationSignal: 'absolute',
  epsAdv: 1e-8,
  epsTcd: 1e-6,
  epsMoca: 1e-6,
  epsSolver: 1e-8,
  device: 'auto',
  outputDevice: 'input',
  threads: 0,
  outputs: 'advantages',
} as const);

/** @internal The core's enum codes (csrc/core/otca.h). */
export const TEMPORAL_CODE: Readonly<Record<TemporalMode, number>> = Object.freeze({ tcd: 0, uniform: 1 });
/** @internal */
export const WEIGHT_SCALE_CODE: Readonly<Record<WeightScaleMode, number>> = Object.freeze({ mean: 0, sum: 1 });
/** @internal */
export const OBJECTIVE_CODE: Readonly<Record<ObjectiveMode, number>> = Object.freeze({
  moca: 0,
  'min-norm': 1,
  'weighted-advantage': 2,
  'weighted-reward': 3,
});
/** @internal */
export const STD_SCOPE_CODE: Readonly<Record<StdScopeMode, number>> = Object.freeze({ group: 0, batch: 1 });
/** @internal */
export const EXPLORATION_CODE: Readonly<Record<ExplorationMode, number>> = Object.freeze({ absolute: 0, centered: 1 });
