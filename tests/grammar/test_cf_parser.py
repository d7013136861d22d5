"""The CF rule DSL parser: both styles, nesting, arity checks, positions, normalisation."""

import pytest

from grammar.cf import CFSyntaxError, normalize_cf, parse, unparse
from grammar.cf.nodes import Call, CellRef, ColRef, Number, Text
from grammar.syntax import check

VALID = [
    # train style: implicit cell, unquoted text
    "TextEquals(In Progress)",
    "TextContains(Error)",
    "NOT(TextContains(適))",
    "NOT(TextEquals(情報は正しく入力されています))",
    "AND(GreaterThanEqual(25),LessThan(50))",
    "AND(GreaterThan(0),OR(LessThan(-5251.4737555988249),GreaterThan(14668.417877816035)))",
    "OR(TextEquals(p), TextEquals(ul))",
    "top(10%)",
    "bottom(3)",
    "Between(400, 800)",
    "Between(15,85)",
    "ColorScale()",
    "DataBar()",
    "IconSet()",
    "Duplicate()",
    "aboveAverage()",
    "NOT(Blanks())",
    "TextEquals()",
    "TextEquals($B$6)",
    "GreaterThan($E$13)",
    "GreaterThan(13 Days)",
    "TextContains(asc.em-direct@dupont.com)",
    "TextEquals(Y(SH))",
    "TextContains(a, b and c)",
    "Equals(0)",
    # column style: c[K], quoted text, LEN
    "GreaterThan(c[1], 900000)",
    "TextContains(c[1], 'L compatible')",
    "Between(c[0], 9, 18)",
    "GreaterThan(c[2], c[1])",
    "GreaterThan(LEN(c[0]), 6)",
    'StartsWith(c[0], "ab")',
    "EndsWith(c[2], 'z')",
    "Bottom(c[1])",
    "TopPercent(c[1], 10)",
    "Duplicates(c[0])",
    "AND(GreaterThan(c[1], 5), NOT(Blanks(c[2])), TextContains(c[0], '東京'))",
]

INVALID = [
    ("", "empty rule"),
    ("--", "expected a function name"),
    ("Foo(1)", "unknown function 'Foo'"),
    ("textequals(x)", "unknown function"),
    ("SUMPRODUCT(($D4<=$E$4:$E$8)*($E4>=$D$4:$D$8))>1", "unknown function 'SUMPRODUCT'"),
    ("$A2=$A3", "expected a function name"),
    ("GreaterThan(1, 2, 3)", "GreaterThan takes 1 or 2 arguments, got 3"),
    ("AND(GreaterThan(1))", "AND takes at least 2 arguments, got 1"),
    ("OR()", "OR takes at least 2 arguments, got 0"),
    ("NOT(GreaterThan(1), LessThan(2))", "NOT"),
    ("NOT(5)", "expected a function name"),
    ("top()", "top needs a number"),
    ("top(ten)", "top needs a number"),
    ("ColorScale(1)", "ColorScale"),
    ("Between(1)", "Between"),
    ("GreaterThan(", "missing a value"),
    ("TextEquals(abc", "unclosed text argument"),
    ("top(10) x", "unexpected text after the rule"),
    ("LEN(c[0])", "LEN gives a value, not a rule"),
    ("GreaterThan 5", "expected '(' after GreaterThan"),
    ("AND(GreaterThan(1) LessThan(2))", "expected ',' or ')'"),
    ("Blanks(c[x])", "Blanks"),
    ("if(NOT(isBlank($Sheet1!I2), make green, make red)", "unknown function 'if'"),
    ('LessThan(3",formula2:undefined,operator:ExcelScript.ConditionalCellValueOperator.lessThan,});', "LessThan"),
]


@pytest.mark.parametrize("code", VALID)
def test_valid_cf(code):
    verdict = check(code, "cf")
    assert verdict.valid, verdict.errors


@pytest.mark.parametrize("code, message", INVALID)
def test_invalid_cf(code, message):
    verdict = check(code, "cf")
    assert not verdict.valid
    assert len(verdict.errors) == 1
    assert message in verdict.errors[0].message
    assert verdict.errors[0].line >= 1 and verdict.errors[0].col >= 1


def test_train_style_text_runs_to_closing_parenthesis():
    call = parse("TextContains(a, b)")
    assert call == Call("TextContains", (Text("a, b", False, 13),), 0)
    assert parse("TextEquals(Y(SH))").args[0].value == "Y(SH)"


def test_column_style_tree():
    call = parse("GreaterThan(LEN(c[0]), 6)")
    assert call.name == "GreaterThan"
    length, six = call.args
    assert length == Call("LEN", (ColRef(0, 16),), 12)
    assert isinstance(six, Number) and six.value == 6
    quoted = parse("TextContains(c[1], 'L, compatible')").args[1]
    assert quoted == Text("L, compatible", True, 19)


def test_literals():
    assert parse("top(10%)").args[0] == Number(10.0, True, "10%", 4)
    assert parse("GreaterThan($E$13)").args[0] == CellRef("$E$13", 12)


def test_error_position_points_at_the_problem():
    with pytest.raises(CFSyntaxError) as info:
        parse("AND(GreaterThan(1), Foo(2))")
    assert info.value.pos == 20
    assert check("AND(GreaterThan(1), Foo(2))", "cf").errors[0].col == 21


def test_unknown_function_suggests_a_close_name():
    assert "did you mean TextEquals" in check("TextEqual(x)", "cf").errors[0].message


@pytest.mark.parametrize(
    "code, normal",
    [
        ("Between(400, 800)", "Between(400,800)"),
        ("  OR(TextEquals(p),   TextEquals(ul)) ", "OR(TextEquals(p),TextEquals(ul))"),
        ("TextContains(c[1],   'a,  b')", "TextContains(c[1],'a,  b')"),
        ("TextContains(a,  b)", "TextContains(a,  b)"),  # unquoted text keeps its spaces
        ("Foo(1,  'x,  y')", "Foo(1,'x,  y')"),  # not a rule: only spaces after commas outside quotes go
    ],
)
def test_normalize_cf(code, normal):
    assert normalize_cf(code) == normal
    if check(normal, "cf").valid:
        assert unparse(parse(normal)) == normal
