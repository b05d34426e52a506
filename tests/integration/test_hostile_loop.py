"""No single command may freeze the loop: while hostile SEARCH BODY and LIST
commands run on other connections, another session's NOOPs keep answering.

Regression: SEARCH BODY with a 60 KB string over a 48 MB message froze every
session for 49 s; LIST with a 60 KB pattern over 300 long names for 6.8 s.
The bound here is generous (CI machines are loaded); bench/hostile_latency.py
measures the real figures.
"""

import imaplib
import socket
import threading
import time

NOOP_BOUND = 1.0  # seconds, per NOOP
NOOPS = 100


class RawImap:
    def __init__(self, port, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.n = 0
        self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def command(self, text, literal=None):
        """Returns (untagged lines, tagged answer)."""
        self.n += 1
        tag = b"h%d" % self.n
        data = tag + b" " + text.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)


def big_message(mbytes):
    # base64 of "aaa...": the decoded body is one long run of "a".
    line = b"YWFh" * 19 + b"\r\n"
    return (b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: big\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + line * (mbytes * 1024 * 1024 // len(line)))


def test_noops_answer_during_hostile_search_and_list(make_server):
    srv = make_server(config={"limits": {"max_message_size": "64M", "max_line_length": "1M"},
                              "log": {"level": "info", "transcripts": False}})
    srv.deliver("alice", big_message(8))
    setup = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    setup.login("alice", "secret")
    for i in range(100):
        assert setup.create(f'"{"x" * 200}/{i:03d}"')[0] == "OK"
    setup.logout()

    stop = threading.Event()
    results = {"search": [], "list": []}
    errors = []

    def searcher():
        try:
            c = RawImap(srv.ports["imap"])
            c.command("LOGIN alice secret")
            c.command("SELECT INBOX")
            needle = b"a" * (60 * 1024 - 1) + b"b"
            while not stop.is_set():
                results["search"].append(c.command("SEARCH BODY", needle))
        except Exception as e:  # reported below
            errors.append(e)

    def lister():
        try:
            c = RawImap(srv.ports["imap"])
            c.command("LOGIN alice secret")
            while not stop.is_set():
                results["list"].append(c.command('LIST ""', b"%a" * (30 * 1024)))
                results["list"].append(c.command('LIST ""', b"*x" * 1023 + b"%y"))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=searcher, daemon=True),
               threading.Thread(target=lister, daemon=True)]
    client = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=30)
    client.login("alice", "secret")
    for t in threads:
        t.start()
    time.sleep(0.3)
    slow = []
    try:
        for _ in range(NOOPS):
            t0 = time.perf_counter()
            assert client.noop()[0] == "OK"
            elapsed = time.perf_counter() - t0
            if elapsed >= NOOP_BOUND:
                slow.append(round(elapsed, 2))
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    client.logout()
    assert not errors, errors
    assert not slow, f"NOOPs over {NOOP_BOUND}s: {slow}"
    # The hostile commands got their answers, and the right ones.
    assert results["search"], "no SEARCH finished"
    for untagged, tagged in results["search"]:
        assert tagged == b"OK Search completed." and untagged == [b"* SEARCH"], (untagged, tagged)
    assert results["list"]
    for untagged, tagged in results["list"]:
        assert untagged == []
        assert tagged in (b"OK List completed.",
                          b"NO [LIMIT] Mailbox pattern too long (at most 2048 bytes).")
