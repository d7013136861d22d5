"""The CodeFusion network (Singh et al., EMNLP 2023), in the shape of nanoGPT's model.py.

    NL --E--> enc (B, Ln, de) --proj--> memory (B, 1+Ln, d)   (a language token first)
    y  --L--> x0 (B, Lc, d)  --q(x_t|x0)--> x_t --N(x_t, t, memory)--> x0_hat
    x0_hat --D(., memory)--> D_s (B, Lc, d) --H--> logits (B, Lc, V)

E (the pretrained NL encoder) lives in encoder.py; this module gets its outputs as
tensors and does no I/O. The schedule and sampler are in schedule.py.

Parameterisation: N predicts x0 rather than eps (as GENIE and Diffusion-LM do for
text). With the sqrt schedule most training steps are very noisy, where eps-prediction
makes the x0 estimate (x_t - sqrt(1-ab) eps_hat)/sqrt(ab) blow up its errors by
1/sqrt(ab); predicting x0 keeps the decoder's input well scaled. The objective stays
equivalent to the paper's L_t = ||eps_hat - eps|| + ||D_s - L(y)|| - log p(y | D_s):
||eps_hat - eps||^2 = ab/(1-ab) ||x0_hat - x0||^2 (a per-t weight), see `loss`.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.config import ModelConfig
from engine.tokenizer import PAD_ID


class Attention(nn.Module):
    def __init__(self, d: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.dropout = dropout

    def forward(self, x, ctx=None, ctx_mask=None, causal=False, cache=None):
        """x (B, Lq, d); ctx (B, Lk, d) or None for self-attention; ctx_mask (B, Lk) True = attend.
        cache: dict holding 'k','v' of earlier positions (self-attention, incremental decoding)."""
        B, Lq, d = x.shape
        h = self.n_heads
        q = self.q(x).view(B, Lq, h, d // h).transpose(1, 2)  # (B, h, Lq, dh)
        src = x if ctx is None else ctx
        k, v = self.kv(src).chunk(2, dim=-1)
        k = k.view(B, -1, h, d // h).transpose(1, 2)  # (B, h, Lk, dh)
        v = v.view(B, -1, h, d // h).transpose(1, 2)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        mask = None
        if ctx_mask is not None:
            mask = ctx_mask[:, None, None, :]  # (B, 1, 1, Lk)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal and cache is None and Lq > 1,
            dropout_p=self.dropout if self.training else 0.0,
        )  # (B, h, Lq, dh)
        return self.out(y.transpose(1, 2).reshape(B, Lq, d))


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention, feed-forward."""

    def __init__(self, d: int, n_heads: int, ff_mult: int, dropout: float, cross: bool = True):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.self_attn = Attention(d, n_heads, dropout)
        self.cross = cross
        if cross:
            self.ln2 = nn.LayerNorm(d)
            self.cross_attn = Attention(d, n_heads, dropout)
        self.ln3 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Linear(ff_mult * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mem=None, mem_mask=None, causal=False, cache=None):
        x = x + self.drop(self.self_attn(self.ln1(x), causal=causal, cache=cache))
        if self.cross:
            x = x + self.drop(self.cross_attn(self.ln2(x), ctx=mem, ctx_mask=mem_mask))
        return x + self.drop(self.ff(self.ln3(x)))


def timestep_embedding(t: torch.Tensor, dim: int, T: int) -> torch.Tensor:
    """Sinusoidal embedding of t in [0, T], scaled to [0, 1000]. t (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
    args = (t.float() * (1000.0 / T))[:, None] * freqs[None]  # (B, half)
    return torch.cat([args.cos(), args.sin()], dim=-1)


UNCOND_LEN = 8  # positions of the Gaussian "encoder output" that stands for "no NL"


class Conditioning(nn.Module):
    """memory = [language token, proj(E(nl))]: what N and D cross-attend to."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.encoder_dim = cfg.encoder_dim
        self.lang_emb = nn.Embedding(len(cfg.languages), cfg.d_model)
        self.proj = nn.Sequential(nn.LayerNorm(cfg.encoder_dim), nn.Linear(cfg.encoder_dim, cfg.d_model))

    def forward(self, enc: torch.Tensor, enc_mask: torch.Tensor, lang: torch.Tensor):
        """enc (B, Ln, de), enc_mask (B, Ln) bool, lang (B,) long -> (B, 1+Ln, d), (B, 1+Ln)."""
        mem = torch.cat([self.lang_emb(lang)[:, None], self.proj(enc)], dim=1)  # (B, 1+Ln, d)
        mask = torch.cat([torch.ones_like(enc_mask[:, :1]), enc_mask], dim=1)  # (B, 1+Ln)
        return mem, mask

    def unconditional(self, lang: torch.Tensor, generator: Optional[torch.Generator] = None):
        """The memory with E's output replaced by Gaussian noise, as in unsupervised
        generation and NL drop-out during training.  lang (B,) -> (B, 1+UNCOND_LEN, d), mask."""
        B = lang.shape[0]
        noise = torch.randn(B, UNCOND_LEN, self.encoder_dim, generator=generator).to(lang.device)
        return self(noise, torch.ones(B, UNCOND_LEN, dtype=torch.bool, device=lang.device), lang)


class CodeFusion(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.cond = Conditioning(cfg)
        self.embed = nn.Embedding(cfg.vocab_size, d)  # L
        nn.init.normal_(self.embed.weight, std=1.0)
        # denoiser N
        self.pos = nn.Parameter(torch.zeros(1, cfg.code_max_len, d))
        nn.init.normal_(self.pos, std=0.02)
        self.time_mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.in_proj = nn.Linear(2 * d if cfg.self_condition else d, d)
        self.denoiser = nn.ModuleList(
            [Block(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.denoiser_layers)])
        self.den_ln = nn.LayerNorm(d)
        self.den_out = nn.Linear(d, d)
        # decoder D and head H
        self.dec_pos = nn.Parameter(torch.zeros(1, cfg.code_max_len, d))
        nn.init.normal_(self.dec_pos, std=0.02)
        self.decoder = nn.ModuleList(
            [Block(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.decoder_layers)])
        self.dec_ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size)  # H

    # --- the pieces -------------------------------------------------------------
    def embed_tokens(self, y: torch.Tensor) -> torch.Tensor:
        """x0 = L(y), each token scaled to RMS x0_scale per dimension (1 = as loud as the
        unit-variance noise).  y (B, Lc) -> (B, Lc, d)."""
        return self.normalize(self.embed(y)) * self.cfg.x0_scale

    @staticmethod
    def normalize(e: torch.Tensor) -> torch.Tensor:
        return F.normalize(e, dim=-1) * math.sqrt(e.shape[-1])

    def denoise(self, x_t, t, mem, mem_mask, x0_prev=None):
        """N: x_t (B, Lc, d), t (B,) -> x0_hat (B, Lc, d)."""
        if self.cfg.self_condition:
            if x0_prev is None:
                x0_prev = torch.zeros_like(x_t)
            x_t = torch.cat([x_t, x0_prev], dim=-1)  # (B, Lc, 2d)
        temb = self.time_mlp(timestep_embedding(t, self.cfg.d_model, self.cfg.diffusion_steps))  # (B, d)
        h = self.in_proj(x_t) + self.pos + temb[:, None]
        for blk in self.denoiser:
            h = blk(h, mem, mem_mask)
        return self.den_out(self.den_ln(h))

    def decode(self, x0_hat, mem, mem_mask):
        """D then H: x0_hat (B, Lc, d) -> D_s (B, Lc, d), logits (B, Lc, V)."""
        h = x0_hat + self.dec_pos
        for blk in self.decoder:
            h = blk(h, mem, mem_mask)
        d_s = self.dec_ln(h)
        return d_s, self.head(d_s)

    def nearest_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Clamping trick: the token whose (normalised) embedding is closest. (B,Lc,d) -> (B,Lc)."""
        table = self.normalize(self.embed.weight)  # (V, d)
        return (x @ table.t()).argmax(-1)

    # --- training objective -------------------------------------------------------
    def loss(self, y, mem, mem_mask, t, schedule, noise_mask=None, self_cond_p=0.5):
        """The paper's L_t for a batch.  y (B, Lc) token ids; t (B,) in 1..T;
        noise_mask (B, Lc) bool: positions to noise (CPD); None = all.
        Returns the total loss and per-sample components (for per-t-bucket logging)."""
        x0 = self.embed_tokens(y)  # L(y) (B, Lc, d)
        noise = torch.randn_like(x0)  # eps
        x_t = schedule.add_noise(x0, noise, t)
        if noise_mask is not None:
            x_t = torch.where(noise_mask[..., None], x_t, x0)
            w = noise_mask.float()
        else:  # every position, PAD down-weighted by pad_weight
            w = torch.where(y == PAD_ID, self.cfg.pad_weight, 1.0)  # (B, Lc)
        x0_prev = None
        if self.cfg.self_condition and torch.rand(()) < self_cond_p:
            with torch.no_grad():
                x0_prev = self.denoise(x_t, t, mem, mem_mask).detach()
        x0_hat = self.denoise(x_t, t, mem, mem_mask, x0_prev)
        d_s, logits = self.decode(x0_hat, mem, mem_mask)
        _, logits_clean = self.decode(x0, mem, mem_mask)  # anchors L and D (prevents collapse)
        denom = w.sum(1).clamp(min=1)
        s2 = self.cfg.x0_scale ** 2  # the squared errors are measured at unit scale
        mse = (((x0_hat - x0.detach()) ** 2).mean(-1) * w).sum(1) / denom / s2  # ~ ||eps_hat - eps|| (x0 form)
        dec = (((d_s - x0.detach() / self.cfg.x0_scale) ** 2).mean(-1) * w).sum(1) / denom  # ||D_s - L(y)||
        ce = (F.cross_entropy(logits.transpose(1, 2), y, reduction="none") * w).sum(1) / denom
        ce_clean = F.cross_entropy(logits_clean.transpose(1, 2), y, reduction="none").mean(1)
        per_sample = mse + dec + ce + ce_clean  # (B,)
        return per_sample.mean(), {"mse": mse.detach(), "dec": dec.detach(), "ce": ce.detach(),
                                   "ce_clean": ce_clean.detach(), "total": per_sample.detach()}
