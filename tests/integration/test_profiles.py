"""Capability profiles against the real binary: imap.profile and
imap.capabilities (global and per user), pop3.capabilities. Turned-off
extensions are really off: their commands are refused."""

import imaplib
import poplib
import subprocess

from conftest import BIN, free_port, message, read_line

USER, PASSWORD = "alice", "secret"


def raw(conn, name, *args):
    imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))
    try:
        return conn._simple_command(name, *args)
    except imaplib.IMAP4.error as e:
        text = str(e)
        return ("BAD" if " BAD " in text else "NO"), [text.encode()]


def test_rfc3501_profile_per_user(server):
    server.cli("user", "set", USER, "imap.profile=rfc3501")
    server.deliver(USER, message(subject="one"))
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    try:
        # Before login: the global profile (full).
        assert "MOVE" not in conn.capabilities
        assert "LITERAL+" in conn.capabilities
        typ, data = conn.login(USER, PASSWORD)
        assert typ == "OK"
        # After login the user's profile, announced in the LOGIN answer.
        assert data == [b"[CAPABILITY IMAP4rev1] Logged in"], data
        typ, data = conn.capability()
        assert data[-1] == b"IMAP4rev1"
        assert conn.select("INBOX")[0] == "OK"
        typ, data = raw(conn, "MOVE", "1", "Trash")
        assert typ == "BAD", data
        typ, data = raw(conn, "UID", "EXPUNGE", "1")
        assert typ == "BAD", data
        typ, data = raw(conn, "UID", "MOVE", "1", "Trash")
        assert typ == "BAD", data
        typ, data = raw(conn, "UNSELECT")
        assert typ == "BAD", data
        # What RFC 3501 has still works.
        assert conn.copy("1", "Trash")[0] == "OK"
        assert conn.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
        assert conn.expunge()[0] == "OK"
    finally:
        conn.logout()


def test_no_literal_plus_refuses_non_synchronizing_literals(make_server):
    srv = make_server(config={"imap": {"profile": "no-literal-plus"}})
    with srv.connect("imap") as sock:
        greeting = read_line(sock)
        assert b"LITERAL+" not in greeting
        # The literal's bytes follow at once, as a LITERAL+ client sends them.
        sock.sendall(b"a LOGIN {5+}\r\nalice secret\r\nb NOOP\r\n")
        assert read_line(sock).startswith(b"a BAD ")
        assert read_line(sock) == b"b OK NOOP completed.\r\n"
        # A synchronizing literal works.
        sock.sendall(b"c LOGIN {5}\r\n")
        assert read_line(sock).startswith(b"+ ")
        sock.sendall(b"alice secret\r\n")
        line = read_line(sock)
        assert line.startswith(b"c OK [CAPABILITY IMAP4rev1 IMAP4rev2 ID"), line
    conn = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    assert "LITERAL+" not in conn.capabilities
    assert conn.login(USER, PASSWORD)[0] == "OK"
    conn.logout()


def test_pop3_capability_removals(make_server):
    srv = make_server(config={"pop3": {"capabilities": "-UIDL -TOP -PIPELINING"}})
    srv.deliver(USER, message(subject="one"))
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    try:
        caps = pop.capa()
        assert "UIDL" not in caps and "TOP" not in caps and "PIPELINING" not in caps
        assert "USER" in caps
        pop.user(USER)
        pop.pass_(PASSWORD)
        for call in (lambda: pop.uidl(), lambda: pop.top(1, 0)):
            try:
                call()
                raise AssertionError("expected -ERR")
            except poplib.error_proto as e:
                assert str(e).startswith("b'-ERR"), e
        assert pop.stat()[0] == 1
    finally:
        pop.quit()


def test_bad_profile_is_a_config_error(make_server):
    srv = make_server(start=False)
    srv.sections["imap"]["profile"] = "bogus"
    srv.write_config()
    p = subprocess.run([BIN, "serve", "--config", srv.config_path], capture_output=True, timeout=30)
    assert p.returncode != 0
    assert b"imap.profile" in p.stderr + p.stdout


def caps(conn):
    return conn.capability()[1][0].decode().split()


def test_profile_per_listener(make_server):
    srv = make_server(start=False)
    plain, pop_plain = free_port(), free_port()
    srv.sections["imap"]["listen"].append(f"127.0.0.1:{plain}")
    srv.sections["imap"]["listener_profiles"] = [f"127.0.0.1:{plain}=rfc3501"]
    srv.sections["pop3"]["listen"].append(f"127.0.0.1:{pop_plain}")
    srv.sections["pop3"]["listener_capabilities"] = [f"127.0.0.1:{pop_plain}=-UIDL -TOP"]
    srv.write_config()
    srv.start()
    srv.deliver(USER, message(subject="one"))

    # The second port acts like a plain IMAP4rev1 server, before and after login.
    conn = imaplib.IMAP4("127.0.0.1", plain, timeout=10)
    assert "LITERAL+" not in conn.capabilities and "IDLE" not in conn.capabilities
    conn.login(USER, PASSWORD)
    assert "MOVE" not in caps(conn) and "QRESYNC" not in caps(conn)
    conn.select("INBOX")
    assert raw(conn, "MOVE", "1", "Trash")[0] == "BAD"
    conn.logout()
    # The first port is the full server.
    conn = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    assert "MOVE" in caps(conn) and "QRESYNC" in caps(conn)
    conn.logout()
    # A user's own profile wins over the listener's.
    srv.cli("user", "set", USER, "imap.profile=full")
    conn = imaplib.IMAP4("127.0.0.1", plain, timeout=10)
    conn.login(USER, PASSWORD)
    assert "MOVE" in caps(conn)
    conn.logout()

    pop = poplib.POP3("127.0.0.1", pop_plain, timeout=10)
    assert "UIDL" not in pop.capa() and "TOP" not in pop.capa()
    pop.user(USER)
    pop.pass_(PASSWORD)
    try:
        pop.uidl()
        assert False, "UIDL answered"
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR")
    pop.quit()
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    assert "UIDL" in pop.capa()
    pop.quit()


def test_listener_profile_must_name_a_listener(make_server):
    srv = make_server(start=False)
    srv.sections["imap"]["listener_profiles"] = ["127.0.0.1:9=rfc3501"]
    srv.write_config()
    result = srv.cli("check-config", check=False)
    assert result.returncode != 0
    assert "imap.listener_profiles" in result.stderr.decode()
