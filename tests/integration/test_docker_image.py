"""The container image for real, with Podman (runc): builds the runtime
image (docker/Dockerfile.runtime around the binary under test, through
scripts/docker-build.sh --prebuilt), runs it on host networking with a
volume, and checks what a person would: the HEALTHCHECK passes, IMAP and
POP3 logins work, mail delivered over LMTP and `pillarbox deliver` is there
and survives a restart, the server runs as uid 6110, SIGTERM stops it at
once, a mounted configuration file wins over the image's, and the build
context leaves out what .dockerignore names.

No registry is reachable here: the base image is the debootstrapped bookworm
root file system that test_docker_rootfs.py builds and caches (imported
under a test-only name). Skipped (visibly) without root, podman or runc."""

import fnmatch
import imaplib
import json
import os
import poplib
import shutil
import smtplib
import subprocess
import tarfile
import time
import urllib.request
import uuid

import pytest

from conftest import BIN, SOURCE_DIR, free_port, message, wait_for
import test_docker_rootfs as rootfs

PODMAN = ["podman", "--runtime", "runc"]
TAG = uuid.uuid4().hex[:8]
BASE = f"localhost/pillarbox-test-base:{TAG}"
IMAGE = f"localhost/pillarbox-test:{TAG}"
CONTAINERS_CONF = "/etc/containers/containers.conf"


def podman(*args, timeout=120, check=True, input=None):
    r = subprocess.run(PODMAN + list(args), capture_output=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {r.returncode}\n"
                             f"{r.stdout.decode(errors='replace')[-3000:]}\n{r.stderr.decode(errors='replace')[-3000:]}")
    return r


# --- .dockerignore, without an engine ------------------------------------

def dockerignore_patterns():
    with open(os.path.join(SOURCE_DIR, ".dockerignore")) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def ignored(path, patterns):
    """Docker's rule, enough for our patterns: a path is left out when it or
    one of its parent directories matches a pattern ('**' any directories,
    '*' within one name); a later '!' pattern takes it back."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]

    def match(pattern, p):
        if "**" in pattern:
            head, _, tail = pattern.partition("**/")
            return (p.startswith(head) and any(fnmatch.fnmatchcase(s, tail) for s in
                                               ["/".join(p[len(head):].split("/")[i:])
                                                for i in range(len(p[len(head):].split("/")))]))
        return fnmatch.fnmatchcase(p, pattern) and p.count("/") == pattern.count("/")

    out = False
    for pattern in patterns:
        neg = pattern.startswith("!")
        pat = pattern[1:] if neg else pattern
        if any(match(pat, p) for p in prefixes):
            out = not neg
    return out


def test_dockerignore_leaves_out_outputs_and_keeps_sources():
    patterns = dockerignore_patterns()
    for path in ("build/pillarbox", "build-asan/unit_imap", "build-fuzz/x", "data/store/data.mdb",
                 "tests/integration/node/node_modules/imapflow/package.json", "node_modules/x",
                 ".git/HEAD", ".git", "tests/integration/__pycache__/conftest.cpython-311.pyc",
                 "docker/certs/key.pem", "docker/users", ".pytest_cache/v/cache",
                 "docker/seed/dev/data/x", "build/docker-rootfs-1234.tar"):
        assert ignored(path, patterns), path
    for path in ("CMakeLists.txt", "docker/Dockerfile", "docker/entrypoint.sh", "docker/pillarbox.toml",
                 "config/pillarbox.toml", "server/main.cpp", "tests/integration/conftest.py",
                 "tests/integration/node/package.json", "scripts/deps.sh", "docker/seed/dev/welcome.eml",
                 "docker/runtime-packages.txt", "storage/database.cpp"):
        assert not ignored(path, patterns), path


def test_runtime_dockerfile_is_the_runtime_stage():
    # docker/Dockerfile.runtime must stay the runtime stage of docker/Dockerfile
    # (the test builds the former; users build the latter).
    with open(os.path.join(SOURCE_DIR, "docker", "Dockerfile")) as f:
        full = f.read()
    with open(os.path.join(SOURCE_DIR, "docker", "Dockerfile.runtime")) as f:
        runtime = f.read()

    def body(text, start):
        lines = [l for l in text[text.index(start):].splitlines()[1:] if l and not l.startswith("#")]
        return [l.replace("COPY --from=build /src/build/pillarbox", "COPY pillarbox") for l in lines]

    assert body(full, "FROM debian:bookworm-slim\n") == body(runtime, "FROM ${BASE}\n")


# --- the image, with Podman -----------------------------------------------

@pytest.fixture(scope="module")
def engine():
    if os.geteuid() != 0:
        pytest.skip("SKIPPED: podman with runc needs root here")
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            pytest.skip(f"SKIPPED: {tool} is not installed (scripts/deps.sh --test installs it)")
    # Without it, podman asks for ulimits this sandbox refuses.
    if not os.path.exists(CONTAINERS_CONF):
        os.makedirs(os.path.dirname(CONTAINERS_CONF), exist_ok=True)
        with open(CONTAINERS_CONF, "w") as f:
            f.write("[containers]\ndefault_ulimits = []\n")
    cache = rootfs.cache_path()
    if not os.path.exists(cache):
        # Names of this process's own: test_docker_rootfs.py may be making
        # the same cache at the same time.
        tmp = f"{cache}.{os.getpid()}.dir"
        part = f"{cache}.{os.getpid()}.part"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            rootfs.build_rootfs(tmp)
            with tarfile.open(part, "w") as t:
                t.add(tmp, arcname=".")
            os.replace(part, cache)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    podman("import", cache, BASE, timeout=300)
    env = dict(os.environ, DOCKER=" ".join(PODMAN))
    r = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "docker-build.sh"),
                        "--prebuilt", os.path.dirname(os.path.abspath(BIN)), "-t", IMAGE, "--base", BASE,
                        "--", "--network", "host"],
                       env=env, capture_output=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")[-4000:]
    created = {"containers": [], "volumes": [], "images": [IMAGE, BASE]}
    yield created
    for c in created["containers"]:
        podman("rm", "-f", "-t", "0", c, check=False, timeout=60)
    for v in created["volumes"]:
        podman("volume", "rm", "-f", v, check=False, timeout=60)
    for i in created["images"]:
        podman("rmi", "-f", i, check=False, timeout=60)


def start(engine, name, volume, env, mounts=()):
    args = ["run", "-d", "--name", name, "--network", "host", "-v", f"{volume}:/data"]
    for m in mounts:
        args += ["-v", m]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    podman(*args, IMAGE)
    if name not in engine["containers"]:
        engine["containers"].append(name)


def logs(name):
    r = podman("logs", name, check=False)
    return (r.stdout + r.stderr).decode(errors="replace")


def wait_healthy(name, timeout=60):
    deadline = time.time() + timeout
    while True:
        r = podman("healthcheck", "run", name, check=False, timeout=30)
        if r.returncode == 0:
            return
        state = podman("inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip()
        assert state == b"true", "container stopped:\n" + logs(name)
        assert time.time() < deadline, ("healthcheck never passed: " + (r.stdout + r.stderr).decode()
                                        + "\n" + logs(name))
        time.sleep(0.5)


def listen_env():
    ports = {n: free_port() for n in ("imap", "imaps", "pop3", "pop3s", "lmtp", "smtp", "http")}
    env = {
        "PILLARBOX_IMAP_LISTEN": f"127.0.0.1:{ports['imap']}",
        "PILLARBOX_IMAP_TLS_LISTEN": f"127.0.0.1:{ports['imaps']}",
        "PILLARBOX_POP3_LISTEN": f"127.0.0.1:{ports['pop3']}",
        "PILLARBOX_POP3_TLS_LISTEN": f"127.0.0.1:{ports['pop3s']}",
        "PILLARBOX_LMTP_LISTEN": f"127.0.0.1:{ports['lmtp']}",
        "PILLARBOX_SMTP_LISTEN": f"127.0.0.1:{ports['smtp']}",
        "PILLARBOX_HTTP_LISTEN": f"127.0.0.1:{ports['http']}",
    }
    return ports, env


def inbox_subjects(port):
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    imap.login("alice", "Wonder-land7")
    typ, data = imap.select("INBOX", readonly=True)
    assert typ == "OK"
    if int(data[0]) == 0:
        imap.logout()
        return []
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    imap.logout()
    return sorted(part[1].decode().strip() for part in data if isinstance(part, tuple))


def test_image_serves_keeps_mail_and_stops_quickly(engine):
    name = f"pillarbox-test-{TAG}"
    volume = f"pillarbox-test-data-{TAG}"
    engine["volumes"].append(volume)
    ports, env = listen_env()
    env["PILLARBOX_USERS"] = "alice:Wonder-land7, bob:Builder-99"
    start(engine, name, volume, env)
    wait_healthy(name)

    log = logs(name)
    assert "configuration: file /etc/pillarbox/pillarbox.toml" in log, log
    assert (f'imap.listen = ["127.0.0.1:{ports["imap"]}"] (from PILLARBOX_IMAP_LISTEN, overrides the file)'
            in log), log
    assert 'server.data_dir = "/data" (from /etc/pillarbox/pillarbox.toml)' in log, log
    # The image's file publishes the console; the token is read as the README says.
    assert (f'http.listen = ["127.0.0.1:{ports["http"]}"] (from PILLARBOX_HTTP_LISTEN, overrides the file)'
            in log), log
    token = podman("exec", name, "cat", "/data/http-token").stdout.decode().strip()
    req = urllib.request.Request(f"http://127.0.0.1:{ports['http']}/api/v1/users",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert sorted(u["name"] for u in json.load(r)["users"]) == ["alice", "bob"]
    assert "tls certificate /data/tls/cert.pem sha256 " in log, log
    assert "Wonder-land7" not in log and "Builder-99" not in log

    # The server (pid 1 after the entry point's exec) runs as 6110.
    status = podman("exec", name, "cat", "/proc/1/status").stdout.decode()
    uid_line = next(l for l in status.splitlines() if l.startswith("Uid:"))
    assert uid_line.split()[1:] == ["6110"] * 4, uid_line
    assert podman("exec", name, "id", "-u").stdout.strip() == b"6110"

    # Logins over IMAP and POP3.
    assert inbox_subjects(ports["imap"]) == []
    pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    pop.user("bob")
    pop.pass_("Builder-99")
    pop.quit()

    # Mail in through LMTP and through `pillarbox deliver` in the container
    # (which finds the server's configuration through PILLARBOX_CONFIG).
    with smtplib.LMTP("127.0.0.1", ports["lmtp"], timeout=10) as lmtp:
        lmtp.sendmail("sender@example.org", ["alice@example.org"], message("via lmtp"))
    podman("exec", "-i", name, "pillarbox", "deliver", "--user", "alice",
           input=message("via deliver").encode())
    want = ["Subject: via deliver", "Subject: via lmtp"]
    assert inbox_subjects(ports["imap"]) == want

    # A restart keeps the mail (the volume) and the users.
    podman("restart", "-t", "10", name, timeout=60)
    wait_healthy(name)
    assert inbox_subjects(ports["imap"]) == want

    # SIGTERM stops it at once, well within `stop -t 10`.
    t0 = time.monotonic()
    podman("stop", "-t", "10", name, timeout=30)
    elapsed = time.monotonic() - t0
    print(f"podman stop -t 10: {elapsed:.2f} s")
    assert elapsed < 5, f"podman stop took {elapsed:.1f}s"
    code = podman("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
    assert code == b"0", logs(name)


def test_mounted_config_file_wins_over_the_images(engine, tmp_path):
    name = f"pillarbox-test-cfg-{TAG}"
    volume = f"pillarbox-test-cfg-{TAG}"
    engine["volumes"].append(volume)
    imap_port, pop3_port = free_port(), free_port()
    cfg = tmp_path / "pillarbox.toml"
    cfg.write_text(f"""[server]
data_dir = "/data"
[imap]
listen = ["127.0.0.1:{imap_port}"]
tls_listen = []
[pop3]
listen = []
tls_listen = []
[lmtp]
listen = []
[smtp]
listen = []
""")
    os.chmod(cfg, 0o644)
    env = {"PILLARBOX_USERS": "alice:Wonder-land7", "PILLARBOX_POP3_LISTEN": f"127.0.0.1:{pop3_port}"}
    start(engine, name, volume, env, mounts=[f"{cfg}:/etc/pillarbox/pillarbox.toml:ro"])
    wait_healthy(name)
    assert inbox_subjects(imap_port) == []
    pop = poplib.POP3("127.0.0.1", pop3_port, timeout=10)
    pop.quit()
    log = logs(name)
    assert f'imap.listen = ["127.0.0.1:{imap_port}"] (from /etc/pillarbox/pillarbox.toml)' in log, log
    assert "(from PILLARBOX_POP3_LISTEN, overrides the file)" in log, log
    # Only loopback listeners and no TLS port: no certificate is made.
    assert "no certificate" in log, log
    assert podman("exec", name, "test", "-e", "/data/tls/cert.pem", check=False).returncode != 0
    podman("stop", "-t", "10", name, timeout=30)


def test_build_context_leaves_out_what_dockerignore_names(engine, tmp_path):
    # The real engine's reading of .dockerignore, on the repository itself.
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {BASE}\nCOPY . /ctx\n"
                          "RUN cd /ctx && ls -A > /listing && ls -A docker >> /listing\n"
                          "CMD [\"cat\", \"/listing\"]\n")
    tag = f"localhost/pillarbox-test-context:{TAG}"
    engine["images"].append(tag)
    podman("build", "--network", "host", "-f", str(dockerfile), "-t", tag, SOURCE_DIR, timeout=600)
    names = set(podman("run", "--rm", "--network", "host", tag).stdout.decode().split())
    assert {"CMakeLists.txt", "docker", "server", "entrypoint.sh", "pillarbox.toml"} <= names, names
    assert not {n for n in names if n.startswith("build") or n in (".git", "data", "node_modules", "certs",
                                                                    "users")}, names


def test_postfix_image_writes_its_configuration(engine, tmp_path):
    tag = f"localhost/pillarbox-test-postfix:{TAG}"
    engine["images"].append(tag)
    r = podman("build", "--format", "docker", "--network", "host", "--build-arg", f"BASE={BASE}", "-t", tag,
               os.path.join(SOURCE_DIR, "docker", "postfix"), timeout=600, check=False)
    if r.returncode != 0 and b"Temporary failure" in r.stdout + r.stderr:
        pytest.skip("SKIPPED: the package archive is not reachable for the Postfix image")
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")[-3000:]
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(certs / "key.pem"), "-out", str(certs / "cert.pem"),
                    "-days", "2", "-subj", "/CN=mail.example.org"], check=True, capture_output=True)
    out = podman("run", "--rm", "--network", "host", "-e", "MAIL_DOMAIN=example.org",
                 "-v", f"{certs}:/etc/postfix/certs:ro", tag, "sh", "-c",
                 "/usr/local/bin/postfix-entrypoint true && postconf -n && postconf -M && postconf -P && id postfix",
                 timeout=120).stdout.decode()
    assert "myhostname = mail.example.org" in out
    assert "virtual_mailbox_maps = socketmap:unix:/run/pillarbox/socketmap:mailbox" in out
    assert "virtual_transport = lmtp:inet:pillarbox-team:24" in out
    assert "smtpd_tls_cert_file = /etc/postfix/certs/cert.pem" in out
    assert "submission/inet/smtpd_sasl_path = /run/pillarbox/auth" in out
    assert "submission/inet/smtpd_sasl_type = dovecot" in out
    # Not chrooted: smtpd must reach the sockets in the shared volume.
    for line in out.splitlines():
        if line.startswith(("smtp ", "submission ")) and " inet " in line:
            assert line.split()[4] == "n", line
    assert "6110" in out.splitlines()[-1]
