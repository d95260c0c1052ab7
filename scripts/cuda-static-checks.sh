#!/usr/bin/env bash
# Static checks of the CUDA kernels that need no GPU:
#   - the product's kernels (csrc/cuda/advantage_step.cu) compile for every architecture the
#     prebuild ships (cmake/cuda_architectures.cmake OTCA_CUDA_SHIPPED_ARCHITECTURES: sm_75 80 86 89 90 100 120 machine code
#     and the compute_120 PTX), with no spills and no stack frame in ptxas's resource report;
#   - the lab's kernels (bench/lab/lab_kernels.cu: every shape and tail, the timeline stamps in)
#     on sm_90: no spills and no stack frame either, so that lab timings compare like with like;
#   - the sm_90 SASS (or, without cuobjdump, the PTX) of the product's streaming kernel uses 128-bit
#     global loads, no local memory, no floating-point atomics; one launch per call (no
#     griddepcontrol).
# Prints the findings; exits non-zero if any check fails.
#   scripts/cuda-static-checks.sh [architectures, default "75 80 86 89 90 100 120"]
set -uo pipefail
cd "$(dirname "$0")/.."
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
CUOBJDUMP="${CUOBJDUMP:-$(dirname "$NVCC")/cuobjdump}"
ARCHS="${1:-75 80 86 89 90 100 120}"
PTX_ARCH="${PTX_ARCH:-120}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail=0
say() { printf '%s\n' "$*"; }
FLAGS=(-O3 -std=c++17 -fmad=false -Icsrc/core -Icsrc/cuda)

# compile SRC ARCH TAG [extra flags]: ptxas's report per kernel; FAIL on a stack frame or spills
compile() {
  local src=$1 arch=$2 tag=$3
  shift 3
  local log="$TMP/$tag.$arch.log"
  if ! "$NVCC" "${FLAGS[@]}" "$@" -arch="sm_$arch" -Xptxas -v -c "$src" -o "$TMP/$tag.$arch.o" >"$log" 2>&1; then
    say "FAIL sm_$arch $tag: does not compile"; sed 's/^/    /' "$log" | head -20; fail=1; return
  fi
  awk -v arch="$arch" '
    /Compiling entry function/ { match($0, /_Z[A-Za-z0-9_]+/); fn = substr($0, RSTART, RLENGTH) }
    /bytes stack frame/ { stack = $1; sst = $5; sld = $9 }
    /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15);
      printf "  sm_%s %-84s regs %3s stack %3s spill st/ld %s/%s\n", arch, fn, regs, stack, sst, sld }
  ' "$log" | c++filt | sed -E 's/\(otca::gpu::detail::StepArgs[^)]*\)//; s/otca::(gpu::detail|lab):://g'
  if grep -E "bytes stack frame" "$log" | grep -vqE "^ *0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"; then
    say "FAIL sm_$arch $tag: a kernel has a stack frame or spills"; fail=1
  fi
}

say "== nvcc: $("$NVCC" --version | tail -1)"
for arch in $ARCHS; do compile csrc/cuda/advantage_step.cu "$arch" product; done
# the host side of the CUDA backend compiles too (no kernels of its own)
if "$NVCC" "${FLAGS[@]}" -arch=sm_90 -c csrc/cuda/gpu_runtime.cu -o "$TMP/gpu_runtime.o" >"$TMP/runtime.log" 2>&1; then
  say "  gpu_runtime.cu: compiles"
else
  say "FAIL gpu_runtime.cu does not compile"; sed 's/^/    /' "$TMP/runtime.log" | head -20; fail=1
fi
compile bench/lab/lab_kernels.cu 90 lab -Ibench/lab

# the virtual target: the compute_$PTX_ARCH PTX must build (JIT-compiled by newer drivers for newer GPUs)
if "$NVCC" "${FLAGS[@]}" -arch="compute_$PTX_ARCH" -ptx csrc/cuda/advantage_step.cu -o "$TMP/compute.ptx" >/dev/null 2>&1; then
  say "  compute_$PTX_ARCH PTX ($PTX_ARCH-virtual): builds"
else
  say "FAIL compute_$PTX_ARCH PTX ($PTX_ARCH-virtual) does not build"; fail=1
fi

# The streaming kernel's loads on sm_90: 128-bit (LDG.E.128, any cache qualifier). Where cuobjdump
# is not installed (a toolkit with only nvcc), the PTX is checked instead: ptxas turns each
# ld.global.*.v4.u32 into one LDG.E.128.
kernel_body() {  # $1 listing, $2 mangled dtype tag; prints the listing of advantage_step<tag, ...>
  awk -v k="$2" '/Function :|\.entry/ { on = index($0, "advantage_step") && index($0, k) } on' "$1"
}
TAGS="stepIf stepINS1_3F16E stepINS1_4Bf16E"  # advantage_step<float|F16|Bf16, StreamShape>
"$NVCC" "${FLAGS[@]}" -ptx -arch=sm_90 csrc/cuda/advantage_step.cu -o "$TMP/advantage_step.ptx"
if [ -x "$CUOBJDUMP" ] || command -v cuobjdump >/dev/null; then
  [ -x "$CUOBJDUMP" ] || CUOBJDUMP="$(command -v cuobjdump)"
  "$NVCC" "${FLAGS[@]}" -cubin -arch=sm_90 csrc/cuda/advantage_step.cu -o "$TMP/advantage_step.cubin"
  "$CUOBJDUMP" -sass "$TMP/advantage_step.cubin" > "$TMP/sass.txt"
  for kernel in $TAGS; do
    body="$(kernel_body "$TMP/sass.txt" "$kernel")"
    wide=$(grep -cE "LDG\.E[A-Z0-9._]*\.128" <<<"$body")
    local_mem=$(grep -cE "\b(LDL|STL)\b" <<<"$body")
    fp_atom=$(grep -cE "(RED|ATOM|ATOMG)\.[A-Z0-9.]*ADD\.F" <<<"$body")
    say "  sm_90 SASS advantage_step<$kernel>: $wide LDG.E.128, $local_mem LDL/STL, $fp_atom float atomics"
    say "    LDG variants: $(grep -oE "LDG[.A-Z0-9_]*" <<<"$body" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
    [ "$wide" -gt 0 ] || { say "FAIL advantage_step<$kernel>: no 128-bit loads"; fail=1; }
    [ "$local_mem" -eq 0 ] || { say "FAIL advantage_step<$kernel>: local memory"; fail=1; }
    [ "$fp_atom" -eq 0 ] || { say "FAIL advantage_step<$kernel>: floating-point atomics"; fail=1; }
  done
else
  say "  cuobjdump not installed: SASS not read; checking the sm_90 PTX instead"
  for kernel in $TAGS; do
    body="$(kernel_body "$TMP/advantage_step.ptx" "$kernel")"
    wide=$(grep -cE "ld\.global(\.[a-z]+)*\.v4\.(u32|f32|b32)" <<<"$body")
    local_mem=$(grep -cE "(ld|st)\.local" <<<"$body")
    fp_atom=$(grep -cE "(red|atom)(\.[a-z]+)*\.add\.f(32|64)" <<<"$body")
    say "  sm_90 PTX advantage_step<$kernel>: $wide ld.global.*.v4 (-> LDG.E.128), $local_mem local, $fp_atom float atomics"
    [ "$wide" -gt 0 ] || { say "FAIL advantage_step<$kernel>: no 128-bit loads"; fail=1; }
    [ "$local_mem" -eq 0 ] || { say "FAIL advantage_step<$kernel>: local memory"; fail=1; }
    [ "$fp_atom" -eq 0 ] || { say "FAIL advantage_step<$kernel>: floating-point atomics"; fail=1; }
  done
fi

# One launch per call: no griddepcontrol (programmatic dependent launch) in the sm_90 PTX.
gdc=$(grep -c "griddepcontrol" "$TMP/advantage_step.ptx" 2>/dev/null)
say "  griddepcontrol in the sm_90 PTX: ${gdc:-0}"
[ "${gdc:-1}" -eq 0 ] || { say "FAIL: griddepcontrol in the sm_90 PTX"; fail=1; }

if [ "$fail" -eq 0 ]; then say "PASSED: CUDA static checks"; else say "FAILED: CUDA static checks"; fi
exit "$fail"
