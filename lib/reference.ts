/**
 * The float64 reference implementation of the OTCA advantage step (docs/algorithm.md), written plainly.
 *
 * This file is the oracle the native backends are tested against, and it is exported so that
 * users can check their own numbers. It does not import the native code. Every quantity is a
 * JavaScript number (float64), every sum runs in index order, and the MOCA solver follows
 * Algorithm 1 literally (an actual sort). It is slow on purpose: clarity over speed.
 *
 * @example
 * ```ts
 * import { referenceAdvantages } from 'otca';
 * const ref = referenceAdvantages({ rewards, K: 3, latents, N: 12, T: 16, D: 65536, groupSize: 12 });
 * ref.advantages; // Float64Array of N*T, row-major [N, T]
 * ```
 * @packageDocumentation
 */

import {
  DEFAULT_OPTIONS,
  MAX_REWARD_MAGNITUDE,
  MAX_SCORE_MAGNITUDE,
  PRESETS,
  presetOptions,
  type ExplorationMode,
  type FusedNormalizationMode,
  type ObjectiveMode,
  type PresetName,
  type StdScopeMode,
  type StdStabilizerMode,
  type TemporalMode,
  type WeightScaleMode,
} from './options.js';
import { hasMember, member, own } from './own.js';

// ------------------------------------------------------------------ input types

/**
 * Anything with `.data`, `.shape` and optionally `.dtype` (the public `Tensor` is one). float16
 * and bfloat16 data are raw bits in a Uint16Array and are decoded exactly.
 */
export interface ReferenceTensorLike {
  /** The elements, row-major (float16 / bfloat16 as their bits, decoded exactly). */
  readonly data: ArrayLike<number>;
  /** The dimensions. */
  readonly shape: readonly number[];
  /** `'float16'` or `'bfloat16'` for bits; anything else (or nothing) reads `data` as numbers. */
  readonly dtype?: string;
}

/** Latents as the reference accepts them. */
export type ReferenceLatents =
  | ArrayLike<number> // flat row-major [N, T+1, D]
  | readonly ArrayLike<number>[] // T+1 flat [N, D]
  | ReferenceTensorLike // [N, T+1, D]
  | readonly ReferenceTensorLike[]; // T+1 tensors [N, D]

/**
 * Options of the reference: the public option names, with the same defaults (from the option
 * schema) and presets (device, outputDevice, threads and outputs are ignored).
 */
export interface ReferenceOptions {
  /** A peer's options as the starting point (see OtcaOptions.preset); the others override it. */
  preset?: PresetName;
  /** Step weighting: 'tcd' (eq. 8 blended with minWeight) or 'uniform' (w = 1). Default 'tcd'. */
  temporal?: TemporalMode;
  /** Objective fusion. Default 'moca'. */
  objective?: ObjectiveMode;
  /** Per-objective weights for the weighted modes (a number broadcasts). Default all 1. */
  objectiveWeights?: ArrayLike<number> | number;
  /** Per-objective scale of A (a number broadcasts). Default all 1. */
  objectiveScale?: ArrayLike<number> | number;
  /** Minimum step weight w_min (paper 6.5). Default 0.5. */
  minWeight?: number;
  /** 'mean' (mean of w over t is 1) or 'sum' (w sums to 1). Default 'mean'. */
  weightScale?: WeightScaleMode;
  /** 1 = Bessel (n-1), 0 = population std. Default 1. */
  stdCorrection?: number;
  /** Std of the rewards over the group or the whole batch (mean stays per group). Default 'group'. */
  stdScope?: StdScopeMode;
  /** Clip of the normalised advantage. Default 5. */
  advClip?: number;
  /** Exploration signal e: |q| ('absolute', eq. 12) or |q - mean_g q| ('centered'). Default 'absolute'. */
  explorationSignal?: ExplorationMode;
  /** epsilon of eq. 2 (and of the fused normalisation). Default 1e-8. */
  epsAdv?: number;
  /** Standardise f after the fusion over its group or the batch. Default 'none'. */
  fusedNormalization?: FusedNormalizationMode;
  /** std + epsAdv ('add') or max(std, epsAdv) ('floor'), in eq. 2 and the fused normalisation. Default 'add'. */
  stdStabilizer?: StdStabilizerMode;
  /** Clip of the final f. Default Infinity (none). */
  fusedClip?: number;
  /** epsilon of eq. 8. Default 1e-6. */
  epsTcd?: number;
  /** epsilon of eqs. 12 and 14. Default 1e-6. */
  epsMoca?: number;
  /** epsilon of Algorithm 1. Default 1e-8. */
  epsSolver?: number;
  /** Ignored by the reference. */
  device?: unknown;
  /** Ignored by the reference. */
  outputDevice?: unknown;
  /** Ignored by the reference. */
  threads?: unknown;
  /** Ignored by the reference (it always returns every field). */
  outputs?: unknown;
}

/** Input of {@link referenceTrajectoryCredit}. */
export interface ReferenceTrajectoryInput {
  /** The latent trajectory z, see {@link ReferenceLatents}. */
  latents: ReferenceLatents;
  /** Samples; inferred from tensors' shapes, or from D and the data length. */
  N?: number;
  /** Steps (T+1 states); inferred from tensors' shapes or the list length. */
  T?: number;
  /** Latent size; inferred from tensors' shapes, or from N and the data length. */
  D?: number;
}

/** Input of {@link referenceObjectiveCredit}. */
export interface ReferenceObjectiveInput {
  /** Row-major [N, K] rewards, or a tensor [N, K]. */
  rewards: ArrayLike<number> | ReferenceTensorLike;
  /** q [N] (phase 1's trajectoryScore), or a tensor [N]. */
  trajectoryScore: ArrayLike<number> | ReferenceTensorLike;
  /** Contiguous groups of this size (exactly one of groupSize and groupIds). */
  groupSize?: number;
  /** Each sample's group id, integers >= 0: groups of any size, in any order. */
  groupIds?: ArrayLike<number>;
  /** Objectives; inferred from a rewards tensor's shape, or from N. */
  K?: number;
  /** Samples; inferred from trajectoryScore's length. */
  N?: number;
  /**
   * Per-step rewards: the T of rewards [N, T, K] (inferred from a rank-3 tensor); 0 or absent:
   * rewards [N, K], one per sample.
   */
  rewardSteps?: number;
}

/** Input of {@link referenceAdvantages}. */
export interface ReferenceInput {
  /** Row-major [N, K] rewards, or a tensor [N, K]. */
  rewards: ArrayLike<number> | ReferenceTensorLike;
  /** The latent trajectory z, see {@link ReferenceLatents}. */
  latents: ReferenceLatents;
  /** Contiguous groups of this size (exactly one of groupSize and groupIds). */
  groupSize?: number;
  /** Each sample's group id, integers >= 0: groups of any size, in any order. */
  groupIds?: ArrayLike<number>;
  /** Objectives; inferred from the rewards' shape, or from N and their length. */
  K?: number;
  /** Samples; inferred from tensors' shapes, or from D and the data length. */
  N?: number;
  /** Steps (T+1 states); inferred from tensors' shapes or the list length. */
  T?: number;
  /** Latent size; inferred from tensors' shapes, or from N and the data length. */
  D?: number;
  /** Per-step rewards [N, T, K]: T (it must equal the latents' T); inferred from a rank-3 rewards tensor. */
  rewardSteps?: number;
}

/** Phase 1 results (float64). */
export interface ReferenceTrajectoryResult {
  /** S [N, T+1] */
  similarity: Float64Array;
  /** dS [N, T] */
  deltaS: Float64Array;
  /** wbar [N, T] (eq. 8) */
  rawWeights: Float64Array;
  /** w [N, T] */
  stepWeights: Float64Array;
  /** q [N] */
  trajectoryScore: Float64Array;
}

/** Phase 2 results (float64). With per-step rewards [N, T, K], every field but e has a step axis. */
export interface ReferenceObjectiveResult {
  /** A [N, K] (eq. 2 times objectiveScale); [N, T, K] for per-step rewards */
  objectiveAdvantages: Float64Array;
  /** e [N] (eq. 12; per sample, from q) */
  exploration: Float64Array;
  /** lam [N] (eq. 14 for 'moca', 0 otherwise); [N, T] for per-step rewards */
  lambda: Float64Array;
  /** c [N, K]; [N, T, K] for per-step rewards */
  coefficients: Float64Array;
  /** f [N]; [N, T] for per-step rewards */
  fused: Float64Array;
}

/** Every output of the step (float64). */
export interface ReferenceResult extends ReferenceTrajectoryResult, ReferenceObjectiveResult {
  /** Adv [N, T] = w * f */
  advantages: Float64Array;
}

// ------------------------------------------------------------------ decoding

/** Exact value of an IEEE half-precision bit pattern. */
export function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

const f32scratch = new Float32Array(1);
const u32scratch = new Uint32Array(f32scratch.buffer);

/** Exact value of a bfloat16 bit pattern (the upper 16 bits of a float32). */
export function decodeBFloat16(bits: number): number {
  u32scratch[0] = (bits & 0xffff) << 16;
  return f32scratch[0]!;
}

// Inputs are read as own properties or a class's members (a Tensor's `data` is an accessor), never
// from Object.prototype: a key someone added there changes nothing.
function isTensorLike(x: unknown): x is ReferenceTensorLike {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && hasMember(x, 'data') && hasMember(x, 'shape');
}

/** A tensor-like's fields, read as {@link member}s. */
function tensorFields(x: ReferenceTensorLike): { data: ArrayLike<number>; shape: readonly number[]; dtype: unknown } {
  return { data: member(x, 'data') as ArrayLike<number>, shape: member(x, 'shape') as readonly number[], dtype: member(x, 'dtype') };
}

/** The values of a tensor or array as numbers, decoding float16/bfloat16 bits. */
function valuesOf(x: ArrayLike<number> | ReferenceTensorLike): ArrayLike<number> {
  if (!isTensorLike(x)) return x;
  const { data, dtype } = tensorFields(x);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const decode = dtype === 'float16' ? decodeFloat16 : decodeBFloat16;
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = decode(data[i]!);
    return out;
  }
  return data;
}

function checkInteger(name: string, v: number | undefined, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`Expected integer >= ${min} for ${name} but received ${String(v)}`);
  }
  return v;
}

/** Broadcasts a per-objective option (number or array of K) to a length-K array. */
function perObjective(name: string, v: ArrayLike<number> | number | undefined, K: number): number[] {
  if (v === undefined) return new Array<number>(K).fill(1);
  if (typeof v === 'number') return new Array<number>(K).fill(v);
  if (v.length !== K) {
    throw new RangeError(`Expected ${K} values (one per objective) for ${name} but received ${v.length}`);
  }
  return Array.from(v);
}

// ------------------------------------------------------------------ latents access

interface StateView {
  N: number;
  T: number;
  D: number;
  /** Element d of sample i at state j. */
  at(i: number, j: number, d: number): number;
}

function viewLatents(input: ReferenceTrajectoryInput): StateView {
  const lat = own(input, 'latents') as ReferenceLatents;
  const given = { N: own(input, 'N') as number | undefined, T: own(input, 'T') as number | undefined, D: own(input, 'D') as number | undefined };
  const isList = Array.isArray(lat) && lat.length > 0 && typeof lat[0] !== 'number';
  if (isList) {
    const list = lat as readonly (ArrayLike<number> | ReferenceTensorLike)[];
    const T = list.length - 1;
    checkInteger('T (latents list length - 1)', T, 1);
    if (given.T !== undefined && given.T !== T) {
      throw new RangeError(`Expected ${given.T + 1} states for latents but received ${list.length}`);
    }
    const first = list[0]!;
    let N = given.N;
    let D = given.D;
    if (isTensorLike(first)) {
      const shape = tensorFields(first).shape;
      N ??= shape[0];
      D ??= shape[1];
    }
    const rows = list.map((s) => valuesOf(s));
    const len = rows[0]!.length;
    if (N === undefined && D !== undefined) N = len / D;
    if (D === undefined && N !== undefined) D = len / N;
    N = checkInteger('N', N, 1);
    D = checkInteger('D', D, 1);
    for (let j = 0; j <= T; j++) {
      if (rows[j]!.length !== N * D) {
        throw new RangeError(`Expected ${N * D} elements for latents[${j}] but received ${rows[j]!.length}`);
      }
    }
    const Dn = D;
    return { N, T, D, at: (i, j, d) => rows[j]![i * Dn + d]! };
  }
  const flat = valuesOf(lat as ArrayLike<number> | ReferenceTensorLike);
  let N = given.N;
  let T = given.T;
  let D = given.D;
  if (isTensorLike(lat)) {
    const shape = tensorFields(lat).shape;
    N ??= shape[0];
    T ??= shape[1] === undefined ? undefined : shape[1] - 1;
    D ??= shape[2];
  }
  N = checkInteger('N', N, 1);
  T = checkInteger('T', T, 1);
  D ??= flat.length / (N * (T + 1));
  D = checkInteger('D', D, 1);
  if (flat.length !== N * (T + 1) * D) {
    throw new RangeError(`Expected ${N * (T + 1) * D} elements for latents but received ${flat.length}`);
  }
  const stride = (T + 1) * D;
  const Dn = D;
  return { N, T, D, at: (i, j, d) => flat[i * stride + j * Dn + d]! };
}

// ------------------------------------------------------------------ small math

/**
 * Mean and std of xs (in index order); n - corr <= 0 gives std 0. Equal values give exactly that
 * value as the mean and std 0 (a std of 0 gives A = 0).
 */
function meanStd(xs: readonly number[], corr: number): { mean: number; std: number } {
  const n = xs.length;
  if (n === 0) return { mean: 0, std: 0 };
  if (xs.every((x) => x === xs[0])) return { mean: xs[0]!, std: 0 };
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  if (n - corr <= 0) return { mean, std: 0 };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / (n - corr)) };
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * The groups as lists of sample indices, ascending within a group, groups in ascending id order
 * (contiguous blocks of G for groupSize).
 */
function groupLists(N: number, groupSize: number | undefined, groupIds: ArrayLike<number> | undefined): number[][] {
  if ((groupSize === undefined) === (groupIds === undefined)) {
    throw new TypeError(`Expected exactly one of groupSize and groupIds for inputs but received ${groupSize === undefined ? 'neither' : 'both'}`);
  }
  if (groupSize !== undefined) {
    const G = checkInteger('groupSize', groupSize, 1);
    if (N % G !== 0) throw new RangeError(`Expected a divisor of N = ${N} for groupSize but received ${G}`);
    return Array.from({ length: N / G }, (_, g) => Array.from({ length: G }, (_, m) => g * G + m));
  }
  const ids = groupIds as ArrayLike<number>;
  if (ids.length !== N) throw new RangeError(`Expected length N (${N}) for groupIds but received length ${ids.length}`);
  const byId = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`Expected integers >= 0 for groupIds but received ${String(id)} at sample ${i}`);
    const list = byId.get(id);
    if (list === undefined) byId.set(id, [i]);
    else list.push(i);
  }
  return [...byId.keys()].sort((a, b) => a - b).map((id) => byId.get(id)!);
}

/** (x - mean) / (std + epsAdv), or / max(std, epsAdv) for stdStabilizer 'floor'; 0 where that denominator is 0. */
function standardise(x: number, mean: number, std: number, o: ResolvedOptions): number {
  const denominator = o.stdStabilizer === 'floor' ? Math.max(std, o.epsAdv) : std + o.epsAdv;
  // a zero denominator (std 0, epsAdv 0) means equal values: 0, never NaN
  return denominator > 0 ? (x - mean) / denominator : 0;
}

/**
 * Section 1 for one column of values: per-group mean; std over the group or the batch. Returns
 * the normalised and clipped values (not yet scaled), in sample order.
 */
function normalise(values: readonly number[], groups: readonly number[][], o: ResolvedOptions): number[] {
  const batch = meanStd(values, o.stdCorrection);
  const out = new Array<number>(values.length);
  for (const members of groups) {
    const group = members.map((i) => values[i]!);
    const gs = meanStd(group, o.stdCorrection);
    const spread = o.stdScope === 'batch' ? batch.std : gs.std;
    members.forEach((i, m) => {
      out[i] = clip(standardise(group[m]!, gs.mean, spread, o), -o.advClip, o.advClip);
    });
  }
  return out;
}

/**
 * The final fused advantages from the fusion's f (docs/algorithm.md, "Beyond the paper"): f
 * standardised over its group or the batch (fusedNormalization), then clipped at fusedClip.
 */
function finalFused(f: Float64Array, groups: readonly number[][], o: ResolvedOptions): Float64Array {
  const out = new Float64Array(f.length);
  if (o.fusedNormalization === 'batch') {
    const batch = meanStd(Array.from(f), o.stdCorrection);
    for (let i = 0; i < f.length; i++) out[i] = standardise(f[i]!, batch.mean, batch.std, o);
  } else if (o.fusedNormalization === 'group') {
    for (const members of groups) {
      const gs = meanStd(members.map((i) => f[i]!), o.stdCorrection);
      for (const i of members) out[i] = standardise(f[i]!, gs.mean, gs.std, o);
    }
  } else {
    out.set(f);
  }
  for (let i = 0; i < f.length; i++) out[i] = clip(out[i]!, -o.fusedClip, o.fusedClip);
  return out;
}

/**
 * Algorithm 1 for one sample, literally: returns the coefficients c (length K).
 * minimises (c.A)^2 - lam (c.A) over the simplex.
 */
export function referenceMocaSolve(A: readonly number[], lam: number, epsSolver: number): number[] {
  const K = A.length;
  const c = new Array<number>(K).fill(0);
  let smin = A[0]!;
  let smax = A[0]!;
  for (const a of A) {
    smin = Math.min(smin, a);
    smax = Math.max(smax, a);
  }
  // Step 1: all (nearly) equal -> one-hot at the first index of the maximum.
  if (smax - smin < epsSolver) {
    c[A.indexOf(smax)] = 1;
    return c;
  }
  // Step 2: some advantage (nearly) equals the target -> one-hot at the first such k.
  const zhat = clip(lam / 2, smin, smax);
  for (let k = 0; k < K; k++) {
    if (Math.abs(A[k]! - zhat) < epsSolver) {
      c[k] = 1;
      return c;
    }
  }
  // Step 3: sort ascending (ties by index), first adjacent pair lo <= zhat <= hi, interpolate.
  const order = A.map((_, k) => k).sort((x, y) => A[x]! - A[y]! || x - y);
  for (let p = 0; p + 1 < K; p++) {
    const lo = order[p]!;
    const hi = order[p + 1]!;
    if (A[lo]! <= zhat && zhat <= A[hi]!) {
      if (A[hi] === A[lo]) {
        c[lo] = 1; // degenerate pair (only with epsSolver = 0): A[lo] == zhat
      } else {
        c[lo] = (A[hi]! - zhat) / (A[hi]! - A[lo]!);
        c[hi] = (zhat - A[lo]!) / (A[hi]! - A[lo]!);
      }
      return c;
    }
  }
  c[order[0]!] = 1; // no pair (K = 1 with epsSolver = 0): the only advantage equals zhat
  return c;
}

// ------------------------------------------------------------------ options

interface ResolvedOptions {
  temporal: TemporalMode;
  objective: ObjectiveMode;
  objectiveWeights: ArrayLike<number> | number | undefined;
  objectiveScale: ArrayLike<number> | number | undefined;
  minWeight: number;
  weightScale: WeightScaleMode;
  stdCorrection: number;
  stdScope: StdScopeMode;
  advClip: number;
  explorationSignal: ExplorationMode;
  epsAdv: number;
  epsTcd: number;
  epsMoca: number;
  epsSolver: number;
  fusedNormalization: FusedNormalizationMode;
  stdStabilizer: StdStabilizerMode;
  fusedClip: number;
}

/**
 * The options as own properties only (nothing on Object.prototype changes the reference either):
 * the preset's under the caller's, then the schema's defaults. With K known, the preset's options
 * for K objectives (presetOptions).
 */
function resolve(options: ReferenceOptions = {}, K?: number): ResolvedOptions {
  const preset = own(options, 'preset') as PresetName | undefined;
  if (preset !== undefined && !Object.prototype.hasOwnProperty.call(PRESETS, preset)) {
    throw new RangeError(`Expected one of ${Object.keys(PRESETS).map((p) => `'${p}'`).join(', ')} for preset but received ${String(preset)}`);
  }
  const base: Record<string, unknown> = preset === undefined ? {} : K === undefined ? PRESETS[preset] : presetOptions(preset, K);
  const o = <K extends keyof ResolvedOptions>(key: K): ResolvedOptions[K] => {
    const given = own(options, key);
    const value = given !== undefined ? given : own(base, key);
    return (value !== undefined ? value : DEFAULT_OPTIONS[key]) as ResolvedOptions[K];
  };
  return {
    temporal: o('temporal'),
    objective: o('objective'),
    objectiveWeights: o('objectiveWeights'),
    objectiveScale: o('objectiveScale'),
    minWeight: o('minWeight'),
    weightScale: o('weightScale'),
    stdCorrection: o('stdCorrection'),
    stdScope: o('stdScope'),
    advClip: o('advClip'),
    explorationSignal: o('explorationSignal'),
    epsAdv: o('epsAdv'),
    epsTcd: o('epsTcd'),
    epsMoca: o('epsMoca'),
    epsSolver: o('epsSolver'),
    fusedNormalization: o('fusedNormalization'),
    stdStabilizer: o('stdStabilizer'),
    fusedClip: o('fusedClip'),
  };
}

// ------------------------------------------------------------------ phase 1: TCD

/**
 * Phase 1 (docs/algorithm.md sections 2 and 3: TCD, eqs. 6-8, and q, eq. 12): S, dS, wbar, w and q from the latents alone.
 * Throws RangeError on a non-finite latent, naming the first (sample, state).
 */
export function referenceTrajectoryCredit(
  input: ReferenceTrajectoryInput,
  options?: ReferenceOptions,
): ReferenceTrajectoryResult {
  const o = resolve(options);
  const z = viewLatents(input);
  const { N, T, D } = z;
  const similarity = new Float64Array(N * (T + 1));
  const deltaS = new Float64Array(N * T);
  const rawWeights = new Float64Array(N * T);
  const stepWeights = new Float64Array(N * T);
  const trajectoryScore = new Float64Array(N);

  for (let i = 0; i < N; i++) {
    for (let j = 0; j <= T; j++) {
      for (let d = 0; d < D; d++) {
        const v = z.at(i, j, d);
        if (!Number.isFinite(v)) {
          throw new RangeError(
            `Expected finite values for latents but received ${String(v)} at sample ${i}, state ${j}`,
          );
        }
      }
    }
    // S[j] = cos(z_j, z_T), 0 where either norm is 0.
    let sqT = 0;
    for (let d = 0; d < D; d++) sqT += z.at(i, T, d) * z.at(i, T, d);
    const S: number[] = [];
    for (let j = 0; j <= T; j++) {
      let dot = 0;
      let sq = 0;
      for (let d = 0; d < D; d++) {
        dot += z.at(i, j, d) * z.at(i, T, d);
        sq += z.at(i, j, d) * z.at(i, j, d);
      }
      S.push(sq > 0 && sqT > 0 ? dot / (Math.sqrt(sq) * Math.sqrt(sqT)) : 0);
      similarity[i * (T + 1) + j] = S[j]!;
    }
    // dS, u = max(0, dS) + epsTcd, wbar = u / sum u (eq. 8).
    const dS: number[] = [];
    for (let t = 0; t < T; t++) dS.push(S[t + 1]! - S[t]!);
    const u = dS.map((x) => Math.max(0, x) + o.epsTcd);
    let sumU = 0;
    for (const x of u) sumU += x;
    let q = 0;
    for (let t = 0; t < T; t++) {
      const wbar = u[t]! / sumU;
      let w = o.temporal === 'tcd' ? o.minWeight + (1 - o.minWeight) * T * wbar : 1;
      if (o.weightScale === 'sum') w /= T;
      q += wbar * dS[t]!;
      deltaS[i * T + t] = dS[t]!;
      rawWeights[i * T + t] = wbar;
      stepWeights[i * T + t] = w;
    }
    trajectoryScore[i] = q;
  }
  return { similarity, deltaS, rawWeights, stepWeights, trajectoryScore };
}

// ------------------------------------------------------------------ phase 2: objectives

/**
 * Phase 2 (docs/algorithm.md sections 1 and 3: eq. 2 and MOCA, eqs. 11-14): A, e, lam, c and f from the rewards and q.
 * Throws RangeError on a non-finite reward, naming the first (sample, objective).
 */
export function referenceObjectiveCredit(
  input: ReferenceObjectiveInput,
  options?: ReferenceOptions,
): ReferenceObjectiveResult {
  const get = <K extends keyof ReferenceObjectiveInput>(key: K) => own(input, key) as ReferenceObjectiveInput[K];
  const rewardsIn = get('rewards');
  const r = valuesOf(rewardsIn);
  const q = valuesOf(get('trajectoryScore'));
  const N = checkInteger('N', get('N') ?? q.length, 1);
  if (q.length !== N) {
    throw new RangeError(`Expected ${N} values for trajectoryScore but received ${q.length}`);
  }
  // per-step rewards [N, T, K]: a rank-3 tensor, or rewardSteps given (0 or absent: [N, K])
  const shape = isTensorLike(rewardsIn) ? tensorFields(rewardsIn).shape : undefined;
  const S = checkInteger('rewardSteps', get('rewardSteps') ?? (shape?.length === 3 ? shape[1] : 0), 0);
  const steps = Math.max(S, 1);
  let K = get('K');
  if (K === undefined && shape !== undefined) K = shape[shape.length - 1];
  K = checkInteger('K', K ?? r.length / (N * steps), 1);
  if (r.length !== N * steps * K) {
    throw new RangeError(`Expected ${N * steps * K} values for rewards but received ${r.length}`);
  }
  const o = resolve(options, K);  // a preset may branch on K (PRESETS_SINGLE_OBJECTIVE)
  const groups = groupLists(N, get('groupSize'), get('groupIds'));
  const at = (i: number, t: number, k: number) => r[(i * steps + t) * K + k]!;
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < steps; t++) {
      for (let k = 0; k < K; k++) {
        const v = at(i, t, k);
        const where = S > 0 ? `at sample ${i}, step ${t}, objective ${k}` : `at sample ${i}, objective ${k}`;
        if (!Number.isFinite(v)) throw new RangeError(`Expected finite values for rewards but received ${String(v)} ${where}`);
        if (Math.abs(v) > MAX_REWARD_MAGNITUDE) throw new RangeError(`Expected |r| <= 1e+100 for rewards but received ${String(v)} ${where}`);
      }
    }
  }
  for (let i = 0; i < N; i++) {
    const v = q[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`Expected finite values for trajectoryScore but received ${String(v)} at sample ${i}`);
    if (Math.abs(v) > MAX_SCORE_MAGNITUDE) {
      throw new RangeError(`Expected |q| <= 4 (phase 1 gives |q| <= 2) for trajectoryScore but received ${String(v)} at sample ${i}`);
    }
  }
  const weights = perObjective('objectiveWeights', o.objectiveWeights, K);
  const scale = perObjective('objectiveScale', o.objectiveScale, K);

  // Eq. 12: e per sample, from q (per sample whatever the rewards).
  const exploration = new Float64Array(N);
  for (const members of groups) {
    const qGroup = meanStd(members.map((i) => q[i]!), o.stdCorrection);
    for (const i of members) {
      const num = o.explorationSignal === 'centered' ? Math.abs(q[i]! - qGroup.mean) : Math.abs(q[i]!);
      exploration[i] = num / (qGroup.std + o.epsMoca);
    }
  }

  // Each step t on its own (one step where the rewards are per sample): rows (i, t) of the outputs.
  const A = new Float64Array(N * steps * K);
  const lambda = new Float64Array(N * steps);
  const coefficients = new Float64Array(N * steps * K);
  const fused = new Float64Array(N * steps);
  for (let t = 0; t < steps; t++) {
    const row = (i: number) => i * steps + t;
    // Section 1: A[i,t,k] per objective column of step t.
    for (let k = 0; k < K; k++) {
      const column: number[] = [];
      for (let i = 0; i < N; i++) column.push(at(i, t, k));
      const a = normalise(column, groups, o);
      for (let i = 0; i < N; i++) A[row(i) * K + k] = a[i]! * scale[k]!;
    }

    // 'weighted-reward': normalise R_i = sum_k w_k r[i,t,k] as in section 1 (no objectiveScale).
    let weightedReward: number[] = [];
    if (o.objective === 'weighted-reward') {
      const R: number[] = [];
      for (let i = 0; i < N; i++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += weights[k]! * at(i, t, k);
        R.push(sum);
      }
      weightedReward = normalise(R, groups, o);
    }

    const f = new Float64Array(N);
    for (const members of groups) {
      for (const i of members) {
        const Ai = Array.from(A.subarray(row(i) * K, (row(i) + 1) * K));
        // Eq. 14, with the step's advantages and the sample's e.
        let sum = 0;
        for (const a of Ai) sum += a;
        const lamMoca = (Math.max(0, sum) / (Math.abs(sum) + o.epsMoca)) * Math.tanh(exploration[i]!);

        let c: number[];
        if (o.objective === 'moca' || o.objective === 'min-norm') {
          const lam = o.objective === 'moca' ? lamMoca : 0;
          lambda[row(i)] = lam;
          c = referenceMocaSolve(Ai, lam, o.epsSolver);
        } else {
          c = weights;
        }
        let fi = 0;
        for (let k = 0; k < K; k++) fi += c[k]! * Ai[k]!;
        if (o.objective === 'weighted-reward') fi = weightedReward[i]!;
        for (let k = 0; k < K; k++) coefficients[row(i) * K + k] = c[k]!;
        f[i] = fi;
      }
    }
    const final = finalFused(f, groups, o);
    for (let i = 0; i < N; i++) fused[row(i)] = final[i]!;
  }
  return { objectiveAdvantages: A, exploration, lambda, coefficients, fused };
}

// ------------------------------------------------------------------ the whole step

/**
 * The whole OTCA step in float64: phase 1, phase 2, then Adv[i,t] = w[i,t] * f[i] (docs/algorithm.md section 4).
 *
 * q stays float64 between the phases here, while the native backends hand phase 2 q rounded to
 * float32 (so that their two-phase API equals their one-call API bit for bit). Expect agreement to
 * about 1e-6 of each field's magnitude, except e (eq. 12), whose relative error grows with
 * |q| / std_g q where a group's q values nearly agree.
 *
 * @example
 * ```ts
 * // r: N*K rewards; states: T+1 arrays of N*D latents
 * const ref = referenceAdvantages({ rewards: r, K: 2, latents: states, N: 4, D: 64, groupSize: 4 });
 * ref.advantages; // Float64Array [N, T]
 * ```
 */
export function referenceAdvantages(input: ReferenceInput, options?: ReferenceOptions): ReferenceResult {
  const get = <K extends keyof ReferenceInput>(key: K) => own(input, key) as ReferenceInput[K];
  const rewards = get('rewards');
  const K = get('K');
  let N0 = get('N');
  if (N0 === undefined && isTensorLike(rewards)) N0 = tensorFields(rewards).shape[0];
  if (N0 === undefined && K !== undefined) N0 = valuesOf(rewards).length / (K * Math.max(get('rewardSteps') ?? 0, 1));
  const traj = referenceTrajectoryCredit(
    { latents: get('latents'), N: N0, T: get('T'), D: get('D') },
    options,
  );
  const N = traj.trajectoryScore.length;
  const T = traj.deltaS.length / N;
  const rewardShape = isTensorLike(rewards) ? tensorFields(rewards).shape : undefined;
  const rewardSteps = get('rewardSteps') ?? (rewardShape?.length === 3 ? rewardShape[1] : 0);
  if (rewardSteps > 0 && rewardSteps !== T) {
    throw new RangeError(`Expected ${T} steps (as latents) for rewards but received ${String(rewardSteps)}`);
  }
  const obj = referenceObjectiveCredit(
    { rewards, trajectoryScore: traj.trajectoryScore, groupSize: get('groupSize'), groupIds: get('groupIds'), K, N, rewardSteps },
    options,
  );
  // Adv[i,t] = w[i,t] * f[i], or w[i,t] * f[i,t] for per-step rewards
  const advantages = new Float64Array(N * T);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < T; t++) advantages[i * T + t] = traj.stepWeights[i * T + t]! * obj.fused[rewardSteps > 0 ? i * T + t : i]!;
  }
  return { ...traj, ...obj, advantages };
}
