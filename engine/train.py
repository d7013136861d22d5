"""Training: fine-tuning on NL->code pairs and the paper's two pre-training tasks.

One process, or several under torchrun (DistributedDataParallel; gloo on CPU, NCCL
on GPU). bf16 autocast on CUDA. Resumable (--resume). Logs metrics.jsonl with the
loss per noise-level bucket, samples a dev slice every eval_every steps, and plots
the training curve at the end.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

from engine import checkpoint
from engine.config import ModelConfig, TrainConfig, load_config
from engine.cpd import keyword_identifier_spans, masked_text, token_mask
from engine.data import Example, language_weights, load_pairs, load_pretrain, log, read_jsonl
from engine.errors import CheckpointError, EngineError
from engine.model import UNCOND_LEN
from engine.schedule import make_schedule
from engine.tokenizer import CodeTokenizer

# model config fields that --set may change when training goes on from --init / --resume: the loss
# weighting and sampling defaults (everything else describes the weights)
CHANGEABLE_AT_INIT = (
    "pad_weight",
    "noise_sampler",
    "default_steps",
    "clamp",
    "step_spacing",
    "dec_weight",
    "clean_weight",
    "output_prior",
    "input_scaling",
    "skip",
    "skip_posterior",
    "exemplars",
    "exemplar_start_snr",
    "exemplar_edit",
    "schedule",
    "snr_min",
    "snr_max",
    "sample_end_snr",
    "code_max_len",
)


@dataclass
class TrainArgs:
    config: str = "small"
    data: list = field(default_factory=list)  # JSONL files (finetune) or LANG=PATH specs (pretrain)
    out: str = "runs/model"
    task: str | None = None  # override TrainConfig.task
    dev: list = field(default_factory=list)  # dev JSONL for periodic sampling
    init: str | None = None  # start from this checkpoint (e.g. a pre-trained one)
    resume: bool = False
    device: str | None = None
    kind: str | None = None  # "diffusion" | "ar"
    max_steps: int | None = None
    time_budget_s: float | None = None
    batch_size: int | None = None
    lr: float | None = None
    eval_every: int | None = None
    save_every: int | None = None
    tokenizer_data: list = field(default_factory=list)  # extra code files for the BPE
    progress: bool = True
    model_overrides: dict = field(default_factory=dict)
    dev_matchers: dict = field(default_factory=dict)  # {"template_bash": fn(code, gold) -> bool}: extra dev figures
    clock: str = "wall"  # what the time budget and snapshots count: "wall" seconds or "cpu" seconds of this
    #   process (all its threads): runs that share a machine then get equal compute (scripts/research/yardstick.py)
    exemplar_bank: list = field(default_factory=list)  # JSONL banks (e.g. tldr-pages) that exemplars are drawn from
    #   for the languages they hold, instead of the training pairs: leaving out the target's own NL and its tldr
    #   page, so the model learns to turn a shipped template into the command the request describes
    snapshot_every_s: float = 0.0  # > 0: every this many seconds (of `clock`) keep a copy of the checkpoint in
    #   OUT/snapshots/s<seconds> (a learning curve is evaluated on them afterwards)


class _Objective(nn.Module):
    """Wraps E + network so that DDP sees one forward() that returns the loss."""

    def __init__(self, model, encoder, schedule):
        super().__init__()
        self.model, self.encoder, self.schedule = model, encoder, schedule

    def forward(self, y, nls, uncond, lang, t, noise_mask, ex=None, start=None, edit=None, unroll=None):
        """nls: the NL strings, or (enc, mask) already computed by E (see _NLTable);
        ex (B, m, Lc) exemplar programs (PAD rows: none) or None; start (B, Lc) / edit (B,): the
        exemplar edit rows (see CodeFusion.loss)."""
        dev = y.device
        enc, mask = nls if isinstance(nls, tuple) else self.encoder(nls, dev)
        if uncond.any():  # E's output replaced by Gaussian noise (unsupervised generation / CFG dropout)
            L = max(enc.shape[1], UNCOND_LEN)
            if enc.shape[1] < L:
                pad = enc.new_zeros(enc.shape[0], L - enc.shape[1], enc.shape[2])
                enc = torch.cat([enc, pad], 1)
                mask = torch.cat([mask, mask.new_zeros(mask.shape[0], L - mask.shape[1])], 1)
            noise = torch.randn_like(enc)
            umask = torch.zeros_like(mask)
            umask[:, :UNCOND_LEN] = True
            enc = torch.where(uncond[:, None, None], noise, enc)
            mask = torch.where(uncond[:, None], umask, mask)
        mem, mem_mask = self.model.memory(enc.float(), mask, lang, ex)
        return self.model.loss(
            y, mem, mem_mask, t, self.schedule, noise_mask=noise_mask, start=start, edit=edit, unroll=unroll
        )


def _dist_info():
    ws = int(os.environ.get("WORLD_SIZE", "1"))
    return ws, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


@dataclass
class _Session:
    """Where a run happens: processes, device, output folder."""

    world: int
    rank: int
    device: str
    out: Path

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def train(args: TrainArgs) -> Path:
    """Train (or pre-train) a model as `args` says; returns the checkpoint directory."""
    ses = _start_session(args)
    mcfg, tcfg = _configs(args, ses.rank)
    examples, dev = _examples(args, tcfg)
    if tcfg.task == "finetune" and _literal_slots(args, mcfg):  # dev stays raw: the generator slots and fills
        examples = slotted(examples)
    mcfg, model, encoder, tok, loaded_from = _model(args, mcfg, tcfg, examples, dev, ses)
    schedule = make_schedule(mcfg)
    if mcfg.kind == "diffusion":
        model.set_schedule(schedule)  # the config may have changed it (--init --set schedule=...)
    model.to(ses.device).train()
    encoder.to(ses.device).train()
    data, bank, table = _training_data(examples, encoder, tok, mcfg, tcfg, ses.device, args.exemplar_bank)
    objective = _Objective(model, encoder, schedule)
    params = [p for p in objective.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=tcfg.lr, weight_decay=tcfg.weight_decay, betas=(0.9, 0.98))
    clock = {"elapsed": 0.0}  # the LR schedule follows max_steps or the time budget, whichever ends first
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(tcfg, clock))
    start_step, elapsed_before = _resume_state(args, ses, opt, sched)
    ddp = objective
    if ses.world > 1:
        ddp = nn.parallel.DistributedDataParallel(
            objective, device_ids=[int(ses.device.split(":")[1])] if ses.device.startswith("cuda") else None
        )
    _loop(
        args,
        ses,
        mcfg,
        tcfg,
        data,
        table,
        ddp,
        params,
        opt,
        sched,
        clock,
        start_step,
        elapsed_before,
        lambda: evaluate_slice(model, encoder, tok, mcfg, dev, ses.device, bank, args.dev_matchers) if dev else {},
        lambda step, elapsed, last_eval: _save(
            ses.out, mcfg, tcfg, model, encoder, tok, opt, sched, step, args, elapsed, last_eval, ses.is_main, ses.world
        ),
    )
    _finish(ses)
    return ses.out


def _literal_slots(args: TrainArgs, mcfg: ModelConfig) -> bool:
    """Whether the model being trained writes literal slots: the checkpoint's own config when training
    goes on from one, else the config asked for."""
    src = Path(args.out) if args.resume and (Path(args.out) / checkpoint.CONFIG_FILE).exists() else args.init
    if src:
        return bool(checkpoint.read_meta(Path(src)).get("model", {}).get("literal_slots", False))
    return bool(mcfg.literal_slots)


def slotted(examples: list[Example]) -> list[Example]:
    """Training pairs with the request's literals as typed slots on both sides (engine/slots.py)."""
    from engine.slots import slot_pair

    out = []
    for e in examples:
        nl, code, _ = slot_pair(e.nl, e.code)
        out.append(Example(nl, code, e.lang))
    return out


def _start_session(args: TrainArgs) -> _Session:
    world, rank, local_rank = _dist_info()
    from engine.generator import configure_threads, pick_device

    configure_threads()
    device = pick_device(args.device)
    if world > 1:
        if device.startswith("cuda"):
            device = f"cuda:{local_rank}"
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    out = Path(args.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    return _Session(world, rank, device, out)


def _configs(args: TrainArgs, rank: int) -> tuple[ModelConfig, TrainConfig]:
    """The named config or file, then the command line's options on top."""
    mcfg, tcfg = load_config(args.config)
    for k, v in [
        ("task", args.task),
        ("max_steps", args.max_steps),
        ("time_budget_s", args.time_budget_s),
        ("batch_size", args.batch_size),
        ("lr", args.lr),
        ("eval_every", args.eval_every),
        ("save_every", args.save_every),
    ]:
        if v is not None:
            setattr(tcfg, k, v)
    if args.kind:
        mcfg.kind = args.kind
    if args.tokenizer_data:
        tcfg.tokenizer_train_files = list(args.tokenizer_data)
    for k, v in args.model_overrides.items():
        if not hasattr(mcfg, k):
            raise EngineError(f"unknown model option '{k}'")
        setattr(mcfg, k, coerce_option(k, getattr(mcfg, k), v))
    torch.manual_seed(tcfg.seed + rank)
    random.seed(tcfg.seed + rank)
    return mcfg, tcfg


def _examples(args: TrainArgs, tcfg: TrainConfig) -> tuple[list[Example], list[Example]]:
    """The training examples and a mixed-language dev slice."""
    if tcfg.task == "finetune":
        examples = load_pairs(args.data)
    elif tcfg.task == "pretrain":
        examples = load_pretrain(args.data, seed=tcfg.seed)
    else:
        raise EngineError(f"unknown task '{tcfg.task}' (finetune or pretrain)")
    if not examples:
        raise EngineError("no training examples in " + ", ".join(map(str, args.data)))
    dev = load_pairs(args.dev) if args.dev else []
    random.Random(0).shuffle(dev)  # a mixed-language slice
    return examples, dev[: tcfg.eval_items]


def _model(args: TrainArgs, mcfg: ModelConfig, tcfg: TrainConfig, examples, dev, ses: _Session):
    """From the checkpoint being resumed or --init (its own config, only CHANGEABLE_AT_INIT fields
    may change), else a new model with a new tokenizer. -> (config, network, E, tokenizer, source)."""
    loaded_from = ses.out if args.resume and (ses.out / checkpoint.CONFIG_FILE).exists() else args.init
    if not loaded_from:
        from engine.encoder import NLEncoder

        encoder = NLEncoder(mcfg.encoder, mcfg.nl_max_len, frozen=mcfg.freeze_encoder)
        mcfg.encoder_dim = encoder.dim
        tok = _shared_tokenizer(examples, dev, mcfg, tcfg, ses.out, ses.is_main, ses.world)
        mcfg.vocab_size = tok.vocab_size
        return mcfg, checkpoint.build_model(mcfg), encoder, tok, None
    loaded = checkpoint.load(Path(loaded_from), ses.device)
    asked = list(args.model_overrides) + (["kind"] if args.kind else [])
    for k in set(asked) & set(CHANGEABLE_AT_INIT):
        _change_at_init(loaded, mcfg, k, asked, loaded_from)
    differ = [
        f"{k}={getattr(mcfg, k)!r} (checkpoint: {getattr(loaded.cfg, k)!r})"
        for k in asked
        if getattr(mcfg, k) != getattr(loaded.cfg, k)
    ]
    if differ:
        raise EngineError(
            f"{loaded_from} keeps its own model config; these options differ from it: "
            f"{', '.join(differ)} (drop them, or train from scratch; only "
            f"{', '.join(CHANGEABLE_AT_INIT)} can change)"
        )
    return loaded.cfg, loaded.model, loaded.encoder, loaded.tokenizer, loaded_from


def _change_at_init(loaded, mcfg: ModelConfig, k: str, asked: list, loaded_from) -> None:
    """Set field k of a loaded model's config to the asked value, with the surgery it needs."""
    if k == "code_max_len":  # fewer positions: keep the first ones
        loaded.model.set_code_length(mcfg.code_max_len)
    if k == "skip" and mcfg.skip and not loaded.cfg.skip:  # same function at pure noise
        loaded.model.enable_skip()
    if k == "exemplar_edit" and mcfg.exemplar_edit and not loaded.cfg.exemplar_edit:
        loaded.model.enable_edit()
    if k == "exemplars" and mcfg.exemplars != loaded.cfg.exemplars:
        if loaded.cfg.exemplars:
            raise EngineError(f"{loaded_from} already conditions on {loaded.cfg.exemplars} exemplars")
        length = mcfg.code_max_len if "code_max_len" in asked else loaded.cfg.code_max_len
        loaded.model.cond.enable_exemplars(mcfg.exemplars, length, loaded.cfg.d_model)
    setattr(loaded.cfg, k, getattr(mcfg, k))  # model.cfg is this object: the loss reads it


def _training_data(examples, encoder, tok, mcfg: ModelConfig, tcfg: TrainConfig, device, bank_files=()):
    """Token tensors, the exemplar bank (exemplar models) and the NL table (a frozen E)."""
    mask_token = getattr(encoder.tokenizer, "mask_token", None) or "<mask>"
    data = _tensorize(examples, tok, mcfg, tcfg.task, mask_token)
    bank = None
    if mcfg.exemplars and tcfg.task == "finetune":
        bank_rows = [dict(r) for f in bank_files for _, r in read_jsonl(Path(f))] if bank_files else None
        bank, data["ex"] = _exemplar_pool(examples, tok, mcfg, tcfg.exemplar_pool, bank_rows)
    table = _NLTable(encoder, data["nl"], device) if tcfg.task == "finetune" and mcfg.freeze_encoder else None
    data["weights"] = torch.tensor(language_weights(examples), dtype=torch.float)
    return data, bank, table


def _resume_state(args: TrainArgs, ses: _Session, opt, sched) -> tuple[int, float]:
    """(step, seconds trained) of the run being resumed, else (0, 0)."""
    if not (args.resume and (ses.out / checkpoint.STATE_JSON).exists()):
        return 0, 0.0
    state = checkpoint.load_train_state(ses.out, opt, sched)
    if ses.is_main:
        log(f"resumed from {ses.out} at step {state['step']}")
    return int(state["step"]), float(state.get("elapsed_s", 0.0))


def _loop(
    args,
    ses: _Session,
    mcfg,
    tcfg,
    data,
    table,
    ddp,
    params,
    opt,
    sched,
    clock,
    step: int,
    elapsed_before: float,
    evaluate,
    save,
) -> int:
    """The training loop: batches, steps, logging, dev samples, checkpoints; returns the last step."""
    use_amp = ses.device.startswith("cuda")
    metrics_f = (ses.out / "metrics.jsonl").open("a") if ses.is_main else None
    if args.clock not in ("wall", "cpu"):
        raise EngineError(f"unknown clock '{args.clock}' (wall or cpu)")
    now = time.process_time if args.clock == "cpu" else time.time
    t0 = now()

    def elapsed():
        return elapsed_before + now() - t0

    next_snapshot = (
        (int(elapsed_before // args.snapshot_every_s) + 1) * args.snapshot_every_s if args.snapshot_every_s else None
    )
    pbar = None
    if ses.is_main and args.progress:
        from tqdm import tqdm

        pbar = tqdm(
            total=tcfg.max_steps, initial=step, desc=f"{tcfg.task} {mcfg.kind}", unit="step", dynamic_ncols=True
        )
    acc = _Accumulator(ddp.module.schedule if hasattr(ddp, "module") else ddp.schedule)
    last_eval: dict = {}
    while step < tcfg.max_steps:
        if tcfg.time_budget_s and elapsed() > tcfg.time_budget_s:
            if ses.is_main:
                log(f"time budget of {tcfg.time_budget_s:.0f}s reached at step {step}")
            break
        clock["elapsed"] = elapsed()
        batch = _batch(
            data, torch.multinomial(data["weights"], tcfg.batch_size, replacement=True), tcfg, mcfg, ses.device, table
        )
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            loss, parts = ddp(*batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, tcfg.grad_clip)
        opt.step()
        sched.step()
        step += 1
        acc.add(parts, batch[4])
        if pbar is not None:
            pbar.update(1)
        if ses.is_main and step % tcfg.log_every == 0:
            row = acc.flush(step, sched.get_last_lr()[0], ses.world, elapsed())
            metrics_f.write(json.dumps(row) + "\n")  # type: ignore[union-attr]  # open where ses.is_main
            metrics_f.flush()  # type: ignore[union-attr]
            if pbar is not None:
                pbar.set_postfix(loss=f"{row['loss']:.3f}", sps=f"{row['samples_per_s']:.0f}")
        if ses.is_main and tcfg.eval_every and step % tcfg.eval_every == 0 and (last_eval := evaluate()):
            metrics_f.write(json.dumps({"step": step, **last_eval}) + "\n")  # type: ignore[union-attr]  # (is_main)
            metrics_f.flush()  # type: ignore[union-attr]
            ddp.train()
        if tcfg.save_every and step % tcfg.save_every == 0:
            save(step, elapsed(), last_eval)
        if next_snapshot is not None and elapsed() >= next_snapshot and ses.is_main:
            save(step, elapsed(), last_eval)
            _snapshot(ses.out, f"s{int(next_snapshot)}")
            next_snapshot += args.snapshot_every_s
    if pbar is not None:
        pbar.close()
    if ses.is_main and (final := evaluate()):
        last_eval = final
        metrics_f.write(json.dumps({"step": step, **last_eval}) + "\n")  # type: ignore[union-attr]  # (is_main)
    save(step, elapsed(), last_eval)
    if ses.is_main:
        metrics_f.close()  # type: ignore[union-attr]  # open where ses.is_main
        try:
            from engine.plots import plot_training

            plot_training(ses.out / "metrics.jsonl", ses.out / "training_curve.png")
        except Exception as e:  # a plot must never lose a trained model
            log(f"training-curve plot failed: {e}")
    return step


def _snapshot(out: Path, name: str) -> None:
    """Copy the checkpoint just saved in `out` (weights, config, tokenizer, card) to out/snapshots/name."""
    import shutil

    dst = out / "snapshots" / name
    dst.mkdir(parents=True, exist_ok=True)
    for f in (checkpoint.MODEL_FILE, checkpoint.CONFIG_FILE, checkpoint.TOKENIZER_FILE, checkpoint.CARD_FILE):
        shutil.copy2(out / f, dst / f)


def _finish(ses: _Session) -> None:
    if ses.world > 1:
        dist.barrier()
        dist.destroy_process_group()


def coerce_option(name: str, current, value):
    """A `--set KEY=VALUE` string as the type of the field's current value."""
    if isinstance(value, str) and isinstance(current, bool):
        low = value.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise EngineError(f"model option '{name}' takes true or false, not '{value}'")
        return low in ("true", "1", "yes")
    try:
        return type(current)(value)
    except (TypeError, ValueError):
        raise EngineError(f"model option '{name}' takes a {type(current).__name__}, not '{value}'") from None


def _lr_lambda(tcfg: TrainConfig, clock: dict):
    def f(step: int) -> float:
        if step < tcfg.warmup_steps:
            return (step + 1) / tcfg.warmup_steps
        p = min(1.0, (step - tcfg.warmup_steps) / max(1, tcfg.max_steps - tcfg.warmup_steps))
        if tcfg.time_budget_s:
            p = max(p, min(1.0, clock["elapsed"] / tcfg.time_budget_s))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p))

    return f


def _shared_tokenizer(examples, dev, mcfg, tcfg, out: Path, is_main: bool, world: int) -> CodeTokenizer:
    path = out / checkpoint.TOKENIZER_FILE
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        texts = [e.code for e in examples]
        for f in tcfg.tokenizer_train_files:  # extra code for the BPE (JSONL "code" fields or text lines)
            if str(f).endswith(".jsonl"):
                texts += [e.code for e in load_pairs([f])]
            else:
                texts += Path(f).read_text(encoding="utf-8").splitlines()
        tok = CodeTokenizer.train(texts, mcfg.vocab_size)
        tok.save(path)
    if world > 1:
        dist.barrier()
    return CodeTokenizer.from_file(path)


def _tensorize(examples: list[Example], tok: CodeTokenizer, mcfg: ModelConfig, task: str, mask_token: str) -> dict:
    L = mcfg.code_max_len
    ids, kd_ids, nls, masks, langs = [], [], [], [], []
    for e in examples:
        row = tok.encode_padded(e.code, L)
        ids.append(row)
        kd_ids.append(tok.encode_padded(e.kd, L) if e.kd and task == "finetune" else row)
        langs.append(mcfg.languages.index(e.lang))
        if task == "pretrain":
            spans = keyword_identifier_spans(e.code, e.lang)
            toks, offs = tok.encode_with_offsets(e.code)
            m = token_mask(offs[: L - 1], spans)
            if not any(m):  # nothing to mask: fall back to noising every content token
                m = [True] * len(m)
            m = m + [False] * (L - len(m))
            masks.append(m)
            nls.append(masked_text(e.code, spans, mask_token) if spans else e.code)
        else:
            nls.append(e.nl)
    out = {
        "ids": torch.tensor(ids, dtype=torch.long),
        "nl": nls,
        "lang": torch.tensor(langs),
        "noise_mask": torch.tensor(masks, dtype=torch.bool) if masks else None,
    }
    if any(e.kd for e in examples) and task == "finetune":  # distilled targets for the rows without exemplars
        out["kd_ids"] = torch.tensor(kd_ids, dtype=torch.long)
    return out


class _NLTable:
    """E's outputs for every distinct training NL, computed once (E frozen, fine-tuning):
    a step then indexes a tensor instead of running or caching E per string."""

    def __init__(self, encoder, nls: list[str], device, batch: int = 256):
        self.row: dict[str, int] = {}
        for s in nls:
            self.row.setdefault(s, len(self.row))
        uniq = list(self.row)
        dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
        self.enc = torch.zeros(len(uniq), encoder.max_len, encoder.dim, dtype=dtype, device=device)
        self.len = torch.zeros(len(uniq), dtype=torch.long, device=device)
        with torch.no_grad():
            for i in range(0, len(uniq), batch):
                h, m = encoder.run(uniq[i : i + batch], device)  # (b, Ln, de), (b, Ln)
                self.enc[i : i + len(h), : h.shape[1]] = h.to(dtype)
                self.len[i : i + len(h)] = m.sum(1)

    def lookup(self, nls: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """-> enc (B, Lmax, de) float, mask (B, Lmax) bool, Lmax = the longest NL in the batch."""
        rows = torch.tensor([self.row[s] for s in nls], device=self.enc.device)
        lens = self.len[rows]
        L = int(lens.max())
        mask = torch.arange(L, device=lens.device)[None] < lens[:, None]
        return self.enc[rows, :L].float(), mask


def _exemplar_pool(
    examples: list[Example], tok: CodeTokenizer, mcfg: ModelConfig, pool: int, bank_rows: list[dict] | None = None
):
    """A retrieval bank over the training pairs and, per example, the token ids of its `pool`
    nearest neighbours by NL, leaving itself out (Retriever.exemplars_loo): (N, pool, Lc), PAD rows
    where fewer exist. For the languages `bank_rows` hold, the neighbours come from those rows instead
    (leave_page_out)."""
    from engine.retrieval import Retriever

    bank = Retriever({"nl": e.nl, "code": e.code, "lang": e.lang} for e in examples)
    L = mcfg.code_max_len
    ex = torch.zeros(len(examples), pool, L, dtype=torch.long)
    by_lang: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_lang.setdefault(e.lang, []).append(i)
    banked = {r.get("lang") for r in bank_rows or ()}
    for lang, rows in by_lang.items():
        nls = [examples[i].nl for i in rows]
        if lang in banked:
            in_bank = [r for r in bank_rows if r.get("lang") == lang]  # type: ignore[union-attr]  # banked: rows given
            found = leave_page_out([examples[i] for i in rows], in_bank, pool)
        else:
            found = bank.exemplars_loo(nls, lang, pool)
        for i, codes in zip(rows, found):
            for j, code in enumerate(codes):
                ex[i, j] = torch.tensor(tok.encode_padded(code, L))
    return bank, ex


def leave_page_out(targets: list[Example], rows: list[dict], k: int) -> list[list[str]]:
    """For each target, the codes of its k nearest bank rows by NL (TF-IDF), never a row with the target's
    own NL (normalised) nor one from the target's tldr page (a target that is itself a bank row), no
    code twice: a request never finds its own page's templates in training, as a new one would not."""
    from engine.retrieval import Retriever, normalise_nl

    lang = targets[0].lang if targets else "bash"
    index = Retriever(rows)._index.get(lang)
    if index is None:
        return [[] for _ in targets]
    page_of = {(normalise_nl(r["nl"]), r["code"]): r.get("page") for r in rows}
    entry_page = [page_of.get((normalise_nl(n), c)) for n, c in zip(index.nls, index.codes)]
    out = []
    for e, hits in zip(targets, index.search_many([e.nl for e in targets], k * 4 + 16)):
        own, page, codes = normalise_nl(e.nl), page_of.get((normalise_nl(e.nl), e.code)), []
        for i, _ in hits:
            if normalise_nl(index.nls[i]) == own or (page is not None and entry_page[i] == page):
                continue
            if index.codes[i] not in codes:
                codes.append(index.codes[i])
            if len(codes) == k:
                break
        out.append(codes)
    return out


def _pick_exemplars(pool: torch.Tensor, m: int, dropout: float, drop: torch.Tensor) -> torch.Tensor:
    """m of each row's pool (B, P, Lc), drawn without replacement and kept in rank order; rows in
    `drop` (B,) bool, and a further `dropout` share, get none (all PAD)."""
    B, P, _ = pool.shape
    m = min(m, P)
    choice = torch.rand(B, P).argsort(1)[:, :m].sort(1).values  # (B, m)
    ex = pool.gather(1, choice[..., None].expand(-1, -1, pool.shape[2])).clone()
    none = drop | (torch.rand(B) < dropout)
    ex[none] = 0  # PAD_ID
    return ex


def _batch(data: dict, idx: torch.Tensor, tcfg: TrainConfig, mcfg: ModelConfig, device, table=None):
    B = idx.shape[0]
    y = data["ids"][idx].to(device)
    nls = [data["nl"][i] for i in idx.tolist()]
    lang = data["lang"][idx].to(device)
    t = sample_t(B, mcfg.diffusion_steps, tcfg.t_power, device)
    noise_mask = None
    if tcfg.task == "pretrain":
        cpd = torch.rand(B) < tcfg.pretrain_mix  # CPD rows; the rest: unsupervised generation
        uncond = ~cpd
        nm = data["noise_mask"][idx].clone()
        nm[uncond] = True  # unsupervised generation noises the whole program
        noise_mask = nm.to(device)
        nls = [s if c else "" for s, c in zip(nls, cpd.tolist())]
        nls = [s if s else "-" for s in nls]
    else:
        uncond = torch.rand(B) < tcfg.cfg_dropout
        if table is not None:
            nls = table.lookup(nls)
    ex = start = edit = None
    if "ex" in data:  # no exemplars where the NL is dropped: they come from the NL
        ex = _pick_exemplars(data["ex"][idx], mcfg.exemplars, tcfg.exemplar_dropout, uncond)
        if tcfg.exemplar_snr and mcfg.kind == "diffusion":  # rows with exemplars: the band sampling uses
            has = ex.ne(0).any(-1).any(-1).to(device)
            t = torch.where(has, _t_in_snr_band(B, tcfg.exemplar_snr, mcfg).to(device), t)
        if mcfg.exemplar_edit and mcfg.kind == "diffusion":
            start, edit, t_edit = _edit_rows(ex, y.cpu(), tcfg, mcfg)
            t = torch.where(edit.to(device), t_edit.to(device), t)
            start, edit = start.to(device), edit.to(device)
        ex = ex.to(device)
    if "kd_ids" in data:  # rows without exemplars (the no-bank path) learn the distilled program
        no_ex = torch.ones(B, dtype=torch.bool) if ex is None else ~ex.ne(0).any(-1).any(-1).cpu()
        y = torch.where(no_ex[:, None].to(device), data["kd_ids"][idx].to(device), y)
    unroll = None
    fine = tcfg.task == "finetune" and mcfg.kind == "diffusion"
    mask_rows = torch.zeros(B, dtype=torch.bool)
    if tcfg.mask_p and fine:
        mask_rows = torch.rand(B) < tcfg.mask_p
        if edit is not None:
            mask_rows = mask_rows & ~edit.cpu()
        noise_mask, t = _mask_predict_rows(mask_rows, t, y.shape[1], mcfg.diffusion_steps)
        noise_mask = noise_mask.to(device)
    if tcfg.unroll_p and fine:
        unroll = _unroll_rows(t, tcfg.unroll_p, mcfg) & ~mask_rows.to(t.device)
        if edit is not None:
            unroll = unroll & ~edit
    return y, nls, uncond.to(device), lang, t, noise_mask, ex, start, edit, unroll


def _mask_predict_rows(rows: torch.Tensor, t: torch.Tensor, L: int, T: int):
    """For TrainConfig.mask_p: noise_mask (B, L) and t (B,) where `rows` (B,) are Mask-Predict rows: each noises
    a share r ~ U(0, 1] of its positions (at least one) at a step among the noisiest fifth, the others stay clean;
    other rows noise every position at their own t."""
    B = rows.shape[0]
    r = torch.rand(B, 1)
    pos = torch.rand(B, L) < r
    pos[torch.arange(B), torch.randint(0, L, (B,))] = True
    noise_mask = torch.where(rows[:, None], pos, torch.ones_like(pos))
    t_mask = (T - (torch.rand(B) * 0.2 * T).long()).clamp(1, T).to(t.device)
    return noise_mask, torch.where(rows.to(t.device), t_mask, t)


def _unroll_rows(t: torch.Tensor, p: float, mcfg: ModelConfig) -> torch.Tensor:
    """Rows (B,) bool to train unrolled (CodeFusion.unrolled_start): a share p of those whose t lies where
    the sampler's second and later steps query N (token SNR at most sample_end_snr)."""
    t_end = make_schedule(mcfg).t_at_snr(mcfg.sample_end_snr)
    return (torch.rand(t.shape[0], device=t.device) < p) & (t >= t_end)


def _edit_rows(ex: torch.Tensor, y: torch.Tensor, tcfg: TrainConfig, mcfg: ModelConfig):
    """For exemplar_edit: which rows (B,) start from one of their exemplars, that exemplar (B, Lc), and
    their t (B,), log-uniform in token SNR over edit_snr. A row qualifies when one of its exemplars is
    an in-place edit of its program: as many tokens, at least half of them equal position by position
    (the denoiser edits positions; it cannot shift them, so a shifted exemplar only teaches it to
    distrust x_t). A share edit_p of those rows is drawn."""
    B, m, L = ex.shape

    def length(ids):
        return ids.ne(0).sum(-1)  # content tokens + EOS

    same = ex.ne(0).any(-1) & (length(ex) == length(y)[:, None])  # (B, m)
    agree = ((ex == y[:, None]) & y.ne(0)[:, None]).sum(-1) / length(y).clamp(min=1)[:, None]
    ok = same & (agree >= 0.5)
    slot = (torch.rand(B, m) * ok).argmax(1)  # a random qualifying slot
    start = ex[torch.arange(B), slot]  # (B, Lc)
    edit = ok.any(1) & (torch.rand(B) < tcfg.edit_p)
    return start, edit, _t_in_snr_band(B, tcfg.edit_snr, mcfg)


def _t_in_snr_band(B: int, band, mcfg: ModelConfig) -> torch.Tensor:
    """B steps t whose token SNRs are log-uniform over band = (lo, hi) (the nearest step, as t_at_snr)."""
    from engine.schedule import make_schedule

    lo, hi = (math.log(v) for v in band)
    snr = torch.exp(lo + torch.rand(B) * (hi - lo))
    table = make_schedule(mcfg).token_snr(torch.arange(1, mcfg.diffusion_steps + 1)).double().log()  # (T,)
    return (table[None] - snr.double().log()[:, None]).abs().argmin(1) + 1


def sample_t(B: int, T: int, power: float, device) -> torch.Tensor:
    """t in 1..T with density ~ t^(1/power - 1): power 1 = uniform; power < 1 favours the
    noisy steps where the model must rely on the NL (the loss of uniform t is dominated
    by easy, low-noise steps; see shared/notes/diffusion-pitfalls.md)."""
    u = torch.rand(B, device=device) ** power
    return (u * T).ceil().long().clamp(1, T)


class _Accumulator:
    """Averages loss parts over a logging interval, and per token-SNR band (schedule.SNR_BANDS):
    the loss and the content-token accuracy of N's own estimate (acc_n) and of D+H (acc_dh)."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.rows: list = []
        self.t0 = time.time()
        self.n = 0

    def add(self, parts: dict, t: torch.Tensor):
        self.rows.append(({k: v.float().cpu() for k, v in parts.items()}, t.cpu()))
        self.n += t.shape[0]

    def flush(self, step: int, lr: float, world: int, elapsed: float) -> dict:
        from engine.schedule import SNR_BANDS

        keys = self.rows[0][0].keys()
        cat = {k: torch.cat([r[0][k] for r in self.rows]) for k in keys}
        snr = self.schedule.token_snr(torch.cat([r[1] for r in self.rows]))
        row: dict[str, float | None] = {
            "step": step,
            "loss": float(cat["total"].mean()),
            "lr": lr,
            "elapsed_s": round(elapsed, 1),
        }
        for k in keys:
            if k not in ("edit", "acc_start"):
                row[k] = float(cat[k].mean())
        plain = torch.ones_like(snr, dtype=torch.bool)
        if "edit" in cat:  # exemplar edit rows: D+H's accuracy beside the exemplar's own; bands without them
            e = cat["edit"] > 0
            plain = ~e
            for k in ("acc_dh", "acc_start"):
                row[f"{k}_edit"] = float(cat[k][e].mean()) if e.any() else None
        for name, lo, hi in SNR_BANDS if "acc_n" in cat else ():  # diffusion only
            sel = (snr >= lo) & (snr < hi) & plain
            for k in ("total", "acc_n", "acc_dh"):
                if k in cat:
                    row[f"{'loss' if k == 'total' else k}_snr{name}"] = float(cat[k][sel].mean()) if sel.any() else None
        dt = time.time() - self.t0
        row["samples_per_s"] = self.n * world / max(dt, 1e-9)
        self.rows, self.n, self.t0 = [], 0, time.time()
        return row


def evaluate_slice(model, encoder, tok, mcfg, dev: list[Example], device, bank=None, matchers=None) -> dict:
    """Sample the dev slice (k=1, default steps): exact match, each of `matchers` {name: fn(code,
    gold) -> bool} (the CLI passes Bash template match), and how many distinct programs come out for
    distinct NLs under the same seed."""
    from engine.generator import Generator

    gen = Generator(checkpoint.Loaded(mcfg, model, encoder, tok, {}, Path(".")), str(device), bank=bank)
    model.eval()
    outs, exact = [], 0
    hits: dict[str, list[bool]] = {}
    for e in dev:
        c = gen.generate(e.nl, e.lang, k=1, seed=0)[0].code
        outs.append(c)
        exact += " ".join(c.split()) == " ".join(e.code.split())
        for name, fn in (matchers or {}).items():
            lang = name.rsplit("_", 1)[-1]  # "template_bash": Bash items only
            if lang == e.lang:
                hits.setdefault(name, []).append(bool(fn(c, e.code)))
    res = {"dev_exact": exact / len(dev), "dev_nl_distinct": len(set(outs)) / len(dev), "dev_n": len(dev)}
    for name, h in hits.items():
        res[f"dev_{name}"] = sum(h) / len(h)
    return res


def _save(out, mcfg, tcfg, model, encoder, tok, opt, sched, step, args, elapsed, last_eval, is_main, world):
    if world > 1:
        dist.barrier()
    if not is_main:
        return
    import dataclasses

    from engine.data import data_name

    data = [data_name(d) if "=" not in str(d) else str(d) for d in args.data]  # pretrain specs stay LANG=PATH
    meta = {
        "train": dataclasses.asdict(tcfg),
        "data": data,
        "init": args.init,
        "step": step,
        "elapsed_s": round(elapsed, 1),
        "hardware": hardware_string(),
        "world_size": world,
        "dev_slice": last_eval,
    }
    if (out / checkpoint.CONFIG_FILE).exists():  # keep metrics a later evaluation added
        try:
            old = checkpoint.read_meta(out)
            if "metrics" in old:
                meta["metrics"] = old["metrics"]
            if args.resume and old.get("init"):  # a resumed run still started from that checkpoint
                meta["init"] = old["init"]
        except CheckpointError:
            pass
    card = "\n".join(["# CodeFusion checkpoint", "", *checkpoint.card_header(mcfg, meta), ""])
    checkpoint.save(out, mcfg, model, encoder, tok, meta, card)
    checkpoint.save_train_state(out, opt, sched, step, {"elapsed_s": elapsed})


def hardware_string() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    return f"CPU ({os.cpu_count()} cores, {platform.machine()}), torch {torch.__version__}"
