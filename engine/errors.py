"""Every error class the engine raises, in one module that imports nothing of the engine.

    EngineError               the base: the CLI and the servers show it as one line
      CheckpointError         a checkpoint is missing, truncated, corrupt or mismatched
        NoDefaultModelError   no --checkpoint and no shipped default model
      Cancelled               generate() stopped through its cancellation token
      DataError               a data file that is not JSONL (also a ValueError)
      ShippedBankError        the shipped bank does not match its manifest
    CacheCorrupt              a cache file that cannot be used (a ValueError; engine.cache recomputes)

engine.api re-exports the public ones; the modules that raise them import them from here.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of errors the CLI and the server show as one line."""


class CheckpointError(EngineError):
    """A checkpoint is missing, truncated, corrupt or mismatched. str() names the file."""


class NoDefaultModelError(CheckpointError):
    """No --checkpoint was given and no shipped default model is installed."""


class Cancelled(EngineError):
    """generate() was stopped through its cancellation token."""


class DataError(EngineError, ValueError):
    """A data file that cannot be read as JSONL; the message names the file and line."""


class ShippedBankError(EngineError):
    """The shipped bank's files do not match its manifest (a damaged install or a stale build)."""


class CacheCorrupt(ValueError):
    """A cache file that cannot be used: str() says why (one line)."""
