/** Float -> float16 / bfloat16 bit patterns for test inputs: the package's own encoders (lib/dtypes.ts). */
import { encodeBFloat16, encodeFloat16 } from '../../lib/dtypes.js';

/** The bfloat16 bits nearest to x, ties to even. NaN stays NaN. */
export function toBFloat16Bits(x: number): number {
  return encodeBFloat16([x])[0]!;
}

/** The float16 bits nearest to x, ties to even; overflow gives Infinity. */
export function toFloat16Bits(x: number): number {
  return encodeFloat16([x])[0]!;
}

/** Encodes a whole array. */
export function encode(values: ArrayLike<number>, dtype: 'float16' | 'bfloat16'): Uint16Array {
  return dtype === 'float16' ? encodeFloat16(values) : encodeBFloat16(values);
}
