"""What a syntax check returns (grammar.syntax.check): a Verdict with SyntaxIssues.

Its own module, below grammar.syntax and the per-language checkers that build these, so that they
import it and not one another (grammar.syntax, which dispatches to them, re-exports both).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SyntaxIssue:
    line: int  # 1-based
    col: int  # 1-based, in characters
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.message}"


@dataclass
class Verdict:
    valid: bool
    errors: list[SyntaxIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
