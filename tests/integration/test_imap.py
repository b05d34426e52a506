"""IMAP through Python's imaplib against the real binary: a whole session
(login, create, append, select, fetch, search, store, copy, move, expunge,
IDLE), STARTTLS on the plain port and implicit TLS (IMAPS)."""

import imaplib
import re
import socket
import time

import pytest

from conftest import message, unverified_ssl_context, wait_for

USER, PASSWORD = "alice", "secret"


def connect(server, timeout=10):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=timeout)
    return conn


def login(server):
    conn = connect(server)
    typ, _ = conn.login(USER, PASSWORD)
    assert typ == "OK"
    return conn


def raw(conn, name, *args):
    """Sends a command as it is; returns (status, data) even for BAD, which
    imaplib would raise."""
    try:
        return conn._simple_command(name, *args)
    except imaplib.IMAP4.error as e:
        text = str(e)
        return ("BAD" if " BAD " in text else "NO"), [text.encode()]


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def fetch_map(data):
    """imaplib fetch data -> list of (header bytes, literal bytes or None)."""
    out = []
    for item in data:
        if isinstance(item, tuple):
            out.append((item[0], item[1]))
        elif item is not None and item != b")":
            out.append((item, None))
    return out


SIMPLE = message(subject="First one", body="Hello Alice,\r\nthis is the first message.\r\n")

MULTIPART = (
    "From: Carol <carol@example.org>\r\n"
    "To: alice@example.org\r\n"
    "Subject: =?UTF-8?Q?Caf=C3=A9_report?=\r\n"
    "Date: Wed, 25 Nov 2026 09:00:00 +0100\r\n"
    "Message-ID: <multi@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
    "\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=FC=DFe aus K=F6ln\r\n"
    "--XYZ\r\n"
    "Content-Type: application/pdf; name=\"r.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--XYZ--\r\n"
)


def test_capabilities_and_login(server):
    conn = connect(server)
    assert "IMAP4REV1" in conn.capabilities
    assert "STARTTLS" in conn.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        conn.login(USER, "wrong")
    ok(conn.login(USER, PASSWORD))
    assert conn.logout()[0] == "BYE"


def test_whole_session(server):
    conn = login(server)
    caps = ok(conn.capability())[0].upper().split()
    assert b"IDLE" in caps and b"UIDPLUS" in caps and b"MOVE" in caps

    # Mailboxes.
    ok(conn.create("Work"))
    ok(conn.create("Work/2026"))
    typ, data = conn.create("Work")
    assert typ == "NO"
    names = b"\n".join(ok(conn.list()))
    assert b'"Work"' in names or b" Work\r" in names or b" Work" in names
    assert b"Work/2026" in names
    assert b"INBOX" in names

    # APPEND with flags and a date; the literal is sent by imaplib.
    date = imaplib.Time2Internaldate(time.mktime((2026, 11, 20, 8, 30, 0, 0, 0, -1)))
    typ, data = conn.append("INBOX", r"(\Seen $Work)", date, SIMPLE.encode())
    assert typ == "OK", data
    assert b"APPENDUID" in data[0]
    typ, data = conn.append("INBOX", None, None, MULTIPART.encode())
    assert typ == "OK", data

    typ, data = conn.select("INBOX")
    assert typ == "OK"
    assert data[0] == b"2"
    uidvalidity = conn.untagged_responses.get("UIDVALIDITY", [b"0"])[0]
    assert int(uidvalidity) > 0

    # FLAGS, UID, sizes, dates.
    data = ok(conn.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)"))
    assert len(data) == 2
    first = data[0].decode()
    assert re.search(r"FLAGS \([^)]*\\Seen", first)
    assert "$Work" in first
    assert f"RFC822.SIZE {len(SIMPLE)}" in first
    assert '"20-Nov-2026 ' in first
    assert "\\Seen" not in data[1].decode()

    # BODYSTRUCTURE of the multipart.
    data = ok(conn.fetch("2", "(BODYSTRUCTURE)"))
    bs = data[0].decode()
    assert '("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable"' in bs
    assert '"application" "pdf" ("name" "r.pdf")' in bs
    assert '"mixed" ("boundary" "XYZ")' in bs
    assert '("attachment" ("filename" "r.pdf"))' in bs

    # ENVELOPE keeps the encoded subject raw.
    data = ok(conn.fetch("2", "(ENVELOPE)"))
    assert b'"=?UTF-8?Q?Caf=C3=A9_report?="' in data[0]
    assert b'(("Carol" NIL "carol" "example.org"))' in data[0]

    # BODY.PEEK[] is the message as appended, and does not set \Seen.
    data = fetch_map(ok(conn.fetch("2", "(BODY.PEEK[])")))
    assert data[0][1] == MULTIPART.encode()
    flags = ok(conn.fetch("2", "(FLAGS)"))[0]
    assert b"\\Seen" not in flags

    # Partial fetches.
    data = fetch_map(ok(conn.fetch("2", "(BODY.PEEK[]<0.10>)")))
    assert b"BODY[]<0>" in data[0][0]
    assert data[0][1] == MULTIPART.encode()[:10]
    data = fetch_map(ok(conn.fetch("2", f"(BODY.PEEK[]<{len(MULTIPART) - 5}.100>)")))
    assert data[0][1] == MULTIPART.encode()[-5:]
    data = ok(conn.fetch("2", "(BODY.PEEK[]<100000.10>)"))
    assert b"BODY[]<100000>" in (data[0][0] if isinstance(data[0], tuple) else data[0])

    # Sections.
    data = fetch_map(ok(conn.fetch("2", "(BODY.PEEK[1])")))
    assert data[0][1] == b"Gr=FC=DFe aus K=F6ln"
    data = fetch_map(ok(conn.fetch("2", "(BODY.PEEK[1.MIME])")))
    assert data[0][1].startswith(b"Content-Type: text/plain; charset=iso-8859-1\r\n")
    data = fetch_map(ok(conn.fetch("2", "(BODY.PEEK[HEADER.FIELDS (subject MESSAGE-ID)])")))
    assert data[0][1] == (b"Subject: =?UTF-8?Q?Caf=C3=A9_report?=\r\n"
                          b"Message-ID: <multi@example.org>\r\n\r\n")

    # BODY[] (not PEEK) sets \Seen and reports FLAGS.
    data = ok(conn.fetch("2", "(BODY[TEXT])"))
    rendered = b"".join(x[0] + x[1] if isinstance(x, tuple) else x for x in data)
    assert b"\\Seen" in rendered
    flags = ok(conn.fetch("2", "(FLAGS)"))[0]
    assert b"\\Seen" in flags

    # SEARCH.
    assert ok(conn.search(None, "ALL"))[0] == b"1 2"
    assert ok(conn.search(None, "SUBJECT", '"first"'))[0] == b"1"
    conn.literal = "CAFÉ".encode()  # sent as a literal after the other arguments
    assert ok(conn.search("UTF-8", "SUBJECT"))[0] == b"2"
    assert ok(conn.search(None, "BODY", "koeln"))[0] == b""
    assert ok(conn.search(None, "OR", "KEYWORD", "$Work", "LARGER", "100000"))[0] == b"1"
    assert ok(conn.search(None, "NOT", "KEYWORD", "$Work"))[0] == b"2"
    typ, data = raw(conn, "SEARCH", "CHARSET", "X-UNKNOWN-CHARSET", "ALL")
    assert typ == "NO"
    assert b"BADCHARSET" in data[0]

    # UID SEARCH / UID FETCH.
    uids = ok(conn.uid("SEARCH", None, "ALL"))[0].split()
    assert len(uids) == 2
    data = ok(conn.uid("FETCH", uids[1].decode(), "(FLAGS)"))
    assert f"UID {uids[1].decode()}".encode() in data[0]

    # STORE.
    data = ok(conn.store("1", "+FLAGS", r"(\Flagged)"))
    assert b"\\Flagged" in data[0]
    data = ok(conn.store("1", "-FLAGS.SILENT", r"(\Seen)"))
    assert data == [None]
    assert ok(conn.search(None, "FLAGGED", "UNSEEN"))[0] == b"1"
    typ, data = raw(conn, "STORE", "1", "+FLAGS", r"(\Recent)")
    assert typ == "BAD"

    # COPY to Work, MOVE to Work/2026.
    typ, data = conn.copy("1", "Work")
    assert typ == "OK"
    assert b"COPYUID" in data[0]
    typ, data = raw(conn, "MOVE", "2", "Work/2026")
    assert typ == "OK", data
    assert conn.untagged_responses.pop("EXPUNGE", None) == [b"2"]
    assert ok(conn.search(None, "ALL"))[0] == b"1"
    status = ok(conn.status("Work", "(MESSAGES UNSEEN)"))[0]
    assert b"MESSAGES 1" in status
    status = ok(conn.status("Work/2026", "(MESSAGES)"))[0]
    assert b"MESSAGES 1" in status

    # EXPUNGE.
    ok(conn.store("1", "+FLAGS.SILENT", r"(\Deleted)"))
    typ, data = conn.expunge()
    assert typ == "OK"
    assert data == [b"1"]
    assert ok(conn.search(None, "ALL"))[0] == b""

    # The moved message is intact in its new mailbox.
    ok(conn.select("Work/2026", readonly=True))
    data = fetch_map(ok(conn.fetch("1", "(BODY.PEEK[])")))
    assert data[0][1] == MULTIPART.encode()

    ok(conn.close())
    assert conn.logout()[0] == "BYE"


def test_bad_commands_keep_the_session(server):
    conn = login(server)
    ok(conn.select("INBOX"))
    conn.untagged_responses.pop("EXISTS", None)
    server.deliver(USER, SIMPLE)
    # The CLI is another process: its commit reaches the session within the
    # server's polling interval.
    wait_for(lambda: ok(conn.noop()) and conn.untagged_responses.pop("EXISTS", None), what="EXISTS")
    for bad in ("(FLAGS", "(BODY[0])", "(NOTANITEM)", "(BODY[HEADER.FIELDS])"):
        typ, data = raw(conn, "FETCH", "1", bad)
        assert typ == "BAD", (bad, data)
    typ, data = raw(conn, "FETCH", "99", "(FLAGS)")
    assert typ in ("BAD", "NO")
    typ, data = raw(conn, "SEARCH", "NOSUCHKEY")
    assert typ == "BAD"
    # Still usable.
    assert ok(conn.search(None, "ALL"))[0] == b"1"
    assert conn.logout()[0] == "BYE"


def test_large_message_streams(server):
    body = ("x" * 998 + "\r\n") * 3000  # about 3 MB
    big = message(subject="big", body=body).encode()
    server.deliver(USER, big)
    conn = login(server)
    ok(conn.select("INBOX"))
    data = fetch_map(ok(conn.fetch("1", "(RFC822.SIZE BODY.PEEK[])")))
    header = data[0][0]
    got = data[0][1]
    size = int(re.search(rb"RFC822.SIZE (\d+)", header).group(1))
    assert len(got) == size
    assert got.endswith(b"x" * 998 + b"\r\n")
    assert conn.logout()[0] == "BYE"


def read_until(conn, pattern, timeout=10):
    """Reads response lines until one matches `pattern` (bytes regex)."""
    deadline = time.time() + timeout
    lines = []
    conn.sock.settimeout(timeout)
    while time.time() < deadline:
        line = conn.readline()
        if not line:
            raise AssertionError(f"connection closed; got {lines}")
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no line matching {pattern!r}; got {lines}")


def test_idle_reports_a_delivery(server):
    conn = login(server)
    ok(conn.select("INBOX"))
    tag = conn._new_tag()
    conn.send(tag + b" IDLE\r\n")
    read_until(conn, rb"^\+ ")
    server.deliver(USER, message(subject="pushed"))
    lines = read_until(conn, rb"^\* 1 EXISTS")
    assert lines[-1].strip() == b"* 1 EXISTS"
    conn.send(b"DONE\r\n")
    lines = read_until(conn, tag + rb" OK")
    ok(conn.fetch("1", "(FLAGS)"))
    assert conn.logout()[0] == "BYE"


def test_starttls_on_the_plain_port(server):
    conn = connect(server)
    ok(conn.starttls(ssl_context=unverified_ssl_context()))
    assert "STARTTLS" not in conn.capabilities
    ok(conn.login(USER, PASSWORD))
    ok(conn.select("INBOX"))
    assert conn.logout()[0] == "BYE"


def test_imaps(server):
    conn = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=unverified_ssl_context(),
                             timeout=10)
    ok(conn.login(USER, PASSWORD))
    ok(conn.append("INBOX", None, None, SIMPLE.encode()))
    ok(conn.select("INBOX"))
    data = fetch_map(ok(conn.fetch("1", "(BODY.PEEK[])")))
    assert data[0][1] == SIMPLE.encode()
    assert conn.logout()[0] == "BYE"


def test_utf8_mailbox_names_round_trip(server):
    conn = login(server)
    # Modified UTF-7 (RFC 3501 5.1.3): "Entwürfe".
    ok(conn.create("Entw&APw-rfe"))
    names = b"\n".join(ok(conn.list()))
    assert b"Entw&APw-rfe" in names
    ok(conn.select("Entw&APw-rfe"))
    assert conn.logout()[0] == "BYE"
