"""Logs that cannot be forged: user names, HELO names, ID strings and other
client-supplied values with line feeds, carriage returns, NUL or escape
bytes are logged escaped, never as raw bytes that start a new line."""

import base64

from conftest import read_line, wait_for

FORGED = "2026-01-01T00:00:00.000 info imap session 1: admin logged in from 10.6.6.6"


def read_log(srv):
    with open(srv.log_path, "rb") as f:
        return f.read()


def assert_not_forged(raw):
    assert b"\x00" not in raw
    assert b"\r" not in raw
    assert b"\x1b" not in raw
    for line in raw.decode(errors="replace").split("\n"):
        assert not line.startswith(FORGED[:10]), line
        assert not line.startswith("FORGED"), line


def test_imap_user_name_with_a_line_feed_cannot_forge_a_login(make_server):
    srv = make_server()
    s = srv.connect("imap")
    assert read_line(s).startswith(b"* OK")
    user = ("x\r\n" + FORGED).encode()
    # A non-synchronizing literal carries the CR LF inside the user name.
    s.sendall(b"a1 LOGIN {%d+}\r\n" % len(user) + user + b" wrong\r\n")
    assert read_line(s).startswith(b"a1 NO")
    user2 = ("y\n" + FORGED + "\x1b[2J").encode()
    s.sendall(b"a2 LOGIN {%d+}\r\n" % len(user2) + user2 + b" wrong\r\n")
    assert read_line(s).startswith(b"a2 NO")
    # ID strings go to the log too.
    field = b"v\nFORGED id line"
    s.sendall(b'a3 ID ("name" {%d+}\r\n' % len(field) + field + b")\r\n")
    while not (line := read_line(s)).startswith(b"a3 "):
        assert line
    s.sendall(b"a4 LOGOUT\r\n")
    s.close()
    wait_for(lambda: b"client ID" in read_log(srv), what="ID logged")
    raw = read_log(srv)
    # The attempts are there, escaped.
    assert b"user=x\\x0d\\x0a2026-01-01T00:00:00.000\\x20info\\x20imap\\x20session\\x201:\\x20admin" in raw
    assert b"user=y\\x0a2026" in raw
    assert b"\\x1b[2J" in raw
    assert b"name=v\\x0aFORGED id line" in raw
    assert_not_forged(raw)


def test_smtp_helo_and_pop3_user_with_control_bytes(make_server):
    srv = make_server()
    s = srv.connect("smtp")
    assert read_line(s).startswith(b"220")
    s.sendall(b"EHLO a\x00b\rFORGED helo\x1b[31m\r\n")
    while not read_line(s).startswith(b"250 "):
        pass
    s.sendall(b"MAIL FROM:<x@example.org>\r\nRCPT TO:<nobody\x01@example.org>\r\nQUIT\r\n")
    while (line := read_line(s)) and not line.startswith(b"221"):
        pass
    s.close()
    p = srv.connect("pop3")
    assert read_line(p).startswith(b"+OK")
    p.sendall(b"USER bad\x00user\x1b[2J\r\nPASS wrong\r\n")
    assert read_line(p).startswith(b"+OK")
    assert read_line(p).startswith(b"-ERR")
    # SASL carries a line feed in the user name.
    creds = base64.b64encode(b"\x00sasl\nFORGED pop3\x00wrong")
    p.sendall(b"AUTH PLAIN " + creds + b"\r\n")
    assert read_line(p).startswith(b"-ERR")
    p.sendall(b"QUIT\r\n")
    read_line(p)
    p.close()
    wait_for(lambda: b"user=sasl" in read_log(srv), what="POP3 failure logged")
    raw = read_log(srv)
    # The transcript shows the HELO line, escaped.
    assert b"C: EHLO a\\x00b\\x0dFORGED helo\\x1b[31m" in raw
    assert b"user=bad\\x00user\\x1b[2J" in raw
    assert b"user=sasl\\x0aFORGED\\x20pop3" in raw
    assert_not_forged(raw)
