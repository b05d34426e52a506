#!/usr/bin/python3
"""NOOP latency of a well-behaved IMAP client while others attack the loop.

    bench/hostile_latency.py --bin build/pillarbox [--phases idle,search,list,spray]

Each phase starts a fresh server (its own data directory, free ports on
127.0.0.1), prepares what the attack needs, then for --seconds runs the
attack on other connections while one logged-in client sends a NOOP every
20 ms and times the answer:

  idle    no attack
  search  SEARCH BODY with a 60 KB string over one 48 MB message, repeated
  list    LIST "" <60 KB pattern> and LIST "" <2 KB pattern> over 300 long
          mailbox names, repeated
  spray   400 connections from 127.0.0.2-5 logging in with wrong passwords
          as fast as the server answers; a real login from 127.0.0.1 every
          half second is timed too

It prints p50/p99/max of the NOOP round trips per phase (and of the real
logins under the spray). Goal: p99 under 50 ms throughout. Loopback only;
every loop is bounded by the phase length, and a NOOP that gets no answer
counts as the time waited (at most --seconds + 30 s).
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

USER, PASSWORD = "bench", "bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, workdir):
        self.workdir = workdir
        self.imap, self.lmtp = free_port(), free_port()
        cfg = os.path.join(workdir, "pillarbox.toml")
        with open(cfg, "w") as f:
            f.write(f"""[server]
data_dir = "{os.path.join(workdir, 'data')}"
[imap]
listen = ["127.0.0.1:{self.imap}"]
tls_listen = []
[pop3]
listen = ["127.0.0.1:{free_port()}"]
tls_listen = []
[smtp]
listen = ["127.0.0.1:{free_port()}"]
[lmtp]
listen = ["127.0.0.1:{self.lmtp}"]
[limits]
max_message_size = "64M"
max_connections = 2000
max_connections_per_ip = 1000
max_line_length = "1M"
[log]
level = "warn"
""")
        subprocess.run([binary, "init", "--config", cfg], check=True, capture_output=True)
        subprocess.run([binary, "user", "add", USER, "--password-stdin", "--config", cfg],
                       input=(PASSWORD + "\n").encode(), check=True, capture_output=True)
        self.log = open(os.path.join(workdir, "server.log"), "wb")
        self.proc = subprocess.Popen([binary, "serve", "--config", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.imap), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    sys.exit("server did not start; see " + self.log.name)
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a frozen loop does not see SIGTERM
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Imap:
    """A minimal IMAP client: tagged commands, optional literals (LITERAL+)."""

    def __init__(self, port, source="127.0.0.1", timeout=60):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.n = 0
        self.line()  # greeting

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def command(self, text, literal=None):
        self.n += 1
        tag = b"t%d" % self.n
        if literal is None:
            self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text.encode() + b" {%d+}\r\n" % len(literal) + literal +
                              b"\r\n")
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return line[len(tag) + 1:]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def login(port, source="127.0.0.1"):
    c = Imap(port, source)
    r = c.command(f"LOGIN {USER} {PASSWORD}")
    if not r.startswith(b"OK"):
        raise RuntimeError(f"login failed: {r!r}")
    return c


def deliver_big(server, mbytes):
    """One text/plain message of `mbytes` MB, base64 of "aaa...": decoded, one
    long run of "a" (the worst case for a naive substring search)."""
    s = socket.create_connection(("127.0.0.1", server.lmtp), timeout=600)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"LHLO bench\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(f"MAIL FROM:<b@bench.test>\r\nRCPT TO:<{USER}@bench.test>\r\nDATA\r\n".encode())
    for _ in range(3):
        f.readline()
    header = (b"From: b@bench.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: text/plain; charset=us-ascii\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n")
    line = b"YWFh" * 19 + b"\r\n"
    s.sendall(header + line * (mbytes * 1024 * 1024 // len(line)) + b".\r\n")
    reply = f.readline()
    s.close()
    if not reply.startswith(b"250"):
        raise RuntimeError(f"delivery failed: {reply!r}")


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def measure_noops(c, seconds, stop):
    c.sock.settimeout(seconds + 30)
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        try:
            c.command("NOOP")
        except (socket.timeout, OSError):
            times.append(time.perf_counter() - t)
            break
        times.append(time.perf_counter() - t)
        time.sleep(0.02)
    stop.set()
    c.close()
    return times


def attack_search(port, stop, args):
    c = login(port)
    c.command("SELECT INBOX")
    needle = b"a" * (args.needle_kb * 1024 - 1) + b"b"
    c.sock.settimeout(args.seconds + 30)
    while not stop.is_set():
        try:
            c.command("SEARCH BODY", needle)
        except (socket.timeout, OSError):
            break
    c.close()


def attack_list(port, stop, args):
    c = login(port)
    c.sock.settimeout(args.seconds + 30)
    long_pattern = b"%a" * (args.needle_kb * 512)
    max_pattern = b"*x" * 1023 + b"%y"
    while not stop.is_set():
        try:
            c.command('LIST ""', long_pattern)
            c.command('LIST ""', max_pattern)
        except (socket.timeout, OSError):
            break
    c.close()


def attack_spray(port, stop, args, logins):
    def sprayer(i):
        source = f"127.0.0.{2 + i % 4}"
        n = 0
        while not stop.is_set():
            try:
                c = Imap(port, source, timeout=args.seconds + 30)
                while not stop.is_set():
                    n += 1
                    c.command(f"LOGIN nobody{i}x{n} wrong")
            except (socket.timeout, OSError):
                time.sleep(0.1)

    threads = [threading.Thread(target=sprayer, args=(i,), daemon=True) for i in range(args.spray)]
    for t in threads:
        t.start()
    while not stop.is_set():
        t = time.perf_counter()
        try:
            c = login(port)
            logins.append(time.perf_counter() - t)
            c.close()
        except (socket.timeout, OSError, RuntimeError):
            logins.append(time.perf_counter() - t)
        stop.wait(0.5)
    for t in threads:
        t.join(timeout=args.seconds + 35)


def run_phase(name, args):
    workdir = tempfile.mkdtemp(prefix="pb-hostile-")
    server = Server(args.bin, workdir)
    logins = []
    try:
        if name == "search":
            deliver_big(server, args.body_mb)
        if name == "list":
            c = login(server.imap)
            for i in range(300):
                c.command(f'CREATE "{"x" * 240}/{i:04d}"')
            c.close()
        stop = threading.Event()
        client = login(server.imap)  # before the attack: it may freeze the loop
        attack = {
            "idle": None,
            "search": lambda: attack_search(server.imap, stop, args),
            "list": lambda: attack_list(server.imap, stop, args),
            "spray": lambda: attack_spray(server.imap, stop, args, logins),
        }[name]
        attacker = threading.Thread(target=attack, daemon=True) if attack else None
        if attacker:
            attacker.start()
            time.sleep(0.5)  # let the attack get going
        times = measure_noops(client, args.seconds, stop)
        if attacker:
            attacker.join(timeout=args.seconds + 40)
        return times, logins
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "../build/pillarbox"))
    p.add_argument("--phases", default="idle,search,list,spray")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    p.add_argument("--body-mb", type=int, default=48)
    p.add_argument("--needle-kb", type=int, default=60)
    p.add_argument("--spray", type=int, default=400, help="spraying connections")
    args = p.parse_args()
    print(f"{'phase':<8} {'NOOPs':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>9}", flush=True)
    for name in args.phases.split(","):
        times, logins = run_phase(name, args)
        ms = [t * 1000 for t in times]
        print(f"{name:<8} {len(ms):>6} {percentile(ms, 50):>8.1f} {percentile(ms, 99):>8.1f} "
              f"{max(ms) if ms else float('nan'):>9.1f}", flush=True)
        if logins:
            lm = [t * 1000 for t in logins]
            print(f"{'  login':<8} {len(lm):>6} {percentile(lm, 50):>8.1f} "
                  f"{percentile(lm, 99):>8.1f} {max(lm):>9.1f}", flush=True)


if __name__ == "__main__":
    main()
