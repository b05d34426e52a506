"""The HTTP API against the real binary, with Python's urllib: every
endpoint, auth, bad input, and the event stream seeing an LMTP delivery and a
POP3 QUIT."""

import json
import os
import poplib
import smtplib
import socket
import stat
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import message, wait_for


def token_of(srv):
    with open(os.path.join(srv.data_dir, "http-token")) as f:
        return f.read().strip()


def call(srv, method, path, body=None, token=True, raw=False, headers=None, timeout=10):
    """(status, headers, parsed JSON or bytes)."""
    url = f"http://127.0.0.1:{srv.ports['http']}{path}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token_of(srv) if token is True else token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, payload = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, e.headers, e.read()
    if raw or not payload or not hdrs.get("Content-Type", "").startswith("application/json"):
        return status, hdrs, payload
    return status, hdrs, json.loads(payload)


def lmtp_deliver(srv, rcpt, msg):
    with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=10) as lmtp:
        lmtp.sendmail("bob@example.org", [rcpt], msg.encode() if isinstance(msg, str) else msg)


ATTACHMENT_MESSAGE = (
    "From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: Report\r\n"
    "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
    "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n"
    "--XX\r\nContent-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--XX--\r\n")


def test_token_generated_with_mode_0600_and_named_in_the_log(server):
    path = os.path.join(server.data_dir, "http-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(token_of(server)) == 64
    assert "http-token" in server.log()


def test_healthz_and_metrics_need_no_token(server):
    status, _, body = call(server, "GET", "/healthz", token=False)
    assert status == 200 and body == {"status": "ok"}
    status, hdrs, text = call(server, "GET", "/metrics", token=False)
    assert status == 200
    assert hdrs["Content-Type"].startswith("text/plain")


def test_api_refuses_a_missing_or_wrong_token(server):
    status, hdrs, body = call(server, "GET", "/api/v1/users", token=False)
    assert status == 401 and "error" in body
    assert hdrs["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = call(server, "GET", "/api/v1/users", token="0" * 64)
    assert status == 401
    status, _, _ = call(server, "GET", "/api/v1/sessions", token=False)
    assert status == 401


def test_login_sets_an_httponly_cookie_that_authorizes(server):
    status, _, _ = call(server, "POST", "/api/v1/login", {"token": "wrong"}, token=False)
    assert status == 401
    status, hdrs, _ = call(server, "POST", "/api/v1/login", {"token": token_of(server)}, token=False)
    assert status == 204
    cookie = hdrs["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    value = cookie.split(";")[0]
    status, _, body = call(server, "GET", "/api/v1/users", token=False, headers={"Cookie": value})
    assert status == 200 and [u["name"] for u in body["users"]] == ["alice"]


def test_auth_none_needs_no_token(make_server):
    srv = make_server(config={"http": {"auth": "none"}})
    status, _, body = call(srv, "GET", "/api/v1/users", token=False)
    assert status == 200 and body["users"][0]["name"] == "alice"


def test_users_mailboxes_messages_raw_and_parts(server):
    server.deliver("alice", message(subject="First"))
    server.deliver("alice", ATTACHMENT_MESSAGE)
    status, _, body = call(server, "GET", "/api/v1/users")
    assert status == 200 and body["users"][0]["used_messages"] == 2

    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes")
    assert status == 200
    inbox = next(m for m in body["mailboxes"] if m["name"] == "INBOX")
    assert inbox["messages"] == 2 and inbox["uidnext"] == 3 and inbox["uidvalidity"] > 0
    assert any(m["special_use"] == "\\Trash" for m in body["mailboxes"])

    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages")
    assert status == 200 and body["total"] == 2
    newest, oldest = body["messages"]
    assert (newest["uid"], oldest["uid"]) == (2, 1)  # newest first
    assert newest["subject"] == "Report" and newest["from"] == "Carol <carol@example.org>"
    assert newest["attachments"] == 1 and oldest["attachments"] == 0
    assert newest["pop3_state"] == "visible" and len(newest["uidl"]) > 0

    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages?limit=1&offset=1")
    assert [m["uid"] for m in body["messages"]] == [1] and body["total"] == 2
    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages?q=carol")
    assert [m["uid"] for m in body["messages"]] == [2]

    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages/2")
    assert status == 200
    assert body["text"].startswith("See the attachment.")
    assert [p["type"] for p in body["structure"]["parts"]] == ["text/plain", "application/octet-stream"]
    assert body["attachment_parts"] == [{"section": "2", "filename": "data.bin",
                                         "type": "application/octet-stream", "size": 8}]
    assert [e["kind"] for e in body["journal"]] == ["delivered"]

    status, hdrs, raw = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages/2/raw")
    assert status == 200 and hdrs["Content-Type"] == "message/rfc822"
    assert raw == ATTACHMENT_MESSAGE.encode()

    status, hdrs, data = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages/2/parts/2")
    assert status == 200 and data == b"\x00\x01\x02\x03\x04"
    assert hdrs["Content-Type"] == "application/octet-stream"
    assert "data.bin" in hdrs["Content-Disposition"]
    status, hdrs, data = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages/2/parts/1")
    assert data == b"See the attachment." and hdrs["Content-Type"].startswith("text/plain")


def test_not_found_and_bad_input_have_the_right_status(server):
    server.deliver("alice", message())
    for path in ("/api/v1/users/nobody/mailboxes", "/api/v1/users/alice/mailboxes/Nope/messages",
                 "/api/v1/users/alice/mailboxes/INBOX/messages/99",
                 "/api/v1/users/alice/mailboxes/INBOX/messages/1/parts/7", "/api/v1/nothing",
                 "/api/v1/users/nobody/journal", "/api/v1/users/nobody/views"):
        status, _, body = call(server, "GET", path)
        assert status == 404, path
        assert "error" in body
    for path in ("/api/v1/users/alice/mailboxes/INBOX/messages/abc",
                 "/api/v1/users/alice/mailboxes/INBOX/messages?limit=x",
                 "/api/v1/users/alice/mailboxes/INBOX/messages/1/parts/1..2"):
        status, _, body = call(server, "GET", path)
        assert status == 400, path
    status, _, body = call(server, "POST", "/api/v1/users", b"{not json")
    assert status == 400 and "error" in body
    status, _, _ = call(server, "POST", "/api/v1/users", {"name": "x"})
    assert status == 400
    status, _, _ = call(server, "POST", "/api/v1/users", {"name": "bad name", "password": "p"})
    assert status == 400
    status, _, _ = call(server, "POST", "/api/v1/users", {"name": "alice", "password": "p"})
    assert status == 409
    status, _, _ = call(server, "PATCH", "/api/v1/users/alice/settings", {"pop3.delete_mode": "sometimes"})
    assert status == 400
    status, _, _ = call(server, "PATCH", "/api/v1/users/alice/settings", {"imap.listen": "x"})
    assert status == 400
    status, _, _ = call(server, "PATCH", "/api/v1/users/nobody/settings", {"pop3.delete_mode": "hide"})
    assert status == 404
    # Every key is checked before any is stored.
    status, _, body = call(server, "PATCH", "/api/v1/users/alice/settings",
                           {"pop3.delete_mode": "hide", "pop3.delete_mode=hide": "x"})
    assert status == 400 and "error" in body
    assert call(server, "GET", "/api/v1/users/alice/settings")[2]["settings"] == {}
    # The services' password and hash rules.
    status, _, body = call(server, "POST", "/api/v1/users", {"name": "erin", "password": ""})
    assert status == 400 and "empty password" in body["error"]
    status, _, body = call(server, "POST", "/api/v1/users", {"name": "erin", "password": "p" * 5000})
    assert status == 400 and "too long" in body["error"]
    status, _, body = call(server, "POST", "/api/v1/users", {"name": "erin", "hash": "not-a-hash"})
    assert status == 400 and "error" in body
    assert "erin" not in [u["name"] for u in call(server, "GET", "/api/v1/users")[2]["users"]]
    status, _, _ = call(server, "DELETE", "/api/v1/users/nobody")
    assert status == 404
    status, hdrs, _ = call(server, "PUT", "/api/v1/users")
    assert status == 405 and "GET" in hdrs["Allow"]
    status, _, body = call(server, "POST", "/api/v1/users", b"{" + b" " * (200 * 1024) + b"}")
    assert status == 413 and "error" in body


def test_huge_header_is_refused_with_431(server):
    with socket.create_connection(("127.0.0.1", server.ports["http"]), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 431 ")


def test_malformed_request_gets_400_and_close(server):
    with socket.create_connection(("127.0.0.1", server.ports["http"]), timeout=10) as s:
        s.sendall(b"GARBAGE\r\n\r\n")
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 400 ")


def test_pipelined_requests_are_answered_in_order(server):
    with socket.create_connection(("127.0.0.1", server.ports["http"]), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 3 +
                  b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.rstrip().endswith(b"}") and b"HTTP/1.1 404" in data


def test_user_add_settings_patch_and_delete(server):
    status, _, body = call(server, "POST", "/api/v1/users", {"name": "carol", "password": "pw1"})
    assert status == 201 and body["name"] == "carol"
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user("carol")
    assert pop.pass_("pw1").startswith(b"+OK")
    pop.quit()
    # An imported hash.
    status, _, body = call(server, "POST", "/api/v1/users",
                           {"name": "dave", "hash": "{PLAIN}hunter2"})
    assert status == 201, body

    status, _, body = call(server, "GET", "/api/v1/users/carol/settings")
    assert status == 200 and body["effective"]["pop3.delete_mode"] == "expunge"
    status, _, body = call(server, "PATCH", "/api/v1/users/carol/settings",
                           {"pop3.delete_mode": "hide", "pop3.mark_seen_on_retr": False})
    assert status == 200
    assert body["settings"] == {"pop3.delete_mode": "hide", "pop3.mark_seen_on_retr": "false"}
    assert body["pop3_delete_mode"] == {"mode": "hide", "source": "user"}
    assert "stays in the INBOX" in body["pop3_delete_mode_explained"]
    status, _, body = call(server, "PATCH", "/api/v1/users/carol/settings", {"pop3.delete_mode": None})
    assert status == 200 and "pop3.delete_mode" not in body["settings"]
    # The CLI sees what the API did.
    out = server.cli("user", "list").stdout.decode()
    assert "carol" in out and "dave" in out

    status, _, _ = call(server, "DELETE", "/api/v1/users/carol")
    assert status == 204
    status, _, body = call(server, "GET", "/api/v1/users")
    assert "carol" not in [u["name"] for u in body["users"]]


def test_journal_views_and_sessions(server):
    server.deliver("alice", message(subject="Kept"))
    server.cli("user", "set", "alice", "pop3.delete_mode=hide")
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    wait_for(lambda: any(s["protocol"] == "pop3" and s["user"] == "alice"
                         for s in call(server, "GET", "/api/v1/sessions")[2]["sessions"]),
             what="the POP3 session in /api/v1/sessions")
    sessions = call(server, "GET", "/api/v1/sessions")[2]["sessions"]
    pop3 = next(s for s in sessions if s["protocol"] == "pop3")
    assert pop3["holds_pop3_lock"] and pop3["peer"].startswith("127.0.0.1")
    pop.retr(1)
    pop.dele(1)
    wait_for(lambda: call(server, "GET", "/api/v1/users/alice/views")[2]["messages"][0]["pop3_state"]
             == "delete_pending", what="delete pending in views")
    pop.quit()

    status, _, views = call(server, "GET", "/api/v1/users/alice/views")
    assert status == 200
    assert views["pop3_delete_mode"] == {"mode": "hide", "source": "user"}
    assert views["messages"][0]["hidden_from_pop3"] is True
    assert views["messages"][0]["pop3_state"] == "hidden"
    assert views["inbox"]["pop3_visible"] == 0
    status, _, body = call(server, "GET", "/api/v1/users/alice/journal")
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[0] == "delivered" and "pop3-retrieved" in kinds and "pop3-deleted" in kinds
    status, _, body = call(server, "GET", "/api/v1/users/alice/journal?limit=1")
    assert len(body["events"]) == 1
    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes/INBOX/messages")
    assert body["messages"][0]["pop3_state"] == "hidden"


def pop3_delete_first(srv, user="alice", password="secret"):
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    pop.user(user)
    pop.pass_(password)
    pop.dele(1)
    pop.quit()


def test_messages_gone_from_inbox_show_expunged_and_moved(server):
    server.deliver("alice", message(subject="First"))
    server.deliver("alice", message(subject="Second"))
    server.deliver("alice", message(subject="Third"))
    inbox = "/api/v1/users/alice/mailboxes/INBOX/messages"

    # Expunge mode: DELE + QUIT removes UID 1.
    pop3_delete_first(server)
    status, _, body = call(server, "GET", inbox)
    assert status == 200 and [m["uid"] for m in body["messages"]] == [3, 2] and body["total"] == 2
    status, _, body = call(server, "GET", inbox + "?include=gone")
    assert status == 200 and body["total"] == 3
    assert [(m["uid"], m["pop3_state"]) for m in body["messages"]] == [
        (3, "visible"), (2, "visible"), (1, "expunged")]
    gone = body["messages"][2]
    assert gone["subject"] == "First" and gone["moved_to"] is None
    assert gone["gone"]["kind"] == "pop3-deleted" and gone["gone"]["detail"] == "expunge"
    status, _, one = call(server, "GET", inbox + "/1")
    assert status == 200 and one["pop3_state"] == "expunged" and one["mailbox"] == "INBOX"
    assert [e["kind"] for e in one["journal"]] == ["delivered", "pop3-delete-pending", "pop3-deleted"]
    status, _, _ = call(server, "GET", inbox + "/1/raw")
    assert status == 404  # its bytes are gone

    # move:Archive: DELE + QUIT moves UID 2 (now POP3 message 1).
    status, _, _ = call(server, "PATCH", "/api/v1/users/alice/settings",
                        {"pop3.delete_mode": "move:Archive"})
    assert status == 200
    pop3_delete_first(server)
    status, _, body = call(server, "GET", inbox + "?include=gone&limit=10")
    assert [(m["uid"], m["pop3_state"]) for m in body["messages"]] == [
        (3, "visible"), (2, "moved"), (1, "expunged")]
    moved = body["messages"][1]
    assert moved["moved_to"] == {"mailbox": "Archive", "uid": 1}
    assert moved["subject"] == "Second" and moved["size"] > 0
    status, _, one = call(server, "GET", inbox + "/2")
    assert status == 200 and one["pop3_state"] == "moved"
    assert one["moved_to"] == {"mailbox": "Archive", "uid": 1}
    assert "pop3-deleted" in [e["kind"] for e in one["journal"]]
    status, _, there = call(server, "GET", "/api/v1/users/alice/mailboxes/Archive/messages/1")
    assert status == 200 and there["subject"] == "Second" and there["pop3_state"] is None
    # Paging and search cover the gone ones too; a bad include is refused.
    status, _, body = call(server, "GET", inbox + "?include=gone&offset=2")
    assert [m["uid"] for m in body["messages"]] == [1]
    status, _, body = call(server, "GET", inbox + "?include=gone&q=second")
    assert [m["pop3_state"] for m in body["messages"]] == ["moved"]
    status, _, _ = call(server, "GET", inbox + "?include=all")
    assert status == 400
    status, _, _ = call(server, "GET", inbox + "/9")
    assert status == 404


def test_sessions_show_the_imap_client_id(server):
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    imap.login("alice", "secret")
    imap.xatom("ID", '("name" "TestMail" "version" "1.2")')
    imap.select("INBOX")
    found = wait_for(lambda: [s for s in call(server, "GET", "/api/v1/sessions")[2]["sessions"]
                              if s["protocol"] == "imap" and s["mailbox"] == "INBOX"],
                     what="the IMAP session")
    assert found[0]["client_id"] == "TestMail 1.2" and found[0]["user"] == "alice"
    imap.logout()


def test_sessions_client_id_is_stored_for_other_processes(server):
    """The ID string rides with the live-session row, so the CLI (another
    process on the store) and /views see it, not only the serving process."""
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    imap.login("alice", "secret")
    imap.xatom("ID", '("name" "Probe\\"Mail" "version" "7.1")')
    try:
        def in_views():
            live = call(server, "GET", "/api/v1/users/alice/views")[2]["live_sessions"]
            return [s for s in live if s["protocol"] == "imap" and s["client_id"]]
        live = wait_for(in_views, what="the client ID in /views")
        assert live[0]["client_id"] == 'Probe"Mail 7.1'
        sessions = call(server, "GET", "/api/v1/sessions")[2]["sessions"]
        assert [s["client_id"] for s in sessions if s["protocol"] == "imap"] == ['Probe"Mail 7.1']
        out = server.cli("views", "alice").stdout.decode()
        live_part = out.split("Live sessions")[1]
        assert "CLIENT ID" in live_part and 'Probe"Mail 7.1' in live_part, out
    finally:
        imap.logout()


def fill_inbox(srv, subjects, connections=4):
    """Delivers one message per subject over a few LMTP connections."""
    todo = list(enumerate(subjects))
    lock = threading.Lock()
    errors = []

    def worker():
        try:
            with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=60) as lmtp:
                while True:
                    with lock:
                        if not todo:
                            return
                        _, subject = todo.pop()
                    lmtp.sendmail("bob@example.org", ["alice@example.org"],
                                  message(subject=subject).encode())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors


def test_listing_pages_newest_first_and_search_goes_on_across_pages(server):
    count = 2300  # more than twice what one search request looks at (1000)
    fill_inbox(server, [f"Item {i:04d}" + (" needle" if i % 10 == 7 else "") for i in range(count)])
    inbox = "/api/v1/users/alice/mailboxes/INBOX/messages"

    # Plain pages: newest first, contiguous, no message twice, exact total.
    everything = []
    for offset in range(0, count, 1000):
        status, _, body = call(server, "GET", f"{inbox}?limit=1000&offset={offset}", timeout=30)
        assert status == 200 and body["total"] == count and body["total_exact"] is True
        everything += body["messages"]
    uids = [m["uid"] for m in everything]
    assert len(uids) == count and uids == sorted(uids, reverse=True) and len(set(uids)) == count
    assert uids[0] == count and uids[-1] == 1
    for offset, limit in ((0, 1), (49, 50), (2299, 50), (2250, 100)):
        status, _, body = call(server, "GET", f"{inbox}?limit={limit}&offset={offset}")
        assert [m["uid"] for m in body["messages"]] == uids[offset:offset + limit]
    status, _, body = call(server, "GET", f"{inbox}?limit=50&offset=5000")
    assert body["messages"] == [] and body["total"] == count
    status, _, body = call(server, "GET", f"{inbox}?limit=0")
    assert body["messages"] == [] and body["total"] == count
    # include=gone reads the journal only for a page that reaches past the
    # messages; before that its total counts the messages only.
    status, _, body = call(server, "GET", f"{inbox}?limit=50&include=gone")
    assert body["total"] == count and body["total_exact"] is False
    assert [m["uid"] for m in body["messages"]] == uids[:50]
    status, _, body = call(server, "GET", f"{inbox}?limit=50&offset=2290&include=gone")
    assert body["total"] == count and body["total_exact"] is True
    assert [m["uid"] for m in body["messages"]] == uids[2290:]
    # before= starts below a UID.
    status, _, body = call(server, "GET", f"{inbox}?limit=3&before=100")
    assert [m["uid"] for m in body["messages"]] == [99, 98, 97]
    status, _, _ = call(server, "GET", f"{inbox}?before=0")
    assert status == 400
    status, _, _ = call(server, "GET", f"{inbox}?before=5&include=gone")
    assert status == 400

    needles = [m["uid"] for m in everything if "needle" in m["subject"]]
    assert len(needles) == count // 10

    def search(q, limit, offset=0):
        """Follows `next` to the end: (uids, responses)."""
        got, responses = [], []
        query = f"{inbox}?q={q}&limit={limit}&offset={offset}"
        for _ in range(100):
            status, _, body = call(server, "GET", query, timeout=30)
            assert status == 200, body
            assert body["scanned"] <= 1000
            responses.append(body)
            got += [m["uid"] for m in body["messages"]]
            nxt = body["next"]
            if nxt is None:
                return got, responses
            query = (f"{inbox}?q={q}&limit={limit}&before={nxt['before']}"
                     f"&offset={nxt['offset']}")
        raise AssertionError("the search did not end")

    # Pages of 50 matches: each request stops when its page is full.
    got, responses = search("NEEDLE", 50)
    assert got == needles
    assert all(len(r["messages"]) == 50 for r in responses[:-1])
    assert responses[0]["total_exact"] is False and responses[0]["scanned"] < 1000
    # A page larger than one request's look finds what it can, then goes on.
    got, responses = search("needle", 1000)
    assert got == needles
    assert responses[0]["scanned"] == 1000 and len(responses[0]["messages"]) < 1000
    assert responses[0]["total"] == len(responses[0]["messages"])
    # offset counts matches, also across a continuation.
    got, _ = search("needle", 50, offset=205)
    assert got == needles[205:]
    # Nothing matches: the search still ends, request by request.
    got, responses = search("nothing-here", 50)
    assert got == [] and len(responses) == 3
    # A search over a mailbox small enough to look at whole is exact.
    server.deliver("alice", message(subject="Small one"), mailbox="Archive")
    status, _, body = call(server, "GET", "/api/v1/users/alice/mailboxes/Archive/messages?q=small")
    assert body["total"] == 1 and body["total_exact"] is True and body["next"] is None


def test_listing_page_shows_a_pending_dele(server):
    for i in range(3):
        server.deliver("alice", message(subject=f"M{i}"))
    inbox = "/api/v1/users/alice/mailboxes/INBOX/messages"
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    try:
        pop.dele(1)  # UID 1, the oldest: the last row
        body = wait_for(lambda: (lambda b: b if b["messages"][-1]["pop3_state"] == "delete_pending"
                                 else None)(call(server, "GET", inbox)[2]),
                        what="a pending DELE in the listing")
        assert [m["pop3_state"] for m in body["messages"]] == ["visible", "visible", "delete_pending"]
        assert body["messages"][-1]["delete_pending_session"] is not None
        status, _, page = call(server, "GET", inbox + "?offset=2&limit=1")
        assert [(m["uid"], m["pop3_state"]) for m in page["messages"]] == [(1, "delete_pending")]
        status, _, page = call(server, "GET", inbox + "?q=m0")
        assert [(m["uid"], m["pop3_state"]) for m in page["messages"]] == [(1, "delete_pending")]
    finally:
        pop.rset()
        pop.quit()
    status, _, body = call(server, "GET", inbox)
    assert [m["pop3_state"] for m in body["messages"]] == ["visible"] * 3


class EventReader:
    """Reads a Server-Sent Events stream on a thread; events as (name, data)."""

    def __init__(self, srv, query=""):
        self.sock = socket.create_connection(("127.0.0.1", srv.ports["http"]), timeout=15)
        self.sock.sendall(f"GET /api/v1/events{query} HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: Bearer {token_of(srv)}\r\n\r\n".encode())
        self.events = []
        self.head = b""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
                if not self.head and b"\r\n\r\n" in buf:
                    self.head, buf = buf.split(b"\r\n\r\n", 1)
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    name, data = None, None
                    for line in block.decode().split("\n"):
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            data = json.loads(line[6:])
                    if name:
                        self.events.append((name, data))
        except OSError:
            return

    def named(self, name):
        return [d for n, d in self.events if n == name]

    def close(self):
        self.sock.close()


def test_event_stream_sees_lmtp_delivery_and_pop3_quit(server):
    server.cli("user", "set", "alice", "pop3.delete_mode=hide")
    reader = EventReader(server, "?user=alice")
    wait_for(lambda: reader.named("hello"), what="the stream's hello")
    assert b"text/event-stream" in reader.head
    lmtp_deliver(server, "alice@example.org", message(subject="Live one"))
    d = wait_for(lambda: reader.named("delivery"), timeout=5, what="the delivery event")
    assert d[0]["subject"] == "Live one" and d[0]["user"] == "alice" and d[0]["protocol"] == "lmtp"

    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    wait_for(lambda: [s for s in reader.named("session_start") if s["protocol"] == "pop3"],
             timeout=5, what="the POP3 session start")
    pop.retr(1)
    pop.dele(1)
    pop.quit()
    hide = wait_for(lambda: reader.named("hide"), timeout=5, what="the hide event at QUIT")
    assert hide[0]["kind"] == "pop3-deleted" and hide[0]["uid"] == 1
    wait_for(lambda: [s for s in reader.named("session_end") if s["protocol"] == "pop3"],
             timeout=5, what="the POP3 session end")
    reader.close()


def test_event_stream_keeps_up_with_many_deliveries(server):
    reader = EventReader(server)
    wait_for(lambda: reader.named("hello"), what="hello")
    n = 200
    with smtplib.LMTP("127.0.0.1", server.ports["lmtp"], timeout=30) as lmtp:
        for i in range(n):
            lmtp.sendmail("bob@example.org", ["alice@example.org"], message(subject=f"Bulk {i}").encode())
    wait_for(lambda: len(reader.named("delivery")) >= n, timeout=15, what="every delivery event")
    subjects = [d["subject"] for d in reader.named("delivery")]
    assert subjects == [f"Bulk {i}" for i in range(n)]
    reader.close()


def test_event_stream_filter_and_unknown_user(server):
    status, _, body = call(server, "GET", "/api/v1/events?user=nobody")
    assert status == 404
    call(server, "POST", "/api/v1/users", {"name": "erin", "password": "pw"})
    reader = EventReader(server, "?user=erin")
    wait_for(lambda: reader.named("hello"), what="hello")
    lmtp_deliver(server, "alice@example.org", message(subject="For alice"))
    lmtp_deliver(server, "erin@example.org", message(subject="For erin"))
    d = wait_for(lambda: reader.named("delivery"), timeout=5, what="erin's delivery")
    time.sleep(0.5)
    assert [e["subject"] for e in reader.named("delivery")] == ["For erin"]
    reader.close()


def test_console_page_is_served(server):
    status, hdrs, body = call(server, "GET", "/", token=False)
    assert status == 200 and hdrs["Content-Type"].startswith("text/html")
    assert b"<html" in body and b"Pillarbox" in body
    assert "default-src 'self'" in hdrs["Content-Security-Policy"]


def test_https_with_the_same_certificate(make_server):
    import ssl
    from conftest import free_port, unverified_ssl_context
    port = free_port()
    srv = make_server(config={"http": {"tls_listen": [f"127.0.0.1:{port}"]}})
    ctx = unverified_ssl_context()
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=10) as r:
        assert r.status == 200
    req = urllib.request.Request(f"https://127.0.0.1:{port}/api/v1/login", method="POST",
                                 data=json.dumps({"token": token_of(srv)}).encode())
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        assert "Secure" in r.headers["Set-Cookie"]


def metric(text, name):
    """The value of the series `name` (with its labels) in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test_metrics_count_connections_logins_deliveries_commits_bytes_and_idle(server):
    import imaplib
    lmtp_deliver(server, "alice@example.org", message(subject="Counted"))
    with smtplib.SMTP("127.0.0.1", server.ports["smtp"], timeout=10) as smtp:
        smtp.ehlo()
        smtp.docmd("XYZZY")  # unknown: counted as "other"
        smtp.noop()
    pop = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    pop.stat()
    with pytest.raises(poplib.error_proto):
        pop._shortcmd("FROB")  # unknown: -ERR
    pop.quit()
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    imap.login("alice", "secret")
    imap.select("INBOX")
    imaplib.Commands["FROBNICATE"] = ("SELECTED",)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap._simple_command("FROBNICATE")  # unknown: BAD
    finally:
        del imaplib.Commands["FROBNICATE"]
    tag = imap._new_tag().decode()
    imap.send(f"{tag} IDLE\r\n".encode())
    assert imap.readline().startswith(b"+")
    text = call(server, "GET", "/metrics", token=False)[2].decode()
    assert metric(text, 'pillarbox_connections_total{protocol="lmtp"}') >= 1
    assert metric(text, 'pillarbox_connections_total{protocol="pop3"}') >= 1
    assert metric(text, 'pillarbox_logins_total{result="ok"}') >= 2
    assert metric(text, 'pillarbox_deliveries_total{protocol="lmtp"}') == 1
    assert metric(text, "pillarbox_store_commits_total") >= 1
    assert metric(text, 'pillarbox_store_commit_seconds_bucket{le="+Inf"}') >= 1
    assert metric(text, "pillarbox_store_commit_group_size_count") >= 1
    assert metric(text, 'pillarbox_bytes_received_total{protocol="lmtp"}') > 100
    assert metric(text, 'pillarbox_bytes_sent_total{protocol="pop3"}') > 10
    for protocol, command in (("imap", "SELECT"), ("imap", "other"), ("pop3", "STAT"),
                              ("pop3", "PASS"), ("pop3", "other"), ("lmtp", "LHLO"),
                              ("lmtp", "DATA"), ("smtp", "EHLO"), ("smtp", "NOOP"),
                              ("smtp", "other")):
        series = f'pillarbox_commands_total{{protocol="{protocol}",command="{command}"}}'
        assert metric(text, series) >= 1, series
    assert "FROB" not in text and "XYZZY" not in text
    assert metric(text, "pillarbox_imap_idle_sessions") == 1
    assert "# TYPE pillarbox_store_commit_seconds histogram" in text
    imap.send(b"DONE\r\n")
    imap.readline()
    imap.logout()
    text = call(server, "GET", "/metrics", token=False)[2].decode()
    assert metric(text, "pillarbox_imap_idle_sessions") == 0
