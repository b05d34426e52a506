"""LIST-EXTENDED, LIST-STATUS, STATUS=SIZE, CREATE-SPECIAL-USE and QUOTA
through Python's imaplib against the real binary (imaplib has getquota and
getquotaroot; the extended LIST forms go as raw commands)."""

import imaplib

from conftest import message

USER, PASSWORD = "alice", "secret"


def login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    typ, _ = conn.login(USER, PASSWORD)
    assert typ == "OK"
    return conn


def run(conn, *words):
    """Sends one command line as written; returns (status, lines), the lines
    being every untagged response in order (imaplib sorts them by name) and
    then the tagged one."""
    tag = conn._new_tag()
    conn.send(tag + b" " + " ".join(words).encode() + b"\r\n")
    lines = []
    while True:
        line = conn._get_line()
        if line.startswith(tag + b" "):
            return line.split(b" ", 2)[1].decode(), lines + [line]
        lines.append(line)


def test_capabilities_advertised(server):
    conn = login(server)
    typ, data = conn.capability()
    caps = data[0].decode().split()
    for name in ("LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "CREATE-SPECIAL-USE", "QUOTA",
                 "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
        assert name in caps, caps
    conn.logout()


def test_list_status_and_patterns(server):
    server.deliver(USER, message(subject="one"))
    server.deliver(USER, message(subject="two"))
    conn = login(server)
    assert conn.create("Projects/2026")[0] == "OK"
    assert conn.delete("Projects")[0] == "OK"  # leaves a level that is no mailbox
    typ, lines = run(conn, 'LIST "" ("INBOX" "Proj*") RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    assert typ == "OK"
    assert lines[0] == b'* LIST (\\HasNoChildren) "/" INBOX'
    assert lines[1].startswith(b"* STATUS INBOX (MESSAGES 2 UNSEEN 2 SIZE ")
    inbox_size = int(lines[1].rstrip(b")").split()[-1])
    assert lines[2] == b'* LIST (\\NonExistent \\HasChildren) "/" Projects'  # no STATUS
    assert lines[3] == b'* LIST (\\HasNoChildren) "/" Projects/2026'
    assert lines[4] == b"* STATUS Projects/2026 (MESSAGES 0 UNSEEN 0 SIZE 0)"
    assert len(lines) == 6
    typ, data = conn.status("INBOX", "(SIZE DELETED)")
    assert typ == "OK" and data == [f"INBOX (SIZE {inbox_size} DELETED 0)".encode()]
    assert conn.subscribe("Projects/2026")[0] == "OK"
    typ, lines = run(conn, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" Proj%')
    assert lines[0] == b'* LIST (\\NonExistent \\HasChildren) "/" Projects ("CHILDINFO" ("SUBSCRIBED"))'
    assert typ == "OK" and len(lines) == 2
    typ, lines = run(conn, 'LIST (RECURSIVEMATCH) "" %')
    assert typ == "BAD"
    typ, lines = run(conn, 'LIST "" % RETURN (STATUS (NOPE))')
    assert typ == "BAD"
    conn.logout()


def test_create_special_use(server):
    conn = login(server)
    typ, lines = run(conn, "CREATE Outbox (USE (\\Sent))")
    assert typ == "OK"
    typ, lines = run(conn, "LIST (SPECIAL-USE) \"\" Out*")
    assert lines[0] == b'* LIST (\\HasNoChildren \\Sent) "/" Outbox' and len(lines) == 2
    typ, lines = run(conn, "CREATE Important (USE (\\Important))")
    assert typ == "NO" and b"NO [USEATTR]" in lines[-1]
    conn.logout()


def test_quota(make_server):
    srv = make_server(start=False)
    srv.cli("user", "quota", USER, "10K", "2")
    srv.start()
    srv.deliver(USER, message(subject="one"))
    conn = login(srv)
    typ, data = conn.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'INBOX ""']
    assert data[1] == [b'"" (STORAGE 1 10 MESSAGE 1 2)']
    typ, data = conn.getquota('""')
    assert typ == "OK" and data == [b'"" (STORAGE 1 10 MESSAGE 1 2)']
    typ, data = conn.setquota('""', "(STORAGE 100)")
    assert typ == "NO" and b"[NOPERM]" in data[0], data
    # The second message fills the quota; the third is refused with the
    # quota shown and [OVERQUOTA].
    assert conn.append("INBOX", None, None, message(subject="two").encode())[0] == "OK"
    typ, data = conn.append("INBOX", None, None, message(subject="three").encode())
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    assert conn.untagged_responses.get("QUOTA") == [b'"" (STORAGE 1 10 MESSAGE 2 2)']
    assert conn.create("Other")[0] == "OK"
    conn.select("INBOX")
    typ, data = conn.copy("1", "Other")
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    conn.logout()
