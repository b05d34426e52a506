#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: first the unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer, then every libFuzzer
# target for a short fixed time on its seed corpus, then the normal build's
# unit and integration tests. Ends with ctest's summary.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh --test
scripts/check_layers.sh
jobs=$(nproc)

# Node client used by the integration tests (from the npm registry).
if [[ ! -d tests/integration/node/node_modules/imapflow ]]; then
  (cd tests/integration/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# 1. Sanitizer build: unit tests only.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPILLARBOX_SANITIZE=ON \
  -DPILLARBOX_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit -j "$jobs" --output-on-failure

# 2. Fuzz build (clang): only the fuzz targets and the libraries they use;
# each runs PILLARBOX_FUZZ_SECONDS on a copy of tests/fuzz/corpus/<target>.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DPILLARBOX_FUZZ=ON -DPILLARBOX_BENCH=OFF -DPILLARBOX_FUZZ_SECONDS=30 >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz
ctest --test-dir build-fuzz -L fuzz -j "$jobs" --output-on-failure

# 3. Normal build: everything.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" --output-on-failure "$@"
