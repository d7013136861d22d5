"""CLI latency, cold and warm: `codefusion generate` as a fresh process each time (model loaded per
call) against `codefusion generate --daemon` (the first call starts the daemon; the rest reuse it).

    python scripts/bench_cli.py [--n 10] [--checkpoint DIR] [--lang bash]

Prints p50 / p95 wall-clock seconds per call (whole process: Python start, request, answer).
Exit status 1 when a call fails.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

REQUESTS = ["find all python files modified today", "count lines in every text file", "delete empty directories",
            "show the ten largest files", "list processes using port 8080", "compress the logs folder"]


def timed(cmd: list[str], env=None) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {r.returncode}: {r.stderr.strip()[-300:]}")
    return time.perf_counter() - t0


def pct(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"p50 {statistics.median(xs):.3f} s, p95 {xs[min(len(xs) - 1, int(0.95 * len(xs)))]:.3f} s (n={len(xs)})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--lang", default="bash")
    a = p.parse_args(argv)
    import os

    env = {**os.environ, "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="cf-bench-")}
    base = [sys.executable, "-m", "codefusion", "generate", "--lang", a.lang, "--device", "cpu", "--json"]
    base += ["--checkpoint", a.checkpoint] if a.checkpoint else []
    try:
        cold = [timed(base + [REQUESTS[i % len(REQUESTS)] + f" {i}"], env) for i in range(a.n)]
        first = timed(base + ["--daemon", "warm up the daemon"], env)
        warm = [timed(base + ["--daemon", REQUESTS[i % len(REQUESTS)] + f" {i}"], env) for i in range(a.n)]
    except RuntimeError as e:
        print(f"bench_cli: {e}", file=sys.stderr)
        return 1
    finally:
        from codefusion import daemon

        os.environ["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
        try:
            daemon.request(daemon.socket_path(a.checkpoint, "cpu"), {"shutdown": True}, timeout=30)
        except OSError:
            pass
    print(f"cold (a new process loads the model):  {pct(cold)}")
    print(f"daemon start (first --daemon call):     {first:.3f} s")
    print(f"warm (--daemon, model loaded):          {pct(warm)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
