/**
 * Tolerance comparisons for native-vs-reference tests.
 *
 * `expectClose(actual, expected, rel)` asserts max_i |actual[i] - expected[i]| <= rel * scale,
 * where scale = max_i |expected[i]| over the whole field (so values near zero inside a field are
 * judged on the field's magnitude, which is how float32 rounding of O(1) sums behaves). A field
 * whose reference is all zeros must be (nearly) all zeros: scale is floored at 1e-30.
 */
import { expect } from 'vitest';

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Largest |a - b| relative to max |b|, and where it happened. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): { err: number; at: number } {
  const scale = Math.max(maxAbs(expected), 1e-30);
  let err = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) / scale;
    if (!(e <= err)) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, label = ''): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const { err, at } = relError(actual, expected);
  if (!(err <= rel)) {
    throw new Error(
      `${label}: relative error ${err.toExponential(3)} > ${rel} at index ${at} ` +
        `(native ${actual[at]}, reference ${expected[at]}, field max |ref| ${maxAbs(expected)})`,
    );
  }
}

/** Asserts two arrays are identical bit for bit (NaN-aware, -0 distinct). */
export function expectBitEqual(a: ArrayLike<number>, b: ArrayLike<number>, label = ''): void {
  expect(a.length, `${label}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`${label}: differs at ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** Rounds every value to float32 (what a float32 output of an exact value would be). */
export function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}
