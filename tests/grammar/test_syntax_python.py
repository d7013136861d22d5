"""Python syntax checks (tree-sitter-python): valid and invalid snippets, positions."""

import pytest

from grammar.syntax import SyntaxIssue, check

VALID = [
    "x = 1",
    "print('hello')",
    "def f(a, b=2, *args, **kw):\n    return a + b",
    "class A(B):\n    def m(self):\n        pass",
    "for i in range(10):\n    print(i)",
    "while True:\n    break",
    "if x:\n    y = 1\nelif z:\n    y = 2\nelse:\n    y = 3",
    "try:\n    f()\nexcept (ValueError, KeyError) as e:\n    raise\nfinally:\n    g()",
    "with open('f') as fh, open('g') as gh:\n    data = fh.read()",
    "squares = [x * x for x in xs if x % 2]",
    "d = {k: v for k, v in pairs}",
    "lambda x: x + 1",
    "import os, sys\nfrom collections import defaultdict as dd",
    "async def main():\n    await asyncio.sleep(1)",
    "@decorator\ndef f():\n    yield from g()",
    "s = f'{name!r:>10} is {age}'",
    "a, *rest = [1, 2, 3]",
    "x = y if cond else z",
    "print('日本語', '中文')",
    "match command:\n    case [x, y]:\n        pass\n    case _:\n        pass",
    "sorted(a, key=lambda t: t[1], reverse=True)",
    "x[::-1]",
    "",
]

INVALID = [
    "def f(:\n    pass",
    "x = (1, 2",
    "print('unterminated)",
    "if x\n    y = 1",
    "for i in range(3) print(i)",
    "x = [1, 2,, 3]",
    "return = 5",
    "def (x): pass",
    "class :\n    pass",
    "x = 1 +",
    "import",
    "from os import",
    "while:\n    pass",
    "lambda x: ",
    "x = {1: }",
    "a = b = ",
    'print("日本" +)',
    "f(a b)",
    "x = )",
    "try:\n    pass\nexcept\n    pass",
    "d = {'a': 1 'b': 2}",
    "def f():\n    return )",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_python(code):
    verdict = check(code, "python")
    assert verdict.valid, verdict.errors
    assert verdict.errors == []


@pytest.mark.parametrize("code", INVALID)
def test_invalid_python(code):
    verdict = check(code, "python")
    assert not verdict.valid
    assert verdict.errors, "an invalid verdict must carry at least one error"
    for issue in verdict.errors:
        assert issue.line >= 1 and issue.col >= 1 and issue.message


def test_missing_node_position_is_one_based():
    verdict = check("def f(:\n    pass", "python")
    assert SyntaxIssue(1, 7, "missing ')'") in verdict.errors


def test_error_on_second_line_counts_characters_not_bytes():
    verdict = check("s = '日本'\nx = )", "python")
    assert not verdict.valid
    assert verdict.errors[0].line == 2
    # CJK on a line: the column counts characters
    verdict = check("print('日本' +)", "python")
    assert verdict.errors[0] == SyntaxIssue(1, 12, "syntax error at '+'")


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="unknown language"):
        check("x", "ruby")
