"""Recorded protocol transcripts ([dev] transcripts): GET /api/v1/transcripts,
GET /api/v1/sessions/{id}/transcript and [dev] transcript_dir, against the
real binary with imaplib, poplib and smtplib."""

import imaplib
import os
import poplib

from conftest import message, wait_for
from test_http_api import call


def transcript_server(make_server, **dev):
    return make_server(config={"dev": {"transcripts": True, **dev}})


def sessions(srv, protocol):
    status, _, body = call(srv, "GET", "/api/v1/transcripts")
    assert status == 200, body
    return [t for t in body["transcripts"] if t["protocol"] == protocol]


def transcript(srv, session):
    status, headers, body = call(srv, "GET", f"/api/v1/sessions/{session}/transcript")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain")
    return body.decode()


def test_imap_transcript_is_redacted_and_shows_faults(make_server):
    srv = transcript_server(make_server, transcript_dir="transcripts")
    call(srv, "PUT", "/api/v1/faults", [{"protocol": "imap", "command": "NOOP", "action": "reply",
                                         "reply": "NO [UNAVAILABLE] injected"}])
    conn = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    conn.login("alice", "secret")
    big = message(subject="big", body="z" * 20000 + "\r\n").encode()
    assert conn.append("INBOX", None, None, big)[0] == "OK"
    assert conn.noop()[0] == "NO"
    # (The harness's readiness probes may have left closed ones.)
    [live] = [t for t in sessions(srv, "imap") if t["live"]]
    text = transcript(srv, live["session"])
    assert "(live)" in text.splitlines()[0]
    conn.logout()

    text = wait_for(lambda: (lambda t: t if "(closed)" in t else None)(transcript(srv, live["session"])),
                    what="the closed transcript")
    assert "secret" not in text
    assert " C: " in text and " S: " in text
    assert "LOGIN alice ***" in text
    # The 20 kB literal is one line, not its bytes.
    assert f"[{len(big)} bytes of literal data]" in text and "zzzz" not in text
    assert "!: fault: NOOP reply NO [UNAVAILABLE] injected" in text
    assert "NO [UNAVAILABLE] injected" in text.split("!: fault")[1]

    path = os.path.join(srv.data_dir, "transcripts", f"{live['session']}-imap.log")
    wait_for(lambda: os.path.exists(path) and "LOGOUT" in open(path).read(), what=path)
    with open(path) as f:
        on_disk = f.read()
    assert "LOGIN alice ***" in on_disk and "secret" not in on_disk


def test_pop3_and_smtp_are_recorded_and_old_sessions_dropped(make_server):
    srv = transcript_server(make_server, transcript_sessions=2)
    srv.deliver("alice", message(subject="hello"))
    pop_ids = []
    for _ in range(3):
        pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
        pop.user("alice")
        pop.pass_("secret")
        pop.stat()
        pop.quit()
    pops = wait_for(lambda: (lambda s: s if len(s) == 2 and not any(t["live"] for t in s) else None)(
        sessions(srv, "pop3")), what="two closed POP3 transcripts")
    pop_ids = [t["session"] for t in pops]
    text = transcript(srv, pop_ids[0])
    assert "C: PASS ***" in text and "secret" not in text and "C: STAT" in text
    # Only the last two closed sessions are kept.
    oldest = min(pop_ids) - 1
    status, _, body = call(srv, "GET", f"/api/v1/sessions/{oldest}/transcript")
    assert status == 404
    status, _, body = call(srv, "GET", "/api/v1/sessions/x1/transcript")
    assert status == 400


def test_transcripts_off_by_default(server):
    status, _, body = call(server, "GET", "/api/v1/transcripts")
    assert status == 404 and "[dev] transcripts" in body["error"]
