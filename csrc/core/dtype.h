// Element conversions between the latent dtypes and float32, shared by the CPU backend and the
// CUDA kernels (OTCA_HD from otca_math.h). Decoding is exact: every float16 and bfloat16 value is
// a float32 value. Encoding rounds to nearest, ties to even (tests and demos build inputs with it).
#pragma once

#include <cstdint>
#include <cstring>

#include "otca_math.h"

namespace otca {
namespace dtype {

OTCA_HD float float_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

OTCA_HD uint32_t bits_from_float(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

// bfloat16 is the top half of a float32.
OTCA_HD float bf16_to_float(uint16_t h) { return float_from_bits(static_cast<uint32_t>(h) << 16); }

// IEEE binary16 -> float32, exact for every input (subnormals, +-0, +-inf, NaN payloads).
// Branch-light (selects only) so that loops over it vectorise; the subnormal path subtracts two
// normal floats, so it stays exact under flush-to-zero too.
OTCA_HD float f16_to_float(uint16_t h) {
  const uint32_t magnitude = static_cast<uint32_t>(h & 0x7fffu) << 13;  // exponent+mantissa in place
  const uint32_t exponent = magnitude & 0x0f800000u;
  uint32_t bits = magnitude + 0x38000000u;                   // rebias the exponent: 15 -> 127
  bits += exponent == 0x0f800000u ? 0x38000000u : 0u;        // inf/NaN: exponent field 255
  // subnormal 0.m * 2^-14 = (1.m * 2^-14) - 2^-14, both operands normal floats
  const float subnormal = float_from_bits(bits + 0x00800000u) - float_from_bits(0x38800000u);
  const float value = exponent == 0u ? subnormal : float_from_bits(bits);
  return float_from_bits(bits_from_float(value) | (static_cast<uint32_t>(h & 0x8000u) << 16));
}

// float32 -> bfloat16, round to nearest even; NaN stays NaN (quietened).
OTCA_HD uint16_t float_to_bf16(float f) {
  uint32_t u = bits_from_float(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// float32 -> IEEE binary16, round to nearest even, overflow to inf, NaN to the quiet NaN 0x7e00.
OTCA_HD uint16_t float_to_f16(float f) {
  uint32_t u = bits_from_float(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint32_t h;
  if (u >= 0x47800000u) {  // >= 65536 (rounds to inf), inf or NaN
    h = u > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (u < 0x38800000u) {  // below 2^-14: subnormal or zero
    // adding 0.5 (2^-1) puts the subnormal's units in the float's low mantissa bits and lets the
    // FPU do the even rounding
    const float shifted = float_from_bits(u) + float_from_bits(0x3f000000u);
    h = bits_from_float(shifted) - 0x3f000000u;
  } else {
    const uint32_t mantissaOdd = (u >> 13) & 1u;
    u += 0xc8000fffu + mantissaOdd;  // rebias 127 -> 15 (mod 2^32) and round to nearest even
    h = u >> 13;
  }
  return static_cast<uint16_t>(h | (sign >> 16));
}

}  // namespace dtype
}  // namespace otca
