"""The user-facing settings: the one definition of their names, defaults, ranges and docs.

The language server reads them (`parse_settings`, from `initializationOptions` or
`workspace/didChangeConfiguration`), the CLI takes its defaults from them, docs/contracts.md holds
`settings_markdown()`, and a test checks vscode-extension/package.json's `codefusion.*`
configuration against `SETTINGS`.

Every payload is read as a whole: a missing key means its default. A bad value falls back to its
default and adds a warning that the server shows to the user; unknown keys are only logged.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from engine.schema import DEFAULT_K, K_RANGE, MAX_REQUEST_CHARS, STEPS_RANGE
from engine.schema import DEFAULT_SEED as DEFAULT_SEED  # re-exported: codefusion.evaluation.options reads defaults here
from grammar.pipeline import INVALID_MODES

# Editor language id -> engine language.
LANGUAGE_IDS = {
    "python": "python",
    "shellscript": "bash",
    "bash": "bash",
    "sh": "bash",
    "cfrule": "cf",
}
DEVICES = ("auto", "cpu", "cuda")
# DEFAULT_SEED, K_RANGE and STEPS_RANGE are engine.schema's (a request's limits, the same on every surface);
# codefusion.maxCommentLength may only lower the schema's request length
COMMENT_LENGTH_RANGE = (1, MAX_REQUEST_CHARS)


def _setting(
    key: str,
    default: Any,
    kind: str,
    doc: str,
    lo: int | None = None,
    hi: int | None = None,
    choices: tuple[str, ...] = (),
    nullable: bool = False,
):
    """A dataclass field that carries its client key (camelCase), kind, range and description."""
    meta = dict(key=key, kind=kind, doc=doc, lo=lo, hi=hi, choices=choices, nullable=nullable)
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """The `codefusion` settings section, with its defaults."""

    checkpoint: str | None = _setting(
        "checkpoint", None, "path", "Model checkpoint directory. `null`: the shipped default model.", nullable=True
    )
    k: int = _setting("k", DEFAULT_K, "int", "Number of candidates to generate.", *K_RANGE)
    steps: int | None = _setting(
        "steps", None, "int", "Diffusion sampling steps. `null`: the checkpoint's default.", *STEPS_RANGE, nullable=True
    )
    device: str = _setting("device", "auto", "enum", "Device that runs the model.", choices=DEVICES)
    invalid_mode: str = _setting(
        "invalidMode", INVALID_MODES[0], "enum", "What to do with candidates that do not parse.", choices=INVALID_MODES
    )
    max_comment_length: int = _setting(
        "maxCommentLength",
        MAX_REQUEST_CHARS,
        "int",
        "Longest comment (in characters) sent to the model.",
        *COMMENT_LENGTH_RANGE,
    )
    languages: tuple[str, ...] = _setting(
        "languages",
        ("python", "shellscript", "bash", "sh", "cfrule"),
        "languages",
        "Language ids the server serves (changing this restarts the server).",
    )
    retrieval: bool = _setting(
        "retrieval", True, "bool", "Also offer labelled examples retrieved from the training data."
    )
    timeout: int = _setting("timeout", 15, "int", "Seconds a request may take; then it stops and says so.", 1, 600)
    exemplar_files: tuple[str, ...] = _setting(
        "exemplarFiles",
        (),
        "paths",
        "JSONL files of your own examples (`nl`, `code`, `lang` per line): exemplars "
        "and retrieved examples beside the training data. Comment -> code pairs in "
        "open documents are used too.",
    )
    engine_url: str | None = _setting(
        "engineUrl",
        None,
        "url",
        "A shared engine (`codefusion serve`) to ask instead of loading a model here, "
        "e.g. `http://gpu-box:8420`. `null`: the local model.",
        nullable=True,
    )
    engine_token: str | None = _setting(
        "engineToken", None, "string", "Bearer token of the shared engine, when it needs one.", nullable=True
    )
    engine_fallback: bool = _setting(
        "engineFallback", True, "bool", "When the shared engine cannot be reached, use the local model instead."
    )

    def engine_language(self, language_id: str) -> str | None:
        """The engine language for an editor language id, None when unknown or disabled."""
        if language_id not in self.languages:
            return None
        return LANGUAGE_IDS.get(language_id)

    @property
    def model_key(self) -> tuple:
        """What identifies the loaded model (or the engine asked): a change reloads it."""
        return (
            self.checkpoint,
            self.device,
            self.exemplar_files,
            self.engine_url,
            self.engine_token,
            self.engine_fallback,
        )

    @property
    def load_device(self) -> str | None:
        """The `device` argument of codefusion.runtime.Engine.open."""
        return None if self.device == "auto" else self.device


SETTINGS = {f.metadata["key"]: f for f in dataclasses.fields(Settings)}  # client key -> dataclass field
_DEFAULTS = Settings()

# Workspace Trust: not a user setting but what the client knows about the workspace, sent beside
# the settings (the same object). False or absent: untrusted (the safe default) -- the server then
# takes no exemplars from open documents and no exemplar file that is relative or lies in a workspace
# folder. VS Code's extension sends vscode.workspace.isTrusted; other clients set it themselves.
TRUST_KEY = "trustedWorkspace"
TRUST_DEFAULT = False


def parse_trust(raw: Any) -> tuple[bool | None, str | None]:
    """(trusted, warning) from an initializationOptions / settings payload: None when the payload
    does not say (the key is absent); a value that is not true/false is untrusted, with a warning."""
    if isinstance(raw, dict) and TRUST_KEY not in raw and isinstance(raw.get("codefusion"), dict):
        raw = raw["codefusion"]
    if not isinstance(raw, dict) or TRUST_KEY not in raw:
        return None, None
    value = raw[TRUST_KEY]
    if isinstance(value, bool):
        return value, None
    shown = repr(value)[:60]
    return False, f"{TRUST_KEY}: {shown} is not true or false; the workspace is treated as untrusted"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(key: str, value: Any) -> tuple[Any, str | None]:
    """(parsed value, None) or (the default, a warning), by the setting's kind and range."""
    f = SETTINGS[key]
    m = f.metadata
    default = getattr(_DEFAULTS, f.name)

    def bad(expected: str) -> tuple[Any, str]:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return default, f"codefusion.{key}: {shown} is not {expected}; using the default {default!r}"

    if value is None and m["nullable"]:
        return None, None
    kind = m["kind"]
    if kind == "path":
        if value == "":
            return None, None
        return (os.path.expanduser(value), None) if isinstance(value, str) else bad("a path (string) or null")
    if kind == "url":
        if value == "":
            return None, None
        ok = isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) <= 2000
        return (value.rstrip("/"), None) if ok else bad("an http:// or https:// URL or null")
    if kind == "string":
        if value == "":
            return None, None
        return (value, None) if isinstance(value, str) and len(value) <= 4096 else bad("a string or null")
    if kind == "int":
        ok = _is_int(value) and m["lo"] <= value <= m["hi"]
        return (value, None) if ok else bad(f"an integer {m['lo']}..{m['hi']}" + (" or null" if m["nullable"] else ""))
    if kind == "enum":
        return (value, None) if value in m["choices"] else bad("one of " + ", ".join(m["choices"]))
    if kind == "bool":
        return (value, None) if isinstance(value, bool) else bad("true or false")
    if kind == "paths":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return bad("a list of file paths")
        return tuple(os.path.expanduser(v) for v in value), None
    if kind == "languages":
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
    raise KeyError(key)


def parse_settings(raw: Any) -> tuple[Settings, list[str], list[str]]:
    """Read settings. Returns (settings, warnings to show, notes to log).

    `raw` is the `codefusion` section itself or an object holding it under "codefusion"; None
    means all defaults."""
    warnings: list[str] = []
    notes: list[str] = []
    if raw is None:
        return Settings(), warnings, notes
    if isinstance(raw, dict) and "codefusion" in raw:
        raw = raw["codefusion"]
        if raw is None:
            return Settings(), warnings, notes
    if not isinstance(raw, dict):
        warnings.append(f"CodeFusion settings must be an object, got {type(raw).__name__}; using defaults")
        return Settings(), warnings, notes
    values = {}
    for key, value in raw.items():
        if key == TRUST_KEY:  # client state, read by parse_trust
            continue
        if key not in SETTINGS:
            notes.append(f"unknown setting codefusion.{key} ignored")
            continue
        parsed, warning = _check(key, value)
        values[SETTINGS[key].name] = parsed
        if warning:
            warnings.append(warning)
    return Settings(**values), warnings, notes


def json_schema(key: str) -> dict:
    """What package.json's `codefusion.<key>` property must say (type, default, range, enum)."""
    f = SETTINGS[key]
    m = f.metadata
    types = {
        "path": "string",
        "int": "integer",
        "enum": "string",
        "bool": "boolean",
        "languages": "array",
        "paths": "array",
        "url": "string",
        "string": "string",
    }
    t = types[m["kind"]]
    out: dict = {
        "type": [t, "null"] if m["nullable"] else t,
        "default": list(f.default) if isinstance(f.default, tuple) else f.default,
    }
    if m["lo"] is not None:
        out["minimum"] = m["lo"]
    if m["hi"] is not None:
        out["maximum"] = m["hi"]
    if m["choices"]:
        out["enum"] = list(m["choices"])
    return out


def settings_markdown() -> str:
    """The settings table of docs/contracts.md."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, f in SETTINGS.items():
        m = f.metadata
        kind = {
            "path": "string",
            "url": "URL",
            "string": "string",
            "int": "int",
            "enum": "one of " + ", ".join(m["choices"]) if m["choices"] else "",
            "bool": "bool",
            "languages": "list of language ids",
            "paths": "list of file paths",
        }[m["kind"]]
        if m["kind"] == "int":
            kind = f"int {m['lo']}..{m['hi']}"
        if m["nullable"]:
            kind += " or null"
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        rows.append(f"| `{key}` | {kind} | `{json.dumps(default)}` | {m['doc']} |")
    return "\n".join(rows)
