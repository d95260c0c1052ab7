#!/usr/bin/env bash
# Builds the native CUDA harness: the CPU backend (csrc/core/*.cpp, with OTCA_WITH_CUDA so that
# gpu_stub.cpp compiles to nothing), the CUDA backend (csrc/core/*.cu) and test/native/gpu_core_test.cu.
#   test/native/gpu_build.sh [arch, default 90] [out dir, default build/native-gpu]
# Every streaming variant of step_args.cuh is compiled in (-DOTCA_GPU_ALL_VARIANTS) and timed, and
# the kernels carry the debug timeline (-DOTCA_GPU_TIMELINE: %globaltimer stamps, off unless the
# harness hands them a buffer; the addon's kernels have none of it).
# -lineinfo: SASS-to-source-line tables for ncu's source view (the generated code is the same).
# Then: build/native-gpu/gpu_core_test [--quick | --no-large | --no-timing | --variant N | --profile]
# NVCC_EXTRA adds nvcc flags, e.g. the rolled-finish experiment (bench/NOTES.md section 7):
#   NVCC_EXTRA=-DOTCA_ROLLED_FINISH test/native/gpu_build.sh 90 build/native-gpu-rolled
set -euo pipefail
ARCH="${1:-90}"
OUT="${2:-build/native-gpu}"
cd "$(dirname "$0")/../.."
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
mkdir -p "$OUT/obj"
CXX="${CXX:-g++}"
# the CPU backend, two at a time (shared build machines)
ls csrc/core/*.cpp | xargs -P 2 -I{} sh -c \
  "$CXX -O3 -std=c++17 -fPIC -pthread -DOTCA_WITH_CUDA -Icsrc/core -c {} -o $OUT/obj/\$(basename {} .cpp).o"
"$NVCC" -O3 -std=c++17 -fmad=false -lineinfo -arch="sm_${ARCH}" -DOTCA_WITH_CUDA -DOTCA_GPU_ALL_VARIANTS -DOTCA_GPU_TIMELINE \
  -diag-suppress 20013,20015 ${NVCC_EXTRA:-} "-DOTCA_CUDA_ARCHITECTURES_STRING=\"${ARCH}-real\"" -Icsrc/core \
  csrc/core/*.cu test/native/gpu_core_test.cu "$OUT"/obj/*.o -o "$OUT/gpu_core_test" -Xcompiler -pthread
echo "built $OUT/gpu_core_test for sm_${ARCH}"
