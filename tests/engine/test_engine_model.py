"""Shapes and gradients of the networks, on random tensors (no encoder, no I/O)."""

import torch

from engine.ar_model import ARModel, ar_generate
from engine.config import load_config
from engine.model import CodeFusion
from engine.schedule import SqrtSchedule


def _cfg():
    m, _ = load_config("tiny")
    m.vocab_size, m.encoder_dim = 100, 24
    m.x0_scale = 1.0  # unit-scale embeddings unless a test sets otherwise
    return m


def _mem(model, B, cfg):
    enc = torch.randn(B, 6, cfg.encoder_dim)
    mask = torch.ones(B, 6, dtype=torch.bool)
    mask[0, 4:] = False
    return model.cond(enc, mask, torch.zeros(B, dtype=torch.long))


def test_codefusion_shapes_and_loss_backward():
    cfg = _cfg()
    m = CodeFusion(cfg)
    B, L, d = 3, cfg.code_max_len, cfg.d_model
    mem, mask = _mem(m, B, cfg)
    assert mem.shape == (B, 7, d) and mask.shape == (B, 7)
    y = torch.randint(0, cfg.vocab_size, (B, L))
    x0 = m.embed_tokens(y)
    assert x0.shape == (B, L, d)
    assert torch.allclose(x0.pow(2).mean(-1), torch.ones(B, L), atol=1e-4)  # RMS 1 per dim
    t = torch.tensor([1, 600, 1200])
    x0_hat = m.denoise(torch.randn(B, L, d), t, mem, mask)
    assert x0_hat.shape == (B, L, d)
    d_s, logits = m.decode(x0_hat, mem, mask)
    assert d_s.shape == (B, L, d) and logits.shape == (B, L, cfg.vocab_size)
    loss, parts = m.loss(y, mem, mask, t, SqrtSchedule(cfg.diffusion_steps))
    assert loss.ndim == 0 and set(parts) >= {"mse", "ce", "total"}
    assert parts["total"].shape == (B,)
    loss.backward()
    assert m.embed.weight.grad is not None and m.head.weight.grad is not None


def test_cpd_noise_mask_limits_loss_to_masked_positions():
    cfg = _cfg()
    m = CodeFusion(cfg)
    mem, mask = _mem(m, 2, cfg)
    y = torch.randint(0, cfg.vocab_size, (2, cfg.code_max_len))
    nm = torch.zeros_like(y, dtype=torch.bool)
    nm[:, 3] = True
    loss, parts = m.loss(y, mem, mask, torch.tensor([900, 900]), SqrtSchedule(1200), noise_mask=nm)
    assert torch.isfinite(loss)


def test_ar_shapes_and_decoding():
    cfg = _cfg()
    m = ARModel(cfg).eval()
    mem, mask = _mem(m, 1, cfg)
    y = torch.randint(2, cfg.vocab_size, (4, cfg.code_max_len))
    loss, _ = m.loss(y, mem.expand(4, -1, -1), mask.expand(4, -1))
    loss.backward()
    for mode in ("beam", "sample"):
        res = ar_generate(m, mem, mask, k=3, mode=mode, seed=1)
        assert len(res) == 3 and all(isinstance(ids, list) for ids, _ in res)
        assert [s for _, s in res] == sorted([s for _, s in res], reverse=True)


def test_ar_kv_cache_matches_full_forward():
    cfg = _cfg()
    m = ARModel(cfg).eval()
    mem, mask = _mem(m, 1, cfg)
    seq = torch.randint(2, cfg.vocab_size, (1, 6))
    full = m(seq, mem, mask)
    caches = [{} for _ in m.blocks]
    steps = [m(seq[:, i : i + 1], mem, mask, caches, offset=i) for i in range(6)]
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)


def test_x0_scale_sets_signal_level_and_keeps_losses_at_unit_scale():
    """L(y) has RMS x0_scale per dimension; the MSE term is measured at unit scale: an x0
    estimate off by 10 % of the signal costs 0.01 whatever the scale."""
    torch.manual_seed(0)
    for scale in (1.0, 0.1):
        cfg = _cfg()
        cfg.x0_scale = scale
        m = CodeFusion(cfg).eval()
        y = torch.randint(0, cfg.vocab_size, (2, cfg.code_max_len))
        x0 = m.embed_tokens(y)
        rms = x0.pow(2).mean(-1).sqrt()
        assert torch.allclose(rms, torch.full_like(rms, scale), atol=1e-4)
        m.denoise = lambda x_t, t, mem, mask, x0_prev=None, edit=None: x0 * 1.1  # noqa: B023 (B, Lc, d), in this iteration
        mem, mask = _mem(m, 2, cfg)
        _, parts = m.loss(y, mem, mask, torch.tensor([600, 1100]), SqrtSchedule(cfg.diffusion_steps), self_cond_p=0.0)
        assert torch.allclose(parts["mse"], torch.full((2,), 0.01), rtol=1e-3)


def test_pad_weight_scales_the_padding_positions_of_the_loss():
    """Programs fill a few of code_max_len positions; pad_weight sets what the PAD rest counts for.
    An x0 estimate that is wrong at PAD positions only costs nothing at pad_weight 0."""
    from engine.tokenizer import PAD_ID

    cfg = _cfg()
    y = torch.randint(2, cfg.vocab_size, (2, cfg.code_max_len))
    y[:, 5:] = PAD_ID  # 5 program tokens, then padding
    mse = {}
    for pad_weight in (1.0, 0.5, 0.0):
        cfg.pad_weight = pad_weight
        torch.manual_seed(0)
        m = CodeFusion(cfg).eval()
        x0 = m.embed_tokens(y)
        wrong_at_pad = torch.where((y == PAD_ID)[..., None], x0 * 1.1, x0)  # (B, Lc, d)
        m.denoise = lambda x_t, t, mem, mask, x0_prev=None, edit=None: wrong_at_pad  # noqa: B023 (this iteration)
        mem, mask = _mem(m, 2, cfg)
        _, parts = m.loss(y, mem, mask, torch.tensor([600, 1100]), SqrtSchedule(cfg.diffusion_steps), self_cond_p=0.0)
        mse[pad_weight] = parts["mse"]
    n_pad, n = cfg.code_max_len - 5, cfg.code_max_len
    assert torch.allclose(mse[1.0], torch.full((2,), 0.01 * n_pad / n), rtol=1e-3)  # every position counts
    assert torch.allclose(mse[0.5], torch.full((2,), 0.01 * 0.5 * n_pad / (5 + 0.5 * n_pad)), rtol=1e-3)
    assert torch.allclose(mse[0.0], torch.zeros(2), atol=1e-7)  # PAD positions do not count


def test_unrolled_rows_noise_the_models_own_guess_and_self_condition_on_it():
    """SUNDAE-style unrolling: an unrolled row's x_t is built from the tokens D+H read at a noisier step
    (not from L(y)), its self-conditioning input is N's estimate there, and other rows are untouched."""
    torch.manual_seed(0)
    cfg = _cfg()
    m = CodeFusion(cfg).eval()
    sched = SqrtSchedule(cfg.diffusion_steps)
    B = 4
    mem, mask = _mem(m, B, cfg)
    y = torch.randint(3, cfg.vocab_size, (B, cfg.code_max_len))
    x0 = m.embed_tokens(y)
    noise = torch.randn_like(x0)
    t = torch.tensor([10, 10, 600, 600])
    x_t = sched.add_noise(x0, noise, t)
    rows = torch.tensor([True, False, True, False])
    x_u, prev = m.unrolled_start(x0, noise, x_t, t, mem, mask, rows, sched)
    assert torch.equal(x_u[~rows], x_t[~rows]) and torch.count_nonzero(prev[~rows]) == 0
    assert prev[rows].abs().sum() > 0  # N's estimate at the noisier step
    # at t = 10 (almost clean) x_t is the noised guess: its nearest tokens are the guess's, not y's
    guess_x0 = (x_u[0] - (1 - sched.alpha_bar[10]).sqrt() * noise[0]) / sched.alpha_bar[10].sqrt()
    guess = m.nearest_tokens(guess_x0[None])[0]
    assert not torch.equal(guess, y[0])  # an untrained model guesses wrong
    assert torch.allclose(m.embed_tokens(guess[None])[0], guess_x0, atol=1e-4)  # a clamped (token) guess
    loss, parts = m.loss(y, mem, mask, t, sched, unroll=rows)
    assert torch.isfinite(loss) and parts["unroll"].tolist() == [1.0, 0.0, 1.0, 0.0]
