"""The everyday check: requests a user types into an editor comment, run against a fresh install.

    python scripts/everyday_check.py [--checkpoint DIR] [--limit N] [--deps clean|reuse] --out FILE.json

1. builds the wheel from this tree (`pip wheel`, as tests/test_wheel.py) and installs it into a new
   venv in a temp dir outside the repository: `--deps clean` (default) resolves the wheel's
   dependencies with pip from its configured index, torch first as scripts/setup.sh does;
   `--deps reuse` installs the wheel alone and lets the new venv see this interpreter's
   site-packages for third-party packages only (seconds instead of a minute; no .pth of that
   folder runs, so the editable checkout is not importable there). The output says which.
2. runs every request of scripts/everyday/requests.jsonl from a folder outside the repository,
   with no training data and nothing but what the package ships, as a user does (where the package
   ships a Bash exemplar bank, --no-shipped-bank turns it off: the model alone):
   `codefusion generate --json -k 5 --lang L --daemon "request"` (one client process per request;
   the first one starts the daemon, which keeps the model loaded, in a private XDG_RUNTIME_DIR).
3. judges each candidate by its request's rule, written before any model output was seen: every
   `must` regex matches, no `must_not` regex matches, and grammar.syntax.check (the installed
   package's) accepts it. Reports top-1 and any-of-k acceptable per language and overall.

--out FILE.json writes the report and FILE.md beside it (a table per language, then each request
with its candidates and which rule part failed). Nothing is executed but the CLI itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from codefusion.settings import DEFAULT_K  # noqa: E402  (the one default k; the install under test has its own code)

REQUESTS = Path(__file__).resolve().parent / "everyday" / "requests.jsonl"
LANGS = ("bash", "python")
FIELDS = {
    "id": str,
    "lang": str,
    "nl": str,
    "must": list,
    "must_not": list,
    "note": str,
    "example_ok": list,
    "example_bad": list,
}
# scripts/setup.sh's torch: the CPU build on a machine without an NVIDIA driver (the clean install's first step)
SETUP_TORCH = "torch==2.13.0"
PIP_TIMEOUT_S = 1200
REQUEST_TIMEOUT_S = 600  # the first request waits for the daemon to load the model


class CheckError(Exception):
    """A bad request file or a failed install step; str() is the one-line message."""


# ---------------------------------------------------------------- the requests and their rules


def load_requests(path: Path = REQUESTS) -> list[dict]:
    """The requests of a JSONL file, each checked: fields and types, known language, unique id,
    regexes that compile. CheckError names the line."""
    out, seen = [], set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CheckError(f"{path}: {type(e).__name__}: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise CheckError(f"{where}: not JSON: {e}") from None
        if not isinstance(r, dict):
            raise CheckError(f"{where}: expected an object")
        for key, kind in FIELDS.items():
            if not isinstance(r.get(key), kind):
                raise CheckError(f"{where}: field {key!r} must be a {kind.__name__}")
        if r["lang"] not in LANGS:
            raise CheckError(f"{where}: lang {r['lang']!r} is not one of {', '.join(LANGS)}")
        if r["id"] in seen:
            raise CheckError(f"{where}: duplicate id {r['id']!r}")
        seen.add(r["id"])
        if not r["must"]:
            raise CheckError(f"{where}: {r['id']} has no must regex")
        for rx in r["must"] + r["must_not"]:
            try:
                re.compile(rx)
            except (re.error, TypeError) as e:
                raise CheckError(f"{where}: {r['id']}: bad regex {rx!r}: {e}") from None
        out.append(r)
    if not out:
        raise CheckError(f"{path}: no requests")
    return out


def judge(req: dict, code: str, syntax_ok: bool) -> list[str]:
    """Which parts of the request's rule `code` fails (empty: acceptable): "must /RX/" for a
    required pattern that does not match, "must_not /RX/" for a forbidden one that does, "syntax"."""
    failed = [f"must /{rx}/" for rx in req["must"] if not re.search(rx, code)]
    failed += [f"must_not /{rx}/" for rx in req["must_not"] if re.search(rx, code)]
    if not syntax_ok:
        failed.append("syntax")
    return failed


def select(requests: list[dict], limit: int | None) -> list[dict]:
    """The first `limit` requests of each language (all when None), in file order."""
    if limit is None:
        return list(requests)
    counts = {lang: 0 for lang in LANGS}
    out = []
    for r in requests:
        if counts[r["lang"]] < limit:
            counts[r["lang"]] += 1
            out.append(r)
    return out


def summarise(rows: list[dict]) -> dict:
    """{lang: {n, top1, anyk, top1_pct, anyk_pct}} for each language present, and "overall"."""

    def part(rs):
        n = len(rs)
        top1 = sum(r["top1"] for r in rs)
        anyk = sum(r["anyk"] for r in rs)
        pct = (lambda x: round(100.0 * x / n, 1)) if n else (lambda x: 0.0)
        return {"n": n, "top1": top1, "anyk": anyk, "top1_pct": pct(top1), "anyk_pct": pct(anyk)}

    out = {lang: part([r for r in rows if r["lang"] == lang]) for lang in LANGS if any(r["lang"] == lang for r in rows)}
    out["overall"] = part(rows)
    return out


# ---------------------------------------------------------------- the fresh install


def _run(cmd: list[str], what: str, timeout: float = PIP_TIMEOUT_S, **kw) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout, **{"text": True, **kw})
    except subprocess.TimeoutExpired:
        raise CheckError(f"{what}: no result within {timeout:.0f} s") from None
    if r.returncode != 0:
        err = r.stderr or r.stdout
        err = err.decode(errors="replace") if isinstance(err, bytes) else err
        tail = [ln for ln in err.strip().splitlines() if "is ignored" not in ln][-1:]
        raise CheckError(f"{what} failed (exit {r.returncode})" + (f": {tail[0]}" if tail else ""))
    return r


def user_env(root: Path, venv: Path) -> dict:
    """The environment a user's shell has: the venv's bin first, nothing that points into the repository
    or the data, a private XDG_RUNTIME_DIR (this run's own daemon) and cache."""
    drop = {
        "PYTHONPATH",
        "PYTHONHOME",
        "CODEFUSION_CHECKPOINT",
        "CODEFUSION_DATA",
        "CODEFUSION_CACHE",
        "CODEFUSION_SHIPPED_BANK",
        "VIRTUAL_ENV",
        "XDG_RUNTIME_DIR",
        "PYTHONSTARTUP",
    }
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    (root / "run").mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(root / "run")
    env["CODEFUSION_CACHE"] = str(root / "cache")
    return env


def source_tree(root: Path, ref: str | None) -> Path:
    """What the wheel is built from: the working tree (ref None), or commit `ref` exported to root/src."""
    if ref is None:
        return REPO
    src = root / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref], capture_output=True)
    if archive.returncode != 0:
        raise CheckError(
            f"--ref {ref}: "
            + (archive.stderr.decode(errors="replace").strip().splitlines() or ["git archive failed"])[-1]
        )
    _run(["tar", "-x", "-C", str(src)], "unpacking the commit", input=archive.stdout, text=False)
    return src


def install(root: Path, deps: str, torch: str = SETUP_TORCH, log=print, ref: str | None = None) -> dict:
    """Build the wheel from the tree (or commit `ref`) and install it into root/venv. Returns what was
    installed and how long each step took."""
    t0 = time.perf_counter()
    src = source_tree(root, ref)
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(root / "dist")], "pip wheel")
    (wheel,) = (root / "dist").glob("codefusion_editor-*.whl")
    t1 = time.perf_counter()
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv")
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if deps == "clean":
        if torch != "skip":
            log(f"installing {torch} (as scripts/setup.sh) ...")
            _run(pip + [torch], f"pip install {torch}")
        log("installing the wheel and its dependencies ...")
        _run(pip + [str(wheel)], "pip install (the wheel)")
    else:
        _run(pip + ["--no-deps", str(wheel)], "pip install --no-deps (the wheel)")
        site = Path(
            _run(
                [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "the venv's site-packages"
            ).stdout.strip()
        )
        mine = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
        # plain path lines: those folders join sys.path after the venv's own; their .pth files (the
        # editable checkout's finder among them) do not run
        (site / "_everyday_reuse.pth").write_text("".join(p + "\n" for p in mine))
    t2 = time.perf_counter()
    return {
        "source": "the working tree" if ref is None else f"commit {ref}",
        "wheel": wheel.name,
        "wheel_bytes": wheel.stat().st_size,
        "venv": str(venv),
        "deps": deps,
        "torch": torch if deps == "clean" else None,
        "build_s": round(t1 - t0, 1),
        "install_s": round(t2 - t1, 1),
    }


def tree_state(ref: str | None = None) -> dict:
    """The commit the wheel was built from and, for the working tree, how many tracked files differ from it."""

    def git(*args):
        r = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    if ref is not None:
        return {"commit": git("rev-parse", "--short", f"{ref}^{{commit}}"), "tree_changes": 0}
    changed = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "tree_changes": None if changed is None else len(changed.splitlines()),
    }


PROBE = """
import json, sys
import codefusion, engine, grammar, engine.api as a, torch
from engine.data import resolve_data_path
ckpt = sys.argv[1] if len(sys.argv) > 1 else a.default_checkpoint_dir()
listed = json.load(open(f"{ckpt}/config.json")).get("data") or []
try:  # the Bash exemplar bank a package may ship (engine/banks.py), when this version has one
    from engine.banks import shipped_dir
    shipped = shipped_dir()
except ImportError:
    shipped = None
print(json.dumps({"python": sys.version.split()[0], "torch": torch.__version__,
                  "modules": {m.__name__: m.__file__ for m in (codefusion, engine, grammar)},
                  "default_checkpoint": str(a.default_checkpoint_dir()),
                  "training_files_found": [str(f) for f in map(resolve_data_path, listed) if f is not None],
                  "shipped_bank": str(shipped) if shipped else None,
                  "repo_on_path": any(p and p.rstrip("/") == %r for p in sys.path)}))
"""

SYNTAX = """
import json, sys
from grammar.syntax import check
items = json.load(sys.stdin)
print(json.dumps([check(code, lang).valid for code, lang in items]))
"""


def probe(venv: Path, cwd: Path, env: dict, checkpoint: str | None = None) -> dict:
    """Where the installed packages, the default model and any bank come from, asked of the venv's
    python from the outside folder; CheckError when a package is not the install's."""
    r = _run(
        [str(venv / "bin" / "python"), "-c", PROBE % str(REPO)] + ([checkpoint] if checkpoint else []),
        "the install's import check",
        timeout=300,
        cwd=cwd,
        env=env,
    )
    info = json.loads(r.stdout)
    inside = [str(venv) in p for p in info["modules"].values()]
    if not all(inside) or info["repo_on_path"]:
        raise CheckError(f"the install is not isolated from the repository: {info['modules']}")
    return info


# ---------------------------------------------------------------- asking the CLI


def ask(
    venv: Path, cwd: Path, env: dict, req: dict, k: int, checkpoint: str | None, exemplars: list[str] | None = None
) -> dict:
    """One `codefusion generate --json --daemon` as a user types it: {"candidates", "seconds"} or {"error"}.
    exemplars: the user's own example files (`--exemplars`), searched before the shipped bank."""
    cmd = [str(venv / "bin" / "codefusion"), "generate", "--json", "-k", str(k), "--lang", req["lang"], "--daemon"]
    cmd += ["--checkpoint", checkpoint] if checkpoint else []
    cmd += ["--exemplars", *exemplars] if exemplars else []
    cmd += ["--", req["nl"]]
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=REQUEST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {REQUEST_TIMEOUT_S} s", "seconds": REQUEST_TIMEOUT_S}
    secs = time.perf_counter() - t
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1], "seconds": secs}
    try:
        cands = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"error": f"not JSON: {r.stdout[:200]!r}", "seconds": secs}
    return {"candidates": cands, "seconds": secs, "stderr": r.stderr.strip()}


def stop_daemons(env: dict) -> int:
    """Ask every daemon of this run (its private XDG_RUNTIME_DIR) to exit; how many answered."""
    n = 0
    for sock in sorted((Path(env["XDG_RUNTIME_DIR"]) / "codefusion").glob("*.sock")):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(30)
                s.connect(str(sock))
                s.sendall(b'{"shutdown": true}\n')
                s.recv(1024)
                n += 1
        except OSError:
            pass
    return n


def syntax_verdicts(venv: Path, cwd: Path, env: dict, items: list[tuple]) -> list[bool]:
    """grammar.syntax.check(code, lang).valid of the installed package, for each (code, lang), in one process."""
    if not items:
        return []
    r = _run(
        [str(venv / "bin" / "python"), "-c", SYNTAX],
        "the syntax check",
        timeout=600,
        cwd=cwd,
        env=env,
        input=json.dumps(items),
    )
    return json.loads(r.stdout)


# ---------------------------------------------------------------- the run and its report


def bank_note(info: dict, retrieved: int) -> str:
    """What the install could retrieve from, in words."""
    parts = []
    if info["shipped_bank"]:
        parts.append(f"the package's shipped Bash bank ({info['shipped_bank']})")
    if info["training_files_found"]:
        parts.append(f"the checkpoint's training files found here ({len(info['training_files_found'])})")
    where = " and ".join(parts) if parts else "none (no training files, no shipped bank, no --exemplars)"
    return f"{where}; {retrieved} candidates were retrieved examples"


def run(
    requests: list[dict],
    *,
    checkpoint: str | None,
    deps: str,
    k: int = DEFAULT_K,
    torch: str = SETUP_TORCH,
    keep: bool = False,
    progress: bool = False,
    shipped_bank: bool = True,
    ref: str | None = None,
    exemplars: list[str] | None = None,
) -> dict:
    log = (lambda msg: print(msg, file=sys.stderr)) if progress else (lambda msg: None)
    root = Path(tempfile.mkdtemp(prefix="codefusion-everyday-"))
    try:
        started = time.perf_counter()
        log(f"building the wheel and a fresh venv in {root} (deps: {deps}) ...")
        inst = install(root, deps, torch, log, ref)
        venv = root / "venv"
        outside = root / "elsewhere"
        outside.mkdir()
        env = user_env(root, venv)
        if not shipped_bank:
            env["CODEFUSION_SHIPPED_BANK"] = "none"
        info = probe(venv, outside, env, checkpoint)
        answers = []
        try:
            for i, req in enumerate(requests, 1):
                if progress:
                    print(f"\r[{i}/{len(requests)}] {req['id']} ", end="", file=sys.stderr, flush=True)
                answers.append(ask(venv, outside, env, req, k, checkpoint, exemplars))
        finally:
            stopped = stop_daemons(env)
            if progress:
                print(file=sys.stderr)
        items = [(c["code"], req["lang"]) for req, a in zip(requests, answers) for c in a.get("candidates", [])]
        verdicts = iter(syntax_verdicts(venv, outside, env, items))
        rows = []
        for req, a in zip(requests, answers):
            cands = []
            for c in a.get("candidates", []):
                ok = next(verdicts)
                failed = judge(req, c["code"], ok)
                cands.append(
                    {
                        "code": c["code"],
                        "source": c.get("source"),
                        "origin": c.get("origin"),
                        "score": c.get("score"),
                        "syntax_ok": ok,
                        "accepted": not failed,
                        "failed": failed,
                    }
                )
            row = {
                "id": req["id"],
                "lang": req["lang"],
                "nl": req["nl"],
                "candidates": cands,
                "top1": bool(cands) and cands[0]["accepted"],
                "anyk": any(c["accepted"] for c in cands),
                "seconds": round(a["seconds"], 2),
            }
            if "error" in a:
                row["error"] = a["error"]
            if a.get("stderr"):
                row["stderr"] = a["stderr"]
            rows.append(row)
        secs = sorted(r["seconds"] for r in rows[1:]) or [0.0]
        retrieved = sum(c["source"] == "retrieval" for r in rows for c in r["candidates"])
        origins = {}  # generated / edited / copy / retrieved, where the CLI labels them
        for c in (c for r in rows for c in r["candidates"]):
            origins[str(c["origin"])] = origins.get(str(c["origin"]), 0) + 1
        meta = {
            **inst,
            "python": info["python"],
            "torch_version": info["torch"],
            "modules": info["modules"],
            "checkpoint": checkpoint or info["default_checkpoint"],
            "exemplars": exemplars or [],
            "shipped_model": checkpoint is None,
            "bank": bank_note(info, retrieved),
            "shipped_bank": info["shipped_bank"],
            "shipped_bank_off": not shipped_bank,
            "training_files_found": info["training_files_found"],
            "retrieved_candidates": retrieved,
            "origins": origins,
            "errors": sum("error" in r for r in rows),
            **tree_state(ref),
            "mode": f"one `codefusion generate --json -k {k} --lang L --daemon` process per request, from a folder "
            "outside the repository (the first one starts the daemon)",
            "deps_note": (
                "clean: the wheel's dependencies installed by pip from its configured index"
                + (f", {torch} first as scripts/setup.sh" if torch != "skip" else "")
            )
            if deps == "clean"
            else "reuse: the wheel installed alone; third-party packages from the running interpreter's site-packages",
            "k": k,
            "n_requests": len(rows),
            "first_request_s": rows[0]["seconds"] if rows else None,
            "request_p50_s": secs[len(secs) // 2],
            "requests_s": round(sum(r["seconds"] for r in rows), 1),
            "total_s": round(time.perf_counter() - started, 1),
            "daemons_stopped": stopped,
            "threads": os.environ.get("CODEFUSION_THREADS"),
        }
        return {"meta": meta, "summary": summarise(rows), "requests": rows}
    finally:
        if keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _cell(s: str) -> str:
    return "`" + s.replace("`", "'").replace("|", "\\|").replace("\n", " ⏎ ") + "`" if s else ""


def markdown(report: dict) -> str:
    m, s = report["meta"], report["summary"]
    out = [
        "# Everyday check",
        "",
        f"Model: `{m['checkpoint']}`{' (the one the wheel ships)' if m['shipped_model'] else ''}; bank: {m['bank']}.",
        f"Install: `{m['wheel']}` (built from "
        + (
            f"commit {m['commit']}"
            if m["source"] != "the working tree"
            else f"the working tree: {m['commit']} + {m['tree_changes']} changed tracked files"
        )
        + f") in a new venv ({m['deps_note']}); python {m['python']}, torch {m['torch_version']}.",
        f"Asked: {m['mode']}.",
        f"Time: wheel {m['build_s']} s, install {m['install_s']} s, first request {m['first_request_s']} s, "
        f"then p50 {m['request_p50_s']} s a request; {m['total_s']} s in all.",
        "Candidates by origin: " + ", ".join(f"{k} {v}" for k, v in sorted(m.get("origins", {}).items())) + ".",
        "",
        f"| | requests | top-1 acceptable | any of {m['k']} acceptable |",
        "|---|---|---|---|",
    ]
    for key, part in s.items():
        out.append(
            f"| {key} | {part['n']} | {part['top1']} ({part['top1_pct']} %) | {part['anyk']} ({part['anyk_pct']} %) |"
        )
    out += [
        "",
        "A candidate is acceptable when every `must` regex of its request matches, no `must_not` "
        "regex matches and grammar.syntax.check accepts it (scripts/everyday/requests.jsonl).",
        "",
        "| id | request | top-1 | any | candidates (✓ acceptable; else the first failed rule part) |",
        "|---|---|---|---|---|",
    ]
    for r in report["requests"]:
        if "error" in r:
            cands = f"error: {r['error']}"
        else:
            cands = "<br>".join(
                f"{'✓' if c['accepted'] else '✗'} {_cell(c['code'])}"
                + (f" ({c['origin']})" if c.get("origin") else "")
                + ("" if c["accepted"] else f" — {_cell(c['failed'][0])}")
                for c in r["candidates"]
            )
        out.append(f"| {r['id']} | {r['nl']} | {'✓' if r['top1'] else ''} | {'✓' if r['anyk'] else ''} | {cands} |")
    return "\n".join(out) + "\n"


def main(argv: Iterable[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: the model the wheel ships)")
    p.add_argument(
        "--requests", default=str(REQUESTS), help="the request file (JSONL; default: scripts/everyday/requests.jsonl)"
    )
    p.add_argument("--limit", type=int, default=None, help="the first N requests of each language")
    p.add_argument("-k", type=int, default=DEFAULT_K, help=f"candidates per request (default {DEFAULT_K})")
    p.add_argument(
        "--deps",
        choices=["clean", "reuse"],
        default="clean",
        help="clean: pip installs the wheel's dependencies into the new venv (about a minute); "
        "reuse: the new venv borrows this interpreter's third-party packages",
    )
    p.add_argument(
        "--torch",
        default=SETUP_TORCH,
        help=f"--deps clean: torch requirement installed first ('skip': none; default {SETUP_TORCH})",
    )
    p.add_argument(
        "--ref", default=None, help="build the wheel from this commit (git archive) instead of the working tree"
    )
    p.add_argument(
        "--no-shipped-bank",
        action="store_true",
        help="turn off the Bash exemplar bank the package ships (CODEFUSION_SHIPPED_BANK=none): the model alone",
    )
    p.add_argument(
        "--exemplars", nargs="+", default=None, help="your own example files (JSONL), as `generate --exemplars` takes"
    )
    p.add_argument("--out", default=None, help="write the report here (JSON) and beside it a .md")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (wheel, venv) and say where")
    a = p.parse_args(argv)
    try:
        if a.limit is not None and a.limit < 1:
            raise CheckError(f"--limit must be at least 1, got {a.limit}")
        checkpoint = None
        if a.checkpoint:
            ck = Path(a.checkpoint).resolve()
            if not (ck / "config.json").is_file():
                raise CheckError(f"--checkpoint {a.checkpoint}: not a checkpoint directory (no config.json)")
            checkpoint = str(ck)
        missing = [f for f in a.exemplars or [] if not Path(f).is_file()]
        if missing:
            raise CheckError(f"--exemplars {missing[0]}: no such file")
        requests = select(load_requests(Path(a.requests)), a.limit)
        report = run(
            requests,
            checkpoint=checkpoint,
            deps=a.deps,
            k=a.k,
            torch=a.torch,
            keep=a.keep,
            progress=sys.stderr.isatty(),
            shipped_bank=not a.no_shipped_bank,
            ref=a.ref,
            exemplars=[str(Path(f).resolve()) for f in a.exemplars] if a.exemplars else None,
        )
    except CheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    md = markdown(report)
    if a.out:
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(md, encoding="utf-8")
    print("\n".join(md.split("\n\n")[1:3]))  # the header lines and the summary table
    return 0


if __name__ == "__main__":
    sys.exit(main())
