"""Shared fixtures: a real `tiny` CodeFusion checkpoint, trained once and cached.

The cache key is a hash of the engine's source and the fixture pairs, so every test
module, the language-server tests and the VS Code end-to-end test reuse one checkpoint
per code version (CODEFUSION_TEST_CACHE sets where; default: the system temp dir).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

# Keep torch to one thread in tests: on 2 shared cores several processes (the test
# runner, a server under test) otherwise thrash each other.
os.environ.setdefault("CODEFUSION_THREADS", "1")
# Tests of fixture models search their own fixture banks: the 27k-row shipped Bash bank (engine/banks.py)
# only where a test asks for it (it unsets CODEFUSION_SHIPPED_BANK: tests/engine/test_banks.py, the wheel).
os.environ.setdefault("CODEFUSION_SHIPPED_BANK", "none")


@contextmanager
def wheel_build_lock():
    """`pip wheel` builds in this tree's build/ folder: the tests that build the wheel (tests/test_wheel.py,
    tests/codefusion/test_everyday.py) hold this lock meanwhile, so that under `pytest -n 2` (scripts/test.sh)
    one builds at a time."""
    import fcntl
    import hashlib
    import tempfile

    repo = str(Path(__file__).resolve().parents[1])
    lock = Path(tempfile.gettempdir()) / f"codefusion-wheel-build-{hashlib.sha1(repo.encode()).hexdigest()[:8]}.lock"
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _embedding_in_the_foreground():
    """Each test starts with banks embedded before use (the library's default): a test that runs the CLI or
    the worker in-process turns background embedding on (engine.retrieval.embed_in_background), and that
    must not leak into the next test."""
    from engine import retrieval

    saved = dict(retrieval._BACKGROUND)
    yield
    for t in list(retrieval._threads):
        t.join(timeout=60)
    retrieval._BACKGROUND.update(saved)


@pytest.fixture(scope="session")
def tiny_ckpt():
    from engine.testing import cached_tiny_checkpoint

    return cached_tiny_checkpoint()


@pytest.fixture
def train_file(tmp_path):
    """A small hand-written training JSONL (tests/grammar/grammar_fixtures.py)."""
    from tests.grammar.grammar_fixtures import TRAIN, write_jsonl

    return write_jsonl(tmp_path / "train.jsonl", TRAIN)


@pytest.fixture
def dev_file(tmp_path):
    from tests.grammar.grammar_fixtures import DEV, write_jsonl

    return write_jsonl(tmp_path / "dev.jsonl", DEV)


@pytest.fixture(scope="session")
def untrained_ckpt():
    """A real `tiny` checkpoint with random weights: no training (fast tests)."""
    from engine.testing import cached_untrained_checkpoint

    return cached_untrained_checkpoint()
