"""Generator: a loaded checkpoint that turns (NL, language) into k scored candidates."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from engine import checkpoint
from engine.errors import NoDefaultModelError
from engine.retrieval import dense_for, search_by_language, training_bank
from engine.sampling import diffusion_sample, initial_noise, sequence_scores
from engine.schedule import make_schedule
from engine.schema import K_RANGE, resolve_start_snr
from engine.types import CancelToken, Candidate, program_key


def configure_threads() -> None:
    """CODEFUSION_THREADS=N caps torch's CPU threads (several processes on few cores thrash)."""
    n = os.environ.get("CODEFUSION_THREADS")
    if n and n.isdigit() and int(n) > 0:
        torch.set_num_threads(int(n))


def pick_device(device: str | None) -> str:
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device '{device}' requested but CUDA is not available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"unknown device '{device}' (use cpu, cuda or auto)")
    return device


# the bank is searched this many times deeper than the exemplars needed, so that programs that
# several training NLs share (a third of CF's nearest five) still leave enough distinct ones
SEARCH_WIDTH = 3


def distinct_programs(nearest: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """(program, similarity) pairs, best first, each program once (whitespace aside): k candidates
    start from k different programs, and the memory never holds one program twice (as in training,
    `Retriever.exemplars_loo`)."""
    seen, out = set(), []
    for code, sim in nearest:
        key = program_key(code)
        if key not in seen:
            seen.add(key)
            out.append((code, sim))
    return out


def mix_starts(from_exemplars: list[Candidate], from_noise: list[Candidate], k: int, slots: int) -> list[Candidate]:
    """k candidates from two passes (each best first): the best k - slots that started from exemplars,
    then the best `slots` from pure noise that differ from those, then the rest of either to fill k
    with distinct programs (duplicates only when there are not k distinct); best first by score.
    Copies of the exemplars rank well but add nothing when the exemplars are wrong: the noise starts
    are the model's own programs (CF dev, 38 items: top-5 68.4 -> 76.3 with 2 of 5)."""
    out: list[Candidate] = []
    seen: set[str] = set()

    def add(c: Candidate, start: str) -> bool:
        key = program_key(c.code)
        if key in seen or len(out) >= k:
            return False
        seen.add(key)
        c.meta["start"] = start
        out.append(c)
        return True

    for c in from_exemplars[: k - slots]:
        add(c, "exemplar")
    taken = 0
    for c in from_noise:
        if taken < slots and add(c, "noise"):
            taken += 1
    for c in from_exemplars[k - slots :]:
        add(c, "exemplar")
    for c in from_noise:
        add(c, "noise")
    for start, cands in (("exemplar", from_exemplars), ("noise", from_noise)):  # fewer than k distinct programs:
        for c in cands:  # keep k all the same
            if len(out) < k and all(c is not o for o in out):
                c.meta["start"] = start
                out.append(c)
    return sorted(out, key=lambda c: -c.score)


def _pad_to(t: torch.Tensor, width: int, fill: float | bool) -> torch.Tensor:
    """A (B, L, d) memory or a (B, L) mask padded with `fill` to length `width` (memories differ in length)."""
    return torch.nn.functional.pad(
        t, (0, 0, 0, width - t.shape[1]) if t.dim() == 3 else (0, width - t.shape[1]), value=fill
    )


@dataclass
class _Plan:
    """One request's sampling pass, prepared (Generator._plan)."""

    lang: str
    k: int
    steps: int
    seed: int
    exemplars: list  # programs it conditions on / starts from, nearest first
    sims: list  # their NL similarities to the request
    starts: list | None  # SDEdit: the exemplar each candidate starts from; None: pure noise
    conditioned: bool  # N and D attend to exemplars
    mem: torch.Tensor  # (1 or k, Lm, d)
    mem_mask: torch.Tensor  # (1 or k, Lm)
    lang_id: torch.Tensor
    x_T: torch.Tensor | None = None  # (k, Lc, d) the start sample
    t_start: int | None = None
    t_end: int | None = None
    edit: torch.Tensor | None = None  # (k,) bool
    slots: int = 0  # a pure-noise pass beside exemplar starts: how many of its candidates the request keeps
    literals: dict | None = None  # {slot: the request's literal} (engine/slots.py): filled into a literal_slots
    #   model's slots, and into a candidate's placeholders when cfg.adapt_arguments


class Generator:
    def __init__(self, loaded: checkpoint.Loaded, device: str, bank=None):
        """bank: a Retriever whose nearest programs condition an exemplar model (cfg.exemplars > 0);
        None: such a model runs without exemplars."""
        self.loaded = loaded
        self.bank = bank  # what exemplars and retrieval draw on (engine.banks.exemplar_bank may widen it)
        self.base_bank = bank  # the checkpoint's training files
        self.cfg = loaded.cfg
        self.model = loaded.model
        self.encoder = loaded.encoder
        self.tokenizer = loaded.tokenizer
        self.device = device
        self.schedule = make_schedule(self.cfg) if self.cfg.kind == "diffusion" else None
        # logsnr: the last sampling step sits where tokens are readable, however many steps there are
        self.t_end = (
            self.schedule.t_at_snr(self.cfg.sample_end_snr)
            if self.schedule is not None and self.cfg.schedule == "logsnr"
            else None
        )

    @classmethod
    def load(cls, path: Path, device: str | None = None, bank="auto") -> Generator:
        """bank "auto": for an exemplar model, the training files its config.json lists (those found
        on this machine), else none; or a Retriever; or None."""
        configure_threads()
        dev = pick_device(device)
        loaded = checkpoint.load(path, dev)
        if bank == "auto":
            bank = training_bank(loaded.meta, dense_for(loaded)) if loaded.cfg.exemplars else None
        return cls(loaded, dev, bank)

    @property
    def languages(self) -> tuple:
        return tuple(self.cfg.languages)

    @property
    def default_steps(self) -> int:
        return self.cfg.default_steps

    @property
    def fills_arguments(self) -> bool:
        """Whether the request's literals are filled into candidates (and, in suggest(), retrieved examples)."""
        return bool(self.cfg.adapt_arguments)

    @property
    def kind(self) -> str:
        return self.cfg.kind

    @property
    def path(self) -> Path:
        return self.loaded.path

    def exemplars_for(self, nl: str, lang: str, n: int | None = None) -> list[str]:
        """The n (default m) programs of the bank nearest to the request, best first ([] without a
        bank or for m = 0)."""
        return [code for code, _ in self._nearest(nl, lang, n)]

    def _nearest(self, nl: str, lang: str, n: int | None = None) -> list[tuple[str, float]]:
        """(program, cosine similarity of its NL to the request) for the n nearest distinct programs
        (whitespace aside), best first."""
        if not self.cfg.exemplars or self.bank is None:
            return []
        n = n or self.cfg.exemplars
        from engine.banks import exemplar

        hits = self.bank.search(nl, lang, n * SEARCH_WIDTH)
        return distinct_programs([(exemplar(c), c.score) for c in hits])[:n]

    def _ids(self, codes: list[str]) -> list[list[int]]:
        return [self.tokenizer.encode_padded(c, self.cfg.code_max_len) for c in codes]

    def _exemplar_ids(self, exemplars: list[str], starts: list[int] | None = None) -> torch.Tensor | None:
        """The m exemplar programs N and D attend to: the first m (1, m, Lc); or with `starts`, per
        candidate the one it starts from and the best others, in rank order (k, m, Lc). PAD rows: none."""
        m = self.cfg.exemplars
        if not exemplars or not m:
            return None
        if starts is None:
            picks = [list(range(min(m, len(exemplars))))]
        else:
            picks = [sorted([s] + [j for j in range(len(exemplars)) if j != s][: m - 1]) for s in starts]
        ids = self._ids(exemplars)
        pad = [0] * self.cfg.code_max_len
        rows = [[ids[j] for j in pick] + [pad] * (m - len(pick)) for pick in picks]
        return torch.tensor(rows, device=self.device)  # (1 or k, m, Lc)

    def _memory(self, nls: list[str], langs: list[str], ex_ids=None):
        """(memory, mask, lang ids) for the requests (one request and k rows of exemplars: k rows)."""
        enc, mask = self.encoder(nls, self.device)
        lang = torch.tensor([self.cfg.languages.index(lg) for lg in langs], device=self.device)
        if ex_ids is not None and ex_ids.shape[0] > enc.shape[0]:
            n = ex_ids.shape[0]
            enc, mask, lang = enc.expand(n, -1, -1), mask.expand(n, -1), lang.expand(n)
        return (*self.model.memory(enc, mask, lang, ex_ids), lang)

    @torch.inference_mode()
    def generate(
        self,
        nl: str,
        lang: str,
        k: int,
        steps: int | None = None,
        seed: int = 0,
        cancel: CancelToken = None,
        guidance: float = 1.0,
        clamp: str | None = None,
        ar_mode: str = "beam",
        exemplars: list[str] | None = None,
        start_snr: float | None = None,
        noise_slots: int | None = None,
    ) -> list[Candidate]:
        """k candidates from k noise seeds (seed, seed+1, ...) in one batched pass, best first.

        exemplars: programs to condition on (default: the bank's nearest, for an exemplar model).
        start_snr > 0 (default cfg.exemplar_start_snr, per language): candidate i starts from the i-th
        nearest program noised to that token SNR (SDEdit) rather than from pure noise, and attends to it
        and the best others (m in all); the k candidates thus edit k different exemplars. With noise
        slots for the language (cfg.exemplar_noise_slots_lang, at the checkpoint's own start level), a
        second pass from pure noise supplies that many of the k (mix_starts); `noise_slots` sets that number
        for this request. A start level given here (a sweep measures one kind of start) has no noise pass."""
        plan = self._plan(nl, lang, k, steps, seed, exemplars, start_snr)
        if self.cfg.kind == "ar":
            from engine.ar_model import ar_generate

            res = ar_generate(self.model, plan.mem, plan.mem_mask, k, mode=ar_mode, seed=seed, cancel=cancel)
            return [Candidate(self._decode(plan, ids), score, meta={"kind": "ar"}) for ids, score in res]
        noise = self._noise_plan(plan, nl, start_snr, noise_slots)
        out = [self._sample(p, guidance, clamp, cancel) for p in (plan, noise) if p is not None]
        return out[0] if noise is None else mix_starts(out[0], out[1], k, noise.slots)

    def _sample(self, plan: _Plan, guidance: float, clamp: str | None, cancel: CancelToken) -> list[Candidate]:
        """One plan's sampling pass -> its k candidates, best first."""
        k = plan.k
        mem, mem_mask = plan.mem.expand(k, -1, -1), plan.mem_mask.expand(k, -1)
        uncond = None
        if guidance != 1.0:  # seeded: the result still depends only on (seed, i)
            uncond = self.model.cond.unconditional(plan.lang_id.expand(k), torch.Generator().manual_seed(plan.seed))
        ids, lp = diffusion_sample(
            self.model,
            mem,
            mem_mask,
            plan.x_T,
            plan.steps,
            self.schedule,
            clamp=self.cfg.clamp if clamp is None else clamp,
            guidance=guidance,
            uncond=uncond,
            cancel=cancel,
            spacing=self.cfg.step_spacing,
            t_start=plan.t_start,
            edit=plan.edit,
            t_end=plan.t_end,
        )
        return self._finish(plan, ids, lp)

    def noise_slots_for(self, lang: str, requested: int | None = None) -> int:
        """How many of a request's k candidates come from pure noise beside the exemplar starts: the
        request's own number, else the checkpoint's for the language."""
        if requested is not None:
            return int(requested)
        return int((self.cfg.exemplar_noise_slots_lang or {}).get(lang, 0))

    def _noise_plan(
        self, plan: _Plan, nl: str, start_snr: float | None, noise_slots: int | None = None
    ) -> _Plan | None:
        """The second pass of a request whose sampling mixes starts: k seeds from pure noise, conditioned
        on the NL and the same nearest exemplars; None when the request has no noise slots (or its
        start level was set by the caller: a sweep measures one kind of start)."""
        if plan.starts is None or start_snr is not None:
            return None
        slots = min(self.noise_slots_for(plan.lang, noise_slots), plan.k)
        if slots <= 0:
            return None
        noise = self._plan(nl, plan.lang, plan.k, plan.steps, plan.seed, plan.exemplars, 0.0)
        noise.slots = slots
        return noise

    @torch.inference_mode()
    def generate_many(self, requests: list[dict], cancel: CancelToken = None) -> list[list[Candidate]]:
        """generate() for several requests ({"nl", "lang", "k", "steps"?, "seed"?, "start_snr"?,
        "noise_slots"?}) in as few sampling passes as their step counts and start levels allow (one,
        usually): what a server that batches
        requests from many editors runs. Each request gets what generate() alone would give it (up
        to float rounding). An AR model runs them one by one."""
        if self.cfg.kind == "ar":
            return [
                self.generate(
                    r["nl"],
                    r["lang"],
                    r["k"],
                    r.get("steps"),
                    r.get("seed", 0),
                    cancel,
                    start_snr=r.get("start_snr"),
                    noise_slots=r.get("noise_slots"),
                )
                for r in requests
            ]
        for r in requests:
            self.check_request(r["nl"], r["lang"], r["k"])
        nls = [r["nl"].strip() for r in requests]
        self.encoder(nls, self.device)  # one encoder pass for the batch: the steps below find it cached
        nearest = self._nearest_batch(nls, [r["lang"] for r in requests], [r["k"] for r in requests])
        plans = [
            self._plan(r["nl"], r["lang"], r["k"], r.get("steps"), r.get("seed", 0), None, r.get("start_snr"), near)
            for r, near in zip(requests, nearest)
        ]
        noises = [
            self._noise_plan(p, r["nl"], r.get("start_snr"), r.get("noise_slots")) for p, r in zip(plans, requests)
        ]
        mixed = [i for i, n in enumerate(noises) if n is not None]
        plans += [n for n in noises if n is not None]  # in mixed's order; they group with the other pure-noise passes
        out: list[list[Candidate] | None] = [None] * len(plans)
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(plans):
            groups.setdefault((p.steps, p.t_start, p.t_end), []).append(i)
        for (steps, t_start, t_end), members in groups.items():
            ps = [plans[i] for i in members]
            width = max(p.mem.shape[1] for p in ps)  # memories differ in length: pad, masked out
            mem = torch.cat([_pad_to(p.mem, width, 0.0).expand(p.k, -1, -1) for p in ps])
            mask = torch.cat([_pad_to(p.mem_mask, width, False).expand(p.k, -1) for p in ps])
            x_T = torch.cat([p.x_T for p in ps])
            edit = None if t_start is None else torch.cat([p.edit for p in ps])
            ids, lp = diffusion_sample(
                self.model,
                mem,
                mask,
                x_T,
                steps,
                self.schedule,
                clamp=self.cfg.clamp,
                cancel=cancel,
                spacing=self.cfg.step_spacing,
                t_start=t_start,
                edit=edit,
                t_end=t_end,
            )
            row = 0
            for i, p in zip(members, ps):
                out[i] = self._finish(p, ids[row : row + p.k], lp[row : row + p.k])
                row += p.k
        for j, i in enumerate(mixed):
            own, noise, plan = out[i], out[len(requests) + j], noises[i]
            assert own is not None and noise is not None and plan is not None  # every pass ran above
            out[i] = mix_starts(own, noise, requests[i]["k"], plan.slots)
        return cast(list[list[Candidate]], out[: len(requests)])  # every pass ran above

    def check_request(self, nl: str, lang: str, k: int) -> None:
        """ValueError when this model cannot answer the request (language, empty request, k)."""
        if lang not in self.cfg.languages:
            raise ValueError(f"language '{lang}' is not served by this model ({', '.join(self.cfg.languages)})")
        if not isinstance(nl, str) or not nl.strip():
            raise ValueError("the NL request is empty")
        if not K_RANGE[0] <= k <= K_RANGE[1]:  # engine.schema: the one k limit, the same message as a Request's
            raise ValueError(f"k must be an integer in {K_RANGE[0]}..{K_RANGE[1]}, got {k!r}")

    def _nearest_batch(self, nls: list[str], langs: list[str], ks: list[int]) -> list[list | None]:
        """_nearest for a batch, one bank search per language (None: let _plan search)."""
        from engine.banks import exemplar

        if not self.cfg.exemplars:
            return [None] * len(nls)
        found = search_by_language(self.bank, nls, langs, [max(k, self.cfg.exemplars) * SEARCH_WIDTH for k in ks])
        return [None if hits is None else distinct_programs([(exemplar(c), c.score) for c in hits]) for hits in found]

    def _plan(
        self,
        nl: str,
        lang: str,
        k: int,
        steps: int | None,
        seed: int,
        exemplars: list[str] | None,
        start_snr: float | None,
        nearest: list | None = None,
    ) -> _Plan:
        """Everything a request's sampling pass needs: checks, exemplars, memory and the start x_T."""
        self.check_request(nl, lang, k)
        steps = self.cfg.default_steps if steps is None else int(steps)
        start_snr = resolve_start_snr(start_snr, self.cfg, lang)
        sdedit = bool(start_snr) and self.cfg.kind == "diffusion" and bool(self.cfg.exemplars)
        sims: list[float] = []
        if exemplars is None:  # SDEdit: k candidates start from the k nearest programs, one each
            n = max(k, self.cfg.exemplars) if sdedit else self.cfg.exemplars
            nearest = nearest[:n] if nearest is not None else self._nearest(nl.strip(), lang, n)
            exemplars, sims = [c for c, _ in nearest], [s for _, s in nearest]
        sdedit = sdedit and bool(exemplars)
        n_ex = len(exemplars)
        starts = [i % n_ex for i in range(k)] if sdedit else None
        ex_ids = self._exemplar_ids(exemplars, starts)
        from engine.slots import slot_request

        nl_in, literals = slot_request(nl.strip())
        if not self.cfg.literal_slots:  # a literal_slots model reads "... FILE0 ..." and writes FILE0
            nl_in = nl.strip()
        mem, mem_mask, lang_id = self._memory([nl_in], [lang], ex_ids)  # (1 or k, Lm, d)
        plan = _Plan(
            lang, k, steps, seed, exemplars, sims, starts, ex_ids is not None, mem, mem_mask, lang_id, literals=literals
        )
        if self.cfg.kind == "ar":
            return plan
        plan.x_T = initial_noise(k, self.cfg.code_max_len, self.cfg.d_model, seed, self.device)
        plan.t_end = self.t_end
        if sdedit:  # noise candidate i's exemplar to start_snr and denoise from there
            assert self.schedule is not None and starts is not None  # a diffusion model; sdedit sets starts
            plan.t_start = self.schedule.t_at_snr(start_snr)
            x0_ex = self.model.embed_tokens(torch.tensor(self._ids([exemplars[j] for j in starts]), device=self.device))
            plan.x_T = self.schedule.add_noise(x0_ex, plan.x_T, torch.full((k,), plan.t_start, device=self.device))
            plan.edit = torch.ones(k, dtype=torch.bool, device=self.device)
            # a start above the usual end level walks on towards the clean end instead
            if self.t_end is not None and plan.t_start <= self.t_end:
                plan.t_end = 1
        return plan

    def _decode(self, plan: _Plan, ids: list[int]) -> str:
        """Token ids -> program text, the request's literals filled into its slots (literal_slots models)."""
        code = self.tokenizer.decode(ids)
        if plan.literals and self.cfg.literal_slots:
            from engine.slots import fill

            code = fill(code, plan.literals)
        if plan.literals and self.cfg.adapt_arguments:
            from engine.slots import adapt_arguments

            code = adapt_arguments(code, plan.literals)[0]
        return code

    def _finish(self, plan: _Plan, ids: torch.Tensor, lp: torch.Tensor) -> list[Candidate]:
        """A pass's token ids and log-probs (k, Lc) -> the request's candidates, best first."""
        scores = logprobs = sequence_scores(ids, lp)
        starts = plan.starts
        sdedit = starts is not None
        weight = (self.cfg.exemplar_rank_weight_lang or {}).get(plan.lang, self.cfg.exemplar_rank_weight)
        # one comparable score: the model's confidence and how near its start is
        if starts is not None and plan.sims and weight:
            scores = [sc + weight * plan.sims[j] for sc, j in zip(scores, starts)]
        from engine.banks import exemplar_source

        exemplars = plan.exemplars
        ex_norm = (
            {program_key(c) for c in (exemplars if sdedit else exemplars[: self.cfg.exemplars])}
            if plan.conditioned
            else None
        )
        cands = []
        for i, (row, s) in enumerate(zip(ids.tolist(), scores)):
            code = self._decode(plan, row)
            # codefusion.scoring reads the log-prob
            meta: dict[str, Any] = {"seed": plan.seed + i, "steps": plan.steps, "logprob": float(logprobs[i])}
            if starts is not None:
                meta["exemplar"] = starts[i]
                meta["exemplar_code"] = str(exemplars[starts[i]])
                if plan.sims:  # the bank's similarity of that exemplar's request to this one
                    meta["exemplar_similarity"] = float(plan.sims[starts[i]])
            if ex_norm is not None:
                meta["copy"] = program_key(code) in ex_norm
            src = exemplar_source(
                exemplars, code if meta.get("copy") else None, starts[i] if starts is not None else None
            )
            if src:  # the bank the exemplar it copies (else starts from) came from (engine.banks)
                meta["exemplar_source"] = src
            cands.append(Candidate(code, s, meta=meta))
        return sorted(cands, key=lambda c: -c.score)


def load_generator(
    checkpoint: str | Path | None = None, device: str | None = None, bank: str | None = "default"
) -> Generator:
    """Load a checkpoint directory (diffusion or autoregressive) and return a Generator.

    checkpoint=None uses the shipped default model (NoDefaultModelError if absent).
    device=None picks CUDA when available, else CPU.
    bank "default": an exemplar model draws on default_bank (the shipped bank, the training files found
    here) from the first request; None: no bank until the caller sets one (generator.bank).
    Raises CheckpointError with a one-line message on any bad checkpoint.
    """
    from engine.banks import default_bank
    from engine.meta import default_checkpoint_dir

    if checkpoint is None:
        checkpoint = default_checkpoint_dir()
        if checkpoint is None:
            raise NoDefaultModelError(
                "no default model is installed (models/default is missing); pass --checkpoint DIR "
                "or train one: codefusion train --config small --data FILE.jsonl --out DIR"
            )
    gen = Generator.load(Path(checkpoint), device=device, bank=None)
    if bank == "default" and gen.cfg.exemplars:  # built now: the first request pays nothing
        gen.bank = default_bank(gen)
    return gen
