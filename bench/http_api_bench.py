#!/usr/bin/env python3
"""HTTP API figures against a fresh server with its own data directory:

  1. listing a large INBOX: time to first byte and total for
     GET .../messages?limit=50, ?limit=1000, the last page (?offset=),
     what the console asks (?limit=200&include=gone) and two ?q= searches
     (one request each: a search looks at a bounded number of messages and
     says where to go on);
  2. the event stream under LMTP load: N deliveries over C LMTP connections
     while one client reads GET /api/v1/events; reports delivery rate, the
     rate of delivery events received, and how long after the last LMTP
     250 the last event arrived.

    bench/http_api_bench.py build/pillarbox [--messages 20000] [--events 5000] [-c 8]

Only loopback is used; every loop is bounded.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, workdir):
    ports = {k: free_port() for k in ("imap", "pop3", "smtp", "lmtp", "http")}
    cfg = os.path.join(workdir, "pillarbox.toml")
    with open(cfg, "w") as f:
        f.write(f"""[server]
data_dir = "{workdir}/data"
[imap]
listen = ["127.0.0.1:{ports['imap']}"]
tls_listen = []
[pop3]
listen = ["127.0.0.1:{ports['pop3']}"]
tls_listen = []
[smtp]
listen = ["127.0.0.1:{ports['smtp']}"]
[lmtp]
listen = ["127.0.0.1:{ports['lmtp']}"]
[http]
listen = ["127.0.0.1:{ports['http']}"]
[log]
level = "warn"
""")
    subprocess.run([binary, "init", "--config", cfg], check=True, capture_output=True)
    subprocess.run([binary, "user", "add", "bench", "--password-stdin", "--config", cfg],
                   input=b"bench\n", check=True, capture_output=True)
    log = open(os.path.join(workdir, "server.log"), "wb")
    proc = subprocess.Popen([binary, "serve", "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", ports["lmtp"]), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit("server did not start; see " + log.name)
            time.sleep(0.05)
    with open(os.path.join(workdir, "data", "http-token")) as f:
        token = f.read().strip()
    return proc, ports, token


class Lmtp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.buf = b""
        self.reply()
        self.sock.sendall(b"LHLO bench\r\n")
        self.reply()

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return line

    def send(self, n):
        msg = (f"From: load@bench.test\r\nTo: bench@bench.test\r\nSubject: bench {n}\r\n"
               f"Message-ID: <b.{n}.{time.time_ns()}@bench.test>\r\n\r\n" + "x" * 70 + "\r\n") * 1
        self.sock.sendall(b"MAIL FROM:<load@bench.test>\r\nRCPT TO:<bench@bench.test>\r\nDATA\r\n" +
                          msg.encode() + b".\r\n")
        for _ in range(4):
            line = self.reply()
        if not line.startswith(b"250"):
            raise RuntimeError(line)


def deliver(port, total, conns):
    counter = iter(range(total))
    lock = threading.Lock()

    def worker():
        c = Lmtp(port)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            c.send(n)
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def timed_get(port, token, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    first = resp.read(1)
    ttfb = time.perf_counter() - t0
    rest = resp.read()
    total = time.perf_counter() - t0
    conn.close()
    assert resp.status == 200, (resp.status, first + rest)
    return ttfb, total, len(first) + len(rest)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary")
    p.add_argument("--messages", type=int, default=20000, help="INBOX size for the listing")
    p.add_argument("--events", type=int, default=5000, help="deliveries during the event test")
    p.add_argument("-c", "--connections", type=int, default=8)
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="pillarbox-http-bench-")
    proc, ports, token = start(os.path.abspath(args.binary), workdir)
    try:
        t0 = time.perf_counter()
        deliver(ports["lmtp"], args.messages, args.connections)
        print(f"filled INBOX with {args.messages} messages in {time.perf_counter() - t0:.1f} s")
        base = "/api/v1/users/bench/mailboxes/INBOX/messages"
        deep = max(0, args.messages - 50)
        for path in (f"{base}?limit=50", f"{base}?limit=1000", f"{base}?limit=50&offset={deep}",
                     f"{base}?limit=200&include=gone", f"{base}?q=bench%20123&limit=50",
                     f"{base}?q=bench%209999&limit=50"):
            runs = [timed_get(ports["http"], token, path) for _ in range(5)]
            ttfb = sorted(r[0] for r in runs)[2]
            total = sorted(r[1] for r in runs)[2]
            print(f"GET {path}: median of 5: first byte {ttfb * 1000:.1f} ms, "
                  f"total {total * 1000:.1f} ms, {runs[0][2]} bytes")

        # Event stream under load.
        sock = socket.create_connection(("127.0.0.1", ports["http"]), timeout=120)
        sock.sendall(f"GET /api/v1/events?user=bench HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        got = {"n": 0, "last": 0.0}

        def read():
            buf = b""
            while got["n"] < args.events:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    return
                buf += chunk
                n = buf.count(b"event: delivery\n")
                if n:
                    got["n"] += n
                    got["last"] = time.perf_counter()
                    buf = buf[buf.rfind(b"event: delivery\n") + 16:]
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        deliver(ports["lmtp"], args.events, args.connections)
        t_lmtp = time.perf_counter() - t0
        reader.join(timeout=30)
        print(f"events: {args.events} LMTP deliveries over {args.connections} connections in "
              f"{t_lmtp:.2f} s ({args.events / t_lmtp:.0f} msg/s); {got['n']} delivery events received, "
              f"the last {max(0.0, got['last'] - t0 - t_lmtp) * 1000:.0f} ms after the last 250")
        sock.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
