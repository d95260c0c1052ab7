// encodeBFloat16 / encodeFloat16 against decodeBFloat16 / decodeFloat16, exhaustively over the
// 65,536 bit patterns of each format: every value encodes back to its own bits; every midpoint of
// two neighbours goes to the even one, and a hair either side of it to the nearer one, both from a
// float32 (the bit path) and from a float64 that is no float32 (the exact path); overflow, tiny
// values, signed zeros and NaN.
import { describe, expect, it } from 'vitest';

import { encodeBFloat16, encodeFloat16 } from '../../lib/dtypes.js';
import { decodeBFloat16, decodeFloat16 } from '../../lib/reference.js';

const formats = [
  { name: 'float16', encode: encodeFloat16, decode: decodeFloat16, maxFinite: 0x7bff, inf: 0x7c00 },
  { name: 'bfloat16', encode: encodeBFloat16, decode: decodeBFloat16, maxFinite: 0x7f7f, inf: 0x7f80 },
] as const;

describe.each(formats)('encode $name', ({ encode, decode, maxFinite, inf }) => {
  const patterns = Array.from({ length: 65536 }, (_, b) => b);
  const values = patterns.map(decode);

  it('encodes every value back to its own bits (NaN to a NaN)', () => {
    for (const input of [values, Float32Array.from(values), Float64Array.from(values)]) {
      const bits = encode(input);
      let wrong = 0;
      for (let b = 0; b < 65536; b++) {
        const ok = Number.isNaN(values[b]!) ? Number.isNaN(decode(bits[b]!)) : bits[b] === b;
        if (!ok) wrong++;
      }
      expect(wrong).toBe(0);
    }
  });

  it('rounds to nearest, ties to even, between every two neighbours of either sign', () => {
    let wrong = 0;
    for (const sign of [0, 0x8000]) {
      for (let b = 0; b < maxFinite; b++) {
        const lo = decode(sign | b);
        const hi = decode(sign | (b + 1));
        const mid = (lo + hi) / 2; // exact in float64, and a float32 (both formats have <= 11 bits)
        const away = Math.abs(mid) * 2 ** -40; // no float32 is this close to mid: the exact path
        const even = sign | ((b & 1) === 0 ? b : b + 1);
        const up = Math.sign(hi - lo) * away;
        const f64 = encode([mid, mid + up, mid - up]);
        const f32 = encode(new Float32Array([mid, Math.fround(mid + 8 * up * 2 ** 16), Math.fround(mid - 8 * up * 2 ** 16)]));
        if (f64[0] !== even || f64[1] !== (sign | (b + 1)) || f64[2] !== (sign | b)) wrong++;
        if (f32[0] !== even) wrong++;
        // a float32 next to mid (2^-21 relative away) rounds to the nearer neighbour where it is off mid
        if (f32[1] !== (Math.fround(mid + 8 * up * 2 ** 16) === mid ? even : sign | (b + 1))) wrong++;
        if (f32[2] !== (Math.fround(mid - 8 * up * 2 ** 16) === mid ? even : sign | b)) wrong++;
      }
    }
    expect(wrong).toBe(0);
  });

  it('overflows to Infinity past the largest finite value, and keeps signed zeros, Infinity and NaN', () => {
    const max = decode(maxFinite);
    const next = decode(maxFinite - 1);
    const tie = max + (max - next) / 2; // halfway to the next binade's first value: ties to even = Infinity
    expect([...encode([max, tie * (1 - 2 ** -30), tie, -tie, 1e300, -Infinity, Infinity])]).toEqual([
      maxFinite, maxFinite, inf, 0x8000 | inf, inf, 0x8000 | inf, inf,
    ]);
    expect([...encode([0, -0, 1e-300, -1e-300])]).toEqual([0, 0x8000, 0, 0x8000]);
    expect(Number.isNaN(decode(encode([NaN])[0]!))).toBe(true);
  });

  it('writes into out, and refuses what is not an array of numbers or a short out', () => {
    const out = new Uint16Array(4);
    expect(encode([1, 2], out)).toBe(out);
    expect(decode(out[1]!)).toBe(2);
    expect(() => encode([1, 2, 3], new Uint16Array(2))).toThrow(TypeError);
    expect(() => encode(null as unknown as number[])).toThrow(TypeError);
  });
});

it('float16 subnormals: 2^-24 is the smallest, 2^-25 ties to 0, just above it rounds up', () => {
  expect([...encodeFloat16([2 ** -24, 2 ** -25, 2 ** -25 * (1 + 2 ** -20), 2 ** -14 - 2 ** -25])]).toEqual([1, 0, 1, 0x400]);
  expect(encodeFloat16([65519.99])[0]).toBe(0x7bff);
  expect(encodeFloat16([65520])[0]).toBe(0x7c00);
});
