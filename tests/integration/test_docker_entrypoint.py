"""The container entry point (docker/entrypoint.sh), run directly: environment
to configuration, users, seeding, and loud failures for a bad volume or an
unreadable TLS key."""

import imaplib
import os
import subprocess
import time

import pytest

from conftest import BIN, SOURCE_DIR, free_port, message, wait_for

ENTRYPOINT = os.path.join(SOURCE_DIR, "docker", "entrypoint.sh")


def base_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILLARBOX_")}
    ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s", "lmtp", "smtp")}
    env.update({
        "PILLARBOX": BIN,
        "PILLARBOX_SERVER_DATA_DIR": str(tmp_path / "data"),
        "PILLARBOX_IMAP_LISTEN": f"127.0.0.1:{ports['imap']}",
        "PILLARBOX_IMAP_TLS_LISTEN": f"127.0.0.1:{ports['imaps']}",
        "PILLARBOX_POP3_LISTEN": f"127.0.0.1:{ports['pop3']}",
        "PILLARBOX_POP3_TLS_LISTEN": f"127.0.0.1:{ports['pop3s']}",
        "PILLARBOX_LMTP_LISTEN": f"127.0.0.1:{ports['lmtp']}",
        "PILLARBOX_SMTP_LISTEN": f"127.0.0.1:{ports['smtp']}",
        "PILLARBOX_TLS_DIR": str(tmp_path / "no-mounted-tls"),
    })
    env.update(extra)
    return env, ports


def run(env, *cmd, check=True):
    r = subprocess.run(["sh", ENTRYPOINT, *cmd], env=env, capture_output=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r


def test_users_are_created_then_updated(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_USERS="alice:first,bob:$6$salt$" + "x" * 86)
    r = run(env, BIN, "user", "list")
    out = r.stdout.decode()
    assert "alice" in out and "bob" in out
    assert "effective configuration" in r.stdout.decode() + r.stderr.decode()
    # A second start with a new password updates alice instead of failing.
    env["PILLARBOX_USERS"] = "alice:second"
    run(env, BIN, "user", "list")


def test_bad_users_value_is_refused(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_USERS="justaname")
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"NAME:PASSWORD" in r.stderr


def test_seed_dir_and_serve(tmp_path):
    seed = tmp_path / "seed"
    (seed / "alice" / "Projects" / "Alpha").mkdir(parents=True)
    (seed / "alice" / "one.eml").write_text(message("seed one"))
    (seed / "alice" / "two.eml").write_text(message("seed two"))
    (seed / "alice" / "Projects" / "Alpha" / "three.eml").write_text(message("seed three"))
    maildir = seed / "alice" / "Old"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.host").write_text(message("maildir new"))
    (maildir / ".Sub" / "cur").mkdir(parents=True)
    (maildir / ".Sub" / "cur" / "2.host:2,S").write_text(message("maildir sub"))

    env, ports = base_env(tmp_path, PILLARBOX_USERS="alice:secret", PILLARBOX_SEED_DIR=str(seed))
    proc = subprocess.Popen(["sh", ENTRYPOINT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def login():
            try:
                imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=5)
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
                return None
            imap.login("alice", "secret")
            return imap

        imap = wait_for(login, timeout=30, what="the server started by the entry point")
        counts = {}
        for box in ("INBOX", "Projects/Alpha", "Old", "Old/Sub"):
            typ, data = imap.select(f'"{box}"', readonly=True)
            assert typ == "OK", (box, data)
            counts[box] = int(data[0])
        assert counts == {"INBOX": 2, "Projects/Alpha": 1, "Old": 1, "Old/Sub": 1}
        imap.logout()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert "seeded 5 messages" in out
    assert proc.returncode == 0, out
    # Seeding happens once: a second start does not load the mail again.
    r = run(env, BIN, "user", "list")
    assert b"seeded" not in r.stdout


def test_unwritable_data_dir_fails_loudly(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env, _ = base_env(tmp_path, PILLARBOX_SERVER_DATA_DIR=str(blocker / "data"))
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"not writable" in r.stderr


def test_unreadable_tls_key_fails_loudly(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_TLS_CERT=str(tmp_path / "missing-cert.pem"),
                      PILLARBOX_TLS_KEY=str(tmp_path / "missing-key.pem"))
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"cannot be read" in r.stderr


def test_invalid_configuration_stops_the_start(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_POP3_DELETE_MODE="shred")
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"pop3.delete_mode" in r.stdout + r.stderr
