#!/usr/bin/env bash
# Static checks of the CUDA kernels that need no GPU: every default architecture compiles (sm_80,
# 86, 89, 90 machine code and the compute_90 PTX), the resource report shows no spills and no stack
# frame, and the sm_90 SASS (or PTX) of every streaming kernel uses 128-bit global loads. Every
# streaming variant of step_args.cuh is checked (-DOTCA_GPU_ALL_VARIANTS, a superset of what the
# addon ships). Prints the findings; exits non-zero if any check fails.
#   scripts/cuda-static-checks.sh [architectures, default "80 86 89 90"]
set -uo pipefail
cd "$(dirname "$0")/.."
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
CUOBJDUMP="${CUOBJDUMP:-$(dirname "$NVCC")/cuobjdump}"
ARCHS="${1:-80 86 89 90}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail=0
say() { printf '%s\n' "$*"; }

say "== nvcc: $("$NVCC" --version | tail -1)"
for arch in $ARCHS; do
  for src in csrc/core/*.cu; do
    name="$(basename "$src" .cu)"
    log="$TMP/$name.$arch.log"
    if ! "$NVCC" -O3 -std=c++17 -fmad=false -DOTCA_WITH_CUDA -DOTCA_GPU_ALL_VARIANTS -Icsrc/core -arch="sm_$arch" -Xptxas -v \
        -c "$src" -o "$TMP/$name.$arch.o" >"$log" 2>&1; then
      say "FAIL sm_$arch $name: does not compile"; sed 's/^/    /' "$log" | head -20; fail=1; continue
    fi
    # one line per kernel: registers, stack, spills
    awk -v arch="$arch" '
      /Compiling entry function/ { match($0, /_Z[A-Za-z0-9_]+/); fn = substr($0, RSTART, RLENGTH) }
      /bytes stack frame/ { stack = $1; sst = $5; sld = $9 }
      /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15);
        smem = ""; if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH);
        printf "  sm_%s %-70s regs %3s stack %3s spill st/ld %s/%s %s\n", arch, fn, regs, stack, sst, sld, smem }
    ' "$log" | c++filt | sed -E 's/\(otca::gpu::detail::StepArgs[^)]*\)//'
    if grep -E "bytes stack frame" "$log" | grep -vqE "^ *0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"; then
      say "FAIL sm_$arch $name: a kernel has a stack frame or spills"; fail=1
    fi
  done
done

# the native harness's build (debug timeline compiled in, -DOTCA_GPU_TIMELINE): no spills either
log="$TMP/timeline.90.log"
if "$NVCC" -O3 -std=c++17 -fmad=false -DOTCA_WITH_CUDA -DOTCA_GPU_ALL_VARIANTS -DOTCA_GPU_TIMELINE -Icsrc/core \
    -arch=sm_90 -Xptxas -v -c csrc/core/advantage_step.cu -o "$TMP/timeline.90.o" >"$log" 2>&1; then
  if grep -E "bytes stack frame" "$log" | grep -vqE "^ *0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"; then
    say "FAIL sm_90 with -DOTCA_GPU_TIMELINE (the harness build): a kernel has a stack frame or spills"; fail=1
  else
    say "  sm_90 with -DOTCA_GPU_TIMELINE (the harness build): no stack frame, no spills"
  fi
else
  say "FAIL sm_90 with -DOTCA_GPU_TIMELINE does not compile"; sed 's/^/    /' "$log" | head -20; fail=1
fi

# the 5th default target, 90-virtual: the compute_90 PTX must build
if "$NVCC" -O3 -std=c++17 -fmad=false -DOTCA_WITH_CUDA -Icsrc/core -arch=compute_90 -ptx \
    csrc/core/advantage_step.cu -o "$TMP/compute_90.ptx" >/dev/null 2>&1; then
  say "  compute_90 PTX (90-virtual): builds"
else
  say "FAIL compute_90 PTX (90-virtual) does not build"; fail=1
fi

# SASS of the streaming kernel on sm_90: 128-bit loads (LDG.E.128, any cache qualifier). Where
# cuobjdump is not installed (a toolkit with only nvcc), the PTX is checked instead: ptxas turns each
# ld.global.*.v4.u32 into one LDG.E.128.
kernel_body() {  # $1 listing, $2 kernel tag; prints the listing of advantage_step<tag>
  awk -v k="$2" '/Function :|\.entry/ { on = index($0, "advantage_step") && index($0, k) } on' "$1"
}
TAGS=""
for v in 0 1 2 3; do TAGS="$TAGS IfLi${v}EE INS1_3F16ELi${v}EE INS1_4Bf16ELi${v}EE"; done
if ! "$NVCC" -O3 -std=c++17 -fmad=false -DOTCA_WITH_CUDA -DOTCA_GPU_ALL_VARIANTS -Icsrc/core -cubin -arch=sm_90 \
    csrc/core/advantage_step.cu -o "$TMP/advantage_step.sm_90.cubin" 2>/dev/null; then
  say "FAIL: sm_90 cubin does not build"; fail=1
elif [ -x "$CUOBJDUMP" ] || command -v cuobjdump >/dev/null; then
  [ -x "$CUOBJDUMP" ] || CUOBJDUMP="$(command -v cuobjdump)"
  "$CUOBJDUMP" -sass "$TMP/advantage_step.sm_90.cubin" > "$TMP/sass.txt"
  for kernel in $TAGS; do
    body="$(kernel_body "$TMP/sass.txt" "$kernel")"
    wide=$(grep -cE "LDG\.E[A-Z0-9._]*\.128" <<<"$body")
    say "    LDG variants: $(grep -oE "LDG[.A-Z0-9_]*" <<<"$body" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
    local_mem=$(grep -cE "\b(LDL|STL)\b" <<<"$body")
    fp_atom=$(grep -cE "(RED|ATOM|ATOMG)\.[A-Z0-9.]*ADD\.F" <<<"$body")
    say "  sm_90 SASS advantage_step<$kernel>: $wide LDG.E.128, $local_mem LDL/STL, $fp_atom float atomics"
    [ "$wide" -gt 0 ] || { say "FAIL advantage_step<$kernel>: no 128-bit loads"; fail=1; }
    [ "$local_mem" -eq 0 ] || { say "FAIL advantage_step<$kernel>: local memory"; fail=1; }
    [ "$fp_atom" -eq 0 ] || { say "FAIL advantage_step<$kernel>: floating-point atomics"; fail=1; }
  done
else
  say "  cuobjdump not installed: SASS not read; checking the sm_90 PTX instead"
  "$NVCC" -O3 -std=c++17 -fmad=false -DOTCA_WITH_CUDA -DOTCA_GPU_ALL_VARIANTS -Icsrc/core -ptx -arch=sm_90 \
    csrc/core/advantage_step.cu -o "$TMP/advantage_step.ptx"
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

# One launch per call (the two-launch + PDL design was removed, bench/NOTES.md section 4): no
# griddepcontrol left in the sm_90 PTX.
"$NVCC" -O3 -std=c++17 -fmad=false -DOTCA_WITH_CUDA -DOTCA_GPU_ALL_VARIANTS -Icsrc/core -ptx -arch=sm_90 \
  csrc/core/advantage_step.cu -o "$TMP/one90.ptx" 2>/dev/null
gdc=$(grep -c "griddepcontrol" "$TMP/one90.ptx" 2>/dev/null)
say "  griddepcontrol in the sm_90 PTX: ${gdc:-0}"
[ "${gdc:-1}" -eq 0 ] || { say "FAIL: griddepcontrol in the sm_90 PTX"; fail=1; }

if [ "$fail" -eq 0 ]; then say "PASSED: CUDA static checks"; else say "FAILED: CUDA static checks"; fi
exit "$fail"
