// The two half-precision intrinsics otca's kernels use, for the CPU emulation (cuda_runtime.h).
#pragma once

#include "dtype.h"

struct __half {
  unsigned short bits;
};
inline __half __ushort_as_half(unsigned short v) { return __half{v}; }
inline float __half2float(__half h) { return otca::dtype::f16_to_float(h.bits); }  // exact, as cvt.f32.f16
