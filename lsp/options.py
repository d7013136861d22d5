"""The server's settings: codefusion.settings is their one definition (names, defaults, ranges).

`parse_options` reads them from `initializationOptions` or from the settings of
`workspace/didChangeConfiguration`; a bad value falls back to its default with a warning.
"""

from __future__ import annotations

from codefusion.settings import COMMENT_LENGTH_RANGE, DEVICES, INVALID_MODES, K_RANGE, LANGUAGE_IDS, STEPS_RANGE
from codefusion.settings import Settings as Options
from codefusion.settings import parse_settings as parse_options

__all__ = [
    "Options",
    "parse_options",
    "LANGUAGE_IDS",
    "DEVICES",
    "INVALID_MODES",
    "K_RANGE",
    "STEPS_RANGE",
    "COMMENT_LENGTH_RANGE",
]
