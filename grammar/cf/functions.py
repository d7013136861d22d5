"""The CF rule DSL's function table: every known function, its argument shapes and family.

Inferred from /work/shared/data/cf/DSL.md (nobody published a grammar). Names are
case-sensitive, as in the data (`top` and `Top` are both spellings that occur).

Slot kinds:
    rule     a nested rule call (AND/OR/NOT arguments)
    col      a column reference c[K]
    subject  what a column-style comparison tests: c[K] or LEN(c[K])
    value    a comparison operand: number, number%, $A$1, c[K], LEN(c[K]), 'quoted' or bare text
    count    a rank size: number or number%
    text     a text literal: 'quoted', "quoted", $A$1 or bare text up to the call's closing parenthesis
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    family: str  # value | text | state | duplicate | rank | average | visual | boolean | date | helper
    shapes: tuple[tuple[str, ...], ...] = ()  # the allowed argument-slot sequences
    variadic_min: int | None = None  # AND/OR: any number >= this of `rule` arguments
    returns_rule: bool = True  # False for LEN (a value, not a rule)

    def arity_text(self) -> str:
        if self.variadic_min is not None:
            return f"at least {self.variadic_min} arguments"
        counts = sorted({len(s) for s in self.shapes})
        words = " or ".join(str(c) for c in counts)
        return f"{words} argument{'s' if counts != [1] else ''}"


_CMP = (("value",), ("subject", "value"))
_BETWEEN = (("value", "value"), ("subject", "value", "value"))
_TEXT = ((), ("col", "text"), ("text",))
_TEXT_COL = (("col", "text"), ("text",))
_STATE = ((), ("col",))
_RANK = (("count",), ("col",), ("col", "count"))

_SPECS = [
    *(
        FunctionSpec(n, "value", _CMP)
        for n in (
            "GreaterThan",
            "LessThan",
            "GreaterThanEqual",
            "GreaterThanEquals",
            "LessThanEqual",
            "Equals",
            "NotEquals",
        )
    ),
    FunctionSpec("Between", "value", _BETWEEN),
    *(FunctionSpec(n, "text", _TEXT) for n in ("TextEquals", "TextContains", "TextStartsWith")),
    *(FunctionSpec(n, "text", _TEXT_COL) for n in ("StartsWith", "EndsWith")),
    *(FunctionSpec(n, "state", _STATE) for n in ("Blanks", "Errors")),
    *(FunctionSpec(n, "duplicate", _STATE) for n in ("Duplicate", "Duplicates")),
    FunctionSpec("LastMonth", "date", _STATE),
    *(FunctionSpec(n, "rank", _RANK) for n in ("top", "bottom", "Top", "Bottom", "TopPercent", "BottomPercent")),
    *(FunctionSpec(n, "average", _STATE) for n in ("aboveAverage", "belowAverage", "AboveAverage", "BelowAverage")),
    *(FunctionSpec(n, "visual", _STATE) for n in ("ColorScale", "DataBar", "IconSet")),
    FunctionSpec("AND", "boolean", variadic_min=2),
    FunctionSpec("OR", "boolean", variadic_min=2),
    *(FunctionSpec(n, "boolean", (("rule",),)) for n in ("NOT", "Not")),
    FunctionSpec("LEN", "helper", (("col",),), returns_rule=False),
]

FUNCTIONS: dict[str, FunctionSpec] = {s.name: s for s in _SPECS}
TEXT_FUNCTIONS = frozenset(n for n, s in FUNCTIONS.items() if s.family == "text")
