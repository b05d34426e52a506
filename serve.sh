#!/usr/bin/env bash
# Installs what is missing, builds, and runs Pillarbox on its embedded
# default: data in ./data, unprivileged ports on 127.0.0.1, a generated
# certificate. Extra arguments go to `pillarbox serve`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPILLARBOX_TESTS=OFF -DPILLARBOX_BENCH=OFF >/dev/null
cmake --build build --target pillarbox
exec build/pillarbox serve "$@"
