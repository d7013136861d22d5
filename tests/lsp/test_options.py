"""lsp.options: settings parsing, fallbacks and messages (table-driven)."""

import pytest

from lsp.options import Options, parse_options

D = Options()


@pytest.mark.parametrize(
    "raw,field,value,n_warnings",
    [
        (None, "k", 5, 0),
        ({}, "k", 5, 0),
        ({"k": 3}, "k", 3, 0),
        ({"codefusion": {"k": 7}}, "k", 7, 0),
        ({"k": 0}, "k", 5, 1),
        ({"k": 21}, "k", 5, 1),
        ({"k": True}, "k", 5, 1),
        ({"k": "3"}, "k", 5, 1),
        ({"steps": None}, "steps", None, 0),
        ({"steps": 1200}, "steps", 1200, 0),
        ({"steps": 1201}, "steps", None, 1),
        ({"steps": 2.5}, "steps", None, 1),
        ({"checkpoint": ""}, "checkpoint", None, 0),
        ({"checkpoint": "/x/y"}, "checkpoint", "/x/y", 0),
        ({"checkpoint": 3}, "checkpoint", None, 1),
        ({"device": "cuda"}, "device", "cuda", 0),
        ({"device": "tpu"}, "device", "auto", 1),
        ({"invalidMode": "hide"}, "invalid_mode", "hide", 0),
        ({"invalidMode": "drop"}, "invalid_mode", "rank_last", 1),
        ({"maxCommentLength": 10}, "max_comment_length", 10, 0),
        ({"maxCommentLength": -1}, "max_comment_length", 2000, 1),
        ({"languages": ["python"]}, "languages", ("python",), 0),
        ({"languages": ["python", "zsh"]}, "languages", ("python",), 1),
        ({"languages": "python"}, "languages", D.languages, 1),
        ({"retrieval": True}, "retrieval", True, 0),
        ({"retrieval": "yes"}, "retrieval", True, 1),
        ("nonsense", "k", 5, 1),
    ],
)
def test_parse_options(raw, field, value, n_warnings):
    options, warnings, _ = parse_options(raw)
    assert getattr(options, field) == value
    assert len(warnings) == n_warnings
    for w in warnings:
        assert "codefusion" in w.lower()


def test_warning_names_the_key_and_the_default():
    _, warnings, _ = parse_options({"k": 99})
    assert warnings == ["codefusion.k: 99 is not an integer 1..20; using the default 5"]


def test_unknown_keys_are_notes_not_warnings():
    options, warnings, notes = parse_options({"serverPath": "x", "k": 2})
    assert options.k == 2 and warnings == [] and notes == ["unknown setting codefusion.serverPath ignored"]


def test_missing_keys_fall_back_to_defaults():
    options, _, _ = parse_options({"k": 2})
    assert options == Options(k=2)


@pytest.mark.parametrize(
    "language_id,languages,expected",
    [
        ("python", D.languages, "python"),
        ("shellscript", D.languages, "bash"),
        ("sh", D.languages, "bash"),
        ("bash", D.languages, "bash"),
        ("cfrule", D.languages, "cf"),
        ("javascript", D.languages, None),
        ("python", ("sh",), None),
    ],
)
def test_engine_language(language_id, languages, expected):
    assert Options(languages=languages).engine_language(language_id) == expected


def test_model_key_and_device():
    assert Options(device="auto").load_device is None
    assert Options(device="cpu").load_device == "cpu"
    assert Options(k=3).model_key == Options(k=9).model_key
    assert Options(checkpoint="a").model_key != Options(checkpoint="b").model_key


@pytest.mark.parametrize("raw", [{"codefusion": "k=3"}, {"codefusion": [1, 2]}, {"codefusion": 5}, "k=3", [1]])
def test_settings_of_the_wrong_shape_warn(raw):
    options, warnings, _ = parse_options(raw)
    assert options == Options() and len(warnings) == 1 and "must be an object" in warnings[0]
