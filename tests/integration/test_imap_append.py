"""APPEND extensions against the real binary, through imaplib's connection
with raw commands (imaplib has no MULTIAPPEND, literal8 or CATENATE):
MULTIAPPEND (RFC 3502), APPENDLIMIT (RFC 7889), BINARY (RFC 3516) and
CATENATE (RFC 4469)."""

import base64
import imaplib
import re

from conftest import message

USER, PASSWORD = "alice", "secret"


def login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    typ, _ = conn.login(USER, PASSWORD)
    assert typ == "OK"
    return conn


def command(conn, tag, *chunks):
    """Sends `chunks` in turn; after each chunk that ends in a synchronizing
    literal announcement, waits for the continuation. Returns every line up
    to the tagged one (literals included), bounded by the socket timeout."""
    lines = []
    for i, chunk in enumerate(chunks):
        conn.send(chunk)
        if i + 1 < len(chunks) and re.search(rb"~?\{\d+\}\r\n$", chunk):
            line = conn.readline()
            if not line.startswith(b"+"):
                lines.append(line)
                return lines  # refused before the literal
    while True:
        line = conn.readline()
        assert line, "connection closed"
        lines.append(line)
        m = re.search(rb"~?\{(\d+)\}\r\n$", line)
        if m:
            lines.append(conn.read(int(m.group(1))))
        if line.startswith(tag + b" "):
            return lines


def tagged(lines, tag):
    return [line for line in lines if isinstance(line, bytes) and line.startswith(tag + b" ")][-1]


def test_capabilities_and_appendlimit(make_server):
    server = make_server(config={"limits": {"max_message_size": 200000}})
    conn = login(server)
    caps = command(conn, b"c", b"c CAPABILITY\r\n")[0].decode()
    for name in ("MULTIAPPEND", "BINARY", "CATENATE", "APPENDLIMIT=200000"):
        assert f" {name}" in caps, caps
    lines = command(conn, b"s", b"s STATUS INBOX (APPENDLIMIT)\r\n")
    assert lines[0] == b"* STATUS INBOX (APPENDLIMIT 200000)\r\n"
    # One byte over: refused before the literal is sent.
    lines = command(conn, b"a", b"a APPEND INBOX {200001}\r\n", b"x" * 200001 + b"\r\n")
    assert lines == [b"a NO [TOOBIG] Message too large\r\n"]
    assert command(conn, b"n", b"n NOOP\r\n")[-1].startswith(b"n OK")
    conn.logout()


def test_multiappend_is_atomic(server):
    conn = login(server)
    m1 = message(subject="one").encode()
    m2 = message(subject="two").encode()
    lines = command(conn, b"a",
                    b"a APPEND INBOX (\\Seen) {%d}\r\n" % len(m1),
                    m1 + b" {%d}\r\n" % len(m2),
                    m2 + b"\r\n")
    assert re.match(rb"a OK \[APPENDUID \d+ 1:2\] ", tagged(lines, b"a")), lines
    # A bad second message: nothing of the set is stored.
    lines = command(conn, b"b", b"b APPEND INBOX {%d+}\r\n" % len(m1) + m1 +
                    b" (\\Bogus) {%d+}\r\n" % len(m2) + m2 + b"\r\n")
    assert tagged(lines, b"b").startswith(b"b BAD"), lines
    typ, data = conn.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    typ, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    assert [d[1].strip() for d in data if isinstance(d, tuple)] == [b"Subject: one", b"Subject: two"]
    conn.logout()


def test_literal8_and_fetch_binary(server):
    conn = login(server)
    payload = bytes(range(256)) * 4
    msg = (b"From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
           b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(payload).replace(b"\n", b"\r\n") +
           b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
           b"raw\x00\nbytes\r\n--b\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: x-unknown\r\n\r\nzz\r\n--b--\r\n")
    lines = command(conn, b"a", b"a APPEND INBOX ~{%d}\r\n" % len(msg), msg + b"\r\n")
    assert tagged(lines, b"a").startswith(b"a OK [APPENDUID"), lines
    assert conn.select("INBOX")[0] == "OK"
    lines = command(conn, b"f", b"f FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n")
    assert lines[0] == b"* 1 FETCH (BINARY.SIZE[1] 1024 BINARY[1] ~{1024}\r\n"
    assert lines[1] == payload
    # The part with NUL is stored base64-encoded: BINARY gives its bytes
    # back, BODY its base64; the rest of the message is kept as given.
    lines = command(conn, b"g", b"g FETCH 1 (BINARY.PEEK[2] BODY.PEEK[2] BODY.PEEK[1])\r\n")
    assert lines[1] == b"raw\x00\nbytes"
    assert lines[3] == base64.b64encode(b"raw\x00\nbytes")
    assert lines[5] == base64.encodebytes(payload).replace(b"\n", b"\r\n")[:-2]
    lines = command(conn, b"h", b"h FETCH 1 BINARY.PEEK[3]\r\n")
    assert tagged(lines, b"h").startswith(b"h NO [UNKNOWN-CTE]"), lines
    conn.logout()


def test_catenate(server):
    conn = login(server)
    m1 = message(subject="source", body="the body\r\n").encode()
    lines = command(conn, b"a", b"a APPEND INBOX {%d+}\r\n" % len(m1) + m1 + b"\r\n")
    uidvalidity, uid = re.search(rb"APPENDUID (\d+) (\d+)", tagged(lines, b"a")).groups()
    url = b"/INBOX;UIDVALIDITY=%s/;UID=%s/;SECTION=TEXT" % (uidvalidity, uid)
    lines = command(conn, b"b", b"b APPEND Drafts CATENATE (TEXT {16+}\r\nSubject: new\r\n\r\n URL \"%s\")\r\n" % url)
    assert tagged(lines, b"b").startswith(b"b OK [APPENDUID"), lines
    bad = b"/INBOX;UIDVALIDITY=%d/;UID=%s" % (int(uidvalidity) + 1, uid)
    lines = command(conn, b"c", b"c APPEND Drafts CATENATE (URL \"%s\")\r\n" % bad)
    assert tagged(lines, b"c") == b"c NO [BADURL " + bad + b"] Invalid or unknown message URL.\r\n"
    assert conn.select("Drafts")[0] == "OK"
    typ, data = conn.fetch("1:*", "(BODY.PEEK[])")
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert bodies == [b"Subject: new\r\n\r\nthe body\r\n"]
    conn.logout()
