"""Hostile checkpoints for the bad-input suite: copy a good one, then spoil one part of it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def copy_checkpoint(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def weights(p: Path) -> Path:
    """The model's safetensors file in a checkpoint directory."""
    return next(f for f in p.iterdir() if f.suffix == ".safetensors" and "encoder" not in f.name)


def fifo_config(p: Path) -> None:
    (p / "config.json").unlink()
    os.mkfifo(p / "config.json")


def config_dir(p: Path) -> None:
    (p / "config.json").unlink()
    (p / "config.json").mkdir()


def edit_config(change: Callable[[dict], Any]) -> Callable[[Path], None]:
    """A spoiler that rewrites config.json with change(cfg) (its return value, or cfg changed in place)."""

    def spoil(p: Path) -> None:
        cfg = json.loads((p / "config.json").read_text())
        new = change(cfg)
        (p / "config.json").write_text(json.dumps(cfg if new is None else new))

    return spoil


big_model = edit_config(lambda cfg: cfg.setdefault("model", {}).update(d_model=16384))


def truncate_weights(p: Path) -> None:
    w = weights(p)
    w.write_bytes(w.read_bytes()[:1000])


def pickled_encoder(p: Path) -> None:
    """config.json names an encoder directory whose only weights are a pickle that would run a command."""
    enc = p / "pickled-encoder"
    enc.mkdir()
    (enc / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (enc / "pytorch_model.bin").write_bytes(b"\x80\x04cos\nsystem\n(S'touch /tmp/codefusion-pwned'\ntR.")
    edit_config(lambda cfg: cfg.setdefault("model", {}).update(encoder=str(enc)))(p)


def weights_to_dev_zero(p: Path) -> None:
    weights(p).unlink()
    (p / "model.safetensors").symlink_to("/dev/zero")
