"""Every outcome visible: log lines for deliveries, rejections and failed
logins (and the fail2ban filter that reads them), what `views` and `journal`
show (delete mode and its source, TOP as a download, pending and refused
DELE, moves), their --json output, `user unhide`, and the relay reply.
"""

import configparser
import imaplib
import json
import os
import poplib
import re
import smtplib
import subprocess

import pytest

from conftest import BIN, SOURCE_DIR, message, wait_for

FILTER = os.path.join(SOURCE_DIR, "contrib", "fail2ban", "pillarbox.conf")
# What fail2ban puts in place of <HOST> (its default host pattern, simplified).
HOST_RE = r"(?:::f{4,6}:)?(?P<host>\S+)"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def log_lines(srv, pattern):
    return [line for line in srv.log().splitlines() if re.search(pattern, line)]


def wait_log(srv, pattern, what=None):
    return wait_for(lambda: log_lines(srv, pattern), what=what or pattern)


def fail2ban_hosts(text):
    """Applies the filter's failregex the way fail2ban does: the timestamp is
    cut from each line, <HOST> becomes a named group. Returns the hosts."""
    parser = configparser.RawConfigParser()
    parser.read(FILTER)
    failregex = parser.get("Definition", "failregex").strip()
    regex = re.compile(failregex.replace("<HOST>", HOST_RE))
    hosts = []
    for line in text.splitlines():
        m = TIMESTAMP_RE.match(line)
        if not m:
            continue
        rest = line[m.end():]
        found = regex.search(rest)
        if found:
            hosts.append(found.group("host"))
    return hosts


def lmtp(srv):
    client = smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=10)
    client.ehlo("mta.example.org")
    return client


def pop_login(srv, user="alice", password="secret"):
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    p.user(user)
    p.pass_(password)
    return p


def views_json(srv, user="alice"):
    return json.loads(srv.cli("views", user, "--json").stdout)


def journal_json(srv, user="alice"):
    return json.loads(srv.cli("journal", user, "--json").stdout)


# --- log lines -------------------------------------------------------------


def test_lmtp_and_deliver_log_one_line_per_delivery(server):
    srv = server
    client = lmtp(srv)
    client.sendmail("bob@example.org", ["alice@example.org"], message(subject="Via LMTP"))
    client.quit()
    lines = wait_log(srv, r"delivered: proto=lmtp ")
    assert len(lines) == 1, lines
    assert re.search(r"delivered: proto=lmtp session=\d+ rip=127\.0\.0\.1 from=<bob@example\.org> "
                     r"rcpt=<alice@example\.org> size=\d+ mailbox=INBOX uid=1 id=\w+$", lines[0]), lines

    r = srv.cli("deliver", "--user", "alice", "--from", "carol@example.org",
                input=message(subject="Via deliver").encode())
    err = r.stderr.decode()
    found = re.findall(r"delivered: proto=cli from=<carol@example\.org> user=alice size=(\d+) "
                       r"mailbox=INBOX uid=2$", err, re.M)
    assert len(found) == 1, err


def test_rejections_log_their_reason(make_server):
    srv = make_server(config={"delivery": {"domains": ["example.org"]},
                              "limits": {"max_message_size": "20K"},
                              "quota": {"messages": 1}},
                      users={"alice": "secret", "full": "pw"})
    srv.deliver("full", message(subject="fills the quota"))

    client = lmtp(srv)
    code, _ = client.docmd("MAIL FROM:<bob@example.org>")
    assert code == 250
    assert client.docmd("RCPT TO:<nobody@example.org>")[0] == 550
    assert client.docmd("RCPT TO:<full@example.org>")[0] in (452, 552)
    client.docmd("RSET")
    assert client.docmd("MAIL FROM:<bob@example.org> SIZE=99999999")[0] == 552
    client.quit()
    wait_log(srv, r'reason="too big"')
    assert log_lines(srv, r'rejected: proto=lmtp .*from=<bob@example\.org> rcpt=<nobody@example\.org> '
                          r'reason="unknown user"')
    assert log_lines(srv, r'rejected: proto=lmtp .*rcpt=<full@example\.org> reason="over quota"')
    assert log_lines(srv, r'rejected: proto=lmtp .*from=<bob@example\.org> rcpt=<> reason="too big"')

    # SMTP: a domain that is not one of [delivery] domains; the reply says so.
    s = smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10)
    s.ehlo("client.example.net")
    s.mail("bob@example.org")
    code, text = s.rcpt("bob@other.org")
    assert code == 550
    assert text.decode() == ("5.7.1 <bob@other.org>: domain other.org is not one of [delivery] domains; "
                             "relay access denied")
    s.quit()
    wait_log(srv, r'rejected: proto=smtp .*rcpt=<bob@other\.org> reason="relay denied"')

    # deliver: unknown user, over quota, too big.
    r = srv.cli("deliver", "--user", "ghost", input=message().encode(), check=False)
    assert r.returncode == 67 and b'rejected: proto=cli from=<> user=ghost reason="unknown user"' in r.stderr
    r = srv.cli("deliver", "--user", "full", input=message().encode(), check=False)
    assert r.returncode == 77 and b'user=full reason="over quota"' in r.stderr
    r = srv.cli("deliver", "--user", "alice", input=message(body="x" * 40000 + "\r\n").encode(),
                check=False)
    assert r.returncode == 65 and b'user=alice reason="too big"' in r.stderr


def test_failed_logins_are_fail2ban_lines_with_the_reason(server):
    srv = server
    answers = []
    for user, password in (("alice", "wrong"), ("nobody", "secret")):
        imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
        with pytest.raises(imaplib.IMAP4.error) as e:
            imap.login(user, password)
        answers.append(("imap", str(e.value)))
        imap.logout()
        p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
        p.user(user)
        with pytest.raises(poplib.error_proto) as e:
            p.pass_(password)
        answers.append(("pop3", str(e.value)))
        p.quit()
    # The client cannot tell an unknown user from a wrong password.
    assert answers[0][1] == answers[2][1] and answers[1][1] == answers[3][1], answers

    for proto in ("imap", "pop3"):
        wait_log(srv, rf'login failed: proto={proto} .*user=nobody reason="unknown user"')
        assert log_lines(srv, rf'login failed: proto={proto} session=\d+ rip=127\.0\.0\.1 user=alice '
                              r'reason="wrong password"')

    # A user name that tries to pose as other fields is escaped.
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login('"x reason=\\"y\\" rip=6.6.6.6"', "pw")  # imaplib does not quote it
    imap.logout()
    wait_log(srv, r"user=x\\x20reason=")

    hosts = fail2ban_hosts(srv.log())
    assert len(hosts) == 5 and set(hosts) == {"127.0.0.1"}, hosts
    # Transcript lines (debug, with the client's words) never match.
    assert log_lines(srv, r"debug .*LOGIN")


def test_smtp_auth_failure_is_logged(server):
    srv = server
    s = smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10)
    s.ehlo("client.example.net")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login("alice", "nope")
    s.quit()
    wait_log(srv, r'login failed: proto=smtp session=\d+ rip=127\.0\.0\.1 user=alice reason="wrong password"')
    hosts = fail2ban_hosts(srv.log())  # smtplib tries PLAIN, then LOGIN
    assert hosts and set(hosts) == {"127.0.0.1"}, hosts


# --- views and journal -------------------------------------------------------


def test_views_and_journal_show_the_delete_mode_and_its_source(make_server):
    srv = make_server(start=False)
    out = srv.cli("views", "alice").stdout.decode()
    assert "POP3 delete mode: expunge (built-in default)" in out
    assert views_json(srv)["pop3_delete_mode"] == {"mode": "expunge", "source": "default"}

    env = dict(os.environ, PILLARBOX_POP3_DELETE_MODE="deny")
    r = subprocess.run([BIN, "views", "alice", "--json", "--config", srv.config_path], env=env,
                       capture_output=True, timeout=60, check=True)
    assert json.loads(r.stdout)["pop3_delete_mode"] == {"mode": "deny", "source": "env"}

    srv.sections["pop3"]["delete_mode"] = "move:Archive"
    srv.write_config()
    assert views_json(srv)["pop3_delete_mode"] == {"mode": "move:Archive", "source": "config"}

    srv.cli("user", "set", "alice", "pop3.delete_mode=hide")
    assert views_json(srv)["pop3_delete_mode"] == {"mode": "hide", "source": "user"}
    journal = srv.cli("journal", "alice").stdout.decode().splitlines()
    assert journal[0].startswith("# alice: POP3 delete mode hide (user override")
    assert journal[1].split()[:2] == ["TIME", "BY"]


def test_top_of_the_whole_message_is_journaled_as_a_download(server):
    srv = server
    srv.deliver("alice", message(subject="Kept"))
    p = pop_login(srv)
    p.top(1, 0)        # headers only: not a download
    p.top(1, 100000)   # fetchmail --keep: the whole message
    p.quit()
    events = journal_json(srv)
    retrieved = [e for e in events if e["kind"] == "pop3-retrieved"]
    assert len(retrieved) == 1, events
    assert retrieved[0]["detail"] == "TOP returned the whole message"
    msg = views_json(srv)["messages"][0]
    assert msg["downloaded"] is not None and "\\Seen" not in msg["flags"]


def test_pending_dele_shows_in_views(server):
    srv = server
    srv.deliver("alice", message(subject="Pending"))
    srv.deliver("alice", message(subject="Stays"))
    p = pop_login(srv)
    try:
        p.dele(1)

        def pending():
            data = views_json(srv)
            return data if data["messages"][0]["delete_pending_session"] else None
        data = wait_for(pending, what="pending DELE in views --json")
        session = data["messages"][0]["delete_pending_session"]
        assert data["messages"][1]["delete_pending_session"] is None
        out = srv.cli("views", "alice").stdout.decode()
        row = next(line for line in out.splitlines() if "Pending" in line)
        assert f"delete pending #{session}" in row, out
    finally:
        p.quit()
    assert "delete pending" not in srv.cli("views", "alice").stdout.decode()


def test_imap_move_out_of_inbox_is_gone_from_inbox(server):
    srv = server
    srv.deliver("alice", message(subject="Moved away"))
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login("alice", "secret")
    imap.select("INBOX")
    typ, _ = imap.uid("MOVE", "1", "Archive")
    assert typ == "OK"
    imap.logout()
    out = srv.cli("views", "alice").stdout.decode()
    gone = out.split("Gone from INBOX")[1].split("Live sessions")[0]
    assert "moved" in gone and "Moved away" in gone, out
    entry = views_json(srv)["gone"][0]
    assert entry["kind"] == "moved" and entry["mailbox"] == "Archive" and entry["protocol"] == "imap"


def test_pop3_move_records_destination_and_uid(server):
    srv = server
    srv.cli("user", "set", "alice", "pop3.delete_mode=move:Archive")
    srv.deliver("alice", message(subject="To archive"))
    p = pop_login(srv)
    p.dele(1)
    p.quit()
    deleted = [e for e in journal_json(srv) if e["kind"] == "pop3-deleted"]
    assert deleted[0]["detail"] == "move:Archive, now Archive UID 1", deleted
    gone = views_json(srv)["gone"]
    assert gone[0]["detail"] == "move:Archive, now Archive UID 1"


def test_refused_dele_in_deny_mode_is_journaled(server):
    srv = server
    srv.cli("user", "set", "alice", "pop3.delete_mode=deny")
    srv.deliver("alice", message(subject="Read only"))
    p = pop_login(srv)
    with pytest.raises(poplib.error_proto, match="SYS/PERM"):
        p.dele(1)
    p.quit()
    refused = [e for e in journal_json(srv) if e["kind"] == "pop3-delete-refused"]
    assert len(refused) == 1 and refused[0]["uid"] == 1 and refused[0]["protocol"] == "pop3"
    assert refused[0]["subject"] == "Read only"
    assert "pop3-delete-refused" in srv.cli("journal", "alice").stdout.decode()


def test_json_output_has_the_documented_fields(server):
    srv = server
    srv.deliver("alice", message(subject="Json"))
    p = pop_login(srv)
    try:
        data = wait_for(lambda: (lambda d: d if d["live_sessions"] else None)(views_json(srv)),
                        what="live session in views --json")
    finally:
        p.quit()
    # The same rendering as GET /api/v1/users/{name}/views.
    assert set(data) == {"user", "pop3_delete_mode", "pop3_delete_mode_explained", "inbox",
                         "messages", "gone", "live_sessions", "pop3_lock_session"}
    assert set(data["inbox"]) == {"messages", "pop3_visible", "uidvalidity", "uidnext"}
    assert set(data["messages"][0]) == {"uid", "uidl", "pop3_number", "size", "flags",
                                        "hidden_from_pop3", "downloaded", "delete_pending_session",
                                        "pop3_state", "subject"}
    assert set(data["live_sessions"][0]) == {"session", "protocol", "peer", "mailbox", "since", "pid",
                                             "holds_pop3_lock", "client_id"}
    assert data["pop3_lock_session"] == data["live_sessions"][0]["session"]
    events = journal_json(srv)
    assert isinstance(events, list) and events[0]["kind"] == "delivered"
    assert set(events[0]) == {"time", "seq", "kind", "protocol", "session", "peer", "mailbox", "uid",
                              "uidl", "subject", "detail"}
    assert events[0]["subject"] == "Json"


def test_views_fits_in_100_columns(server):
    srv = server
    srv.deliver("alice", message(subject="Long " + "subject " * 60))
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login("alice", "secret")
    imap.select("INBOX")
    imap.uid("STORE", "1", "+FLAGS", "(\\Flagged \\Answered $Label1 $Label2)")
    imap.logout()
    srv.deliver("alice", message(subject="Gone " + "subject " * 60))
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login("alice", "secret")
    imap.select("INBOX")
    imap.uid("MOVE", "2", "Trash")
    imap.logout()
    out = srv.cli("views", "alice").stdout.decode()
    assert all(len(line) <= 100 for line in out.splitlines()), out
    assert "Long subject" in out and "\u2026" in out


def test_user_unhide_makes_messages_visible_to_pop3_again(server):
    srv = server
    srv.cli("user", "set", "alice", "pop3.delete_mode=hide")
    for i in range(3):
        srv.deliver("alice", message(subject=f"Hidden {i}"))
    p = pop_login(srv)
    for i in (1, 2, 3):
        p.dele(i)
    p.quit()
    p = pop_login(srv)
    assert p.stat()[0] == 0
    p.quit()

    assert srv.cli("user", "unhide", "alice", check=False).returncode == 64
    assert srv.cli("user", "unhide", "alice", "x", check=False).returncode == 64
    assert srv.cli("user", "unhide", "ghost", "--all", check=False).returncode == 67
    r = srv.cli("user", "unhide", "alice", "2", "9")
    assert b"1 message visible to POP3 again (INBOX UIDs 2)" in r.stdout, r.stdout
    assert b"UID 9: not hidden" in r.stdout
    p = pop_login(srv)
    assert p.stat()[0] == 1
    p.quit()
    r = srv.cli("user", "unhide", "alice", "--all")
    assert b"2 messages visible to POP3 again (INBOX UIDs 1 3)" in r.stdout, r.stdout
    p = pop_login(srv)  # a new phone
    assert p.stat()[0] == 3
    p.quit()
    unhidden = [e for e in journal_json(srv) if e["kind"] == "unhidden"]
    assert sorted(e["uid"] for e in unhidden) == [1, 2, 3]
    assert all(e["protocol"] == "cli" for e in unhidden)
    assert views_json(srv)["inbox"]["pop3_visible"] == 3
