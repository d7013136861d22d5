"""Syntax tree of a CF rule. Every node keeps its character offset in the source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    value: float  # for a percentage, the number before "%" (10% -> 10.0)
    percent: bool
    text: str
    pos: int


@dataclass(frozen=True)
class Text:
    value: str
    quoted: bool
    pos: int


@dataclass(frozen=True)
class CellRef:
    text: str  # e.g. $E$13: a cell outside the item's table, cannot be executed
    pos: int


@dataclass(frozen=True)
class ColRef:
    index: int  # 0-based column of the data table
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


Node = Number | Text | CellRef | ColRef | Call


def unparse(node: Node) -> str:
    """Canonical text of a node: no spaces after commas, text quoted only when it was."""
    if isinstance(node, Call):
        return f"{node.name}({','.join(unparse(a) for a in node.args)})"
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Text):
        if node.quoted:
            return "'" + node.value.replace("'", "\\'") + "'"
        return node.value
    if isinstance(node, CellRef):
        return node.text
    if isinstance(node, ColRef):
        return f"c[{node.index}]"
    raise TypeError(f"not a CF node: {node!r}")
