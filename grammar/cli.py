"""argparse glue for `codefusion check` and `codefusion eval` (wired in by engine/cli.py).

    python -m grammar.cli check --lang bash "CODE"      (or - to read stdin)
    python -m grammar.cli eval --checkpoint DIR --data FILE.jsonl --out REPORT.json [...]

check: exit 0 when valid; exit 1 with one `line:col: message` line per error; exit 2 on
usage errors. eval: exit 0 on success, 1 with a one-line message on bad input or a failing
model.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from grammar.syntax import LANGS


def add_check_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", required=True, choices=LANGS, help="language of the code")
    parser.add_argument("code", help="the code to check, or - to read it from stdin")


def run_check(args: argparse.Namespace) -> int:
    from grammar.syntax import check

    code = sys.stdin.read() if args.code == "-" else args.code
    if not code.strip():
        print("error: no code to check", file=sys.stderr)
        return 2
    verdict = check(code, args.lang)
    for note in verdict.notes:
        print(f"note: {note}", file=sys.stderr)
    for issue in verdict.errors:
        print(str(issue))
    from grammar.danger import dangers

    for reason in dangers(code, args.lang):  # the same flags `generate` shows; the exit code stays syntax's
        print(f"warning: {reason}")
    return 0 if verdict.valid else 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def add_eval_args(parser: argparse.ArgumentParser) -> None:
    from grammar.options import DEFAULT_INVALID_MODE, DEFAULT_K, DEFAULT_SEED
    from grammar.pipeline import INVALID_MODES

    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped model)")
    parser.add_argument("--data", required=True, type=Path, help="JSONL file with nl/code/lang records")
    parser.add_argument("--lang", choices=LANGS, help="language of every record (default: each record's lang)")
    parser.add_argument("-k", type=_positive_int, default=DEFAULT_K, help=f"candidates per query (default {DEFAULT_K})")
    parser.add_argument("--steps", type=_positive_int, nargs="+",
                        help="sampling steps; several values give one run each and plots (default: the checkpoint's)")
    parser.add_argument("--limit", type=_positive_int, help="evaluate only the first N records")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sampling seed (default {DEFAULT_SEED})")
    parser.add_argument("--device", help="cpu, cuda, ... (default: CUDA when available)")
    parser.add_argument("--out", required=True, type=Path, help="REPORT.json; .md, .items.jsonl and plots go beside it")
    parser.add_argument("--baseline", choices=("retrieval",), help="evaluate the TF-IDF retrieval baseline instead")
    parser.add_argument("--train", type=Path, nargs="+", default=[], help="training JSONL file(s) for --baseline retrieval")
    parser.add_argument("--codebert", help="local CodeBERT model directory for CodeBERTScore (Python)")
    parser.add_argument("--invalid-mode", choices=INVALID_MODES, default=DEFAULT_INVALID_MODE,
                        help=f"what the pipeline does with invalid candidates (default {DEFAULT_INVALID_MODE})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--start-snr", type=float, default=None,
                        help="exemplar models: start sampling from the nearest exemplar noised to this token SNR "
                             "(0: pure noise; default: the checkpoint's)")
    parser.add_argument("--bank", type=Path, nargs="*", default=None,
                        help="exemplar models: JSONL files to draw exemplars from (default: the training files; "
                             "with no file: none)")


def options_from_args(args: argparse.Namespace):
    from grammar.options import EvalOptions

    return EvalOptions(data=args.data, out=args.out, checkpoint=args.checkpoint, lang=args.lang, k=args.k,
                       steps=list(args.steps) if args.steps else [None], limit=args.limit, seed=args.seed,
                       device=args.device, baseline=args.baseline, train=list(args.train), codebert=args.codebert,
                       invalid_mode=args.invalid_mode, progress=not args.no_progress,
                       start_snr=args.start_snr, bank=args.bank)


def run_eval(args: argparse.Namespace) -> int:
    from grammar.evaluate import EvalError, primary_topk, run

    try:
        from engine.api import EngineError
    except ImportError:  # pragma: no cover - engine is part of the same project
        EngineError = RuntimeError  # type: ignore[misc,assignment]
    try:
        report = run(options_from_args(args))
    except (EvalError, EngineError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in report["runs"]:
        top = primary_topk(r)
        print(f"{r['lang']} steps={r['steps']} n={r['n_items']} {r['primary_metric']}: "
              f"top-1 {top['top1']:.1f}  top-3 {top['top3']:.1f}  top-5 {top['top5']:.1f}  "
              f"latency p50 {r['speed']['latency_p50_s']:.3f}s")
    print(f"wrote {report['files']['json']}, {report['files']['markdown']}, {report['files']['items']}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grammar.cli", description="CodeFusion syntax checks and evaluation")
    sub = parser.add_subparsers(dest="command", required=True)
    add_check_args(sub.add_parser("check", help="check the syntax of a snippet"))
    add_eval_args(sub.add_parser("eval", help="evaluate a checkpoint or the retrieval baseline on a JSONL file"))
    args = parser.parse_args(argv)
    return run_check(args) if args.command == "check" else run_eval(args)


if __name__ == "__main__":
    sys.exit(main())
