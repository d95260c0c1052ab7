#!/usr/bin/env bash
# Builds here (no GPU needed, CUDA toolkit needed) everything scripts/gpu-check.sh runs on a lent
# device, and prints the device call to make. The device has no Node and no network: this machine's
# Node goes along compressed (.device/node.xz, ignored by git via .git/info/exclude).
#   bash scripts/gpu-prepare.sh [arch, default 90]
# Builds: the addon with CUDA for that one architecture (build/Release/otca.node; a later `npm test`
# here keeps it: it runs the CPU backend where no driver exists) and dist/; the lab harness
# (build/lab/otca_lab_harness, bench/lab/build.sh); then the static checks of the kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH="${1:-90}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
export PATH="$(dirname "$NVCC"):$PATH"
node scripts/ensure-built.mjs --force "--CDOTCA_CUDA_ARCHITECTURES=${ARCH}-real"
node -e "const c = require('./build/Release/otca.node').backendInfo().cuda; console.log('addon: CUDA compiled', c.compiled, c.architectures); if (!c.compiled) process.exit(1)"
bash bench/lab/build.sh "$ARCH" build/lab
bash scripts/cuda-static-checks.sh "$ARCH" | tail -3
mkdir -p .device
grep -qE '^/?\.device/?$' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
if [[ ! -s .device/node.xz || "$(cat .device/node.version 2>/dev/null)" != "$(node --version)" ]]; then
  xz -T2 -c "$(command -v node)" > .device/node.xz
  node --version > .device/node.version
fi
du -ch .device/node.xz build/Release/otca.node build/lab/otca_lab_harness dist node_modules/node-gyp-build | tail -1
cat <<'CALL'
Device call (one; ~6-8 minutes on an H100/H200; then give_back):
  run(command="GPU_CHECK_BUDGET_S=480 bash scripts/gpu-check.sh", timeout_s=560,
      carry=[".device", "dist", "build/Release/otca.node", "build/lab/otca_lab_harness",
             "node_modules/node-gyp-build"])
A shorter one (the harness and ncu only): GPU_CHECK_STEPS=env,native,memcheck,racecheck,ncu
CALL
