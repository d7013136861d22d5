"""Sequence-level knowledge distillation data (Kim & Rush 2016): the AR baseline's greedy program for
every training request, to train the diffusion model on one mode per request.

A non-autoregressive first guess from pure noise averages the many programs a request may have
(`top -b - - - - | - |`); an AR teacher's output picks one of them. Each AR program is kept where it
parses and does not loop (a 1-4 token group three times running); otherwise the reference stays.
Writes OUT/kd-<LANG>.jsonl ({nl, code: the reference, kd: the AR program or absent, lang}) and prints per
file how many AR programs were kept and how many equal the reference. `codefusion train --data` on these
files trains the rows drawn without exemplars (the no-bank path) on "kd" and the rows with exemplars on
the reference (engine.data.Example.kd).

    python scripts/research/kd_targets.py --teacher models/ar-baseline --out runs/kd \\
        ../shared/data/bash/codefusion-train.jsonl ../shared/data/python/codefusion-train.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from codefusion.runtime import Engine  # noqa: E402
from engine.ar_model import BOS_ID  # noqa: E402
from engine.tokenizer import EOS_ID  # noqa: E402
from grammar.syntax import check  # noqa: E402


def loops(code: str) -> bool:
    """A group of 1-4 whitespace tokens three times in a row (a degenerate greedy decode)."""
    toks = code.split()
    for n in (1, 2, 3, 4):
        for i in range(len(toks) - 3 * n + 1):
            if toks[i : i + n] == toks[i + n : i + 2 * n] == toks[i + 2 * n : i + 3 * n]:
                return True
    return False


@torch.inference_mode()
def greedy(gen, rows: list[dict], batch: int = 64) -> list[str]:
    """The teacher's greedy program for each row, batched with a KV cache."""
    model, out = gen.model, []
    for b in range(0, len(rows), batch):
        chunk = rows[b : b + batch]
        plans = [gen._plan(r["nl"], r["lang"], 1, None, 0, [], None) for r in chunk]
        width = max(p.mem.shape[1] for p in plans)
        mem = torch.cat([F.pad(p.mem, (0, 0, 0, width - p.mem.shape[1])) for p in plans])
        mask = torch.cat([F.pad(p.mem_mask, (0, width - p.mem_mask.shape[1]), value=False) for p in plans])
        caches: list[dict] = [{} for _ in model.blocks]
        tok = torch.full((len(chunk), 1), BOS_ID, dtype=torch.long, device=mem.device)
        steps, done = [], torch.zeros(len(chunk), dtype=torch.bool, device=mem.device)
        for pos in range(model.cfg.code_max_len):
            tok = model(tok, mem, mask, caches, offset=pos)[:, -1].argmax(-1, keepdim=True)
            steps.append(tok)
            done |= tok.squeeze(-1) == EOS_ID
            if bool(done.all()):
                break
        out += [gen._decode(p, ids) for p, ids in zip(plans, torch.cat(steps, 1).tolist())]
        print(f"  {min(b + batch, len(rows))}/{len(rows)}", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="training JSONL files (nl, code, lang)")
    ap.add_argument("--teacher", default=str(REPO / "models" / "ar-baseline"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    gen = Engine.open(a.teacher, bank=[], device=a.device).generator
    if getattr(gen.cfg, "kind", None) != "ar":
        raise SystemExit(f"kd_targets: {a.teacher} is not an AR checkpoint")
    a.out.mkdir(parents=True, exist_ok=True)
    for f in a.files:
        rows = [json.loads(line) for line in f.open() if line.strip()]
        t0 = time.process_time()
        programs = greedy(gen, rows)
        kept = same = 0
        lang = rows[0]["lang"]
        with (a.out / f"kd-{lang}.jsonl").open("w") as fo:
            for r, ar in zip(rows, programs):
                ok = bool(ar.strip()) and not loops(ar) and check(ar, r["lang"]).valid
                kept += ok
                same += ar.strip() == r["code"].strip()
                rec = {"nl": r["nl"], "code": r["code"], "lang": r["lang"]}
                fo.write(json.dumps({**rec, "kd": ar} if ok else rec) + "\n")
        print(
            f"{f.name}: {len(rows)} requests, AR program kept {kept} ({100 * kept / len(rows):.1f} %), equal to the "
            f"reference {same} ({100 * same / len(rows):.1f} %), {time.process_time() - t0:.0f} CPU-s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
