"""IMAP NOTIFY (RFC 5465) end to end: session A asks for events on the
selected mailbox and on all personal mailboxes, then session B, an LMTP
delivery, `pillarbox deliver` (another process) and POP3 change INBOX and
another folder; A, sending no command, receives the untagged EXISTS/FETCH/
EXPUNGE for INBOX and STATUS/LIST for the rest."""

import imaplib
import poplib
import re
import smtplib
import time

import pytest

from conftest import message

USER, PASSWORD = "alice", "secret"


@pytest.fixture
def srv(make_server):
    return make_server(config={"pop3": {"delete_mode": "expunge"}})


def imap_login(srv):
    conn = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    assert conn.login(USER, PASSWORD)[0] == "OK"
    return conn


def read_until(conn, pattern, timeout=10):
    """Raw lines from the server until one matches `pattern` (bounded in
    time). The caller sent no command: these are unsolicited."""
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        conn.sock.settimeout(max(0.1, deadline - time.time()))
        try:
            line = conn.readline()
        except OSError:
            break
        if not line:
            raise AssertionError(f"connection closed; got {lines}")
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no line matching {pattern!r}; got {lines}")


def command(conn, text):
    """Sends a raw command; returns its lines up to the tagged answer."""
    tag = conn._new_tag()
    conn.send(tag + b" " + text + b"\r\n")
    return read_until(conn, rb"^" + tag + rb" (OK|NO|BAD)")


def test_notify_reports_changes_from_every_path(srv):
    srv.deliver(USER, message(subject="first"))
    b = imap_login(srv)
    assert b.create("Work")[0] == "OK"

    a = imap_login(srv)
    assert b"NOTIFY" in a.capability()[1][0]
    assert a.select("INBOX")[1][0] == b"1"
    lines = command(a, b"NOTIFY SET (SELECTED (MessageNew (UID) MessageExpunge FlagChange)) "
                       b"(PERSONAL (MessageNew MessageExpunge MailboxName))")
    assert lines[-1].split()[1] == b"OK", lines

    # LMTP delivery into INBOX: EXISTS and the FETCH asked for, at once.
    with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=30) as lmtp:
        assert lmtp.sendmail("bob@example.org", ["alice@example.org"],
                             message(subject="by lmtp")) == {}
    lines = read_until(a, rb"^\* 2 FETCH")
    assert b"* 2 EXISTS\r\n" in lines
    assert lines[-1] == b"* 2 FETCH (UID 2)\r\n"

    # Session B appends to another folder: STATUS.
    assert b.append("Work", None, None, message(subject="to work").encode())[0] == "OK"
    assert read_until(a, rb"^\* STATUS")[-1] == b"* STATUS Work (MESSAGES 1 UIDNEXT 2)\r\n"

    # Another process (pillarbox deliver) into the same folder.
    srv.deliver(USER, message(subject="by cli"), mailbox="Work")
    assert read_until(a, rb"^\* STATUS")[-1] == b"* STATUS Work (MESSAGES 2 UIDNEXT 3)\r\n"

    # Session B flags a message of INBOX: FETCH with UID and FLAGS.
    b.select("INBOX")
    b.store("1", "+FLAGS", r"(\Flagged)")
    line = read_until(a, rb"^\* 1 FETCH")[-1]
    assert re.match(rb"^\* 1 FETCH \(UID 1 FLAGS \([^)]*\\Flagged", line), line

    # Session B creates and renames a folder: LIST, with OLDNAME.
    assert b.create("Projects")[0] == "OK"
    assert read_until(a, rb"^\* LIST")[-1] == b'* LIST (\\HasNoChildren) "/" Projects\r\n'
    assert b.rename("Projects", "Done")[0] == "OK"
    assert read_until(a, rb"^\* LIST")[-1] == \
        b'* LIST (\\HasNoChildren) "/" Done ("OLDNAME" (Projects))\r\n'
    b.logout()

    # POP3 deletes the first message (delete mode expunge): EXPUNGE at QUIT.
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    pop.user(USER)
    pop.pass_(PASSWORD)
    pop.dele(1)
    assert len(command(a, b"NOOP")) == 1  # DELE waits for QUIT
    pop.quit()
    assert read_until(a, rb"EXPUNGE")[-1] == b"* 1 EXPUNGE\r\n"

    # NOTIFY NONE: quiet again between commands.
    assert command(a, b"NOTIFY NONE")[-1].split()[1] == b"OK"
    srv.deliver(USER, message(subject="after none"), mailbox="Work")
    time.sleep(1.5)  # the server polls for other processes' commits
    assert len(command(a, b"NOOP")) == 1
    a.logout()


def test_notify_status_indicator_and_refusals(srv):
    a = imap_login(srv)
    assert a.create("Lists/Lemonade")[0] == "OK"
    lines = command(a, b"NOTIFY SET STATUS (SUBTREE Lists (MessageNew MessageExpunge))")
    status = [l for l in lines if l.startswith(b"* STATUS")]
    assert len(status) == 2 and b"Lists/Lemonade (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " in status[1]
    assert command(a, b"NOTIFY SET (PERSONAL (MessageNew))")[-1].split()[1] == b"BAD"
    no = command(a, b"NOTIFY SET (PERSONAL (ServerMetadataChange))")[-1]
    assert b"NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]" \
        in no
    a.logout()
