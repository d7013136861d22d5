"""The tiny model, trained with the shipped recipe, must read x_t: `codefusion diagnose` on its
training pairs shows N's own estimate recovering >= 95 % of content tokens at the top noise
level and far more than from pure noise.

The pairs are built so that the NL names only the command: its flag and file are drawn at
random, so from pure noise a model can get the command and little else, and everything above
that has to come from x_t (a model that memorises its pairs from the NL alone cannot pass).
"""

import random

import pytest

pytestmark = pytest.mark.slow

CMDS = {
    "ls": "list",
    "grep": "search",
    "find": "find",
    "wc": "count",
    "cat": "print",
    "sort": "sort",
    "head": "show the start of",
    "du": "measure",
}
FILES = ["notes.txt", "data.csv", "log", "src", "a.py", "b.sh", "out.json", "tmp", "x.md", "y.c"]


def _pairs(n=400, seed=0):
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        cmd = rng.choice(sorted(CMDS))
        code = f"{cmd} -{rng.choice('abcdefghlnrv')} {rng.choice(FILES)}"
        pairs.append((f"{CMDS[cmd]} something", code, "bash"))
    return pairs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from engine.testing import tiny_checkpoint

    pairs = _pairs()
    ckpt = tiny_checkpoint(tmp_path_factory.mktemp("xt"), steps=700, pairs=pairs, batch_size=64)
    return ckpt, [{"nl": nl, "code": code, "lang": lang} for nl, code, lang in pairs]


def test_denoiser_reads_x_t_at_high_snr(trained):
    from engine import checkpoint
    from engine.diagnose import diagnose

    ckpt, rows = trained
    res = diagnose(checkpoint.load(ckpt, "cpu"), rows[:128], "cpu", step_counts=(1, 3))
    levels = {r["token_snr"]: r for r in res["by_level"]}
    top, noise = levels[max(levels)], levels[min(levels)]
    assert top["N"] >= 0.95, res["by_level"]
    assert top["N"] >= noise["N"] + 0.3, res["by_level"]  # what N adds at high SNR comes from x_t
    for r in res["by_level"]:
        if r["token_snr"] > 5:
            assert r["N"] >= r["x_t alone"] - 0.02, r  # never below what x_t gives for free
    assert res["verdict"]["top_ok"]
