"""Throughput and latency against the number of concurrent editors: each editor with its own local
model vs one shared engine (`codefusion serve`, Ray Serve, batched).

    python scripts/research/bench_serve.py [--editors 1 4 16] [--seconds 20] [--checkpoint DIR] [--out DIR]

local:  N processes, each loads its own model (what N editors' language servers do on one machine)
        and asks codefusion.suggest for new comments back to back;
served: one `codefusion serve` (one replica, batches of up to --max-batch-size), N client threads
        asking it over HTTP back to back (what N editors with codefusion.engineUrl do).
Prints a table (requests/s, p50, p95 latency) and writes bench-serve.json and bench-serve.png.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

COMMENTS = [
    "list all files here",
    "count lines in every python file",
    "find files bigger than 10 MB",
    "show disk usage of this folder",
    "delete empty directories",
    "compress the logs folder",
    "print the current date",
    "search for TODO in all files",
    "show the last 20 lines of the log",
    "rename all .txt files to .md",
]


def comment(i: int, editor: int) -> str:
    return f"{COMMENTS[(i + editor) % len(COMMENTS)]} ({editor}-{i})"


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


# ------------------------------------------------------------ local: a model per editor


def _local_editor(editor: int, checkpoint, ready, go, seconds: float, out) -> None:
    from codefusion.runtime import Engine
    from engine.schema import Request

    engine = Engine.open(checkpoint, warm=True)
    ready.release()
    go.wait()
    lat, i, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        engine.suggest(Request(comment(i, editor), "bash"))
        lat.append(time.perf_counter() - t)
        i += 1
    out.put(lat)


def run_local(n: int, checkpoint, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_local_editor, args=(e, checkpoint, ready, go, seconds, out)) for e in range(n)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.monotonic()
    go.set()
    lats = [x for _ in procs for x in out.get()]
    wall = time.monotonic() - start
    for p in procs:
        p.join()
    return summary(lats, wall)


# ------------------------------------------------------------ served: one engine for all


def run_served(n: int, url: str, seconds: float) -> dict:
    from codefusion.remote import EngineClient

    lats, lock = [], threading.Lock()
    go = threading.Event()

    def editor(e: int) -> None:
        client = EngineClient(url, timeout=120)
        go.wait()
        i, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            client.suggest(comment(i, e), "bash", 5)
            with lock:
                lats.append(time.perf_counter() - t)
            i += 1

    threads = [threading.Thread(target=editor, args=(e,)) for e in range(n)]
    for t in threads:
        t.start()
    start = time.monotonic()
    go.set()
    for t in threads:
        t.join()
    return summary(lats, time.monotonic() - start)


def summary(lats, wall: float) -> dict:
    return {
        "requests": len(lats),
        "rps": len(lats) / wall,
        "p50_ms": percentile(lats, 0.5) * 1000,
        "p95_ms": percentile(lats, 0.95) * 1000,
    }


def start_engine(checkpoint, max_batch: int, wait_ms: float, replicas: int = 1):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "codefusion",
        "serve",
        "--port",
        str(port),
        "--max-batch-size",
        str(max_batch),
        "--batch-wait-ms",
        str(wait_ms),
        "--replicas",
        str(replicas),
    ] + (["--checkpoint", str(checkpoint)] if checkpoint else [])
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    from codefusion.remote import EngineClient

    client = EngineClient(url, timeout=5, retries=0)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            client.health()
            client.suggest("warm up", "bash", 1)
            return proc, url
        except Exception:
            if proc.poll() is not None:
                raise SystemExit("codefusion serve did not start") from None
            time.sleep(1)
    raise SystemExit("codefusion serve did not answer within 300 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--editors", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--seconds", type=float, default=20.0, help="measured time per configuration")
    ap.add_argument("--checkpoint", default=None, help="default: the shipped model")
    ap.add_argument("--max-batch-size", type=int, default=16)
    ap.add_argument("--batch-wait-ms", type=float, default=10.0)
    ap.add_argument("--out", default=str(REPO / "runs" / "bench-serve"))
    ap.add_argument("--replicas", type=int, default=1, help="replicas of the served engine (default 1)")
    ap.add_argument("--skip-local", action="store_true")
    a = ap.parse_args()
    results = {"local": {}, "served": {}, "cpus": os.cpu_count(), "seconds": a.seconds}
    proc, url = start_engine(a.checkpoint, a.max_batch_size, a.batch_wait_ms, a.replicas)
    try:
        for n in a.editors:
            results["served"][n] = r = run_served(n, url, a.seconds)
            print(
                f"served  {n:3d} editors: {r['rps']:6.2f} req/s  p50 {r['p50_ms']:7.0f} ms  p95 {r['p95_ms']:7.0f} ms",
                flush=True,
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    if not a.skip_local:
        for n in a.editors:
            results["local"][n] = r = run_local(n, a.checkpoint, a.seconds)
            print(
                f"local   {n:3d} editors: {r['rps']:6.2f} req/s  p50 {r['p50_ms']:7.0f} ms  p95 {r['p95_ms']:7.0f} ms",
                flush=True,
            )
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench-serve.json").write_text(json.dumps(results, indent=2))
    print("\n| editors | local req/s | local p50 / p95 ms | served req/s | served p50 / p95 ms |")
    print("|---|---|---|---|---|")
    for n in a.editors:
        lo, sv = results["local"].get(n), results["served"][n]
        loc = f"{lo['rps']:.2f} | {lo['p50_ms']:.0f} / {lo['p95_ms']:.0f}" if lo else "- | -"
        print(f"| {n} | {loc} | {sv['rps']:.2f} | {sv['p50_ms']:.0f} / {sv['p95_ms']:.0f} |")
    s1, sN = results["served"][a.editors[0]], results["served"][a.editors[-1]]
    print(f"\nserved throughput at {a.editors[-1]} editors vs {a.editors[0]}: {sN['rps'] / s1['rps']:.2f}x")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
        for mode in ("local", "served"):
            ns = [n for n in a.editors if n in results[mode]]
            if ns:
                ax[0].plot(ns, [results[mode][n]["rps"] for n in ns], "o-", label=mode)
                ax[1].plot(ns, [results[mode][n]["p95_ms"] for n in ns], "o-", label=mode)
        ax[0].set(xlabel="concurrent editors", ylabel="requests / s", xscale="log")
        ax[1].set(xlabel="concurrent editors", ylabel="p95 latency (ms)", xscale="log", yscale="log")
        ax[0].legend()
        fig.suptitle(f"CodeFusion on {os.cpu_count()} CPU cores: a model per editor vs one batched engine")
        fig.tight_layout()
        fig.savefig(out / "bench-serve.png", dpi=110)
    except ImportError:
        pass
    print(f"wrote {out / 'bench-serve.json'} and {out / 'bench-serve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
