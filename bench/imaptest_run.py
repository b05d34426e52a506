#!/usr/bin/env python3
"""Runs Dovecot's imaptest against a fresh Pillarbox: the scripted suite, then stress.

imaptest is not packaged by Debian; build it by hand (README: "Benchmarks")
and pass its binary:

    bench/imaptest_run.py --imaptest /path/to/imaptest --tests /path/to/imaptest/src/tests

It starts `build/pillarbox` (or --binary) with its own data directory and
loopback ports, adds the users imaptest logs in as (password hashes in
Dovecot's `{PLAIN}` scheme, as a test setup may), then runs:

1. the scripted suite (`test=DIR`), one user, and prints imaptest's summary
   (groups failed/skipped, commands failed);
2. stress runs (`users=100 clients=N secs=S`), by default three: with logouts,
   with persistent sessions (`logout=0`), and with 200 clients; each prints
   its error count and the operations per second.

The mbox that stress appends from is generated (varied, real-looking mail)
unless --mbox names one. Only loopback is used; every run is bounded by
`secs` and a hard timeout. The exit status is 1 when any scripted group
failed or any stress run reported errors.
"""

import argparse
import email.utils
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER_COUNT = 100
PASSWORD = "pass"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("pillarbox exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"pillarbox did not listen on {port} within {timeout} s")


WORDS = ("meeting report budget release draft invoice travel notes review plan "
         "weekly status quarterly update project lunch friday request access "
         "deploy server backup question answer follow-up").split()
NAMES = ("Alice Martin", "Bob Chen", "Carol Diaz", "Dave Okafor", "Erin Novak",
         "Frank Dubois", "Grace Ito", "Heidi Larsen", "Ivan Petrov", "Judy Kim")


def address(rng):
    name = rng.choice(NAMES)
    local = name.split()[0].lower()
    return f'"{name}" <{local}@example.org>'


def make_mbox(path, count, seed=1):
    """Writes `count` varied messages: plain, multipart with an attachment,
    quoted-printable and encoded-word subjects, replies with References."""
    rng = random.Random(seed)
    ids = []
    with open(path, "w", newline="") as f:
        for i in range(count):
            date = email.utils.formatdate(1700000000 + i * 3607, localtime=False)
            subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
            if i % 7 == 3:
                subject = "=?UTF-8?Q?R=C3=A9sum=C3=A9?= " + subject
            msgid = f"<{i}.{rng.randrange(10**9)}@example.org>"
            headers = [f"From: {address(rng)}", f"To: {address(rng)}"]
            if i % 5 == 0:
                headers.append(f"Cc: {address(rng)}, {address(rng)}")
            headers += [f"Subject: {'Re: ' if ids and i % 4 == 1 else ''}{subject}",
                        f"Date: {date}", f"Message-ID: {msgid}"]
            if ids and i % 4 == 1:
                parent = rng.choice(ids)
                headers += [f"In-Reply-To: {parent}", f"References: {parent}"]
            ids.append(msgid)
            text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
                             for _ in range(rng.randint(2, 30)))
            if i % 3 == 2:
                boundary = f"b{i}x{rng.randrange(10**6)}"
                headers += ["MIME-Version: 1.0",
                            f'Content-Type: multipart/mixed; boundary="{boundary}"']
                blob = "".join(rng.choice("ABCDEFGHabcdefgh0123456789+/") for _ in range(rng.randint(100, 3000)))
                lines = [blob[j:j + 76] for j in range(0, len(blob), 76)]
                body = (f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n"
                        f"Content-Transfer-Encoding: quoted-printable\n\n{text}=0A caf=C3=A9\n"
                        f"--{boundary}\nContent-Type: application/octet-stream; name=\"a{i}.bin\"\n"
                        f"Content-Disposition: attachment; filename=\"a{i}.bin\"\n"
                        f"Content-Transfer-Encoding: base64\n\n" + "\n".join(lines) +
                        f"\n--{boundary}--\n")
            else:
                headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii"]
                body = text + "\n"
            # mboxrd: escape body lines that would read as a separator.
            body = re.sub(r"^(>*From )", r">\1", body, flags=re.M)
            f.write(f"From bench@example.org {time.asctime(time.gmtime(1700000000 + i * 3607))}\n")
            f.write("\n".join(headers) + "\n\n" + body + "\n")


class Server:
    def __init__(self, binary, workdir):
        self.bin = binary
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(workdir, "pillarbox.toml")
        with open(self.conf, "w") as f:
            f.write(f"""[server]
data_dir = "{workdir}/data"
[imap]
listen = ["127.0.0.1:{self.port}"]
tls_listen = []
[pop3]
listen = []
tls_listen = []
[lmtp]
listen = []
[smtp]
listen = []
[http]
listen = []
[limits]
max_connections = 5000
max_connections_per_ip = 5000
[log]
level = "warn"
""")
        self.log_path = os.path.join(workdir, "server.log")
        self.proc = None

    def cli(self, *args):
        subprocess.run([self.bin, *args, "--config", self.conf], check=True,
                       capture_output=True)

    def add_users(self, names):
        self.cli("init")
        for name in names:
            self.cli("user", "add", name, "--hash", "{PLAIN}" + PASSWORD)

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.bin, "serve", "--config", self.conf],
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


def run_imaptest(imaptest, args, timeout):
    cmd = [imaptest, *args]
    print("$ " + " ".join(cmd), flush=True)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                             timeout=timeout, stdin=subprocess.DEVNULL)
        return out.stdout + out.stderr
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return text + f"\n(imaptest killed after {timeout} s)\n"


def scripted(args, workdir):
    server = Server(args.binary, os.path.join(workdir, "scripted"))
    server.add_users(["testuser"])
    server.start()
    try:
        out = run_imaptest(args.imaptest, [
            "host=127.0.0.1", f"port={server.port}", "user=testuser", f"pass={PASSWORD}",
            f"test={args.tests}"], timeout=args.scripted_timeout)
    finally:
        rc = server.stop()
    with open(os.path.join(workdir, "scripted.out"), "w") as f:
        f.write(out)
    failures = [line for line in out.splitlines() if line.startswith("*** Test ")]
    summary = [line for line in out.splitlines()
               if re.search(r"test groups|individual commands failed", line)]
    print("\n".join(failures[:60]))
    print("\n".join(summary) or out[-2000:])
    m = re.search(r"(\d+) test groups: (\d+) failed, (\d+) skipped", out)
    failed = int(m.group(2)) if m else None
    if rc not in (0, None):
        print(f"pillarbox exited with status {rc}")
    return failed == 0 and rc in (0, None)


def stress(args, workdir, name, extra):
    server = Server(args.binary, os.path.join(workdir, name))
    server.add_users([f"testuser{i}" for i in range(1, USER_COUNT + 1)])
    server.start()
    try:
        out = run_imaptest(args.imaptest, [
            "host=127.0.0.1", f"port={server.port}", "user=testuser%d", f"pass={PASSWORD}",
            f"users={USER_COUNT}", f"secs={args.secs}", f"mbox={args.mbox}", *extra],
            timeout=args.secs + 120)
    finally:
        rc = server.stop()
    with open(os.path.join(workdir, f"{name}.out"), "w") as f:
        f.write(out)
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    # imaptest's closing "Totals:" block: the header, and the operation counts.
    lines = out.splitlines()
    totals = ""
    if "Totals:" in lines:
        at = lines.index("Totals:")
        block = [l for l in lines[at + 1:at + 6] if l.strip()]
        totals = "\n".join([block[0], block[-1]]) if len(block) >= 2 else ""
    print(f"--- stress {name} ({' '.join(extra)}): {len(errors)} errors")
    seen = {}
    for e in errors:
        key = re.sub(r"\d+", "N", e)[:140]
        seen[key] = seen.get(key, 0) + 1
    for key, count in sorted(seen.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {count:>5} × {key}")
    if totals:
        print(totals)
    if rc not in (0, None):
        print(f"pillarbox exited with status {rc}")
    return not errors and rc in (0, None)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imaptest", required=True, help="the imaptest binary")
    p.add_argument("--tests", help="imaptest's src/tests folder (default: beside the binary)")
    p.add_argument("--binary", default="build/pillarbox")
    p.add_argument("--mbox", help="mbox to append from (default: a generated one)")
    p.add_argument("--secs", type=int, default=60, help="length of each stress run")
    p.add_argument("--only", choices=("scripted", "stress"))
    p.add_argument("--scripted-timeout", type=int, default=900)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--stress-run", action="append", metavar="NAME:ARGS",
                   help="a stress run of its own instead of the default three, e.g. "
                        "'compress:clients=20 COMPRESS=100' (repeatable)")
    args = p.parse_args()
    args.binary = os.path.abspath(args.binary)
    if args.tests is None:
        args.tests = os.path.join(os.path.dirname(os.path.abspath(args.imaptest)), "tests")

    workdir = tempfile.mkdtemp(prefix="pb-imaptest-")
    ok = True
    try:
        if args.mbox is None:
            args.mbox = os.path.join(workdir, "bench.mbox")
            make_mbox(args.mbox, 300)
        if args.only in (None, "scripted"):
            ok &= scripted(args, workdir)
        if args.only in (None, "stress"):
            runs = (("clients50", ["clients=50"]),
                    ("persistent", ["clients=50", "logout=0"]),
                    ("clients200", ["clients=200"]))
            if args.stress_run:
                runs = [(r.split(":", 1)[0], r.split(":", 1)[1].split()) for r in args.stress_run]
            for name, extra in runs:
                ok &= stress(args, workdir, name, extra)
    finally:
        if args.keep:
            print(f"outputs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
