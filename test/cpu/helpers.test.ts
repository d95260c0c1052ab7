// The test helpers' float16/bfloat16 encoders round to nearest-even and round-trip through the
// reference's exact decoders (the parity tests rely on both).
import { describe, expect, it } from 'vitest';
import { decodeBFloat16, decodeFloat16 } from '../../lib/reference.js';
import { toBFloat16Bits, toFloat16Bits } from '../helpers/encode.js';
import { rng } from '../helpers/random.js';

describe('encoders', () => {
  it('float16: every finite bit pattern round-trips, and values round to nearest', () => {
    for (let b = 0; b < 0x10000; b++) {
      if ((b & 0x7c00) === 0x7c00) continue;
      const v = decodeFloat16(b);
      const back = toFloat16Bits(v);
      if (v === 0) expect(decodeFloat16(back)).toBe(v);
      else expect(back).toBe(b);
    }
    const rand = rng(1);
    for (let m = 0; m < 20000; m++) {
      const x = (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 26);
      const y = decodeFloat16(toFloat16Bits(x));
      const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(y) || 2 ** -24)) - 10));
      expect(Math.abs(y - x)).toBeLessThanOrEqual(ulp / 2 + 1e-30);
    }
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('bfloat16: round-trips and rounds to nearest-even', () => {
    for (let b = 0; b < 0x10000; b += 7) {
      if ((b & 0x7f80) === 0x7f80) continue;
      expect(toBFloat16Bits(decodeBFloat16(b))).toBe(b);
    }
    expect(toBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(toBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(decodeBFloat16(toBFloat16Bits(Math.PI))).toBe(3.140625);
  });
});
