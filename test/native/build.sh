#!/usr/bin/env bash
# Builds and runs the native core test against csrc/core/*.cpp (no Node, no CUDA).
#   test/native/build.sh            -O3 build, all checks and the timing lines
#   test/native/build.sh --tsan     ThreadSanitizer build, quick checks (no sweep, no timing)
#   test/native/build.sh --asan     AddressSanitizer + UBSan build, quick checks
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/native-test
mkdir -p "$out"
flags=(-std=c++17 -pthread -Wall -Wextra -march=x86-64)
[[ "$(uname -m)" == "x86_64" ]] || flags=(-std=c++17 -pthread -Wall -Wextra)
if [[ "${1:-}" == "--tsan" ]]; then
  g++ "${flags[@]}" -O1 -g -fsanitize=thread csrc/core/*.cpp test/native/core_test.cpp -o "$out/core_test_tsan"
  "$out/core_test_tsan" --quick
elif [[ "${1:-}" == "--asan" ]]; then
  g++ "${flags[@]}" -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    csrc/core/*.cpp test/native/core_test.cpp -o "$out/core_test_asan"
  "$out/core_test_asan" --quick
else
  g++ "${flags[@]}" -O3 csrc/core/*.cpp test/native/core_test.cpp -o "$out/core_test"
  "$out/core_test" "$@"
fi
