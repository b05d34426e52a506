#!/usr/bin/env python3
"""`pillarbox import` rate: an mbox of generated, real-looking mail (the
generator of imaptest_run.py) imported into a fresh data directory; prints
messages/s, MB/s and the importer's peak memory (heap, and RSS with the
store's mapped file pages). With --gb N the
mbox is repeated (each copy's Message-IDs made unique) up to N GB, to show
that memory stays bounded.

    /usr/bin/python3 bench/import_bench.py --bin build/pillarbox [--messages 20000] [--gb 1]
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imaptest_run import make_mbox  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--gb", type=float, default=0, help="grow the mbox to this size (GB)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="pb-import-bench-")
    try:
        mbox = os.path.join(work, "bench.mbox")
        base = os.path.join(work, "base.mbox")
        make_mbox(base, args.messages)
        if args.gb:
            with open(base, "rb") as f:
                chunk = f.read()
            target = int(args.gb * (1 << 30))
            with open(mbox, "wb") as out:
                copy = 0
                while out.tell() < target:
                    out.write(chunk.replace(b"@example.org>", f".{copy}@example.org>".encode()))
                    copy += 1
            os.unlink(base)
        else:
            os.rename(base, mbox)
        size = os.path.getsize(mbox)
        conf = os.path.join(work, "pillarbox.toml")
        with open(conf, "w") as f:
            f.write(f'[server]\ndata_dir = "{work}/data"\n[log]\nlevel = "warn"\n')
        run = lambda *a, **kw: subprocess.run([args.bin, *a, "--config", conf], check=True,
                                              capture_output=True, **kw)
        run("init")
        run("user", "add", "bench", "--password-stdin", input=b"x\n")
        start = time.monotonic()
        proc = subprocess.Popen([args.bin, "import", "bench", mbox, "--config", conf],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # Anonymous memory (the heap): the store's map is file pages the
        # kernel may drop, counted in RSS but not here.
        peak_anon_kb = 0
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak_anon_kb = max(peak_anon_kb, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.2)
        stdout = proc.stdout.read()
        secs = time.monotonic() - start
        assert proc.returncode == 0, proc.returncode
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        last = stdout.decode().strip().splitlines()[-1]
        count = int(last.split("imported: ")[1].split()[0])
        print(f"mbox {size / 1e6:.1f} MB, {count} messages: {secs:.1f} s, "
              f"{count / secs:.0f} messages/s, {size / 1e6 / secs:.1f} MB/s, "
              f"peak heap (RssAnon) {peak_anon_kb / 1024:.0f} MiB, "
              f"peak RSS with the store's mapped pages {peak_kb / 1024:.0f} MiB")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
