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
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=causal and cache is None and Lq > 1,
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
    """memory = [language token, proj(E(nl)), exemplar programs]: what N and D cross-attend to.

    Exemplars (cfg.exemplars = m > 0): the code of the m training programs whose NL is nearest to
    the request, each token as its normalised embedding L(v) / s plus a position and a rank
    embedding, appended after the NL (PAD positions masked; an all-PAD row is "no exemplar")."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.encoder_dim = cfg.encoder_dim
        self.lang_emb = nn.Embedding(len(cfg.languages), cfg.d_model)
        self.proj = nn.Sequential(nn.LayerNorm(cfg.encoder_dim), nn.Linear(cfg.encoder_dim, cfg.d_model))
        self.n_exemplars = 0
        if cfg.exemplars:
            self.enable_exemplars(cfg.exemplars, cfg.code_max_len, cfg.d_model)

    def enable_exemplars(self, m: int, length: int, d: int) -> None:
        """Add the exemplar embeddings (also to a trained model that had none: --init --set exemplars=m)."""
        self.n_exemplars = m
        self.ex_rank = nn.Embedding(m, d)
        self.ex_pos = nn.Parameter(torch.zeros(1, length, d))
        nn.init.normal_(self.ex_pos, std=0.02)
        self.ex_ln = nn.LayerNorm(d)

    def forward(self, enc: torch.Tensor, enc_mask: torch.Tensor, lang: torch.Tensor, ex_emb=None, ex_ids=None):
        """enc (B, Ln, de), enc_mask (B, Ln) bool, lang (B,) long -> (B, 1+Ln, d), (B, 1+Ln).
        With ex_ids (B, m, Le) and ex_emb (B, m, Le, d) their unit-scale token embeddings:
        -> (B, 1+Ln+m*Le, d), (B, 1+Ln+m*Le)."""
        mem = torch.cat([self.lang_emb(lang)[:, None], self.proj(enc)], dim=1)  # (B, 1+Ln, d)
        mask = torch.cat([torch.ones_like(enc_mask[:, :1]), enc_mask], dim=1)  # (B, 1+Ln)
        if ex_ids is not None and self.n_exemplars:
            B, m, Le = ex_ids.shape
            rank = self.ex_rank(torch.arange(m, device=ex_ids.device))  # (m, d)
            ex = self.ex_ln(ex_emb + self.ex_pos[:, None, :Le] + rank[None, :, None])  # (B, m, Le, d)
            mem = torch.cat([mem, ex.reshape(B, m * Le, -1)], dim=1)
            mask = torch.cat([mask, (ex_ids != PAD_ID).reshape(B, m * Le)], dim=1)
        return mem, mask

    def unconditional(self, lang: torch.Tensor, generator: torch.Generator | None = None):
        """The memory with E's output replaced by Gaussian noise, as in unsupervised
        generation and NL drop-out during training.  lang (B,) -> (B, 1+UNCOND_LEN, d), mask."""
        B = lang.shape[0]
        noise = torch.randn(B, UNCOND_LEN, self.encoder_dim, generator=generator).to(lang.device)
        return self(noise, torch.ones(B, UNCOND_LEN, dtype=torch.bool, device=lang.device), lang)


def trim_exemplars(ex_ids: torch.Tensor) -> torch.Tensor:
    """Drop the PAD columns every exemplar of the batch has: (B, m, Lc) -> (B, m, Le), Le >= 1."""
    used = (ex_ids != PAD_ID).flatten(0, 1).any(0)  # (Lc,)
    n = int(used.nonzero().max()) + 1 if used.any() else 1
    return ex_ids[..., :n]


class CodeFusion(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.cond = Conditioning(cfg)
        self.embed = nn.Embedding(cfg.vocab_size, d)  # L
        nn.init.normal_(self.embed.weight, std=1.0)
        # denoiser N
        self.pos = nn.Parameter(torch.zeros(1, cfg.code_max_len + int(cfg.ar_shift), d))
        nn.init.normal_(self.pos, std=0.02)
        if cfg.ar_shift:  # the start slot N reads before x_t (the AR decoder's BOS input)
            self.start = nn.Parameter(torch.zeros(1, 1, d))
        self.time_mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.in_proj = nn.Linear(d, d)
        if cfg.self_condition:  # x0_prev at unit scale through its own projection, zero at init (Plaid):
            self.sc_proj = nn.Linear(d, d, bias=False)  # concatenated with x_t it was drowned by the noise
            nn.init.zeros_(self.sc_proj.weight)
        if cfg.exemplar_edit:
            self.enable_edit()
        self.denoiser = nn.ModuleList(
            [Block(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.denoiser_layers)]
        )
        self.den_ln = nn.LayerNorm(d)
        if cfg.score_interp:  # N's logits; x0_hat is their softmax-weighted mean of L
            self.den_head = nn.Linear(d, cfg.vocab_size)
        else:
            self.den_out = nn.Linear(d, d)
        # decoder D and head H
        self.dec_pos = nn.Parameter(torch.zeros(1, cfg.code_max_len, d))
        nn.init.normal_(self.dec_pos, std=0.02)
        self.decoder = nn.ModuleList(
            [Block(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.decoder_layers)]
        )
        self.dec_ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size)  # H
        from engine.schedule import make_schedule

        self.set_schedule(make_schedule(cfg))

    # --- the pieces -------------------------------------------------------------
    def memory(self, enc, enc_mask, lang, ex_ids=None):
        """The memory N and D cross-attend to; ex_ids (B, m, Lc) exemplar programs or None."""
        if ex_ids is None or not self.cfg.exemplars:
            return self.cond(enc, enc_mask, lang)
        ex_ids = trim_exemplars(ex_ids)
        return self.cond(enc, enc_mask, lang, self.normalize(self.embed(ex_ids)), ex_ids)

    def embed_tokens(self, y: torch.Tensor) -> torch.Tensor:
        """x0 = L(y), each token scaled to RMS x0_scale per dimension (1 = as loud as the
        unit-variance noise).  y (B, Lc) -> (B, Lc, d)."""
        return self.normalize(self.embed(y)) * self.cfg.x0_scale

    @staticmethod
    def normalize(e: torch.Tensor) -> torch.Tensor:
        return F.normalize(e, dim=-1) * math.sqrt(e.shape[-1])

    def enable_edit(self) -> None:
        """The edit embedding (zero at first, so a trained model is unchanged): added to N's input where x_t
        is a noised exemplar (the SDEdit start) rather than a noised target."""
        self.edit_emb = nn.Parameter(torch.zeros(1, 1, self.cfg.d_model))

    def table(self) -> torch.Tensor:
        """L(v) for every token v, at scale x0_scale: (V, d)."""
        return self.normalize(self.embed.weight) * self.cfg.x0_scale

    def denoise(self, x_t, t, mem, mem_mask, x0_prev=None, edit=None, return_logits=False):
        """N: x_t (B, Lc, d), t (B,), x0_prev (B, Lc, d) the previous estimate or None -> x0_hat (B, Lc, d).
        edit (B,) bool: rows whose x_t noises an exemplar (exemplar_edit models; ignored otherwise).
        return_logits (score_interp models): also N's logits (B, Lc, V)."""
        temb = self.time_mlp(timestep_embedding(t, self.cfg.d_model, self.cfg.diffusion_steps))  # (B, d)
        x_in = x_t
        if self.cfg.input_scaling:  # c_in: x_t at unit RMS per dimension whatever the noise level
            x_in = x_t * self.input_scale(t)[:, None, None]
        h = self.in_proj(x_in) + temb[:, None]
        if self.cfg.ar_shift:  # and the tokens x_t shows, as the expected token embedding (AR weights read those)
            h = h + self.token_posterior(x_t, t) @ self.embed.weight.to(x_t.dtype)
        if self.cfg.self_condition and x0_prev is not None:
            h = h + self.sc_proj(x0_prev / self.cfg.x0_scale)
        if edit is not None and self.cfg.exemplar_edit:
            h = h + self.edit_emb * edit[:, None, None].to(h.dtype)
        if self.cfg.ar_shift:  # (B, 1+Lc, d): the start slot first; output p is read off input p
            h = torch.cat([self.start.expand(h.shape[0], -1, -1).to(h.dtype) + temb[:, None], h], dim=1)
        h = h + self.pos[:, : h.shape[1]]
        for blk in self.denoiser:
            h = blk(h, mem, mem_mask)
        h = self.den_ln(h[:, :-1] if self.cfg.ar_shift else h)  # (B, Lc, d)
        if self.cfg.score_interp:
            logits = self.den_head(h)  # (B, Lc, V)
            x0_hat = torch.softmax(logits.float(), dim=-1).to(h.dtype) @ self.table().to(h.dtype)
            return (x0_hat, logits) if return_logits else x0_hat
        out = self.den_out(h)
        if not self.cfg.skip:
            return out
        ab = self.alpha_bar.to(t.device)[t].view(-1, 1, 1)  # (B, 1, 1)
        s2 = self.cfg.x0_scale**2
        var = ab * s2 + 1 - ab  # Var(x_t) per dimension
        c_out = self.cfg.x0_scale * (1 - ab).sqrt() / var.sqrt()
        if self.cfg.skip_posterior:  # E[L(y) | x_t] with every token equally likely a priori
            table = self.table().detach()  # (V, d)
            return self.token_posterior(x_t, t, table) @ table + c_out * out
        return (ab.sqrt() * s2 / var) * x_t + c_out * out

    def token_posterior(self, x_t, t, table=None):
        """p(y_p = v | x_t) under a uniform token prior: softmax_v(sqrt(ab)/(1-ab) x_t . L(v)).
        x_t (B, Lc, d), t (B,) -> (B, Lc, V)."""
        table = self.table().detach() if table is None else table
        ab = self.alpha_bar.to(t.device)[t].view(-1, 1, 1)
        return torch.softmax(((ab.sqrt() / (1 - ab)) * (x_t @ table.t().to(x_t.dtype))).float(), dim=-1).to(x_t.dtype)

    def input_scale(self, t: torch.Tensor) -> torch.Tensor:
        """1 / sqrt(ab_t s^2 + 1 - ab_t), the RMS of x_t, for t (B,) -> (B,). Uses the buffer of
        alpha_bar the schedule registered (set_schedule)."""
        ab = self.alpha_bar.to(t.device)[t]
        return (ab * self.cfg.x0_scale**2 + 1 - ab).rsqrt()

    def set_schedule(self, schedule) -> None:
        """Keep the schedule's alpha_bar (T+1,) for input scaling (not saved: it follows the config)."""
        self.register_buffer("alpha_bar", schedule.alpha_bar.clone(), persistent=False)

    def decode(self, x0_hat, mem, mem_mask, prior=None):
        """D then H: x0_hat (B, Lc, d) -> D_s (B, Lc, d), logits (B, Lc, V); prior (B, Lc, V) is
        added to the logits (the output prior, see prior_logits)."""
        h = x0_hat + self.dec_pos
        for blk in self.decoder:
            h = blk(h, mem, mem_mask)
        d_s = self.dec_ln(h)
        logits = self.head(d_s)
        return d_s, (logits if prior is None else logits + prior)

    def prior_logits(self, x_t, t, schedule):
        """log N(x_t; sqrt(ab_t) L(v), (1-ab_t) I) for every token v, up to a constant (all L(v) have
        one norm): sqrt(ab_t)/(1-ab_t) x_t . L(v).  x_t (B, Lc, d), t (B,) -> (B, Lc, V)."""
        table = self.table()  # L(v) (V, d)
        return schedule.prior_scale(t).view(-1, 1, 1) * (x_t @ table.t())

    def enable_skip(self) -> None:
        """Turn on the skip parameterisation for weights trained without it, keeping the function at
        pure noise (there c_skip = 0 and c_out = x0_scale, so N's last layer is rescaled by 1/x0_scale)."""
        if not self.cfg.skip and not self.cfg.score_interp:
            with torch.no_grad():
                self.den_out.weight.div_(self.cfg.x0_scale)
                self.den_out.bias.div_(self.cfg.x0_scale)
            self.cfg.skip = True

    def set_code_length(self, n: int) -> None:
        """Keep the first n positions (a shorter code_max_len when training goes on from a checkpoint)."""
        if n > self.dec_pos.shape[1]:
            raise ValueError(f"code_max_len can only shrink from {self.dec_pos.shape[1]}, not grow to {n}")
        self.pos = nn.Parameter(self.pos.data[:, : n + int(self.cfg.ar_shift)].clone())
        self.dec_pos = nn.Parameter(self.dec_pos.data[:, :n].clone())
        self.cfg.code_max_len = n

    def nearest_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Clamping trick: the token whose (normalised) embedding is closest. (B,Lc,d) -> (B,Lc)."""
        table = self.normalize(self.embed.weight)  # (V, d)
        return (x @ table.t()).argmax(-1)

    # --- training objective -------------------------------------------------------
    @torch.no_grad()
    def unrolled_start(self, x0, noise, x_t, t, mem, mem_mask, rows, schedule):
        """SUNDAE-style unrolled denoising (Savinov et al. 2022) in embedding space: for `rows` (B,) bool,
        the model reads the program at a noisier step t' ~ U[t, T] (fresh noise), its tokens (D+H argmax, as
        the sampler clamps) are embedded and noised to t with `noise`. Returns x_t with those rows replaced,
        and the self-conditioning input (B, Lc, d): N's estimate at t' on those rows, zeros elsewhere.
        Without it N only ever sees x_t made from the true program, so at sampling time it trusts its own
        wrong first guess and more steps make things worse (models/eval/d5-steps-bash-nb)."""
        T = schedule.T
        r = rows.nonzero().squeeze(1)
        t_r = t[r]
        t_hi = (t_r + (torch.rand(r.shape[0], device=t.device) * (T - t_r + 1)).long()).clamp(max=T)
        x_hi = schedule.add_noise(x0[r], torch.randn_like(x0[r]), t_hi)
        est = self.denoise(x_hi, t_hi, mem[r], mem_mask[r])  # (R, Lc, d)
        guess = self.embed_tokens(self.decode(est, mem[r], mem_mask[r])[1].argmax(-1))
        x_t = x_t.clone()
        x_t[r] = schedule.add_noise(guess, noise[r], t_r).to(x_t.dtype)
        x0_prev = torch.zeros_like(x0)
        if self.cfg.self_condition:
            x0_prev[r] = est.to(x0_prev.dtype)
        return x_t, x0_prev

    def loss(self, y, mem, mem_mask, t, schedule, noise_mask=None, self_cond_p=0.5, start=None, edit=None, unroll=None):
        """The paper's L_t for a batch.  y (B, Lc) token ids; t (B,) in 1..T;
        noise_mask (B, Lc) bool: positions to noise (CPD); None = all.
        start (B, Lc) ids and edit (B,) bool: edit rows noise the program `start` (an exemplar) instead
        of y, and N learns to denoise it into y (exemplar_edit).
        unroll (B,) bool: unrolled rows (SUNDAE's unrolled denoising, see `unrolled_start`): x_t noises the
        model's own guess, read at a noisier step, instead of L(y), and N self-conditions on that guess, as
        the second and later sampling steps do; N learns to correct its guess into y.
        Returns the total loss and per-sample components (for per-noise-level logging), among them
        the content-token (non-PAD, noised) accuracy of N's own estimate (nearest embedding) and of D+H."""
        cfg = self.cfg
        x0 = self.embed_tokens(y)  # L(y) (B, Lc, d)
        noise = torch.randn_like(x0)  # eps
        x_t = schedule.add_noise(x0, noise, t)
        if edit is not None and edit.any():
            x_t = torch.where(edit[:, None, None], schedule.add_noise(self.embed_tokens(start), noise, t), x_t)
        content = y != PAD_ID  # (B, Lc)
        w = torch.where(y == PAD_ID, cfg.pad_weight, 1.0)  # (B, Lc): PAD down-weighted by pad_weight
        if noise_mask is not None:  # only the noised positions count
            x_t = torch.where(noise_mask[..., None], x_t, x0)
            w = w * noise_mask.float()
            content = content & noise_mask
        x0_prev = None
        if unroll is not None and unroll.any():
            x_t, x0_prev = self.unrolled_start(x0, noise, x_t, t, mem, mem_mask, unroll, schedule)
        if cfg.self_condition:  # a coin per sample: half the batch sees its own first estimate
            sel = torch.rand(y.shape[0], device=y.device) < self_cond_p
            if unroll is not None:
                sel = sel & ~unroll
            if sel.any():
                with torch.no_grad():
                    x0_prev = torch.zeros_like(x0) if x0_prev is None else x0_prev
                    x0_prev[sel] = self.denoise(
                        x_t[sel], t[sel], mem[sel], mem_mask[sel], None, None if edit is None else edit[sel]
                    ).to(x0_prev.dtype)
        if cfg.score_interp:
            x0_hat, logits_n = self.denoise(x_t, t, mem, mem_mask, x0_prev, edit, return_logits=True)
        else:
            x0_hat = self.denoise(x_t, t, mem, mem_mask, x0_prev, edit)
        prior = self.prior_logits(x_t, t, schedule) if cfg.output_prior else None
        d_s, logits = self.decode(x0_hat, mem, mem_mask, prior)
        denom = w.sum(1).clamp(min=1)
        s2 = cfg.x0_scale**2  # the squared errors are measured at unit scale
        mse = (((x0_hat - x0.detach()) ** 2).mean(-1) * w).sum(1) / denom / s2  # ~ ||eps_hat - eps|| (x0 form)
        ce_tok = F.cross_entropy(logits.float().transpose(1, 2), y, reduction="none")  # (B, Lc)
        ce = (ce_tok * w).sum(1) / denom
        per_sample = mse + ce  # (B,)
        parts = {"mse": mse.detach(), "ce": ce.detach()}
        if cfg.score_interp:  # CDCD's loss: the CE of N's own logits
            ce_n = (F.cross_entropy(logits_n.float().transpose(1, 2), y, reduction="none") * w).sum(1) / denom
            per_sample = per_sample + ce_n
            parts["ce_n"] = ce_n.detach()
        if cfg.dec_weight:  # ||D_s - L(y)||
            dec = (((d_s - x0.detach() / cfg.x0_scale) ** 2).mean(-1) * w).sum(1) / denom
            per_sample = per_sample + cfg.dec_weight * dec
            parts["dec"] = dec.detach()
        if cfg.clean_weight:  # anchors L and D on clean embeddings (one more decoder pass)
            _, logits_clean = self.decode(x0, mem, mem_mask)
            ce_clean = F.cross_entropy(logits_clean.float().transpose(1, 2), y, reduction="none").mean(1)
            per_sample = per_sample + cfg.clean_weight * ce_clean
            parts["ce_clean"] = ce_clean.detach()
        with torch.no_grad():
            n_content = content.sum(1).clamp(min=1)
            parts["ce_content"] = (ce_tok * content).sum(1) / n_content
            parts["acc_dh"] = ((logits.argmax(-1) == y) & content).sum(1) / n_content
            parts["acc_n"] = ((self.nearest_tokens(x0_hat) == y) & content).sum(1) / n_content
            if unroll is not None:  # the share of rows trained unrolled
                parts["unroll"] = unroll.float()
            if edit is not None:  # edit rows: how much of y the exemplar itself already had
                parts["edit"] = edit.float()
                parts["acc_start"] = ((start == y) & content).sum(1) / n_content
        parts["total"] = per_sample.detach()
        return per_sample.mean(), parts
