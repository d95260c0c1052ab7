#!/usr/bin/env bash
# The one prepared device check (issues 3 and 4): on a CUDA machine, in one call,
#   1. unpack the carried Node (.device/node.xz), print the GPU, driver and toolkit;
#   2. the lab harness (build/lab/otca_lab_harness, made by bench/lab/build.sh: the product's kernel
#      and every lab shape and tail, checked and timed) and compute-sanitizer memcheck + racecheck
#      over its --quick checks;
#   2b. ncu (Nsight Compute, clocks as they are) over the harness's --profile calls: where the
#      kernel's tail stalls, per SASS instruction and source line (steps ncu, ncu-export,
#      ncu-summary; bench/gpu/ncu_summary.py; typically ~1 minute, at most ~220 s);
#   3. the GPU tests (node --test test/gpu/*.test.mjs over dist/);
#   4. bench/gpu/bench.mjs (ours, device tensors), bench/gpu/torch_reference.py (numpy self-test of
#      the baseline's math, its check against our outputs, then eager + torch.compile timings and
#      the bandwidth probes), bench/gpu/report.py (one table, PASS/MISS per target);
#   5. a summary printed LAST (only the tail of the output comes back).
# Every step has its own timeout and the whole run a budget (GPU_CHECK_BUDGET_S, default 420 s), so
# one hang cannot eat the call; a step that would start with under 20 s left is skipped. GPU settings
# are never touched.
#
# Device:   bash scripts/gpu-check.sh                       (writes at most 7 files to $OUT)
# Here:     GPU_CHECK_DRY=1 bash scripts/gpu-check.sh       (every step that can run without a GPU:
#           node tests skip, bench.mjs --dry on the CPU backend, the numpy path of the baseline)
# ncu only: GPU_CHECK_STEPS=env,ncu bash scripts/gpu-check.sh   (~1-2 minutes; needs build/lab/ from
#           bench/lab/build.sh 90, which builds with -lineinfo)
# Knobs:    NATIVE_BIN (build/lab/otca_lab_harness), NATIVE_ARGS (''), NATIVE_SMALL_ARGS (--quick: memcheck),
#           RACECHECK_ARGS (--quick --kernel product),
#           BENCH_ONLY / TORCH_ONLY (comma-separated workloads), TORCH_COMPILE_BUDGET_S (100),
#           TORCH_COMPILE_WORKLOADS (FLUX-512,Wan), NODE (a node binary to use instead of .device/),
#           GPU_CHECK_STEPS (comma-separated: run only the steps named, or whose name up to its
#           first '-' is named: 'ncu' runs ncu, ncu-export and ncu-summary),
#           GPU_CHECK_NCU (1; 0 skips the ncu steps), NCU (the ncu binary), NCU_LIMIT_S (120, the
#           collection's limit), NCU_CACHE_CONTROL (none: caches as the warm-up calls left them, as
#           in the timed runs; all: flushed before every replay pass), NCU_ARGS (more ncu options).
# The ncu steps come before the GPU tests and benchmarks, so under a tight GPU_CHECK_BUDGET_S
# (300: the whole run within ~330 s) they leave those ~1 minute less (torch.compile's share first).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DRY=${GPU_CHECK_DRY:-0}
OUT=${OUT:-/tmp/gpu-check-out}
WORK=${GPU_CHECK_WORK:-/tmp/gpu-check-work}
BUDGET=${GPU_CHECK_BUDGET_S:-420}
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK/logs"
LOGS=$WORK/logs
export PYTHONUNBUFFERED=1
T0=$(date +%s)
SUMMARY=()

# step NAME LIMIT_S CMD...: runs CMD with a timeout (capped by the budget left), logs to
# $LOGS/NAME.log, prints the log's last lines, records rc and seconds in the summary.
step() {
  local name=$1 limit=$2
  shift 2
  if [[ -n "${GPU_CHECK_STEPS:-}" && ",$GPU_CHECK_STEPS," != *",$name,"* && ",$GPU_CHECK_STEPS," != *",${name%%-*},"* ]]; then
    SUMMARY+=("$(printf '%-16s SKIPPED (not in GPU_CHECK_STEPS)' "$name")")
    return 0
  fi
  local left=$((BUDGET - ($(date +%s) - T0) - 15))
  if ((left < 20)); then
    SUMMARY+=("$(printf '%-16s SKIPPED (budget spent)' "$name")")
    echo "== $name: skipped, budget spent"
    return 0
  fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit}s): $*"
  local s=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  local rc=$?
  local d=$(python3 -c "print(f'{$(date +%s.%N) - $s:.1f}')" 2>/dev/null || echo '?')
  tail -n "${STEP_TAIL:-6}" "$LOGS/$name.log" | cut -c1-300
  local what=ok
  ((rc == 124 || rc == 137)) && what=TIMEOUT
  ((rc != 0 && rc != 124 && rc != 137)) && what=FAILED
  ((rc == 77)) && what=absent
  local info
  if [[ "${GREP_SUMMARY:-}" == count ]]; then
    info="$(grep -c ' PASS' "$LOGS/$name.log") PASS, $(grep -c ' FAIL' "$LOGS/$name.log") FAIL"
  else
    info=$(grep -E "${GREP_SUMMARY:-^# (pass|fail|skipped) }" "$LOGS/$name.log" | tr '\n' ' ' | cut -c1-120)
  fi
  SUMMARY+=("$(printf '%-16s %-7s rc=%-3s %6ss  %s' "$name" "$what" "$rc" "$d" "$info")")
  return $rc
}

# ------------------------------------------------------------------ 1. node, GPU, toolkit
for need in dist/lib/index.js dist/lib/reference.js build/Release/otca.node node_modules/node-gyp-build/package.json; do
  [[ -e "$need" ]] || echo "WARNING: $need is missing (build here with npm run build, and carry dist, build/Release/otca.node, node_modules/node-gyp-build)"
done
if [[ -n "${NODE:-}" ]]; then
  :
elif [[ -f .device/node.xz ]]; then
  step unpack-node 60 bash -c 'xz -dc .device/node.xz > /tmp/otca-node && chmod +x /tmp/otca-node && /tmp/otca-node --version'
  NODE=/tmp/otca-node
else
  NODE=$(command -v node)
fi
[[ -x "$NODE" ]] || NODE=$(command -v node || echo node)

step env 30 bash -c '
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  kernel: $(uname -r)"
  echo "node: '"$NODE"' $('"$NODE"' --version 2>&1)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit --format=csv
  else echo "nvidia-smi: absent"; fi
  command -v nvcc >/dev/null && nvcc --version | tail -2 || echo "nvcc: absent"
  python3 -c "import numpy; print(\"numpy\", numpy.__version__)"
  python3 -c "import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"available\", torch.cuda.is_available())" 2>&1 | tail -1
  ls -la build/Release/otca.node build/lab/otca_lab_harness 2>&1 | head -20
  '"$NODE"' -e "import(\"./dist/lib/index.js\").then(m => console.log(JSON.stringify(m.backendInfo())))" 2>&1 | head -20
'

# ------------------------------------------------------------------ 2. native harness + sanitizer
NATIVE_BIN=${NATIVE_BIN:-build/lab/otca_lab_harness}
NATIVE_SMALL_ARGS=${NATIVE_SMALL_ARGS:---quick}
if [[ -x "$NATIVE_BIN" && "$DRY" != 1 ]]; then
  # shellcheck disable=SC2086
  GREP_SUMMARY='^(PASSED|FAILED)' step native 300 "$NATIVE_BIN" ${NATIVE_ARGS:-}
  if command -v compute-sanitizer >/dev/null; then
    # shellcheck disable=SC2086
    GREP_SUMMARY='ERROR SUMMARY' step memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$NATIVE_BIN" $NATIVE_SMALL_ARGS
    # shellcheck disable=SC2086
    GREP_SUMMARY='RACECHECK SUMMARY|ERROR SUMMARY' step racecheck 150 compute-sanitizer --tool racecheck --error-exitcode 9 "$NATIVE_BIN" ${RACECHECK_ARGS:---quick --kernel product}
  else
    SUMMARY+=("sanitizer        absent (compute-sanitizer not on PATH)")
  fi
else
  echo "== native: ${NATIVE_BIN} $([[ "$DRY" == 1 ]] && echo 'not run in a dry run' || echo 'absent (build it with bench/lab/build.sh and carry build/lab/otca_lab_harness)')"
  SUMMARY+=("native           not run ($([[ "$DRY" == 1 ]] && echo dry run || echo "absent: $NATIVE_BIN"))")
  : >"$LOGS/native.log"
fi

# ------------------------------------------------------------------ 2b. ncu: why the tail is slow
# The harness's --profile calls (3 profiled launches per case) under Nsight Compute: the kernel's
# sections, and the warp-stall samples of every SASS instruction with its source line (-lineinfo);
# bench/gpu/ncu_summary.py turns them into stall reasons per stage (bench/NOTES.md sections 4-5).

# Writes the report's pages for ncu_summary.py, each on its own, so that one this ncu spells
# differently (or that fails) leaves the others; the raw page is the fallback for the source pages.
ncu_export() {
  export LC_ALL=C  # numbers without locale separators
  local rep rc sources bin
  rep=$(ls "$WORK"/ncu.ncu-rep* 2>/dev/null | head -1)  # Nsight Compute 2026.3+ writes .ncu-repz
  [[ -n "$rep" ]] || { echo "FAILED: no report $WORK/ncu.ncu-rep*"; return 1; }
  echo "report $rep: $(du -k "$rep" | cut -f1) KiB; $("$NCU" --version 2>&1 | tail -1)"
  "$NCU" -i "$rep" --page details --print-details all >"$LOGS/ncu-details.log" 2>&1 ||
    echo "FAILED (rc $?): --page details --print-details all"
  "$NCU" -i "$rep" --page raw --csv >"$LOGS/ncu-raw.csv" 2>"$LOGS/ncu-raw.err" || echo "FAILED (rc $?): --page raw --csv"
  "$NCU" -i "$rep" --page source --csv --print-source sass >"$LOGS/ncu-sass.csv" 2>"$LOGS/ncu-sass.err" ||
    echo "FAILED (rc $?): --page source --csv --print-source sass (the raw page stays: whole-kernel stall reasons only)"
  sources=$(ls "$ROOT"/csrc/cuda/*.cu "$ROOT"/csrc/cuda/*.cuh "$ROOT"/csrc/core/*.h | paste -sd, -)
  "$NCU" -i "$rep" --page source --csv --print-source cuda,sass --resolve-source-file "$sources" \
    >"$LOGS/ncu-source.csv" 2>"$LOGS/ncu-source.err"
  rc=$?
  if ((rc != 0)); then
    echo "FAILED (rc $rc): --page source --csv --print-source cuda,sass --resolve-source-file ...; again without it"
    "$NCU" -i "$rep" --page source --csv --print-source cuda,sass >"$LOGS/ncu-source.csv" 2>>"$LOGS/ncu-source.err" ||
      echo "FAILED (rc $?): --page source --csv --print-source cuda,sass"
  fi
  # Without file paths in the cuda,sass page: file:line by offset from the binary's own line tables.
  if ! grep -q 'finish_group' "$LOGS/ncu-source.csv" 2>/dev/null; then
    bin=$(realpath "$NATIVE_BIN")
    rm -rf "$WORK/cubin" && mkdir -p "$WORK/cubin"
    if (cd "$WORK/cubin" && cuobjdump -xelf all "$bin" >/dev/null &&
      for f in *.cubin; do echo "// $f" && nvdisasm -g -c "$f" || exit 1; done) >"$LOGS/ncu-linemap.txt" 2>&1; then
      echo "line map: $(grep -c '//## File' "$LOGS/ncu-linemap.txt") line records (cuobjdump -xelf all; nvdisasm -g -c)"
    else
      echo "FAILED: cuobjdump -xelf all / nvdisasm -g -c (no line map): $(tail -1 "$LOGS/ncu-linemap.txt")"
    fi
  fi
  for f in "$LOGS"/ncu-*; do echo "$(basename "$f"): $(wc -l <"$f") lines, $(du -k "$f" | cut -f1) KiB"; done
}

NCU=${NCU:-$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | tail -1)}
if [[ "${GPU_CHECK_NCU:-1}" == 0 ]]; then
  SUMMARY+=("ncu              not run (GPU_CHECK_NCU=0)")
elif [[ "$DRY" == 1 || ! -x "$NATIVE_BIN" ]]; then
  echo "== ncu: not run ($([[ "$DRY" == 1 ]] && echo 'dry run' || echo "absent: $NATIVE_BIN"))"
  SUMMARY+=("ncu              not run ($([[ "$DRY" == 1 ]] && echo dry run || echo "absent: $NATIVE_BIN"))")
elif [[ -z "$NCU" ]]; then
  SUMMARY+=("ncu              absent (not on PATH, nor under /opt/nvidia/nsight-compute)")
else
  export NCU WORK LOGS ROOT NATIVE_BIN
  export -f ncu_export
  # shellcheck disable=SC2086
  GREP_SUMMARY='^profile: [0-9]' step ncu "${NCU_LIMIT_S:-120}" "$NCU" --clock-control none \
    --cache-control "${NCU_CACHE_CONTROL:-none}" --profile-from-start off --kernel-name regex:advantage_step \
    --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats \
    --section SourceCounters --section SchedulerStats --import-source yes --source-folders "$ROOT/csrc/cuda,$ROOT/csrc/core" \
    ${NCU_ARGS:-} -f -o "$WORK/ncu" "$NATIVE_BIN" --profile
  STEP_TAIL=12 GREP_SUMMARY='^FAILED' step ncu-export 60 bash -c ncu_export
  STEP_TAIL=4 GREP_SUMMARY='^ncu-verdict flux512-bf16:' step ncu-summary 40 python3 bench/gpu/ncu_summary.py --logs "$LOGS"
fi

# The SASS of the shipped addon (cuobjdump is on the device image, not on the build machine):
# 16-byte loads (LDG.E.128) in the streaming kernel, no local memory (LDL/STL) anywhere.
if [[ "$DRY" == 1 ]] || ! command -v cuobjdump >/dev/null; then
  SUMMARY+=("sass             not run ($([[ "$DRY" == 1 ]] && echo dry run || echo 'cuobjdump absent'); scripts/cuda-static-checks.sh reads the PTX)")
else
  GREP_SUMMARY='^sass' step sass 60 bash -c '
    cuobjdump -sass -arch sm_90 build/Release/otca.node > /tmp/otca.sass 2>&1 || { echo "sass: cuobjdump failed"; head -5 /tmp/otca.sass; exit 1; }
    echo "sass: $(grep -c "Function :" /tmp/otca.sass) functions; 128-bit LDG (any qualifier): $(grep -cE "LDG[.A-Z0-9_]*\.128" /tmp/otca.sass); LDG (all): $(grep -cE "\bLDG" /tmp/otca.sass); LDL/STL: $(grep -cE "\b(LDL|STL)\b" /tmp/otca.sass)"
    echo "LDG variants (all kernels):"; grep -oE "LDG[.A-Z0-9_]*" /tmp/otca.sass | sort | uniq -c
    grep "Function :" /tmp/otca.sass | head -20
  '
fi

# ------------------------------------------------------------------ 3. GPU tests
step node-tests 150 "$NODE" --expose-gc --test test/gpu/*.test.mjs

# ------------------------------------------------------------------ 4. benchmarks
BENCH_ARGS=(--out "$WORK")
[[ "$DRY" == 1 ]] && BENCH_ARGS+=(--dry)
[[ -n "${BENCH_ONLY:-}" ]] && BENCH_ARGS+=(--only "$BENCH_ONLY")
STEP_TAIL=20 GREP_SUMMARY='^host overhead' step bench-ours 150 "$NODE" bench/gpu/bench.mjs "${BENCH_ARGS[@]}"

# The baseline's math, numpy path, against the float64 reference (cheap; same lines as torch).
GREP_SUMMARY='^wrote' step ref-cases 60 "$NODE" bench/gpu/export_reference_case.mjs "$WORK/refcases" dist/lib/reference.js
GREP_SUMMARY=count step selftest 60 python3 bench/gpu/torch_reference.py --selftest "$WORK/refcases" --json "$WORK/selftest.json"

if [[ "$DRY" == 1 ]]; then
  STEP_TAIL=4 GREP_SUMMARY=count step baseline 120 python3 bench/gpu/torch_reference.py --xp numpy --check "$WORK/cases" --json "$WORK/torch.json"
else
  # torch.compile gets what is left after ~120 s for eager timings, the check and the report.
  left=$((BUDGET - ($(date +%s) - T0) - 15))
  cbudget=$((left - 120))
  ((cbudget > ${TORCH_COMPILE_BUDGET_S:-100})) && cbudget=${TORCH_COMPILE_BUDGET_S:-100}
  ((cbudget < 0)) && cbudget=0
  TORCH_ARGS=(--check "$WORK/cases" --bench --json "$WORK/torch.json"
    --compile-budget-s "$cbudget" --compile-workloads "${TORCH_COMPILE_WORKLOADS:-FLUX-512,Wan}")
  [[ -n "${TORCH_ONLY:-}" ]] && TORCH_ARGS+=(--only "$TORCH_ONLY")
  STEP_TAIL=24 GREP_SUMMARY=count step baseline 300 python3 bench/gpu/torch_reference.py "${TORCH_ARGS[@]}"
fi

BUDGET=$((BUDGET + 30)) STEP_TAIL=0 GREP_SUMMARY='^- (PASS|MISS|SKIP)' step report 30 python3 bench/gpu/report.py \
  --bench "$WORK/bench.json" --torch "$WORK/torch.json" --native "$LOGS/native.log" --out "$OUT"

# ------------------------------------------------------------------ 5. files back + summary
cp -f "$WORK/bench.json" "$WORK/torch.json" "$OUT/" 2>/dev/null
# ncu's bulky pages and report travel apart, in one file only if it stays under the 16 MiB limit.
NCU_BULK=(--exclude='ncu-*.csv' --exclude='ncu-linemap.txt')
tar -czf "$OUT/logs.tgz" "${NCU_BULK[@]}" -C "$WORK" logs bench.json torch.json selftest.json 2>/dev/null ||
  tar -czf "$OUT/logs.tgz" "${NCU_BULK[@]}" -C "$WORK" logs
if compgen -G "$WORK/ncu.ncu-rep*" >/dev/null || compgen -G "$LOGS/ncu-*.csv" >/dev/null; then
  for what in "ncu.ncu-rep* logs/ncu-*.csv logs/ncu-linemap.txt" "logs/ncu-*.csv" "logs/ncu-sass.csv logs/ncu-raw.csv"; do
    # shellcheck disable=SC2086
    (cd "$WORK" && tar -cf - $(ls -d $what 2>/dev/null) | timeout 30 xz -T0 -6 >"$OUT/ncu.tar.xz") &&
      (($(stat -c %s "$OUT/ncu.tar.xz") < 15 * 1024 * 1024)) && break
    rm -f "$OUT/ncu.tar.xz"
  done
fi
{
  echo
  echo "==================== gpu-check summary ($([[ "$DRY" == 1 ]] && echo DRY RUN || echo device), $(($(date +%s) - T0)) s of ${BUDGET} s)"
  printf '%s\n' "${SUMMARY[@]}"
  echo
  grep -hE '^(check|selftest) .*(FAIL)' "$LOGS"/selftest.log "$LOGS"/baseline.log 2>/dev/null | head -5
  grep -h '^not ok' "$LOGS"/node-tests.log 2>/dev/null | head -10 | cut -c1-200
  grep -h '^FAILED' "$LOGS"/bench-ours.log 2>/dev/null | head -5 | cut -c1-200
  grep -hE 'ERROR SUMMARY|RACECHECK SUMMARY' "$LOGS"/memcheck.log "$LOGS"/racecheck.log 2>/dev/null | head -4
  [[ -s "$LOGS/ncu-summary.log" ]] && { echo; echo "---- ncu (bench/gpu/ncu_summary.py; report and pages: \$OUT/ncu.tar.xz)"; cat "$LOGS/ncu-summary.log"; }
  [[ -f "$OUT/report.md" ]] && cat "$OUT/report.md"
  echo "(files in \$OUT: $(cd "$OUT" && ls | tr '\n' ' '))"
} | tee "$OUT/summary.txt"
