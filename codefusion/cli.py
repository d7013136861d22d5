"""`codefusion`: train, pretrain, generate, diagnose, check, eval (also `python -m codefusion`).

check: exit 0 when valid; exit 1 with one `line:col: message` line per error; exit 2 on
usage errors. eval: exit 0 on success, 1 with a one-line message on bad input or a failing
model. Other errors (a bad checkpoint, a missing data file, a bad option) print one line and exit
non-zero; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from codefusion.settings import INVALID_MODES, Settings
from engine import version
from engine.api import EngineError, default_checkpoint_dir
from engine.data import default_data_dir
from engine.schema import DEFAULT_K, DEFAULT_SEED, K_RANGE, LANGUAGES, Request
from grammar.syntax import LANGS


def _add_train_args(p: argparse.ArgumentParser, pretrain: bool) -> None:
    p.add_argument("--config", default="small", help="tiny | small | paper | a JSON file (default: small)")
    if pretrain:
        p.add_argument(
            "--data",
            nargs="+",
            default=None,
            metavar="LANG=PATH",
            help="corpora: bash=FILE.txt cf=FILE.txt python=stdlib (default: all from the shared data dir)",
        )
    else:
        p.add_argument("--data", nargs="+", required=True, metavar="FILE.jsonl", help="NL->code JSONL files")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--dev", nargs="*", default=[], metavar="FILE.jsonl", help="dev JSONL to sample during training")
    p.add_argument("--init", default=None, help="start from this checkpoint (e.g. a pre-trained one)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (model, optimizer, step, RNG)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    p.add_argument(
        "--model",
        dest="kind",
        choices=["diffusion", "ar"],
        default=None,
        help="diffusion (CodeFusion, default) or ar (the autoregressive baseline)",
    )
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--time-budget", type=float, default=None, help="seconds; save and stop when reached")
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="what --time-budget and --snapshot-every count: wall seconds or this process's CPU seconds",
    )
    p.add_argument(
        "--exemplar-bank",
        nargs="*",
        default=[],
        metavar="FILE.jsonl",
        help="exemplar models: draw training exemplars from these banks (e.g. tldr-pages) for the languages "
        "they hold, leaving out each target's own NL and tldr page",
    )
    p.add_argument(
        "--snapshot-every",
        type=float,
        default=0.0,
        metavar="S",
        help="keep a copy of the checkpoint every S seconds in OUT/snapshots/ (learning curves)",
    )
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--eval-every", type=int, default=None)
    p.add_argument("--save-every", type=int, default=None)
    p.add_argument(
        "--tokenizer-data",
        nargs="*",
        default=[],
        metavar="FILE",
        help="extra code (JSONL or one snippet a line) to train the BPE on",
    )
    p.add_argument(
        "--exemplars",
        type=int,
        default=None,
        metavar="M",
        help="condition on the M nearest training programs (diffusion or --model ar); same as --set exemplars=M",
    )
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override model config fields")
    p.add_argument("--no-progress", action="store_true")


def _run_train(a: argparse.Namespace, task: str) -> int:
    from codefusion.evaluation.template import template_match
    from engine.train import TrainArgs, train  # lazy: torch, not at start-up

    data = a.data
    if task == "pretrain" and not data:
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
    out = train(
        TrainArgs(
            config=a.config,
            data=data,
            out=a.out,
            task=task,
            dev=a.dev,
            init=a.init,
            resume=a.resume,
            device=a.device,
            kind=a.kind,
            max_steps=a.max_steps,
            time_budget_s=a.time_budget,
            batch_size=a.batch_size,
            lr=a.lr,
            eval_every=a.eval_every,
            save_every=a.save_every,
            tokenizer_data=a.tokenizer_data,
            progress=not a.no_progress,
            clock=a.clock,
            snapshot_every_s=a.snapshot_every,
            exemplar_bank=list(a.exemplar_bank),
            model_overrides=overrides,
            dev_matchers={"template_bash": template_match},
        )
    )
    print(f"checkpoint written to {out}")
    return 0


def _run_generate(a: argparse.Namespace) -> int:
    from codefusion.runtime import candidate_json

    # checked before the model loads (seconds): a bad request fails at once, as a usage error (exit 2),
    # with the message the daemon, the shared engine and the language server give (engine.schema)
    request = Request(
        _request_text(a),
        a.lang,
        k=a.k,
        steps=a.steps,
        seed=a.seed,
        start_snr=a.start_snr,
        noise_slots=a.noise_slots,
        retrieval=not a.no_retrieval,
        invalid_mode=a.invalid_mode,
    )
    hint = None  # Python, CF: no bank here; once, how to add your own examples
    raw: list[dict[str, Any]] | None = None  # --raw: the engine's own candidates
    shown: list[dict[str, Any]] = []  # else what an editor shows (engine.schema.CandidateView's JSON)
    if a.daemon:  # a warm background process answers (codefusion/daemon.py)
        from codefusion import daemon

        reply = daemon.ask({**request.to_json(), "raw": a.raw}, a.checkpoint, a.device, a.exemplars)
        if "error" in reply:
            raise EngineError(f"daemon: {reply['error']}")
        raw, shown = reply.get("raw"), reply.get("candidates") or []
        message, n_dup, via = reply.get("message"), reply.get("n_duplicates", 0), reply.get("daemon")
    else:
        via = None
        from codefusion.runtime import Engine

        # a bank not in the cache yet: the answer first, TF-IDF until it is embedded; the user's own examples
        # beside the training files (as codefusion.exemplarFiles)
        engine = Engine.open(a.checkpoint, a.exemplars, a.device, background_embedding=True)
        hint = engine.bank_hint(a.lang, "cli")
        if a.raw:  # the engine's k candidates as they come, best first
            raw = [{"code": c.code, "score": c.score} for c in engine.generate(request)]
        else:  # what an editor shows: suggest() (model + retrieval + grammar's pipeline), as the server does
            res = engine.suggest(request)
            shown = [candidate_json(r) for r in res.candidates]
            message, n_dup = res.message, res.n_duplicates
    if hint:  # one line; with --json on stderr, so stdout stays JSON
        print(f"({hint})", file=sys.stderr if a.json else sys.stdout)
    if raw is not None:
        if a.json:
            print(json.dumps([{"code": c["code"], "score": round(c["score"], 4)} for c in raw], ensure_ascii=False))
            return 0
        rows: list[tuple[str, float, str, list[str]]] = [(c["code"], c["score"], "", []) for c in raw]
    else:
        if a.json:
            print(json.dumps([dict(c, score=round(c["score"], 4)) for c in shown], ensure_ascii=False))
            return 0
        from codefusion.suggest import origin_text

        rows = [
            (
                c["code"],
                c["score"],
                ("" if c["valid"] else " · invalid syntax") + " · " + origin_text(c["origin"], c.get("exemplar")),
                c["warnings"],
            )
            for c in shown
        ]
        if a.verbose and n_dup:  # bookkeeping: only when asked for
            print(f"({n_dup} duplicate candidate(s) dropped; --raw shows the model's own)")
        if message:
            print(f"({message})")
    if a.verbose and isinstance(via, dict):
        print(f"(answered by the daemon pid {via.get('pid')} of {via.get('install')})")
    from grammar.danger import warning_line

    for i, (code, score, note, warnings) in enumerate(rows, 1):
        print(f"[{i}] score {score:.3f}{note}")
        for w in warnings:  # as `codefusion check` prints them
            print(warning_line(w))
        print(code)
    return 0


def _request_text(a: argparse.Namespace) -> str:
    """The request from the argument, stdin ("-") or --nl-file; one-line errors for the rest."""
    if a.nl_file is not None and a.nl is not None:
        raise ValueError("give the request as an argument or with --nl-file, not both")
    if a.nl_file is not None:
        try:
            return Path(a.nl_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise EngineError(f"--nl-file {a.nl_file}: {type(e).__name__}: {e}") from None
    if a.nl is None:
        raise ValueError("no request: give it as an argument, '-' for stdin, or --nl-file FILE")
    text = sys.stdin.read() if a.nl == "-" else a.nl
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise EngineError("the request is not valid UTF-8") from None
    return text


def _run_diagnose(a: argparse.Namespace) -> int:
    from engine.diagnose import format_table, run  # lazy: torch, not at start-up

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


def add_check_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", required=True, choices=LANGS, help="language of the code")
    parser.add_argument("code", help="the code to check, or - to read it from stdin")


def run_check(args: argparse.Namespace) -> int:
    from grammar.syntax import check

    code = sys.stdin.read() if args.code == "-" else args.code
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:
        print("error: the code is not valid UTF-8", file=sys.stderr)
        return 2
    if not code.strip():
        print("error: no code to check", file=sys.stderr)
        return 2
    verdict = check(code, args.lang)
    for note in verdict.notes:
        print(f"note: {note}", file=sys.stderr)
    for issue in verdict.errors:
        print(str(issue))
    from grammar.danger import warning_lines

    for line in warning_lines(code, args.lang):  # the lines `generate` prints; the exit code stays syntax's
        print(line)
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
    from codefusion.evaluation.options import DEFAULT_INVALID_MODE
    from grammar.pipeline import INVALID_MODES

    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped model)")
    parser.add_argument("--data", required=True, type=Path, help="JSONL file with nl/code/lang records")
    parser.add_argument("--lang", choices=LANGS, help="language of every record (default: each record's lang)")
    parser.add_argument("-k", type=_positive_int, default=DEFAULT_K, help=f"candidates per query (default {DEFAULT_K})")
    parser.add_argument(
        "--steps",
        type=_positive_int,
        nargs="+",
        help="sampling steps; several values give one run each and plots (default: the checkpoint's)",
    )
    parser.add_argument("--limit", type=_positive_int, help="evaluate only the first N records")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sampling seed (default {DEFAULT_SEED})")
    parser.add_argument("--device", help="cpu, cuda, ... (default: CUDA when available)")
    parser.add_argument("--out", required=True, type=Path, help="REPORT.json; .md, .items.jsonl and plots go beside it")
    parser.add_argument("--baseline", choices=("retrieval",), help="evaluate the TF-IDF retrieval baseline instead")
    parser.add_argument(
        "--train", type=Path, nargs="+", default=[], help="training JSONL file(s) for --baseline retrieval"
    )
    parser.add_argument("--codebert", help="local CodeBERT model directory for CodeBERTScore (Python)")
    parser.add_argument(
        "--invalid-mode",
        choices=INVALID_MODES,
        default=DEFAULT_INVALID_MODE,
        help=f"what the pipeline does with invalid candidates (default {DEFAULT_INVALID_MODE})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--start-snr",
        type=float,
        default=None,
        help="exemplar models: start sampling from the nearest exemplar noised to this token SNR "
        "(0: pure noise; default: the checkpoint's)",
    )
    parser.add_argument(
        "--noise-slots",
        type=int,
        default=None,
        metavar="J",
        help="exemplar models: J of the k candidates from a second pass from pure noise "
        "(default: the checkpoint's, per language)",
    )
    parser.add_argument(
        "--retrieval-dense",
        type=float,
        default=0.0,
        metavar="W",
        help="--baseline retrieval: hybrid, W = weight of the sentence-vector cosine (0: TF-IDF, the floor)",
    )
    parser.add_argument(
        "--with-retrieval",
        action="store_true",
        help="score what the editor shows: the model's and the retrieved candidates on one scale, k in all",
    )
    parser.add_argument(
        "--bank",
        type=Path,
        nargs="*",
        default=None,
        help="exemplar models: JSONL files to draw exemplars from (default: the training files; with no file: none)",
    )


def options_from_args(args: argparse.Namespace):
    from codefusion.evaluation.options import EvalOptions

    return EvalOptions(
        data=args.data,
        out=args.out,
        checkpoint=args.checkpoint,
        lang=args.lang,
        k=args.k,
        steps=list(args.steps) if args.steps else [None],
        limit=args.limit,
        seed=args.seed,
        device=args.device,
        baseline=args.baseline,
        train=list(args.train),
        codebert=args.codebert,
        invalid_mode=args.invalid_mode,
        progress=not args.no_progress,
        start_snr=args.start_snr,
        noise_slots=args.noise_slots,
        bank=args.bank,
        with_retrieval=args.with_retrieval,
        retrieval_dense=args.retrieval_dense,
    )


def run_eval(args: argparse.Namespace) -> int:
    from codefusion.evaluation.evaluate import EvalError, primary_topk, run

    try:
        report = run(options_from_args(args))
    except (EvalError, EngineError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in report["runs"]:
        top = primary_topk(r)
        print(
            f"{r['lang']} steps={r['steps']} n={r['n_items']} {r['primary_metric']}: "
            f"top-1 {top['top1']:.1f}  top-3 {top['top3']:.1f}  top-5 {top['top5']:.1f}  "
            f"latency p50 {r['speed']['latency_p50_s']:.3f}s"
        )
    print(f"wrote {report['files']['json']}, {report['files']['markdown']}, {report['files']['items']}")
    return 0


def add_serve_args(p: argparse.ArgumentParser) -> None:
    from codefusion.remote import DEFAULT_BATCH, DEFAULT_PORT, DEFAULT_WAIT_MS

    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; others need a token)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the shipped model)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    p.add_argument("--exemplars", nargs="+", default=[], metavar="FILE.jsonl", help="the team's own examples")
    p.add_argument("--replicas", type=int, default=1, help="model replicas (default 1)")
    p.add_argument(
        "--gpus-per-replica",
        type=float,
        default=None,
        help="GPUs per replica (default: 1 when this machine has CUDA, else 0)",
    )
    p.add_argument(
        "--max-batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"requests per sampling pass (default {DEFAULT_BATCH})",
    )
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=DEFAULT_WAIT_MS,
        help=f"longest wait for a batch to fill (default {DEFAULT_WAIT_MS} ms)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("CODEFUSION_ENGINE_TOKEN"),
        help="bearer token clients must send (default: $CODEFUSION_ENGINE_TOKEN); needed beyond loopback",
    )
    p.add_argument(
        "--address",
        default=None,
        help="a Ray cluster to join (e.g. auto); default: start a local Ray head on this machine",
    )
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray head (default: all)")
    p.add_argument(
        "--cpus-per-replica",
        type=float,
        default=None,
        help="CPUs (torch threads) per replica (default 1: on this 2-core machine one thread per replica "
        "answered more requests/s than two)",
    )


def _run_bank(a: argparse.Namespace) -> int:
    from codefusion import tldr

    n = tldr.write(a.tldr, a.out)
    print(f"{a.out}: {n} Bash exemplars from tldr-pages ({tldr.ATTRIBUTION})")
    if a.index:
        from codefusion.runtime import Engine

        Engine.open(None, [a.out])  # the bank's layers are built (and their index cached) as the model opens
        print("search index built and cached")
    print(f'use it: "codefusion.exemplarFiles": ["{a.out}"] in VS Code, or codefusion generate --exemplars {a.out}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codefusion", description="CodeFusion: natural language to code with diffusion")
    p.add_argument("--version", action="version", version=f"codefusion {version()}")
    sub = p.add_subparsers(dest="cmd", required=True)
    _add_train_args(sub.add_parser("train", help="fine-tune on NL->code pairs"), pretrain=False)
    _add_train_args(
        sub.add_parser("pretrain", help="pre-train on unannotated code (unsupervised generation + CPD)"), pretrain=True
    )
    g = sub.add_parser("generate", help="generate k candidates for an NL request")
    g.add_argument("nl", nargs="?", default=None, help='the request in natural language ("-": read it from stdin)')
    g.add_argument("--nl-file", default=None, metavar="FILE", help="read the request from this file (UTF-8)")
    g.add_argument(
        "--lang",
        required=True,
        metavar="{" + ",".join(LANGUAGES) + "}",
        help="the language of the code (checked with the request: engine.schema)",
    )
    g.add_argument(
        "-k", type=int, default=DEFAULT_K, help=f"candidates, {K_RANGE[0]}..{K_RANGE[1]} (default {DEFAULT_K})"
    )
    g.add_argument("--steps", type=int, default=None, help="sampling steps (default: the checkpoint's)")
    g.add_argument("--seed", type=int, default=DEFAULT_SEED)
    g.add_argument(
        "--start-snr",
        type=float,
        default=None,
        help="exemplar models: start from the nearest exemplars noised to this token SNR (0: pure noise; "
        "default: the checkpoint's)",
    )
    g.add_argument(
        "--noise-slots",
        type=int,
        default=None,
        metavar="J",
        help="exemplar models: J of the k candidates from a pass from pure noise (default: the checkpoint's)",
    )
    g.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the shipped model)")
    g.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    g.add_argument(
        "--json",
        action="store_true",
        help='print JSON: [{"code", "score", "source", "origin", "exemplar", "valid", "warnings"}, ...] '
        '(origin: generated | edited | copy | retrieved; with --raw: [{"code", "score"}])',
    )
    g.add_argument(
        "--raw", action="store_true", help="the engine's k candidates, without retrieval and grammar/'s pipeline"
    )
    g.add_argument("--no-retrieval", action="store_true", help="no retrieved training examples beside the model's")
    g.add_argument(
        "--daemon",
        action="store_true",
        help="answer from a background process that keeps the model loaded (started on first use)",
    )
    g.add_argument(
        "--exemplars",
        nargs="+",
        default=[],
        metavar="FILE.jsonl",
        help="your own examples (nl, code, lang per line): exemplars and retrieved examples too",
    )
    g.add_argument(
        "--invalid-mode",
        choices=INVALID_MODES,
        default=Settings().invalid_mode,
        help="rank_last: invalid candidates last; hide: drop them unless all are invalid",
    )
    g.add_argument(
        "--verbose", action="store_true", help="also print bookkeeping, e.g. how many duplicates were dropped"
    )
    d = sub.add_parser("diagnose", help="does the denoiser use x_t? readout per noise level, accuracy vs steps")
    d.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the shipped model)")
    d.add_argument("--data", required=True, metavar="FILE.jsonl", help="items whose programs are the references")
    d.add_argument("-n", type=int, default=128, help="the first N items (default 128)")
    d.add_argument("--out", default=None, metavar="FILE.json", help="write JSON here and the plot beside it (.png)")
    d.add_argument("--device", default=None)
    d.add_argument("--seed", type=int, default=0)
    add_check_args(sub.add_parser("check", help="syntax-check code (exit 0 valid, 1 invalid, 2 usage)"))
    b = sub.add_parser("bank", help="an exemplar bank (JSONL) from a tldr-pages checkout, for codefusion.exemplarFiles")
    b.add_argument(
        "--tldr",
        required=True,
        type=Path,
        metavar="CHECKOUT",
        help="a clone of https://github.com/tldr-pages/tldr (CC BY 4.0)",
    )
    b.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl")
    b.add_argument(
        "--index",
        action="store_true",
        help="also build and cache the bank's search index with the shipped model (minutes, once)",
    )
    add_serve_args(sub.add_parser("serve", help="one engine for a team: Ray Serve, batched across editors (HTTP/JSON)"))
    sv = sub.add_parser("daemon", help="the process behind `generate --daemon` (a Unix socket, in the foreground)")
    sv.add_argument("--socket", default=None, help="socket path (default: the one `generate --daemon` uses)")
    sv.add_argument("--checkpoint", default=None)
    sv.add_argument("--device", default=None)
    sv.add_argument("--exemplars", nargs="+", default=[], metavar="FILE.jsonl")
    sv.add_argument("--idle", type=float, default=None, help="seconds without a request before it exits (default 1800)")
    from codefusion.evaluation import calibrate, card

    calibrate.add_args(
        sub.add_parser("calibrate", help="store a checkpoint's dev hit rates by rank and source (one score)")
    )
    card.add_args(sub.add_parser("card", help="write a checkpoint's card.md from `codefusion eval` reports"))
    add_eval_args(sub.add_parser("eval", help="evaluate a checkpoint or the retrieval baseline on a JSONL file"))
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    try:
        if a.cmd in ("train", "pretrain"):
            return _run_train(a, "finetune" if a.cmd == "train" else "pretrain")
        if a.cmd == "generate":
            rc = _run_generate(a)
            sys.stdout.flush()  # the answer now: a bank embedded in the background keeps the process until it is done
            return rc
        if a.cmd == "diagnose":
            return _run_diagnose(a)
        if a.cmd == "check":
            return run_check(a)
        if a.cmd == "bank":
            return _run_bank(a)
        if a.cmd == "serve":
            try:
                from codefusion import serve
            except ImportError as e:
                raise EngineError(
                    f"codefusion serve needs Ray Serve, which the lean install leaves out: pip install "
                    f"'codefusion-editor[serve]' (in a checkout: bash scripts/setup.sh serve) ({e})"
                ) from None
            return serve.run(a)
        if a.cmd == "daemon":
            from codefusion import daemon

            path = Path(a.socket) if a.socket else daemon.socket_path(a.checkpoint, a.device, a.exemplars)
            return daemon.serve(path, a.checkpoint, a.device, a.exemplars, a.idle or daemon.IDLE_S)
        if a.cmd == "calibrate":
            from codefusion.evaluation import calibrate

            return calibrate.run(a)
        if a.cmd == "card":
            from codefusion.evaluation import card

            return card.run(a)
        return run_eval(a)
    except EngineError as e:
        print(f"codefusion: error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"codefusion: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file that cannot be read or written: which one and why, in one line
        where = f"{e.filename}: " if e.filename else ""
        print(f"codefusion: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("codefusion: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
