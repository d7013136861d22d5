"""Hostile exemplar files (tests/badinput/bank_cases.py) against the engine's reader, and hostile
vector caches against engine.cache: each case gives what it expects -- refused with one line naming
the file, cut with one note, or read -- within the issue's budget (10 s, 200 MB of extra RSS, the peak
measured by the kernel: /proc/self/status VmHWM after resetting it through /proc/self/clear_refs)."""

from __future__ import annotations

import json
import os
import re
import stat
import time

import numpy as np
import pytest

from engine import cache
from engine.data import BANK_LIMITS, DataError, read_exemplar_files
from engine.retrieval import Dense, _cached_vectors
from tests.badinput.bank_cases import BANK_CASES, BUDGET_RSS_MB, BUDGET_S, BankCase


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"{field}:\s+(\d+)", fh.read()).group(1))  # kB


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@pytest.mark.parametrize("case", BANK_CASES, ids=[c.name for c in BANK_CASES])
def test_hostile_exemplar_file(case: BankCase, tmp_path):
    path = case.make(tmp_path)
    measured = _reset_peak()
    before = _status("VmRSS")
    notes: list = []
    start = time.perf_counter()
    records, error = [], None
    try:
        records = read_exemplar_files([path], notes=notes)
    except DataError as exc:
        error = str(exc)
    seconds = time.perf_counter() - start
    extra_mb = (_status("VmHWM") - before) / 1024 if measured else 0.0
    assert seconds < BUDGET_S, f"{case.name}: {seconds:.1f} s"
    assert extra_mb < BUDGET_RSS_MB, f"{case.name}: {extra_mb:.0f} MB of extra RSS"
    if case.expects == "refused":
        assert error is not None, f"{case.name}: not refused ({len(records)} records, notes {notes})"
        assert "\n" not in error and str(path) in error and case.words in error.lower(), error
    else:
        assert error is None, error
        assert len(records) >= case.min_records
        assert len(records) <= BANK_LIMITS.max_records
        assert all(len(r["nl"]) <= BANK_LIMITS.max_nl for r in records)
        if case.expects == "cut":
            assert len(notes) == 1 and "\n" not in notes[0] and case.words in notes[0].lower(), notes
        else:
            assert notes == []
    print(
        f"{case.name}: {case.expects} in {seconds:.2f} s, {extra_mb:.0f} MB extra RSS: {error or notes or len(records)}"
    )


def test_records_carry_their_file_and_line(tmp_path):
    p = tmp_path / "mine.jsonl"
    p.write_text("\n" + json.dumps({"nl": "a", "code": "b", "lang": "bash"}) + "\n")
    assert read_exemplar_files([p]) == [{"nl": "a", "code": "b", "lang": "bash", "file": str(p), "line": 2}]


def test_the_limits_hold_over_all_files_together(tmp_path):
    files = []
    for i in range(3):
        p = tmp_path / f"b{i}.jsonl"
        p.write_text("".join(json.dumps({"nl": f"n{i} {j}", "code": "c", "lang": "bash"}) + "\n" for j in range(40)))
        files.append(p)
    notes: list = []
    limits = BANK_LIMITS.__class__(max_records=50)
    records = read_exemplar_files(files, limits=limits, notes=notes)
    assert len(records) == 50
    assert len(notes) == 2 and "b1.jsonl: read 50 records" in notes[0] and "b2.jsonl: not read" in notes[1]


def test_skip_bad_leaves_a_bad_file_out_and_keeps_the_others(tmp_path):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(json.dumps({"nl": "a", "code": "b", "lang": "bash"}) + "\n")
    bad.write_bytes(b"[" * 100_000 + b"\n")
    with pytest.raises(DataError):
        read_exemplar_files([good, bad])
    notes: list = []
    records = read_exemplar_files([bad, tmp_path / "missing.jsonl", good], notes=notes, skip_bad=True)
    assert [r["code"] for r in records] == ["b"]
    assert len(notes) == 2 and "bad.jsonl:1: not JSON (nested too deeply); the file is not used" in notes[0]
    assert "missing.jsonl" in notes[1] and "not found" in notes[1]


# ------------------------------------------------------------------ the vector cache

KEY = "test-encoder:48"


def _embedder(calls: list):
    def embed(texts):
        calls.append(len(texts))
        rng = np.random.default_rng(len(texts))
        v = rng.standard_normal((len(texts), 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return Dense(embed=embed, weight=0.7, key=KEY)


NLS = [f"request number {i}" for i in range(300)]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CODEFUSION_CACHE", str(folder))
    return folder


def _the_file(folder):
    files = [f for f in folder.iterdir() if f.suffix == ".cfvec"]
    assert len(files) == 1, list(folder.iterdir())
    return files[0]


def test_a_cache_is_written_atomically_0600_in_a_0700_folder_and_read_back(cache_dir):
    calls: list = []
    first = _cached_vectors(_embedder(calls), NLS)
    f = _the_file(cache_dir)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []  # no temporary file left
    again = _cached_vectors(_embedder(calls), NLS)
    assert calls == [len(NLS)]  # the second load embedded nothing
    np.testing.assert_allclose(again, first, atol=1e-3)  # float16 on disk


def _spoil_truncate(data: bytes) -> bytes:
    return data[: len(data) - 100]


def _spoil_flip(data: bytes) -> bytes:
    b = bytearray(data)
    b[-10] ^= 0xFF
    return bytes(b)


def _spoil_header(data: bytes) -> bytes:
    return cache.MAGIC + b"{not json\n" + data[data.index(b"\n") + 1 :]


def _spoil_version(data: bytes) -> bytes:
    end = data.index(b"\n")
    header = json.loads(data[len(cache.MAGIC) : end])
    header["version"] = "0.0.0-other"
    return cache.MAGIC + json.dumps(header).encode() + b"\n" + data[end + 1 :]


def _spoil_rows(data: bytes) -> bytes:
    end = data.index(b"\n")
    header = json.loads(data[len(cache.MAGIC) : end])
    header["rows"] = 299
    return cache.MAGIC + json.dumps(header).encode() + b"\n" + data[end + 1 :]


def _spoil_npy(data: bytes) -> bytes:  # what an older version wrote (numpy's format), or a pickle
    return b"\x93NUMPY" + data[6:]


def _spoil_empty(data: bytes) -> bytes:
    return b""


def _spoil_nan(data: bytes) -> bytes:
    import hashlib

    end = data.index(b"\n")
    header = json.loads(data[len(cache.MAGIC) : end])
    payload = np.full((header["rows"], header["dim"]), np.nan, dtype=np.float16).tobytes()
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    return cache.MAGIC + json.dumps(header).encode() + b"\n" + payload


CACHE_CASES = [  # (name, spoil, warned: a corrupt file says so; another version's is ignored quietly)
    ("truncated", _spoil_truncate, "truncated"),
    ("a flipped byte", _spoil_flip, "checksum"),
    ("a header that is not JSON", _spoil_header, "not json"),
    ("written by another version", _spoil_version, None),
    ("rows of another bank", _spoil_rows, "rows"),
    ("not a vector file (numpy / pickle magic)", _spoil_npy, "not a codefusion vector file"),
    ("empty", _spoil_empty, "not a codefusion vector file"),
    ("values that are not finite", _spoil_nan, "not finite"),
]


@pytest.mark.parametrize("name,spoil,warned", CACHE_CASES, ids=[c[0] for c in CACHE_CASES])
def test_a_bad_cache_is_rebuilt_never_served(name, spoil, warned, cache_dir, caplog):
    calls: list = []
    good = _cached_vectors(_embedder(calls), NLS)
    f = _the_file(cache_dir)
    f.write_bytes(spoil(f.read_bytes()))
    caplog.clear()
    start = time.perf_counter()
    with caplog.at_level("WARNING", logger="engine.cache"):
        again = _cached_vectors(_embedder(calls), NLS)
    assert time.perf_counter() - start < BUDGET_S
    assert calls == [len(NLS), len(NLS)]  # embedded again, not served from the bad file
    np.testing.assert_allclose(again, good, atol=1e-6)
    messages = [r.getMessage() for r in caplog.records]
    if warned:
        assert len(messages) == 1 and warned in messages[0].lower() and str(f) in messages[0], messages
    else:
        assert messages == []
    assert cache.decode_vectors(f.read_bytes(), KEY, len(NLS)) is not None  # rebuilt: a good file again
    assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_a_huge_cache_file_is_not_read(cache_dir, caplog):
    calls: list = []
    _cached_vectors(_embedder(calls), NLS)
    f = _the_file(cache_dir)
    with open(f, "r+b") as fh:
        fh.truncate(1 << 30)  # sparse
    with caplog.at_level("WARNING", logger="engine.cache"):
        _cached_vectors(_embedder(calls), NLS)
    assert calls == [len(NLS), len(NLS)] and "more than 300 rows can take" in caplog.text


@pytest.mark.parametrize("problem", ["writable by other users", "another user"])
def test_a_shared_or_foreign_cache_folder_is_not_used(problem, cache_dir, caplog):
    cache_dir.mkdir(mode=0o700)
    if problem == "writable by other users":
        os.chmod(cache_dir, 0o777)
    else:
        if os.getuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        os.chown(cache_dir, 65534, 65534)
    cache._warned.clear()
    calls: list = []
    with caplog.at_level("WARNING", logger="engine.cache"):
        _cached_vectors(_embedder(calls), NLS)
        _cached_vectors(_embedder(calls), NLS)
    assert calls == [len(NLS), len(NLS)]  # nothing read from it, nothing written to it
    assert list(cache_dir.iterdir()) == []
    assert problem in caplog.text and caplog.text.count("is not used") == 1  # said once
