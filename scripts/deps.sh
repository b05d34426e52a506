#!/usr/bin/env bash
# Installs, from Debian's packages, what Pillarbox needs to build (and, with
# --test, to run every test). Idempotent: installs only what is missing.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config ninja-build
  libuv1-dev libssl-dev liblmdb-dev libcrypt-dev libargon2-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev openssl lmdb-utils
  libhttp-parser-dev nlohmann-json3-dev zlib1g-dev)
test_pkgs=(python3 python3-pytest curl fetchmail isync swaks libnet-ssleay-perl mpop
  postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd procmail ca-certificates procps iproute2 clang libclang-rt-14-dev debootstrap
  podman runc fuse-overlayfs slirp4netns uidmap catatonit
  chromium chromium-driver python3-selenium)
# podman runs the image test with runc (crun fails on a cgroups hybrid
# host); its recommended helpers are named because installs here skip
# recommends; tests/integration/test_docker_image.py writes
# /etc/containers/containers.conf when it is missing.

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
  want+=("${test_pkgs[@]}")
  # Node.js may come from elsewhere already (with its own npm): only ask
  # Debian for it when the commands are missing.
  command -v node >/dev/null || want+=(nodejs)
  command -v npm >/dev/null || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  echo "Installing: ${missing[*]}"
  # Postfix (for the tests) without a system-wide mail setup and without
  # debconf asking: "No configuration".
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    echo "postfix postfix/main_mailer_type select No configuration" |
      "${sudo_cmd[@]}" debconf-set-selections
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
