#!/usr/bin/env python3
"""Start-up time of `pillarbox serve --ephemeral`: from exec to the JSON
line on stdout (every listener bound, certificate generated), and the time
to stop (SIGTERM until exit, data directory removed). Prints median and max
over N runs.

  bench/ephemeral_start.py [--bin build/pillarbox] [--runs 20]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import time


def once(binary):
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "serve", "--ephemeral"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()
    ready = time.monotonic() - t0
    info = json.loads(line)
    t1 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(10)
    stop = time.monotonic() - t1
    assert rc == 0 and not os.path.exists(info["data_dir"])
    return ready, stop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "../build/pillarbox"))
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    starts, stops = zip(*(once(a.bin) for _ in range(a.runs)))
    for name, xs in (("start to ready line", starts), ("SIGTERM to exit", stops)):
        print(f"{name}: median {statistics.median(xs) * 1000:.1f} ms, "
              f"max {max(xs) * 1000:.1f} ms over {a.runs} runs")


if __name__ == "__main__":
    main()
