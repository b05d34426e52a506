"""Pillarbox as a test server for mail-client developers: `serve --ephemeral`,
the [dev] keys, seed/reset/wait, used through contrib/pytest_pillarbox.py as
a client developer would."""

import imaplib
import json
import os
import poplib
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time

import pytest

from conftest import BIN, SOURCE_DIR

os.environ.setdefault("PILLARBOX_BIN", os.path.abspath(BIN))
sys.path.insert(0, os.path.join(SOURCE_DIR, "contrib"))

from pytest_pillarbox import (  # noqa: E402,F401
    PillarboxError, PillarboxServer, pillarbox_server, pillarbox_session_server)

MESSAGE = (b"From: Bob <bob@example.org>\r\nTo: alice@example.org\r\n"
           b"Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nSubject: Seeded\r\n\r\nHello.\r\n")


def imap_login(srv, user="alice", password="secret"):
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login(user, password)
    return imap


def test_ready_line_shape_and_files():
    srv = PillarboxServer()
    try:
        assert set(srv.ports) == {"imap", "imaps", "pop3", "pop3s", "lmtp", "smtp", "http"}
        assert all(isinstance(p, int) and p > 0 for p in srv.ports.values())
        assert len(set(srv.ports.values())) == 7
        assert re.fullmatch(r"[0-9a-f]{64}", srv.token)
        assert os.path.isdir(srv.data_dir)
        # The token works; the API refuses without it.
        assert srv.api("GET", "/api/v1/users")[1] == {"users": []}
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ephemeral_dir_removed_on_signal(sig):
    srv = PillarboxServer()
    srv.create_user("alice", "secret")
    srv.seed("alice", MESSAGE)
    assert os.path.isdir(srv.data_dir)
    srv.proc.send_signal(sig)
    assert srv.proc.wait(10) == 0
    assert not os.path.exists(srv.data_dir)
    srv.stop()


def test_ready_file_and_plain_line(tmp_path):
    ready = tmp_path / "ready.json"
    srv = PillarboxServer(args=["--ready-file", str(ready)])
    try:
        on_disk = json.loads(ready.read_text())
        assert on_disk == {"ports": srv.ports, "token": srv.token, "data_dir": srv.data_dir}
        assert list(on_disk) == ["ports", "token", "data_dir"]
    finally:
        srv.stop()


def test_seed_then_read_with_imaplib(pillarbox_server):
    srv = pillarbox_server
    srv.create_user("alice", "secret")
    out = srv.seed("alice", MESSAGE, flags=["\\Seen"], keywords=["$Label1"],
                   internaldate="2026-01-02T03:04:05Z")
    assert out["uid"] == 1 and out["uidl"]
    srv.seed("alice", MESSAGE.replace(b"Seeded", b"In Archive"), mailbox="Archive/2026")
    imap = imap_login(srv)
    try:
        typ, data = imap.select("INBOX")
        assert typ == "OK" and data == [b"1"]
        typ, data = imap.uid("FETCH", "1", "(FLAGS INTERNALDATE BODY.PEEK[])")
        meta = data[0][0].decode()
        assert "\\Seen" in meta and "$Label1" in meta
        assert '"02-Jan-2026 03:04:05 +0000"' in meta
        assert data[0][1] == MESSAGE
        typ, data = imap.select('"Archive/2026"')
        assert typ == "OK" and data == [b"1"]
    finally:
        imap.logout()


def test_seed_errors(pillarbox_server):
    srv = pillarbox_server
    with pytest.raises(PillarboxError) as e:
        srv.seed("nobody", MESSAGE)
    assert e.value.status == 404
    srv.create_user("alice", "secret")
    with pytest.raises(PillarboxError) as e:
        srv.seed("alice", MESSAGE, flags=["\\Bogus"])
    assert e.value.status == 400
    with pytest.raises(PillarboxError) as e:
        srv.seed("alice", b"\r\n\r\n")
    assert e.value.status == 400
    with pytest.raises(PillarboxError) as e:
        srv.api("POST", "/api/v1/users/alice/mailboxes/INBOX/messages", MESSAGE, "application/json")
    assert e.value.status == 415


def test_seed_takes_large_messages_other_routes_keep_small_limit(pillarbox_server):
    srv = pillarbox_server
    srv.create_user("alice", "secret")
    big = MESSAGE + (b"y" * 998 + b"\r\n") * 1000  # ~1 MB
    out = srv.seed("alice", big)
    assert out["uid"] == 1
    with pytest.raises(PillarboxError) as e:
        srv.api("POST", "/api/v1/users", {"name": "bob", "password": "x" * 100_000})
    assert e.value.status == 413


def test_reset_empties_server_and_closes_sessions(pillarbox_server):
    srv = pillarbox_server
    srv.create_user("alice", "secret")
    srv.seed("alice", MESSAGE)
    imap = imap_login(srv)
    imap.select("INBOX")
    imap.sock.settimeout(10)
    assert srv.reset() == {"users_deleted": 1, "users_kept": 0}
    # The live session was told goodbye.
    rest = b""
    while True:
        chunk = imap.sock.recv(4096)
        if not chunk:
            break
        rest += chunk
    assert b"* BYE" in rest
    assert srv.api("GET", "/api/v1/users")[1] == {"users": []}


def test_reset_keep_users(pillarbox_server):
    srv = pillarbox_server
    srv.create_user("alice", "secret")
    srv.seed("alice", MESSAGE)
    srv.seed("alice", MESSAGE, mailbox="Extra")
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    assert srv.reset(keep_users=True) == {"users_deleted": 1, "users_kept": 1}
    with pytest.raises((poplib.error_proto, EOFError, OSError)):
        pop.stat()
        pop.stat()
    imap = imap_login(srv)  # same password
    try:
        typ, data = imap.select("INBOX")
        assert data == [b"0"]
        typ, data = imap.list()
        assert not any(b"Extra" in line for line in data)
    finally:
        imap.logout()
    assert srv.seed("alice", MESSAGE)["uid"] == 1


def test_wait_returns_on_smtp_delivery(pillarbox_server):
    srv = pillarbox_server
    srv.create_user("alice", "secret")
    result = {}

    def waiter():
        t0 = time.monotonic()
        result["listing"] = srv.wait("alice", count=1, timeout=20, subject="over smtp")
        result["seconds"] = time.monotonic() - t0

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.3)
    # Something else arrives first: the wait keeps waiting.
    srv.seed("alice", MESSAGE)
    time.sleep(0.2)
    assert th.is_alive()
    with smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10) as smtp:
        smtp.sendmail("bob@example.org", ["alice@localhost"],
                      b"From: bob@example.org\r\nSubject: Over SMTP\r\n\r\nhi\r\n")
    th.join(20)
    assert not th.is_alive()
    listing = result["listing"]
    assert [m["subject"] for m in listing["messages"]] == ["Over SMTP"]
    assert listing["mailbox"]["name"] == "INBOX"
    assert result["seconds"] < 10


def test_wait_answers_at_once_and_times_out(pillarbox_server):
    srv = pillarbox_server
    srv.create_user("alice", "secret")
    srv.seed("alice", MESSAGE)
    assert len(srv.wait("alice", count=1, timeout=5)["messages"]) == 1
    t0 = time.monotonic()
    with pytest.raises(PillarboxError) as e:
        srv.wait("alice", count=2, timeout=1)
    assert e.value.status == 408
    assert 0.8 < time.monotonic() - t0 < 5
    with pytest.raises(PillarboxError) as e:
        srv.wait("alice", mailbox="Nope", timeout=1)
    assert e.value.status == 404


def test_deterministic_uidvalidity_and_internaldate():
    srv = PillarboxServer(env={"PILLARBOX_DEV_DETERMINISTIC": "true"})
    try:
        srv.create_user("alice", "secret")
        srv.seed("alice", MESSAGE)
        srv.seed("alice", MESSAGE, mailbox="Other")
        imap = imap_login(srv)
        try:
            imap.select("INBOX")
            assert imap.response("UIDVALIDITY")[1] == [b"1"]
            imap.select("Other")
            assert imap.response("UIDVALIDITY")[1] == [b"1"]
            typ, data = imap.fetch("1", "(INTERNALDATE)")
            assert b'"26-Nov-2026 10:00:00 +0100"' in data[0]
        finally:
            imap.logout()
    finally:
        srv.stop()
    assert "dev.deterministic is on" in srv.stderr_text()


def test_auto_create_users_on_login():
    srv = PillarboxServer(env={"PILLARBOX_DEV_AUTO_CREATE_USERS": "true"})
    try:
        imap = imap_login(srv, "carol", "pw1")
        imap.logout()
        # The password is now carol's.
        with pytest.raises(imaplib.IMAP4.error):
            imap_login(srv, "carol", "other")
        imap_login(srv, "carol", "pw1").logout()
        pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
        pop.user("dave")
        pop.pass_("pw2")
        pop.quit()
        names = sorted(u["name"] for u in srv.api("GET", "/api/v1/users")[1]["users"])
        assert names == ["carol", "dave"]
    finally:
        srv.stop()
    assert "dev.auto_create_users is on" in srv.stderr_text()


def test_auto_create_refused_on_remote_listener(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text(f'[server]\ndata_dir = "{tmp_path}/data"\n[imap]\nlisten = ["0.0.0.0:0"]\n'
                   '[dev]\nauto_create_users = true\n')
    r = subprocess.run([BIN, "check-config", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "dev.auto_create_users" in r.stderr and "imap.listen" in r.stderr
    r = subprocess.run([BIN, "serve", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "dev.allow_remote" in r.stderr
    cfg.write_text(cfg.read_text() + "allow_remote = true\n")
    r = subprocess.run([BIN, "check-config", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr


def test_cli_reset(make_server):
    srv = make_server(users={"alice": "secret"})
    srv.stop()
    r = subprocess.run([BIN, "reset", "--keep-users", "-c", srv.config_path],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert "1 users kept" in r.stdout
    r = subprocess.run([BIN, "reset", "--yes", "-c", srv.config_path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([BIN, "user", "list", "-c", srv.config_path], capture_output=True,
                       text=True, timeout=30)
    assert "alice" not in r.stdout
