"""What a user waits for, measured the way a user meets it: `codefusion generate` as a fresh process, the
daemon warm, the language server's first completion after "ready", and the very first call on a cold cache.

    python scripts/bench_cli.py [--n 10] [--lsp 5] [--checkpoint DIR] [--lang bash] [--json FILE]
                                [--training-files]

The bank is what a pip install has: the shipped Bash bank and no training files (CODEFUSION_DATA=none;
--training-files keeps them, as on a development machine). Each figure is wall-clock seconds of the whole
call (Python start, model load, request, answer) with its spread (min, p50, p95, max) and the CPU seconds the
child processes used; the machine, the date and the load average before and after each part are printed
beside them, and each bound of issue 24 is checked against the p50: fresh process <= 3 s, daemon warm <=
0.5 s, first completion after "ready" <= 0.5 s. "Cold cache" is one fresh process with an empty cache folder
(it must embed nothing: the cache then holds no sentence vectors). Exit status 1 when a call fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUESTS = [
    "find all python files modified today",
    "count lines in every text file",
    "delete empty directories",
    "show the ten largest files",
    "list processes using port 8080",
    "compress the logs folder",
]
BOUNDS = {"fresh": 3.0, "daemon_warm": 0.5, "lsp_first": 0.5}


def machine(threads: str) -> str:
    model = ""
    try:
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    except OSError:
        pass
    try:
        import torch

        tv = torch.__version__
    except ImportError:
        tv = "?"
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {tv}, CODEFUSION_THREADS={threads}"
    )


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(xs: list) -> dict:
    s = sorted(xs)
    return {
        "n": len(s),
        "min": round(s[0], 3),
        "p50": round(statistics.median(s), 3),
        "p95": round(s[min(len(s) - 1, round(0.95 * (len(s) - 1)))], 3),
        "max": round(s[-1], 3),
    }


def fmt(d: dict) -> str:
    return f"p50 {d['p50']:.3f} s (min {d['min']:.3f}, p95 {d['p95']:.3f}, max {d['max']:.3f}, n={d['n']})"


def timed(cmd: list, env: dict, cwd: str) -> tuple:
    """(wall seconds, child CPU seconds) of one call; RuntimeError with its stderr when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {r.returncode}: {r.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def lsp_first(options: dict, env: dict) -> float:
    """Seconds from a completion request to its answer, the first one after the server said "ready"."""
    sys.path.insert(0, str(REPO / "scripts"))
    from bench_lsp import Bench, document

    os.environ.update(env)
    bench = Bench(options)
    problem = await bench.start()
    try:
        if problem:
            raise RuntimeError(f"the language server is not ready: {problem}")
        uri = "file:///bench/first.sh"
        bench.open(uri, document("show the five largest files here"))
        t = time.perf_counter()
        res = await bench.requests(uri)["completion"]()
        took = time.perf_counter() - t
        if not res.items:
            raise RuntimeError("the first completion came back empty")
        return took
    finally:
        await bench.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10, help="fresh processes and warm daemon calls (default 10)")
    p.add_argument("--lsp", type=int, default=5, help="language-server starts, one first completion each (default 5)")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--lang", default="bash")
    p.add_argument("--training-files", action="store_true", help="let the bank use the training files when found")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = p.parse_args(argv)
    env = {
        **os.environ,
        "CODEFUSION_THREADS": os.environ.get("CODEFUSION_THREADS", "1"),
        "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="cf-bench-run-"),
    }
    if not a.training_files:
        env["CODEFUSION_DATA"] = "none"
    cwd = tempfile.mkdtemp(prefix="cf-bench-cwd-")  # a user's folder: no relative data paths resolve here
    base = [sys.executable, "-m", "codefusion", "generate", "--lang", a.lang, "--device", "cpu"]
    base += ["--checkpoint", a.checkpoint] if a.checkpoint else []
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(env["CODEFUSION_THREADS"]),
        "bank": "shipped + training files" if a.training_files else "shipped (no training files: CODEFUSION_DATA=none)",
    }
    print(f"{out['date']}; {out['machine']}")
    print(f"bank: {out['bank']}")
    try:
        # the very first call: an empty cache folder
        cold_dir = tempfile.mkdtemp(prefix="cf-bench-cache-")
        l0 = load()
        wall, cpu = timed(base + [REQUESTS[0]], {**env, "CODEFUSION_CACHE": cold_dir}, cwd)
        vectors = [f.name for f in Path(cold_dir).iterdir() if f.name.startswith("nl-vectors")]
        out["cold"] = {"wall": round(wall, 3), "cpu": round(cpu, 3), "embedded": bool(vectors), "load_before": l0}
        print(
            f"cold cache, first call:           {wall:.3f} s (CPU {cpu:.2f} s); embedded a bank: "
            f"{'yes' if vectors else 'no'}   [{l0}]"
        )
        # fresh processes, the user's cache warm
        l0 = load()
        runs = [timed(base + [REQUESTS[i % len(REQUESTS)] + f" {i}"], env, cwd) for i in range(a.n)]
        out["fresh"] = {
            **spread([w for w, _ in runs]),
            "cpu_p50": round(statistics.median(c for _, c in runs), 3),
            "load_before": l0,
            "load_after": load(),
        }
        print(
            f"fresh process (generate):         {fmt(out['fresh'])}; CPU p50 {out['fresh']['cpu_p50']:.2f} s   "
            f"[{l0} -> {out['fresh']['load_after']}]"
        )
        # the daemon
        l0 = load()
        start, _ = timed(base + ["--daemon", "warm up the daemon"], env, cwd)
        warm = [timed(base + ["--daemon", REQUESTS[i % len(REQUESTS)] + f" {i}"], env, cwd) for i in range(a.n)]
        out["daemon_start"] = round(start, 3)
        out["daemon_warm"] = {
            **spread([w for w, _ in warm]),
            "cpu_p50": round(statistics.median(c for _, c in warm), 3),
            "load_before": l0,
            "load_after": load(),
        }
        print(f"daemon start (first --daemon):    {start:.3f} s")
        print(
            f"daemon warm (generate --daemon):  {fmt(out['daemon_warm'])}; client CPU p50 "
            f"{out['daemon_warm']['cpu_p50']:.2f} s   [{l0} -> {out['daemon_warm']['load_after']}]"
        )
        # the language server
        if a.lsp:
            l0 = load()
            options = {"device": "cpu", **({"checkpoint": str(Path(a.checkpoint).resolve())} if a.checkpoint else {})}
            firsts = [
                asyncio.run(lsp_first(options, {k: v for k, v in env.items() if k.startswith("CODEFUSION_")}))
                for _ in range(a.lsp)
            ]
            out["lsp_first"] = {**spread(firsts), "load_before": l0, "load_after": load()}
            first = out["lsp_first"]
            print(f"first completion after ready:     {fmt(first)}   [{l0} -> {first['load_after']}]")
    except RuntimeError as e:
        print(f"bench_cli: {e}", file=sys.stderr)
        return 1
    finally:
        os.environ["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
        try:
            sys.path.insert(0, str(REPO))
            from codefusion import daemon

            daemon.request(daemon.socket_path(a.checkpoint, "cpu"), {"shutdown": True}, timeout=30)
        except Exception:  # no daemon was started, or it has gone already
            pass
    out["bounds"] = {}
    for key, bound in BOUNDS.items():
        if key in out:
            ok = out[key]["p50"] <= bound
            out["bounds"][key] = {"bound_s": bound, "p50": out[key]["p50"], "holds": ok}
            print(f"bound {key:12s} p50 {out[key]['p50']:.3f} s <= {bound} s: {'holds' if ok else 'DOES NOT HOLD'}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
