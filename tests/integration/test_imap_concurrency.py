"""Two real imaplib sessions on one mailbox, as imaptest's stress mode runs
them: a keyword that one session adds reaches the other in FLAGS before any
FETCH shows it (RFC 3501 7.2.6), a STORE over a message the other session
has just expunged succeeds for the messages that remain (RFC 2180 4.2), and
an IDLE session sees every delivery of another process (the CLI)."""

import imaplib
import re
import time

from conftest import message

USER, PASSWORD = "alice", "secret"


def imap_login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    typ, _ = conn.login(USER, PASSWORD)
    assert typ == "OK"
    return conn


def command(conn, text, timeout=10):
    """Sends one command through imaplib's socket; returns every line up to
    and including the tagged one, in the order the server sent them."""
    tag = conn._new_tag()
    conn.send(tag + b" " + text.encode() + b"\r\n")
    conn.sock.settimeout(timeout)
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = conn.readline()
        if not line:
            raise AssertionError(f"connection closed; got {lines}")
        lines.append(line)
        if line.startswith(tag + b" "):
            return lines
    raise AssertionError(f"no tagged answer to {text!r}; got {lines}")


def check_keywords_announced(lines, known):
    """Every keyword in a FETCH FLAGS was named by an earlier FLAGS response
    (or by SELECT's, passed in `known`). Returns the keywords known after."""
    known = set(k.lower() for k in known)
    for line in lines:
        m = re.match(rb"\* FLAGS \(([^)]*)\)", line)
        if m:
            known |= {k.lower() for k in m.group(1).split()}
            continue
        m = re.match(rb"\* \d+ FETCH \(.*FLAGS \(([^)]*)\)", line)
        if m:
            for flag in m.group(1).split():
                if not flag.startswith(b"\\"):
                    assert flag.lower() in known, (flag, lines)
    return known


def select_keywords(conn):
    typ, _ = conn.select("INBOX")
    assert typ == "OK"
    flags = conn.untagged_responses.pop("FLAGS", [b"()"])[-1]
    return {k for k in flags.strip(b"()").split() if not k.startswith(b"\\")}


def test_new_keyword_reaches_other_session_in_flags_before_fetch(server):
    for i in range(3):
        server.deliver(USER, message(subject=f"m{i}"))
    a, b = imap_login(server), imap_login(server)
    known_a = select_keywords(a)
    known_b = select_keywords(b)
    for round_ in range(5):
        keyword = f"Kw{round_}"
        lines = command(b, f"STORE {round_ % 3 + 1} +FLAGS ({keyword})")
        assert lines[-1].split()[1] == b"OK", lines
        known_b = check_keywords_announced(lines, known_b)
        # The other session asks before its change log reported anything.
        lines = command(a, "FETCH 1:* FLAGS")
        assert lines[-1].split()[1] == b"OK", lines
        known_a = check_keywords_announced(lines, known_a)
        assert keyword.lower().encode() in known_a
        # A STORE in that session shows the other's keyword too.
        lines = command(a, f"STORE 1:* +FLAGS (\\Seen)")
        known_a = check_keywords_announced(lines, known_a)
    # An APPEND from the other session brings a new keyword.
    typ, _ = b.append("INBOX", "(Appended)", None, message(subject="kw").encode())
    assert typ == "OK"
    lines = command(a, "NOOP")
    known_a = check_keywords_announced(lines, known_a)
    assert b"appended" in known_a, lines
    a.logout()
    b.logout()


def test_store_on_messages_expunged_by_another_session(server):
    for i in range(4):
        server.deliver(USER, message(subject=f"m{i}"))
    a, b = imap_login(server), imap_login(server)
    a.select("INBOX")
    b.select("INBOX")
    typ, _ = a.store("2:3", "+FLAGS.SILENT", "(\\Deleted)")
    assert typ == "OK"
    typ, _ = a.expunge()
    assert typ == "OK"
    # b still numbers 4 messages; 2 and 3 are gone.
    typ, data = b.store("1:4", "+FLAGS", "(\\Seen)")
    assert typ == "OK", data
    fetched = b"\n".join(d for d in data if isinstance(d, bytes))
    assert re.search(rb"\b1 \(FLAGS \([^)]*\\Seen", fetched), data
    assert re.search(rb"\b4 \(FLAGS \([^)]*\\Seen", fetched), data
    # imaptest's "Dele": only expunged messages in the set.
    typ, data = b.store("2", "+FLAGS", "(\\Deleted)")
    assert typ == "OK", data
    typ, _ = b.noop()
    assert typ == "OK"
    assert b.untagged_responses.pop("EXPUNGE", []) == [b"2", b"2"]
    assert b.search(None, "SEEN")[1][0] == b"1 2"
    a.logout()
    b.logout()


def test_idle_sees_every_cli_delivery(server):
    """Each delivery of another process reaches the IDLE session (the change
    detection reads the commit id and the mailboxes in one snapshot)."""
    conn = imap_login(server)
    conn.select("INBOX")
    tag = conn._new_tag()
    conn.send(tag + b" IDLE\r\n")
    conn.sock.settimeout(10)
    assert conn.readline().startswith(b"+ ")
    for i in range(1, 11):
        server.deliver(USER, message(subject=f"pushed {i}"))
        deadline = time.time() + 10
        while True:
            assert time.time() < deadline, f"delivery {i} not seen within 10 s"
            line = conn.readline()
            assert line, "connection closed"
            if re.match(rb"\* %d EXISTS" % i, line):
                break
    conn.send(b"DONE\r\n")
    while not conn.readline().startswith(tag + b" OK"):
        pass
    conn.logout()
