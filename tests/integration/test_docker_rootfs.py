"""Proves the runtime stage of docker/Dockerfile complete without a Docker
engine: builds a bookworm root file system with debootstrap (minbase),
installs exactly docker/runtime-packages.txt with docker/install-runtime.sh,
copies the binary in, starts the server inside it with chroot as the image's
unprivileged user, and runs `pillarbox healthcheck` there.

Skipped (visibly) only when debootstrap cannot reach the package archive.
The prepared file system is cached under the build directory, keyed by the
package list, so that a second run takes seconds."""

import hashlib
import os
import shutil
import subprocess
import tarfile
import time

import pytest

from conftest import BIN, SOURCE_DIR, free_port

MIRROR = os.environ.get("PILLARBOX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DOCKER_DIR = os.path.join(SOURCE_DIR, "docker")


def cache_path():
    with open(os.path.join(DOCKER_DIR, "runtime-packages.txt"), "rb") as f:
        key = hashlib.sha256(f.read() + open(os.path.join(DOCKER_DIR, "install-runtime.sh"), "rb").read()).hexdigest()[:16]
    return os.path.join(os.path.dirname(os.path.abspath(BIN)), f"docker-rootfs-{key}.tar")


def sh(*cmd, timeout=900, check=True):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd}: exit {r.returncode}\n{r.stdout.decode(errors='replace')[-3000:]}\n"
                             f"{r.stderr.decode(errors='replace')[-3000:]}")
    return r


def build_rootfs(root):
    if os.geteuid() != 0:
        pytest.skip("SKIPPED: debootstrap and chroot need root")
    # ./test.sh installs it (scripts/deps.sh --test): missing is a failure.
    assert shutil.which("debootstrap") is not None, "debootstrap is not installed"
    r = sh("debootstrap", "--variant=minbase", "bookworm", root, MIRROR, check=False, timeout=1200)
    if r.returncode != 0:
        text = (r.stdout + r.stderr).decode(errors="replace")
        if any(s in text for s in ("Failed getting release file", "Couldn't download", "Temporary failure",
                                   "Could not resolve", "Connection refused", "unable to fetch")):
            pytest.skip("SKIPPED: debootstrap cannot reach the package archive: " + text.strip()[-300:])
        raise AssertionError("debootstrap failed:\n" + text[-3000:])
    os.makedirs(os.path.join(root, "tmp/pillarbox"), exist_ok=True)
    for name in ("runtime-packages.txt", "install-runtime.sh"):
        shutil.copy(os.path.join(DOCKER_DIR, name), os.path.join(root, "tmp/pillarbox", name))
    with Mounts(root):
        sh("chroot", root, "/bin/sh", "/tmp/pillarbox/install-runtime.sh", timeout=900)


class Mounts:
    """/proc and /dev inside the chroot, undone on exit."""

    def __init__(self, root):
        self.root = root
        self.done = []

    def __enter__(self):
        for src, dst, args in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--bind"])):
            target = os.path.join(self.root, dst)
            os.makedirs(target, exist_ok=True)
            sh("mount", *args, src, target)
            self.done.append(target)
        return self

    def __exit__(self, *exc):
        for target in reversed(self.done):
            # A plain unmount first; lazily only if something still holds it.
            if subprocess.run(["umount", target], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", target])


def test_runtime_stage_library_list_is_complete(tmp_path):
    root = str(tmp_path / "rootfs")
    os.makedirs(root)
    cache = cache_path()
    if os.path.exists(cache):
        with tarfile.open(cache) as t:
            t.extractall(root, numeric_owner=True)
    else:
        build_rootfs(root)
        with tarfile.open(cache + ".part", "w") as t:
            t.add(root, arcname=".")
        os.replace(cache + ".part", cache)

    # The binary and the entry point, as the Dockerfile copies them.
    shutil.copy(BIN, os.path.join(root, "usr/local/bin/pillarbox"))
    shutil.copy(os.path.join(DOCKER_DIR, "entrypoint.sh"), os.path.join(root, "usr/local/bin/pillarbox-entrypoint"))

    missing = sh("chroot", root, "/bin/sh", "-c", "ldd /usr/local/bin/pillarbox | grep 'not found' || true").stdout
    assert missing.strip() == b"", f"libraries missing from runtime-packages.txt:\n{missing.decode()}"

    ports = {n: free_port() for n in ("imap", "imaps", "pop3", "pop3s", "lmtp", "smtp")}
    env = (f"PILLARBOX_SERVER_DATA_DIR=/data "
           f"PILLARBOX_IMAP_LISTEN=127.0.0.1:{ports['imap']} PILLARBOX_IMAP_TLS_LISTEN=127.0.0.1:{ports['imaps']} "
           f"PILLARBOX_POP3_LISTEN=127.0.0.1:{ports['pop3']} PILLARBOX_POP3_TLS_LISTEN=127.0.0.1:{ports['pop3s']} "
           f"PILLARBOX_LMTP_LISTEN=127.0.0.1:{ports['lmtp']} PILLARBOX_SMTP_LISTEN=127.0.0.1:{ports['smtp']} "
           f"PILLARBOX_USERS=alice:secret")
    with Mounts(root):
        server = subprocess.Popen(
            ["chroot", "--userspec=6110:6110", root, "/bin/sh", "-c",
             f"cd /data && exec env {env} /usr/local/bin/pillarbox-entrypoint"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 30
            while True:
                r = sh("chroot", "--userspec=6110:6110", root, "/bin/sh", "-c",
                       f"env {env} /usr/local/bin/pillarbox healthcheck", check=False, timeout=60)
                if r.returncode == 0:
                    break
                assert server.poll() is None, server.stdout.read().decode(errors="replace")
                assert time.time() < deadline, "healthcheck never passed:\n" + (r.stdout + r.stderr).decode()
                time.sleep(0.5)
            out = r.stdout.decode()
            assert out.count("\n") >= 6, out  # one line per listener
        finally:
            server.terminate()
            log = server.communicate(timeout=20)[0].decode(errors="replace")
        assert server.returncode == 0, log
