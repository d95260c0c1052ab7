/**
 * The options of every call, in one table: each option's name, its allowed values or range, its
 * default, the paper's symbol and a one-line description. Validation (validate.ts), the float64
 * reference's defaults (reference.ts), the native encoding (the plan's options, checked against
 * the addon's own tables when it loads) and the README's option table all come from it.
 * @packageDocumentation
 */

/** The per-step and per-sample quantities a call can return. */
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

/** Every output name, in the order the docs list them. */
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

/** A device request: `'auto'`, `'cpu'`, `'cuda'` (the first device) or `'cuda:N'`. */
export type DeviceRequest = 'auto' | 'cpu' | 'cuda' | `cuda:${number}`;

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
/** Where the fused advantage f is standardised after the fusion: nowhere, over its group, or over the batch. */
export type FusedNormalizationMode = 'none' | 'group' | 'batch';
/** How epsAdv stabilises a std: `std + epsAdv` (`'add'`) or `max(std, epsAdv)` (`'floor'`). */
export type StdStabilizerMode = 'add' | 'floor';
/** A peer trainer whose advantages a preset reproduces. */
export type PresetName = 'dancegrpo' | 'flow-grpo' | 'gdpo' | 'flow-factory' | 'g2rpo';

/**
 * Options of `createAdvantageStep`, `otcaAdvantages`, `trajectoryCredit` and `objectiveCredit`.
 * Every field is optional and has the default of {@link OPTION_SCHEMA}; unknown names are an error.
 * Each phase reads the options it needs (the same object can be passed to both).
 *
 * A call reads its options exactly once, when it starts: the object's own enumerable string-keyed
 * properties (those object spread and `Object.assign` read), each getter run once, and the elements
 * of `objectiveWeights`, `objectiveScale` and `outputs` read once into a copy. Non-enumerable and
 * inherited properties are ignored. Changing the object (or its arrays) afterwards changes neither
 * that call nor a later one.
 */
export interface OtcaOptions {
  /**
   * Start from the options of a peer trainer, reproducing its advantages to float32 precision (tested
   * against ports of the peers' code: ~1e-7 against their formulas, ~6e-6 against their float32
   * arithmetic): `'dancegrpo'`
   * (each reward normalised per group, Bessel std, eps 1e-8, clip 5, summed with objectiveWeights;
   * uniform over steps) or `'flow-grpo'` (the weighted sum of rewards normalised with the mean per
   * group and the population std over the batch, eps 1e-4, clip 5; uniform over steps). Options
   * given beside a preset override it: `{ preset: 'flow-grpo', temporal: 'tcd', objective: 'moca' }`
   * is a Flow-GRPO trainer with OTCA switched on. `'gdpo'` (NVlabs/GDPO): with K >= 2 each reward
   * normalised per group (Bessel std + 1e-4), the weighted sum, then normalised over the batch
   * (Bessel std + 1e-4), no clip; with K = 1 the weighted reward normalised per group, no batch step
   * (the preset resolves where K is known: see {@link PRESETS_SINGLE_OBJECTIVE}). `'flow-factory'`
   * (Flow-Factory's AdvantageProcessor defaults, one process): each reward normalised per group by
   * max(population std, 1e-6), the weighted sum, normalised over the batch the same way, clamped at
   * 5 once at the end. `'g2rpo'` (Granular-GRPO, with per-step rewards [N, T, K]): each reward
   * normalised per group at each step (Bessel std + 1e-8), summed unweighted, clamped at 5 once.
   * Default: none (otca's own defaults).
   */
  preset?: PresetName;
  /** Temporal credit: `'tcd'` gives w = w_min + (1 - w_min) T wbar (eqs. 6-8); `'uniform'` gives w = 1. Default `'tcd'`. */
  temporal?: TemporalMode;
  /**
   * Objective fusion: `'moca'` (eqs. 11-14, Algorithm 1), `'min-norm'` (eq. 11, lam = 0),
   * `'weighted-advantage'` (f = sum_k w_k A_k), `'weighted-reward'` (normalise sum_k w_k r_k).
   * Default `'moca'`.
   */
  objective?: ObjectiveMode;
  /** Per-objective weights w_k for the weighted objectives: K finite numbers with |w_k| <= 1e9. Default all 1. */
  objectiveWeights?: readonly number[] | Float64Array | Float32Array;
  /** Per-objective scale of A[i,k] after clipping (eq. 2): K finite numbers with |s_k| <= 1e9. Default all 1. */
  objectiveScale?: readonly number[] | Float64Array | Float32Array;
  /** Minimum step weight w_min (paper section 6.5), in [0, 1]; 0 gives eq. 8 itself. Default 0.5. */
  minWeight?: number;
  /** `'mean'`: w has mean 1 over t (GRPO magnitude); `'sum'`: w sums to 1 (eq. 8). Default `'mean'`. */
  weightScale?: WeightScaleMode;
  /** Std correction of std_g (eq. 2, eq. 12): 1 = Bessel (DanceGRPO), 0 = population (Flow-GRPO). Default 1. */
  stdCorrection?: 0 | 1;
  /** Scope of the reward std in eq. 2: `'group'` or `'batch'` (the mean stays per group). Default `'group'`. */
  stdScope?: StdScopeMode;
  /** Clip bound of A[i,k] (eq. 2), > 0; `Infinity` disables clipping. Default 5. */
  advClip?: number;
  /** Exploration signal e (eq. 12): `'absolute'` = |q| as printed, `'centered'` = |q - mean_g q|. Default `'absolute'`. */
  explorationSignal?: ExplorationMode;
  /** epsilon of eq. 2's denominator (std + eps), in [0, 1e100]; also the fused normalisation's. Default 1e-8. */
  epsAdv?: number;
  /**
   * Beyond the paper: standardise the fused advantage f after the fusion, `(f - mean) / (std +
   * epsAdv)` over the sample's group (`'group'`) or the whole batch (`'batch'`), with `stdCorrection`
   * and `stdStabilizer` as in eq. 2, before the step weights multiply it. `'batch'` is GDPO's
   * batch-wide step; `'group'` removes MOCA's positive within-group mean. Default `'none'`.
   */
  fusedNormalization?: FusedNormalizationMode;
  /**
   * How epsAdv stabilises every std of eq. 2 and of `fusedNormalization`: `'add'` divides by
   * `std + epsAdv` (DanceGRPO, Flow-GRPO, GDPO), `'floor'` by `max(std, epsAdv)` (Flow-Factory).
   * Default `'add'`.
   */
  stdStabilizer?: StdStabilizerMode;
  /**
   * Clip bound of the final fused advantage f (after `fusedNormalization`), > 0; `Infinity` disables
   * it. Distinct from `advClip`, which clips each objective's A[i,k] before the fusion. Default
   * `Infinity`.
   */
  fusedClip?: number;
  /** epsilon of eq. 8 (u = max(0, dS) + eps), in (0, 1e100]. Default 1e-6. */
  epsTcd?: number;
  /** epsilon of eqs. 12 and 14, in [1e-30, 1e100]. Default 1e-6. */
  epsMoca?: number;
  /** Tolerance of Algorithm 1's equality tests, in [0, 1e100]. Default 1e-8. */
  epsSolver?: number;
  /**
   * Where to compute: `'auto'`, `'cpu'`, `'cuda'` (= `'cuda:0'`) or `'cuda:N'`. `'auto'` runs on the
   * device the inputs live on, else on cuda:0 where a CUDA device is usable, else on the CPU: quietly
   * where no NVIDIA driver is installed, with a warning (code `OTCA_CUDA_FALLBACK`) where a driver
   * or GPU is present but CUDA cannot be used. `'cuda'` where no device is usable throws a
   * DeviceUnavailableError with the reason; an index past the last device is a RangeError; device
   * inputs on another device than asked are an error. Host inputs of a CUDA call are copied in on
   * the call's stream. The environment variable `OTCA_DEVICE` sets the default. Default `'auto'`.
   */
  device?: DeviceRequest;
  /** Where the results live (see {@link OutputDeviceMode}). Default `'input'`. */
  outputDevice?: OutputDeviceMode;
  /**
   * CPU worker threads, an integer in [0, 4096]; 0, or more than the machine's hardware threads,
   * uses all of them. Results do not depend on it. Default 0.
   */
  threads?: number;
  /**
   * Which results to return besides `advantages`: `'advantages'`, `'all'`, or a list of
   * {@link OutputName}s. The phase functions return all their fields. Default `'advantages'`.
   */
  outputs?: OutputsRequest;
}

// ------------------------------------------------------------------ limits

/** The largest |reward| accepted (the sums and squares of eq. 2 stay finite for any batch). */
export const MAX_REWARD_MAGNITUDE = 1e100;
/** The largest |q| phase 2 accepts (phase 1 gives |q| <= 2; e then fits in float32). */
export const MAX_SCORE_MAGNITUDE = 4;
/**
 * The largest |value| of objectiveWeights and objectiveScale: with it every float32 output stays
 * finite (|A| <= 2 sqrt(N) |scale|, |f| <= K max|w| max|A|, |Adv| <= T |f|) for any N, T, K that fit
 * in memory.
 */
export const MAX_OBJECTIVE_FACTOR = 1e9;

// ------------------------------------------------------------------ the schema

/** One option of the schema. */
export type OptionSpec =
  | {
      /** A string from `values`. */
      kind: 'enum';
      /** The allowed values. */
      values: readonly string[];
      /** The value an absent option takes (`undefined`: none). */
      default: string | undefined;
      /** Whether the native plan parses it (by this name). */
      native: boolean;
      /** The paper's equation or section, where there is one. */
      paper: string;
      /** One line for the README's option table. */
      doc: string;
    }
  | {
      /** A number from `values`. */
      kind: 'choice';
      /** The allowed values. */
      values: readonly number[];
      /** The value an absent option takes (`undefined`: none). */
      default: number;
      /** Whether the native plan parses it (by this name). */
      native: true;
      /** The paper's equation or section, where there is one. */
      paper: string;
      /** One line for the README's option table. */
      doc: string;
    }
  | {
      /** A number in [min, max]. */
      kind: 'number';
      /** The lower bound: inclusive, except where `minExclusive`. */
      min: number;
      /** The upper bound, inclusive. */
      max: number;
      /** Whether `min` itself is excluded. */
      minExclusive?: boolean;
      /** Whether only integers are allowed. */
      integer?: boolean;
      /** The value an absent option takes (`undefined`: none). */
      default: number;
      /** Whether the native plan parses it (by this name). */
      native: true;
      /** The paper's equation or section, where there is one. */
      paper: string;
      /** One line for the README's option table. */
      doc: string;
    }
  | {
      /** K finite numbers, one per objective. */
      kind: 'factors';
      /** The value an absent option takes (`undefined`: none). */
      default: undefined;
      /** Whether the native plan parses it (by this name). */
      native: true;
      /** The paper's equation or section, where there is one. */
      paper: string;
      /** One line for the README's option table. */
      doc: string;
    }
  | {
      /** A device string, or the outputs' names. */
      kind: 'device' | 'outputs';
      /** The value an absent option takes (`undefined`: none). */
      default: string;
      /** Whether the native plan parses it (by this name). */
      native: false;
      /** The paper's equation or section, where there is one. */
      paper: string;
      /** One line for the README's option table. */
      doc: string;
    };

/**
 * Every option: kind, allowed values or range, default, the paper's reference and a one-line doc
 * (the README's option table is generated from it). `native` options are the plan's: the addon
 * parses them by these names.
 */
export const OPTION_SCHEMA = Object.freeze({
  preset: {
    kind: 'enum',
    values: ['dancegrpo', 'flow-grpo', 'gdpo', 'flow-factory', 'g2rpo'],
    default: undefined,
    native: false,
    paper: '',
    doc: "a peer's advantages, to float32 precision (docs/peers.md); options beside it override it",
  },
  temporal: {
    kind: 'enum',
    values: ['tcd', 'uniform'],
    default: 'tcd',
    native: true,
    paper: 'eq. 8, 6.5',
    doc: "`'tcd'`: `w = minWeight + (1 - minWeight) * T * wbar`; `'uniform'`: `w = 1` (plain GRPO broadcast)",
  },
  minWeight: {
    kind: 'number',
    min: 0,
    max: 1,
    default: 0.5,
    native: true,
    paper: 'w_min',
    doc: 'floor of every step weight; `0` gives eq. 8 itself',
  },
  weightScale: {
    kind: 'enum',
    values: ['mean', 'sum'],
    default: 'mean',
    native: true,
    paper: '',
    doc: "`'mean'`: `w` has mean 1 over steps; `'sum'`: `w` sums to 1",
  },
  objective: {
    kind: 'enum',
    values: ['moca', 'min-norm', 'weighted-advantage', 'weighted-reward'],
    default: 'moca',
    native: true,
    paper: 'eqs. 11-14',
    doc: "`'moca'`, `'min-norm'` (lambda = 0), `'weighted-advantage'` (DanceGRPO's per-reward sum), `'weighted-reward'` (Flow-GRPO's fusion)",
  },
  objectiveWeights: {
    kind: 'factors',
    default: undefined,
    native: true,
    paper: '',
    doc: 'K weights of the two weighted modes, `|w| <= 1e9` (default all 1)',
  },
  objectiveScale: {
    kind: 'factors',
    default: undefined,
    native: true,
    paper: '',
    doc: 'K scales of `A[i,k]`, `|s| <= 1e9` (default all 1)',
  },
  stdScope: {
    kind: 'enum',
    values: ['group', 'batch'],
    default: 'group',
    native: true,
    paper: 'eq. 2',
    doc: "`'batch'`: std over the whole batch, mean per group (Flow-GRPO)",
  },
  stdCorrection: {
    kind: 'choice',
    values: [0, 1],
    default: 1,
    native: true,
    paper: '',
    doc: '`1` Bessel (DanceGRPO), `0` population std (Flow-GRPO)',
  },
  advClip: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: Infinity,
    default: 5,
    native: true,
    paper: '',
    doc: 'clip of the normalised advantages (`Infinity`: none)',
  },
  explorationSignal: {
    kind: 'enum',
    values: ['absolute', 'centered'],
    default: 'absolute',
    native: true,
    paper: 'eq. 12',
    doc: "`'absolute'`: `e = |q| / std(q)`; `'centered'`: `|q - mean(q)| / std(q)`",
  },
  epsAdv: { kind: 'number', min: 0, max: 1e100, default: 1e-8, native: true, paper: 'eq. 2', doc: 'stabiliser of eq. 2, `[0, 1e100]`' },
  fusedNormalization: {
    kind: 'enum',
    values: ['none', 'group', 'batch'],
    default: 'none',
    native: true,
    paper: '',
    doc: "standardise the fused `f` over its group or the batch after the fusion (`'batch'`: GDPO's step)",
  },
  stdStabilizer: {
    kind: 'enum',
    values: ['add', 'floor'],
    default: 'add',
    native: true,
    paper: 'eq. 2',
    doc: "`'add'`: divide by `std + epsAdv`; `'floor'`: by `max(std, epsAdv)` (Flow-Factory); eq. 2 and `fusedNormalization`",
  },
  fusedClip: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: Infinity,
    default: Infinity,
    native: true,
    paper: '',
    doc: 'clip of the final fused `f`, after `fusedNormalization` (`Infinity`: none); `advClip` clips each `A` before the fusion',
  },
  epsTcd: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1e100,
    default: 1e-6,
    native: true,
    paper: 'eq. 8',
    doc: 'stabiliser of eq. 8, `(0, 1e100]`',
  },
  epsMoca: { kind: 'number', min: 1e-30, max: 1e100, default: 1e-6, native: true, paper: 'eqs. 12-14', doc: 'stabiliser of eqs. 12-14, `[1e-30, 1e100]`' },
  epsSolver: { kind: 'number', min: 0, max: 1e100, default: 1e-8, native: true, paper: 'Alg. 1', doc: 'tolerance of Algorithm 1, `[0, 1e100]`' },
  device: {
    kind: 'device',
    default: 'auto',
    native: false,
    paper: '',
    doc: "`'auto'`, `'cpu'`, `'cuda'`, `'cuda:N'` (`OTCA_DEVICE` sets the default); the backend that ran is on every result",
  },
  outputDevice: {
    kind: 'enum',
    values: ['input', 'cpu', 'device'],
    default: 'input',
    native: false,
    paper: '',
    doc: "where results live: `'input'` (device Tensors when a CUDA call had device inputs), `'cpu'`, or `'device'`",
  },
  threads: {
    kind: 'number',
    min: 0,
    max: 4096,
    integer: true,
    default: 0,
    native: true,
    paper: '',
    doc: 'CPU backend threads (`0`: all cores); results are bit-identical for any count',
  },
  outputs: {
    kind: 'outputs',
    default: 'advantages',
    native: false,
    paper: '',
    doc: "`'advantages'`, `'all'` or a list of output names",
  },
} satisfies Record<keyof OtcaOptions, OptionSpec>);

/** Every option name (anything else is an error). */
export const OPTION_NAMES = Object.freeze(Object.keys(OPTION_SCHEMA)) as readonly (keyof OtcaOptions)[];

/** Each option's default (undefined: none, e.g. objectiveWeights = all 1), from the schema. */
export const DEFAULT_OPTIONS = Object.freeze(
  Object.fromEntries(Object.entries(OPTION_SCHEMA).map(([name, spec]) => [name, spec.default])),
) as {
  readonly [K in keyof typeof OPTION_SCHEMA]: (typeof OPTION_SCHEMA)[K]['default'];
};

/**
 * The presets: the options a peer trainer's advantage computation amounts to, each checked against
 * a port of the peer's code in otca's tests (docs/peers.md cites the lines). Options given
 * beside a preset override it.
 *
 * - `dancegrpo`: DanceGRPO (github.com/XueZeyue/DanceGRPO), `fastvideo/train_grpo_flux.py` and,
 *   for several rewards, `fastvideo/train_grpo_hunyuan.py`: each reward normalised in its group of
 *   `num_generations` (`group_rewards.std() + 1e-8`, torch's unbiased std), clamped at
 *   `adv_clip_max = 5`, one clipped loss per reward summed with the coefficients (pass them as
 *   `objectiveWeights`); one advantage for every step.
 * - `flow-grpo`: Flow-GRPO (github.com/yifan123/flow_grpo), `flow_grpo/rewards.py` `multi_score`
 *   (the weighted sum of the rewards; its weights as `objectiveWeights`) and
 *   `flow_grpo/stat_tracking.py` `PerPromptStatTracker.update` with `global_std = True`: the mean
 *   per prompt, `np.std` (population) over the whole batch `+ 1e-4`, clamped at `adv_clip_max = 5`;
 *   one advantage for every step. Prompts scattered through the batch are groups through `groupIds`.
 * - `gdpo`: GDPO (github.com/NVlabs/GDPO), `trl-GDPO/trl-0.18.0-gdpo/trl/trainer/grpo_trainer.py`
 *   `_generate_and_score_completions` with `apply_gdpo`: each reward z-scored in its group of
 *   `num_generations` (torch's unbiased std + 1e-4), times its weight (`objectiveWeights`), summed,
 *   then z-scored over the whole batch (unbiased std + 1e-4); no clip. K = 1: see
 *   {@link PRESETS_SINGLE_OBJECTIVE}.
 * - `flow-factory`: Flow-Factory (github.com/X-GenGroup/Flow-Factory),
 *   `src/flow_factory/advantage/advantage_processor.py` `AdvantageProcessor.compute_gdpo` (its
 *   default aggregation), one process: each reward `(r - mean) / max(np.std, 1e-6)` per group (groups
 *   from unique ids, any sizes: `groupIds`), times its weight, summed, the sum standardised over the
 *   batch the same way, then clamped to [-5, 5] once before the loss (`adv_clip_range`).
 * - `g2rpo`: Granular-GRPO (github.com/bcmi/Granular-GRPO), `fastvideo/train_g2rpo_hps.py`
 *   `train_one_step` (lines 615-632, the clamp at 659-661) and `train_g2rpo_hps_clip.py` (lines
 *   657-693, 720-722): per-step rewards [N, T, K], T its trained steps (`eta_step_list`), one column
 *   per reward model and granularity, each z-scored within its group of `num_generations` at each
 *   step (torch's unbiased std + 1e-8), summed without weights (over granularities and over the HPS
 *   and CLIP-score models alike), the sum clamped at `adv_clip_max = 5`.
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<OtcaOptions>>> = Object.freeze({
  dancegrpo: Object.freeze({
    objective: 'weighted-advantage',
    temporal: 'uniform',
    stdScope: 'group',
    stdCorrection: 1,
    epsAdv: 1e-8,
    advClip: 5,
  }),
  'flow-grpo': Object.freeze({
    objective: 'weighted-reward',
    temporal: 'uniform',
    stdScope: 'batch',
    stdCorrection: 0,
    epsAdv: 1e-4,
    advClip: 5,
  }),
  gdpo: Object.freeze({
    objective: 'weighted-advantage',
    temporal: 'uniform',
    stdScope: 'group',
    stdCorrection: 1,
    stdStabilizer: 'add',
    epsAdv: 1e-4,
    advClip: Infinity,
    fusedNormalization: 'batch',
    fusedClip: Infinity,
  }),
  'flow-factory': Object.freeze({
    objective: 'weighted-advantage',
    temporal: 'uniform',
    stdScope: 'group',
    stdCorrection: 0,
    stdStabilizer: 'floor',
    epsAdv: 1e-6,
    advClip: Infinity,
    fusedNormalization: 'batch',
    fusedClip: 5,
  }),
  g2rpo: Object.freeze({
    objective: 'weighted-advantage',
    temporal: 'uniform',
    stdScope: 'group',
    stdCorrection: 1,
    stdStabilizer: 'add',
    epsAdv: 1e-8,
    advClip: Infinity,
    fusedNormalization: 'none',
    fusedClip: 5,
  }),
});

/**
 * What a preset sets differently where there is one objective (K = 1), over {@link PRESETS}; options
 * given beside the preset still override these. Only GDPO branches on K: its trainer skips the
 * per-reward and batch-wide steps for one reward and normalises the weighted reward per group
 * instead, `(w r - mean) / (std(w r) + 1e-4)` (grpo_trainer.py lines 1250-1266). A step resolves
 * this when a call's K is known: calls with K = 1 run a plan made from these options, calls with
 * K >= 2 the preset's own (phase 1 reads neither).
 */
export const PRESETS_SINGLE_OBJECTIVE: Readonly<Partial<Record<PresetName, Readonly<OtcaOptions>>>> = Object.freeze({
  gdpo: Object.freeze({ objective: 'weighted-reward', fusedNormalization: 'none' }),
});

/** A preset's options for K objectives: {@link PRESETS}, with {@link PRESETS_SINGLE_OBJECTIVE} over it where K = 1. */
export function presetOptions(preset: PresetName, K: number): Readonly<OtcaOptions> {
  const single = K === 1 ? PRESETS_SINGLE_OBJECTIVE[preset] : undefined;
  return single === undefined ? PRESETS[preset] : { ...PRESETS[preset], ...single };
}

// compile-time: the interface and the schema name the same options
type Missing = Exclude<keyof OtcaOptions, keyof typeof OPTION_SCHEMA> | Exclude<keyof typeof OPTION_SCHEMA, keyof OtcaOptions>;
const schemaCoversOptions: [Missing] extends [never] ? true : Missing = true;
void schemaCoversOptions;
