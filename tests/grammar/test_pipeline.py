"""The candidate pipeline: normalisation, dedup, ranking, hide/rank_last, danger warnings."""

from dataclasses import dataclass

import pytest

from engine.api import Candidate
from grammar.normalize import normalize
from grammar.pipeline import process


@pytest.mark.parametrize(
    "code, lang, normal",
    [
        ("  ls    -la   /tmp  ", "bash", "ls -la /tmp"),
        ("echo 'a    b'   |  wc", "bash", "echo 'a    b' | wc"),  # quotes keep their spaces
        ('echo "x  \\"  y"   z', "bash", 'echo "x  \\"  y" z'),
        ("for f in *; do\n    echo   $f\ndone", "bash", "for f in *; do\necho $f\ndone"),
        ("cat <<EOF\na    b\nEOF", "bash", "cat <<EOF\na    b\nEOF"),  # heredoc bodies untouched
        ("def f():\n    return  1   \n\n", "python", "def f():\n    return  1"),  # indentation kept
        (" Between(1,   2) ", "cf", "Between(1,2)"),
    ],
)
def test_normalize(code, lang, normal):
    assert normalize(code, lang) == normal


@pytest.mark.parametrize(
    "code, lang, normal",
    [
        ("sed -i ‘s/foo/bar/g’ file.txt", "bash", "sed -i 's/foo/bar/g' file.txt"),  # a curly pair quotes
        ("echo “hello world”", "bash", 'echo "hello world"'),
        ("echo “it’s”", "bash", 'echo "it’s"'),  # inside a string: data
        ("echo 'It’s — fine…'", "bash", "echo 'It’s — fine…'"),
        ("ls —all –l", "bash", "ls --all -l"),  # autocorrect's em dash was "--", the en dash "-"
        ("grep\u00a0-r\u2009foo\u200b .", "bash", "grep -r foo ."),  # no-break and thin spaces, a zero-width space
        ("tail -n 5 log…", "bash", "tail -n 5 log..."),
        ("cat <<EOF\n‘kept’\nEOF\necho ‘x’", "bash", "cat <<EOF\n‘kept’\nEOF\necho 'x'"),  # heredoc bodies are data
        ("cat <<< ‘x’", "bash", "cat <<< 'x'"),
        ("# it’s a comment\nls", "bash", "# it’s a comment\nls"),
        ("print(“hello”)", "python", 'print("hello")'),
        ("x = ‘a’ + ‘b’", "python", "x = 'a' + 'b'"),
        ("s = 'it’s – ok'  # “note”", "python", "s = 'it’s – ok'  # “note”"),
        ('doc = """a ‘b’\nc"""\nprint(‘z’)', "python", 'doc = """a ‘b’\nc"""\nprint(\'z\')'),
        ("y = a\u00a0−\u00a0b", "python", "y = a - b"),
        ("TextContains(“x”)", "cf", "TextContains(“x”)"),  # CF text is the user's: not touched
    ],
)
def test_typographic_characters_become_ascii_in_bash_and_python(code, lang, normal):
    assert normalize(code, lang) == normal


def test_a_curly_quoted_candidate_parses_and_merges_with_its_ascii_twin():
    result = process([Candidate("echo ‘a  b’", -1.0), Candidate("echo 'a  b'", -2.0)], "bash", k=5)
    assert [c.code for c in result.candidates] == ["echo 'a  b'"] and result.candidates[0].valid


def test_exact_and_normalised_duplicates_keep_best_score():
    cands = [Candidate("ls  -la", -1.0), Candidate("ls -la", -0.5), Candidate("ls -la", -3.0), Candidate("pwd", -2.0)]
    result = process(cands, "bash", k=5)
    assert [c.code for c in result.candidates] == ["ls -la", "pwd"]
    assert result.candidates[0].score == -0.5
    assert (result.n_raw, result.n_duplicates, result.n_invalid) == (4, 2, 0)


def test_rank_by_validity_then_score_and_cap():
    cands = [
        Candidate("if then", -0.1),
        Candidate("ls", -2.0),
        Candidate("pwd", -1.0),
        Candidate("echo 'x", -0.2),
        Candidate("whoami", -3.0),
    ]
    result = process(cands, "bash", k=3)
    assert [c.code for c in result.candidates] == ["pwd", "ls", "whoami"]
    assert all(c.valid for c in result.candidates)
    full = process(cands, "bash", k=5)
    assert [c.code for c in full.candidates] == ["pwd", "ls", "whoami", "if then", "echo 'x"]
    assert [c.valid for c in full.candidates] == [True, True, True, False, False]
    assert full.candidates[3].errors and full.n_invalid == 2


def test_ties_keep_engine_order():
    result = process([Candidate("b", 0.0), Candidate("a", 0.0)], "bash", k=5)
    assert [c.code for c in result.candidates] == ["b", "a"]


def test_hide_mode_drops_invalid():
    cands = [Candidate("x = (", -0.1), Candidate("x = 1", -1.0)]
    result = process(cands, "python", k=5, invalid_mode="hide")
    assert [c.code for c in result.candidates] == ["x = 1"]
    assert result.message is None


def test_hide_mode_never_silently_returns_nothing():
    cands = [Candidate("x = (", -0.1), Candidate("def (", -1.0)]
    result = process(cands, "python", k=5, invalid_mode="hide")
    assert len(result.candidates) == 2 and not any(c.valid for c in result.candidates)
    assert "syntax errors" in result.message


def test_empty_inputs_have_a_message():
    assert process([], "bash", k=5).message == "the model returned no candidates"
    result = process([Candidate("   ", 0.0)], "bash", k=5)
    assert result.candidates == [] and result.message == "every candidate was empty"


def test_dangerous_candidates_carry_warnings():
    result = process([Candidate("rm -rf /", -0.1), Candidate("ls", -0.2)], "bash", k=5)
    assert result.candidates[0].warnings == ["deletes / recursively"]
    assert result.candidates[1].warnings == []


def test_source_is_kept_and_any_object_with_code_and_score_works():
    @dataclass
    class Raw:
        code: str
        score: float

    result = process([Raw("pwd", 1.0), Candidate("ls", 0.5, source="retrieval")], "bash", k=5)
    assert [(c.code, c.source) for c in result.candidates] == [("pwd", "model"), ("ls", "retrieval")]


def test_model_candidate_equal_to_a_retrieved_example_stays_the_models():
    result = process(
        [
            Candidate("ls  -la", -0.3),
            Candidate("ls -la", 1.0, source="retrieval"),
            Candidate("pwd", 0.9, source="retrieval"),
            Candidate("pwd", 0.2, source="retrieval"),
        ],
        "bash",
        k=5,
    )
    got = [(c.code, c.score, c.source, c.also_retrieved) for c in result.candidates]
    # one copy each, the better score; the model's output keeps its attribution
    assert got == [("ls -la", 1.0, "model", True), ("pwd", 0.9, "retrieval", False)]
    assert result.n_duplicates == 2


def test_cf_candidates_are_normalised_and_checked():
    result = process(
        [Candidate("Between(1, 2)", -1.0), Candidate("Between(1,2)", -0.5), Candidate("Foo(1)", 0.0)], "cf", k=5
    )
    assert [c.code for c in result.candidates] == ["Between(1,2)", "Foo(1)"]
    assert result.candidates[1].errors[0].message.startswith("unknown function")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lang": "ruby", "k": 5}, "unknown language"),
        ({"lang": "bash", "k": 5, "invalid_mode": "drop"}, "invalid_mode"),
        ({"lang": "bash", "k": 0}, "k must be"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        process([Candidate("ls", 0.0)], **kwargs)
