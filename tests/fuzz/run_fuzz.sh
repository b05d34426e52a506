#!/usr/bin/env bash
# Runs one libFuzzer target on a temporary copy of its seed corpora, so that
# the checked-in corpus never changes; a crash, leak, timeout or failed check
# fails the run and its input is kept in ARTIFACT_DIR.
#
# Usage: run_fuzz.sh FUZZER ARTIFACT_DIR SEED_DIR... -- LIBFUZZER_FLAGS...
set -euo pipefail
fuzzer=$1
artifacts=$2
shift 2
seeds=()
while (($#)) && [[ $1 != -- ]]; do
  seeds+=("$1")
  shift
done
(($#)) && shift

work=$(mktemp -d "${TMPDIR:-/tmp}/pillarbox-fuzz-corpus-XXXXXX")
trap 'rm -rf "$work"' EXIT
for d in "${seeds[@]}"; do
  if [[ -d $d ]]; then cp -R "$d/." "$work/"; fi
done
mkdir -p "$artifacts"
echo "$(basename "$fuzzer"): $(find "$work" -type f | wc -l) seeds, flags: $*"
"$fuzzer" -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" "$work"
