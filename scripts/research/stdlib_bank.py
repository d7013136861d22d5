"""A probe for a Python bank that may ship (issue 23: Python has no redistributable bank): (NL, code) pairs from
the running interpreter's standard library, the first sentence of each public callable's docstring as the request
and `module.name(args)` as the program, its required arguments written as the placeholders argument filling
takes (`'path/to/file'`, `count`, `'string'`, ...).

    python scripts/research/stdlib_bank.py --out runs/stdlib.jsonl
    python scripts/everyday_check.py --deps reuse --exemplars runs/stdlib.jsonl

Measured 2026-12-03 (models/eval/d8-adapt-mask-predict.md): 1,987 pairs; the everyday check's Python requests,
any of 5 acceptable, 0 -> 2 of 20. The docstrings are the PSF's (PSF licence, redistributable with its notice).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import warnings
from pathlib import Path

MODULES = """os os.path shutil json time datetime re subprocess pathlib hashlib sqlite3 csv urllib.request
urllib.parse http.server collections itertools functools random math glob sys string textwrap zipfile tarfile gzip
base64 uuid socket logging argparse tempfile statistics heapq bisect copy pickle shlex getpass platform fnmatch
difflib calendar decimal fractions operator secrets struct zlib io threading queue signal webbrowser smtplib
email.message html urllib.error configparser pprint timeit traceback unicodedata locale""".split()
NUMS = {"seconds", "secs", "n", "k", "count", "number", "size", "length", "width", "timeout", "port", "level"}
FILES = {"path", "file", "filename", "src", "dst", "fp", "name", "fname", "dir", "directory", "dirname", "top"}
SIGNATURE_LINE = re.compile(r"^[\w.]+\(([^()]*)\)\s*(-+>.*)?$")  # builtins: "sleep(seconds)" before the text


def placeholder(param: str) -> str:
    """A parameter's name as the placeholder argument filling replaces with a request's literal of its kind."""
    n = param.lstrip("*")
    if n in FILES:
        return "'path/to/file'"
    if n in NUMS:
        return "seconds" if n in ("seconds", "secs") else "count"
    if n in ("s", "string", "text", "pattern", "key", "value"):
        return "'string'"
    return "'https://example.com'" if n == "url" else n


def callables(modname: str):
    """(dotted name, object) of a module's public callables and their classes' public methods."""
    mod = importlib.import_module(modname)
    for name, obj in vars(mod).items():
        home = getattr(obj, "__module__", None) or modname
        ours = home == modname or home.startswith("_") or home.split(".")[0] == modname.split(".")[0]
        if name.startswith("_") or not callable(obj) or not (ours or modname.startswith("os")):
            continue
        yield name, obj
        if inspect.isclass(obj) and obj.__module__ == modname:
            for mname, meth in vars(obj).items():
                if not mname.startswith("_") and callable(meth):
                    yield f"{name}.{mname}", meth


def pair(modname: str, name: str, obj) -> dict | None:
    lines = (inspect.getdoc(obj) or "").splitlines()
    m = SIGNATURE_LINE.match(lines[0].strip()) if lines else None
    if m:  # a builtin: its parameters from the signature line, optional ones ([...], =) left out
        lines = lines[1:]
        raw = re.sub(r"\[.*", "", m.group(1))
        params = [
            p.strip() for p in raw.split(",") if p.strip() and "=" not in p and p.strip() not in ("/", "*", "self")
        ]
    else:
        try:
            sig = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            sig = []
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        params = [p.name for p in sig if p.default is inspect.Parameter.empty and p.kind in kinds and p.name != "self"]
    text = " ".join(" ".join(lines).split())
    nl = re.split(r"(?<=[.!?])\s", text)[0].strip() if text else ""
    if not 12 <= len(nl) <= 160:
        return None
    code = f"{modname}.{name}({', '.join(placeholder(p) for p in params)})"
    return {"nl": nl, "code": code, "lang": "python", "source": f"stdlib:{modname}.{name}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    rows, seen = [], set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for modname in MODULES:
            try:
                found = list(callables(modname))
            except ImportError:
                continue
            for name, obj in found:
                r = pair(modname, name, obj)
                if r and r["code"] not in seen:
                    seen.add(r["code"])
                    rows.append(r)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} pairs -> {a.out}")


if __name__ == "__main__":
    main()
