"""A damaged vector cache under the real language server (issue 26): a checkpoint with hybrid
retrieval (the tiny model with sentence vectors) embeds a user bank of 300 records and caches its
vectors (engine.cache); the file is then truncated, corrupted or stamped by another version, and a
new server must answer as before, rebuild the file (0600, valid again), and say so in one stderr
line for a damaged file -- never use it. A file another version wrote is replaced without a word."""

from __future__ import annotations

import json
import stat
import time

import pytest

from engine import cache
from engine.testing import untrained_checkpoint
from tests.badinput.harness import Server, tracebacks

pytestmark = pytest.mark.slow

ASK = "file:///badinput/cache-ask.sh"
ROWS = 300


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    ckpt = untrained_checkpoint(root / "dense", retrieval_dense_weight=0.7)
    bank = root / "bank.jsonl"
    bank.write_text(
        "".join(
            json.dumps({"nl": f"frob the item number {i}", "code": f"echo item-{i}", "lang": "bash"}) + "\n"
            for i in range(ROWS)
        )
    )
    return ckpt, bank, root / "user-cache"


def _ask(setup) -> Server:
    ckpt, bank, folder = setup
    s = Server(
        {"checkpoint": str(ckpt), "k": 3, "timeout": 60, "exemplarFiles": [str(bank)]},
        env={"CODEFUSION_CACHE": str(folder)},
    )
    s.initialize()
    assert s.wait_ready() == "ready"
    _wait_valid(folder)  # the server embeds a bank missing from the cache in the background (TF-IDF serves meanwhile)
    s.open(ASK, "#!/bin/bash\n# frob the item number 7\n\n")
    reply = s.call(
        "workspace/executeCommand",
        {"command": "codefusion.generate", "arguments": [{"uri": ASK, "position": {"line": 1, "character": 0}}]},
        timeout=120,
    )
    assert reply and reply["result"]["candidates"], reply
    assert "echo item-7" in [c["code"] for c in reply["result"]["candidates"]]  # the bank, searched with its vectors
    return s


def _wait_valid(folder, timeout: float = 180.0) -> None:
    """Until the 300-row bank's cache file exists and is valid: its vectors are ready in the server too."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for f in folder.glob("*.cfvec") if folder.exists() else ():
            try:
                data = f.read_bytes()
                header = json.loads(data[len(cache.MAGIC) : data.index(b"\n")])
                if header.get("rows") == ROWS and cache.decode_vectors(data, header["key"], ROWS) is not None:
                    time.sleep(0.5)  # the file is written as the index takes its vectors
                    return
            except Exception:
                pass
        time.sleep(0.2)
    raise AssertionError(f"the bank's vectors were not cached within {timeout:.0f} s")


def _bank_file(folder):
    """The cache file of the 300-row user bank (the training files have their own)."""
    for f in folder.glob("*.cfvec"):
        data = f.read_bytes()
        header = json.loads(data[len(cache.MAGIC) : data.index(b"\n")])
        if header["rows"] == ROWS:
            return f
    raise AssertionError(f"no cache file of {ROWS} rows in {list(folder.iterdir())}")


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip(data: bytes) -> bytes:
    b = bytearray(data)
    b[-7] ^= 0x5A
    return bytes(b)


def _other_version(data: bytes) -> bytes:
    end = data.index(b"\n")
    header = json.loads(data[len(cache.MAGIC) : end])
    header["version"] = "0.0.1-another"
    return cache.MAGIC + json.dumps(header).encode() + b"\n" + data[end + 1 :]


@pytest.mark.parametrize(
    "spoil,said",
    [(_truncate, "truncated"), (_flip, "checksum"), (_other_version, None)],
    ids=["truncated", "a flipped byte", "another version's"],
)
def test_a_damaged_cache_is_rebuilt_and_the_server_answers(setup, spoil, said):
    folder = setup[2]
    if not folder.exists() or not list(folder.glob("*.cfvec")):
        first = _ask(setup)
        assert first.close() == 0
    f = _bank_file(folder)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    f.write_bytes(spoil(f.read_bytes()))
    s = _ask(setup)
    s.probe()
    assert s.close() == 0
    err = s.stderr_text()
    assert not tracebacks(err), err
    lines = [line for line in err.splitlines() if "vector cache" in line]
    if said:
        assert len(lines) == 1 and said in lines[0] and str(f) in lines[0], err
    else:
        assert lines == [], err
    assert (
        cache.decode_vectors(
            f.read_bytes(), json.loads(f.read_bytes()[len(cache.MAGIC) : f.read_bytes().index(b"\n")])["key"], ROWS
        )
        is not None
    )  # rebuilt: valid again
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
