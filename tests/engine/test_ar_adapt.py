"""An AR decoder adapted into CodeFusion's N (engine.ar_model.diffusion_from_ar, ar_shift + score_interp)."""

import dataclasses

import pytest
import torch

import engine.model as em
from engine.ar_model import BOS_ID, ARModel, diffusion_from_ar
from engine.config import load_config
from engine.schedule import make_schedule


def _cfgs():
    m, _ = load_config("tiny")
    m.vocab_size, m.encoder_dim, m.d_model, m.dropout, m.exemplars = 50, 24, 64, 0.0, 0
    ar = dataclasses.replace(m, kind="ar", ar_layers=3)
    diff = dataclasses.replace(
        m, denoiser_layers=3, decoder_layers=0, ar_shift=True, score_interp=True, skip=False, skip_posterior=False
    )
    return ar, diff


def _mem(model, B, cfg):
    enc = torch.randn(B, 5, cfg.encoder_dim)
    return model.cond(enc, torch.ones(B, 5, dtype=torch.bool), torch.zeros(B, dtype=torch.long))


def test_adapted_n_with_causal_attention_on_a_clean_program_computes_the_ar_next_token_logits(monkeypatch):
    torch.manual_seed(0)
    ar_cfg, cfg = _cfgs()
    ar = ARModel(ar_cfg).eval()
    m = diffusion_from_ar(ar, cfg).eval()
    B, L = 2, cfg.code_max_len
    y = torch.randint(2, cfg.vocab_size, (B, L))
    mem, mask = _mem(ar, B, ar_cfg)
    with torch.no_grad():
        ar_logits = ar(torch.cat([torch.full_like(y[:, :1], BOS_ID), y[:, :-1]], 1), mem, mask)  # (B, L, V)
        t = torch.ones(B, dtype=torch.long)
        ab = m.alpha_bar[1]
        x_t = m.embed_tokens(y) * ab.sqrt()  # the clean program at t = 1, no noise: its posterior is one-hot
        assert (m.token_posterior(x_t, t).argmax(-1) == y).all()
        bidir = m.denoise(x_t, t, mem, mask, return_logits=True)[1]
        orig = em.Block.forward
        monkeypatch.setattr(
            em.Block,
            "forward",
            lambda self, x, mem=None, mem_mask=None, **kw: orig(self, x, mem, mem_mask, causal=True),
        )
        causal = m.denoise(x_t, t, mem, mask, return_logits=True)[1]
    assert torch.allclose(causal, ar_logits, atol=1e-3)  # the AR function, shifted: output p = token p
    assert not torch.allclose(bidir, ar_logits, atol=1e-2)  # both-way attention is what training adapts


def test_ar_shift_score_interp_model_trains_and_its_estimate_is_a_mix_of_token_embeddings():
    torch.manual_seed(0)
    _, cfg = _cfgs()
    m = em.CodeFusion(cfg)
    assert m.pos.shape[1] == cfg.code_max_len + 1 and not hasattr(m, "den_out")
    B, L = 3, cfg.code_max_len
    mem, mask = _mem(m, B, cfg)
    y = torch.randint(0, cfg.vocab_size, (B, L))
    sched = make_schedule(cfg)
    x0_hat, logits = m.denoise(
        torch.randn(B, L, cfg.d_model), torch.tensor([1, 500, 1200]), mem, mask, None, None, True
    )
    assert logits.shape == (B, L, cfg.vocab_size)
    assert torch.allclose(x0_hat, torch.softmax(logits, -1) @ m.table(), atol=1e-5)
    loss, parts = m.loss(y, mem, mask, torch.tensor([1, 500, 1200]), sched)
    assert "ce_n" in parts and torch.isfinite(loss)
    loss.backward()
    assert m.den_head.weight.grad.abs().sum() > 0 and m.start.grad.abs().sum() > 0
    m.set_code_length(L - 2)
    assert m.pos.shape[1] == L - 1 and m.dec_pos.shape[1] == L - 2


def test_diffusion_from_ar_refuses_a_config_that_does_not_fit():
    ar_cfg, cfg = _cfgs()
    with pytest.raises(ValueError, match="denoiser_layers"):
        diffusion_from_ar(ARModel(ar_cfg), dataclasses.replace(cfg, denoiser_layers=2))
    with pytest.raises(ValueError, match="d_model"):
        diffusion_from_ar(ARModel(ar_cfg), dataclasses.replace(cfg, d_model=32))
