"""POP3 against the real binary: Python poplib, curl, fetchmail and mpop.

Each test starts its own server (conftest.make_server) on 127.0.0.1.
"""

import base64
import imaplib
import os
import poplib
import re
import socket
import ssl
import subprocess

import pytest

from conftest import message, require_program, unverified_ssl_context, wait_for


def pop(server):
    return poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=20)


def login(server, user="alice", password="secret"):
    p = pop(server)
    p.user(user)
    p.pass_(password)
    return p


def drop(p):
    """Ends the connection without QUIT (poplib's file object holds the
    socket open, so shut it down first)."""
    p.sock.shutdown(socket.SHUT_RDWR)
    p.sock.close()
    p.file.close()


def views(server, user="alice"):
    return server.cli("views", user).stdout.decode()


def inbox_counts(server):
    """(messages in INBOX, of which visible to POP3) from `pillarbox views`."""
    m = re.search(r"INBOX: (\d+) messages?, (\d+) visible to POP3", views(server))
    assert m, views(server)
    return int(m.group(1)), int(m.group(2))


def imap_counts(server, mailboxes):
    """Message counts per mailbox seen through IMAP (the cross-check of what
    POP3 did); a failed connection or login fails the test."""
    m = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    try:
        m.login("alice", "secret")
        counts = {}
        for name in mailboxes:
            typ, data = m.select(f'"{name}"', readonly=True)
            assert typ == "OK", (name, data)
            counts[name] = int(data[0])
    finally:
        m.logout()
    return counts


def deliver_n(server, n, prefix="msg"):
    for i in range(n):
        server.deliver("alice", message(subject=f"{prefix} {i + 1}", body=f"Body {i + 1}.\r\n"))


# --- poplib ------------------------------------------------------------------


def test_poplib_user_pass_and_full_session(server):
    deliver_n(server, 3)
    p = pop(server)
    assert p.getwelcome() == b"+OK Pillarbox ready."
    caps = p.capa()
    for cap in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE",
                "IMPLEMENTATION"):
        assert cap in caps, caps
    assert caps["SASL"] == ["PLAIN", "LOGIN"]
    assert caps["EXPIRE"] == ["NEVER"]
    assert "STLS" in caps  # the server generated a certificate
    p.user("alice")
    assert p.pass_("secret") == b"+OK Logged in."
    count, size = p.stat()
    assert count == 3
    resp, listing, _ = p.list()
    sizes = [int(line.split()[1]) for line in listing]
    assert sum(sizes) == size
    resp, uidls, _ = p.uidl()
    uids = [line.split()[1] for line in uidls]
    assert all(re.fullmatch(rb"[0-9a-f]{16}", u) for u in uids)
    assert len(set(uids)) == 3
    for i in range(1, 4):
        resp, lines, octets = p.retr(i)
        assert resp == b"+OK %d octets" % sizes[i - 1]
        # LIST sizes are the exact octets of the message with CRLF endings.
        assert sum(len(line) + 2 for line in lines) == sizes[i - 1]
        assert b"Subject: msg %d" % i in lines
    resp, lines, _ = p.top(2, 0)
    assert lines[-1] == b"" and b"Body 2." not in lines
    assert p.noop() == b"+OK"
    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.retr(1)
    assert p.rset() == b"+OK"
    assert p.dele(2).startswith(b"+OK")
    assert p.quit() == b"+OK Logging out, messages deleted."

    p = login(server)
    assert p.stat()[0] == 2
    resp, uidls2, _ = p.uidl()
    assert [line.split()[1] for line in uidls2] == [uids[0], uids[2]]
    p.quit()


def test_poplib_wrong_password_and_unknown_user(server):
    p = pop(server)
    p.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("wrong")
    p.user("nobody")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("secret")
    p.user("alice")
    p.pass_("secret")
    p.quit()


def test_poplib_stls(server):
    p = pop(server)
    p.stls(context=unverified_ssl_context())
    assert "STLS" not in p.capa()
    p.user("alice")
    p.pass_("secret")
    assert p.stat() == (0, 0)
    p.quit()


def test_poplib_pop3s(server):
    deliver_n(server, 1)
    p = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], context=unverified_ssl_context(),
                        timeout=20)
    assert "STLS" not in p.capa()
    p.user("alice")
    p.pass_("secret")
    assert p.stat()[0] == 1
    p.quit()


def test_poplib_sasl_plain_and_login(server):
    p = pop(server)
    ir = base64.b64encode(b"\0alice\0secret").decode()
    assert p._shortcmd("AUTH PLAIN " + ir) == b"+OK Logged in."
    p.quit()

    p = pop(server)
    assert p._shortcmd("AUTH PLAIN") == b"+ "
    assert p._shortcmd(ir) == b"+OK Logged in."
    p.quit()

    p = pop(server)
    assert p._shortcmd("AUTH LOGIN") == b"+ " + base64.b64encode(b"Username:")
    assert p._shortcmd(base64.b64encode(b"alice").decode()) == b"+ " + base64.b64encode(b"Password:")
    assert p._shortcmd(base64.b64encode(b"secret").decode()) == b"+OK Logged in."
    p.quit()

    p = pop(server)
    assert p._shortcmd("AUTH PLAIN") == b"+ "
    with pytest.raises(poplib.error_proto, match="cancelled"):
        p._shortcmd("*")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0nope").decode())
    p.quit()


def test_second_login_is_in_use_until_the_first_ends(server):
    first = login(server)
    second = pop(server)
    second.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_("secret")
    # The lock shows in the live-session table.
    out = views(server)
    assert "pop3" in out and "holds" in out, out
    drop(first)  # without QUIT: the lock dies with the connection

    def relogin():
        try:
            second.user("alice")
            second.pass_("secret")
            return True
        except poplib.error_proto:
            return False

    wait_for(relogin, what="the lock to be released")
    second.quit()


def test_disconnect_without_quit_applies_nothing(server):
    deliver_n(server, 2)
    p = login(server)
    p.dele(1)
    p.dele(2)
    drop(p)
    p = wait_for(lambda: _try_login(server), what="login after the drop")
    assert p.stat()[0] == 2
    p.quit()


def _try_login(server):
    try:
        return login(server)
    except poplib.error_proto:
        return None


def test_delivery_during_session_is_in_the_next_one(server):
    deliver_n(server, 1)
    p = login(server)
    server.deliver("alice", message(subject="late"))
    assert p.stat()[0] == 1
    p.quit()
    p = login(server)
    assert p.stat()[0] == 2
    p.quit()


def test_dot_stuffing_and_missing_final_crlf(server):
    body = ".leading dot\r\n..two dots\r\n.\r\nlast line without end"
    server.deliver("alice", message(subject="dots", body=body))
    p = login(server)
    resp, lines, octets = p.retr(1)
    assert lines[-4:] == [b".leading dot", b"..two dots", b".", b"last line without end"]
    p.quit()


def test_large_message_streams(server):
    big = message(subject="big", body="".join(f".{i:08d} " + "x" * 70 + "\r\n" for i in range(70000)))
    server.deliver("alice", big)
    p = login(server)
    count, size = p.stat()
    resp, lines, octets = p.retr(1)
    data = b"\r\n".join(lines) + b"\r\n"
    assert data == big.encode()
    assert size == len(big)
    p.quit()


def test_pipelined_commands(server):
    deliver_n(server, 2)
    s = server.connect("pop3")
    f = s.makefile("rb")
    assert f.readline() == b"+OK Pillarbox ready.\r\n"
    s.sendall(b"USER alice\r\nPASS secret\r\nSTAT\r\nUIDL 2\r\nNOOP\r\nQUIT\r\n")
    assert f.readline() == b"+OK\r\n"
    assert f.readline() == b"+OK Logged in.\r\n"
    assert f.readline().startswith(b"+OK 2 ")
    assert re.fullmatch(rb"\+OK 2 [0-9a-f]{16}\r\n", f.readline())
    assert f.readline() == b"+OK\r\n"
    assert f.readline() == b"+OK Logging out.\r\n"
    assert f.readline() == b""
    s.close()


def test_uidl_stable_across_restart(server):
    deliver_n(server, 3)
    p = login(server)
    before = p.uidl()[1]
    p.quit()
    server.restart()
    p = login(server)
    assert p.uidl()[1] == before
    p.quit()


def test_plaintext_refused_when_not_allowed(make_server):
    srv = make_server(config={"auth": {"plaintext": "never"}})
    p = pop(srv)
    assert "USER" not in p.capa() and "SASL" not in p.capa()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Plaintext"):
        p.user("alice")
    p.quit()


def test_capa_expire_and_login_delay(make_server):
    srv = make_server(config={"retention": {"expire_after": ["INBOX=30"]},
                              "pop3": {"login_delay": "60s"}})
    p = pop(srv)
    caps = p.capa()
    assert caps["EXPIRE"] == ["30"]
    assert caps["LOGIN-DELAY"] == ["60"]
    p.user("alice")
    p.pass_("secret")
    p.quit()
    p = pop(srv)
    p.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[LOGIN-DELAY\]"):
        p.pass_("secret")
    p.quit()


# --- delete modes, observed through `pillarbox views` and IMAP -----------------


@pytest.mark.parametrize("mode", ["expunge", "hide", "move:Archive", "deny"])
def test_delete_modes(make_server, mode):
    srv = make_server(config={"pop3": {"delete_mode": mode}})
    deliver_n(srv, 2)
    p = login(srv)
    uidl1 = p.uidl(1).split()[2]
    if mode == "deny":
        with pytest.raises(poplib.error_proto, match=r"\[SYS/PERM\]"):
            p.dele(1)
        assert p.quit() == b"+OK Logging out."
    else:
        p.dele(1)
        assert p.quit() == b"+OK Logging out, messages deleted."

    total, visible = inbox_counts(srv)
    expected = {"expunge": (1, 1), "hide": (2, 1), "move:Archive": (1, 1), "deny": (2, 2)}[mode]
    assert (total, visible) == expected, views(srv)
    out = views(srv)
    if mode == "hide":
        assert "hidden from POP3" in out
    if mode == "move:Archive":
        assert "move:Archive" in out

    # The next POP3 session sees what the mode left.
    p = login(srv)
    assert p.stat()[0] == expected[1]
    assert (uidl1 in [line.split()[1] for line in p.uidl()[1]]) == (mode == "deny")
    p.quit()

    counts = imap_counts(srv, ["INBOX", "Archive"])
    assert counts["INBOX"] == expected[0]
    assert counts["Archive"] == (1 if mode == "move:Archive" else 0)


def test_per_user_delete_mode(make_server):
    srv = make_server()
    srv.cli("user", "set", "alice", "pop3.delete_mode=hide")
    deliver_n(srv, 2)
    p = login(srv)
    p.dele(2)
    p.quit()
    assert inbox_counts(srv) == (2, 1)


# --- curl ----------------------------------------------------------------------


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "30", *args], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_curl_list_retr_dele(server):
    require_program("curl")
    deliver_n(server, 2)
    base = f"pop3://127.0.0.1:{server.ports['pop3']}"
    listing = curl("-u", "alice:secret", base + "/")
    lines = listing.decode().strip().split("\r\n")
    assert [l.split()[0] for l in lines] == ["1", "2"]
    msg = curl("-u", "alice:secret", base + "/2")
    assert b"Subject: msg 2" in msg
    assert len(msg) == int(lines[1].split()[1])
    curl("-u", "alice:secret", "-X", "DELE", "-I", base + "/1")
    listing = curl("-u", "alice:secret", base + "/")
    assert listing.decode().strip().split("\r\n") == [lines[1].replace("2 ", "1 ", 1)]


def test_curl_pop3s_and_stls(server):
    require_program("curl")
    deliver_n(server, 1)
    listing = curl("-k", "-u", "alice:secret", f"pop3s://127.0.0.1:{server.ports['pop3s']}/")
    assert listing.startswith(b"1 ")
    listing = curl("-k", "--ssl-reqd", "-u", "alice:secret",
                   f"pop3://127.0.0.1:{server.ports['pop3']}/")
    assert listing.startswith(b"1 ")
    # SASL PLAIN through curl's login options.
    listing = curl("-u", "alice:secret", "--login-options", "AUTH=PLAIN",
                   f"pop3://127.0.0.1:{server.ports['pop3']}/")
    assert listing.startswith(b"1 ")


# --- fetchmail -------------------------------------------------------------------


def run_fetchmail(server, tmp_path, keep):
    rc = tmp_path / "fetchmailrc"
    out = tmp_path / "fetched"
    rc.write_text(
        "set no bouncemail\n"
        f"poll 127.0.0.1 with proto POP3 port {server.ports['pop3']} uidl\n"
        f'  user "alice" there with password "secret" is "{os.environ.get("USER", "root")}" here\n'
        f"  options {'keep' if keep else 'nokeep'} sslproto ''\n"
        f'  mda "/bin/sh -c \'cat >> {out}; echo ==END== >> {out}\'"\n')
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--idfile", str(tmp_path / "ids"), "-N",
                        "--nosyslog", "-v"], capture_output=True, env=env, timeout=120)
    fetched = out.read_text().count("==END==") if out.exists() else 0
    return r, fetched


def test_fetchmail_keep_uses_uidl(server, tmp_path):
    require_program("fetchmail")
    deliver_n(server, 2)
    r, fetched = run_fetchmail(server, tmp_path, keep=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert fetched == 2
    # A second run fetches nothing new: the UIDLs are remembered.
    r, fetched = run_fetchmail(server, tmp_path, keep=True)
    assert r.returncode == 1, r.stdout.decode() + r.stderr.decode()  # 1: no mail
    assert fetched == 2
    server.deliver("alice", message(subject="third"))
    r, fetched = run_fetchmail(server, tmp_path, keep=True)
    assert r.returncode == 0
    assert fetched == 3
    assert inbox_counts(server) == (3, 3)


@pytest.mark.parametrize("mode,expected", [("expunge", (0, 0)), ("hide", (2, 0))])
def test_fetchmail_without_keep(make_server, tmp_path, mode, expected):
    require_program("fetchmail")
    srv = make_server(config={"pop3": {"delete_mode": mode}})
    deliver_n(srv, 2)
    r, fetched = run_fetchmail(srv, tmp_path, keep=False)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert fetched == 2
    assert inbox_counts(srv) == expected, views(srv)
    counts = imap_counts(srv, ["INBOX"])
    assert counts["INBOX"] == expected[0]
    r, fetched = run_fetchmail(srv, tmp_path, keep=False)
    assert r.returncode == 1 and fetched == 2


# --- mpop ------------------------------------------------------------------------


def run_mpop(server, tmp_path, auth, keep=True, tls=False, uidls="uidls"):
    conf = tmp_path / f"mpoprc-{auth}"
    mbox = tmp_path / "mbox"
    lines = [
        "account default",
        "host 127.0.0.1",
        f"port {server.ports['pop3']}",
        "user alice",
        "password secret",
        f"auth {auth}",
        f"tls {'on' if tls else 'off'}",
    ]
    if tls:
        lines += ["tls_starttls on", "tls_certcheck off"]
    lines += [f"delivery mbox {mbox}", f"uidls_file {tmp_path / uidls}",
              f"keep {'on' if keep else 'off'}", ""]
    conf.write_text("\n".join(lines))
    conf.chmod(0o600)
    mbox.touch()
    r = subprocess.run(["mpop", "-C", str(conf), "-q"], capture_output=True, timeout=120)
    return r, mbox.read_bytes().count(b"\nFrom ") + mbox.read_bytes().startswith(b"From ")


def test_mpop(server, tmp_path):
    require_program("mpop")
    deliver_n(server, 2)
    r, n = run_mpop(server, tmp_path, "plain")
    assert r.returncode == 0, r.stderr.decode()
    assert n == 2
    r, n = run_mpop(server, tmp_path, "user")
    assert r.returncode == 0, r.stderr.decode()
    assert n == 2  # UIDLs remembered: nothing fetched twice
    # STLS, AUTH LOGIN, and no keep: expunge mode removes them.
    r, n = run_mpop(server, tmp_path, "login", keep=False, tls=True, uidls="uidls-2")
    assert r.returncode == 0, r.stderr.decode()
    assert n == 4
    assert inbox_counts(server) == (0, 0)


# --- connection lifecycle -----------------------------------------------------------


def test_idle_timeout_applies_nothing(make_server):
    srv = make_server(config={"pop3": {"idle_timeout": "1s"}})
    deliver_n(srv, 1)
    s = srv.connect("pop3", timeout=15)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"USER alice\r\nPASS secret\r\nDELE 1\r\n")
    assert f.readline() == b"+OK\r\n"
    assert f.readline() == b"+OK Logged in.\r\n"
    assert f.readline() == b"+OK Marked to be deleted.\r\n"
    assert f.readline() == b"-ERR Disconnected for inactivity.\r\n"
    assert f.readline() == b""
    s.close()
    p = wait_for(lambda: _try_login(srv), what="login after the timeout")
    assert p.stat()[0] == 1
    p.quit()


def test_drop_during_large_retr(server):
    server.deliver("alice", message(subject="big", body=("y" * 998 + "\r\n") * 20000))
    s = server.connect("pop3")
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice\r\nPASS secret\r\nRETR 1\r\n")
    assert f.readline() == b"+OK\r\n"
    assert f.readline() == b"+OK Logged in.\r\n"
    assert f.readline().endswith(b" octets\r\n")
    f.read(100000)  # part of it, then hang up
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    p = wait_for(lambda: _try_login(server), what="login after the drop")
    assert p.stat()[0] == 1
    p.quit()


def test_shutdown_says_goodbye(server):
    s = server.connect("pop3")
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice\r\nPASS secret\r\n")
    assert f.readline() == b"+OK\r\n"
    assert f.readline() == b"+OK Logged in.\r\n"
    assert server.stop() == 0
    assert f.readline() == b"-ERR [SYS/TEMP] Server shutting down.\r\n"
    s.close()
