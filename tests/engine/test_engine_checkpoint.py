"""Checkpoint round trip and the one-line errors for bad checkpoints (API and CLI)."""

import json
import shutil
import subprocess
import sys

import pytest
import torch

from engine.api import CheckpointError, load_generator


@pytest.fixture
def ckpt_copy(untrained_ckpt, tmp_path):
    dst = tmp_path / "ck"
    shutil.copytree(untrained_ckpt, dst)
    return dst


def test_round_trip_gives_identical_generations(untrained_ckpt, tmp_path):
    from engine import checkpoint

    g = load_generator(untrained_ckpt, "cpu")
    out = tmp_path / "resaved"
    checkpoint.save(out, g.cfg, g.model, g.encoder, g.tokenizer, {"note": "x"}, "card\n")
    g2 = load_generator(out, "cpu")
    a = g.generate("find all python files", "bash", k=3, seed=1)
    b = g2.generate("find all python files", "bash", k=3, seed=1)
    assert [(c.code, round(c.score, 5)) for c in a] == [(c.code, round(c.score, 5)) for c in b]
    half = checkpoint.export_half(out, tmp_path / "half")
    assert (half / "model.safetensors").stat().st_size < (out / "model.safetensors").stat().st_size * 0.6
    g3 = load_generator(half, "cpu")
    full, halved = g.model.state_dict(), g3.model.state_dict()
    assert full.keys() == halved.keys()
    for name, w in full.items():  # fp16 on disk, fp32 again once loaded: rounding only
        assert halved[name].dtype == w.dtype and torch.allclose(halved[name], w, rtol=1e-3, atol=1e-4), name
    assert len(g3.generate("find all python files", "bash", k=2, seed=1)) == 2


def _corrupt(kind, d):
    if kind == "missing dir":
        shutil.rmtree(d)
        return "checkpoint directory not found"
    if kind == "missing config":
        (d / "config.json").unlink()
        return "config.json: missing"
    if kind == "corrupt config":
        (d / "config.json").write_text("{not json")
        return "config.json: corrupt JSON"
    if kind == "bad field":
        cfg = json.loads((d / "config.json").read_text())
        cfg["model"]["bogus"] = 1
        (d / "config.json").write_text(json.dumps(cfg))
        return "unknown model config field"
    if kind == "missing weights":
        (d / "model.safetensors").unlink()
        return "model.safetensors: missing"
    if kind == "truncated weights":
        w = d / "model.safetensors"
        w.write_bytes(w.read_bytes()[:1000])
        return "model.safetensors: truncated or corrupt"
    if kind == "mismatched shapes":
        cfg = json.loads((d / "config.json").read_text())
        cfg["model"]["d_model"] = cfg["model"]["d_model"] * 2
        (d / "config.json").write_text(json.dumps(cfg))
        return "weights do not match config.json"
    if kind == "corrupt tokenizer":
        (d / "tokenizer.json").write_text("garbage")
        return "tokenizer.json: corrupt tokenizer"
    raise AssertionError(kind)


KINDS = [
    "missing dir",
    "missing config",
    "corrupt config",
    "bad field",
    "missing weights",
    "truncated weights",
    "mismatched shapes",
    "corrupt tokenizer",
]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_checkpoint_raises_one_line_error_naming_the_file(ckpt_copy, kind):
    expected = _corrupt(kind, ckpt_copy)
    with pytest.raises(CheckpointError) as e:
        load_generator(ckpt_copy, "cpu")
    msg = str(e.value)
    assert expected in msg and "\n" not in msg and str(ckpt_copy) in msg


@pytest.mark.parametrize("kind", ["truncated weights", "corrupt config"])
def test_cli_prints_one_line_without_traceback(ckpt_copy, kind):
    _corrupt(kind, ckpt_copy)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion.cli",
            "generate",
            "list files",
            "--lang",
            "bash",
            "--checkpoint",
            str(ckpt_copy),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "Loading weights" not in ln]
    assert len(lines) == 1 and lines[0].startswith("codefusion: error:") and "Traceback" not in r.stderr


def test_hostile_checkpoints_are_refused_in_one_line(ckpt_copy, tmp_path):
    """A FIFO for config.json (it would block a read forever), a config far larger than its weights
    (checked on the meta device, before anything is allocated), an encoder without safetensors."""
    import json
    import os
    import time

    from engine.api import CheckpointError

    fifo = tmp_path / "fifo"
    shutil.copytree(ckpt_copy, fifo)
    (fifo / "config.json").unlink()
    os.mkfifo(fifo / "config.json")
    t0 = time.monotonic()
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_generator(fifo, "cpu")
    assert time.monotonic() - t0 < 5

    huge = tmp_path / "huge"
    shutil.copytree(ckpt_copy, huge)
    raw = json.loads((huge / "config.json").read_text())
    raw["model"]["d_model"] = 16384
    (huge / "config.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="weights do not match config.json"):
        load_generator(huge, "cpu")

    pickled = tmp_path / "enc"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (pickled / "pytorch_model.bin").write_bytes(b"not even a pickle")
    bad = tmp_path / "badenc"
    shutil.copytree(ckpt_copy, bad)
    raw = json.loads((bad / "config.json").read_text())
    raw["model"]["encoder"] = str(pickled)
    (bad / "config.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="safetensors"):
        load_generator(bad, "cpu")
