"""lsp.converters: candidates to LSP objects and command results (table-driven)."""

from dataclasses import dataclass, field

import pytest
from lsprotocol import types

from lsp import converters as cv
from lsp.comments import NLRequest


@dataclass
class Issue:
    line: int
    col: int
    message: str


@dataclass
class Ranked:  # the shape of grammar.pipeline.RankedCandidate
    code: str
    score: float
    valid: bool = True
    errors: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = "model"
    also_retrieved: bool = False
    origin: str = ""
    exemplar: dict | None = None


def pos(line, col):
    return types.Position(line=line, character=col)


SAFE = Ranked("ls -la\necho done", -0.25)
RM = Ranked("rm -rf /", -0.5, warnings=["deletes / recursively"])
BAD = Ranked("if then", -1.0, valid=False, errors=[Issue(1, 4, "unexpected 'then'")])
RETR = Ranked("find . -name '*.py'", 0.8, source="retrieval")
TLDR = {"bank": "shipped", "page": "find", "platform": "common"}
EDITED = Ranked(
    "ls -la /var",
    0.3,
    origin="edited",
    exemplar={
        "code": "ls -la /tmp",
        "nl": None,
        "source": {"bank": "user", "file": "/x/mine.jsonl", "line": 4},
        "similarity": 0.8,
    },
)
COPY = Ranked(
    "find . -name '*.py'",
    0.7,
    origin="copy",
    exemplar={"code": "find . -name '*.py'", "nl": "find python files", "source": TLDR, "similarity": 1.0},
)


@pytest.mark.parametrize(
    "cand,label,detail",
    [
        (SAFE, "ls -la", "score -0.25 · valid · generated"),
        (RM, "⚠ rm -rf /", "score -0.50 · valid · generated · ⚠ deletes / recursively"),
        (BAD, "if then", "score -1.00 · invalid (line 1, col 4: unexpected 'then') · generated"),
        (RETR, "[retrieved] find . -name '*.py'", "score 0.80 · valid · retrieved example"),
        (
            Ranked(
                "find . -name '*.py'",
                0.8,
                source="retrieval",
                origin="retrieved",
                exemplar={"code": "find . -name '*.py'", "nl": "find python files", "source": TLDR, "similarity": 1.0},
            ),
            "[retrieved] find . -name '*.py'",
            "score 0.80 · valid · retrieved example for “find python files” (shipped bank, page find (common))",
        ),
        (
            Ranked("find . -name '*.py'", 0.8, also_retrieved=True),
            "find . -name '*.py'",
            "score 0.80 · valid · generated, also a training example",
        ),
        (
            EDITED,
            "ls -la /var",
            "score 0.30 · valid · edited from exemplar `ls -la /tmp` (user bank, mine.jsonl line 4)",
        ),
        (
            COPY,
            "find . -name '*.py'",
            "score 0.70 · valid · copy of an exemplar for “find python files” (shipped bank, page find (common))",
        ),
        (
            Ranked("ls", 0.1, origin="copy", exemplar={"code": "ls", "nl": None, "source": None, "similarity": 1.0}),
            "ls",
            "score 0.10 · valid · copy of an exemplar",
        ),
        (Ranked("\n\n  x=1", 0.0), "x=1", "score 0.00 · valid · generated"),
        (Ranked("", 0.0), "(empty)", "score 0.00 · valid · generated"),
        (Ranked("y" * 200, 0.0), "y" * 79 + "…", "score 0.00 · valid · generated"),
    ],
)
def test_label_and_detail(cand, label, detail):
    assert cv.label(cand) == label
    assert cv.detail(cand) == detail


@pytest.mark.parametrize(
    "code,indent,expected",
    [
        ("a\nb", "    ", "a\n    b"),
        ("a\r\n\nb", "  ", "a\n\n  b"),
        ("one", "\t", "one"),
    ],
)
def test_indent_code(code, indent, expected):
    assert cv.indent_code(code, indent) == expected


REQ = NLRequest(text="t", kind="comment", start_line=1, end_line=1, indent="    ", insert_line=2)
LINES = ["if x; then", "    # do it", "  ", "fi"]


@pytest.mark.parametrize(
    "line,col,expected",
    [
        # blank line after the comment: fill the missing indentation
        (2, 2, (2, 2, 2, "  ", "    ")),
        (2, 0, (2, 0, 0, "    ", "    ")),
        # at the end of the comment line: a new line first
        (1, 11, (1, 11, 11, "\n    ", "    ")),
        (1, 50, (1, 11, 11, "\n    ", "    ")),
        # inside the comment text or elsewhere: no edit
        (1, 5, None),
        (0, 0, None),
        (3, 0, None),
        (9, 0, None),
    ],
)
def test_cursor_edit(line, col, expected):
    edit = cv.cursor_edit(REQ, LINES, line, col)
    if expected is None:
        assert edit is None
    else:
        assert (edit.line, edit.start, edit.end, edit.lead, edit.indent) == expected


def test_cursor_edit_deeper_whitespace_replaces_the_line_start():
    edit = cv.cursor_edit(REQ, ["x", "    # do it", "        "], 2, 8)
    assert (edit.start, edit.end) == (0, 8) and edit.text("a\nb") == "    a\n    b"


@pytest.mark.parametrize(
    "lines,req,expected",
    [
        (LINES, REQ, (2, 0, "    ls\n    pwd\n")),
        (["# list", ""], NLRequest("list", "comment", 0, 0, "", 1), (1, 0, "ls\npwd\n")),
        # the comment ends the document: insert after it on a new line
        (["# list"], NLRequest("list", "comment", 0, 0, "", 1), (0, 6, "\nls\npwd")),
    ],
)
def test_insertion(lines, req, expected):
    assert cv.insertion(req, lines, "ls\npwd") == expected


def to_client(line, col):
    return pos(line, col)


def test_completion_items_are_ordered_plain_text_with_markdown_docs():
    edit = cv.cursor_edit(REQ, LINES, 2, 2)
    items = cv.completion_items([SAFE, RM, BAD], "bash", edit, to_client)
    assert [i.label for i in items] == ["ls -la", "⚠ rm -rf /", "if then"]
    assert [i.sort_text for i in items] == ["0000", "0001", "0002"]
    assert items[0].preselect and not items[1].preselect
    assert all(i.insert_text_format == types.InsertTextFormat.PlainText for i in items)
    assert items[0].text_edit.new_text == "  ls -la\n    echo done"
    assert items[0].text_edit.range == types.Range(start=pos(2, 2), end=pos(2, 2))
    assert items[0].documentation.kind == types.MarkupKind.Markdown
    assert items[0].documentation.value.startswith("```bash\nls -la\necho done\n```")
    assert "invalid" in items[2].detail
    assert [i.label_details.description for i in items] == ["generated"] * 3


def test_completion_items_say_what_each_candidate_is():
    """Every label reaches the editor: labelDetails, detail, and the exemplar an edit started from."""
    edit = cv.cursor_edit(REQ, LINES, 2, 2)
    items = cv.completion_items([EDITED, COPY, RETR, SAFE], "bash", edit, to_client)
    assert [i.label_details.description for i in items] == ["edited", "copy", "retrieved", "generated"]
    assert "edited from exemplar `ls -la /tmp`" in items[0].detail
    assert "```bash\nls -la /tmp\n```" in items[0].documentation.value  # the exemplar beside the edit
    assert "copy of an exemplar" in items[1].detail and "retrieved example" in items[2].detail


def test_documentation_fence_survives_backticks_in_code():
    doc = cv.documentation(Ranked("echo ```", 0.0), "bash")
    assert doc.value.startswith("````bash\necho ```\n````")


def test_inline_items():
    edit = cv.cursor_edit(REQ, LINES, 1, 11)
    items = cv.inline_items([SAFE], edit, to_client)
    assert items[0].insert_text == "\n    ls -la\n    echo done"
    assert items[0].range == types.Range(start=pos(1, 11), end=pos(1, 11))


def test_workspace_edit():
    we = cv.workspace_edit("file:///a.sh", REQ, LINES, "ls", to_client)
    (edit,) = we.changes["file:///a.sh"]
    assert edit.new_text == "    ls\n" and edit.range.start == pos(2, 0) == edit.range.end


def test_generate_result_matches_the_contract():
    r = cv.generate_result(REQ, "bash", [RM, BAD], None, LINES, to_client)
    assert set(r) == {"comment", "lang", "message", "candidates", "insertAt", "indent"}
    assert r["insertAt"] == {"line": 2, "character": 0} and r["indent"] == "    "
    assert r["candidates"][0] == {
        "code": "rm -rf /",
        "label": "⚠ rm -rf /",
        "score": -0.5,
        "valid": True,
        "errors": [],
        "warnings": ["deletes / recursively"],
        "source": "model",
        "also_retrieved": False,
        "origin": "generated",
        "exemplar": None,
        "what": "generated",
    }
    copy = cv.generate_result(REQ, "bash", [COPY], None, LINES, to_client)["candidates"][0]
    assert (copy["origin"], copy["exemplar"]["source"]) == ("copy", TLDR) and copy["what"].startswith("copy of")
    assert r["candidates"][1]["errors"] == ["line 1, col 4: unexpected 'then'"]
    assert cv.empty_result("no comment") == {"candidates": [], "message": "no comment"}
