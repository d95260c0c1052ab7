/**
 * @internal Validation of every call's arguments, BEFORE any work. Messages read
 * "Expected <expectation> for <argument> but received <what came>"; TypeError for kinds, RangeError
 * for values and shapes. The native layer re-checks lengths cheaply, so a forged call cannot write
 * out of bounds, but this is where the user-facing messages come from. Options are resolved once per
 * AdvantageStep, from the schema of options.ts.
 * @packageDocumentation
 */
import { types } from 'node:util';
import { markAsUntransferable } from 'node:worker_threads';

import { DTYPE_CODE, type Dtype, type TypedArrayFor } from './dtypes.js';
import { describeValue, formatShape, isDetached, rangeError, typeError } from './errors.js';
import type { NativeBuffer, NativeLatents, NativePlanOptions, NativeRewards } from './native.js';
import {
  MAX_OBJECTIVE_FACTOR,
  MAX_REWARD_MAGNITUDE,
  MAX_SCORE_MAGNITUDE,
  OPTION_NAMES,
  OPTION_SCHEMA,
  OUTPUT_NAMES,
  PRESETS,
  PRESETS_SINGLE_OBJECTIVE,
  type DeviceRequest,
  type OptionSpec,
  type OtcaOptions,
  type OutputDeviceMode,
  type OutputName,
  type PresetName,
} from './options.js';
import { own } from './own.js';
import type { StepOptions } from './step.js';
import { isTensor, parseDevice, Tensor } from './tensor.js';

/** Options after validation: the plan's native options, the device, the outputs. */
export interface ResolvedOptions {
  native: NativePlanOptions;
  /** The plan's options for calls with one objective, where the preset branches on K (PRESETS_SINGLE_OBJECTIVE). */
  nativeSingleObjective?: NativePlanOptions;
  device: { kind: 'auto' | 'cpu' } | { kind: 'cuda'; index: number };
  deviceString: string;
  outputDevice: OutputDeviceMode;
  outputs: ReadonlySet<OutputName>;
  /** Every option's resolved value, for `AdvantageStep.options`. */
  values: StepOptions;
}

const OPTION_NAME_SET: ReadonlySet<string> = new Set(OPTION_NAMES);
/** The options the native plan parses (the schema's `native` flag). */
const NATIVE_OPTION_NAMES = OPTION_NAMES.filter((name) => OPTION_SCHEMA[name].native);

/** `one of 'a', 'b'` for an enumeration; built only for an error message. */
function oneOfText(values: readonly (string | number)[]): string {
  return `one of ${values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}`;
}

/** The expectation of a number option: `number in [0, 1]`, `integer in [0, 4096]`, `number in (0, 1e+100]`. */
function rangeText(spec: Extract<OptionSpec, { kind: 'number' }>): string {
  return `${spec.integer ? 'integer' : 'number'} in ${spec.minExclusive ? '(' : '['}${spec.min}, ${spec.max}]`;
}

const FACTOR_TEXT = `finite number in [-${MAX_OBJECTIVE_FACTOR}, ${MAX_OBJECTIVE_FACTOR}]`;

/** objectiveWeights / objectiveScale: K finite numbers of magnitude <= 1e9, as a Float64Array (a copy). */
function factors(value: unknown, name: string): Float64Array {
  const isArray = Array.isArray(value);
  if (!isArray && !types.isFloat64Array(value) && !types.isFloat32Array(value)) {
    throw typeError('number[] or Float64Array of length K', name, value);
  }
  if (!isArray && isDetached(value as ArrayBufferView)) {
    throw typeError('a live (not detached) buffer', name, 'a detached ArrayBuffer', false);
  }
  const arr = value as ArrayLike<unknown>;
  if (arr.length === 0) throw rangeError('length K >= 1', name, 'length 0', false);
  const out = new Float64Array(arr.length);
  for (let k = 0; k < arr.length; k++) {
    const x = isArray ? own(arr, k) : arr[k];  // a hole is not a number, whatever Array.prototype holds
    if (typeof x !== 'number') throw typeError(FACTOR_TEXT, `${name}[${k}]`, x);
    if (!(Math.abs(x) <= MAX_OBJECTIVE_FACTOR)) throw rangeError(FACTOR_TEXT, `${name}[${k}]`, x);
    out[k] = x;
  }
  return out;
}

/** One option's value against its schema entry (undefined: the default). */
function optionValue(name: keyof OtcaOptions, given: unknown): unknown {
  const spec: OptionSpec = OPTION_SCHEMA[name];
  const value = given === undefined ? spec.default : given;  // a default takes the same path (outputs -> a Set)
  if (value === undefined) return undefined;
  switch (spec.kind) {
    case 'enum':
      if (typeof value !== 'string') throw typeError(oneOfText(spec.values), name, value);
      if (!spec.values.includes(value)) throw rangeError(oneOfText(spec.values), name, value);
      return value;
    case 'choice':
      if (typeof value !== 'number') throw typeError(oneOfText(spec.values), name, value);
      if (!spec.values.includes(value)) throw rangeError(oneOfText(spec.values), name, value);
      return value;
    case 'number': {
      if (typeof value !== 'number') throw typeError(rangeText(spec), name, value);
      const ok = (spec.minExclusive ? value > spec.min : value >= spec.min) && value <= spec.max &&
        (!spec.integer || Number.isInteger(value));
      if (!ok) throw rangeError(rangeText(spec), name, value);
      return value;
    }
    case 'factors':
      return factors(value, name);
    case 'device': {
      const expectation = "one of 'auto', 'cpu', 'cuda', 'cuda:N'";
      if (typeof value !== 'string') throw typeError(expectation, name, value);
      if (parseDevice(value) === undefined) throw rangeError(expectation, name, value);
      return value;
    }
    case 'outputs':
      return checkOutputs(value);
  }
}

let envDevice: { value: string } | undefined;

/** The process-wide default device: `OTCA_DEVICE` (auto, cpu, cuda, cuda:N), read once. */
function defaultDevice(): string {
  if (envDevice === undefined) {
    const v = process.env.OTCA_DEVICE;
    if (v === undefined || v === '') envDevice = { value: 'auto' };
    else if (parseDevice(v) !== undefined) envDevice = { value: v };
    else throw rangeError("one of 'auto', 'cpu', 'cuda', 'cuda:N'", 'the environment variable OTCA_DEVICE', v);
  }
  return envDevice.value;
}

/**
 * A call's options as read, once: the snapshot from which both the one-shot functions' cache key
 * ({@link optionsKey}) and the plan ({@link resolveOptions}) are made, so that the two can never
 * disagree. Made by {@link readOptions}: plain data properties, nothing inherited.
 */
export type OptionsSnapshot = { readonly [name: string]: unknown } & { readonly [snapshotBrand]: true };
declare const snapshotBrand: unique symbol;

/**
 * The snapshot's constructor: its objects inherit nothing (their prototype is an empty object whose
 * own prototype is null, so no key added to Object.prototype is ever seen) and, unlike those of
 * `Object.create(null)`, stay fast-mode objects, which keeps the one-shot call's key cheap.
 */
const Snapshot = function Snapshot() {} as unknown as new () => Record<string, unknown>;
Snapshot.prototype = Object.freeze(Object.create(null));
const NO_OPTIONS = Object.freeze(new Snapshot()) as OptionsSnapshot;
const hasOwn = Object.prototype.hasOwnProperty;
const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * Reads a call's options exactly once (`undefined` and `null`: none): the own enumerable
 * string-keyed properties, as object spread and `Object.assign` read them, each getter run once;
 * non-enumerable and inherited properties are ignored. Arrays and Float64Array/Float32Array values
 * (objectiveWeights, objectiveScale, outputs) are copied, each element read once (holes stay holes),
 * so that nothing the caller does afterwards, and no getter, can make the key and the plan differ.
 */
export function readOptions(value: unknown): OptionsSnapshot {
  if (value === undefined || value === null) return NO_OPTIONS;
  if (typeof value !== 'object' || Array.isArray(value)) throw typeError('an options object', 'options', value);
  const snapshot = new Snapshot();
  const keys = Object.keys(value);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    // as Object.assign: a key an earlier getter deleted or made non-enumerable is skipped
    if (!isEnumerable.call(value, key)) continue;
    snapshot[key] = readOnce((value as Record<string, unknown>)[key]);
  }
  return snapshot as OptionsSnapshot;
}

/**
 * A value as read now: an array copied (its length and each own element read once, holes kept),
 * a live Float64Array, Float32Array or Int32Array copied; anything else as it is.
 */
export function readOnce(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return x;
  if (Array.isArray(x)) {
    const n = x.length;
    const copy: unknown[] = new Array(n);
    for (let k = 0; k < n; k++) if (hasOwn.call(x, k)) copy[k] = x[k];
    return copy;
  }
  if ((types.isFloat64Array(x) || types.isFloat32Array(x) || types.isInt32Array(x)) && !isDetached(x)) return x.slice();
  return x;
}

/**
 * Resolves and checks a call's options, read once by {@link readOptions} (own enumerable properties
 * only: nothing on Object.prototype changes a call): a preset's options first, then the caller's
 * over them, then each option's default.
 */
export function resolveOptions(options: OptionsSnapshot): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!OPTION_NAME_SET.has(key)) {
      throw rangeError(`an option name (one of ${OPTION_NAMES.join(', ')})`, 'options', JSON.stringify(key), false);
    }
  }
  const preset = optionValue('preset', options.preset) as PresetName | undefined;
  const base: OtcaOptions = preset === undefined ? {} : PRESETS[preset];
  const v = {} as Record<keyof OtcaOptions, unknown>;
  for (const name of OPTION_NAMES) {
    const given = options[name];
    v[name] = optionValue(name, given !== undefined ? given : own(base, name));
  }
  if (v.device === OPTION_SCHEMA.device.default && options.device === undefined) v.device = defaultDevice();
  const deviceString = v.device as DeviceRequest;
  // the options the plan parses, by the schema's `native` flag (validated above: their types are
  // NativePlanOptions')
  const native = {} as Record<string, unknown>;
  for (const name of NATIVE_OPTION_NAMES) native[name] = v[name];
  const weights = native.objectiveWeights as Float64Array | undefined;
  const scale = native.objectiveScale as Float64Array | undefined;
  if (weights !== undefined && scale !== undefined && weights.length !== scale.length) {
    throw rangeError(`length ${weights.length} (as objectiveWeights)`, 'objectiveScale', `length ${scale.length}`, false);
  }
  const outputs = v.outputs as ReadonlySet<OutputName>;
  // a preset that branches on K: its K = 1 options, under the caller's
  const single = preset === undefined ? undefined : PRESETS_SINGLE_OBJECTIVE[preset];
  let nativeSingleObjective: NativePlanOptions | undefined;
  if (single !== undefined) {
    const n = { ...native };
    for (const name of Object.keys(single) as (keyof OtcaOptions)[]) {
      if (own(options, name) === undefined) n[name] = optionValue(name, own(single, name));
    }
    nativeSingleObjective = n as unknown as NativePlanOptions;
  }
  return {
    native: native as unknown as NativePlanOptions,
    nativeSingleObjective,
    device: parseDevice(deviceString) as ResolvedOptions['device'],
    deviceString,
    outputDevice: v.outputDevice as OutputDeviceMode,
    outputs,
    values: Object.freeze({
      ...(v as object),
      device: deviceString,
      outputs: [...outputs],
      objectiveWeights: weights && Array.from(weights),
      objectiveScale: scale && Array.from(scale),
    }) as unknown as ResolvedOptions['values'],
  };
}

/**
 * A key that identifies what `resolveOptions(options)` resolves to, from the same snapshot
 * (numbers by their exact text, so Infinity, NaN and null differ), without validating it;
 * undefined where a value is of a kind it does not key (then nothing is cached). The one-shot
 * functions look their step up by it, so a repeated call with equal options parses nothing twice.
 */
export function optionsKey(options: OptionsSnapshot): string | undefined {
  const keys = Object.keys(options);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  let key = '';
  for (const k of keys) {
    if (!OPTION_NAME_SET.has(k)) return undefined;  // an error, which resolveOptions reports (and no name can forge a key)
    const part = keyOf(options[k]);
    if (part === undefined) return undefined;
    key += `${k}=${part};`;
  }
  return key;
}

function keyOf(x: unknown): string | undefined {
  switch (typeof x) {
    case 'number':
      return `n${Object.is(x, -0) ? '-0' : String(x)}`;
    case 'string':
      return `s${x.length}:${x}`;  // length-prefixed: no escaping needed to keep keys apart
    case 'undefined':
      return 'u';
    case 'object': {
      if (x === null) return 'null';
      const typed = types.isFloat64Array(x) ? 'f64' : types.isFloat32Array(x) ? 'f32' : Array.isArray(x) ? 'arr' : undefined;
      if (typed === undefined) return undefined;
      const arr = x as ArrayLike<unknown>;
      let s = `${typed}[`;
      for (let k = 0; k < arr.length; k++) {
        if (Array.isArray(x) && !hasOwn.call(x, k)) {
          s += 'h,';  // a hole: `outputs` skips it where an undefined element is an error
          continue;
        }
        const part = keyOf(arr[k]);
        if (part === undefined) return undefined;
        s += `${part},`;
      }
      return `${s}]`;
    }
    default:
      return undefined;
  }
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
  if (t.device !== 'cpu') {
    if (t.disposed) throw typeError('a live (not disposed) Tensor', indexed(argument, index), `a disposed ${t.device} Tensor`, false);
    return Tensor._native(t);
  }
  const data = Tensor._hostData(t);
  // the common case first: a live view of the tensor's size (a detached one has no elements left)
  if (data !== null && data.length === t.size && t.size > 0) return data;
  const name = indexed(argument, index);
  if (data === null) throw typeError('a live (not disposed) Tensor', name, 'a disposed cpu Tensor', false);
  if (isDetached(data)) throw typeError('a live (not detached) buffer', name, 'a detached ArrayBuffer', false);
  if (data.length !== t.size) {
    throw rangeError(`length ${t.size} (the size of shape ${formatShape(t.shape)})`, name, `length ${data.length}`, false);
  }
  return data;
}

function indexed(argument: string, index: number): string {
  return index < 0 ? argument : `${argument}[${index}]`;
}

/** A checked inputs object: no unknown keys; the allowed ones read as own properties only. */
export function checkInputs(inputs: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs) || isTensor(inputs)) {
    throw typeError(`an object { ${allowed.join(', ')} }`, 'inputs', inputs);
  }
  const o: Record<string, unknown> = {};
  let found = 0;
  for (let k = 0; k < allowed.length; k++) {
    const key = allowed[k]!;
    const v = own(inputs, key);
    o[key] = v;
    if (v !== undefined || Object.prototype.hasOwnProperty.call(inputs, key)) found++;
  }
  // any other own key is an error (only looked for where there are more keys than allowed ones found)
  const keys = Object.keys(inputs);
  if (keys.length !== found) {
    for (const key of keys) {
      if (!allowed.includes(key)) throw rangeError(`an input name (one of ${allowed.join(', ')})`, 'inputs', JSON.stringify(key), false);
    }
  }
  return o;
}

/** The inputs of a run, read as own properties (named loads: this is every run's path). */
export interface RunInputs {
  rewards: unknown;
  latents: unknown;
  trajectoryScore: unknown;
  groupSize: unknown;
  groupIds: unknown;
}

/**
 * The inputs of a run of `kind` (0: rewards, latents, groups; 1: latents; 2: rewards,
 * trajectoryScore, groups): own properties only, and no key beyond them.
 */
export function runInputs(inputs: unknown, kind: number): RunInputs {
  const allowed = RUN_INPUT_NAMES[kind]!;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs) || isTensor(inputs)) {
    throw typeError(`an object { ${allowed.join(', ')} }`, 'inputs', inputs);
  }
  const o = inputs as Record<string, unknown>;
  const r: RunInputs = {
    rewards: kind !== 1 && hasOwn.call(o, 'rewards') ? o.rewards : undefined,
    latents: kind !== 2 && hasOwn.call(o, 'latents') ? o.latents : undefined,
    trajectoryScore: kind === 2 && hasOwn.call(o, 'trajectoryScore') ? o.trajectoryScore : undefined,
    groupSize: kind !== 1 && hasOwn.call(o, 'groupSize') ? o.groupSize : undefined,
    groupIds: kind !== 1 && hasOwn.call(o, 'groupIds') ? o.groupIds : undefined,
  };
  const keys = Object.keys(o);
  let known = 0;
  for (let k = 0; k < allowed.length; k++) if (hasOwn.call(o, allowed[k]!)) known++;
  if (keys.length !== known) {
    for (const key of keys) {
      if (!allowed.includes(key)) throw rangeError(`an input name (one of ${allowed.join(', ')})`, 'inputs', JSON.stringify(key), false);
    }
  }
  return r;
}

const RUN_INPUT_NAMES: readonly (readonly string[])[] = [
  ['rewards', 'latents', 'groupSize', 'groupIds'],
  ['latents'],
  ['rewards', 'trajectoryScore', 'groupSize', 'groupIds'],
];

/**
 * An async call's host input must stay readable until the call is done, whatever the caller does
 * meanwhile (README, "Async calls and their inputs"): a SharedArrayBuffer is never detached and a
 * growable one only grows; a resizable ArrayBuffer may shrink, so it is refused; any other
 * ArrayBuffer is marked untransferable (Node's own mechanism, which it uses for its Buffer pool), so
 * that postMessage and structuredClone copy it instead of detaching it (Node 20) or refuse to
 * transfer it (Node >= 21, where `ArrayBuffer.prototype.transfer` is refused as well). Where this
 * Node's mark does not stop `transfer()`, the call reads a copy (returned here).
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
  if (isTensor(input)) {
    const value = input as Tensor;
    checkLatentDtype(value.dtype, 'latents');
    if (value.rank !== 3) {
      throw rangeError('rank 3 [N, T+1, D] (or a list of T+1 Tensors [N, D])', 'latents', `shape ${formatShape(value.shape)}`, false);
    }
    const [N, S, D] = value.shape as [number, number, number];
    checkDims(N, S, D, 'latents', value.shape);
    const state = checkTensorMemory(value, 'latents') as NativeBuffer<Float32Array | Uint16Array>;
    return { dtype: DTYPE_CODE[value.dtype], N, T: S - 1, D, stacked: true, states: [state], tensors: [value] };
  }
  const value = input;
  if (!Array.isArray(value)) throw typeError(kinds, 'latents', value);
  if (value.length < 2) throw rangeError('a list of T+1 >= 2 Tensors [N, D] (T >= 1)', 'latents', `a list of ${value.length}`, false);
  for (let j = 0; j < value.length; j++) {
    const t: unknown = own(value, j);  // a hole is no Tensor, whatever Array.prototype holds
    if (!isTensor(t)) throw typeError('Tensor [N, D]', `latents[${j}]`, t);
  }
  const tensors = value as Tensor[];
  const f = tensors[0] as Tensor;
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
  return { dtype: DTYPE_CODE[f.dtype], N, T: tensors.length - 1, D, stacked: false, states, tensors };
}

function checkLatentDtype(dtype: Dtype, name: string): void {
  if (!LATENT_DTYPES.includes(dtype)) throw typeError('dtype float32, float16 or bfloat16', name, dtype, false);
}

function checkDims(N: number, states: number, D: number, name: string, shape: readonly number[]): void {
  if (N < 1) throw rangeError('N >= 1 samples', name, `shape ${formatShape(shape)}`, false);
  if (states < 2) throw rangeError('T+1 >= 2 states (T >= 1)', name, `shape ${formatShape(shape)}`, false);
  if (D < 1) throw rangeError('D >= 1 latent elements', name, `shape ${formatShape(shape)}`, false);
}

/** Rewards: a Tensor [N, K] of float32 or float64, finite with |r| <= 1e100, N as in the latents where given. */
export function checkRewards(input: unknown, N?: number): NativeRewards {
  if (!isTensor(input)) throw typeError('Tensor [N, K] (float32 or float64)', 'rewards', input);
  const value = input as Tensor;
  if (value.dtype !== 'float32' && value.dtype !== 'float64') {
    throw typeError('dtype float32 or float64', 'rewards', value.dtype, false);
  }
  const shape = value.shape;
  const rank = shape.length;
  if (rank !== 2 && rank !== 3) {
    throw rangeError('rank 2 [N, K] or 3 [N, T, K] (per-step rewards)', 'rewards', `shape ${formatShape(shape)}`, false);
  }
  const rows = shape[0]!;
  const K = shape[rank - 1]!;
  const T = rank === 3 ? shape[1]! : 0;  // per-step rewards
  if (rank === 3 && T < 1) throw rangeError('T >= 1 steps', 'rewards', `shape ${formatShape(shape)}`, false);
  if (rows < 1) throw rangeError('N >= 1 samples', 'rewards', `shape ${formatShape(value.shape)}`, false);
  if (K < 1) throw rangeError('K >= 1 objectives', 'rewards', `shape ${formatShape(value.shape)}`, false);
  if (N !== undefined && rows !== N) {
    throw rangeError(`N (${N}) rows as in latents`, 'rewards', `shape ${formatShape(value.shape)}`, false);
  }
  const buffer = checkTensorMemory(value, 'rewards') as NativeBuffer<Float32Array | Float64Array>;
  // Device rewards are checked by the CUDA backend, with the same message.
  if (value.device !== 'cpu') return { dtype: DTYPE_CODE[value.dtype], N: rows, K, T, data: buffer, tensor: value };
  const data = value.data as Float32Array | Float64Array;
  for (let idx = 0; idx < data.length; idx++) {
    const x = data[idx] as number;
    if (!(Math.abs(x) <= MAX_REWARD_MAGNITUDE)) {
      const row = Math.floor(idx / K);
      const at = T > 0 ? `sample ${Math.floor(row / T)}, step ${row % T}` : `sample ${row}`;
      const where = `${describeValue(x)} at ${at}, objective ${idx - row * K}`;
      throw rangeError(Number.isFinite(x) ? '|r| <= 1e+100' : 'finite values', 'rewards', where, false);
    }
  }
  return { dtype: DTYPE_CODE[value.dtype], N: rows, K, T, data, tensor: value };
}

/**
 * The groups of N samples: exactly one of `groupSize` (an integer >= 1 dividing N: contiguous groups)
 * and `groupIds` (an Int32Array, or array of integers, of N ids >= 0: groups of any size, in any
 * order). Returns the groupSize (0 with ids) and the ids as an Int32Array: a snapshot, the caller's
 * ids read exactly once, here, when the call starts; it is checked and the groups are built from it
 * alone, so a write to the caller's array while an async call runs changes nothing.
 */
export function checkGroups(groupSize: unknown, groupIds: unknown, N: number): { groupSize: number; groupIds: Int32Array | undefined } {
  if (groupSize !== undefined && groupIds !== undefined) {
    throw typeError('exactly one of groupSize and groupIds', 'inputs', 'both', false);
  }
  if (groupIds === undefined) {
    if (groupSize === undefined) throw typeError('exactly one of groupSize and groupIds', 'inputs', 'neither', false);
    if (typeof groupSize !== 'number') throw typeError('integer >= 1', 'groupSize', groupSize);
    if (!Number.isInteger(groupSize) || groupSize < 1) throw rangeError('integer >= 1', 'groupSize', groupSize);
    if (N % groupSize !== 0) throw rangeError(`N (${N}) divisible by groupSize (${groupSize})`, 'groupSize', groupSize);
    return { groupSize, groupIds: undefined };
  }
  const isArray = Array.isArray(groupIds);
  if (!isArray && !types.isInt32Array(groupIds)) throw typeError('Int32Array or an array of integers', 'groupIds', groupIds);
  if (!isArray && isDetached(groupIds as Int32Array)) throw typeError('a live (not detached) buffer', 'groupIds', 'a detached ArrayBuffer', false);
  // the one read of an Int32Array's ids (an array's are read once each below)
  const ids = (isArray ? groupIds : (groupIds as Int32Array).slice()) as ArrayLike<unknown>;
  if (ids.length !== N) throw rangeError(`length N (${N})`, 'groupIds', `length ${ids.length}`, false);
  const out = isArray ? new Int32Array(N) : (ids as Int32Array);
  for (let i = 0; i < N; i++) {
    const x = isArray ? own(ids, i) : out[i];
    if (typeof x !== 'number') throw typeError('integers', 'groupIds', `${describeValue(x)} at sample ${i}`, false);
    if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff) {
      throw rangeError('integers in [0, 2^31 - 1]', 'groupIds', `${describeValue(x)} at sample ${i}`, false);
    }
    if (isArray) out[i] = x;
  }
  return { groupSize: 0, groupIds: out };
}

/** q: a float32 Tensor [N] (host or device) or a Float32Array of length N, finite, |q| <= 4. */
export function checkTrajectoryScore(value: unknown, N: number): NativeBuffer<Float32Array> {
  let data: Float32Array;
  if (isTensor(value)) {
    if (value.dtype !== 'float32') throw typeError('dtype float32', 'trajectoryScore', value.dtype, false);
    if (value.rank !== 1 || value.shape[0] !== N) {
      throw rangeError(`shape [${N}] (N as in rewards)`, 'trajectoryScore', `shape ${formatShape(value.shape)}`, false);
    }
    const buffer = checkTensorMemory(value as Tensor<'float32'>, 'trajectoryScore');
    if (value.device !== 'cpu') return buffer;  // checked by the CUDA backend
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

/**
 * A caller's output tensor for `name`: float32, of `shape`, live, on the device the results go to
 * (host memory there, or device memory of that CUDA device). Returns what the addon writes.
 */
export function checkOutputTensor(value: unknown, name: string, shape: readonly number[], device: string): NativeBuffer<Float32Array> {
  const argument = `outputs.${name}`;
  if (!isTensor(value)) throw typeError(`float32 Tensor ${formatShape(shape)}`, argument, value);
  const t = value as Tensor;
  if (t.dtype !== 'float32') throw typeError('dtype float32', argument, t.dtype, false);
  let sameShape = t.shape.length === shape.length;
  for (let k = 0; sameShape && k < shape.length; k++) sameShape = t.shape[k] === shape[k];
  if (!sameShape) throw rangeError(`shape ${formatShape(shape)}`, argument, `shape ${formatShape(t.shape)}`, false);
  if (t.device !== device) throw rangeError(`a Tensor on ${device} (where the results go)`, argument, `a Tensor on ${t.device}`, false);
  return checkTensorMemory(t as Tensor<'float32'>, argument) as NativeBuffer<Float32Array>;
}
