"""The built wheel, installed apart from the repository, brings the shipped model and the shipped Bash
bank (tldr-pages, with its attribution): `codefusion generate` works from any folder, and the server
finds its model too."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wheel_build_lock

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this tree, installed into a folder of its own (its dependencies come
    from the test environment); commands then run from a folder outside the repository."""
    root = tmp_path_factory.mktemp("wheel")
    with wheel_build_lock():  # pip wheel builds in the tree: one test process at a time
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(root / "dist")],
            check=True,
            capture_output=True,
            timeout=600,
        )
    (wheel,) = (root / "dist").glob("codefusion_editor-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(root / "site"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CODEFUSION_CHECKPOINT", "PYTHONPATH", "CODEFUSION_SHIPPED_BANK", "CODEFUSION_DATA")
    }
    env["PYTHONPATH"] = str(root / "site")
    env["CODEFUSION_CACHE"] = str(root / "cache")  # a cold cache, as after an install
    (root / "elsewhere").mkdir()
    return root, env


def test_generate_from_outside_the_repository_uses_the_installed_model(installed):
    root, env = installed
    r = subprocess.run(
        [sys.executable, "-c", "import engine.api as a; print(a.default_checkpoint_dir())"],
        cwd=root / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and str(root / "site" / "codefusion_model") == r.stdout.strip(), r.stdout + r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "generate",
            "count lines in all python files",
            "--lang",
            "bash",
            "--json",
            "--device",
            "cpu",
        ],
        cwd=root / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    cands = json.loads(r.stdout)
    # no training data out here: the model's candidates and retrieved examples from the shipped bank
    assert cands and {c["source"] for c in cands} <= {"model", "retrieval"}
    banks = {((c.get("exemplar") or {}).get("source") or {}).get("bank") for c in cands}
    assert "shipped" in banks and banks <= {"shipped", None}, cands  # tldr examples, and they say so


def test_the_installed_model_tails_the_users_file_from_a_tldr_template(installed):
    """Issue 23: with nothing but the package, "print the last 20 lines of server.log" gets a `tail`
    candidate with the user's file and count (the tldr tail templates rank first among the exemplars,
    engine.slot_rank, and argument filling puts server.log and 20 into them)."""
    root, env = installed
    request = "print the last 20 lines of server.log"
    args = [sys.executable, "-m", "codefusion", "generate", request, "--lang", "bash", "-k", "5", "--json"]
    args += ["--device", "cpu"]
    r = subprocess.run(args, cwd=root / "elsewhere", env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    codes = [c["code"] for c in json.loads(r.stdout)]
    assert len(codes) == 5
    assert any(
        code.split()[0] == "tail" and "server.log" in code.split() and re.search(r"(?<!\d)20(?!\d)", code)
        for code in codes
    ), codes  # tail -n 20 server.log, tail --lines=20 server.log, ...


def test_the_wheel_is_under_50_mb_and_holds_the_bank_with_its_attribution(installed):
    """CC BY 4.0: the attribution, the source commit and the licence text travel with the bank."""
    root, env = installed
    (wheel,) = (root / "dist").glob("codefusion_editor-*.whl")
    assert wheel.stat().st_size < 50e6, f"the wheel is {wheel.stat().st_size / 1e6:.1f} MB"
    bank = root / "site" / "codefusion_bank"
    attribution = (bank / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for words in (
        "tldr-pages team and contributors",
        "https://github.com/tldr-pages/tldr",
        "08e345f42639f67d99282813247ac670dc6e87cb",
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    ):
        assert words in attribution, words
    licence = (bank / "LICENSE-tldr.txt").read_text(encoding="utf-8")
    assert licence.startswith("Attribution 4.0 International") and "Section 8 -- Interpretation." in licence
    manifest = json.loads((bank / "manifest.json").read_text())
    assert manifest["source"]["commit"] == "08e345f42639f67d99282813247ac670dc6e87cb"
    r = subprocess.run(
        [sys.executable, "-c", "from engine import banks; d = banks.shipped_dir(); banks.verify(d); print(d)"],
        cwd=root / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.strip() == str(bank), r.stdout + r.stderr


def test_a_language_without_a_bank_says_so_once(installed):
    """Python has no redistributable bank: the first `generate` says how to add your own examples (one
    line, on stderr beside --json), the next does not."""
    root, env = installed
    args = [
        sys.executable,
        "-m",
        "codefusion",
        "generate",
        "reverse the list x",
        "--lang",
        "python",
        "--json",
        "--device",
        "cpu",
        "-k",
        "2",
    ]
    first = subprocess.run(args, cwd=root / "elsewhere", env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0 and json.loads(first.stdout), first.stderr
    assert first.stderr.count("\n") == 1 and "no example bank for Python" in first.stderr
    second = subprocess.run(args, cwd=root / "elsewhere", env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and second.stderr == ""


def test_the_wheel_holds_the_product_modules_and_nothing_else(installed):
    """Each package pyproject.toml lists brings exactly its modules in the tree: no research or benchmark
    (scripts/, scripts/research/), and no module left over in an old build/ folder (pip builds in the tree,
    and setuptools keeps build/lib: after a module moves out, `rm -rf build` before building)."""
    import tomllib
    import zipfile

    root, _ = installed
    (wheel,) = (root / "dist").glob("codefusion_editor-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    tree = {
        f"{pkg.replace('.', '/')}/{f.name}"
        for pkg in setuptools["packages"]
        for f in (REPO / setuptools["package-dir"].get(pkg, pkg.replace(".", "/"))).glob("*.py")
    }
    assert shipped == tree, f"only in the wheel: {sorted(shipped - tree)}; only in the tree: {sorted(tree - shipped)}"
    assert not shipped & {"engine/bench.py", "lsp/bench.py", "grammar/cf/label_report.py"}  # in scripts/ (issue 25)
