"""The autoregressive baseline: the same E, conditioning and code tokenizer as CodeFusion,
a causal transformer decoder with cross-attention, decoded left to right with a KV cache
(beam search or sampling). The paper's central comparison is diffusion against this.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.config import ModelConfig
from engine.errors import Cancelled
from engine.model import Block, CodeFusion, Conditioning, trim_exemplars
from engine.tokenizer import EOS_ID, PAD_ID
from engine.types import CancelToken, is_cancelled

BOS_ID = EOS_ID  # the sequence starts with EOS, which also ends it


class ARModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.cond = Conditioning(cfg)
        self.embed = nn.Embedding(cfg.vocab_size, d)
        self.pos = nn.Parameter(torch.zeros(1, cfg.code_max_len + 1, d))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([Block(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.ar_layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size)

    def memory(self, enc, enc_mask, lang, ex_ids=None):
        """The memory the decoder cross-attends to; ex_ids (B, m, Lc) exemplar programs or None."""
        if ex_ids is None or not self.cfg.exemplars:
            return self.cond(enc, enc_mask, lang)
        ex_ids = trim_exemplars(ex_ids)
        return self.cond(enc, enc_mask, lang, CodeFusion.normalize(self.embed(ex_ids)), ex_ids)

    def forward(self, inp, mem, mem_mask, caches=None, offset: int = 0):
        """inp (B, L) token ids at positions offset..offset+L-1 -> logits (B, L, V)."""
        h = self.embed(inp) + self.pos[:, offset : offset + inp.shape[1]]
        for i, blk in enumerate(self.blocks):
            h = blk(h, mem, mem_mask, causal=True, cache=None if caches is None else caches[i])
        return self.head(self.ln(h))

    def loss(self, y, mem, mem_mask, t=None, schedule=None, noise_mask=None):
        """Teacher-forced CE. y (B, Lc) = program + EOS + PAD; PAD after the EOS is ignored."""
        inp = torch.cat([torch.full_like(y[:, :1], BOS_ID), y[:, :-1]], dim=1)  # (B, Lc)
        logits = self(inp, mem, mem_mask)
        target = y.clone()
        after_eos = (torch.cumsum((y == EOS_ID).int(), 1) - (y == EOS_ID).int()) > 0
        target[after_eos | (y == PAD_ID)] = -100
        ce = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
        n = (target != -100).sum(1).clamp(min=1)
        per = ce.sum(1) / n
        return per.mean(), {"ce": per.detach(), "total": per.detach()}


@torch.inference_mode()
def ar_generate(
    model: ARModel,
    mem,
    mem_mask,
    k: int,
    mode: str = "beam",
    seed: int = 0,
    temperature: float = 0.8,
    cancel: CancelToken = None,
):
    """mem (1, Lm, d). Returns k (ids list, mean log-prob) pairs, best first."""
    L = model.cfg.code_max_len
    if mode == "beam":
        return _beam(model, mem, mem_mask, k, L, cancel)
    gen = torch.Generator().manual_seed(seed)
    memk, maskk = mem.expand(k, -1, -1), mem_mask.expand(k, -1)
    caches: list[dict] = [{} for _ in model.blocks]
    tok = torch.full((k, 1), BOS_ID, dtype=torch.long, device=mem.device)
    out, lps = [], torch.zeros(k, device=mem.device)
    done = torch.zeros(k, dtype=torch.bool, device=mem.device)
    lengths = torch.zeros(k, device=mem.device)
    for pos in range(L):
        if is_cancelled(cancel):
            raise Cancelled("generation cancelled")
        logp = F.log_softmax(model(tok, memk, maskk, caches, offset=pos)[:, -1].float() / temperature, -1)
        nxt = torch.multinomial(logp.exp().cpu(), 1, generator=gen).to(mem.device)  # (k, 1)
        lp = logp.gather(-1, nxt).squeeze(-1)
        lps = lps + torch.where(done, torch.zeros_like(lp), lp)
        lengths = lengths + (~done).float()
        out.append(nxt)
        done = done | (nxt.squeeze(-1) == EOS_ID)
        tok = nxt
        if bool(done.all()):
            break
    ids = torch.cat(out, dim=1).tolist()
    res = [(ids[i], float(lps[i] / lengths[i].clamp(min=1))) for i in range(k)]
    return sorted(res, key=lambda r: -r[1])


def _beam(model, mem, mem_mask, k, L, cancel):
    device = mem.device
    caches = [{} for _ in model.blocks]
    beams = [([], 0.0)]  # (ids, summed log-prob)
    finished: list[tuple[list[int], float]] = []
    tok = torch.full((1, 1), BOS_ID, dtype=torch.long, device=device)
    for pos in range(L):
        if is_cancelled(cancel):
            raise Cancelled("generation cancelled")
        n = tok.shape[0]
        logp = F.log_softmax(
            model(tok, mem.expand(n, -1, -1), mem_mask.expand(n, -1), caches, offset=pos)[:, -1].float(), -1
        )
        top_lp, top_id = logp.topk(k, dim=-1)  # (n, k)
        cand = []
        for b, (_ids, s) in enumerate(beams):
            for j in range(k):
                cand.append((s + float(top_lp[b, j]), b, int(top_id[b, j])))
        cand.sort(key=lambda c: -c[0])
        new_beams, src, nxt = [], [], []
        for s, b, t in cand:
            ids = beams[b][0] + [t]
            if t == EOS_ID:
                finished.append((ids, s / len(ids)))
            else:
                new_beams.append((ids, s))
                src.append(b)
                nxt.append(t)
            if len(new_beams) == k:
                break
        if (
            len(finished) >= k
            and finished
            and max(f[1] for f in finished) >= (new_beams[0][1] / (pos + 1) if new_beams else -1e9)
        ):
            break
        if not new_beams:
            break
        idx = torch.tensor(src, device=device)
        for c in caches:
            c["k"], c["v"] = c["k"][idx], c["v"][idx]
        beams = new_beams
        tok = torch.tensor(nxt, device=device)[:, None]
    finished += [(ids, s / max(len(ids), 1)) for ids, s in beams]
    finished.sort(key=lambda r: -r[1])
    return finished[:k]


@torch.no_grad()
def diffusion_from_ar(ar: ARModel, cfg: ModelConfig) -> CodeFusion:
    """A CodeFusion network whose denoiser N starts as the AR decoder `ar` (DiffuLLaMA, Gong et al. 2024: adapt an
    AR model into a diffusion model instead of training one from scratch). cfg must be an ar_shift, score_interp
    config with denoiser_layers = ar.cfg.ar_layers, the AR model's width, heads, vocabulary and conditioning.

    Copied: the conditioning (language token, NL projection), L = the AR token embeddings, N's blocks = the AR
    blocks (their attention now sees both ways), N's positions = the AR positions (start slot = the BOS input
    position), den_ln/den_head = the AR final norm and head, the start slot = the BOS embedding. N reads x_t through
    its token posterior (ar_shift), in_proj and the time embedding start at zero, so at low noise
    N computes the AR decoder's next-token logits on the (noisy) program. D has no layers at first: H reads
    x0_hat through a LayerNorm with weights = the normalised L table (nearest-embedding decoding)."""
    for f in ("d_model", "n_heads", "vocab_size", "encoder_dim", "ff_mult"):
        if getattr(cfg, f) != getattr(ar.cfg, f):
            raise ValueError(f"{f}: {getattr(cfg, f)} != the AR model's {getattr(ar.cfg, f)}")
    if not (cfg.ar_shift and cfg.score_interp) or cfg.denoiser_layers != ar.cfg.ar_layers:
        raise ValueError("diffusion_from_ar needs ar_shift, score_interp and denoiser_layers = the AR layers")
    m = CodeFusion(cfg)
    m.cond.load_state_dict(ar.cond.state_dict(), strict=False)  # exemplar parts (if any) stay fresh
    m.embed.weight.copy_(ar.embed.weight)
    for dst, src in zip(m.denoiser, ar.blocks, strict=True):
        dst.load_state_dict(src.state_dict())
    n = cfg.code_max_len + 1
    m.pos.copy_(ar.pos[:, :n])
    m.start.copy_(ar.embed.weight[BOS_ID].view(1, 1, -1))
    m.den_ln.load_state_dict(ar.ln.state_dict())
    m.den_head.load_state_dict(ar.head.state_dict())
    m.in_proj.weight.zero_()  # N starts reading x_t only through the token posterior (its AR embedding input)
    m.in_proj.bias.zero_()
    m.time_mlp[-1].weight.zero_()
    m.time_mlp[-1].bias.zero_()
    m.head.weight.copy_(m.normalize(m.embed.weight) * 0.08)  # nearest embedding: logit 20 cos(LN(x0_hat), L(v))
    m.head.bias.zero_()
    m.dec_pos.zero_()
    return m
