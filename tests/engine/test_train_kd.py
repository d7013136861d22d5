"""Distilled targets (Example.kd): rows trained without exemplars learn the teacher's program, rows
with exemplars the reference."""

import json

import torch

from engine.config import load_config
from engine.data import Example, load_pairs
from engine.tokenizer import CodeTokenizer
from engine.train import _batch, _tensorize


def test_load_pairs_reads_the_distilled_program(tmp_path):
    f = tmp_path / "kd.jsonl"
    rows = [
        {"nl": "list files", "code": "ls -la", "lang": "bash", "kd": "ls -l"},
        {"nl": "show disk use", "code": "du -sh .", "lang": "bash"},
        {"nl": "count lines", "code": "wc -l f", "lang": "bash", "kd": "  "},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    assert [e.kd for e in load_pairs([f])] == ["ls -l", "", ""]


def test_rows_without_exemplars_train_on_the_distilled_program():
    torch.manual_seed(0)
    mcfg, tcfg = load_config("tiny")
    tok = CodeTokenizer.train(["ls -la", "ls -l", "du -sh .", "wc -l f"] * 20, vocab_size=300)
    examples = [Example(f"list files {i}", "ls -la", "bash", "ls -l") for i in range(32)]
    data = _tensorize(examples, tok, mcfg, "finetune", "<mask>")
    assert "kd_ids" in data and not torch.equal(data["kd_ids"], data["ids"])
    data["weights"] = torch.ones(len(examples))
    ref, kd = data["ids"][0], data["kd_ids"][0]
    # no exemplars in the data: every row is a no-bank row
    y = _batch(data, torch.arange(32), tcfg, mcfg, "cpu")[0]
    assert all(torch.equal(row, kd) for row in y)
    # with an exemplar pool and dropout 0.5: exemplar rows keep the reference, the others take kd
    mcfg.exemplars, tcfg.exemplar_dropout = 1, 0.5
    data["ex"] = data["ids"][:, None, :].clone()  # (B, P=1, Lc)
    y, _, uncond, _, _, _, ex, *_ = _batch(data, torch.arange(32), tcfg, mcfg, "cpu")
    has = ex.ne(0).any(-1).any(-1)
    assert 0 < int(has.sum()) < 32
    for row, h in zip(y, has):
        assert torch.equal(row, ref if h else kd)
    # without kd the targets are the references whatever the exemplars
    plain = _tensorize([Example("list files", "ls -la", "bash")], tok, mcfg, "finetune", "<mask>")
    assert "kd_ids" not in plain
