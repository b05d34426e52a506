"""Two IMAP sessions and a POP3 session on the same INBOX: flag changes made
in one IMAP session reach the other, expunges are reported only when IMAP
allows it (not during FETCH/STORE/SEARCH, RFC 3501 7.4.1), POP3 works on its
login snapshot, and a POP3 QUIT in expunge mode shows up as EXPUNGE in an
IDLE IMAP session."""

import imaplib
import poplib
import re
import time

import pytest

from conftest import message, wait_for

USER, PASSWORD = "alice", "secret"


def imap_login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    typ, _ = conn.login(USER, PASSWORD)
    assert typ == "OK"
    return conn


def pop3_login(server):
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user(USER)
    pop.pass_(PASSWORD)
    return pop


def untagged(conn, name):
    """Pops the untagged responses called `name` that imaplib collected."""
    return conn.untagged_responses.pop(name, [])


def read_until(conn, pattern, timeout=10):
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


@pytest.fixture
def srv(make_server):
    return make_server(config={"pop3": {"delete_mode": "expunge", "mark_seen_on_retr": True}})


def deliver_three(srv):
    for i in range(1, 4):
        srv.deliver(USER, message(subject=f"m{i}", body=f"body {i}\r\n"))


def test_flag_changes_reach_the_other_session(srv):
    deliver_three(srv)
    a, b = imap_login(srv), imap_login(srv)
    assert a.select("INBOX")[1][0] == b"3"
    assert b.select("INBOX")[1][0] == b"3"
    untagged(b, "FETCH")

    a.store("1", "+FLAGS", r"(\Flagged)")
    a.store("2", "+FLAGS", r"(\Seen $Later)")
    b.noop()
    fetches = b"\n".join(untagged(b, "FETCH"))
    assert re.search(rb"1 \(FLAGS \([^)]*\\Flagged", fetches), fetches
    assert re.search(rb"2 \(.*FLAGS \([^)]*\\Seen", fetches), fetches
    assert b"$Later" in fetches
    # The new keyword is announced in FLAGS when it first appears.
    flags = b"\n".join(untagged(b, "FLAGS"))
    assert b"$Later" in flags or fetches  # keyword may already be permanent
    assert b.search(None, "FLAGGED")[1][0] == b"1"

    b.store("1", "-FLAGS", r"(\Flagged)")
    a.noop()
    fetches = b"\n".join(untagged(a, "FETCH"))
    assert re.search(rb"1 \(FLAGS \(", fetches) and b"\\Flagged" not in fetches
    a.logout()
    b.logout()


def test_expunges_wait_for_a_command_that_allows_them(srv):
    deliver_three(srv)
    a, b = imap_login(srv), imap_login(srv)
    a.select("INBOX")
    b.select("INBOX")

    a.store("2", "+FLAGS.SILENT", r"(\Deleted)")
    typ, data = a.expunge()
    assert typ == "OK" and data == [b"2"]

    # FETCH, STORE and SEARCH must not report the expunge (sequence numbers
    # would shift under the client); the old numbering still holds.
    untagged(b, "EXPUNGE")
    typ, data = b.fetch("3", "(UID)")
    assert typ == "OK"
    assert untagged(b, "EXPUNGE") == []
    typ, data = b.search(None, "ALL")
    assert untagged(b, "EXPUNGE") == []
    # NOOP does.
    b.noop()
    assert untagged(b, "EXPUNGE") == [b"2"]
    assert b.search(None, "ALL")[1][0] == b"1 2"
    subjects = [d[1] for d in b.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1] if isinstance(d, tuple)]
    assert subjects == [b"Subject: m1\r\n\r\n", b"Subject: m3\r\n\r\n"]
    a.logout()
    b.logout()


def test_new_mail_appears_in_both_sessions(srv):
    a, b = imap_login(srv), imap_login(srv)
    a.select("INBOX")
    b.select("INBOX")
    srv.deliver(USER, message(subject="new"))
    for conn in (a, b):
        def sees_it(conn=conn):
            conn.noop()
            return b"1" in untagged(conn, "EXISTS")
        wait_for(sees_it, what="EXISTS after delivery")
        assert conn.search(None, "SUBJECT", "new")[1][0] == b"1"
    a.logout()
    b.logout()


def test_pop3_snapshot_retr_and_quit_expunge_reach_idle_session(srv):
    deliver_three(srv)
    watcher = imap_login(srv)
    watcher.select("INBOX")
    other = imap_login(srv)
    other.select("INBOX")

    pop = pop3_login(srv)
    count, _ = pop.stat()
    assert count == 3

    # A message delivered after POP3 login is not in its snapshot.
    srv.deliver(USER, message(subject="late"))
    assert pop.stat()[0] == 3
    assert len(pop.list()[1]) == 3

    # RETR sets \Seen, which IMAP sessions see.
    lines = pop.retr(1)[1]
    assert b"Subject: m1" in lines
    # (The \Seen change may commit just after the RETR reply.)
    seen = []

    def other_sees_seen():
        other.noop()
        seen.extend(untagged(other, "FETCH"))
        return re.search(rb"1 \(FLAGS \([^)]*\\Seen", b"\n".join(seen))

    wait_for(other_sees_seen, what="FETCH FLAGS \\Seen after RETR")

    # DELE is in memory until QUIT: IMAP still has the message.
    pop.dele(2)
    other.noop()
    assert untagged(other, "EXPUNGE") == []

    # The watcher IDLEs; QUIT applies the delete; the watcher sees EXPUNGE.
    tag = watcher._new_tag()
    watcher.send(tag + b" IDLE\r\n")
    read_until(watcher, rb"^\+ ")
    pop.quit()
    lines = read_until(watcher, rb"^\* 2 EXPUNGE")
    watcher.send(b"DONE\r\n")
    read_until(watcher, tag + rb" OK")

    assert watcher.search(None, "ALL")[1][0] == b"1 2 3"
    subjects = [d[1] for d in watcher.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]
                if isinstance(d, tuple)]
    assert subjects == [b"Subject: m1\r\n\r\n", b"Subject: m3\r\n\r\n", b"Subject: late\r\n\r\n"]

    # A new POP3 session sees the current INBOX.
    pop = pop3_login(srv)
    assert pop.stat()[0] == 3
    pop.quit()
    watcher.logout()
    other.logout()


def test_pop3_rset_keeps_messages(srv):
    deliver_three(srv)
    conn = imap_login(srv)
    conn.select("INBOX")
    pop = pop3_login(srv)
    pop.dele(1)
    pop.rset()
    pop.quit()
    conn.noop()
    assert untagged(conn, "EXPUNGE") == []
    assert conn.search(None, "ALL")[1][0] == b"1 2 3"
    conn.logout()
