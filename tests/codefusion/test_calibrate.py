"""codefusion.evaluation.calibrate: hit rates by rank and source, stored in the checkpoint."""
import json
import shutil
import subprocess
import sys

from codefusion.evaluation.calibrate import rates


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
    r = subprocess.run([sys.executable, "-m", "codefusion", "calibrate", "--checkpoint", str(ckpt), "--model-items",
                        str(m), "--retrieval-items", str(rr), "-k", "2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cal = json.loads((ckpt / "config.json").read_text())["calibration"]
    assert cal == {"model": {"bash": [1.0, 0.0]}, "retrieval": {"bash": [0.0, 1.0]}}
