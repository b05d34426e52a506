"""Fault injection through PUT/GET/DELETE /api/v1/faults against the real
binary, seen by imaplib and poplib."""

import imaplib
import json
import os
import poplib
import smtplib
import socket
import time

import pytest

from conftest import message, read_line
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


def test_lmtp_rcpt_452_for_one_recipient(make_server):
    srv = make_server(users={"alice": "secret", "bob": "secret"})
    put_faults(srv, [{"protocol": "lmtp", "command": "RCPT", "user": "bob", "action": "reply",
                      "reply": "452 4.2.2 injected"}])
    with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=10) as lmtp:
        refused = lmtp.sendmail("carol@example.org", ["alice@example.org", "bob@example.org"],
                                message(subject="to both").encode())
    # Only bob's RCPT failed, with exactly the injected reply; alice got it.
    assert refused == {"bob@example.org": (452, b"4.2.2 injected")}
    assert "to both" in srv.cli("views", "alice").stdout.decode()
    assert "to both" not in srv.cli("views", "bob").stdout.decode()


def test_smtp_data_disconnect_and_delay(server):
    put_faults(server, [{"protocol": "smtp", "command": "MAIL", "action": "delay", "delay_ms": 300,
                         "count": 1},
                        {"protocol": "smtp", "command": "DATA", "action": "disconnect", "count": 1}])
    with smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=10) as smtp:
        smtp.ehlo("client.example")
        started = time.monotonic()
        assert smtp.mail("carol@example.org")[0] == 250
        assert time.monotonic() - started >= 0.25
        assert smtp.rcpt("alice@localhost")[0] == 250
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.data(message(subject="never").encode())
    # The rules were used up: the next message goes through.
    with smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=10) as smtp:
        smtp.sendmail("carol@example.org", ["alice@localhost"], message(subject="later").encode())
    views = server.cli("views", "alice").stdout.decode()
    assert "later" in views and "never" not in views


def test_smtp_reply_must_carry_a_code(server):
    status, _, body = call(server, "PUT", "/api/v1/faults",
                           [{"protocol": "smtp", "command": "RCPT", "action": "reply",
                             "reply": "injected"}])
    assert status == 400 and "code" in body["error"], body


def imap_raw_login(srv):
    sock = socket.create_connection(("127.0.0.1", srv.ports["imap"]), timeout=10)
    assert read_line(sock).startswith(b"* OK")
    sock.sendall(b"a1 LOGIN alice secret\r\n")
    assert read_until_tag(sock, b"a1").startswith(b"a1 OK")
    sock.sendall(b"a2 SELECT INBOX\r\n")
    assert read_until_tag(sock, b"a2").startswith(b"a2 OK")
    return sock


def read_until_tag(sock, tag):
    while True:
        line = read_line(sock)
        if not line or line.startswith(tag + b" "):
            return line


def test_imap_bye_during_idle(server):
    put_faults(server, [{"protocol": "imap", "command": "IDLE", "action": "untagged",
                         "reply": "BYE Server going down (injected)", "delay_ms": 300}])
    sock = imap_raw_login(server)
    sock.sendall(b"a3 IDLE\r\n")
    assert read_line(sock).startswith(b"+ ")
    # The surprise arrives while idling, then the server closes.
    assert read_line(sock) == b"* BYE Server going down (injected)\r\n"
    assert read_line(sock) == b""
    sock.close()


def test_imap_untagged_expunge_surprise(server):
    server.deliver(USER, message(subject="one"))
    put_faults(server, [{"protocol": "imap", "command": "NOOP", "action": "untagged",
                         "reply": "1 EXPUNGE", "count": 1}])
    sock = imap_raw_login(server)
    sock.sendall(b"a3 NOOP\r\n")
    assert read_line(sock) == b"* 1 EXPUNGE\r\n"
    assert read_until_tag(sock, b"a3").startswith(b"a3 OK")
    sock.close()


def test_faults_from_the_config_file(make_server):
    srv = make_server(start=False)
    srv.extra_toml = ("\n[[faults]]\nprotocol = \"imap\"\ncommand = \"SELECT\"\naction = \"reply\"\n"
                      "reply = \"NO [UNAVAILABLE] from the config\"\n")
    srv.write_config()
    check = srv.cli("check-config").stdout.decode()
    assert "from the config" in check
    srv.start()
    conn = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    typ, data = conn.select("INBOX")
    assert typ == "NO" and data == [b"[UNAVAILABLE] from the config"]
    conn.logout()
    assert call(srv, "GET", "/api/v1/faults")[2][0]["reply"] == "NO [UNAVAILABLE] from the config"


def test_bad_faults_in_the_config_file_stop_the_start(make_server):
    srv = make_server(start=False)
    srv.extra_toml = "\n[[faults]]\nprotocol = \"imap\"\naction = \"explode\"\n"
    srv.write_config()
    result = srv.cli("check-config", check=False)
    assert result.returncode != 0
    assert "[[faults]]" in result.stderr.decode() and "action" in result.stderr.decode()


def test_faults_command_line(server):
    url = f"http://127.0.0.1:{server.ports['http']}"
    rule = json.dumps({"protocol": "pop3", "command": "STAT", "action": "reply",
                       "reply": "-ERR [SYS/TEMP] from the CLI"})
    out = server.cli("faults", "add", rule, "--url", url).stdout.decode()
    assert json.loads(out)[0]["reply"] == "-ERR [SYS/TEMP] from the CLI"
    # The default target is the config's [http] listener.
    assert json.loads(server.cli("faults", "list").stdout)[0]["command"] == "STAT"
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user(USER)
    pop.pass_(PASSWORD)
    with pytest.raises(poplib.error_proto, match="from the CLI"):
        pop.stat()
    pop.quit()
    bad = server.cli("faults", "add", '{"protocol": "pop3", "action": "nope"}', check=False)
    assert bad.returncode != 0 and "action" in bad.stderr.decode()
    rules_file = os.path.join(server.workdir, "rules.json")
    with open(rules_file, "w") as f:
        json.dump([{"protocol": "imap", "command": "LIST", "action": "delay", "delay_ms": 10}], f)
    assert json.loads(server.cli("faults", "set", rules_file).stdout)[0]["command"] == "LIST"
    assert json.loads(server.cli("faults", "clear").stdout) == []
    assert call(server, "GET", "/api/v1/faults")[2] == []
