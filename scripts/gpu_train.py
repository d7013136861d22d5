"""The shipped model's whole training run as ONE program for a single GPU (or a CPU rehearsal).

Several variants train side by side (small models leave a big GPU mostly idle), each as
    diffusion: pre-train (unsupervised generation + CPD) -> fine-tune on all train splits
    ar:        fine-tune only (the autoregressive baseline)
    cont:      CONFIG is a checkpoint, fine-tuned further for --ft-s seconds (runs add up over sessions)
then every trained variant is evaluated on the dev splits and packed into OUT: NAME.tar.part-* per
variant, eval.tgz, logs.tgz. Pick the shipped one on dev afterwards.

    python scripts/gpu_train.py --out runs/gpu                           # full run (GPU)
    python scripts/gpu_train.py --smoke --device cpu                     # seconds-long CPU rehearsal
    python scripts/gpu_train.py --variant s10=cont:models/default: --ft-s 330

A variant is NAME=KIND:CONFIG:KEY=VAL,KEY=VAL (model config overrides after the second colon).
Every option also reads an environment variable (OUT, WORK, DEVICE, PY, LAUNCH, DATA, VARIANTS,
PRE_S, FT_S, AR_S, BS, EVAL_STEPS, EVAL_T, SMOKE, BENCH, TRAIN_CONFIG, EXEMPLAR_BANK, KD), as scripts/gpu_train.sh
passes them. The no-bank recipe of models/eval/d7-d8 on a GPU (distilled targets, unrolled rows, tldr exemplars):
    python scripts/research/kd_targets.py --out .gpu/kd ../shared/data/{bash,python,cf}/codefusion-train.jsonl  # here
    KD=.gpu/kd TRAIN_CONFIG=cfg.json EXEMPLAR_BANK=1 VARIANTS="kd=cont:models/default:" FT_S=480 \\
        bash scripts/gpu_train.sh   # cfg.json: {"train": {"unroll_p": 0.5, "exemplar_dropout": 0.5, "lr": 3e-4}}
Device files: scripts/gpu_pack.sh writes .gpu/ (data, NL encoder, wheels); carry [".gpu"].

Exit status: 0 when every variant trained and evaluated; 1 when any failed (each is listed, and the
others still finish and are packed); 2 for a malformed variant or option.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KINDS = ("diffusion", "ar", "cont")
DEFAULT_VARIANTS = (
    "s10=diffusion:small:x0_scale=0.1 s05=diffusion:small:x0_scale=0.05 "
    "m08=diffusion:small:x0_scale=0.08,d_model=384,n_heads=6,denoiser_layers=6,decoder_layers=3 ar=ar:small:"
)
SMOKE_VARIANTS = "d05=diffusion:tiny:x0_scale=0.5 ar=ar:tiny:"
PART_BYTES = 15 * 2**20  # the device machine returns files of limited size


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # diffusion | ar | cont
    config: str  # a named config or JSON file; for cont, a checkpoint directory
    sets: dict = field(default_factory=dict)  # model config overrides

    @classmethod
    def parse(cls, spec: str) -> Variant:
        """NAME=KIND:CONFIG:KEY=VAL,KEY=VAL -> Variant; ValueError with the reason."""
        name, eq, rest = spec.partition("=")
        parts = rest.split(":", 2)
        if not eq or not name or not name.replace("-", "").replace("_", "").isalnum() or len(parts) < 2:
            raise ValueError(f"variant {spec!r}: expected NAME=KIND:CONFIG[:KEY=VAL,...]")
        kind, config, sets = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
        if kind not in KINDS:
            raise ValueError(f"variant {spec!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if not config:
            raise ValueError(f"variant {spec!r}: no config (or checkpoint, for cont)")
        pairs = [kv for kv in sets.split(",") if kv]
        bad = [kv for kv in pairs if "=" not in kv]
        if bad:
            raise ValueError(f"variant {spec!r}: override {bad[0]!r} is not KEY=VAL")
        return cls(name, kind, config, dict(kv.split("=", 1) for kv in pairs))

    def set_args(self) -> list[str]:
        return ["--set", *[f"{k}={v}" for k, v in self.sets.items()]] if self.sets else []


@dataclass
class Run:
    """Where and how: the parsed options."""

    out: Path
    work: Path
    device: str
    py: str
    launch: list[str]
    data: Path
    pre_s: int
    ft_s: int
    ar_s: int
    bs: int
    eval_steps: list[str]
    eval_t: int
    limit: list[str]
    bench: bool
    train_config: str = ""  # cont fine-tunes: a JSON file of train options (e.g. {"train": {"unroll_p": 0.5}})
    exemplar_bank: bool = False  # cont fine-tunes: training exemplars from the tldr bank (train --exemplar-bank)
    kd_teacher: str = ""  # an AR checkpoint: the CodeFusion train files are replaced by its distilled copies
    kd_dir: Path | None = None  # where prepare_kd wrote them
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        with self.lock:
            print(line, flush=True)
            with open(self.out / "run.log", "a") as f:
                f.write(line + "\n")

    def files(self, split: str) -> list[str]:
        d = self.data
        if split == "train":

            def pairs(lang: str) -> str:  # a CodeFusion train file, or its distilled copy (prepare_kd)
                return str(self.kd_dir / f"kd-{lang}.jsonl" if self.kd_dir else d / f"{lang}/codefusion-train.jsonl")

            return [pairs("bash"), str(d / "bash/tldr-train.jsonl"), pairs("python"), pairs("cf")]
        return [str(d / f"{lang}/codefusion-dev.jsonl") for lang in ("bash", "python", "cf")]

    def cli(self, args: list[str], log_file: Path, launch: bool = True, timeout: float | None = None) -> int:
        """Run `codefusion ARGS` (through LAUNCH for training), appending its output to log_file."""
        cmd = (self.launch if launch else [self.py]) + ["-m", "codefusion.cli", *args]
        with open(log_file, "a") as log:
            log.write("$ " + shlex.join(cmd) + "\n")
            log.flush()
            try:
                return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                log.write(f"timed out after {timeout} s\n")
                return 124


def checkpoint_kind(path: str) -> str:
    from engine.checkpoint import read_meta

    return read_meta(Path(path))["model"]["kind"]


def train_variant(run: Run, v: Variant) -> str | None:
    """Train, export (fp16) and pack one variant; None when it worked, else what failed."""
    log_file, w = run.out / "logs" / f"{v.name}.log", run.work
    common = [
        "--device",
        run.device,
        "--out",
        str(w / v.name),
        "--data",
        *run.files("train"),
        "--batch-size",
        str(run.bs),
        "--max-steps",
        "1000000",
        "--no-progress",
    ]
    if v.kind == "cont":
        from engine.checkpoint import is_complete

        if not is_complete(Path(v.config)):
            return f"cont: {v.config} is not a checkpoint"
        extra = ["--dev", *run.files("dev"), "--eval-every", "1000"] if checkpoint_kind(v.config) == "diffusion" else []
        extra += ["--config", run.train_config] if run.train_config else []
        extra += ["--exemplar-bank", str(run.data / "bash/tldr-train.jsonl")] if run.exemplar_bank else []
        rc = run.cli(
            [
                "train",
                "--init",
                v.config,
                *v.set_args(),
                *common,
                *extra,
                "--time-budget",
                str(run.ft_s),
                "--save-every",
                "2000",
            ],
            log_file,
        )
    elif v.kind == "ar":
        rc = run.cli(
            [
                "train",
                "--config",
                v.config,
                "--model",
                "ar",
                *v.set_args(),
                *common,
                "--time-budget",
                str(run.ar_s),
                "--save-every",
                "0",
            ],
            log_file,
        )
    else:
        d = run.data
        rc = run.cli(
            [
                "pretrain",
                "--config",
                v.config,
                *v.set_args(),
                "--device",
                run.device,
                "--out",
                str(w / f"{v.name}-pre"),
                "--batch-size",
                str(run.bs),
                "--max-steps",
                "1000000",
                "--time-budget",
                str(run.pre_s),
                "--save-every",
                "0",
                "--no-progress",
                "--tokenizer-data",
                *run.files("train"),
                "--data",
                f"bash={d / 'bash/codefusion-pretrain.txt'}",
                f"cf={d / 'cf/codefusion-pretrain.txt'}",
                "python=stdlib",
            ],
            log_file,
        )
        if rc == 0:
            rc = run.cli(
                [
                    "train",
                    "--config",
                    v.config,
                    "--init",
                    str(w / f"{v.name}-pre"),
                    *common,
                    "--dev",
                    *run.files("dev"),
                    "--time-budget",
                    str(run.ft_s),
                    "--eval-every",
                    "1000",
                    "--save-every",
                    "2000",
                ],
                log_file,
            )
    if rc != 0:
        return f"training exited {rc} (see logs/{v.name}.log)"
    pack(run, v)  # at once: a later failure or timeout must not lose a trained model
    run.log(f"trained {v.name}")
    return None


def pack(run: Run, v: Variant) -> None:
    from engine.checkpoint import export_half

    src, ship = run.work / v.name, run.work / f"ship-{v.name}"
    export_half(src, ship)
    for name, to in (("metrics.jsonl", "metrics.jsonl"), ("training_curve.png", "training_curve.png")):
        if (src / name).exists():
            shutil.copy(src / name, ship / to)
    pre = run.work / f"{v.name}-pre" / "metrics.jsonl"
    if pre.exists():
        shutil.copy(pre, ship / "pre-metrics.jsonl")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(ship, arcname=ship.name)
    data = buf.getvalue()
    for i in range(0, len(data), PART_BYTES):
        suffix = chr(ord("a") + i // PART_BYTES // 26) + chr(ord("a") + i // PART_BYTES % 26)
        (run.out / f"{v.name}.tar.part-{suffix}").write_bytes(data[i : i + PART_BYTES])


def eval_variant(run: Run, v: Variant) -> str | None:
    """Evaluate one packed variant on every dev split; None when all worked, else what failed."""
    kind = checkpoint_kind(v.config) if v.kind == "cont" else v.kind
    steps = ["--steps", *run.eval_steps] if kind != "ar" and run.eval_steps else []
    log_file = run.out / "logs" / f"eval-{v.name}.log"

    def one(lang: str) -> int:
        return run.cli(
            [
                "eval",
                "--checkpoint",
                str(run.work / f"ship-{v.name}"),
                "--data",
                str(run.data / f"{lang}/codefusion-dev.jsonl"),
                *steps,
                "--device",
                run.device,
                "--out",
                str(run.work / "eval" / f"{v.name}-{lang}.json"),
                "--no-progress",
                *run.limit,
            ],
            log_file,
            launch=False,
            timeout=run.eval_t,
        )

    with ThreadPoolExecutor(3) as ex:
        rcs = dict(zip(("bash", "python", "cf"), ex.map(one, ("bash", "python", "cf"))))
    failed = [f"{lang} exited {rc}" for lang, rc in rcs.items() if rc != 0]
    return f"eval: {', '.join(failed)} (see logs/eval-{v.name}.log)" if failed else None


def prepare(run: Run) -> None:
    """Device files from .gpu/ (scripts/gpu_pack.sh): wheels the machine lacks, the NL encoder, the data."""
    gpu = REPO / ".gpu"
    if (gpu / "whl").is_dir():
        wheels = sorted(str(p) for p in (gpu / "whl").glob("*.whl"))
        subprocess.run(
            [
                run.py,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--no-compile",
                "--no-cache-dir",
                "--upgrade",
                "--target",
                "/tmp/site",
                *wheels,
            ],
            check=True,
        )
        os.environ["PYTHONPATH"] = f"/tmp/site{os.pathsep}{REPO}"
        sys.path.insert(0, "/tmp/site")
    os.environ.setdefault("PYTHONPATH", str(REPO))
    if (gpu / "minilm.tar.xz").exists():
        with tarfile.open(gpu / "minilm.tar.xz") as t:
            t.extractall(run.work)
        os.environ["CODEFUSION_MINILM_DIR"] = str(run.work / "minilm")
    elif (gpu / "minilm").is_dir():
        os.environ["CODEFUSION_MINILM_DIR"] = str(gpu / "minilm")


def parse_args(argv: list[str] | None) -> tuple[Run, list[Variant]]:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="gpu_train.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=env("OUT", "runs/gpu"))
    p.add_argument("--work", default=env("WORK", "/tmp/cf-work"))
    p.add_argument("--device", default=env("DEVICE", "cuda"))
    p.add_argument("--py", default=env("PY", sys.executable))
    p.add_argument("--launch", default=env("LAUNCH", ""), help='e.g. "torchrun --nproc_per_node 2" (default: --py)')
    p.add_argument(
        "--data", default=env("DATA", ""), help="the data directory (default: .gpu/data.tgz or ../shared/data)"
    )
    p.add_argument("--variant", action="append", default=None, help="NAME=KIND:CONFIG:KEY=VAL,... (repeatable)")
    p.add_argument("--smoke", action="store_true", default=bool(env("SMOKE")), help="seconds-long rehearsal")
    p.add_argument("--pre-s", type=int, default=int(env("PRE_S", "60")))
    p.add_argument("--ft-s", type=int, default=int(env("FT_S", "330")))
    p.add_argument("--ar-s", type=int, default=int(env("AR_S", "0")), help="default: pre-s + ft-s")
    p.add_argument("--bs", type=int, default=int(env("BS", "256")))
    p.add_argument("--eval-steps", default=env("EVAL_STEPS", "3 10"))
    p.add_argument("--eval-t", type=int, default=int(env("EVAL_T", "150")))
    p.add_argument("--bench", action="store_true", default=bool(env("BENCH")))
    p.add_argument("--train-config", default=env("TRAIN_CONFIG", ""), help="cont: JSON train options")
    p.add_argument(
        "--exemplar-bank", action="store_true", default=bool(env("EXEMPLAR_BANK")), help="cont: tldr exemplars"
    )
    p.add_argument(
        "--kd",
        default=env("KD", ""),
        help="AR checkpoint (its distilled programs are made first) or a folder of kd_targets.py's files",
    )
    a = p.parse_args(argv)
    specs = a.variant or (env("VARIANTS") or (SMOKE_VARIANTS if a.smoke else DEFAULT_VARIANTS)).split()
    variants = [Variant.parse(s) for s in specs]  # ValueError: exit 2
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names repeat: {' '.join(names)}")
    out, work = Path(a.out), Path(a.work)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    (work / "eval").mkdir(parents=True, exist_ok=True)
    pre_s, ft_s, ar_s, bs, eval_steps, limit = (
        a.pre_s,
        a.ft_s,
        a.ar_s or a.pre_s + a.ft_s,
        a.bs,
        a.eval_steps.split(),
        [],
    )
    if a.smoke:
        pre_s, ft_s, ar_s, bs, eval_steps, limit = 4, 6, 6, 8, ["2"], ["--limit", "3"]
    data = Path(a.data) if a.data else None
    if data is None:
        if (REPO / ".gpu/data.tgz").exists():
            with tarfile.open(REPO / ".gpu/data.tgz") as t:
                t.extractall(work)
            data = work / "data"
        else:
            data = REPO.parent / "shared" / "data"
    run = Run(
        out=out.resolve(),
        work=work.resolve(),
        device=a.device,
        py=a.py,
        launch=shlex.split(a.launch) if a.launch else [a.py],
        data=data.resolve(),
        pre_s=pre_s,
        ft_s=ft_s,
        ar_s=ar_s,
        bs=bs,
        eval_steps=eval_steps,
        eval_t=a.eval_t,
        limit=limit,
        bench=a.bench,
        train_config=str(Path(a.train_config).resolve()) if a.train_config else "",
        exemplar_bank=a.exemplar_bank,
        kd_teacher=a.kd,
    )
    return run, variants


def prepare_kd(run: Run) -> str | None:
    """With --kd: the teacher's greedy programs for the CodeFusion train files (scripts/research/kd_targets.py,
    on the run's device) in WORK/kd, or, when --kd names a folder of kd-<lang>.jsonl files, those;
    run.files("train") reads them from then on. None, or what failed."""
    if not run.kd_teacher:
        return None
    if (Path(run.kd_teacher) / "kd-bash.jsonl").exists():  # made beforehand (e.g. into .gpu/kd, which travels)
        run.kd_dir = Path(run.kd_teacher).resolve()
        run.log(f"distilled targets from {run.kd_dir}")
        return None
    out = run.work / "kd"
    files = [str(run.data / f"{lang}/codefusion-train.jsonl") for lang in ("bash", "python", "cf")]
    cmd = [run.py, str(REPO / "scripts/research/kd_targets.py"), "--teacher", run.kd_teacher, "--out", str(out)]
    cmd += ["--device", run.device, *files]
    with open(run.out / "logs" / "kd.log", "a") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO).returncode
    if rc != 0:
        return f"kd_targets exited {rc} (see logs/kd.log)"
    run.kd_dir = out
    run.log(f"distilled targets in {out}")
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        run, variants = parse_args(argv)
    except ValueError as e:
        print(f"gpu_train: error: {e}", file=sys.stderr)
        return 2
    prepare(run)
    err = prepare_kd(run)
    if err:
        run.log(f"failed: {err}")
        return 1
    run.log(
        f"device={run.device} data={run.data} variants={' '.join(f'{v.name}={v.kind}:{v.config}' for v in variants)}"
    )
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(len(variants)) as ex:
        for v, err in zip(variants, ex.map(lambda v: _guard(train_variant, run, v), variants)):
            if err:
                failures[v.name] = err
    run.log("training done")
    trained = [v for v in variants if v.name not in failures]
    with ThreadPoolExecutor(max(1, len(trained))) as ex:
        for v, err in zip(trained, ex.map(lambda v: _guard(eval_variant, run, v), trained)):
            if err:
                failures[v.name] = err
    run.log("eval done")
    with tarfile.open(run.out / "eval.tgz", "w:gz") as t:  # few files: the device call returns a limited number
        t.add(run.work / "eval", arcname="eval")
    with tarfile.open(run.out / "logs.tgz", "w:gz") as t:
        t.add(run.out / "logs", arcname="logs")
    shutil.rmtree(run.out / "logs")
    if run.bench and "--smoke" not in (argv or []):
        bench = REPO / "scripts" / "research" / "bench_engine.py"
        rc = subprocess.run(
            [
                run.py,
                str(bench),
                "--device",
                run.device,
                "--configs",
                "small",
                "paper",
                "--steps",
                "10",
                "20",
                "--repeats",
                "5",
                "--json",
                str(run.out / f"bench-{run.device}.json"),
            ]
        ).returncode
        if rc:
            failures["bench"] = f"bench_engine.py exited {rc}"
    for name, err in failures.items():
        run.log(f"FAILED {name}: {err}")
    run.log(f"done: {len(variants) - len([n for n in failures if n != 'bench'])}/{len(variants)} variants ok")
    return 1 if failures else 0


def _guard(fn, run: Run, v: Variant) -> str | None:
    """fn(run, v), with any exception reported as that variant's failure (the others go on)."""
    try:
        return fn(run, v)
    except Exception as e:  # a failed variant must not stop the others
        return f"{type(e).__name__}: {e}"


if __name__ == "__main__":
    sys.exit(main())
