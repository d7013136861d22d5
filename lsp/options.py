"""The server's settings (the `codefusion` section; see docs/contracts.md).

`parse_options` reads them from `initializationOptions` or from the settings of
`workspace/didChangeConfiguration`. Every payload is read as a whole: a missing
key means its default. A bad value falls back to its default and adds a warning
that the server shows to the user; unknown keys are only logged.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

# Editor language id -> engine language.
LANGUAGE_IDS = {
    "python": "python",
    "shellscript": "bash",
    "bash": "bash",
    "sh": "bash",
    "cfrule": "cf",
}

DEVICES = ("auto", "cpu", "cuda")
INVALID_MODES = ("rank_last", "hide")
K_RANGE = (1, 20)
STEPS_RANGE = (1, 1200)
COMMENT_LENGTH_RANGE = (1, 100_000)


@dataclass(frozen=True)
class Options:
    """Settings with their defaults (the one place defaults are defined)."""

    checkpoint: Optional[str] = None  # None: the shipped default model
    k: int = 5
    steps: Optional[int] = None  # None: the checkpoint's default
    device: str = "auto"
    invalid_mode: str = "rank_last"
    max_comment_length: int = 2000
    languages: Tuple[str, ...] = ("python", "shellscript", "bash", "sh", "cfrule")
    retrieval: bool = True

    def engine_language(self, language_id: str) -> Optional[str]:
        """The engine language for an editor language id, None when unknown or disabled."""
        if language_id not in self.languages:
            return None
        return LANGUAGE_IDS.get(language_id)

    @property
    def model_key(self) -> Tuple[Optional[str], str]:
        """What identifies the loaded model: a change reloads it."""
        return (self.checkpoint, self.device)

    @property
    def load_device(self) -> Optional[str]:
        """The `device` argument of engine.api.load_generator."""
        return None if self.device == "auto" else self.device


# settings key (camelCase, as clients send it) -> dataclass field
_KEYS = {
    "checkpoint": "checkpoint",
    "k": "k",
    "steps": "steps",
    "device": "device",
    "invalidMode": "invalid_mode",
    "maxCommentLength": "max_comment_length",
    "languages": "languages",
    "retrieval": "retrieval",
}
_DEFAULTS = Options()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(key: str, value: Any) -> Tuple[Any, Optional[str]]:
    """(parsed value, None) or (the default, a warning)."""
    default = getattr(_DEFAULTS, _KEYS[key])

    def bad(expected: str) -> Tuple[Any, str]:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return default, f"codefusion.{key}: {shown} is not {expected}; using the default {default!r}"

    if key == "checkpoint":
        if value is None or value == "":
            return None, None
        if not isinstance(value, str):
            return bad("a path (string) or null")
        return os.path.expanduser(value), None
    if key == "k":
        lo, hi = K_RANGE
        return (value, None) if _is_int(value) and lo <= value <= hi else bad(f"an integer {lo}..{hi}")
    if key == "steps":
        lo, hi = STEPS_RANGE
        if value is None:
            return None, None
        return (value, None) if _is_int(value) and lo <= value <= hi else bad(f"an integer {lo}..{hi} or null")
    if key == "device":
        return (value, None) if value in DEVICES else bad("one of " + ", ".join(DEVICES))
    if key == "invalidMode":
        return (value, None) if value in INVALID_MODES else bad("one of " + ", ".join(INVALID_MODES))
    if key == "maxCommentLength":
        lo, hi = COMMENT_LENGTH_RANGE
        return (value, None) if _is_int(value) and lo <= value <= hi else bad(f"an integer {lo}..{hi}")
    if key == "languages":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return bad("a list of language ids")
        unknown = [v for v in value if v not in LANGUAGE_IDS]
        known = tuple(v for v in value if v in LANGUAGE_IDS)
        if unknown:
            return known, (
                f"codefusion.languages: unknown language id(s) {', '.join(map(repr, unknown))} ignored "
                f"(known: {', '.join(LANGUAGE_IDS)})"
            )
        return known, None
    if key == "retrieval":
        return (value, None) if isinstance(value, bool) else bad("true or false")
    raise KeyError(key)


def parse_options(raw: Any) -> Tuple[Options, List[str], List[str]]:
    """Read settings. Returns (options, warnings to show, notes to log).

    `raw` is the `codefusion` section itself or an object holding it under
    "codefusion"; None means all defaults.
    """
    warnings: List[str] = []
    notes: List[str] = []
    if raw is None:
        return Options(), warnings, notes
    if isinstance(raw, dict) and isinstance(raw.get("codefusion"), dict):
        raw = raw["codefusion"]
    if not isinstance(raw, dict):
        warnings.append(f"CodeFusion settings must be an object, got {type(raw).__name__}; using defaults")
        return Options(), warnings, notes
    values = {}
    for key, value in raw.items():
        if key not in _KEYS:
            notes.append(f"unknown setting codefusion.{key} ignored")
            continue
        parsed, warning = _check(key, value)
        values[_KEYS[key]] = parsed
        if warning:
            warnings.append(warning)
    return Options(**values), warnings, notes
