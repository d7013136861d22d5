"""What is known of a model without torch: where the shipped default checkpoint is, and the dev
calibration a loaded one carries. The CLI, the daemon and suggest() ask these on paths that must stay
cheap to import (engine.api re-exports both)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.types import GeneratorLike


def default_checkpoint_dir() -> Path | None:
    """The shipped default model: $CODEFUSION_CHECKPOINT, else models/default in the repository, else
    the copy a wheel installs (the package `codefusion_model`)."""
    env = os.environ.get("CODEFUSION_CHECKPOINT")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "models" / "default"
    if (here / "config.json").exists():
        return here
    import importlib.util

    spec = importlib.util.find_spec("codefusion_model")
    if spec is not None and spec.submodule_search_locations:
        installed = Path(list(spec.submodule_search_locations)[0])
        if (installed / "config.json").exists():
            return installed
    return None


def calibration(generator: GeneratorLike) -> dict[str, Any] | None:
    """The checkpoint's dev calibration ({"model"|"retrieval": {lang: [rate at rank 1..k]}}, see
    codefusion.evaluation.calibrate), or None."""
    cal = (generator.loaded.meta or {}).get("calibration")
    return cal if isinstance(cal, dict) else None
