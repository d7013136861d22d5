"""The server's hot path stays light: importing it does not import torch (the model loads lazily)."""

import subprocess
import sys

from tests.lsp.conftest import REPO, SERVER_ENV


def test_server_import_does_not_pull_in_torch():
    code = "import sys, lsp.server, engine.api; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=SERVER_ENV, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
