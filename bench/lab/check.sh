#!/usr/bin/env bash
# On a CUDA machine: compute-sanitizer memcheck over the harness's --quick checks (racecheck too
# with RACECHECK=1; SANITIZE=0 skips both) where the tool exists, then the full harness (checks of
# every kernel, errors, 2^32 indices, timing).
#   bench/lab/check.sh [binary, default build/lab/otca_lab_harness]
# Logs go to $OUT (or /tmp); the harness's summary is printed last.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-build/lab/otca_lab_harness}"
LOG="${OUT:-/tmp}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
  --format=csv 2>&1 | tee "$LOG/nvidia-smi.txt" || true
SAN="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1 || true)"
san_rc=0
tools="memcheck"
[ "${RACECHECK:-0}" = 1 ] && tools="memcheck racecheck"
[ "${SANITIZE:-1}" = 0 ] && SAN=""
if [ -n "$SAN" ]; then
  for tool in $tools; do
    timeout 300 "$SAN" --tool "$tool" --error-exitcode 3 "$BIN" --quick > "$LOG/sanitizer-$tool.txt" 2>&1
    r=$?
    echo "compute-sanitizer $tool: exit $r ($(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$LOG/sanitizer-$tool.txt" | tail -1))"
    [ "$r" -eq 0 ] || san_rc=$r
  done
else
  echo "compute-sanitizer: not installed here, skipped"
fi
timeout 400 "$BIN" > "$LOG/otca_lab_harness.txt" 2>&1
rc=$?
tail -n 60 "$LOG/otca_lab_harness.txt"
echo "otca_lab_harness exit $rc, sanitizer exit $san_rc"
[ "$rc" -eq 0 ] && [ "$san_rc" -eq 0 ]
