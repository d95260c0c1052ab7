#!/usr/bin/env bash
# The Python route's device check (issue 19 item 8), for a lent CUDA machine with python3, PyTorch and
# CUDA, and no Node and no network: nothing carried but a folder of wheels.
#
#   bash scripts/gpu-python-check.sh WHEEL_DIR            on the device: writes its report to $OUT
#   bash scripts/gpu-python-check.sh WHEEL_DIR --dry-run  here: every step that runs without a GPU
#                                                         (the GPU tests skip, saying why; the
#                                                         benchmark runs its --quick CPU pass)
#
# WHEEL_DIR holds the otca wheel built for sm_90 (`npm run pack:wheel -- --cuda-architectures 90-real
# --out WHEEL_DIR`) and, where the device's python has no pytest, pytest's wheels (`pip download
# pytest -d WHEEL_DIR`). Steps, each with a timeout and logged to $OUT/logs/:
#   1. env      the GPU, driver, torch and its CUDA;
#   2. install  a virtual environment (--system-site-packages: the device's torch) and
#               `pip install --no-index --find-links WHEEL_DIR otca` (+ pytest where missing);
#   3. info     otca.backend_info() from the installed package (which library, CUDA usable, archs);
#   4. tests    pytest test/python/test_gpu.py on the INSTALLED package (OTCA_TEST_INSTALLED=1):
#               CUDA tensors, the current stream, sync debug mode 'error', CUDA-graph capture and
#               replay against eager, non-finite inputs, mixed devices, torch.compile on CUDA, the
#               distributed call on one GPU (nccl and gloo);
#   5. bench    bench/python/bench.py --cuda (otca vs the PyTorch step, eager and torch.compile, FLUX-512
#               and 8 groups of it, CUDA tensors), numbers to $OUT/bench.json;
#   6. a summary, printed last and written to $OUT/report.md.
# Budget: GPU_PY_BUDGET_S (default 480 s) for the whole run; a step with under 20 s left is skipped.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WHEELS=${1:-}
DRY=0
[[ "${2:-}" == "--dry-run" || "${1:-}" == "--dry-run" ]] && DRY=1
[[ "$WHEELS" == "--dry-run" ]] && WHEELS=${2:-}
OUT=${OUT:-/tmp/gpu-python-check-out}
WORK=${GPU_PY_WORK:-/tmp/gpu-python-check-work}
BUDGET=${GPU_PY_BUDGET_S:-480}
PY=${PYTHON:-python3}
mkdir -p "$OUT/logs"
rm -rf "$WORK"
mkdir -p "$WORK"
T0=$(date +%s)
SUMMARY=()
FAILED=0

if [[ -z "$WHEELS" || ! -d "$WHEELS" ]]; then
  echo "usage: bash scripts/gpu-python-check.sh WHEEL_DIR [--dry-run]   (WHEEL_DIR: the otca wheel, and pytest's wheels where the device lacks pytest)" >&2
  exit 2
fi
WHEEL=$(ls "$WHEELS"/otca-*-py3-none-*.whl 2>/dev/null | head -1)
if [[ -z "$WHEEL" ]]; then
  echo "no otca-*-py3-none-*.whl in $WHEELS (npm run pack:wheel -- --cuda-architectures 90-real --out $WHEELS)" >&2
  exit 2
fi

# step NAME LIMIT_S CMD...: runs CMD with a timeout (capped by the budget left), logs to
# $OUT/logs/NAME.log, prints its last lines, records rc and seconds.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET - ($(date +%s) - T0) - 10))
  if ((left < 20)); then
    SUMMARY+=("$(printf '%-8s SKIPPED (budget spent)' "$name")")
    return 0
  fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit} s): $*"
  local t=$(date +%s)
  timeout --kill-after=5 "$limit" bash -c "$*" >"$OUT/logs/$name.log" 2>&1  # the steps are functions (exported below)
  local rc=$?
  tail -n 25 "$OUT/logs/$name.log"
  local verdict=ok
  ((rc != 0)) && verdict="FAILED rc=$rc" && FAILED=1
  ((rc == 124 || rc == 137)) && verdict="TIMED OUT after ${limit} s" && FAILED=1
  SUMMARY+=("$(printf '%-8s %-22s %4d s' "$name" "$verdict" $(($(date +%s) - t)))")
}

VENV=$WORK/venv
VPY=$VENV/bin/python

env_step() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "nvidia-smi: not available"
  "$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
  echo "wheel: $WHEEL ($(du -h "$WHEEL" | cut -f1))"
}

install_step() {
  "$PY" -m venv --system-site-packages "$VENV" || return 1
  # where $PY is itself a virtual environment (the dry run), its packages too (after the venv's own)
  "$PY" -c "import site; print('\n'.join(site.getsitepackages()))" >"$("$VPY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/_parent_site.pth"
  local t=$(date +%s%N)
  "$VPY" -m pip install --quiet --no-index --find-links "$WHEELS" "$WHEEL" || return 1
  echo "wheel installed in $((($(date +%s%N) - t) / 1000000)) ms"
  if ! "$VPY" -c "import pytest" 2>/dev/null; then
    "$VPY" -m pip install --quiet --no-index --find-links "$WHEELS" pytest || { echo "no pytest on the device and none in $WHEELS"; return 1; }
  fi
  "$VPY" -m pip list 2>/dev/null | grep -i -E "^(otca|torch|numpy|pytest) "
}

info_step() {
  (cd "$WORK" && "$VPY" -c "import json, otca; print(json.dumps(otca.backend_info(), indent=1))")
}

tests_step() {
  OTCA_TEST_INSTALLED=1 PYTHONDONTWRITEBYTECODE=1 "$VPY" -m pytest -v -rs -p no:cacheprovider "$ROOT/test/python/test_gpu.py"
}

bench_step() {
  if ((DRY)); then
    OTCA_BENCH_INSTALLED=1 "$VPY" "$ROOT/bench/python/bench.py" --quick --no-compile --json "$OUT/bench.json"
  else
    OTCA_BENCH_INSTALLED=1 "$VPY" "$ROOT/bench/python/bench.py" --cuda --json "$OUT/bench.json"
  fi
}

export -f env_step install_step info_step tests_step bench_step
export ROOT WHEELS WHEEL OUT WORK PY VENV VPY DRY
if ((DRY)); then
  echo "DRY RUN (no GPU expected): the GPU tests skip, the benchmark runs its quick CPU pass without Node's column"
fi
step env 60 env_step
step install 180 install_step
step info 60 info_step
step tests 300 tests_step
step bench 300 bench_step

{
  echo "# gpu-python-check $(date -u '+%Y-%m-%d %H:%M UTC')$( ((DRY)) && echo ' (dry run)')"
  echo
  echo "wheel: $(basename "$WHEEL")"
  echo
  echo '```'
  printf '%s\n' "${SUMMARY[@]}"
  echo '```'
  echo
  echo "GPU tests: $(grep -E '(passed|failed|skipped)' "$OUT/logs/tests.log" 2>/dev/null | tail -1)"
  [[ -f "$OUT/bench.json" ]] && echo && echo '```' && grep -E 'otca \(Python\)|tiny' "$OUT/logs/bench.log" && echo '```'
} >"$OUT/report.md"
echo "== summary (total $(($(date +%s) - T0)) s; report $OUT/report.md)"
cat "$OUT/report.md"
exit $FAILED
