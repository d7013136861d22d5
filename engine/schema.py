"""The one request schema and the one home of every request limit.

Every surface that takes a request -- `codefusion generate` (and its --json), the warm daemon, the shared
engine (`codefusion serve`, HTTP/JSON) and the language server's `codefusion.generate` command -- builds a
`Request` here, so that each refuses the same bad request with the same one-line message (RequestError).
The engine itself (engine.generator) checks k against the same K_RANGE, and `resolve_start_snr` is the one
place where a request's start level meets the checkpoint's.

Plain standard library: importing it costs nothing (the language server and the HTTP client import it).

    Request(nl, lang, k=5, steps=None, seed=0, start_snr=None, noise_slots=None, retrieval=True,
            invalid_mode="rank_last")          # checked on construction; RequestError (a ValueError) says why
    Request.from_json({"nl", "lang", "k"?, "steps"?, "seed"?, "startSnr"?, "noiseSlots"?, "retrieval"?,
                       "invalidMode"?})       # the wire form (daemon, serve, the server's command)
    request.to_json()                          # the same keys back
    CandidateView(...).to_json()               # one shown candidate, the same shape on every surface:
                                               # generate --json, the daemon, the shared engine, the server
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

# ---------------------------------------------------------------------------- the limits (their one home)
LANGUAGES: tuple[str, ...] = ("bash", "python", "cf")  # engine languages; grammar.syntax.LANGS parses the same
#   three (grammar may not import engine: tests/test_schema.py ties them, and engine.config's default)
DEFAULT_K = 5  # candidates per request (package.json repeats it; a test ties them)
K_RANGE = (1, 20)  # candidates one request may ask for. 20, not the engine's former 64: the editor setting
#   (package.json), the shared engine and the settings table already said 20, no caller in the tree asks for
#   more, and a shared engine batches k rows per request (16 requests of k=64 would be 1,024 rows a pass)
MAX_K = K_RANGE[1]
STEPS_RANGE = (1, 1200)  # sampling steps (None: the checkpoint's default); 1200 = the schedules' T
DEFAULT_SEED = 0
SEED_RANGE = (0, 2**31 - 1)  # candidate i uses seed + i
MAX_REQUEST_CHARS = 2000  # a longer request is refused (the NL encoder reads 48 word pieces anyway; the editor's
#   codefusion.maxCommentLength may only lower it)
START_SNR_RANGE = (0.0, 1e6)  # exemplar models: the token SNR a candidate's exemplar is noised to before sampling
#   (0: pure noise; above the schedule's snr_max, 100 in the shipped configs, every value starts at step 1 alike)
NOISE_SLOTS_RANGE = (0, K_RANGE[1])  # exemplar models: candidates from a second pass from pure noise
INVALID_MODES: tuple[str, ...] = ("rank_last", "hide")  # grammar.pipeline.INVALID_MODES (tied by a test)

# the wire keys (JSON) of the request's fields; the same for the daemon, the shared engine and the server
WIRE_KEYS = {
    "nl": "nl",
    "lang": "lang",
    "k": "k",
    "steps": "steps",
    "seed": "seed",
    "start_snr": "startSnr",
    "noise_slots": "noiseSlots",
    "retrieval": "retrieval",
    "invalid_mode": "invalidMode",
}


class RequestError(ValueError):
    """A request that breaks the schema; str() is the one-line reason every surface shows."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(name: str, v: Any, lo: int, hi: int, nullable: bool = False) -> None:
    if v is None and nullable:
        return
    if not _is_int(v) or not lo <= v <= hi:
        raise RequestError(f"{name} must be an integer in {lo}..{hi}{' or null' if nullable else ''}, got {_shown(v)}")


def _shown(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def check_length(nl: str, limit: int = MAX_REQUEST_CHARS) -> None:
    """RequestError when the request is longer than `limit` characters (the editor's own lower limit too)."""
    if len(nl) > limit:
        raise RequestError(f"the request is {len(nl)} characters long; the limit is {limit}")


@dataclass(frozen=True)
class Request:
    """One request for candidates, checked on construction (RequestError)."""

    nl: str
    lang: str
    k: int = DEFAULT_K
    steps: int | None = None  # None: the checkpoint's default
    seed: int = DEFAULT_SEED
    start_snr: float | None = None  # None: the checkpoint's (resolve_start_snr); 0: pure noise
    noise_slots: int | None = None  # None: the checkpoint's, per language
    retrieval: bool = True  # retrieved examples beside the model's
    invalid_mode: str = INVALID_MODES[0]

    def __post_init__(self) -> None:
        if not isinstance(self.nl, str):
            raise RequestError(f"the request must be a string, got {type(self.nl).__name__}")
        if not self.nl.strip():
            raise RequestError("the request is empty: say what the code should do")
        check_length(self.nl)
        if self.lang not in LANGUAGES:
            raise RequestError(f"unknown language {_shown(self.lang)}: expected one of {', '.join(LANGUAGES)}")
        _int_in("k", self.k, *K_RANGE)
        _int_in("steps", self.steps, *STEPS_RANGE, nullable=True)
        _int_in("seed", self.seed, *SEED_RANGE)
        snr = self.start_snr
        if snr is not None:
            lo, hi = START_SNR_RANGE
            if (
                isinstance(snr, bool)
                or not isinstance(snr, (int, float))
                or not math.isfinite(snr)
                or not lo <= snr <= hi
            ):
                raise RequestError(f"start SNR must be a number in {lo:g}..{hi:.0f} or null, got {_shown(snr)}")
            object.__setattr__(self, "start_snr", float(snr))
        _int_in("noise slots", self.noise_slots, *NOISE_SLOTS_RANGE, nullable=True)
        if not isinstance(self.retrieval, bool):
            raise RequestError(f"retrieval must be true or false, got {_shown(self.retrieval)}")
        if self.invalid_mode not in INVALID_MODES:
            raise RequestError(
                f"invalid mode must be one of {', '.join(INVALID_MODES)}, got {_shown(self.invalid_mode)}"
            )

    @classmethod
    def from_json(cls, data: Any) -> Request:
        """A request from its wire form (WIRE_KEYS; absent keys take their defaults, other keys are ignored)."""
        if not isinstance(data, Mapping):
            raise RequestError("a request must be a JSON object")
        values = {f.name: data[WIRE_KEYS[f.name]] for f in fields(cls) if WIRE_KEYS[f.name] in data}
        for name in ("nl", "lang"):
            if name not in values:
                raise RequestError(f'a request needs "{name}"')
        for name in ("k", "seed", "retrieval", "invalid_mode"):  # an explicit null: the default
            if name in values and values[name] is None:
                del values[name]
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {WIRE_KEYS[f.name]: getattr(self, f.name) for f in fields(self)}


def resolve_start_snr(requested: float | None, cfg: Any, lang: str) -> float:
    """The start level of a request: its own, else the checkpoint's for the language
    (cfg.exemplar_start_snr_lang), else the checkpoint's (cfg.exemplar_start_snr). The one resolver."""
    if requested is not None:
        return float(requested)
    return float((getattr(cfg, "exemplar_start_snr_lang", None) or {}).get(lang, cfg.exemplar_start_snr))


def schema_markdown() -> str:
    """The request table of docs/contracts.md (generated; tests/test_architecture.py checks it)."""
    snr_lo, snr_hi = START_SNR_RANGE
    rows = [
        (
            "nl",
            "string, 1.." + str(MAX_REQUEST_CHARS) + " characters, not blank",
            "required",
            "The request in natural language.",
        ),
        ("lang", "one of " + ", ".join(LANGUAGES), "required", "The language of the code."),
        ("k", f"int {K_RANGE[0]}..{K_RANGE[1]}", str(DEFAULT_K), "Candidates to return."),
        (
            "steps",
            f"int {STEPS_RANGE[0]}..{STEPS_RANGE[1]} or null",
            "null",
            "Sampling steps (null: the checkpoint's).",
        ),
        ("seed", f"int {SEED_RANGE[0]}..{SEED_RANGE[1]}", str(DEFAULT_SEED), "Candidate i samples with seed + i."),
        (
            "startSnr",
            f"number {snr_lo:g}..{snr_hi:.0f} or null",
            "null",
            "Exemplar models: token SNR the exemplar starts are noised to (0: pure noise; null: the checkpoint's).",
        ),
        (
            "noiseSlots",
            f"int {NOISE_SLOTS_RANGE[0]}..{NOISE_SLOTS_RANGE[1]} or null",
            "null",
            "Exemplar models: candidates from a second pass from pure noise (null: the checkpoint's).",
        ),
        ("retrieval", "bool", "true", "Retrieved examples beside the model's candidates."),
        (
            "invalidMode",
            "one of " + ", ".join(INVALID_MODES),
            f'"{INVALID_MODES[0]}"',
            "What to do with candidates that do not parse.",
        ),
    ]
    out = ["| key | type | default | meaning |", "|---|---|---|---|"]
    out += [f"| `{k}` | {t} | `{d}` | {m} |" for k, t, d, m in rows]
    return "\n".join(out)


# ---------------------------------------------------------------------------- the candidate schema
ORIGINS: tuple[str, ...] = ("generated", "edited", "copy", "retrieved")  # codefusion.suggest labels them
DANGER_MARK = "⚠ "  # a label's mark: the code is dangerous (grammar.danger)
RETRIEVED_MARK = "[retrieved] "  # a label's mark: a retrieved example, not the model's
LABEL_MAX = 80  # characters of the code's first line in a label
_ERROR = re.compile(r"line (\d+), col (\d+): (.*)", re.S)


def error_text(line: int, col: int, message: str) -> str:
    """A syntax error as a candidate carries it: "line 2, col 5: message" (1-based)."""
    return f"line {line}, col {col}: {message}"


def parse_error_text(text: str) -> tuple[int, int, str] | None:
    """(line, col, message) of error_text's form; None for another string."""
    m = _ERROR.fullmatch(text)
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def candidate_label(code: str, warnings: list[str], source: str) -> str:
    """The code's first non-blank line (at most LABEL_MAX characters), marked when dangerous or retrieved."""
    first = next((line.strip() for line in code.splitlines() if line.strip()), "(empty)")
    if len(first) > LABEL_MAX:
        first = first[: LABEL_MAX - 1] + "…"
    return (DANGER_MARK if warnings else "") + (RETRIEVED_MARK if source == "retrieval" else "") + first


@dataclass(frozen=True)
class CandidateView:
    """One shown candidate, as every surface sends it (generate --json, the daemon, the shared engine's
    answer, the language server's codefusion.generate result); codefusion.runtime.candidate_view builds
    it from a ranked candidate."""

    code: str
    score: float
    source: str = "model"  # "model" or "retrieval"
    valid: bool = True  # the code parses (grammar.syntax)
    errors: tuple[str, ...] = ()  # its syntax errors, error_text's form
    warnings: tuple[str, ...] = ()  # danger reasons a user must see
    also_retrieved: bool = False  # a model candidate equal to a retrieved example
    origin: str = "generated"  # ORIGINS
    exemplar: dict[str, Any] | None = None  # {"code", "nl", "source", "similarity"}; None for generated
    what: str = ""  # the label in words (codefusion.suggest.origin_text), as the CLI and the editor say it
    label: str = ""  # candidate_label (the first line, marked)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label or candidate_label(self.code, list(self.warnings), self.source),
            "score": float(self.score),
            "valid": bool(self.valid),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "source": self.source,
            "also_retrieved": bool(self.also_retrieved),
            "origin": self.origin,
            "exemplar": self.exemplar,
            "what": self.what,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CandidateView:
        """to_json's dict back (an older shared engine's form too: errors as [line, col, message],
        "alsoRetrieved")."""
        errors = tuple(
            error_text(*e) if isinstance(e, (list, tuple)) and len(e) == 3 else str(e) for e in d.get("errors", [])
        )
        exemplar = d.get("exemplar")
        return cls(
            code=str(d["code"]),
            score=float(d["score"]),
            source=str(d.get("source", "model")),
            valid=bool(d.get("valid", True)),
            errors=errors,
            warnings=tuple(str(w) for w in d.get("warnings", [])),
            also_retrieved=bool(d.get("also_retrieved", d.get("alsoRetrieved", False))),
            origin=str(d.get("origin") or ""),
            exemplar=exemplar if isinstance(exemplar, dict) else None,
            what=str(d.get("what") or ""),
            label=str(d.get("label") or ""),
        )


CANDIDATE_KEYS: tuple[str, ...] = tuple(CandidateView("", 0.0).to_json())  # the keys of a shown candidate


def candidate_markdown() -> str:
    """The shown candidate's shape in docs/contracts.md (generated; tests/codefusion/test_schema.py checks it)."""
    types = {
        "code": "str",
        "label": "str",
        "score": "float",
        "valid": "bool",
        "errors": "[str]",
        "warnings": "[str]",
        "source": '"model"|"retrieval"',
        "also_retrieved": "bool",
        "origin": "|".join(f'"{o}"' for o in ORIGINS),
        "exemplar": "{...}|null",
        "what": "str",
    }
    return "`{" + ", ".join(f'"{k}": {types[k]}' for k in CANDIDATE_KEYS) + "}`"
