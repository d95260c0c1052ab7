/**
 * Element types and their TypedArrays (a type-level map, as onnxruntime-node's Tensor has).
 * @packageDocumentation
 */
import { types } from 'node:util';

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
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
}

/** The TypedArray that holds elements of dtype `D`. */
export type TypedArrayFor<D extends Dtype> = DtypeArrayMap[D];

/** Every dtype, in the order of the core's enum (csrc/core/otca.h `DType`). */
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

/** Whether `value` is one of the dtype names. */
export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/**
 * The dtype a TypedArray implies on its own: Float32Array -> float32, Float64Array -> float64;
 * undefined for a Uint16Array (float16 or bfloat16: the caller must say) and anything else.
 */
export function inferDtype(array: ArrayBufferView): Dtype | undefined {
  if (types.isFloat32Array(array)) return 'float32';
  if (types.isFloat64Array(array)) return 'float64';
  return undefined;
}

/**
 * Whether `array` is the TypedArray kind that holds `dtype`. Asked through `util.types`, so that a
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

/** The TypedArray class name that holds `dtype`, for messages. */
export function arrayNameFor(dtype: Dtype): string {
  return dtype === 'float32' ? 'Float32Array' : dtype === 'float64' ? 'Float64Array' : 'Uint16Array';
}
