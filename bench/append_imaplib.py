#!/usr/bin/env python3
"""APPEND throughput with Python's imaplib against a Pillarbox it spawns.

    bench/append_imaplib.py [--binary build/pillarbox] [--count 300] [--size 10240]

imaplib writes a literal and the CRLF that ends the command in two writes,
with Nagle's algorithm on: the CRLF waits until the server acknowledges the
literal. A server that delays its ACKs (40 ms on Linux) then caps such a
client at about 25 appends per second; this measures what a client of that
kind gets. The server runs on 127.0.0.1 with a private data directory under
a temporary folder; the loop is bounded in count and time.
"""

import argparse
import imaplib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIME_LIMIT_S = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.settimeout(2)
                if s.recv(1):
                    return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"server did not listen on {port}")


def make_message(i, size):
    head = (f"From: bench@example.org\r\nTo: user@example.org\r\nSubject: append {i}\r\n"
            f"Message-ID: <append-{i}@example.org>\r\n\r\n")
    line = "The quick brown fox jumps over the lazy dog 0123456789.\r\n"
    body = (line * (size // len(line) + 1))[: max(0, size - len(head))]
    return (head + body).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "pillarbox"))
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--size", type=int, default=10240)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pb-append-") as tmp:
        port = free_port()
        conf = os.path.join(tmp, "pillarbox.toml")
        with open(conf, "w") as f:
            f.write(f"""[server]
data_dir = "{tmp}/data"
[imap]
listen = ["127.0.0.1:{port}"]
tls_listen = []
[pop3]
listen = []
tls_listen = []
[lmtp]
listen = []
[smtp]
listen = []
[log]
level = "warn"
""")
        subprocess.run([args.binary, "init", "--config", conf], check=True, capture_output=True)
        subprocess.run([args.binary, "user", "add", "bench", "--password-stdin", "--config", conf],
                       input=b"secret\n", check=True, capture_output=True)
        proc = subprocess.Popen([args.binary, "serve", "--config", conf],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
            imap.login("bench", "secret")
            msgs = [make_message(i, args.size) for i in range(args.count)]
            start = time.perf_counter()
            done = 0
            for m in msgs:
                typ, _ = imap.append("INBOX", None, None, m)
                if typ != "OK":
                    sys.exit(f"APPEND failed: {typ}")
                done += 1
                if time.perf_counter() - start > TIME_LIMIT_S:
                    break
            elapsed = time.perf_counter() - start
            imap.logout()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"imaplib APPEND: {done} messages of {args.size} bytes in {elapsed:.2f} s: "
          f"{done / elapsed:.1f} msg/s")


if __name__ == "__main__":
    main()
