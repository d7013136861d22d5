"""Benchmark: parameter counts, training samples/s, generation latency for the default k.

    python scripts/research/bench_engine.py [--configs small paper] [--steps 10 20 50] [--device cpu|cuda]
        [--checkpoint DIR]

Latency does not depend on the weights, so untrained networks of each named size are
timed unless --checkpoint is given. The NL encoder E runs in every timed generation.
Prints a table; --json writes the figures too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from engine import checkpoint
from engine.api import DEFAULT_K
from engine.config import load_config
from engine.generator import Generator, configure_threads, pick_device
from engine.schedule import make_schedule
from engine.tokenizer import CodeTokenizer

QUERIES = [
    "find all python files modified today",
    "count the lines of every log file",
    "delete empty directories under the current folder",
    "show the ten largest files",
    "print the current date in ISO format",
]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def build_untrained(name: str, device: str, encoder=None) -> Generator:
    from engine.encoder import NLEncoder

    mcfg, _ = load_config(name)
    enc = encoder or NLEncoder(mcfg.encoder, mcfg.nl_max_len)
    mcfg.encoder_dim = enc.dim
    tok = CodeTokenizer.train(["ls -la", "echo hi"], 300)  # latency needs no real vocabulary
    model = checkpoint.build_model(mcfg)
    return Generator(checkpoint.Loaded(mcfg, model.to(device).eval(), enc.to(device).eval(), tok, {}, None), device)


def count_params(gen: Generator) -> dict:
    net = sum(p.numel() for p in gen.model.parameters())
    enc = sum(p.numel() for p in gen.encoder.parameters())
    return {"network_M": round(net / 1e6, 2), "encoder_M": round(enc / 1e6, 2)}


def time_generate(gen: Generator, steps: int, k: int, repeats: int = 10, amp: bool = False) -> dict:
    times = []
    for i in range(repeats + 2):
        q = QUERIES[i % len(QUERIES)] + f" {i}"  # a fresh NL each time: no encoder cache hit
        _sync(gen.device)
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            gen.generate(q, "bash", k=k, steps=steps, seed=i)
        _sync(gen.device)
        if i >= 2:  # warm-up
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1)}


def train_throughput(gen: Generator, batch: int, iters: int = 5) -> float:
    from engine.train import _Objective

    model, cfg = gen.model, gen.cfg
    model.train()
    obj = _Objective(model, gen.encoder, make_schedule(cfg))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    amp = gen.device.startswith("cuda")
    y = torch.randint(2, cfg.vocab_size, (batch, cfg.code_max_len), device=gen.device)
    nls = [QUERIES[i % len(QUERIES)] for i in range(batch)]
    lang = torch.zeros(batch, dtype=torch.long, device=gen.device)
    uncond = torch.zeros(batch, dtype=torch.bool, device=gen.device)
    for i in range(iters + 1):
        if i == 1:
            _sync(gen.device)
            t0 = time.perf_counter()
        t = torch.randint(1, cfg.diffusion_steps + 1, (batch,), device=gen.device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss, _ = obj(y, nls, uncond, lang, t, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _sync(gen.device)
    model.eval()
    return batch * iters / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench_engine.py", description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=["small", "paper"])
    p.add_argument("--checkpoint", default=None, help="time this checkpoint instead of untrained sizes")
    p.add_argument("--steps", nargs="+", type=int, default=[10, 20, 50])
    p.add_argument("--device", default=None)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--train-batch", type=int, default=None, help="default: 32 on CPU, 256 on CUDA")
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    a = p.parse_args(argv)
    configure_threads()
    device = pick_device(a.device)
    amp = device.startswith("cuda")
    results = []
    print(
        f"device: {device} ({torch.cuda.get_device_name(0) if amp else f'{torch.get_num_threads()} CPU threads'}), "
        f"torch {torch.__version__}"
    )
    enc = None  # one NL encoder serves every size
    for name in ["checkpoint"] if a.checkpoint else a.configs:
        gen = Generator.load(a.checkpoint, device) if a.checkpoint else build_untrained(name, device, enc)
        enc = gen.encoder
        row = {"config": name, "device": device, **count_params(gen)}
        if not a.no_train and not a.checkpoint:
            row["train_samples_per_s"] = round(train_throughput(gen, a.train_batch or (256 if amp else 32)), 1)
        for s in a.steps:
            row[f"k{DEFAULT_K}_steps{s}"] = time_generate(gen, s, DEFAULT_K, repeats=a.repeats, amp=amp)
        results.append(row)
        lat = "  ".join(
            f"{s} steps p50 {row[f'k{DEFAULT_K}_steps{s}']['p50_ms']} ms "
            f"(p95 {row[f'k{DEFAULT_K}_steps{s}']['p95_ms']})"
            for s in a.steps
        )
        tr = f", train {row['train_samples_per_s']} samples/s" if "train_samples_per_s" in row else ""
        print(
            f"{name}: network {row['network_M']} M + encoder {row['encoder_M']} M params{tr}; k={DEFAULT_K}: {lat}",
            flush=True,
        )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
