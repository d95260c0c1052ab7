// OTCA_HD: a function both backends run, __host__ __device__ under nvcc (force-inlined) and plain
// inline C++ elsewhere, so that the CPU tests run the very lines the GPU runs.
#pragma once

#if defined(__CUDACC__)
#define OTCA_HD __host__ __device__ __forceinline__
#else
#define OTCA_HD inline
#endif
