#!/usr/bin/env bash
# Builds the lab's GPU harness (target otca_lab_harness: bench/lab/harness.cu, the product's CUDA
# backend, the lab's kernels) with CMake, for one architecture:
#   bench/lab/build.sh [arch, default 90] [build dir, default build/lab]
# Then: build/lab/otca_lab_harness [--quick | --no-large | --no-timing | --kernel NAME | --profile]
# (bench/lab/check.sh runs it with compute-sanitizer first). -lineinfo is on (ncu's source view).
set -euo pipefail
ARCH="${1:-90}"
OUT="${2:-build/lab}"
cd "$(dirname "$0")/../.."
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
cmake -S . -B "$OUT" -DOTCA_CUDA=ON "-DOTCA_CUDA_ARCHITECTURES=${ARCH}-real" "-DCMAKE_CUDA_COMPILER=$NVCC" >/dev/null
cmake --build "$OUT" --target otca_lab_harness -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
echo "built $OUT/otca_lab_harness for sm_${ARCH}"
