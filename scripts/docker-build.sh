#!/usr/bin/env bash
# Builds the Pillarbox image.
#
#   scripts/docker-build.sh [-t TAG]
#       the full multi-stage build (docker/Dockerfile): compiles and runs the
#       unit tests inside a Debian 12 build stage, then the runtime stage.
#   scripts/docker-build.sh --prebuilt BUILD_DIR [-t TAG] [--base IMAGE]
#       only the runtime stage (docker/Dockerfile.runtime) around
#       BUILD_DIR/pillarbox, a binary already built on a Debian 12 host:
#       a minute instead of a full build.
#
# The engine is $DOCKER when set (it may carry options: DOCKER="podman
# --runtime runc"), else docker, else podman. Extra arguments
# after -- go to `build` (e.g. -- --network host).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tag=pillarbox:latest
prebuilt=""
base=""
extra=()
while (($#)); do
  case "$1" in
    -t) tag=$2; shift 2 ;;
    --prebuilt) prebuilt=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "docker-build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# $DOCKER may carry options: DOCKER="podman --runtime runc".
read -ra engine <<<"${DOCKER:-}"
if ((${#engine[@]} == 0)); then
  if command -v docker >/dev/null; then engine=(docker); else engine=(podman); fi
fi
fmt=()
# Podman keeps HEALTHCHECK only in the Docker image format.
if [[ "$(basename "${engine[0]}")" == podman ]]; then fmt=(--format docker); fi

if [[ -z "$prebuilt" ]]; then
  exec "${engine[@]}" build "${fmt[@]}" -f "$root/docker/Dockerfile" -t "$tag" "${extra[@]}" "$root"
fi

[[ -x "$prebuilt/pillarbox" ]] || { echo "docker-build.sh: no $prebuilt/pillarbox" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/docker" "$ctx/config"
cp "$prebuilt/pillarbox" "$ctx/pillarbox"
strip --strip-debug "$ctx/pillarbox" 2>/dev/null || true
cp "$root"/docker/{Dockerfile.runtime,runtime-packages.txt,install-runtime.sh,entrypoint.sh,pillarbox.toml} "$ctx/docker/"
cp "$root/config/pillarbox.toml" "$ctx/config/"
args=()
if [[ -n "$base" ]]; then args+=(--build-arg "BASE=$base"); fi
"${engine[@]}" build "${fmt[@]}" "${args[@]}" -f "$ctx/docker/Dockerfile.runtime" -t "$tag" "${extra[@]}" "$ctx"
