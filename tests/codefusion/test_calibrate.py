"""codefusion.evaluation.calibrate: hit rates by rank and source, stored in the checkpoint."""

import json
import shutil
import subprocess
import sys

import pytest

from codefusion.evaluation.calibrate import rates, table


def _item(lang, hits):
    key = {"bash": "template", "cf": "execution", "python": "bleu"}[lang]
    return {"lang": lang, "raw_candidates": [{"hits": {key: h, "exact": False}} for h in hits]}


def test_rates_are_per_rank_means_of_the_primary_metric():
    items = [_item("bash", [True, False, True]), _item("bash", [False, False]), _item("python", [0.5, 0.1, 0.0])]
    r = rates(items, k=3)
    assert r["bash"] == [0.5, 0.0, 1.0]  # rank 3 seen once, a hit
    assert r["python"] == [0.5, 0.1, 0.0]


def test_cli_writes_the_table_into_the_checkpoint(untrained_ckpt, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(untrained_ckpt, ckpt)
    m, rr = tmp_path / "m.items.jsonl", tmp_path / "r.items.jsonl"
    m.write_text(json.dumps(_item("bash", [True, False])) + "\n")
    rr.write_text(json.dumps(_item("bash", [False, True])) + "\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "calibrate",
            "--checkpoint",
            str(ckpt),
            "--model-items",
            str(m),
            "--retrieval-items",
            str(rr),
            "-k",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    cal = json.loads((ckpt / "config.json").read_text())["calibration"]
    assert cal == {"model": {"bash": [1.0, 0.0]}, "retrieval": {"bash": [0.0, 1.0]}, "model_first": []}


def _paired(lang, line, cands):
    key = {"bash": "template", "cf": "execution", "python": "bleu"}[lang]
    return {
        "lang": lang,
        "line": line,
        "raw_candidates": [{"code": c, "valid": True, "hits": {key: h, "exact": False}} for c, h in cands],
    }


def test_model_first_where_interleaving_by_marginal_rates_loses_on_the_same_items():
    """CF: the model's second candidate is right only where the exemplars are all wrong; its marginal
    rate is below the retrieved examples', so interleaving shows them instead and loses the hit.
    Bash: the retrieved examples add hits the model's second candidates lack; interleaving stays."""
    cf_model = [
        _paired("cf", 1, [("A", True), ("N1", False)]),
        _paired("cf", 2, [("B", False), ("N2", True)]),
        _paired("cf", 3, [("C", True), ("N3", False)]),
    ]
    cf_ret = [
        _paired("cf", 1, [("A", True), ("R1", True)]),
        _paired("cf", 2, [("B", False), ("R2", False)]),
        _paired("cf", 3, [("C", True), ("R3", True)]),
    ]
    bash_model = [
        _paired("bash", 1, [("ls", True), ("ls -x", False)]),
        _paired("bash", 2, [("du", False), ("du -x", False)]),
    ]
    bash_ret = [
        _paired("bash", 1, [("ls", True), ("ls -a", False)]),
        _paired("bash", 2, [("du", False), ("du -sh", True)]),
    ]
    t = table(cf_model + bash_model, cf_ret + bash_ret, k=2)
    assert t["model"]["cf"] == pytest.approx([2 / 3, 1 / 3], abs=1e-3)
    assert t["retrieval"]["cf"] == pytest.approx([2 / 3, 2 / 3], abs=1e-3)
    assert t["model_first"] == ["cf"]
