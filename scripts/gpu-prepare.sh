#!/usr/bin/env bash
# Builds here (no GPU needed, CUDA toolkit needed) everything scripts/gpu-check.sh runs on a lent
# device, and prints the device call to make. The device has no Node and no network: this machine's
# Node goes along compressed (.device/node.xz, ignored by git via .git/info/exclude).
#   bash scripts/gpu-prepare.sh [arch, default 90]
# Builds: the addon with CUDA (build/Release/otca.node) and dist/; the native harness
# (build/native-gpu); the same harness with the tail experiments of bench/NOTES.md section 7:
# rolled finishing loops (build/native-gpu-rolled) and rolled + lean hand-offs + no 64-bit divisions
# (build/native-gpu-lean). Each harness is checked for spills and stack frames by ptxas on the way.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH="${1:-90}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
node scripts/ensure-built.mjs
bash test/native/gpu_build.sh "$ARCH" build/native-gpu
NVCC_EXTRA="-DOTCA_ROLLED_FINISH" bash test/native/gpu_build.sh "$ARCH" build/native-gpu-rolled
NVCC_EXTRA="-DOTCA_ROLLED_FINISH -DOTCA_LEAN_HANDOFF -DOTCA_NO_INT64_DIV" bash test/native/gpu_build.sh "$ARCH" build/native-gpu-lean
mkdir -p .device
grep -qE '^/?\.device/?$' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
if [[ ! -s .device/node.xz || "$(cat .device/node.version 2>/dev/null)" != "$(node --version)" ]]; then
  xz -T2 -c "$(command -v node)" > .device/node.xz
  node --version > .device/node.version
fi
du -ch .device/node.xz build/Release/otca.node build/native-gpu*/gpu_core_test dist node_modules/node-gyp-build | tail -1
cat <<'CALL'
Device call (one; ~6-8 minutes on an H100; then give_back):
  run(command="GPU_CHECK_BUDGET_S=480 bash scripts/gpu-check.sh", timeout_s=560,
      carry=[".device", "dist", "build/Release/otca.node", "build/native-gpu/gpu_core_test",
             "build/native-gpu-rolled/gpu_core_test", "build/native-gpu-lean/gpu_core_test",
             "node_modules/node-gyp-build"])
A shorter one (the harness, its A/B and ncu only): GPU_CHECK_STEPS=env,native,memcheck,racecheck,ab,ncu
CALL
