"""Reverse diffusion: from k Gaussian noise seeds to k programs (token ids + scores).

Each candidate's x_T is drawn from its own CPU torch.Generator seeded with seed + i, so
a result depends only on (seed, i) and not on the device or the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.errors import Cancelled
from engine.schedule import DDIMSampler
from engine.tokenizer import CodeTokenizer
from engine.types import CancelToken, is_cancelled


def initial_noise(k: int, length: int, dim: int, seed: int, device) -> torch.Tensor:
    xs = [torch.randn(length, dim, generator=torch.Generator().manual_seed(seed + i)) for i in range(k)]
    return torch.stack(xs).to(device)  # x_T (k, Lc, d)


@torch.inference_mode()
def diffusion_sample(
    model,
    mem,
    mem_mask,
    x_T,
    steps: int,
    schedule,
    clamp: str = "decoder",
    guidance: float = 1.0,
    uncond=None,
    cancel: CancelToken = None,
    spacing: float = 1.0,
    t_end=None,
    t_start=None,
    edit=None,
):
    """mem (k, Lm, d) per candidate; x_T (k, Lc, d) the sample at t_start (default T: pure noise).
    Returns ids (k, Lc), token log-probs (k, Lc).

    t_end: the last step at which N is queried (see DDIMSampler.set_timesteps).
    guidance != 1 applies classifier-free guidance against `uncond` = (memory, mask) from
    Conditioning.unconditional (the mode the model learns from cfg_dropout / pre-training).
    edit (k,) bool: x_T is a noised exemplar (SDEdit start); N's first query is told so (exemplar_edit)."""
    if getattr(model.cfg, "noise_sampler", "ddim") == "mask" and t_start is None and guidance == 1.0:
        return mask_predict_sample(model, mem, mem_mask, x_T, steps, schedule, cancel)
    sampler = DDIMSampler(schedule)
    sampler.set_timesteps(steps, spacing, t_end=t_end, t_start=t_start)
    x = x_T
    x0_prev = None
    k = x.shape[0]
    prior = model.cfg.output_prior
    if guidance != 1.0:
        if uncond is None:
            raise ValueError("classifier-free guidance needs the unconditional memory")
        mem2, mask2 = _stack_memories((mem, mem_mask), uncond)
    for t, t_prev in sampler.pairs():
        if is_cancelled(cancel):
            raise Cancelled("generation cancelled")
        tt = torch.full((k,), t, device=x.device, dtype=torch.long)
        if guidance != 1.0:
            sc = None if x0_prev is None else torch.cat([x0_prev, x0_prev])
            ed = None if edit is None else torch.cat([edit, edit])
            both = model.denoise(torch.cat([x, x]), torch.cat([tt, tt]), mem2, mask2, sc, ed)
            cond, uncond = both[:k], both[k:]
            x0_hat = uncond + guidance * (cond - uncond)
        else:
            x0_hat = model.denoise(x, tt, mem, mem_mask, x0_prev, edit)  # (k, Lc, d)
        x0_prev, edit = x0_hat, None  # later steps denoise the model's own estimate
        if clamp == "decoder" and t_prev > 0:  # snap to the embeddings of the tokens D+H read
            pl = model.prior_logits(x, tt, schedule) if prior else None
            x0_hat = model.embed_tokens(model.decode(x0_hat, mem, mem_mask, pl)[1].argmax(-1))
        elif clamp == "nearest" and t_prev > 0:  # Diffusion-LM's clamping trick
            x0_hat = model.embed_tokens(model.nearest_tokens(x0_hat))
        x_prev = sampler.step(x0_hat, t, t_prev, x)
        if t_prev == 0:
            break
        x = x_prev
    # the final read: D+H of N's last estimate (x0 = x0_hat at t_prev = 0), with the prior of the last x_t
    pl = model.prior_logits(x, tt, schedule) if prior else None
    _, logits = model.decode(x0_hat, mem, mem_mask, pl)  # (k, Lc, V)
    logp = F.log_softmax(logits.float(), dim=-1)
    ids = logp.argmax(-1)  # (k, Lc)
    return ids, logp.gather(-1, ids[..., None]).squeeze(-1)


@torch.inference_mode()
def mask_predict_sample(model, mem, mem_mask, x_T, steps: int, schedule, cancel: CancelToken = None):
    """Mask-Predict (Ghazvininejad et al. 2019) in embedding space, for candidates from pure noise.
    Step 1 reads all positions off x_T at t = T. Step i > 1 keeps the tokens read with the most confidence as
    clean embeddings L(y) and puts the rest back to their x_T noise (still at t = T), n_i = n (steps - i + 1) /
    steps of them, n = the program's length with its end token; N self-conditions on the previous estimate.
    Only re-noised positions are read again; a kept token keeps its log-prob. Returns ids (k, Lc), log-probs."""
    T = schedule.T
    k, Lc = x_T.shape[:2]
    tt = torch.full((k,), T, device=x_T.device, dtype=torch.long)
    x, x0_prev = x_T, None
    masked = torch.ones(k, Lc, dtype=torch.bool, device=x_T.device)  # positions read at this step
    ids = torch.zeros(k, Lc, dtype=torch.long, device=x_T.device)
    lp = torch.zeros(k, Lc, device=x_T.device)
    for i in range(max(1, steps)):
        if is_cancelled(cancel):
            raise Cancelled("generation cancelled")
        x0_hat = model.denoise(x, tt, mem, mem_mask, x0_prev)
        logp = F.log_softmax(model.decode(x0_hat, mem, mem_mask)[1].float(), dim=-1)
        new_lp, new_ids = logp.max(-1)  # (k, Lc)
        ids, lp = torch.where(masked, new_ids, ids), torch.where(masked, new_lp, lp)
        if i >= steps - 1:
            break
        n = torch.tensor([CodeTokenizer.content_length(r) + 1 for r in ids.tolist()], device=x.device).clamp(max=Lc)
        n_mask = (n.float() * (steps - 1 - i) / steps).long()  # (k,)
        order = lp.argsort(dim=1)  # least confident first
        rank = torch.empty_like(order).scatter_(1, order, torch.arange(Lc, device=x.device).expand(k, -1))
        masked = rank < n_mask[:, None]  # (k, Lc)
        x0_prev = model.embed_tokens(ids)
        x = torch.where(masked[..., None], x_T, x0_prev)
    return ids, lp


def _stack_memories(a, b):
    """Concatenate two (memory, mask) batches along B, padding the shorter memory (masked)."""
    (m1, k1), (m2, k2) = a, b
    L = max(m1.shape[1], m2.shape[1])

    def pad(m, k):
        extra = L - m.shape[1]
        if extra:
            m = torch.cat([m, m.new_zeros(m.shape[0], extra, m.shape[2])], 1)
            k = torch.cat([k, k.new_zeros(k.shape[0], extra)], 1)
        return m, k

    (m1, k1), (m2, k2) = pad(m1, k1), pad(m2, k2)
    return torch.cat([m1, m2]), torch.cat([k1, k2])


def sequence_scores(ids: torch.Tensor, token_logp: torch.Tensor) -> list[float]:
    """Mean log-prob over the program's tokens and its end token."""
    scores = []
    for row, lp in zip(ids.tolist(), token_logp.tolist()):
        n = min(CodeTokenizer.content_length(row), len(row) - 1)  # include the end token
        span = lp[: n + 1]
        scores.append(sum(span) / len(span))
    return scores
