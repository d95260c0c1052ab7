// The CUDA backend's host code (csrc/cuda/gpu_runtime.cu) compiled as C++ against the emulation's
// cuda_runtime.h: a .cu file cannot be given to the C++ compiler by CMake in a project that also
// compiles it with nvcc, so it is included here.
#include "../../../csrc/cuda/gpu_runtime.cu"
