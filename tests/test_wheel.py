"""The built wheel, installed apart from the repository, brings the shipped model: `codefusion
generate` works from any folder, and the server finds its model too."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this tree, installed into a folder of its own (its dependencies come
    from the test environment); commands then run from a folder outside the repository."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(root / "dist")],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (root / "dist").glob("codefusion_editor-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(root / "site"), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("CODEFUSION_CHECKPOINT", "PYTHONPATH")}
    env["PYTHONPATH"] = str(root / "site")
    (root / "elsewhere").mkdir()
    return root, env


def test_generate_from_outside_the_repository_uses_the_installed_model(installed):
    root, env = installed
    r = subprocess.run([sys.executable, "-c", "import engine.api as a; print(a.default_checkpoint_dir())"],
                       cwd=root / "elsewhere", env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and str(root / "site" / "codefusion_model") == r.stdout.strip(), r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "codefusion", "generate", "count lines in all python files", "--lang",
                        "bash", "--json", "--device", "cpu"], cwd=root / "elsewhere", env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    cands = json.loads(r.stdout)
    assert cands and all(c["source"] == "model" for c in cands)  # no training data out here: no retrieval
