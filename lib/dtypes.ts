/**
 * Element types and their TypedArrays (a type-level map, as onnxruntime-node's Tensor has).
 * @packageDocumentation
 */
import { types } from 'node:util';
import { rangeError, typeError } from './errors.js';

/**
 * The element types otca reads. `float16` and `bfloat16` are raw IEEE half / bfloat16 bits in a
 * `Uint16Array` (the layout PyTorch and safetensors use), converted on the fly; outputs are always
 * `float32`.
 */
export type Dtype = 'float32' | 'float64' | 'float16' | 'bfloat16';

/** The dtypes latents may have (z in the paper): float32, float16 or bfloat16. */
export type LatentDtype = 'float32' | 'float16' | 'bfloat16';

/** The dtypes rewards may have (r in the paper): float32 or float64. */
export type RewardDtype = 'float32' | 'float64';

/** The TypedArray that holds each dtype. */
export interface DtypeArrayMap {
  /** IEEE single precision. */
  float32: Float32Array;
  /** IEEE double precision (rewards only). */
  float64: Float64Array;
  /** IEEE half precision, as bits (see {@link encodeFloat16}). */
  float16: Uint16Array;
  /** bfloat16, as bits: the upper half of a float32 (see {@link encodeBFloat16}). */
  bfloat16: Uint16Array;
}

/** The TypedArray that holds elements of dtype `D`. */
export type TypedArrayFor<D extends Dtype> = DtypeArrayMap[D];

/** Every dtype, in the order of the native core's own enumeration. */
export const DTYPES: readonly Dtype[] = Object.freeze(['float32', 'float64', 'float16', 'bfloat16']);

/** @internal The core's `otca::DType` code of each dtype. */
export const DTYPE_CODE: Readonly<Record<Dtype, number>> = Object.freeze({
  float32: 0,
  float64: 1,
  float16: 2,
  bfloat16: 3,
});

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = Object.freeze({
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
});

/** @internal Whether `value` is one of the dtype names. */
export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/**
 * @internal The dtype a TypedArray implies on its own: Float32Array -> float32, Float64Array -> float64;
 * undefined for a Uint16Array (float16 or bfloat16: the caller must say) and anything else.
 */
export function inferDtype(array: ArrayBufferView): Dtype | undefined {
  if (types.isFloat32Array(array)) return 'float32';
  if (types.isFloat64Array(array)) return 'float64';
  return undefined;
}

/**
 * @internal Whether `array` is the TypedArray kind that holds `dtype`. Asked through `util.types`, so that a
 * TypedArray made in another realm (a `vm` context) is recognised as what it is.
 */
export function arrayMatchesDtype(array: ArrayBufferView, dtype: Dtype): boolean {
  switch (dtype) {
    case 'float32':
      return types.isFloat32Array(array);
    case 'float64':
      return types.isFloat64Array(array);
    case 'float16':
    case 'bfloat16':
      return types.isUint16Array(array);
  }
}

/** @internal The TypedArray class name that holds `dtype`, for messages. */
export function arrayNameFor(dtype: Dtype): string {
  return dtype === 'float32' ? 'Float32Array' : dtype === 'float64' ? 'Float64Array' : 'Uint16Array';
}

// ------------------------------------------------------------------ encoding to 16-bit floats

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The 16 bits of `x` rounded to the nearest value of a binary format with `mant` fraction bits,
 * exponents in [`emin`, `emax`] and bias `bias` (round to nearest, ties to even; past the largest
 * finite value: Infinity). For values that are not float32 numbers: exact from the float64 value,
 * never rounded twice. `x` is finite and not 0.
 */
function encodeExact(x: number, mant: number, emin: number, emax: number, bias: number): number {
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp--;
  if (2 ** (exp + 1) <= a) exp++;
  if (exp < emin) return sign | roundHalfEven(a * 2 ** (mant - emin)); // subnormal (2^mant: the smallest normal)
  let m = roundHalfEven(a * 2 ** (mant - exp)); // exact scaling: m in [2^mant, 2^(mant+1)]
  if (m === 2 ** (mant + 1)) {
    m = 2 ** mant;
    exp++;
  }
  if (exp > emax) return sign | (((2 * bias + 1) << mant) >>> 0); // Infinity
  return sign | ((exp + bias) << mant) | (m - 2 ** mant);
}

/** `v` rounded to an integer, ties to even (`v` >= 0; its fraction is exact in float64). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r > 0.5 || (r === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** The bfloat16 bits of one value (see {@link encodeBFloat16}). */
function bfloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if (f32[0] !== x && x === x && Math.abs(x) !== Infinity) return encodeExact(x, 7, -126, 127, 127);
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x0040; // NaN: sign and payload top kept, quiet
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16; // carries into the exponent (up to Infinity) as they should
}

/** The float16 bits of one value (see {@link encodeFloat16}). */
function float16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if (f32[0] !== x && x === x && Math.abs(x) !== Infinity) return encodeExact(x, 10, -14, 15, 15);
  const sign = (bits >>> 16) & 0x8000;
  const e = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (frac !== 0 ? 0x0200 | (frac >>> 13) : 0); // Inf; NaN quiet
  if (e >= 143) return sign | 0x7c00; // >= 2^16: past 65520, Infinity
  if (e >= 113) {
    // normal half (2^-14 <= |x| < 2^16): 10 of float32's 23 fraction bits, the 13 below rounded
    let h = ((e - 112) << 10) | (frac >>> 13);
    const rest = frac & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach Infinity: right
    return sign | h;
  }
  // subnormal half: units of 2^-24; m * 2^(e - 150) = m >> (126 - e) units
  const shift = 126 - e;
  if (e === 0 || shift > 24) return sign; // below 2^-25: 0 (2^-25 itself is a tie, to even 0)
  const m = 0x800000 | frac;
  let q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q++; // q = 1024 is the smallest normal: right
  return sign | q;
}

/**
 * Encodes numbers as bfloat16 bits (the upper half of a float32, as PyTorch's `torch.bfloat16` and
 * safetensors store them), for a `Tensor` of dtype `'bfloat16'`. Rounds to the nearest bfloat16,
 * ties to even, from the exact value (a float64 number is not rounded to float32 first); values past
 * the largest finite bfloat16 give Infinity, NaN stays NaN (quiet, sign kept). The inverse of
 * `decodeBFloat16` on every bfloat16 value.
 * @param values - the numbers, e.g. a Float32Array.
 * @param out - where the bits go (length at least `values.length`); a new Uint16Array if omitted.
 * @returns `out`, or the new Uint16Array.
 * @example
 * ```ts
 * const bits = encodeBFloat16(latentsF32);                        // Uint16Array
 * const z = Tensor.from(bits, [N, T + 1, D], 'bfloat16');
 * ```
 */
export function encodeBFloat16(values: ArrayLike<number>, out?: Uint16Array): Uint16Array {
  return encodeInto(values, out, bfloat16Bits, 'encodeBFloat16');
}

/**
 * Encodes numbers as IEEE 754 half-precision (float16) bits, for a `Tensor` of dtype `'float16'`.
 * Rounds to the nearest float16, ties to even, from the exact value, subnormals included; values
 * from 65520 on give Infinity, NaN stays NaN (quiet, sign kept). The inverse of `decodeFloat16` on
 * every float16 value.
 * @param values - the numbers, e.g. a Float32Array.
 * @param out - where the bits go (length at least `values.length`); a new Uint16Array if omitted.
 * @returns `out`, or the new Uint16Array.
 * @example
 * ```ts
 * const z = Tensor.from(encodeFloat16(latentsF32), [N, T + 1, D], 'float16');
 * ```
 */
export function encodeFloat16(values: ArrayLike<number>, out?: Uint16Array): Uint16Array {
  return encodeInto(values, out, float16Bits, 'encodeFloat16');
}

function encodeInto(values: ArrayLike<number>, out: Uint16Array | undefined, bits: (x: number) => number, name: string): Uint16Array {
  if (typeof values !== 'object' || values === null || typeof values.length !== 'number') {
    throw new TypeError(`Expected an array of numbers for ${name}'s values but received ${values === null ? 'null' : typeof values}`);
  }
  const n = values.length;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw rangeError('an integer length >= 0', `${name}'s values.length`, n);
  }
  if (out !== undefined && !types.isUint16Array(out)) throw typeError('a Uint16Array', `${name}'s out`, out);
  if (out !== undefined && out.length < n) {
    throw typeError(`a Uint16Array of length >= ${n} (values.length)`, `${name}'s out`, `length ${out.length}`, false);
  }
  const dst = out ?? new Uint16Array(n);
  for (let i = 0; i < n; i++) dst[i] = bits(+values[i]!);
  return dst;
}
