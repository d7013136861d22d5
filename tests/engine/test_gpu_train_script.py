"""scripts/gpu_train.sh rehearsed on the CPU (SMOKE=1): the `cont` kind fine-tunes an existing
checkpoint further, evaluates it and packs it into $OUT the way a device call returns it."""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from engine.testing import TINY_PAIRS, write_pairs

REPO = Path(__file__).resolve().parents[2]


def fixture_data(root: Path) -> Path:
    """The shared data's layout, with the tiny pairs as every split."""
    for lang in ("bash", "python", "cf"):
        pairs = [p for p in TINY_PAIRS if p[2] == lang]
        for split in ("train", "dev"):
            write_pairs(root / lang / f"codefusion-{split}.jsonl", pairs)
    write_pairs(root / "bash" / "tldr-train.jsonl", [p for p in TINY_PAIRS if p[2] == "bash"])
    return root


@pytest.mark.slow
def test_cont_variant_continues_a_checkpoint_and_packs_it(tmp_path, tiny_ckpt):
    out, work = tmp_path / "out", tmp_path / "work"
    env = {
        **os.environ,
        "SMOKE": "1",
        "DEVICE": "cpu",
        "PY": sys.executable,
        "DATA": str(fixture_data(tmp_path / "data")),
        "OUT": str(out),
        "WORK": str(work),
        "VARIANTS": f"c=cont:{tiny_ckpt}:",
    }
    r = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_train.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "variants=c=cont:" in (out / "run.log").read_text()

    # the packed checkpoint: the tiny model's config, trained further from it
    parts = sorted(out.glob("c.tar.part-*"))
    assert parts, sorted(p.name for p in out.iterdir())
    packed = tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts)))
    config = json.load(packed.extractfile("ship-c/config.json"))
    assert config["model"] == json.loads((Path(tiny_ckpt) / "config.json").read_text())["model"]
    assert config["init"] == str(tiny_ckpt) and config["step"] > 0
    assert "ship-c/model.safetensors" in packed.getnames()

    # one dev report per language, evaluated as the checkpoint's kind (diffusion: with steps)
    with tarfile.open(out / "eval.tgz") as t:
        for lang in ("bash", "python", "cf"):
            report = json.load(t.extractfile(f"eval/c-{lang}.json"))
            assert report["source"]["kind"] == "diffusion" and report["runs"][0]["steps"] == 2
    assert (out / "logs.tgz").exists() and not (out / "logs").exists()


def test_a_failing_variant_fails_the_run_and_a_malformed_one_is_refused(tmp_path):
    """The exit status reports failed variants (the others still finish); a bad spec exits 2 at once."""
    out, work = tmp_path / "out", tmp_path / "work"
    env = {
        **os.environ,
        "SMOKE": "1",
        "DEVICE": "cpu",
        "PY": sys.executable,
        "DATA": str(fixture_data(tmp_path / "data")),
        "OUT": str(out),
        "WORK": str(work),
        "VARIANTS": "bad=diffusion:tiny:no_such_field=1 gone=cont:/no/such/dir:",
    }
    r = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_train.sh")], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 1, r.stdout + r.stderr
    log = (out / "run.log").read_text()
    assert "FAILED bad: training exited" in log and "FAILED gone: cont: /no/such/dir is not a checkpoint" in log
    assert "done: 0/2 variants ok" in log and (out / "logs.tgz").exists()
    r = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_train.sh")],
        env={**env, "VARIANTS": "x=gan:tiny:"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "kind 'gan' is not one of" in r.stderr


def test_variant_specs_parse_into_typed_variants():
    sys.path.insert(0, str(REPO / "scripts"))
    from gpu_train import Variant

    v = Variant.parse("m08=diffusion:small:x0_scale=0.08,d_model=384")
    assert (v.name, v.kind, v.config, v.sets) == ("m08", "diffusion", "small", {"x0_scale": "0.08", "d_model": "384"})
    assert Variant.parse("ar=ar:small:").sets == {} and Variant.parse("c=cont:models/default").kind == "cont"
    for bad in ("nokind", "x=gan:small:", "x=diffusion::", "x=diffusion:small:oops"):
        with pytest.raises(ValueError):
            Variant.parse(bad)


def test_kd_train_config_and_exemplar_bank_reach_the_cont_fine_tune(tmp_path, tiny_ckpt, monkeypatch):
    sys.path.insert(0, str(REPO / "scripts"))
    import gpu_train

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"train": {"unroll_p": 0.5}}))
    data = fixture_data(tmp_path / "data")
    run, variants = gpu_train.parse_args(
        ["--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"), "--data", str(data), "--device", "cpu"]
        + ["--variant", f"c=cont:{tiny_ckpt}:", "--train-config", str(cfg), "--exemplar-bank"]
        + ["--kd", str(REPO / "models" / "ar-baseline")]
    )
    assert run.kd_teacher.endswith("ar-baseline") and run.exemplar_bank and run.train_config == str(cfg.resolve())

    # the teacher's programs, really decoded (scripts/research/kd_targets.py on the AR baseline)
    assert gpu_train.prepare_kd(run) is None
    train = run.files("train")
    assert train[0].endswith("kd/kd-bash.jsonl") and train[1].endswith("bash/tldr-train.jsonl")
    rows = [json.loads(line) for line in Path(train[0]).read_text().splitlines()]
    assert rows and all(r["lang"] == "bash" and r["code"] for r in rows)

    calls = []
    monkeypatch.setattr(gpu_train.Run, "cli", lambda self, args, log_file, **kw: calls.append(args) or 0)
    monkeypatch.setattr(gpu_train, "pack", lambda run, v: None)
    assert gpu_train.train_variant(run, variants[0]) is None
    args = calls[0]
    assert args[args.index("--config") + 1] == str(cfg.resolve())
    assert args[args.index("--exemplar-bank") + 1].endswith("bash/tldr-train.jsonl")
    data_args = args[args.index("--data") + 1 : args.index("--batch-size")]
    assert data_args == train  # the distilled files are what it trains on


def test_kd_may_name_a_folder_of_distilled_files_made_beforehand(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    import gpu_train

    kd = tmp_path / "kd"
    kd.mkdir()
    for lang in ("bash", "python", "cf"):
        (kd / f"kd-{lang}.jsonl").write_text("")
    run, _ = gpu_train.parse_args(
        ["--out", str(tmp_path / "out"), "--work", str(tmp_path / "w"), "--data", str(tmp_path), "--kd", str(kd)]
        + ["--variant", "c=cont:models/default:"]
    )
    assert gpu_train.prepare_kd(run) is None and run.kd_dir == kd.resolve()
    assert run.files("train")[2] == str(kd.resolve() / "kd-python.jsonl")
