"""The yardstick: CodeFusion against an AR model of the same size, same data, same CPU time, no bank.

Every arm trains from scratch with `codefusion train --clock cpu`: its time budget counts the CPU
seconds of its own process (one torch thread), so arms that share the machine with each other and
with other work still get equal compute. Each keeps a snapshot every budget/points CPU seconds; each
snapshot is scored with `codefusion eval --bank` (no exemplar bank: what a fresh install has) on dev
slices of the three languages, k = 5. Written to OUT:

    yardstick.json   every point: arm, CPU minutes, step, per language top-1/3/5 of the primary
                     metric (Bash template, Python BLEU, CF execution), Python valid top-1 and
                     distinct valid candidates, argument recall (Bash and Python), latency p50
    yardstick.md     the same as a table, and the network sizes
    yardstick.png    dev metric against CPU minutes, a line per arm (top-1 solid, top-5 dashed)

An arm is NAME:KIND[:KEY=VALUE,...] with KIND diffusion or ar; the KEY=VALUE pairs are model config
overrides (`codefusion train --set`), on top of --set for every arm. Resumable: run it again with the
same OUT and finished arms and scored snapshots are kept.

    python scripts/research/yardstick.py --out runs/yardstick --cpu-minutes 30 --points 3 \\
        --arm diffusion:diffusion --arm ar:ar
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
CLI = [sys.executable, "-m", "codefusion"]
LANGS = ("bash", "python", "cf")
PRIMARY = {"bash": "template_match", "python": "bleu", "cf": "execution_match"}
TRAIN_FILES = ("bash/codefusion-train.jsonl", "python/codefusion-train.jsonl", "cf/codefusion-train.jsonl")
# what every arm shares: the small config without exemplars (a fresh install has no bank)
COMMON_SET = ("exemplars=0", "exemplar_start_snr=0")


def parse_arm(spec: str) -> dict:
    parts = spec.split(":", 2)
    if len(parts) < 2 or parts[1] not in ("diffusion", "ar") or not parts[0]:
        raise SystemExit(f"yardstick: --arm takes NAME:diffusion|ar[:KEY=VALUE,...], got '{spec}'")
    sets = [kv for kv in parts[2].split(",") if kv] if len(parts) == 3 else []
    return {"name": parts[0], "kind": parts[1], "set": sets}


CODE = REPO  # the checkout whose code trains and scores (--code)


def env1() -> dict:
    env = dict(
        os.environ, CODEFUSION_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false"
    )
    env["PYTHONPATH"] = str(CODE) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start_training(arm: dict, a: argparse.Namespace) -> subprocess.Popen | None:
    out = a.out / arm["name"]
    if (out / "DONE").exists():
        return None
    budget = a.cpu_minutes * 60
    cmd = CLI + [
        "train",
        "--config",
        str(config_file(a)),
        "--model",
        arm["kind"],
        "--out",
        str(out),
        "--clock",
        "cpu",
        "--time-budget",
        str(budget),
        "--snapshot-every",
        str(budget / a.points),
        "--max-steps",
        "10000000",
        "--save-every",
        "0",
        "--eval-every",
        "0",
        "--no-progress",
        "--data",
        *[str(a.data_dir / f) for f in a.train],
    ]
    if a.batch_size:
        cmd += ["--batch-size", str(a.batch_size)]
    sets = list(COMMON_SET) + list(a.set) + arm["set"]
    cmd += ["--set", *sets]
    if (out / "train_state.json").exists():
        cmd.append("--resume")
        cmd = [c for c in cmd if not c.startswith(tuple(s.split("=")[0] + "=" for s in sets))]
        if cmd[-2] == "--set":  # a resumed run keeps its own config
            cmd.pop(-2)
    out.mkdir(parents=True, exist_ok=True)
    log = (out / "train.log").open("a")
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env1(), cwd=CODE)


def config_file(a: argparse.Namespace) -> Path:
    """The named config with the yardstick's warm-up (a short run must not spend a third of it warming up)."""
    from engine.config import NAMED_CONFIGS

    spec = NAMED_CONFIGS[a.config]
    path = a.out / "config.json"
    path.write_text(
        json.dumps({"model": dict(spec["model"]), "train": dict(spec["train"], warmup_steps=a.warmup_steps)}, indent=2)
    )
    return path


def snapshots(a: argparse.Namespace, arm: dict) -> list[Path]:
    d = a.out / arm["name"] / "snapshots"
    if not d.is_dir():
        return []
    return sorted(
        (p for p in d.iterdir() if (p / "model.safetensors").exists() and (p / "config.json").exists()),
        key=lambda p: int(p.name[1:]),
    )


def score_snapshot(snap: Path, a: argparse.Namespace) -> dict:
    """codefusion eval with no bank on each language's dev slice; {lang: the run's summary}."""
    res = {}
    for lang in LANGS:
        rep = snap / f"eval-{lang}.json"
        if not rep.exists():
            cmd = CLI + [
                "eval",
                "--checkpoint",
                str(snap),
                "--data",
                str(a.data_dir / f"{lang}/codefusion-dev.jsonl"),
                "--out",
                str(rep),
                "-k",
                "5",
                "--bank",
                "--device",
                "cpu",
                "--no-progress",
            ]
            if a.limit.get(lang):
                cmd += ["--limit", str(a.limit[lang])]
            if a.steps:
                cmd += ["--steps", str(a.steps)]
            r = subprocess.run(cmd, env=env1(), cwd=CODE, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"yardstick: eval of {snap} ({lang}) failed: {(r.stderr or r.stdout).strip()[-400:]}")
        res[lang] = json.loads(rep.read_text())["runs"][0]
    return res


def point(arm: dict, snap: Path, runs: dict) -> dict:
    meta = json.loads((snap / "config.json").read_text())
    row = {
        "arm": arm["name"],
        "kind": arm["kind"],
        "cpu_min": round(int(snap.name[1:]) / 60, 1),
        "step": meta.get("step"),
        "snapshot": str(snap),
    }
    for lang, run in runs.items():
        acc = run["accuracy"]["pipeline"][PRIMARY[lang]]
        row[lang] = {k: round(acc[k], 1) for k in ("top1", "top3", "top5")}
        row[lang]["valid_top1"] = round(run["validity"]["after"]["top1"], 1)
        row[lang]["distinct"] = round(run["diversity"]["distinct_per_query"], 2)
        row[lang]["latency_p50_ms"] = round(1000 * run["speed"]["latency_p50_s"])
        ar = run.get("argument_recall") or {}
        if ar.get("n_items"):
            row[lang]["arg_recall"] = None if ar["top1"] is None else round(ar["top1"], 1)
    return row


def net_params(snap: Path) -> float:
    from safetensors import safe_open

    with safe_open(str(snap / "model.safetensors"), "pt") as f:
        return (
            sum(
                f.get_slice(k).get_shape().numel()
                if hasattr(f.get_slice(k).get_shape(), "numel")
                else _prod(f.get_slice(k).get_shape())
                for k in f.keys()
            )
            / 1e6
        )


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def write_report(a: argparse.Namespace, arms: list[dict], rows: list[dict]) -> None:
    sizes = {}
    for arm in arms:
        snaps = snapshots(a, arm)
        if snaps:
            sizes[arm["name"]] = round(net_params(snaps[0]), 2)
    out = {
        "cpu_minutes": a.cpu_minutes,
        "points": a.points,
        "config": a.config,
        "train": list(a.train),
        "set": list(COMMON_SET) + list(a.set),
        "arms": arms,
        "network_M": sizes,
        "dev_limit": a.limit,
        "steps": a.steps,
        "k": 5,
        "bank": "none",
        "rows": rows,
        "note": "CPU minutes = the training process's own CPU time (one torch thread); eval with --bank (no bank)",
    }
    (a.out / "yardstick.json").write_text(json.dumps(out, indent=2))
    lines = [
        "# Yardstick: diffusion vs AR, same data, same CPU time, no bank (k = 5)",
        "",
        f"Data: {', '.join(a.train)}; config {a.config} with {', '.join(out['set'])}; dev slices "
        f"{', '.join(f'{k} {v}' for k, v in a.limit.items())}; diffusion steps "
        f"{a.steps or 'the checkpoint default'}.",
        "",
        "Network parameters (M, without the frozen 22.7 M NL encoder): "
        + ", ".join(f"{k} {v}" for k, v in sizes.items()),
        "",
        "| arm | CPU min | step | Bash template t1 / t5 | Python BLEU t1 / t5 | Python valid t1 | "
        "CF exec t1 / t5 | arg recall Bash / Python | p50 ms (bash) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, p, c = r.get("bash", {}), r.get("python", {}), r.get("cf", {})
        lines.append(
            f"| {r['arm']} | {r['cpu_min']} | {r['step']} | {b.get('top1')} / {b.get('top5')} | "
            f"{p.get('top1')} / {p.get('top5')} | {p.get('valid_top1')} | {c.get('top1')} / {c.get('top5')} | "
            f"{b.get('arg_recall')} / {p.get('arg_recall')} | {b.get('latency_p50_ms')} |"
        )
    (a.out / "yardstick.md").write_text("\n".join(lines) + "\n")
    plot(a.out / "yardstick.png", rows)


def plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    arms = sorted({r["arm"] for r in rows})
    colors = {arm: f"C{i}" for i, arm in enumerate(arms)}
    for ax, lang in zip(axes, LANGS):
        for arm in arms:
            pts = sorted((r for r in rows if r["arm"] == arm and lang in r), key=lambda r: r["cpu_min"])
            xs = [r["cpu_min"] for r in pts]
            ax.plot(xs, [r[lang]["top1"] for r in pts], "-o", color=colors[arm], label=f"{arm} top-1")
            ax.plot(xs, [r[lang]["top5"] for r in pts], "--", color=colors[arm], label=f"{arm} top-5")
        ax.set_title({"bash": "Bash: template match", "python": "Python: BLEU-4", "cf": "CF: execution match"}[lang])
        ax.set_xlabel("training CPU minutes (one thread)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("dev, k = 5, no bank")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--arm", action="append", default=[], metavar="NAME:KIND[:K=V,...]")
    ap.add_argument("--cpu-minutes", type=float, default=30.0, help="training budget of each arm, CPU minutes")
    ap.add_argument("--points", type=int, default=3, help="snapshots scored per arm")
    ap.add_argument("--config", default="small")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="model overrides for every arm")
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--train", nargs="+", default=list(TRAIN_FILES), help="training files under --data-dir")
    ap.add_argument("--limit", nargs="*", default=["bash=150", "python=122", "cf=38"], metavar="LANG=N")
    ap.add_argument("--steps", type=int, default=None, help="diffusion sampling steps (default: the checkpoint's)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--parallel", type=int, default=2, help="arms trained at once (one thread each)")
    ap.add_argument("--report-only", action="store_true", help="score what snapshots exist and write the report")
    ap.add_argument(
        "--score-only",
        action="store_true",
        help="start no training: score the arms' snapshots as they appear until each has --points",
    )
    ap.add_argument(
        "--code",
        type=Path,
        default=None,
        help="run training and scoring from this checkout (e.g. a clone of a commit: a working tree "
        "that others edit meanwhile does not change the runs)",
    )
    a = ap.parse_args(argv)
    global CODE
    if a.code is not None:
        CODE = a.code.resolve()
    a.limit = {kv.split("=")[0]: int(kv.split("=")[1]) for kv in a.limit}
    a.out, a.data_dir = a.out.resolve(), a.data_dir.resolve()
    arms = [parse_arm(s) for s in (a.arm or ["diffusion:diffusion", "ar:ar"])]
    a.out.mkdir(parents=True, exist_ok=True)
    queue, running = ([] if a.report_only or a.score_only else list(arms)), {}
    scored: dict[str, dict] = {}
    rows: list[dict] = []

    def waiting() -> bool:  # --score-only: snapshots still to come
        return a.score_only and any(len(snapshots(a, arm)) < a.points for arm in arms)

    while queue or running or waiting() or any(str(s) not in scored for arm in arms for s in snapshots(a, arm)):
        while queue and len(running) < a.parallel:
            arm = queue.pop(0)
            proc = start_training(arm, a)
            if proc is not None:
                running[arm["name"]] = proc
                print(
                    f"yardstick: training {arm['name']} ({arm['kind']}), log {a.out / arm['name'] / 'train.log'}",
                    file=sys.stderr,
                )
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                if proc.returncode != 0:
                    raise SystemExit(f"yardstick: training {name} failed (see {a.out / name / 'train.log'})")
                (a.out / name / "DONE").write_text("")
                del running[name]
        todo = [(arm, s) for arm in arms for s in snapshots(a, arm) if str(s) not in scored]
        if todo:
            arm, snap = min(todo, key=lambda t: int(t[1].name[1:]))
            t0 = time.time()
            scored[str(snap)] = point(arm, snap, score_snapshot(snap, a))
            rows = sorted(scored.values(), key=lambda r: (r["arm"], r["cpu_min"]))
            print(
                f"yardstick: {arm['name']} {snap.name} scored in {time.time() - t0:.0f}s: "
                + json.dumps({k: scored[str(snap)].get(k) for k in LANGS}),
                file=sys.stderr,
            )
            write_report(a, arms, rows)
        elif running or waiting():
            time.sleep(10)
    write_report(a, arms, rows)
    print((a.out / "yardstick.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
