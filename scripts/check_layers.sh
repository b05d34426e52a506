#!/usr/bin/env bash
# Checks that includes point down the layers only:
#   common <- config, common <- storage <- services <- protocols <- server;
#   web (the console's embedded files) <- server
# (services, protocols and server may read config; the store never does;
# services never include protocols or server: see ARCHITECTURE.md).
# Prints every include that points elsewhere and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [common]="common"
  [config]="common config"
  [storage]="common storage"
  [services]="common config storage services"
  [protocols]="common config storage services protocols"
  [server]="common config storage services protocols server web"
  [web]="web"
)

bad=0
for layer in "${!allowed[@]}"; do
  while IFS= read -r -d '' file; do
    while IFS=: read -r line target; do
      top=${target%%/*}
      [[ -d $top ]] || continue  # a system or third-party header
      ok=0
      for a in ${allowed[$layer]}; do [[ $top == "$a" ]] && ok=1; done
      if ((!ok)); then
        echo "$file:$line: $layer may not include \"$target\""
        bad=1
      fi
    done < <(grep -n -o '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"' "$file" |
      sed -E 's/^([0-9]+):.*"([^"]*)"/\1:\2/')
  done < <(find "$layer" -type f \( -name '*.h' -o -name '*.cpp' \) -print0)
done
if ((bad)); then
  echo "layer check failed: see CONTRIBUTING.md, Layout" >&2
  exit 1
fi
echo "layer check: every include points down"
