"""SORT, ESORT and THREAD through Python's imaplib against the real binary."""

import imaplib

from conftest import message

USER, PASSWORD = "alice", "secret"

MESSAGES = [
    # subject, sender, date, message-id, references
    ("Re: plans", "Carol <carol@example.org>", "Tue, 03 Mar 2026 10:00:00 +0000", "<2@x>", "<1@x>"),
    ("plans", "bob@example.org", "Mon, 02 Mar 2026 10:00:00 +0000", "<1@x>", None),
    ("[team] Fwd: budget", "=?utf-8?q?Ad=C3=A8le?= <adele@example.org>",
     "Wed, 04 Mar 2026 10:00:00 +0000", "<3@x>", None),
    ("Re: plans", "dave@example.org", "Thu, 05 Mar 2026 10:00:00 +0000", "<4@x>", "<1@x> <2@x>"),
]


def make(subject, sender, date, msgid, refs):
    headers = [f"From: {sender}", "To: alice@example.org", f"Subject: {subject}",
               f"Date: {date}", f"Message-ID: {msgid}"]
    if refs:
        headers.append(f"References: {refs}")
    return ("\r\n".join(headers) + "\r\n\r\nbody\r\n").encode()


def session(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    assert conn.login(USER, PASSWORD)[0] == "OK"
    for m in MESSAGES:
        assert conn.append("INBOX", None, None, make(*m))[0] == "OK"
    assert conn.select("INBOX")[0] == "OK"
    return conn


def test_capabilities_name_sort_and_thread(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    typ, data = conn.capability()
    assert typ == "OK"
    caps = data[0].decode().split()
    for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT"):
        assert cap in caps
    conn.logout()


def test_sort(server):
    conn = session(server)
    assert conn.sort("(DATE)", "UTF-8", "ALL") == ("OK", [b"2 1 3 4"])
    assert conn.sort("(SUBJECT REVERSE DATE)", "UTF-8", "ALL") == ("OK", [b"3 4 1 2"])
    assert conn.sort("(FROM)", "US-ASCII", "ALL") == ("OK", [b"3 2 1 4"])
    assert conn.sort("(DISPLAYFROM)", "UTF-8", "ALL") == ("OK", [b"3 2 1 4"])
    assert conn.sort("(REVERSE DATE)", "UTF-8", "SUBJECT", "plans") == ("OK", [b"4 1 2"])
    typ, data = conn.uid("SORT", "(DATE)", "UTF-8", "ALL")
    assert typ == "OK" and data == [b"2 1 3 4"]
    try:
        conn.sort("(NOPE)", "UTF-8", "ALL")
        assert False, "BAD expected"
    except imaplib.IMAP4.error as e:
        assert "Unknown sort criterion" in str(e)
    conn.logout()


def test_esort(server):
    conn = session(server)
    typ, _ = conn._simple_command("SORT", "RETURN", "(MIN MAX COUNT ALL)", "(DATE)", "UTF-8", "ALL")
    assert typ == "OK"
    typ, data = conn._untagged_response(typ, [], "ESEARCH")
    assert data[-1].startswith(b'(TAG "')
    assert data[-1].endswith(b'") MIN 2 MAX 4 COUNT 4 ALL 2,1,3:4')
    conn.logout()


def test_thread(server):
    conn = session(server)
    assert conn.thread("REFERENCES", "UTF-8", "ALL") == ("OK", [b"(2 1 4)(3)"])
    assert conn.thread("ORDEREDSUBJECT", "UTF-8", "ALL") == ("OK", [b"(2 (1)(4))(3)"])
    typ, data = conn.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
    assert typ == "OK" and data == [b"(2 1 4)(3)"]
    conn.logout()
