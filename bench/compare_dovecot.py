#!/usr/bin/env python3
"""Runs the same load against Pillarbox and against Dovecot (Debian's
packages) on this machine, one after the other, and prints the figures and
their ratios.

    sudo bench/compare_dovecot.py [--messages 2000] [--size 10240] [--idle 1000]

Both servers run on 127.0.0.1 with private directories under a temporary
folder; nothing else is touched. Every loop is bounded in count and time.
Loads:
  lmtp-1     LMTP deliveries over one connection (messages/s)
  lmtp-8     the same over 8 connections in parallel
  select     IMAP SELECT INBOX of the mailbox (ms)
  fetch-flags  IMAP FETCH 1:* (FLAGS UID) (ms)
  fetch-body   IMAP FETCH 1:* BODY.PEEK[] (MB/s)
  append     IMAP APPEND, one connection (messages/s)
  pop3-uidl  POP3 login + STAT + UIDL (ms)
  pop3-retr  POP3 RETR of every message (MB/s)
  idle-rss   resident memory of the server processes with N idle IMAP
             connections, minus the memory before them (KiB per connection)
Dovecot runs with its default mail_fsync=optimized and Maildir; Pillarbox
fsyncs every commit (group commit).
"""

import argparse
import concurrent.futures
import imaplib
import os
import poplib
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_USER = "pbbench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(1):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def make_message(i, size):
    head = (f"From: load@example.org\r\nTo: {BENCH_USER}@example.org\r\n"
            f"Subject: load message {i}\r\nMessage-ID: <load.{i}.{time.time_ns()}@example.org>\r\n"
            f"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n")
    line = ("The quick brown fox jumps over the lazy dog " * 2)[:76] + "\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return (head + body).encode()


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Pillarbox:
    name = "pillarbox"

    def __init__(self, tmp, binary):
        self.dir = os.path.join(tmp, "pillarbox")
        os.makedirs(self.dir)
        self.bin = binary
        self.imap, self.pop3, self.lmtp = free_port(), free_port(), free_port()
        self.conf = os.path.join(self.dir, "pillarbox.toml")
        with open(self.conf, "w") as f:
            f.write(f"""[server]
data_dir = "{self.dir}/data"
[imap]
listen = ["127.0.0.1:{self.imap}"]
tls_listen = []
[pop3]
listen = ["127.0.0.1:{self.pop3}"]
tls_listen = []
delete_mode = "hide"
[lmtp]
listen = ["127.0.0.1:{self.lmtp}"]
[smtp]
listen = []
[limits]
max_connections = 5000
max_connections_per_ip = 5000
[log]
level = "warn"
""")
        subprocess.run([self.bin, "init", "--config", self.conf], check=True, capture_output=True)
        subprocess.run([self.bin, "user", "add", BENCH_USER, "--password-stdin", "--config", self.conf],
                       input=b"secret\n", check=True, capture_output=True)
        self.proc = subprocess.Popen([self.bin, "serve", "--config", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in (self.imap, self.pop3, self.lmtp):
            wait_port(p)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class Dovecot:
    name = "dovecot"

    def __init__(self, tmp):
        if shutil.which("dovecot") is None or not os.path.exists("/usr/lib/dovecot/lmtp"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-imapd", "dovecot-pop3d",
                            "dovecot-lmtpd"], check=True, capture_output=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            # The package starts a system-wide instance; this benchmark runs its own.
            subprocess.run(["systemctl", "stop", "dovecot"], capture_output=True)
            subprocess.run(["pkill", "-f", "/usr/sbin/dovecot -F -c /etc/dovecot"], capture_output=True)
        try:
            pw = pwd.getpwnam(BENCH_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", BENCH_USER], check=True)
            pw = pwd.getpwnam(BENCH_USER)
        self.dir = os.path.join(tmp, "dovecot")
        os.makedirs(os.path.join(self.dir, "home", BENCH_USER))
        os.chmod(tmp, 0o755)
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "home", BENCH_USER), pw.pw_uid, pw.pw_gid)
        self.imap, self.pop3, self.lmtp = free_port(), free_port(), free_port()
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write(f"{BENCH_USER}:{{PLAIN}}secret:{pw.pw_uid}:{pw.pw_gid}::{self.dir}/home/{BENCH_USER}\n")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
first_valid_uid = 100
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = {self.dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/passwd
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_min_avail = 1
  service_count = 0
  client_limit = 5000
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap {{
  process_limit = 5000
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp}
  }}
}}
protocol imap {{
  mail_max_userip_connections = 5000
}}
default_client_limit = 6000
default_vsz_limit = 1G
""")
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        for p in (self.imap, self.pop3, self.lmtp):
            wait_port(p)

    def pids(self):
        out = subprocess.run(["pgrep", "-f", f"{self.dir}"], capture_output=True, text=True).stdout
        pids = {int(x) for x in out.split()}
        # Children (imap, imap-login, ...) are named after the binaries.
        master = open(os.path.join(self.dir, "run", "master.pid")).read().strip()
        children = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
        return list(pids | {int(master)} | {int(x) for x in children.split()})

    def stop(self):
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True)
        time.sleep(0.5)


def lmtp_deliver(port, messages):
    with smtplib.LMTP("127.0.0.1", port, timeout=60) as c:
        c.ehlo("bench")
        for m in messages:
            c.sendmail("load@example.org", [f"{BENCH_USER}@example.org"], m)


def run_load(server, args):
    r = {}
    n, size = args.messages, args.size
    msgs = [make_message(i, size) for i in range(n)]

    t = time.perf_counter()
    lmtp_deliver(server.lmtp, msgs[: n // 2])
    r["lmtp-1 (msg/s)"] = (n // 2) / (time.perf_counter() - t)

    rest = msgs[n // 2:]
    chunks = [rest[i::8] for i in range(8)]
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda ch: lmtp_deliver(server.lmtp, ch), chunks))
    r["lmtp-8 (msg/s)"] = len(rest) / (time.perf_counter() - t)

    imap = imaplib.IMAP4("127.0.0.1", server.imap, timeout=120)
    imap.login(BENCH_USER, "secret")
    t = time.perf_counter()
    typ, data = imap.select("INBOX", readonly=True)
    r["select (ms)"] = (time.perf_counter() - t) * 1000
    assert int(data[0]) == n, data
    t = time.perf_counter()
    typ, data = imap.fetch("1:*", "(FLAGS UID)")
    r["fetch-flags (ms)"] = (time.perf_counter() - t) * 1000
    assert typ == "OK" and len(data) == n
    t = time.perf_counter()
    typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
    dt = time.perf_counter() - t
    octets = sum(len(x[1]) for x in data if isinstance(x, tuple))
    r["fetch-body (MB/s)"] = octets / dt / 1e6
    imap.create("Bench")
    t = time.perf_counter()
    count = min(n, 500)
    for m in msgs[:count]:
        imap.append("Bench", None, None, m)
    r["append (msg/s)"] = count / (time.perf_counter() - t)
    imap.logout()

    t = time.perf_counter()
    pop = poplib.POP3("127.0.0.1", server.pop3, timeout=120)
    pop.user(BENCH_USER)
    pop.pass_("secret")
    pop.stat()
    uidl = pop.uidl()[1]
    r["pop3-uidl (ms)"] = (time.perf_counter() - t) * 1000
    assert len(uidl) == n
    t = time.perf_counter()
    octets = 0
    for i in range(1, n + 1):
        octets += sum(len(line) + 2 for line in pop.retr(i)[1])
    r["pop3-retr (MB/s)"] = octets / (time.perf_counter() - t) / 1e6
    pop.rset()
    pop.quit()

    before = rss_kib(server.pids())
    conns = []
    deadline = time.time() + 120
    for _ in range(args.idle):
        if time.time() > deadline:
            break
        c = imaplib.IMAP4("127.0.0.1", server.imap, timeout=30)
        c.login(BENCH_USER, "secret")
        c.select("INBOX", readonly=True)
        conns.append(c)
    time.sleep(1)
    after = rss_kib(server.pids())
    r["idle-rss (KiB/conn)"] = (after - before) / max(1, len(conns))
    for c in conns:
        try:
            c.logout()
        except Exception:
            pass
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "pillarbox"))
    ap.add_argument("--only", choices=["pillarbox", "dovecot"])
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (Dovecot needs it to switch to the mail user)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="pb-bench-") as tmp:
        for kind in ("pillarbox", "dovecot"):
            if args.only and args.only != kind:
                continue
            server = Pillarbox(tmp, args.binary) if kind == "pillarbox" else Dovecot(tmp)
            try:
                results[kind] = run_load(server, args)
            finally:
                server.stop()
    keys = list(next(iter(results.values())).keys())
    print(f"{args.messages} messages of {args.size} bytes, {args.idle} idle connections")
    print(f"{'load':<22}{'pillarbox':>12}{'dovecot':>12}{'ratio':>8}")
    for k in keys:
        p = results.get("pillarbox", {}).get(k)
        d = results.get("dovecot", {}).get(k)
        ratio = ""
        if p and d:
            better_high = "/s" in k
            ratio = f"{(p / d) if better_high else (d / p):.2f}x"
        fmt = lambda v: f"{v:12.1f}" if v is not None else f"{'-':>12}"
        print(f"{k:<22}{fmt(p)}{fmt(d)}{ratio:>8}")
    print("ratio > 1 means Pillarbox is better (faster, or less memory).")


if __name__ == "__main__":
    main()
