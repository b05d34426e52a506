"""Hostile clients must not make the server hold unbounded memory.

Each test starts the real binary, reads its RssAnon (/proc/<pid>/status)
before, during and after a few hostile connections on loopback, and bounds
the growth per connection and what is left once they are gone. The figures
are printed (pytest -s shows them). Loops are bounded in count and time.
"""

import os
import socket
import time

import pytest

from conftest import wait_for

# Growth of the server's anonymous memory allowed per hostile connection
# while it is connected: its buffers (256 KiB input, up to 1 MiB of parser
# or message buffer, the output high-water mark) with room for allocator
# slack. Before the fixes these attacks held 8 to 50 MB each here.
PER_CONNECTION_LIMIT = 4 << 20
# What may stay once they are gone (allocator caches, arenas of threads).
LEFT_AFTER_CLOSE = 12 << 20
CONNECTIONS = 4
QUIET = {"log": {"level": "info", "transcripts": False}}


def rss_anon(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


def hostile_socket(srv, proto):
    """A client that never reads: a tiny receive buffer so the server's
    answers stall at once."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("127.0.0.1", srv.ports[proto]))
    return s


def read_until(s, needle, timeout=10):
    s.settimeout(timeout)
    data = b""
    deadline = time.time() + timeout
    while needle not in data and time.time() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def push(s, chunks, stall=1.0, limit=20.0):
    """Sends the byte chunks until done, or until the server stops taking
    them for `stall` seconds (backpressure), or `limit` seconds in all.
    Returns the bytes sent."""
    s.settimeout(stall)
    sent = 0
    deadline = time.time() + limit
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            if time.time() > deadline:
                return sent
            try:
                n = s.send(view)
            except (socket.timeout, BlockingIOError):
                return sent
            except OSError:
                return sent
            sent += n
            view = view[n:]
    return sent


def settle(pid, seconds=0.5):
    time.sleep(seconds)
    return rss_anon(pid)


def run_attack(srv, name, open_and_attack):
    """Opens CONNECTIONS hostile clients, measures, closes them, measures.
    Returns (per-connection growth, left after close)."""
    pid = srv.proc.pid
    base = settle(pid)
    socks = []
    sent = 0
    try:
        for _ in range(CONNECTIONS):
            s, n = open_and_attack()
            socks.append(s)
            sent += n
        peak = settle(pid, 1.0)
    finally:
        for s in socks:
            s.close()
    per_conn = max(0, peak - base) // CONNECTIONS

    # The server returns what it freed within a few sweeps.
    def returned():
        return rss_anon(pid) - base <= LEFT_AFTER_CLOSE

    deadline = time.time() + 8
    while time.time() < deadline and not returned():
        time.sleep(0.25)
    left = rss_anon(pid) - base
    print(f"\n[{name}] RssAnon base {base >> 10} KiB, with {CONNECTIONS} hostile connections "
          f"{peak >> 10} KiB ({per_conn >> 10} KiB each, {sent >> 10} KiB sent), "
          f"after close +{left >> 10} KiB")
    assert srv.proc.poll() is None, "the server died"
    return per_conn, left


def check(per_conn, left):
    assert per_conn < PER_CONNECTION_LIMIT, f"{per_conn >> 10} KiB held per hostile connection"
    assert left <= LEFT_AFTER_CLOSE, f"{left >> 10} KiB not returned after close"


def test_imap_pipelined_capability_flood_is_bounded(make_server):
    """Before login, N CAPABILITY commands in one burst from a client that
    never reads."""
    srv = make_server(config=QUIET)
    burst = b"".join(b"%d CAPABILITY\r\n" % i for i in range(1, 200001))
    chunks = [burst[i:i + 65536] for i in range(0, len(burst), 65536)]

    def attack():
        s = hostile_socket(srv, "imap")
        return s, push(s, chunks)

    check(*run_attack(srv, "imap CAPABILITY flood", attack))
    # The server still answers (a normal client on a new connection).
    with srv.connect("imap") as c:
        assert read_until(c, b"\r\n").startswith(b"* OK")
        c.sendall(b"a CAPABILITY\r\n")
        assert b"a OK" in read_until(c, b"a OK")


def test_imap_preauth_append_literal_chain_is_bounded(make_server):
    """`a APPEND x {8192+}` then literal after literal, never ending the line."""
    srv = make_server(config=QUIET)
    piece = b"x" * 8192 + b" {8192+}\r\n"
    chunks = [b"a APPEND x {8192+}\r\n"] + [piece * 8] * 125  # 1000 literals

    def attack():
        s = hostile_socket(srv, "imap")
        return s, push(s, chunks)

    check(*run_attack(srv, "imap pre-login APPEND literal chain", attack))


def test_imap_append_with_many_large_literals_is_refused(make_server):
    """After login, one APPEND announcing literal after literal of the
    maximum message size."""
    srv = make_server(config={**QUIET, "limits": {"max_message_size": "1M"}})
    size = 1 << 20
    lit = b"m" * size

    def attack():
        s = hostile_socket(srv, "imap")
        s.sendall(b"L LOGIN alice secret\r\n")
        read_until(s, b"L OK")
        chunks = [b"a APPEND INBOX {%d+}\r\n" % size]
        for _ in range(20):
            chunks += [lit, b" {%d+}\r\n" % size]
        return s, push(s, chunks)

    check(*run_attack(srv, "imap APPEND 20 literals of max size", attack))
    # The answer comes at the second literal, not after all of them.
    with srv.connect("imap") as c:
        read_until(c, b"\r\n")
        c.sendall(b"L LOGIN alice secret\r\n")
        read_until(c, b"L OK")
        c.sendall(b"a APPEND INBOX {%d+}\r\n" % size + lit + b" {%d+}\r\n" % size)
        assert b"a NO [LIMIT]" in read_until(c, b"a NO", timeout=10)


@pytest.mark.parametrize("size", [b"18446744073709551615", b"99999999999999999999"])
def test_literal_too_large_to_skip_is_answered(make_server, size):
    srv = make_server(config=QUIET)
    with srv.connect("imap") as c:
        read_until(c, b"\r\n")
        c.sendall(b"a LOGIN {" + size + b"+}\r\nb NOOP\r\n")
        data = read_until(c, b"* BYE", timeout=5)
        assert b"a NO [LIMIT] Literal too large\r\n" in data, data
        assert b"* BYE" in data
        c.settimeout(5)
        rest = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            rest += chunk
        assert b"b OK" not in data + rest


@pytest.mark.parametrize("proto", ["lmtp", "smtp"])
def test_data_without_final_dot_is_not_held_in_memory(make_server, proto):
    srv = make_server(config=QUIET)
    body = (b"y" * 998 + b"\r\n") * 1024  # 1 MB
    hello = b"LHLO x\r\n" if proto == "lmtp" else b"EHLO x\r\n"
    rcpt = b"alice@localhost"

    def attack():
        s = hostile_socket(srv, proto)
        s.sendall(hello + b"MAIL FROM:<a@b>\r\nRCPT TO:<" + rcpt + b">\r\nDATA\r\n")
        assert b"\r\n354 " in read_until(s, b"354"), "DATA was not accepted"
        return s, push(s, [b"Subject: x\r\n\r\n"] + [body] * 20)

    check(*run_attack(srv, f"{proto} DATA 20 MB without the final dot", attack))
    # The bodies went to anonymous spill files (never listed in the folder);
    # once the connections are gone the server holds none of them open.
    spill = os.path.realpath(os.path.join(srv.data_dir, "tmp"))

    def open_spill_files():
        fd_dir = f"/proc/{srv.proc.pid}/fd"
        targets = []
        for fd in os.listdir(fd_dir):
            try:
                targets.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:
                pass  # closed meanwhile
        return [t for t in targets if t.startswith(spill + "/")]

    wait_for(lambda: not open_spill_files(), timeout=10, what="spill files closed")
    assert os.listdir(spill) == []


def test_memory_budget_refuses_new_work(make_server):
    """[limits] max_memory: over it, new connections and new messages get a
    temporary error; once the memory is freed, work is accepted again."""
    srv = make_server(config={**QUIET, "limits": {"max_memory": "3M"}})
    body = b"z" * 900_000  # below the spill threshold: held in memory
    hogs = []
    try:
        for _ in range(4):
            s = srv.connect("lmtp")
            read_until(s, b"\r\n")
            s.sendall(b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice@x>\r\nDATA\r\n")
            data = read_until(s, b"354", timeout=5)
            hogs.append(s)
            if b"354" not in data:
                assert b"452 4.3.1" in data, data
                break
            s.sendall(body)
            time.sleep(0.2)
        with srv.connect("imap") as c:
            assert read_until(c, b"\r\n").startswith(b"* BYE [UNAVAILABLE]")
        with srv.connect("pop3") as c:
            assert read_until(c, b"\r\n").startswith(b"-ERR [SYS/TEMP]")
        with srv.connect("lmtp") as c:
            assert read_until(c, b"\r\n").startswith(b"421 4.3.2")
    finally:
        for s in hogs:
            s.close()

    def accepted():
        with srv.connect("imap") as c:
            return read_until(c, b"\r\n", timeout=2).startswith(b"* OK")

    wait_for(accepted, timeout=10, what="connections accepted again")
