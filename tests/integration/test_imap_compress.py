"""IMAP COMPRESS=DEFLATE (RFC 4978) with a real client: Python's ssl and zlib
on the implicit-TLS port, so that compression runs inside TLS. A 10 MB
message comes through intact, and IDLE through compression receives the
EXISTS of a message delivered meanwhile (the server flushes every response).
"""
import base64
import imaplib
import os
import socket
import ssl
import time
import zlib

from conftest import message, unverified_ssl_context


class DeflateClient:
    """A minimal IMAP client that can switch to raw deflate."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.inflate = None
        self.deflate = None
        self.wire_in = 0

    def _fill(self, deadline):
        self.sock.settimeout(max(0.05, deadline - time.time()))
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("server closed the connection")
        self.wire_in += len(data)
        self.buf += self.inflate.decompress(data) if self.inflate else data

    def line(self, timeout=20):
        deadline = time.time() + timeout
        while b"\r\n" not in self.buf:
            if time.time() > deadline:
                raise AssertionError(f"no line within {timeout}s; have {self.buf[:200]!r}")
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n, timeout=60):
        deadline = time.time() + timeout
        while len(self.buf) < n:
            if time.time() > deadline:
                raise AssertionError(f"only {len(self.buf)} of {n} bytes within {timeout}s")
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text):
        data = text.encode() if isinstance(text, str) else text
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def command(self, tag, text):
        """Sends one command; returns (untagged lines, tagged line)."""
        self.send(f"{tag} {text}\r\n")
        lines = []
        for _ in range(10000):
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return lines, line
            lines.append(line)
        raise AssertionError("no tagged answer")

    def start_compression(self):
        untagged, tagged = self.command("z", "COMPRESS DEFLATE")
        assert tagged.startswith(b"z OK"), tagged
        assert self.buf == b"", "nothing may follow the OK before compression"
        self.inflate = zlib.decompressobj(wbits=-15)
        self.deflate = zlib.compressobj(wbits=-15)


def connect_tls(server):
    raw = socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=20)
    sock = unverified_ssl_context().wrap_socket(raw)
    c = DeflateClient(sock)
    assert c.line().startswith(b"* OK")
    return c


def big_message(size):
    # Base64 of random bytes: text that deflate cannot shrink much.
    raw = os.urandom(size * 3 // 4)
    enc = base64.encodebytes(raw).replace(b"\n", b"\r\n").decode()
    return message(subject="Big", body=enc)


def test_compress_tls_fetch_10mb_and_idle(server):
    server.deliver("alice", big_message(10 * 1024 * 1024))
    # The reference bytes, fetched without compression.
    plain = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"],
                              ssl_context=unverified_ssl_context(), timeout=30)
    plain.login("alice", "secret")
    plain.select("INBOX")
    typ, data = plain.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    expected = data[0][1]
    assert len(expected) > 10 * 1024 * 1024
    plain.logout()

    c = connect_tls(server)
    _, tagged = c.command("a", "LOGIN alice secret")
    assert tagged.startswith(b"a OK") and b"COMPRESS=DEFLATE" in tagged
    c.start_compression()
    _, tagged = c.command("b", "COMPRESS DEFLATE")
    assert tagged.startswith(b"b NO [COMPRESSIONACTIVE]"), tagged
    _, tagged = c.command("c", "SELECT INBOX")
    assert tagged.startswith(b"c OK"), tagged

    wire_before = c.wire_in
    c.send("d FETCH 1 (BODY.PEEK[])\r\n")
    head = c.line(timeout=60)
    assert head.startswith(b"* 1 FETCH (BODY[] {"), head
    n = int(head[head.rindex(b"{") + 1:-1])
    body = c.exactly(n, timeout=120)
    assert c.line() == b")"
    assert c.line().startswith(b"d OK")
    assert body == expected
    wire = c.wire_in - wire_before
    print(f"10 MB base64 message: {n} bytes as {wire} bytes on the wire (TLS records included)")

    # IDLE through compression: the EXISTS of a new message arrives.
    c.send("e IDLE\r\n")
    assert c.line().startswith(b"+ ")
    server.deliver("alice", message(subject="During IDLE"))
    got = []
    deadline = time.time() + 20
    while time.time() < deadline:
        line = c.line(timeout=20)
        got.append(line)
        if line == b"* 2 EXISTS":
            break
    assert b"* 2 EXISTS" in got, got
    c.send("DONE\r\n")
    for _ in range(10):
        line = c.line()
        if line.startswith(b"e "):
            break
    assert line.startswith(b"e OK"), line
    _, tagged = c.command("f", "LOGOUT")
    assert tagged.startswith(b"f OK")


def test_compress_refused_before_login(server):
    c = connect_tls(server)
    _, tagged = c.command("a", "COMPRESS DEFLATE")
    assert tagged.startswith(b"a BAD"), tagged
    # Still plaintext: the session goes on.
    _, tagged = c.command("b", "NOOP")
    assert tagged.startswith(b"b OK")


def test_compressed_garbage_disconnects(server):
    c = connect_tls(server)
    c.command("a", "LOGIN alice secret")
    c.start_compression()
    c.sock.sendall(b"\xff\xff\xff\xff")
    c.sock.settimeout(10)
    closed = False
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            if not c.sock.recv(4096):
                closed = True
                break
        except (ConnectionResetError, ssl.SSLError, socket.timeout):
            closed = True
            break
    assert closed
