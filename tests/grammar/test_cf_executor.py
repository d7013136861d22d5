"""The CF executor: masks on small hand-made tables, both styles, and the label report (scripts/research)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grammar.cf import CFExecutionError, CFSyntaxError, execute

REPO = Path(__file__).resolve().parents[2]
LABEL_REPORT = REPO / "scripts" / "research" / "cf_label_report.py"

VALUES = [
    ["Index", "Value"],
    [0, "5"],
    [1, "50"],
    [2, "In Progress"],
    [3, ""],
    [4, "500"],
    [5, "in progress"],
    [6, "50"],
    [7, "#N/A"],
]


@pytest.mark.parametrize(
    "rule, mask",
    [
        ("GreaterThan(40)", [0, 0, 1, 0, 0, 1, 0, 1, 0]),
        ("LessThan(50)", [0, 1, 0, 0, 0, 0, 0, 0, 0]),
        ("GreaterThanEqual(50)", [0, 0, 1, 0, 0, 1, 0, 1, 0]),
        ("Equals(50)", [0, 0, 1, 0, 0, 0, 0, 1, 0]),
        ("Between(600, 50)", [0, 0, 1, 0, 0, 1, 0, 1, 0]),
        ("TextEquals(In Progress)", [0, 0, 0, 1, 0, 0, 1, 0, 0]),  # case-insensitive
        ("TextContains(prog)", [0, 0, 0, 1, 0, 0, 1, 0, 0]),
        ("TextEquals()", [0, 0, 0, 0, 1, 0, 0, 0, 0]),
        ("Blanks()", [0, 0, 0, 0, 1, 0, 0, 0, 0]),
        ("NOT(Blanks())", [0, 1, 1, 1, 0, 1, 1, 1, 1]),
        ("Errors()", [0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("Duplicate()", [0, 0, 1, 1, 0, 0, 1, 1, 0]),
        ("top(1)", [0, 0, 0, 0, 0, 1, 0, 0, 0]),
        ("top(2)", [0, 0, 1, 0, 0, 1, 0, 1, 0]),  # ties with the 2nd largest are in
        ("bottom(1)", [0, 1, 0, 0, 0, 0, 0, 0, 0]),
        ("top(50%)", [0, 0, 1, 0, 0, 1, 0, 1, 0]),  # 2 of 4 numbers, ties included
        ("aboveAverage()", [0, 0, 0, 0, 0, 1, 0, 0, 0]),  # mean of 5, 50, 500, 50 = 151.25
        ("belowAverage()", [0, 1, 1, 0, 0, 0, 0, 1, 0]),
        ("ColorScale()", [0, 1, 1, 1, 1, 1, 1, 1, 1]),
        ("AND(GreaterThan(10), LessThan(100))", [0, 0, 1, 0, 0, 0, 0, 1, 0]),
        ("OR(TextEquals(In Progress), Equals(5))", [0, 1, 0, 1, 0, 0, 1, 0, 0]),
    ],
)
def test_train_style_masks(rule, mask):
    assert execute(rule, VALUES) == mask


TABLE = [
    ["Name", "City", "Sales"],
    ["Ann", "東京", "900"],
    ["Bob", "Paris", "1200"],
    ["Cy", "Lyon", "300"],
    ["Dee", "東京都", ""],
]


@pytest.mark.parametrize(
    "rule, mask",
    [
        ("GreaterThan(c[2], 500)", [0, 1, 1, 0, 0]),
        ("TextContains(c[1], '東京')", [0, 1, 0, 0, 1]),
        ("StartsWith(c[0], 'b')", [0, 0, 1, 0, 0]),
        ("EndsWith(c[1], 'n')", [0, 0, 0, 1, 0]),
        ("GreaterThan(LEN(c[0]), 2)", [0, 1, 1, 0, 1]),
        ("Between(c[2], 200, 1000)", [0, 1, 0, 1, 0]),
        ("Blanks(c[2])", [0, 0, 0, 0, 1]),
        ("Top(c[2], 1)", [0, 0, 1, 0, 0]),
        ("Bottom(c[2])", [0, 0, 0, 1, 0]),
        ("AND(GreaterThan(c[2], 100), NOT(TextEquals(c[1], 'paris')))", [0, 1, 0, 1, 0]),
    ],
)
def test_column_style_masks(rule, mask):
    assert execute(rule, TABLE) == mask


def test_header_only_table_gives_header_mask():
    assert execute("GreaterThan(5)", [["Index", "Value"]]) == [0]


def test_numeric_text_operand_compares_leading_numbers():
    data = [["Index", "Value"], [0, "3 days"], [1, "20 days"], [2, "n/a"]]
    assert execute("GreaterThan(13 Days)", data) == [0, 0, 1, 0]


def test_cell_reference_cannot_be_executed():
    with pytest.raises(CFExecutionError, match=r"\$E\$13"):
        execute("GreaterThan($E$13)", VALUES)


def test_syntax_error_and_bad_data():
    with pytest.raises(CFSyntaxError):
        execute("Foo(1)", VALUES)
    with pytest.raises(ValueError, match="data"):
        execute("ColorScale()", [])
    with pytest.raises(ValueError, match="data"):
        execute("ColorScale()", "not a table")


def test_label_report_tally_and_cli(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("cf_label_report", LABEL_REPORT)
    label_report = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, label_report)  # its dataclass looks its module up
    spec.loader.exec_module(label_report)
    records = [
        {"code": "GreaterThan(40)", "data": VALUES, "labels": [0, 0, 1, 0, 0, 1, 0, 1, 0]},  # reproduced
        {"code": "top(1)", "data": VALUES, "labels": [0, 1, 0, 0, 0, 0, 0, 0, 0]},  # noisy label
        {"code": "TextEquals($B$6)", "data": VALUES, "labels": [0, 1, 0, 0, 0, 0, 0, 0, 0]},  # not executable
        {"code": "ColorScale()", "data": VALUES, "labels": [0]},  # unlabelled: ignored
    ]
    by_family, by_function, total = label_report.tally(records)
    assert (total.labelled, total.executed, total.reproduced) == (3, 2, 1)
    assert by_family["value"].reproduced == 1 and by_family["rank"].reproduced == 0
    assert by_function["TextEquals"].executed == 0
    path = tmp_path / "cf.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = subprocess.run([sys.executable, str(LABEL_REPORT), str(path)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "| value | 1 | 1 | 1 | 100.0 |" in out.stdout
    assert "overall: 1/3 labelled items reproduced" in out.stdout
