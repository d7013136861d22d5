"""Exemplar conditioning: leave-one-out neighbours, the memory layout, the draw of exemplars in
training, and sampling that starts from a noised exemplar."""

import pytest
import torch

from engine.ar_model import ARModel
from engine.config import load_config
from engine.model import CodeFusion, trim_exemplars
from engine.retrieval import Retriever, normalise_nl
from engine.tokenizer import PAD_ID
from engine.train import _pick_exemplars

RECORDS = [
    {"nl": "list all files", "code": "ls -la", "lang": "bash"},
    {"nl": "List all files.", "code": "ls -a", "lang": "bash"},  # the same request, normalised
    {"nl": "list all files sorted by size", "code": "ls -lS", "lang": "bash"},
    {"nl": "list files by date", "code": "ls -lt", "lang": "bash"},
    {"nl": "count lines in a file", "code": "wc -l f", "lang": "bash"},
    {"nl": "count words in a file", "code": "wc -w f", "lang": "bash"},
    {"nl": "reverse a list", "code": "x[::-1]", "lang": "python"},
]


def _cfg(m=2):
    c, _ = load_config("tiny")
    c.vocab_size, c.encoder_dim, c.exemplars = 100, 24, m
    return c


def test_leave_one_out_never_returns_the_item_or_a_duplicate_of_its_nl():
    bank = Retriever(RECORDS)
    assert normalise_nl(" List  all files.") == "list all files"
    nls = ["list all files", "count lines in a file"]
    got = bank.exemplars_loo(nls, "bash", 3)
    assert "ls -la" not in got[0] and "ls -a" not in got[0]  # itself and its normalised duplicate
    assert got[0][0] == "ls -lS" and len(got[0]) == 3 and len(set(got[0])) == 3
    assert got[1][0] == "wc -w f" and "wc -l f" not in got[1]
    assert bank.exemplars_loo(["x"], "cf", 2) == [[]]  # no index for the language


def test_search_many_equals_search():
    bank = Retriever(RECORDS)
    idx = bank._index["bash"]
    for q, hits in zip(["list files", "count words"], idx.search_many(["list files", "count words"], 3)):
        ref = idx.search(q, 3)
        assert [i for i, _ in hits] == [i for i, _ in ref]
        assert all(abs(a - b) < 1e-9 for (_, a), (_, b) in zip(hits, ref))


def test_memory_appends_exemplar_tokens_after_the_nl_and_masks_padding():
    torch.manual_seed(0)
    cfg = _cfg(m=2)
    for model in (CodeFusion(cfg).eval(), ARModel(cfg).eval()):
        enc, mask = torch.randn(2, 5, cfg.encoder_dim), torch.ones(2, 5, dtype=torch.bool)
        lang = torch.zeros(2, dtype=torch.long)
        ex = torch.zeros(2, 2, cfg.code_max_len, dtype=torch.long)
        ex[0, 0, :3] = torch.tensor([7, 8, 1])
        ex[0, 1, :4] = torch.tensor([9, 9, 9, 1])
        ex[1, 0, :2] = torch.tensor([5, 1])  # second row: one exemplar, one absent
        mem, mm = model.memory(enc, mask, lang, ex)
        assert mem.shape == (2, 1 + 5 + 2 * 4, cfg.d_model)  # trimmed to the longest exemplar (4)
        assert mm[0].sum() == 1 + 5 + 3 + 4 and mm[1].sum() == 1 + 5 + 2
        base, bm = model.memory(enc, mask, lang, None)
        assert torch.equal(mem[:, :6], base) and base.shape[1] == 6
    assert trim_exemplars(torch.zeros(1, 2, 9, dtype=torch.long)).shape == (1, 2, 1)


def test_exemplars_change_what_the_denoiser_sees():
    torch.manual_seed(0)
    cfg = _cfg(m=1)
    model = CodeFusion(cfg).eval()
    enc, mask = torch.randn(1, 5, cfg.encoder_dim), torch.ones(1, 5, dtype=torch.bool)
    lang = torch.zeros(1, dtype=torch.long)
    x_t, t = torch.randn(1, cfg.code_max_len, cfg.d_model), torch.tensor([600])
    outs = []
    for code in ([7, 8, 1], [30, 31, 32, 1]):
        ex = torch.zeros(1, 1, cfg.code_max_len, dtype=torch.long)
        ex[0, 0, : len(code)] = torch.tensor(code)
        outs.append(model.denoise(x_t, t, *model.memory(enc, mask, lang, ex)))
    assert not torch.allclose(outs[0], outs[1])


def test_pick_exemplars_draws_m_in_rank_order_and_drops_rows():
    torch.manual_seed(0)
    P, L = 4, 6
    pool = torch.arange(1, P + 1)[None, :, None].expand(8, P, L).clone() + 10  # row j holds 11+j
    drop = torch.zeros(8, dtype=torch.bool)
    drop[0] = True
    ex = _pick_exemplars(pool, 2, 0.0, drop)
    assert ex.shape == (8, 2, L)
    assert torch.all(ex[0] == PAD_ID)  # NL dropped: no exemplars
    firsts = ex[1:, :, 0]
    assert torch.all(firsts[:, 0] < firsts[:, 1])  # rank order kept, no repeats
    assert len({tuple(r) for r in firsts.tolist()}) > 1  # a draw, not always the top 2
    all_dropped = _pick_exemplars(pool, 2, 1.0, torch.zeros(8, dtype=torch.bool))
    assert torch.all(all_dropped == PAD_ID)


@pytest.mark.slow
def test_exemplar_model_trains_and_starts_from_a_noised_exemplar():
    """A tiny exemplar model end to end: trained with a leave-one-out pool, it loads its bank from
    the training file its config names; candidates start from the nearest programs, one each, and those started
    from the request's own program noised only slightly come back as that program."""
    from engine.api import load_generator
    from engine.testing import cached_tiny_checkpoint

    # TINY_PAIRS; the variant tests/codefusion/test_labels.py trains too: one training, cached
    ckpt = cached_tiny_checkpoint(steps=300, model_overrides={"exemplars": 2})
    gen = load_generator(ckpt, "cpu")
    assert gen.cfg.exemplars == 2 and gen.bank is not None
    ex = gen.exemplars_for("find all python files", "bash")
    assert len(ex) == 2 and ex[0] == "find . -name '*.py'"
    n = len(gen.exemplars_for("find all python files", "bash", 4))
    assert n >= 3
    near = gen.generate("find all python files", "bash", k=4, steps=2, seed=0, start_snr=1000.0)
    # k candidates start from the k nearest programs, one each
    assert [c.meta["exemplar"] for c in sorted(near, key=lambda c: c.meta["seed"])] == [i % n for i in range(4)]
    from_first = [c for c in near if c.meta["exemplar"] == 0]
    assert all(c.meta["copy"] and c.code == ex[0] for c in from_first), [c.code for c in near]
    again = gen.generate("find all python files", "bash", k=4, steps=2, seed=0, start_snr=1000.0)
    assert [(c.code, c.score) for c in near] == [(c.code, c.score) for c in again]
    gen.cfg.exemplar_rank_weight = 1000.0  # the score is dominated by the nearness of the start: retrieval order
    ranked = gen.generate("find all python files", "bash", k=4, steps=2, seed=0, start_snr=1000.0)
    firsts = [c.meta["exemplar"] for c in ranked]
    assert firsts[0] == 0 and firsts[:n] == sorted(firsts[:n])
    gen.cfg.exemplar_rank_weight = 0.0
    plain = gen.generate("find all python files", "bash", k=2, steps=2, seed=0, exemplars=[])
    assert all("copy" not in c.meta for c in plain)  # no exemplars given: none used


def test_exemplars_are_distinct_programs_searched_deep_enough():
    """Several training NLs share one program (a third of CF's nearest five): the exemplars, and
    so the k starts, are k different programs, best first, found by searching deeper."""
    from types import SimpleNamespace

    from engine.generator import Generator, distinct_programs

    assert distinct_programs([("ls  -a", 0.9), ("ls -a", 0.8), ("ls -l", 0.7), ("ls -a ", 0.6)]) == [
        ("ls  -a", 0.9),
        ("ls -l", 0.7),
    ]
    shared = [{"nl": f"show every file {w}", "code": "ls -a", "lang": "bash"} for w in ("now", "here", "please")]
    bank = Retriever(shared + RECORDS)
    me = SimpleNamespace(cfg=SimpleNamespace(exemplars=2), bank=bank)
    near = Generator._nearest(me, "show every file", "bash", 3)
    codes = [c for c, _ in near]
    assert codes[0] == "ls -a" and len(codes) == 3 and len(set(codes)) == 3
    assert [s for _, s in near] == sorted((s for _, s in near), reverse=True)
    assert [c for c, _ in Generator._nearest_batch(me, ["show every file"], ["bash"], [3])[0][:3]] == codes


def _cand(code, score):
    from engine.api import Candidate

    return Candidate(code, score, meta={})


def test_mix_starts_keeps_the_best_exemplar_starts_then_distinct_noise_starts():
    from engine.generator import mix_starts

    ex = [_cand("ls -a", -0.1), _cand("ls -a", -0.2), _cand("ls -l", -0.3), _cand("ls -t", -0.4), _cand("ls -S", -0.5)]
    noise = [
        _cand("ls -l", -0.05),
        _cand("du -sh", -0.6),
        _cand("du -sh ", -0.7),
        _cand("df -h", -0.9),
        _cand("wc", -1.0),
    ]
    got = mix_starts(ex, noise, 5, 2)
    assert [c.code for c in got] == ["ls -a", "ls -l", "ls -t", "du -sh", "df -h"]  # best first by score
    assert [c.meta["start"] for c in got] == ["exemplar", "exemplar", "exemplar", "noise", "noise"]
    # no noise slot: the exemplar starts, distinct, filled from the noise pass only when short of k
    assert [c.code for c in mix_starts(ex, noise, 5, 0)] == ["ls -a", "ls -l", "ls -t", "ls -S", "du -sh"]
    # fewer than k distinct programs in both passes: k all the same, duplicates last
    same = mix_starts([_cand("x", -1.0), _cand("x", -2.0)], [_cand("x", -0.5)], 3, 1)
    assert len(same) == 3 and {c.code for c in same} == {"x"}


def test_noise_slots_mix_a_pure_noise_pass_into_the_exemplar_starts(tmp_path):
    """An exemplar model with noise slots: of k candidates, `slots` come from the pass from pure noise
    (what start_snr=0 gives) and the rest from the exemplar starts (what the start level alone gives);
    a caller's own start level measures one kind of start; a batch gets what each request gets alone."""
    from engine.api import load_generator
    from engine.testing import untrained_checkpoint

    gen = load_generator(untrained_checkpoint(tmp_path, exemplars=2), "cpu")
    assert gen.cfg.exemplars == 2 and gen.bank is not None
    gen.cfg.exemplar_start_snr, gen.cfg.exemplar_start_snr_lang = 50.0, {}
    gen.cfg.exemplar_noise_slots_lang = {"bash": 2}
    nl = "find all python files"
    mixed = gen.generate(nl, "bash", k=4, steps=1, seed=3)
    assert len(mixed) == 4 and {c.meta["start"] for c in mixed} <= {"exemplar", "noise"}
    noise_codes = {c.code for c in gen.generate(nl, "bash", k=4, steps=1, seed=3, start_snr=0.0)}
    start_codes = {c.code for c in gen.generate(nl, "bash", k=4, steps=1, seed=3, start_snr=50.0)}
    assert all(c.code in (noise_codes if c.meta["start"] == "noise" else start_codes) for c in mixed)
    assert sum(c.meta["start"] == "noise" for c in mixed) >= min(2, len(noise_codes - start_codes))
    assert all("start" not in c.meta for c in gen.generate(nl, "bash", k=4, steps=1, seed=3, start_snr=50.0))
    # the request's own number (eval --noise-slots): none from noise
    assert all(c.meta.get("start") is None for c in gen.generate(nl, "bash", k=4, steps=1, seed=3, noise_slots=0))
    assert [
        c.code
        for c in gen.generate_many([{"nl": nl, "lang": "bash", "k": 4, "steps": 1, "seed": 3, "noise_slots": 0}])[0]
    ] == [c.code for c in gen.generate(nl, "bash", k=4, steps=1, seed=3, noise_slots=0)]
    many = gen.generate_many(
        [
            {"nl": nl, "lang": "bash", "k": 4, "steps": 1, "seed": 3},
            {"nl": "reverse a list", "lang": "python", "k": 2, "steps": 1},
        ]
    )
    assert [c.code for c in many[0]] == [c.code for c in mixed]
    assert [c.score for c in many[0]] == pytest.approx([c.score for c in mixed], abs=1e-5)
    alone = gen.generate("reverse a list", "python", k=2, steps=1)
    assert [c.code for c in many[1]] == [c.code for c in alone] and all("start" not in c.meta for c in alone)
