#!/usr/bin/env bash
# Builds and runs the CUDA backend on the CPU emulation (no GPU, no CUDA toolkit needed):
# csrc/core/gpu_runtime.cu and the kernels of csrc/core/advantage_step.cuh compiled as C++ against
# test/native/emulation/cuda_runtime.h, with the CPU backend to compare against.
#   test/native/emulation/build.sh [--experiments | --asan] [--quick]   (out: build/native-emulation/kernel_test)
# --experiments: the opt-in tail experiments of bench/NOTES.md section 7 compiled in
# (-DOTCA_LEAN_HANDOFF -DOTCA_NO_INT64_DIV; -DOTCA_ROLLED_FINISH changes device code only), out:
# build/native-emulation-experiments/.
# --asan: AddressSanitizer + UBSan, the quick cases (out: build/native-emulation-asan/): every emulated
# device allocation is exactly as long as asked, so a kernel access past a buffer is reported, as by
# compute-sanitizer memcheck on a GPU. (detect_stack_use_after_return is off: the fibers switch stacks.)
# -ffp-contract=off: no multiply-add contraction, as the CUDA build's -fmad=false, so the emulated
# float64 finishing math is the GPU's operation for operation.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=build/native-emulation
extra=()
opt=-O2
run=()
if [[ "${1:-}" == "--experiments" ]]; then
  shift
  out=build/native-emulation-experiments
  extra=(-DOTCA_LEAN_HANDOFF -DOTCA_NO_INT64_DIV -DOTCA_ROLLED_FINISH)
elif [[ "${1:-}" == "--asan" ]]; then
  shift
  out=build/native-emulation-asan
  opt="-O1 -g"
  extra=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
  run=(env ASAN_OPTIONS=detect_stack_use_after_return=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1)
  set -- --small "$@"
fi
mkdir -p "$out/obj"
CXX="${CXX:-g++}"
flags=(-std=c++17 $opt -pthread -ffp-contract=off -U_FORTIFY_SOURCE -Wall -Wextra -Wno-unknown-pragmas -Wno-clobbered
       -DOTCA_WITH_CUDA -Itest/native/emulation -Icsrc/core -Itest/native ${extra[@]+"${extra[@]}"})
srcs=(csrc/core/*.cpp test/native/emulation/emulation.cpp test/native/emulation/kernel_test.cpp)
# two compilers at a time (2-core machines); gpu_runtime.cu is plain host C++ against the emulation
printf '%s\n' "${srcs[@]}" csrc/core/gpu_runtime.cu | xargs -P 2 -I{} sh -c \
  "$CXX ${flags[*]} -x c++ -c {} -o $out/obj/\$(basename {} | tr . _).o"
"$CXX" "${flags[@]}" "$out"/obj/*.o -o "$out/kernel_test"
${run[@]+"${run[@]}"} "$out/kernel_test" "$@"
