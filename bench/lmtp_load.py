#!/usr/bin/env python3
"""LMTP delivery throughput: messages per second over N connections.

Against a running server:
    bench/lmtp_load.py --port 2424 --rcpt alice@example.org -c 16 --size 10240 -n 2000

Or the standard matrix (1 and 16 connections, 10 KB and 1 MB messages)
against a fresh server it starts with its own data directory:
    bench/lmtp_load.py --spawn build/pillarbox

Each connection pipelines MAIL/RCPT/DATA for one message, waits for the
per-recipient reply (sent only after the durable commit), then sends the
next. Only loopback is used.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


def make_message(size, n):
    header = (f"From: load@bench.test\r\nTo: rcpt@bench.test\r\nSubject: load {n}\r\n"
              f"Message-ID: <load.{n}.{time.time_ns()}@bench.test>\r\n\r\n")
    line = "x" * 76 + "\r\n"
    body = line * max(0, (size - len(header)) // len(line))
    return (header + body).encode()


class Client:
    def __init__(self, args):
        if args.socket:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(args.socket)
        else:
            self.sock = socket.create_connection((args.host, args.port), timeout=120)
        self.sock.settimeout(120)
        self.buf = b""
        self.expect(220)
        self.sock.sendall(b"LHLO bench.test\r\n")
        self.expect(250)

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return int(line[:3]), line

    def expect(self, code):
        got, line = self.reply()
        if got != code:
            raise RuntimeError(f"expected {code}, got {line!r}")

    def send(self, rcpt, data):
        self.sock.sendall(f"MAIL FROM:<load@bench.test>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        self.expect(250)
        self.expect(250)
        self.expect(354)
        self.sock.sendall(data + b".\r\n")
        self.expect(250)

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        except OSError:
            pass
        self.sock.close()


def run(args, connections, size, messages):
    data = make_message(size, 0)  # no line starts with ".", no stuffing needed
    per_conn = [messages // connections + (1 if i < messages % connections else 0)
                for i in range(connections)]
    clients = [Client(args) for _ in range(connections)]
    errors = []
    barrier = threading.Barrier(connections + 1)

    def work(client, count):
        barrier.wait()
        try:
            for _ in range(count):
                client.send(args.rcpt, data)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c, n)) for c, n in zip(clients, per_conn)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    if errors:
        raise errors[0]
    return messages / elapsed, elapsed


def spawn(binary, workdir):
    port = free_port()
    data_dir = os.path.join(workdir, "data")
    cfg = os.path.join(workdir, "pillarbox.toml")
    ports = [free_port() for _ in range(5)]
    with open(cfg, "w") as f:
        f.write(f"""[server]
data_dir = "{data_dir}"
[imap]
listen = ["127.0.0.1:{ports[0]}"]
tls_listen = []
[pop3]
listen = ["127.0.0.1:{ports[1]}"]
tls_listen = []
[smtp]
listen = ["127.0.0.1:{ports[2]}"]
[lmtp]
listen = ["127.0.0.1:{port}"]
[limits]
max_message_size = "64M"
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
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit("server did not start; see " + log.name)
            time.sleep(0.05)
    return proc, port


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2424)
    p.add_argument("--socket", help="unix socket path instead of TCP")
    p.add_argument("--rcpt", default="bench@bench.test")
    p.add_argument("-c", "--connections", type=int, default=1)
    p.add_argument("--size", type=int, default=10240, help="message size in bytes")
    p.add_argument("-n", "--messages", type=int, default=1000)
    p.add_argument("--spawn", metavar="PILLARBOX", help="start a fresh server and run the matrix")
    args = p.parse_args()

    if not args.spawn:
        rate, elapsed = run(args, args.connections, args.size, args.messages)
        print(f"{args.messages} messages of {args.size} bytes over {args.connections} connection(s): "
              f"{rate:.1f} msg/s ({elapsed:.2f} s)")
        return

    workdir = tempfile.mkdtemp(prefix="pb-lmtp-bench-")
    proc, args.port = spawn(args.spawn, workdir)
    args.rcpt = "bench@bench.test"
    try:
        print(f"{'connections':>11} {'size':>8} {'messages':>8} {'msg/s':>9} {'MB/s':>7}")
        for size, messages in ((10 * 1024, 2000), (1024 * 1024, 200)):
            for conns in (1, 16):
                rate, _ = run(args, conns, size, messages)
                print(f"{conns:>11} {size:>8} {messages:>8} {rate:>9.1f} {rate * size / 1e6:>7.1f}",
                      flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
