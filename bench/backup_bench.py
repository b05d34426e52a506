#!/usr/bin/env python3
"""Backup, verify and restore figures for a large store, against a fresh
server with its own data directory:

  1. fills the store over LMTP (distinct messages, so no two share a blob);
  2. `pillarbox backup FILE` while the server runs, idle: time, file size,
     and the size of data.mdb it was made from;
  3. the same while LMTP deliveries go on (bounded);
  4. `pillarbox verify` (hashes every message body) on the live store;
  5. `pillarbox restore FILE` into a new data directory.

    bench/backup_bench.py build/pillarbox [--total-mb 1024] [--size 262144] [-c 4]

Only loopback is used; every loop is bounded. Needs about 3x --total-mb of
free disk in the temporary directory (--dir).
"""

import argparse
import base64
import os
import shutil
import smtplib
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


def write_config(workdir, data_dir):
    ports = {k: free_port() for k in ("imap", "pop3", "smtp", "lmtp", "http")}
    cfg = os.path.join(workdir, "pillarbox.toml")
    with open(cfg, "w") as f:
        f.write(f"""[server]
data_dir = "{data_dir}"
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
    return cfg, ports


def cli(binary, cfg, *args):
    t = time.monotonic()
    r = subprocess.run([binary, *args, "--config", cfg], capture_output=True)
    if r.returncode != 0:
        sys.exit(f"pillarbox {' '.join(args)} exited {r.returncode}: {r.stderr.decode()}")
    return time.monotonic() - t, r.stdout.decode()


def message(i, size):
    # Random base64 lines: every message distinct, none compressible.
    body = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    head = (f"From: bench@example.org\r\nTo: bench@example.org\r\nSubject: backup-bench {i}\r\n"
            f"Message-ID: <bb.{i}.{time.time_ns()}@example.org>\r\n\r\n").encode()
    return head + body


def fill(port, count, size, conns, start=0, stop=None):
    """Delivers `count` messages over `conns` LMTP connections; returns the
    number acknowledged."""
    done = [0]
    lock = threading.Lock()

    def worker(n):
        with smtplib.LMTP("127.0.0.1", port, timeout=300) as s:
            for i in range(start + n, start + count, conns):
                if stop is not None and stop.is_set():
                    return
                s.sendmail("bench@example.org", ["bench@x.test"], message(i, size))
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--total-mb", type=int, default=1024, help="store size to build (MiB of mail)")
    ap.add_argument("--size", type=int, default=256 * 1024, help="bytes per message")
    ap.add_argument("-c", "--connections", type=int, default=4)
    ap.add_argument("--dir", default=None, help="where the temporary data goes")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    count = max(1, args.total_mb * 1024 * 1024 // args.size)
    workdir = tempfile.mkdtemp(prefix="backup-bench-", dir=args.dir)
    proc = None
    try:
        cfg, ports = write_config(workdir, os.path.join(workdir, "data"))
        cli(binary, cfg, "init")
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
                    sys.exit("server did not start; see " + log.name)
                time.sleep(0.05)

        t = time.monotonic()
        n = fill(ports["lmtp"], count, args.size, args.connections)
        fill_s = time.monotonic() - t
        data_mdb = os.path.getsize(os.path.join(workdir, "data", "store", "data.mdb"))
        print(f"filled: {n} messages of {args.size} B ({n * args.size / 2**20:.0f} MiB of mail) "
              f"in {fill_s:.1f} s; data.mdb {data_mdb / 2**20:.0f} MiB")

        backup = os.path.join(workdir, "idle.pbbackup")
        secs, _ = cli(binary, cfg, "backup", backup)
        size = os.path.getsize(backup)
        print(f"backup (idle server): {secs:.2f} s, {size / 2**20:.0f} MiB "
              f"({size / 2**20 / secs:.0f} MiB/s)")

        stop = threading.Event()
        loaded = [0]
        feeder = threading.Thread(
            target=lambda: loaded.__setitem__(0, fill(ports["lmtp"], 2000, 10 * 1024, 2, start=count, stop=stop)))
        feeder.start()
        time.sleep(0.5)
        busy = os.path.join(workdir, "busy.pbbackup")
        secs, _ = cli(binary, cfg, "backup", busy)
        stop.set()
        feeder.join()
        print(f"backup (under LMTP load, 10 KB messages): {secs:.2f} s, "
              f"{os.path.getsize(busy) / 2**20:.0f} MiB; {loaded[0]} deliveries meanwhile")
        os.unlink(busy)

        secs, out = cli(binary, cfg, "verify")
        print(f"verify (live store): {secs:.2f} s: {out.splitlines()[0]}")

        cfg2, _ = write_config(workdir, os.path.join(workdir, "restored"))
        secs, _ = cli(binary, cfg2, "restore", backup)
        print(f"restore (+ verify of the result): {secs:.2f} s")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if args.keep:
            print("kept", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
