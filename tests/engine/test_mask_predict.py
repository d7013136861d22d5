"""Mask-Predict in embedding space: the sampler (engine.sampling.mask_predict_sample) and its training rows."""

import torch

from engine.config import load_config
from engine.model import CodeFusion
from engine.sampling import diffusion_sample, initial_noise
from engine.schedule import make_schedule
from engine.train import _mask_predict_rows


def _setup(sampler="mask"):
    torch.manual_seed(0)
    cfg, _ = load_config("tiny")
    cfg.vocab_size, cfg.encoder_dim, cfg.exemplars, cfg.noise_sampler = 60, 24, 0, sampler
    m = CodeFusion(cfg).eval()
    enc = torch.randn(1, 5, cfg.encoder_dim)
    mem, mask = m.cond(enc, torch.ones(1, 5, dtype=torch.bool), torch.zeros(1, dtype=torch.long))
    k = 3
    x_T = initial_noise(k, cfg.code_max_len, cfg.d_model, seed=7, device="cpu")
    return m, cfg, mem.expand(k, -1, -1), mask.expand(k, -1), x_T


def test_one_mask_predict_step_is_one_ddim_step_from_pure_noise():
    m, cfg, mem, mask, x_T = _setup()
    s = make_schedule(cfg)
    ids_mask, lp_mask = diffusion_sample(m, mem, mask, x_T, 1, s)
    m.cfg.noise_sampler = "ddim"
    ids_ddim, lp_ddim = diffusion_sample(m, mem, mask, x_T, 1, s)
    assert torch.equal(ids_mask, ids_ddim) and torch.allclose(lp_mask, lp_ddim, atol=1e-5)


def test_later_steps_reread_only_the_least_confident_positions(monkeypatch):
    m, cfg, mem, mask, x_T = _setup()
    s = make_schedule(cfg)
    seen = []
    orig = m.denoise

    def spy(x, t, *a, **kw):
        seen.append((x.clone(), t.clone()))
        return orig(x, t, *a, **kw)

    monkeypatch.setattr(m, "denoise", spy)
    ids, lp = diffusion_sample(m, mem, mask, x_T, 3, s)
    assert len(seen) == 3 and all(int(t[0]) == s.T for _, t in seen)  # every step at t = T
    assert torch.equal(seen[0][0], x_T)
    for x, _ in seen[1:]:
        with torch.no_grad():
            emb = m.embed_tokens(m.nearest_tokens(x))
        noised = (x - x_T).abs().sum(-1) < 1e-6  # (k, Lc): positions put back to their noise
        clean = ~noised
        assert noised.any() and clean.any()
        # the clean positions hold token embeddings: their nearest token's embedding exactly
        assert torch.allclose(x[clean], emb[clean], atol=1e-5)
    # fewer positions go back to noise at each later step
    n = [int(((x - x_T).abs().sum(-1) < 1e-6).sum()) for x, _ in seen[1:]]
    assert n[0] > n[1]
    assert ids.shape == x_T.shape[:2] and lp.shape == ids.shape and bool((lp <= 0).all())


def test_an_exemplar_start_keeps_the_ddim_sampler():
    m, cfg, mem, mask, x_T = _setup()
    s = make_schedule(cfg)
    t0 = s.t_at_snr(10.0)
    a = diffusion_sample(m, mem, mask, x_T, 2, s, t_start=t0)
    m.cfg.noise_sampler = "ddim"
    b = diffusion_sample(m, mem, mask, x_T, 2, s, t_start=t0)
    assert torch.equal(a[0], b[0])


def test_mask_predict_rows_noise_a_share_of_positions_at_high_noise_and_the_rest_not_at_all():
    torch.manual_seed(0)
    B, L, T = 64, 20, 1200
    rows = torch.arange(B) % 2 == 0
    t = torch.full((B,), 5)
    nm, t2 = _mask_predict_rows(rows, t, L, T)
    assert nm[~rows].all() and torch.equal(t2[~rows], t[~rows])
    assert bool(nm[rows].any(1).all()) and not bool(nm[rows].all())  # at least one noised, not all everywhere
    assert bool((t2[rows] >= int(0.8 * T)).all())


def test_the_loss_of_mask_rows_counts_only_noised_positions_and_keeps_pad_weight():
    m, cfg, mem, mask, _ = _setup("ddim")
    y = torch.randint(2, cfg.vocab_size, (1, cfg.code_max_len))
    y[:, 10:] = 0  # PAD
    nm = torch.zeros_like(y, dtype=torch.bool)
    nm[:, :5] = True
    s = make_schedule(cfg)
    t = torch.tensor([s.T])
    torch.manual_seed(1)
    a = m.loss(y, mem[:1], mask[:1], t, s, noise_mask=nm, self_cond_p=0.0)[1]["ce"]
    y2 = y.clone()
    y2[:, 5:10] = 3  # the clean positions' tokens are not scored...
    torch.manual_seed(1)
    b = m.loss(y2, mem[:1], mask[:1], t, s, noise_mask=nm, self_cond_p=0.0)[1]["ce"]
    assert not torch.allclose(a, b)  # ...but N reads them (clean embeddings), so the noised ones' CE moves
    nm_all = torch.ones_like(nm)
    torch.manual_seed(1)
    full = m.loss(y, mem[:1], mask[:1], t, s, noise_mask=nm_all, self_cond_p=0.0)[1]["ce"]
    torch.manual_seed(1)
    plain = m.loss(y, mem[:1], mask[:1], t, s, self_cond_p=0.0)[1]["ce"]
    assert torch.allclose(full, plain, atol=1e-5)  # all noised = the plain loss, PAD weighted alike
