#!/bin/sh
# Installs the runtime packages listed in runtime-packages.txt (beside this
# script) and the service account. Runs in the image's runtime stage and in
# the root-file-system test.
set -eu
here=$(dirname "$0")
pkgs=$(grep -v '^#' "$here/runtime-packages.txt" | tr '\n' ' ')
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
rm -rf /var/lib/apt/lists/*
if ! getent group pillarbox >/dev/null; then groupadd --system --gid 6110 pillarbox; fi
if ! getent passwd pillarbox >/dev/null; then
  useradd --system --uid 6110 --gid 6110 --home-dir /data --no-create-home \
    --shell /usr/sbin/nologin pillarbox
fi
mkdir -p /data /etc/pillarbox/tls
chown pillarbox:pillarbox /data
