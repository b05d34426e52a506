"""Fault injection through PUT/GET/DELETE /api/v1/faults against the real
binary, seen by imaplib and poplib."""

import imaplib
import poplib

import pytest

from conftest import message
from test_http_api import call

USER, PASSWORD = "alice", "secret"


def put_faults(srv, rules):
    status, _, body = call(srv, "PUT", "/api/v1/faults", rules)
    assert status == 200, body
    return body


def test_faults_api_validates_lists_and_clears(server):
    status, _, body = call(server, "PUT", "/api/v1/faults",
                           [{"protocol": "imap", "command": "FETCH", "action": "explode"}])
    assert status == 400, body
    status, _, body = call(server, "PUT", "/api/v1/faults",
                           [{"protocol": "imap", "action": "bye", "colour": "red"}])
    assert status == 400, body
    rules = [{"protocol": "imap", "command": "FETCH", "user": "bob", "action": "reply",
              "reply": "NO [UNAVAILABLE] injected", "count": 1},
             {"protocol": "pop3", "command": "RETR", "action": "disconnect", "after_bytes": 100},
             {"protocol": "lmtp", "command": "RCPT", "action": "reply",
              "reply": "452 4.2.2 injected", "probability": 0.5},
             {"protocol": "imap", "command": "SELECT", "action": "delay", "delay_ms": 2000}]
    put_faults(server, rules)
    status, _, body = call(server, "GET", "/api/v1/faults")
    assert status == 200
    assert [r["action"] for r in body] == ["reply", "disconnect", "reply", "delay"]
    assert body[0]["count"] == 1 and body[3]["delay_ms"] == 2000
    status, _, _ = call(server, "DELETE", "/api/v1/faults")
    assert status == 204
    assert call(server, "GET", "/api/v1/faults")[2] == []


def test_imap_reply_fault_fires_count_times(server):
    server.deliver(USER, message(subject="one"))
    put_faults(server, [{"protocol": "imap", "command": "FETCH", "user": USER,
                         "action": "reply", "reply": "NO [UNAVAILABLE] injected", "count": 1}])
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    typ, data = conn.fetch("1", "(FLAGS)")
    assert typ == "NO" and data == [b"[UNAVAILABLE] injected"]
    typ, data = conn.fetch("1", "(FLAGS)")
    assert typ == "OK"
    conn.logout()
    assert "fault injected" in server.log()


def test_imap_fetch_disconnect_mid_literal(server):
    body = "x" * 5000 + "\r\n"
    server.deliver(USER, message(subject="big", body=body))
    put_faults(server, [{"protocol": "imap", "command": "FETCH", "action": "disconnect",
                         "after_bytes": 200}])
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    with pytest.raises(imaplib.IMAP4.abort):
        conn.fetch("1", "(BODY[])")


def test_imap_bye_fault(server):
    put_faults(server, [{"protocol": "imap", "command": "SELECT", "action": "bye",
                         "reply": "Going away (injected)"}])
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    with pytest.raises(imaplib.IMAP4.abort):
        conn.select("INBOX")


def test_pop3_retr_err_and_disconnect(server):
    server.deliver(USER, message(subject="one", body="y" * 3000 + "\r\n"))
    put_faults(server, [{"protocol": "pop3", "command": "RETR", "action": "reply",
                         "reply": "-ERR [SYS/TEMP] injected", "count": 1},
                        {"protocol": "pop3", "command": "RETR", "action": "disconnect",
                         "after_bytes": 100}])
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user(USER)
    pop.pass_(PASSWORD)
    with pytest.raises(poplib.error_proto, match="injected"):
        pop.retr(1)
    with pytest.raises((poplib.error_proto, EOFError, ConnectionError)):
        pop.retr(1)
