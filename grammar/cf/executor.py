"""Execute a CF rule on an item's `data` table: interpret the DSL, return the 0/1 row mask.

The mask is aligned with `data` rows, header included (as `labels` in the data files):
``mask[0] == 0`` for the header and ``mask[i] == 1`` when the rule formats ``data[i]``.

Semantics (Excel's conditional-formatting rule types, as /work/shared/data/cf/DSL.md guesses):
* Train style (no c[K]) tests column 1 (`Value`); column style tests column K.
* Numbers: cell strings are parsed as floats; non-numeric cells (text, blanks, booleans)
  never satisfy a numeric comparison. A non-numeric operand such as `13 Days` compares by
  its leading number against cells' leading numbers.
* Text: case-insensitive; TextEquals() with no argument means an empty cell.
* Between(a, b): min(a, b) <= v <= max(a, b).
* top/bottom(k): numeric cells whose value is among the k largest (smallest), ties included;
  k% means max(1, floor(n * k / 100)) of the n numeric cells.
* above/belowAverage: numeric cells strictly above (below) the mean of the numeric cells.
* Duplicate: non-blank cells whose case-folded text occurs more than once.
* ColorScale/DataBar/IconSet format every row.
* Errors: cells holding an Excel error value (#N/A, #DIV/0!, ...).
Nothing but the rule language is interpreted; no code is ever run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from grammar.cf.nodes import Call, CellRef, ColRef, Node, Number, Text
from grammar.cf.parser import parse

DEFAULT_COLUMN = 1  # train style: the `Value` column
EXCEL_ERRORS = {
    "#N/A",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
}
_LEADING_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")


class CFExecutionError(ValueError):
    """The rule parses but cannot be evaluated on this table (e.g. a $E$13 reference)."""


Mask = list[bool]


def _cell(row: Sequence[Any], k: int) -> Any:
    return row[k] if k < len(row) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _leading_number(value: Any) -> float | None:
    n = _number(value)
    if n is not None:
        return n
    m = _LEADING_NUMBER.match(_text(value))
    return float(m.group(1)) if m else None


class _Executor:
    def __init__(self, rows: Sequence[Sequence[Any]]):
        self.rows = rows  # data rows without the header

    def column(self, k: int) -> list[Any]:
        return [_cell(r, k) for r in self.rows]

    # operands -------------------------------------------------------------
    def subject(self, node: Node) -> list[Any]:
        if isinstance(node, ColRef):
            return self.column(node.index)
        if isinstance(node, Call) and node.name == "LEN":
            return [len(_text(v)) for v in self.subject(node.args[0])]
        raise CFExecutionError(f"cannot use {node!r} as a column")

    def operand(self, node: Node) -> list[Any]:
        """Per-row operand values (a constant operand repeats)."""
        if isinstance(node, (ColRef, Call)):
            return self.subject(node)
        if isinstance(node, Number):
            value = node.value / 100 if node.percent else node.value
            return [value] * len(self.rows)
        if isinstance(node, Text):
            return [node.value] * len(self.rows)
        if isinstance(node, CellRef):
            raise CFExecutionError(f"{node.text} refers to a cell outside the table")
        raise CFExecutionError(f"unsupported operand {node!r}")

    # rules ------------------------------------------------------------------
    def rule(self, call: Call) -> Mask:
        handler = _HANDLERS.get(call.name)
        if handler is None:
            raise CFExecutionError(f"{call.name} cannot be executed")
        return handler(self, call)

    def split_subject(self, call: Call, n_operands: int) -> tuple[list[Any], list[Node]]:
        args = list(call.args)
        if len(args) > n_operands:
            return self.subject(args[0]), args[1:]
        return self.column(DEFAULT_COLUMN), args

    def compare(self, call: Call, op: Callable[[float, float], bool]) -> Mask:
        values, (operand,) = self.split_subject(call, 1)
        rhs = self.operand(operand)
        out = []
        numeric_operand = not (isinstance(operand, Text) and _number(operand.value) is None)
        for v, r in zip(values, rhs):
            if numeric_operand:
                a, b = _number(v), _number(r)
            else:  # `13 Days`: compare leading numbers
                a, b = _leading_number(v), _leading_number(r)
            if a is None or b is None:
                # Excel's "Cell Value equal to" also matches text: Equals(Yes)
                out.append(call.name == "Equals" and _text(v).casefold() == _text(r).casefold() and v not in (None, ""))
                if call.name == "NotEquals":
                    out[-1] = _text(v).casefold() != _text(r).casefold()
                continue
            out.append(op(a, b))
        return out

    def between(self, call: Call) -> Mask:
        values, (lo_node, hi_node) = self.split_subject(call, 2)
        out = []
        for v, lo, hi in zip(values, self.operand(lo_node), self.operand(hi_node)):
            a, lo_n, hi_n = _number(v), _leading_number(lo), _leading_number(hi)
            out.append(
                a is not None and lo_n is not None and hi_n is not None and min(lo_n, hi_n) <= a <= max(lo_n, hi_n)
            )
        return out

    def text_rule(self, call: Call, test: Callable[[str, str], bool]) -> Mask:
        if not call.args:
            return [_text(v).strip() == "" for v in self.column(DEFAULT_COLUMN)]
        values, (operand,) = self.split_subject(call, 1)
        return [test(_text(v).casefold(), _text(r).casefold()) for v, r in zip(values, self.operand(operand))]

    def state(self, call: Call, test: Callable[[Any], bool]) -> Mask:
        values, _ = self.split_subject(call, 0)
        return [test(v) for v in values]

    def duplicate(self, call: Call) -> Mask:
        values, _ = self.split_subject(call, 0)
        keys = [_text(v).strip().casefold() for v in values]
        counts: dict[str, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        return [key != "" and counts[key] > 1 for key in keys]

    def rank(self, call: Call, largest: bool, percent_default: bool = False) -> Mask:
        args = list(call.args)
        if args and isinstance(args[0], ColRef):
            values = self.column(args[0].index)
            args = args[1:]
        else:
            values = self.column(DEFAULT_COLUMN)
        numbers = [_number(v) for v in values]
        present = sorted((n for n in numbers if n is not None), reverse=largest)
        if not present:
            return [False] * len(values)
        if args:
            k_node = args[0]
            assert isinstance(k_node, Number)
            percent = k_node.percent or percent_default
            k = max(1, math.floor(len(present) * k_node.value / 100)) if percent else int(k_node.value)
        else:
            k = 1  # Bottom(c[1]) with no size: the single extreme value
        if k <= 0:
            return [False] * len(values)
        threshold = present[min(k, len(present)) - 1]
        return [n is not None and (n >= threshold if largest else n <= threshold) for n in numbers]

    def average(self, call: Call, above: bool) -> Mask:
        values, _ = self.split_subject(call, 0)
        numbers = [_number(v) for v in values]
        present = [n for n in numbers if n is not None]
        if not present:
            return [False] * len(values)
        mean = sum(present) / len(present)
        return [n is not None and (n > mean if above else n < mean) for n in numbers]

    def visual(self, call: Call) -> Mask:
        return [True] * len(self.rows)

    def boolean(self, call: Call) -> Mask:
        masks = [self.rule(a) for a in call.args]  # type: ignore[arg-type]
        if call.name in ("NOT", "Not"):
            return [not m for m in masks[0]]
        combine = all if call.name == "AND" else any
        return [combine(bits) for bits in zip(*masks)]


def _errors(v: Any) -> bool:
    return _text(v).strip().upper() in EXCEL_ERRORS


def _last_month(self: _Executor, call: Call) -> Mask:
    raise CFExecutionError("LastMonth depends on today's date; it is not executed")


_HANDLERS: dict[str, Callable[[_Executor, Call], Mask]] = {
    "GreaterThan": lambda s, c: s.compare(c, lambda a, b: a > b),
    "LessThan": lambda s, c: s.compare(c, lambda a, b: a < b),
    "GreaterThanEqual": lambda s, c: s.compare(c, lambda a, b: a >= b),
    "GreaterThanEquals": lambda s, c: s.compare(c, lambda a, b: a >= b),
    "LessThanEqual": lambda s, c: s.compare(c, lambda a, b: a <= b),
    "Equals": lambda s, c: s.compare(c, lambda a, b: a == b),
    "NotEquals": lambda s, c: s.compare(c, lambda a, b: a != b),
    "Between": _Executor.between,
    "TextEquals": lambda s, c: s.text_rule(c, lambda v, t: v == t),
    "TextContains": lambda s, c: s.text_rule(c, lambda v, t: t in v),
    "TextStartsWith": lambda s, c: s.text_rule(c, lambda v, t: v.startswith(t)),
    "StartsWith": lambda s, c: s.text_rule(c, lambda v, t: v.startswith(t)),
    "EndsWith": lambda s, c: s.text_rule(c, lambda v, t: v.endswith(t)),
    "Blanks": lambda s, c: s.state(c, lambda v: _text(v).strip() == ""),
    "Errors": lambda s, c: s.state(c, _errors),
    "Duplicate": _Executor.duplicate,
    "Duplicates": _Executor.duplicate,
    "LastMonth": _last_month,
    "top": lambda s, c: s.rank(c, largest=True),
    "Top": lambda s, c: s.rank(c, largest=True),
    "TopPercent": lambda s, c: s.rank(c, largest=True, percent_default=True),
    "bottom": lambda s, c: s.rank(c, largest=False),
    "Bottom": lambda s, c: s.rank(c, largest=False),
    "BottomPercent": lambda s, c: s.rank(c, largest=False, percent_default=True),
    "aboveAverage": lambda s, c: s.average(c, above=True),
    "AboveAverage": lambda s, c: s.average(c, above=True),
    "belowAverage": lambda s, c: s.average(c, above=False),
    "BelowAverage": lambda s, c: s.average(c, above=False),
    "ColorScale": _Executor.visual,
    "DataBar": _Executor.visual,
    "IconSet": _Executor.visual,
    "AND": _Executor.boolean,
    "OR": _Executor.boolean,
    "NOT": _Executor.boolean,
    "Not": _Executor.boolean,
}


def execute(rule: str | Call, data: Sequence[Sequence[Any]]) -> list[int]:
    """The 0/1 mask of `rule` on `data` (header row first; mask[0] == 0).

    Raises grammar.cf.CFSyntaxError for a rule that does not parse, CFExecutionError for one
    that cannot be evaluated here, ValueError for a `data` that is not a list of rows.
    """
    if not isinstance(data, (list, tuple)) or not data or not all(isinstance(r, (list, tuple)) for r in data):
        raise ValueError("data must be a non-empty list of rows, header row first")
    call = parse(rule) if isinstance(rule, str) else rule
    mask = _Executor(data[1:]).rule(call)
    return [0] + [int(bool(b)) for b in mask]
