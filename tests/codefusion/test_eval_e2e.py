"""`eval` end to end with a real tiny checkpoint (engine.testing.tiny_checkpoint)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def checkpoint(request, tmp_path_factory):
    """The session's shared tiny checkpoint (tests/conftest.py `tiny_ckpt`), else one built here."""
    try:
        return Path(request.getfixturevalue("tiny_ckpt"))
    except pytest.FixtureLookupError:
        from engine.testing import tiny_checkpoint

        return Path(tiny_checkpoint(tmp_path_factory.mktemp("grammar-tiny")))


def check_eval_report(ckpt: Path, dev_file: Path, out: Path) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "eval",
            "--checkpoint",
            str(ckpt),
            "--data",
            str(dev_file),
            "-k",
            "3",
            "--steps",
            "2",
            "4",
            "--device",
            "cpu",
            "--seed",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["source"]["kind"] in ("diffusion", "ar")
    runs = report["runs"]
    assert sorted((r["lang"], r["steps"]) for r in runs) == sorted(
        (lang, s) for lang in ("bash", "python", "cf") for s in (2, 4)
    )
    for r in runs:
        acc = r["accuracy"]["pipeline"]
        names = {
            "bash": {"template_match", "exact_match"},
            "cf": {"execution_match", "execution_match_mixed", "exact_match", "execution_fallbacks"},
            "python": {"exact_match", "bleu", "codebertscore"},
        }[r["lang"]]
        assert names <= set(acc), (r["lang"], acc.keys())
        for name in names - {"execution_fallbacks", "codebertscore"}:
            assert set(acc[name]) >= {"top1", "top3", "top5"}
            assert 0.0 <= acc[name]["top1"] <= acc[name]["top3"] <= acc[name]["top5"] <= 100.0
        assert set(r["validity"]["before"]) == set(r["validity"]["after"]) == {"top1", "all"}
        assert set(r["diversity"]) == {"distinct_per_query", "mean_pairwise_edit_distance", "distinct_4gram_ratio"}
        assert 1.0 <= r["diversity"]["distinct_per_query"] <= 3.0
        assert r["speed"]["latency_p50_s"] > 0 and r["speed"]["candidates_per_s"] > 0
        assert r["speed"]["latency_p50_s"] <= r["speed"]["latency_p95_s"]
    items = [json.loads(line) for line in out.with_name(out.stem + ".items.jsonl").read_text().splitlines()]
    assert len(items) == 2 * 7
    assert all(len(it["raw_candidates"]) == 3 for it in items)
    for name in ("_accuracy_vs_steps.png", "_latency_vs_steps.png"):
        assert out.with_name(out.stem + name).stat().st_size > 1000
    assert "| latency p50 (s) |" in out.with_suffix(".md").read_text()
    return report


@pytest.mark.slow
def test_eval_end_to_end_with_tiny_checkpoint(checkpoint, dev_file, tmp_path):
    check_eval_report(checkpoint, dev_file, tmp_path / "report.json")
