/**
 * @internal Validation of every call's arguments, BEFORE any work (SPEC "Bad input"). Messages read
 * "Expected <expectation> for <argument> but received <what came>"; TypeError for kinds, RangeError
 * for values and shapes. The native layer re-checks lengths cheaply, so a forged call cannot write
 * out of bounds, but this is where the user-facing messages come from.
 * @packageDocumentation
 */
import { types } from 'node:util';
import { markAsUntransferable } from 'node:worker_threads';

import { DTYPE_CODE, type Dtype, type TypedArrayFor } from './dtypes.js';
import { describeValue, formatShape, isDetached, rangeError, typeError } from './errors.js';
import type { NativeBuffer, NativeLatents, NativeOptions, NativeRewards } from './native.js';
import {
  DEFAULT_OPTIONS,
  EXPLORATION_CODE,
  OBJECTIVE_CODE,
  OPTION_NAMES,
  OUTPUT_NAMES,
  STD_SCOPE_CODE,
  TEMPORAL_CODE,
  WEIGHT_SCALE_CODE,
  type OutputDeviceMode,
  type OutputName,
} from './options.js';
import { own } from './own.js';
import { MAX_REWARD_MAGNITUDE, MAX_SCORE_MAGNITUDE } from './reference.js';
import { parseDevice, Tensor } from './tensor.js';

/** Options after validation: the native numbers, the weight arrays, the device and the outputs. */
export interface ResolvedOptions {
  native: NativeOptions;
  device: { kind: 'auto' | 'cpu' } | { kind: 'cuda'; index: number };
  deviceString: string;
  outputDevice: OutputDeviceMode;
  outputs: ReadonlySet<OutputName>;
}

const MAX_THREADS = 4096;
/** The largest accepted value of every epsilon option (keeps the sums of eq. 8 finite). */
export const MAX_EPS = 1e100;
/** The smallest accepted epsMoca: e = |q| / (std_g q + epsMoca) <= 4e30 then fits in float32. */
export const MIN_EPS_MOCA = 1e-30;
const THREADS_EXPECTATION = `integer in [0, ${MAX_THREADS}] (0 = all cores)`;
const OPTION_NAME_SET: ReadonlySet<string> = new Set(OPTION_NAMES);
const DEVICE_EXPECTATION = "one of 'auto', 'cpu', 'cuda', 'cuda:N'";
const OUTPUT_DEVICE_EXPECTATION = "one of 'input', 'cpu', 'device'";

/** `one of 'a', 'b'` for an enum table; built only for an error message. */
function oneOfExpectation(allowed: Readonly<Record<string, number>>): string {
  return `one of ${Object.keys(allowed).map((k) => `'${k}'`).join(', ')}`;
}

function oneOf<T extends string>(value: unknown, allowed: Readonly<Record<T, number>>, name: string): number {
  if (typeof value !== 'string') throw typeError(oneOfExpectation(allowed), name, value);
  if (!Object.prototype.hasOwnProperty.call(allowed, value)) throw rangeError(oneOfExpectation(allowed), name, value);
  return allowed[value as T];
}

function numberIn(value: unknown, name: string, expectation: string, ok: (x: number) => boolean): number {
  if (typeof value !== 'number') throw typeError(expectation, name, value);
  if (Number.isNaN(value) || !ok(value)) throw rangeError(expectation, name, value);
  return value;
}

/**
 * The largest |value| of objectiveWeights and objectiveScale: with it every float32 output stays
 * finite (|A| <= 2 sqrt(N) |scale|, |f| <= K max|w| max|A|, |Adv| <= T |f|) for any N, T, K that fit
 * in memory.
 */
export const MAX_OBJECTIVE_FACTOR = 1e9;
const FACTOR_EXPECTATION = `finite number in [-${MAX_OBJECTIVE_FACTOR}, ${MAX_OBJECTIVE_FACTOR}]`;

function weightArray(value: unknown, name: string): Float64Array {
  const isArray = Array.isArray(value);
  if (!isArray && !types.isFloat64Array(value) && !types.isFloat32Array(value)) {
    throw typeError('number[] or Float64Array of length K', name, value);
  }
  if (!isArray && isDetached(value as ArrayBufferView)) {
    throw typeError('a live (not detached) buffer', name, 'a detached ArrayBuffer', false);
  }
  const arr = value as ArrayLike<unknown>;
  const out = new Float64Array(arr.length);
  for (let k = 0; k < arr.length; k++) {
    const x = isArray ? own(arr, k) : arr[k];  // a hole is not a number, whatever Array.prototype holds
    if (typeof x !== 'number') throw typeError(FACTOR_EXPECTATION, `${name}[${k}]`, x);
    if (!(Math.abs(x) <= MAX_OBJECTIVE_FACTOR)) throw rangeError(FACTOR_EXPECTATION, `${name}[${k}]`, x);
    out[k] = x;
  }
  return out;
}

/** Checks option names and values (not yet the K-length of the weight arrays: see {@link checkOptionsForK}). */
export function checkOptions(value: unknown): ResolvedOptions {
  const options: object = value === undefined || value === null ? {} : (value as object);
  if (typeof options !== 'object' || Array.isArray(options)) throw typeError('an options object', 'options', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAME_SET.has(key)) {
      throw rangeError(`an option name (one of ${OPTION_NAMES.join(', ')})`, 'options', JSON.stringify(key), false);
    }
  }
  // own properties only: nothing on Object.prototype changes a call
  const o: Record<string, unknown> = {};
  for (const key of OPTION_NAMES) o[key] = own(options, key);

  const nat: NativeOptions = {
    temporal: oneOf((o.temporal === undefined ? DEFAULT_OPTIONS.temporal : o.temporal), TEMPORAL_CODE, 'temporal'),
    objective: oneOf((o.objective === undefined ? DEFAULT_OPTIONS.objective : o.objective), OBJECTIVE_CODE, 'objective'),
    weightScale: oneOf((o.weightScale === undefined ? DEFAULT_OPTIONS.weightScale : o.weightScale), WEIGHT_SCALE_CODE, 'weightScale'),
    stdScope: oneOf((o.stdScope === undefined ? DEFAULT_OPTIONS.stdScope : o.stdScope), STD_SCOPE_CODE, 'stdScope'),
    explorationSignal: oneOf((o.explorationSignal === undefined ? DEFAULT_OPTIONS.explorationSignal : o.explorationSignal), EXPLORATION_CODE, 'explorationSignal'),
    minWeight: numberIn((o.minWeight === undefined ? DEFAULT_OPTIONS.minWeight : o.minWeight), 'minWeight', 'number in [0, 1]', (x) => x >= 0 && x <= 1),
    stdCorrection: numberIn((o.stdCorrection === undefined ? DEFAULT_OPTIONS.stdCorrection : o.stdCorrection), 'stdCorrection', '0 or 1', (x) => x === 0 || x === 1),
    advClip: numberIn((o.advClip === undefined ? DEFAULT_OPTIONS.advClip : o.advClip), 'advClip', 'number > 0 (Infinity: no clip)', (x) => x > 0),
    epsAdv: numberIn((o.epsAdv === undefined ? DEFAULT_OPTIONS.epsAdv : o.epsAdv), 'epsAdv', `number in [0, ${MAX_EPS}]`, (x) => x >= 0 && x <= MAX_EPS),
    epsTcd: numberIn((o.epsTcd === undefined ? DEFAULT_OPTIONS.epsTcd : o.epsTcd), 'epsTcd', `number in (0, ${MAX_EPS}]`, (x) => x > 0 && x <= MAX_EPS),
    epsMoca: numberIn((o.epsMoca === undefined ? DEFAULT_OPTIONS.epsMoca : o.epsMoca), 'epsMoca', `number in [${MIN_EPS_MOCA}, ${MAX_EPS}]`, (x) => x >= MIN_EPS_MOCA && x <= MAX_EPS),
    epsSolver: numberIn((o.epsSolver === undefined ? DEFAULT_OPTIONS.epsSolver : o.epsSolver), 'epsSolver', `number in [0, ${MAX_EPS}]`, (x) => x >= 0 && x <= MAX_EPS),
    threads: numberIn(
      (o.threads === undefined ? DEFAULT_OPTIONS.threads : o.threads),
      'threads',
      THREADS_EXPECTATION,
      (x) => Number.isInteger(x) && x >= 0 && x <= MAX_THREADS,
    ),
    objectiveWeights: undefined,
    objectiveScale: undefined,
  };
  // set even where absent: an unset key would be read from Object.prototype
  nat.objectiveWeights = o.objectiveWeights !== undefined ? weightArray(o.objectiveWeights, 'objectiveWeights') : undefined;
  nat.objectiveScale = o.objectiveScale !== undefined ? weightArray(o.objectiveScale, 'objectiveScale') : undefined;

  const deviceValue = (o.device === undefined ? DEFAULT_OPTIONS.device : o.device);
  if (typeof deviceValue !== 'string') throw typeError(DEVICE_EXPECTATION, 'device', deviceValue);
  const device = parseDevice(deviceValue);
  if (device === undefined) throw rangeError(DEVICE_EXPECTATION, 'device', deviceValue);

  const outputDevice = (o.outputDevice === undefined ? DEFAULT_OPTIONS.outputDevice : o.outputDevice);
  if (typeof outputDevice !== 'string') throw typeError(OUTPUT_DEVICE_EXPECTATION, 'outputDevice', outputDevice);
  if (outputDevice !== 'input' && outputDevice !== 'cpu' && outputDevice !== 'device') {
    throw rangeError(OUTPUT_DEVICE_EXPECTATION, 'outputDevice', outputDevice);
  }

  return {
    native: nat,
    device,
    deviceString: deviceValue,
    outputDevice: outputDevice as OutputDeviceMode,
    outputs: checkOutputs((o.outputs === undefined ? DEFAULT_OPTIONS.outputs : o.outputs)),
  };
}

/** The two common requests, shared (read-only: callers only iterate them). */
const ONLY_ADVANTAGES: ReadonlySet<OutputName> = new Set<OutputName>(['advantages']);
const ALL_OUTPUTS: ReadonlySet<OutputName> = new Set<OutputName>(OUTPUT_NAMES);
const OUTPUT_NAME_SET: ReadonlySet<string> = ALL_OUTPUTS;

function checkOutputs(value: unknown): ReadonlySet<OutputName> {
  if (value === 'advantages') return ONLY_ADVANTAGES;
  if (value === 'all') return ALL_OUTPUTS;
  const expectation = () => `'advantages', 'all' or a list of output names (${OUTPUT_NAMES.join(', ')})`;
  if (typeof value === 'string') throw rangeError(expectation(), 'outputs', value);
  if (!Array.isArray(value)) throw typeError(expectation(), 'outputs', value);
  const set = new Set<OutputName>(['advantages']);
  value.forEach((name: unknown, i) => {
    if (typeof name !== 'string') throw typeError('an output name', `outputs[${i}]`, name);
    if (!OUTPUT_NAME_SET.has(name)) {
      throw rangeError(`one of ${OUTPUT_NAMES.join(', ')}`, `outputs[${i}]`, name);
    }
    set.add(name as OutputName);
  });
  return set;
}

/** The weight arrays, once K is known, must have K entries. */
export function checkOptionsForK(resolved: ResolvedOptions, K: number): void {
  for (const name of ['objectiveWeights', 'objectiveScale'] as const) {
    const arr = resolved.native[name];
    if (arr !== undefined && arr.length !== K) {
      throw rangeError(`length K (${K})`, name, `length ${arr.length}`, false);
    }
  }
}

/**
 * A live tensor: not disposed; on the host, buffer not detached and length equal to its shape's
 * size (a device tensor's size is checked natively). Returns what the addon reads.
 */
function checkTensorMemory<T extends Dtype>(t: Tensor<T>, argument: string, index = -1): NativeBuffer<TypedArrayFor<T>> {
  const name = (): string => (index < 0 ? argument : `${argument}[${index}]`);  // for messages only
  if (t.disposed) throw typeError('a live (not disposed) Tensor', name(), `a disposed ${t.device} Tensor`, false);
  if (t.device !== 'cpu') return Tensor._native(t);
  const data = t.data as ArrayBufferView & { length: number };
  if (isDetached(data)) throw typeError('a live (not detached) buffer', name(), 'a detached ArrayBuffer', false);
  if (data.length !== t.size) {
    throw rangeError(`length ${t.size} (the size of shape ${formatShape(t.shape)})`, name(), `length ${data.length}`, false);
  }
  return t.data;
}

/** A checked inputs object: no unknown keys; the allowed ones read as own properties only. */
export function checkInputs(inputs: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs) || inputs instanceof Tensor) {
    throw typeError(`an object { ${allowed.join(', ')} }`, 'inputs', inputs);
  }
  for (const key of Object.keys(inputs)) {
    if (!allowed.includes(key)) throw rangeError(`an input name (one of ${allowed.join(', ')})`, 'inputs', JSON.stringify(key), false);
  }
  const o: Record<string, unknown> = {};
  for (const key of allowed) o[key] = own(inputs, key);
  return o;
}

/**
 * An async call's host input must stay readable until the call is done, whatever the caller does
 * meanwhile (README, "Async calls and their inputs"): a SharedArrayBuffer is never detached and a
 * growable one only grows; a resizable ArrayBuffer may shrink, so it is refused; any other
 * ArrayBuffer is marked untransferable (Node's own mechanism, which it uses for its Buffer pool), so
 * that postMessage and structuredClone copy it instead of detaching it (Node 20) or refuse to
 * transfer it (Node >= 21, where `ArrayBuffer.prototype.transfer` is refused as well).
 * `copy` where this Node's mark does not stop `transfer()`: the call then reads a copy.
 */
export function guardAsyncInput<A extends ArrayBufferView>(view: A, name: string): A {
  const buffer = view.buffer;
  if (types.isSharedArrayBuffer(buffer)) return view;
  if ((buffer as ArrayBuffer & { resizable?: boolean }).resizable === true) {
    throw typeError(
      'a view of a fixed-length ArrayBuffer or a SharedArrayBuffer (a resizable ArrayBuffer may shrink while an async call reads it: pass a copy, or use the synchronous call)',
      name,
      'a view of a resizable ArrayBuffer',
      false,
    );
  }
  markAsUntransferable(buffer);
  if (!markStopsTransfer()) return (view as unknown as { slice(): A }).slice();
  return view;
}

let transferStopped: boolean | undefined;

/** Whether this Node refuses `ArrayBuffer.prototype.transfer()` on a buffer marked untransferable (asked once). */
function markStopsTransfer(): boolean {
  if (transferStopped !== undefined) return transferStopped;
  const transfer = (ArrayBuffer.prototype as { transfer?: () => ArrayBuffer }).transfer;
  if (typeof transfer !== 'function') return (transferStopped = true);
  const probe = new ArrayBuffer(8);
  markAsUntransferable(probe);
  try {
    transfer.call(probe);
    transferStopped = false;
  } catch {
    transferStopped = true;
  }
  return transferStopped;
}

const LATENT_DTYPES = ['float32', 'float16', 'bfloat16'];

/** Latents: one Tensor [N, T+1, D] or a list of T+1 Tensors [N, D] of one dtype and shape. */
export function checkLatents(input: unknown): NativeLatents {
  const kinds = 'Tensor [N, T+1, D] or a list of T+1 Tensors [N, D]';
  if (input instanceof Tensor) {
    const value = input as Tensor;
    checkLatentDtype(value.dtype, 'latents');
    if (value.rank !== 3) {
      throw rangeError('rank 3 [N, T+1, D] (or a list of T+1 Tensors [N, D])', 'latents', `shape ${formatShape(value.shape)}`, false);
    }
    const [N, S, D] = value.shape as [number, number, number];
    checkDims(N, S, D, 'latents', value.shape);
    const state = checkTensorMemory(value, 'latents') as NativeBuffer<Float32Array | Uint16Array>;
    return { dtype: DTYPE_CODE[value.dtype], N, T: S - 1, D, stacked: true, states: [state] };
  }
  const value = input;
  if (!Array.isArray(value)) throw typeError(kinds, 'latents', value);
  if (value.length < 2) throw rangeError('a list of T+1 >= 2 Tensors [N, D] (T >= 1)', 'latents', `a list of ${value.length}`, false);
  const first: unknown = own(value, 0);
  for (let j = 0; j < value.length; j++) {
    const t: unknown = own(value, j);  // a hole is no Tensor, whatever Array.prototype holds
    if (!(t instanceof Tensor)) throw typeError('Tensor [N, D]', `latents[${j}]`, t);
  }
  const tensors = value as Tensor[];
  const f = first as Tensor;
  checkLatentDtype(f.dtype, 'latents[0]');
  for (let j = 0; j < tensors.length; j++) {
    const t = tensors[j] as Tensor;
    if (t.rank !== 2) throw rangeError('rank 2 [N, D]', `latents[${j}]`, `shape ${formatShape(t.shape)}`, false);
    if (j > 0 && t.dtype !== f.dtype) throw typeError(`dtype ${f.dtype} (as latents[0])`, `latents[${j}]`, t.dtype, false);
    if (j > 0 && (t.shape[0] !== f.shape[0] || t.shape[1] !== f.shape[1])) {
      throw rangeError(`shape ${formatShape(f.shape)} (as latents[0])`, `latents[${j}]`, formatShape(t.shape), false);
    }
  }
  const [N, D] = f.shape as [number, number];
  checkDims(N, tensors.length, D, 'latents', f.shape);
  const states: NativeBuffer<Float32Array | Uint16Array>[] = new Array(tensors.length);
  for (let j = 0; j < tensors.length; j++) {
    states[j] = checkTensorMemory(tensors[j] as Tensor, 'latents', j) as NativeBuffer<Float32Array | Uint16Array>;
  }
  return { dtype: DTYPE_CODE[f.dtype], N, T: tensors.length - 1, D, stacked: false, states };
}

function checkLatentDtype(dtype: Dtype, name: string): void {
  if (!LATENT_DTYPES.includes(dtype)) throw typeError('dtype float32, float16 or bfloat16', name, dtype, false);
}

function checkDims(N: number, states: number, D: number, name: string, shape: readonly number[]): void {
  if (N < 1) throw rangeError('N >= 1 samples', name, `shape ${formatShape(shape)}`, false);
  if (states < 2) throw rangeError('T+1 >= 2 states (T >= 1)', name, `shape ${formatShape(shape)}`, false);
  if (D < 1) throw rangeError('D >= 1 latent elements', name, `shape ${formatShape(shape)}`, false);
}

/** Rewards: a Tensor [N, K] of float32 or float64, finite, N as in the latents where given. */
export function checkRewards(input: unknown, N?: number): NativeRewards {
  if (!(input instanceof Tensor)) throw typeError('Tensor [N, K] (float32 or float64)', 'rewards', input);
  const value = input as Tensor;
  if (value.dtype !== 'float32' && value.dtype !== 'float64') {
    throw typeError('dtype float32 or float64', 'rewards', value.dtype, false);
  }
  if (value.rank !== 2) throw rangeError('rank 2 [N, K]', 'rewards', `shape ${formatShape(value.shape)}`, false);
  const [rows, K] = value.shape as [number, number];
  if (rows < 1) throw rangeError('N >= 1 samples', 'rewards', `shape ${formatShape(value.shape)}`, false);
  if (K < 1) throw rangeError('K >= 1 objectives', 'rewards', `shape ${formatShape(value.shape)}`, false);
  if (N !== undefined && rows !== N) {
    throw rangeError(`N (${N}) rows as in latents`, 'rewards', `shape ${formatShape(value.shape)}`, false);
  }
  const buffer = checkTensorMemory(value, 'rewards') as NativeBuffer<Float32Array | Float64Array>;
  // Device rewards are checked for finiteness by the CUDA backend, with the same message.
  if (value.device !== 'cpu') return { dtype: DTYPE_CODE[value.dtype], N: rows, K, data: buffer };
  const data = value.data as Float32Array | Float64Array;
  for (let idx = 0; idx < data.length; idx++) {
    const x = data[idx] as number;
    if (!(Math.abs(x) <= MAX_REWARD_MAGNITUDE)) {
      const i = Math.floor(idx / K);
      const where = `${describeValue(x)} at sample ${i}, objective ${idx - i * K}`;
      throw rangeError(Number.isFinite(x) ? '|r| <= 1e+100' : 'finite values', 'rewards', where, false);
    }
  }
  return { dtype: DTYPE_CODE[value.dtype], N: rows, K, data };
}

/** groupSize G: an integer >= 1 that divides N. */
export function checkGroupSize(value: unknown, N: number): number {
  if (typeof value !== 'number') throw typeError('integer >= 1', 'groupSize', value);
  if (!Number.isInteger(value) || value < 1) throw rangeError('integer >= 1', 'groupSize', value);
  if (N % value !== 0) throw rangeError(`N (${N}) divisible by groupSize (${value})`, 'groupSize', value);
  return value;
}

/** q: a float32 Tensor [N] (host or device) or a Float32Array of length N, finite. */
export function checkTrajectoryScore(value: unknown, N: number): NativeBuffer<Float32Array> {
  let data: Float32Array;
  if (value instanceof Tensor) {
    if (value.dtype !== 'float32') throw typeError('dtype float32', 'trajectoryScore', value.dtype, false);
    if (value.rank !== 1 || value.shape[0] !== N) {
      throw rangeError(`shape [${N}] (N as in rewards)`, 'trajectoryScore', `shape ${formatShape(value.shape)}`, false);
    }
    const buffer = checkTensorMemory(value as Tensor<'float32'>, 'trajectoryScore');
    if (value.device !== 'cpu') return buffer;  // checked for finiteness by the CUDA backend
    data = value.data as Float32Array;
  } else if (types.isFloat32Array(value)) {
    if (isDetached(value)) throw typeError('a live (not detached) buffer', 'trajectoryScore', 'a detached ArrayBuffer', false);
    if (value.length !== N) throw rangeError(`length N (${N}) as in rewards`, 'trajectoryScore', `length ${value.length}`, false);
    data = value;
  } else {
    throw typeError('float32 Tensor [N] or Float32Array', 'trajectoryScore', value);
  }
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number;
    if (!(Math.abs(x) <= MAX_SCORE_MAGNITUDE)) {
      const expectation = Number.isFinite(x) ? '|q| <= 4 (phase 1 gives |q| <= 2)' : 'finite values';
      throw rangeError(expectation, 'trajectoryScore', `${describeValue(x)} at sample ${i}`, false);
    }
  }
  return data;
}
