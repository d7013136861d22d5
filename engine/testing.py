"""Test helper: a small real checkpoint, trained in seconds on the CPU.

from engine.testing import tiny_checkpoint
path = tiny_checkpoint(tmp_dir)   # all three languages, a handful of pairs each
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A few hand-written NL->code pairs per language (fixtures, not the shared data).
TINY_PAIRS = [
    ("list all files in the current directory", "ls -la", "bash"),
    ("find all python files", "find . -name '*.py'", "bash"),
    ("count lines in file.txt", "wc -l file.txt", "bash"),
    ("show disk usage of the home directory", "du -sh ~", "bash"),
    ("print the current working directory", "pwd", "bash"),
    ("search for error in log.txt", "grep -i error log.txt", "bash"),
    ("reverse a list x", "x[::-1]", "python"),
    ("sort list a in descending order", "sorted(a, reverse=True)", "python"),
    ("convert string s to lower case", "s.lower()", "python"),
    ("read the file data.txt into a string", "open('data.txt').read()", "python"),
    ("format cells greater than 50", "GreaterThan(50)", "cf"),
    ("color cells that contain Error", "TextContains(Error)", "cf"),
    ("highlight duplicate values", "Duplicate()", "cf"),
    ("format cells between 10 and 20", "Between(10,20)", "cf"),
    ("highlight blank cells", "Blanks()", "cf"),
    ("format the top 10 percent", "top(10%)", "cf"),
]


def write_pairs(path: Path, pairs=TINY_PAIRS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for nl, code, lang in pairs:
            f.write(json.dumps({"nl": nl, "code": code, "lang": lang}) + "\n")
    return path


def tiny_checkpoint(out_dir, steps: int = 400, pairs=TINY_PAIRS, **overrides) -> Path:
    """Train the `tiny` config on `pairs` and return the checkpoint directory.
    Reuses an existing checkpoint in out_dir/ckpt if one is complete."""
    from engine.train import TrainArgs, train

    out_dir = Path(out_dir)
    ckpt = out_dir / "ckpt"
    from engine.checkpoint import is_complete

    if is_complete(ckpt):
        return ckpt
    import os
    import shutil

    with _building(out_dir):  # parallel test workers (pytest -n 2): one trains, the others wait and reuse it
        if is_complete(ckpt):
            return ckpt
        tmp = out_dir / f"ckpt.tmp-{os.getpid()}"
        data = write_pairs(out_dir / "pairs.jsonl", pairs)  # stays: config.json's "data" points here
        train(
            TrainArgs(
                config="tiny",
                data=[str(data)],
                out=str(tmp / "ckpt"),
                device="cpu",
                max_steps=steps,
                progress=False,
                **overrides,
            )
        )
        try:  # atomic publish: another process may have finished first
            os.replace(tmp / "ckpt", ckpt)
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return ckpt


@contextmanager
def _building(out_dir: Path) -> Iterator[None]:
    """Holds out_dir/.lock (an exclusive flock) while a checkpoint is built there, so that processes
    sharing the test cache (pytest-xdist workers, the VS Code end-to-end script) build it once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no flock (Windows): each process builds its own, published atomically
        yield
        return
    with open(out_dir / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cached_tiny_checkpoint(steps: int = 400, **overrides) -> Path:
    """tiny_checkpoint() in a cache directory keyed by the engine's source code, so test
    modules, server tests and editor tests share one checkpoint per code version. Other steps or
    overrides (e.g. model_overrides={"exemplars": 2}) are a variant of their own in the cache: the test
    modules that train the same variant share it."""
    kind = "tiny"
    if steps != 400 or overrides:
        import hashlib

        kind += "-" + hashlib.sha1(json.dumps([steps, overrides], sort_keys=True).encode()).hexdigest()[:8]
    return tiny_checkpoint(_cache_dir(kind), steps=steps, **overrides)


def _cache_dir(kind: str) -> Path:
    """CODEFUSION_TEST_CACHE (default: the temp dir) / kind-<hash of the engine's source and the pairs>."""
    import hashlib
    import os
    import tempfile

    h = hashlib.sha1(repr(TINY_PAIRS).encode())
    for f in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(f.read_bytes())
    root = Path(os.environ.get("CODEFUSION_TEST_CACHE", Path(tempfile.gettempdir()) / "codefusion-test-cache"))
    return root / f"{kind}-{h.hexdigest()[:12]}"


def untrained_checkpoint(out_dir, pairs=TINY_PAIRS, **model_overrides) -> Path:
    """A complete `tiny` checkpoint with random weights (no training: built in about a second), for
    tests of loading, sampling plumbing, the CLI, the pipeline and the server that need a real
    model but not a good one. Its config lists the pairs as training data (retrieval works)."""
    import torch

    from engine import checkpoint
    from engine.checkpoint import is_complete
    from engine.config import load_config
    from engine.encoder import NLEncoder
    from engine.tokenizer import CodeTokenizer

    out_dir = Path(out_dir)
    ckpt = out_dir / "untrained"
    with _building(out_dir):  # checkpoint.save writes its files one by one: readers wait until it is done
        if is_complete(ckpt):
            return ckpt
        data = write_pairs(out_dir / "pairs.jsonl", pairs)
        mcfg, tcfg = load_config("tiny")
        for k, v in model_overrides.items():
            setattr(mcfg, k, v)
        torch.manual_seed(0)
        enc = NLEncoder(mcfg.encoder, mcfg.nl_max_len)
        mcfg.encoder_dim = enc.dim
        tok = CodeTokenizer.train([code for _, code, _ in pairs], mcfg.vocab_size)
        mcfg.vocab_size = tok.vocab_size
        model = checkpoint.build_model(mcfg)
        meta = {"train": tcfg.__dict__, "data": [str(data)], "step": 0, "init": "random (untrained test checkpoint)"}
        checkpoint.save(ckpt, mcfg, model, enc, tok, meta, "# untrained test checkpoint\n")
    return ckpt


def cached_untrained_checkpoint() -> Path:
    """untrained_checkpoint() in the test cache, keyed like cached_tiny_checkpoint."""
    return untrained_checkpoint(_cache_dir("untrained"))
