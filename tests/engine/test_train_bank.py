"""Training exemplars from a shipped-style bank (train --exemplar-bank): leave-one-page-out."""

import json

import pytest

from engine.data import Example
from engine.train import leave_page_out

ROWS = [
    {"nl": "show the last lines of a file", "code": "tail path/to/file", "lang": "bash", "page": "tail"},
    {
        "nl": "show the last count lines of a file",
        "code": "tail --lines count path/to/file",
        "lang": "bash",
        "page": "tail",
    },
    {"nl": "show the first lines of a file", "code": "head path/to/file", "lang": "bash", "page": "head"},
    {
        "nl": "show the first count lines of a file",
        "code": "head --lines count path/to/file",
        "lang": "bash",
        "page": "head",
    },
    {"nl": "count the lines of a file", "code": "wc --lines path/to/file", "lang": "bash", "page": "wc"},
]


def test_a_bank_row_never_meets_its_own_page():
    target = Example("show the last count lines of a file", "tail --lines count path/to/file", "bash")
    (codes,) = leave_page_out([target], ROWS, 3)
    assert codes and not any(c.startswith("tail") for c in codes)
    assert codes[0].startswith("head --lines")  # the nearest other page


def test_a_concrete_pair_gets_the_templates_of_its_command():
    target = Example("print the last 20 lines of server.log", "tail -n 20 server.log", "bash")
    (codes,) = leave_page_out([target], ROWS, 2)
    assert "tail --lines count path/to/file" in codes


@pytest.mark.slow
def test_training_with_a_bank_runs(tmp_path):
    from engine.train import TrainArgs, train

    bank = tmp_path / "bank.jsonl"
    bank.write_text("\n".join(json.dumps(r) for r in ROWS))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps({"nl": f"print the last {n} lines of f{n}.log", "code": f"tail -n {n} f{n}.log", "lang": "bash"})
            for n in range(2, 14)
        )
    )
    out = train(
        TrainArgs(
            config="tiny",
            data=[str(pairs)],
            out=str(tmp_path / "m"),
            device="cpu",
            max_steps=3,
            progress=False,
            model_overrides={"exemplars": "2"},
            exemplar_bank=[str(bank)],
        )
    )
    assert (out / "model.safetensors").exists()
