"""How often the CF executor reproduces the `labels` of a CF JSONL file, per rule family.

    python scripts/research/cf_label_report.py ../shared/data/cf/codefusion-train.jsonl

Only items with labels (labels != [0]) count. Per family (the top-level function's family
in grammar.cf.functions) and per top-level function it prints: labelled items, items whose
rule parses and executes, exact reproductions of `labels`, and the rate over labelled items.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from grammar.cf.executor import CFExecutionError, execute
from grammar.cf.functions import FUNCTIONS
from grammar.cf.parser import CFSyntaxError, parse


@dataclass
class Tally:
    labelled: int = 0
    executed: int = 0
    reproduced: int = 0

    @property
    def rate(self) -> float:
        return 100.0 * self.reproduced / self.labelled if self.labelled else 0.0


def tally(records: Iterable[dict]) -> tuple[dict[str, Tally], dict[str, Tally], Tally]:
    """(per family, per top-level function, overall) over records with labels."""
    by_family: dict[str, Tally] = defaultdict(Tally)
    by_function: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for rec in records:
        labels = rec.get("labels")
        if not labels or labels == [0]:
            continue
        try:
            call = parse(rec["code"])
            name, family = call.name, FUNCTIONS[call.name].family
        except CFSyntaxError:
            call, name, family = None, "<does not parse>", "<does not parse>"
        tallies = (by_family[family], by_function[name], total)
        for t in tallies:
            t.labelled += 1
        if call is None:
            continue
        try:
            mask = execute(call, rec["data"])
        except (CFExecutionError, ValueError):
            continue
        for t in tallies:
            t.executed += 1
            t.reproduced += mask == labels
    return dict(by_family), dict(by_function), total


def format_table(title: str, rows: dict[str, Tally]) -> str:
    lines = [f"| {title} | labelled | executed | reproduced | rate % |", "|---|---|---|---|---|"]
    for key, t in sorted(rows.items(), key=lambda kv: (-kv[1].labelled, kv[0])):
        lines.append(f"| {key} | {t.labelled} | {t.executed} | {t.reproduced} | {t.rate:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="cf_label_report.py", description=__doc__.splitlines()[0])
    ap.add_argument("data", help="a CF JSONL file with data/labels")
    args = ap.parse_args(argv)
    try:
        with open(args.data, encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    by_family, by_function, total = tally(records)
    print(format_table("family", by_family))
    print()
    print(format_table("function", by_function))
    print()
    print(
        f"overall: {total.reproduced}/{total.labelled} labelled items reproduced ({total.rate:.1f} %), "
        f"{total.executed} executed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
