"""CUDA paths (skipped without a GPU; CI has none): generation and a training step on the GPU."""

import pytest
import torch

from engine.api import load_generator

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_generate_on_cuda_matches_cpu_shape_and_determinism(tiny_ckpt):
    g = load_generator(tiny_ckpt, "cuda")
    a = g.generate("find all python files", "bash", k=3, seed=5)
    b = g.generate("find all python files", "bash", k=3, seed=5)
    assert len(a) == 3 and [c.code for c in a] == [c.code for c in b]
    cpu = load_generator(tiny_ckpt, "cpu").generate("find all python files", "bash", k=3, seed=5)
    assert a[0].code == cpu[0].code  # the same noise seeds on both devices


def test_train_steps_on_cuda_with_bf16(tmp_path):
    from engine.testing import write_pairs
    from engine.train import TrainArgs, train

    data = write_pairs(tmp_path / "p.jsonl")
    out = train(
        TrainArgs(config="tiny", data=[str(data)], out=str(tmp_path / "ck"), device="cuda", max_steps=5, progress=False)
    )
    assert (out / "model.safetensors").exists()
