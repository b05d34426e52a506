"""CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267) against the real binary: a
session keeps a SEARCH / SORT result live with RETURN (UPDATE) while a
second session appends, flags and expunges; the first receives the ESEARCH
ADDTO / REMOVEFROM updates at NOOP and while in IDLE (raw commands through
Python's imaplib)."""

import imaplib
import re

from conftest import message

USER, PASSWORD = "alice", "secret"
# Lines read while waiting for one response in IDLE (bounded; the socket
# has a timeout too).
MAX_LINES = 50


def login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    assert conn.login(USER, PASSWORD)[0] == "OK"
    return conn


def command(conn, name, *args, untagged=None):
    """Sends a raw command; returns (status, tag, ESEARCH lines). Every
    untagged line goes to the list `untagged` when given."""
    tag = conn._new_tag().decode()
    line = " ".join((tag, name) + args) + "\r\n"
    conn.send(line.encode())
    lines = []
    for _ in range(MAX_LINES):
        got = conn.readline()
        assert got, "connection closed"
        if untagged is not None and got.startswith(b"* "):
            untagged.append(got.rstrip(b"\r\n"))
        if got.startswith(b"* ESEARCH "):
            lines.append(got[len(b"* ESEARCH "):].rstrip(b"\r\n"))
        if got.startswith(tag.encode() + b" "):
            return got.split(b" ")[1].decode(), tag, lines
    raise AssertionError("no tagged response")


def read_until(conn, pattern):
    """Lines read (in IDLE) up to and with the first matching `pattern`."""
    seen = []
    for _ in range(MAX_LINES):
        line = conn.readline()
        assert line, "connection closed"
        seen.append(line.rstrip(b"\r\n"))
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"{pattern!r} not seen in {seen}")


def test_capabilities(server):
    conn = login(server)
    caps = conn.capability()[1][0].decode().split()
    assert "CONTEXT=SEARCH" in caps and "CONTEXT=SORT" in caps
    conn.logout()


def test_search_updates_at_noop_and_in_idle(server):
    for i in range(1, 4):
        server.deliver(USER, message(subject=f"Message {i}"))
    a = login(server)
    b = login(server)
    a.select("INBOX")
    b.select("INBOX")
    typ, tag, lines = command(a, "UID", "SEARCH", "RETURN", "(UPDATE COUNT)", "FLAGGED")
    assert typ == "OK" and lines == [f'(TAG "{tag}") UID COUNT 0'.encode()], lines

    # A flag change by the other session, seen at NOOP.
    assert b.store("2", "+FLAGS", "(\\Flagged)")[0] == "OK"
    typ, _, lines = command(a, "NOOP")
    assert lines == [f'(TAG "{tag}") UID ADDTO (0 2)'.encode()], lines

    # In IDLE: a flagged message appended, then a result expunged (its
    # REMOVEFROM comes before the EXPUNGE).
    idle_tag = a._new_tag().decode()
    a.send(f"{idle_tag} IDLE\r\n".encode())
    assert a.readline().startswith(b"+ ")
    assert b.append("INBOX", "(\\Flagged)", None, message(subject="Flagged").encode())[0] == "OK"
    seen = read_until(a, rb"^\* ESEARCH ")
    assert b"* 4 EXISTS" in seen
    assert seen[-1] == f'* ESEARCH (TAG "{tag}") UID ADDTO (0 4)'.encode(), seen
    assert b.store("2", "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert b.expunge()[0] == "OK"
    seen = read_until(a, rb"^\* 2 EXPUNGE")
    assert f'* ESEARCH (TAG "{tag}") UID REMOVEFROM (0 2)'.encode() in seen, seen
    assert seen.index(f'* ESEARCH (TAG "{tag}") UID REMOVEFROM (0 2)'.encode()) < len(seen) - 1
    # A flag change that makes a message stop matching.
    assert b.store("3", "-FLAGS", "(\\Flagged)")[0] == "OK"
    seen = read_until(a, rb"^\* ESEARCH ")
    assert seen[-1] == f'* ESEARCH (TAG "{tag}") UID REMOVEFROM (0 4)'.encode(), seen
    a.send(b"DONE\r\n")
    assert read_until(a, rb"^" + idle_tag.encode() + rb" ")[-1].startswith(
        idle_tag.encode() + b" OK")

    # CANCELUPDATE: nothing more.
    typ, _, _ = command(a, "CANCELUPDATE", f'"{tag}"')
    assert typ == "OK"
    assert b.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    typ, _, lines = command(a, "NOOP")
    assert typ == "OK" and lines == []
    typ, _, _ = command(a, "CANCELUPDATE", f'"{tag}"')
    assert typ == "NO"
    a.logout()
    b.logout()


def test_sort_updates_carry_positions(server):
    for subject in ("bravo", "delta", "foxtrot"):
        server.deliver(USER, message(subject=subject))
    a = login(server)
    b = login(server)
    a.select("INBOX")
    b.select("INBOX")
    typ, tag, lines = command(a, "SORT", "RETURN", "(UPDATE ALL)", "(SUBJECT)", "UTF-8",
                              "UNSEEN")
    assert typ == "OK" and lines == [f'(TAG "{tag}") ALL 1:3'.encode()], lines
    assert b.append("INBOX", None, None, message(subject="charlie").encode())[0] == "OK"
    assert b.append("INBOX", None, None, message(subject="alpha").encode())[0] == "OK"
    typ, _, lines = command(a, "NOOP")
    # alpha(5) bravo(1) charlie(4) delta(2) foxtrot(3)
    assert lines == [f'(TAG "{tag}") ADDTO (1 5 3 4)'.encode()], lines
    assert b.store("2", "+FLAGS", "(\\Seen)")[0] == "OK"
    typ, _, lines = command(a, "NOOP")
    assert lines == [f'(TAG "{tag}") REMOVEFROM (4 2)'.encode()], lines
    # Past the limit of live contexts: NO [NOUPDATE], the result still comes.
    refused = None
    for _ in range(20):
        untagged = []
        typ, t, lines = command(a, "SEARCH", "RETURN", "(UPDATE COUNT)", "ALL",
                                untagged=untagged)
        assert typ == "OK" and lines == [f'(TAG "{t}") COUNT 5'.encode()]
        if f'* NO [NOUPDATE "{t}"]'.encode() in b" ".join(untagged):
            refused = t
            break
    assert refused is not None
    a.logout()
    b.logout()
