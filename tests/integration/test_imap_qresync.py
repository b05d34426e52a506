"""CONDSTORE/QRESYNC (RFC 7162) end to end: a client remembers INBOX's
HIGHESTMODSEQ, then another IMAP session changes flags and expunges, and a
POP3 session deletes a message (delete mode expunge); a reconnect with
QRESYNC gets exactly those changes: VANISHED (EARLIER) for the expunged
UIDs and FETCH for the changed flags. Driven by imapflow (qresync: true)
and by imaplib with raw commands (exact lines)."""

import imaplib
import json
import os
import poplib
import re
import shutil
import subprocess

import pytest

from conftest import message

USER, PASSWORD = "alice", "secret"
NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def imap_login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    return conn


def raw(conn, line):
    """Sends one tagged command; returns the untagged lines and the tagged one."""
    tag = conn._new_tag().decode()
    conn.send(f"{tag} {line}\r\n".encode())
    lines = []
    while True:
        got = conn.readline().decode().rstrip("\r\n")
        if got.startswith(tag + " "):
            return lines, got
        lines.append(got)


def make_changes(server):
    """Six messages; returns INBOX's UIDVALIDITY and HIGHESTMODSEQ before
    another IMAP session flags UID 2, expunges UIDs 3 and 5, and POP3
    deletes the first message (UID 1)."""
    for i in range(6):
        server.deliver(USER, message(subject=f"m{i + 1}"))
    conn = imap_login(server)
    untagged, done = raw(conn, "STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")
    assert done.split()[1] == "OK", done
    m = re.search(r"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", untagged[0])
    uidvalidity, modseq = int(m.group(1)), int(m.group(2))

    conn.select("INBOX")
    conn.uid("STORE", "2", "+FLAGS", r"(\Flagged)")
    conn.uid("STORE", "3,5", "+FLAGS", r"(\Deleted)")
    conn.expunge()
    conn.logout()

    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user(USER)
    pop.pass_(PASSWORD)
    pop.dele(1)
    pop.quit()
    return uidvalidity, modseq


@pytest.fixture
def expunging_server(make_server):
    return make_server(config={"pop3": {"delete_mode": "expunge"}})


def test_qresync_reconnect_gets_exactly_the_changes(expunging_server):
    server = expunging_server
    uidvalidity, modseq = make_changes(server)
    conn = imap_login(server)
    untagged, done = raw(conn, "SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq))
    assert done.split()[1] == "BAD", "QRESYNC without ENABLE must be refused"
    untagged, done = raw(conn, "ENABLE QRESYNC")
    assert untagged == ["* ENABLED QRESYNC"], untagged
    untagged, done = raw(conn, "SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq))
    assert " OK [READ-WRITE]" in done, done
    assert "* 3 EXISTS" in untagged, untagged
    highest = [l for l in untagged if l.startswith("* OK [HIGHESTMODSEQ ")]
    assert len(highest) == 1, untagged
    new_modseq = int(re.search(r"HIGHESTMODSEQ (\d+)", highest[0]).group(1))
    assert new_modseq > modseq
    assert [l for l in untagged if "VANISHED" in l] == ["* VANISHED (EARLIER) 1,3,5"], untagged
    fetches = [l for l in untagged if " FETCH " in l]
    assert len(fetches) == 1, untagged
    assert re.fullmatch(r"\* 1 FETCH \(UID 2 FLAGS \(\\Flagged( \\Recent)?\) MODSEQ \((\d+)\)\)",
                        fetches[0]), fetches
    # Nothing changed since: an empty resync; the known UIDs limit VANISHED.
    untagged, done = raw(conn, "SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, new_modseq))
    assert untagged[0] == "* OK [CLOSED] Previous mailbox closed.", untagged
    assert not [l for l in untagged if "VANISHED" in l or " FETCH " in l], untagged
    untagged, done = raw(conn, "SELECT INBOX (QRESYNC (%d %d 2:4))" % (uidvalidity, modseq))
    assert [l for l in untagged if "VANISHED" in l] == ["* VANISHED (EARLIER) 3"], untagged
    # UID FETCH ... (CHANGEDSINCE n VANISHED) gives the same answer.
    untagged, done = raw(conn, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq)
    assert untagged[0] == "* VANISHED (EARLIER) 1,3,5", untagged
    assert len(untagged) == 2 and "UID 2 " in untagged[1], untagged
    conn.logout()


def have_imapflow():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_DIR, "node_modules", "imapflow"))


def run_imapflow(server, mode, uidvalidity=None, modseq=None):
    env = dict(os.environ)
    env.update({
        "PB_HOST": "127.0.0.1",
        "PB_PORT": str(server.ports["imap"]),
        "PB_USER": USER,
        "PB_PASS": PASSWORD,
        "PB_MODE": mode,
    })
    if uidvalidity is not None:
        env["PB_UIDVALIDITY"] = str(uidvalidity)
        env["PB_MODSEQ"] = str(modseq)
    r = subprocess.run(["node", os.path.join(NODE_DIR, "imapflow_qresync.mjs")], cwd=NODE_DIR, env=env,
                       capture_output=True, timeout=40)
    events = {}
    for line in r.stdout.decode().splitlines():
        e = json.loads(line)
        events[e["event"]] = e
    assert "error" not in events and r.returncode == 0, (events, r.stderr.decode(errors="replace"))
    return events


def test_imapflow_qresync_resync(expunging_server):
    # ./test.sh installs node and runs `npm ci` in tests/integration/node.
    assert have_imapflow(), "node or imapflow is not installed (./test.sh installs them)"
    server = expunging_server
    for i in range(6):
        server.deliver(USER, message(subject=f"m{i + 1}"))
    first = run_imapflow(server, "remember")
    assert "QRESYNC" in first["connected"]["enabled"], first
    uidvalidity, modseq = first["opened"]["uidValidity"], first["opened"]["highestModseq"]

    conn = imap_login(server)
    conn.select("INBOX")
    conn.uid("STORE", "2", "+FLAGS", r"(\Flagged)")
    conn.uid("STORE", "3,5", "+FLAGS", r"(\Deleted)")
    conn.expunge()
    conn.logout()
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user(USER)
    pop.pass_(PASSWORD)
    pop.dele(1)
    pop.quit()

    again = run_imapflow(server, "resync", uidvalidity, modseq)
    assert again["opened"]["qresync"] is True, again
    assert again["opened"]["exists"] == 3
    assert int(again["opened"]["highestModseq"]) > int(modseq)
    changes = again["changes"]
    assert sorted(v["uid"] for v in changes["vanished"]) == [1, 3, 5], changes
    assert all(v["vanished"] and v["earlier"] for v in changes["vanished"]), changes
    assert [(f["uid"], f["flags"]) for f in changes["flags"]] == [(2, ["\\Flagged"])], changes


def test_minimal_sync_profile_turns_both_off(make_server):
    server = make_server(config={"imap": {"profile": "minimal-sync"}})
    server.deliver(USER, message(subject="one"))
    conn = imap_login(server)
    caps = conn.capability()[1][0].decode().upper().split()
    assert "CONDSTORE" not in caps and "QRESYNC" not in caps, caps
    untagged, done = raw(conn, "ENABLE CONDSTORE QRESYNC")
    assert untagged == ["* ENABLED"], untagged
    untagged, done = raw(conn, "SELECT INBOX (CONDSTORE)")
    assert done.split()[1] == "BAD", done
    untagged, done = raw(conn, "SELECT INBOX")
    assert not [l for l in untagged if "HIGHESTMODSEQ" in l], untagged
    untagged, done = raw(conn, "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert done.split()[1] == "BAD", done
    untagged, done = raw(conn, "FETCH 1:* (FLAGS)")
    assert done.split()[1] == "OK", done
    conn.logout()
