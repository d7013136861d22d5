"""`codefusion`: train, pretrain, generate, check, eval.

Errors (a bad checkpoint, a missing data file, a bad option) print one line and exit
non-zero; no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from engine.api import LANGUAGES, EngineError


def _add_train_args(p: argparse.ArgumentParser, pretrain: bool) -> None:
    p.add_argument("--config", default="small", help="tiny | small | paper | a JSON file (default: small)")
    if pretrain:
        p.add_argument("--data", nargs="+", default=None, metavar="LANG=PATH",
                       help="corpora: bash=FILE.txt cf=FILE.txt python=stdlib (default: all from the shared data dir)")
    else:
        p.add_argument("--data", nargs="+", required=True, metavar="FILE.jsonl", help="NL->code JSONL files")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--dev", nargs="*", default=[], metavar="FILE.jsonl", help="dev JSONL to sample during training")
    p.add_argument("--init", default=None, help="start from this checkpoint (e.g. a pre-trained one)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (model, optimizer, step, RNG)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    p.add_argument("--model", dest="kind", choices=["diffusion", "ar"], default=None,
                   help="diffusion (CodeFusion, default) or ar (the autoregressive baseline)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--time-budget", type=float, default=None, help="seconds; save and stop when reached")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--save-every", type=int, default=None)
    p.add_argument("--tokenizer-data", nargs="*", default=[], metavar="FILE",
                   help="extra code (JSONL or one snippet a line) to train the BPE on")
    p.add_argument("--exemplars", type=int, default=None, metavar="M",
                   help="condition on the M nearest training programs (diffusion or --model ar); same as --set exemplars=M")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override model config fields")
    p.add_argument("--no-progress", action="store_true")


def _run_train(a: argparse.Namespace, task: str) -> int:
    from engine.train import TrainArgs, train

    data = a.data
    if task == "pretrain" and not data:
        from engine.data import default_data_dir
        d = default_data_dir()
        if d is None:
            raise EngineError("no --data given and no ../shared/data directory found")
        data = [f"bash={d / 'bash/codefusion-pretrain.txt'}", f"cf={d / 'cf/codefusion-pretrain.txt'}", "python=stdlib"]
    overrides = {}
    for kv in a.set:
        if "=" not in kv:
            raise EngineError(f"--set expects KEY=VALUE, got '{kv}'")
        k, v = kv.split("=", 1)
        overrides[k] = v
    if a.exemplars is not None:
        if a.exemplars < 0:
            raise EngineError(f"--exemplars must be >= 0, got {a.exemplars}")
        overrides["exemplars"] = str(a.exemplars)
    out = train(TrainArgs(config=a.config, data=data, out=a.out, task=task, dev=a.dev, init=a.init,
                          resume=a.resume, device=a.device, kind=a.kind, max_steps=a.max_steps,
                          time_budget_s=a.time_budget, batch_size=a.batch_size, lr=a.lr,
                          eval_every=a.eval_every, save_every=a.save_every, tokenizer_data=a.tokenizer_data, progress=not a.no_progress,
                          model_overrides=overrides))
    print(f"checkpoint written to {out}")
    return 0


def _run_generate(a: argparse.Namespace) -> int:
    from engine.api import load_generator
    from engine.api import MAX_K, MAX_REQUEST_CHARS

    # checked before the model loads (seconds): a bad request fails at once
    if not a.nl.strip():
        raise EngineError("the request is empty: say what the code should do")
    if not 1 <= a.k <= MAX_K:
        raise EngineError(f"-k must be in 1..{MAX_K}, got {a.k}")
    if a.steps is not None and a.steps < 1:
        raise EngineError(f"--steps must be at least 1, got {a.steps}")
    cut_note = None
    if len(a.nl) > MAX_REQUEST_CHARS:
        cut_note = f"(note: the request was cut from {len(a.nl)} to its first {MAX_REQUEST_CHARS} characters)"
        a.nl = a.nl[:MAX_REQUEST_CHARS]
    gen = load_generator(a.checkpoint, a.device)
    cands = gen.generate(a.nl, a.lang, k=a.k, steps=a.steps, seed=a.seed)
    if a.json:  # the contract: the engine's k raw candidates, best first
        print(json.dumps([{"code": c.code, "score": round(c.score, 4)} for c in cands], ensure_ascii=False))
        return 0
    if cut_note:
        print(cut_note)
    rows = [(c.code, c.score, "") for c in cands]
    if not a.raw:  # what an editor shows: grammar/'s pipeline (normalised, de-duplicated, syntax-ranked)
        try:
            from grammar.pipeline import process
        except ImportError:  # grammar/ not installed: raw candidates
            process = None
        if process is not None:
            res = process(cands, a.lang, k=a.k)
            rows = [(r.code, r.score, ("" if r.valid else "  (invalid syntax)")
                     + "".join(f"  [warning: {w}]" for w in r.warnings)) for r in res.candidates]
            if res.n_duplicates:
                print(f"({res.n_duplicates} duplicate candidate(s) dropped; --raw shows all {len(cands)})")
    for i, (code, score, note) in enumerate(rows, 1):
        print(f"[{i}] score {score:.3f}{note}")
        print(code)
    return 0


def _run_diagnose(a: argparse.Namespace) -> int:
    from engine.api import default_checkpoint_dir
    from engine.diagnose import format_table, run

    ckpt = a.checkpoint or default_checkpoint_dir()
    if ckpt is None:
        raise EngineError("no --checkpoint given and no default model is installed")
    if a.n < 1:
        raise EngineError(f"-n must be at least 1, got {a.n}")
    res = run(str(ckpt), a.data, n=a.n, out=a.out, device=a.device, seed=a.seed, progress=sys.stderr.isatty())
    print(format_table(res))
    if a.out:
        print(f"written: {a.out} and {a.out.rsplit('.', 1)[0]}.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from engine import version

    p = argparse.ArgumentParser(prog="codefusion", description="CodeFusion: natural language to code with diffusion")
    p.add_argument("--version", action="version", version=f"codefusion {version()}")
    sub = p.add_subparsers(dest="cmd", required=True)
    _add_train_args(sub.add_parser("train", help="fine-tune on NL->code pairs"), pretrain=False)
    _add_train_args(sub.add_parser("pretrain", help="pre-train on unannotated code (unsupervised generation + CPD)"),
                    pretrain=True)
    g = sub.add_parser("generate", help="generate k candidates for an NL request")
    g.add_argument("nl")
    g.add_argument("--lang", required=True, choices=LANGUAGES)
    g.add_argument("-k", type=int, default=5)
    g.add_argument("--steps", type=int, default=None, help="sampling steps (default: the checkpoint's)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the shipped model)")
    g.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    g.add_argument("--json", action="store_true", help='print the k raw candidates as [{"code": ..., "score": ...}, ...]')
    g.add_argument("--raw", action="store_true", help="print the engine's k candidates without grammar/'s pipeline")
    d = sub.add_parser("diagnose", help="does the denoiser use x_t? readout per noise level, accuracy vs steps")
    d.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the shipped model)")
    d.add_argument("--data", required=True, metavar="FILE.jsonl", help="items whose programs are the references")
    d.add_argument("-n", type=int, default=128, help="the first N items (default 128)")
    d.add_argument("--out", default=None, metavar="FILE.json", help="write JSON here and the plot beside it (.png)")
    d.add_argument("--device", default=None)
    d.add_argument("--seed", type=int, default=0)
    try:
        from grammar import cli as gcli
    except ImportError:  # grammar/ not present
        gcli = None
    if gcli is not None:
        gcli.add_check_args(sub.add_parser("check", help="syntax-check code (exit 0 valid, 1 invalid, 2 usage)"))
        gcli.add_eval_args(sub.add_parser("eval", help="evaluate a checkpoint on a JSONL file"))
    return p


def main(argv: Optional[list[str]] = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    try:
        if a.cmd in ("train", "pretrain"):
            return _run_train(a, "finetune" if a.cmd == "train" else "pretrain")
        if a.cmd == "generate":
            return _run_generate(a)
        if a.cmd == "diagnose":
            return _run_diagnose(a)
        from grammar import cli as gcli
        if a.cmd == "check":
            return gcli.run_check(a)
        return gcli.run_eval(a)
    except EngineError as e:
        print(f"codefusion: error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"codefusion: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codefusion: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
