"""Write a shipped checkpoint's card.md (and config.json "metrics") from `codefusion eval`
reports, beside the retrieval floors and the AR baseline.

    python scripts/make_card.py --ckpt models/default --eval models/eval --prefix ft \
        --baseline-prefix ar [--cpu-bench models/eval/bench-cpu.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PRIMARY = {"bash": ("template_match", "template match"), "python": ("bleu", "BLEU-4"),
           "cf": ("execution_match", "execution match")}
# ../shared/notes/floors.md: TF-IDF nearest-neighbour retrieval from train, scored on dev
FLOORS = {"bash": (19.5, 28.8, 33.4), "python": (21.8, None, None), "cf": (36.8, 55.3, 68.4)}


def runs(eval_dir: Path, prefix: str, lang: str) -> list[dict]:
    f = eval_dir / f"{prefix}-{lang}.json"
    return json.loads(f.read_text())["runs"] if f.exists() else []


def fmt(x) -> str:
    return "–" if x is None else f"{x:.1f}"


m_kind = "diffusion"


def table(eval_dir: Path, prefix: str, baseline: str | None, name: str, extra=()) -> tuple[str, dict]:
    lines = ["| language (dev) | system | sampling steps | metric | top-1 | top-3 | top-5 | valid top-1 (after pipeline) "
             "| distinct / query | eval latency p50 (k=5)¹ |", "|" + "---|" * 10]
    metrics: dict = {}
    for lang, (key, mname) in PRIMARY.items():
        fl = FLOORS[lang]
        lines.append(f"| {lang} | retrieval floor | – | {mname} | {fmt(fl[0])} | {fmt(fl[1])} | {fmt(fl[2])} | | | |")
        for sys_name, pre in ((name, prefix), *[(n, p) for p, n in extra], ("AR baseline", baseline)):
            if not pre:
                continue
            for r in runs(eval_dir, pre, lang):
                acc = r["accuracy"]["pipeline"].get(key, {})
                steps = r["steps"] if pre != baseline and m_kind == "diffusion" else "–"
                lines.append(
                    f"| {lang} | {sys_name} | {steps} | {mname} | {fmt(acc.get('top1'))} | {fmt(acc.get('top3'))} | "
                    f"{fmt(acc.get('top5'))} | {fmt(r['validity']['after']['top1'])} | "
                    f"{r['diversity']['distinct_per_query']:.2f} | {r['speed']['latency_p50_s'] * 1000:.0f} ms |")
                if pre not in (prefix, baseline):
                    continue  # extra rows are shown, not stored as this model's metrics
                metrics.setdefault(lang, {})[f"{'diffusion' if pre == prefix else 'ar'}_steps{r['steps']}"] = {
                    "metric": key, **{k: acc.get(k) for k in ("top1", "top3", "top5")},
                    "valid_top1_after": r["validity"]["after"]["top1"],
                    "distinct_per_query": r["diversity"]["distinct_per_query"]}
    return "\n".join(lines), metrics


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ckpt", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--baseline-prefix", default=None)
    p.add_argument("--name", default="CodeFusion (this model)")
    p.add_argument("--cpu-bench", default=None)
    p.add_argument("--gpu-bench", default=None)
    p.add_argument("--notes", default=None, help="a markdown file appended as is")
    p.add_argument("--extra", nargs="*", default=[], metavar="PREFIX=NAME",
                   help="more rows: eval reports PREFIX-LANG.json shown as NAME (e.g. the previous model)")
    a = p.parse_args()
    ck, ev = Path(a.ckpt), Path(a.eval)
    cfg = json.loads((ck / "config.json").read_text())
    m = cfg["model"]
    global m_kind
    m_kind = m["kind"]
    extra = [tuple(x.split("=", 1)) for x in a.extra]
    tbl, metrics = table(ev, a.prefix, a.baseline_prefix, a.name, extra)
    out = [f"# CodeFusion checkpoint: {ck.name}", "",
           f"- kind: {m['kind']}; languages: {', '.join(m['languages'])} (one model; a language token conditions it)",
           f"- sizes: d={m['d_model']}, denoiser {m['denoiser_layers']} layers, decoder {m['decoder_layers']} layers"
           f"{', AR decoder %d layers' % m['ar_layers'] if m['kind'] == 'ar' else ''}, vocab {m['vocab_size']} "
           f"(byte-level BPE), {m['code_max_len']} code tokens, {m['nl_max_len']} NL tokens; weights stored fp16",
           f"- NL encoder: {m['encoder']} (all-MiniLM-L6-v2, frozen, 22.7 M params, not stored here)",
           f"- training data: {', '.join(cfg['data'])} (from ../shared/data)",
           f"- initialised from: {cfg.get('init') or 'scratch'}",
           f"- training: {cfg['step']} steps of batch {cfg['train']['batch_size']} in {cfg['elapsed_s']} s "
           f"on {cfg['hardware']}",
           f"- default sampling steps: {m['default_steps']}" if m["kind"] == "diffusion" else "- decoding: beam search, k beams",
           *([f"- noise: {m.get('schedule', 'sqrt')} schedule"
              + (f", token SNR {m.get('snr_max')} to {m.get('snr_min')}, last step at SNR {m.get('sample_end_snr')}"
                 if m.get("schedule") == "logsnr" else "")
              + f"; x0_scale {m['x0_scale']}; skip/input scaling: {m.get('skip', False)}/{m.get('input_scaling', False)}"]
             if m["kind"] == "diffusion" else []),
           *([f"- exemplars: the {m['exemplars']} nearest training programs by NL (TF-IDF) in the memory; "
              f"sampling starts from the nearest noised to token SNR {m.get('exemplar_start_snr', 0)}"
              f"{' (0: pure noise)' if not m.get('exemplar_start_snr') else ''}"] if m.get("exemplars") else []),
           "", "## Dev-set results (codefusion eval, k = 5, seed 0, after the candidate pipeline)", "", tbl, ""]
    for name, f in (("GPU", a.gpu_bench), ("CPU", a.cpu_bench)):
        if f and Path(f).exists():
            out += [f"## {name} benchmark (python -m engine.bench)", "", "```json", Path(f).read_text().strip(), "```", ""]
    if a.notes:
        out += [Path(a.notes).read_text()]
    (ck / "card.md").write_text("\n".join(out))
    cfg["metrics"] = metrics
    (ck / "config.json").write_text(json.dumps(cfg, indent=2))
    print(f"wrote {ck / 'card.md'}")


if __name__ == "__main__":
    main()
