#!/usr/bin/env bash
# The one prepared device check (issues 3 and 4): on a CUDA machine, in one call,
#   1. unpack the carried Node (.device/node.xz), print the GPU, driver and toolkit;
#   2. the native harness (build-gpu/, made by test/native/gpu_build.sh) and compute-sanitizer
#      memcheck + racecheck over its small case;
#   3. the GPU tests (node --test test/gpu/*.test.mjs over dist/);
#   4. bench/gpu/bench.mjs (ours, device tensors), bench/gpu/torch_reference.py (numpy self-test of
#      the baseline's math, its check against our outputs, then eager + torch.compile timings and
#      the bandwidth probes), bench/gpu/report.py (one table, PASS/MISS per target);
#   5. a summary printed LAST (only the tail of the output comes back).
# Every step has its own timeout and the whole run a budget (GPU_CHECK_BUDGET_S, default 420 s), so
# one hang cannot eat the call; a step that would start with under 20 s left is skipped. GPU settings
# are never touched.
#
# Device:   bash scripts/gpu-check.sh                       (writes at most 6 files to $OUT)
# Here:     GPU_CHECK_DRY=1 bash scripts/gpu-check.sh       (every step that can run without a GPU:
#           node tests skip, bench.mjs --dry on the CPU backend, the numpy path of the baseline)
# Knobs:    NATIVE_BIN (build-gpu/gpu_core_test), NATIVE_ARGS (''), NATIVE_SMALL_ARGS (--small),
#           BENCH_ONLY / TORCH_ONLY (comma-separated workloads), TORCH_COMPILE_BUDGET_S (100),
#           TORCH_COMPILE_WORKLOADS (FLUX-512,Wan), NODE (a node binary to use instead of .device/).
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
  ls -la build/Release/otca.node build-gpu 2>&1 | head -20
  '"$NODE"' -e "import(\"./dist/lib/index.js\").then(m => console.log(JSON.stringify(m.backendInfo())))" 2>&1 | head -20
'

# ------------------------------------------------------------------ 2. native harness + sanitizer
NATIVE_BIN=${NATIVE_BIN:-build-gpu/gpu_core_test}
NATIVE_SMALL_ARGS=${NATIVE_SMALL_ARGS:---small}
if [[ -x "$NATIVE_BIN" && "$DRY" != 1 ]]; then
  # shellcheck disable=SC2086
  step native 200 "$NATIVE_BIN" ${NATIVE_ARGS:-}
  if command -v compute-sanitizer >/dev/null; then
    # shellcheck disable=SC2086
    GREP_SUMMARY='ERROR SUMMARY' step memcheck 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$NATIVE_BIN" $NATIVE_SMALL_ARGS
    # shellcheck disable=SC2086
    GREP_SUMMARY='RACECHECK SUMMARY|ERROR SUMMARY' step racecheck 120 compute-sanitizer --tool racecheck --error-exitcode 9 "$NATIVE_BIN" $NATIVE_SMALL_ARGS
  else
    SUMMARY+=("sanitizer        absent (compute-sanitizer not on PATH)")
  fi
else
  echo "== native: ${NATIVE_BIN} $([[ "$DRY" == 1 ]] && echo 'not run in a dry run' || echo 'absent (build it with test/native/gpu_build.sh and carry build-gpu)')"
  SUMMARY+=("native           not run ($([[ "$DRY" == 1 ]] && echo dry run || echo "absent: $NATIVE_BIN"))")
  : >"$LOGS/native.log"
fi

# The SASS of the shipped addon (cuobjdump is on the device image, not on the build machine):
# 16-byte loads (LDG.E.128) in the streaming kernel, no local memory (LDL/STL) anywhere.
GREP_SUMMARY='^sass' step sass 60 bash -c '
  cuobjdump -sass -arch sm_90 build/Release/otca.node > /tmp/otca.sass 2>&1 || { echo "sass: cuobjdump failed"; head -5 /tmp/otca.sass; exit 1; }
  echo "sass: $(grep -c "Function :" /tmp/otca.sass) functions; 128-bit LDG (any qualifier): $(grep -cE "LDG[.A-Z0-9_]*\.128" /tmp/otca.sass); LDG (all): $(grep -cE "\bLDG" /tmp/otca.sass); LDL/STL: $(grep -cE "\b(LDL|STL)\b" /tmp/otca.sass)"
  echo "LDG variants (all kernels):"; grep -oE "LDG[.A-Z0-9_]*" /tmp/otca.sass | sort | uniq -c
  grep "Function :" /tmp/otca.sass | head -20
'

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
tar -czf "$OUT/logs.tgz" -C "$WORK" logs bench.json torch.json selftest.json 2>/dev/null ||
  tar -czf "$OUT/logs.tgz" -C "$WORK" logs
{
  echo
  echo "==================== gpu-check summary ($([[ "$DRY" == 1 ]] && echo DRY RUN || echo device), $(($(date +%s) - T0)) s of ${BUDGET} s)"
  printf '%s\n' "${SUMMARY[@]}"
  echo
  grep -hE '^(check|selftest) .*(FAIL)' "$LOGS"/selftest.log "$LOGS"/baseline.log 2>/dev/null | head -5
  grep -h '^not ok' "$LOGS"/node-tests.log 2>/dev/null | head -10 | cut -c1-200
  grep -h '^FAILED' "$LOGS"/bench-ours.log 2>/dev/null | head -5 | cut -c1-200
  grep -hE 'ERROR SUMMARY|RACECHECK SUMMARY' "$LOGS"/memcheck.log "$LOGS"/racecheck.log 2>/dev/null | head -4
  [[ -f "$OUT/report.md" ]] && cat "$OUT/report.md"
  echo "(files in \$OUT: $(cd "$OUT" && ls | tr '\n' ' '))"
} | tee "$OUT/summary.txt"
