"""The hostile exemplar files of tests/badinput/bank_cases.py against the real language server
(`python -m lsp`, a real untrained tiny model): each named in codefusion.exemplarFiles after a good
file of the user's, then a request. The server must say what it refused or cut (a warning naming the
file), keep using the good file, answer the request and the next completion, print no traceback, and
stay within the issue's budget -- 10 s from the setting to the answer (the model reload the setting causes
included) and 200 MB over its resident size before, its peak measured by the kernel (VmHWM after resetting it
through clear_refs)."""

from __future__ import annotations

import re
import time

import pytest

from tests.badinput.bank_cases import BANK_CASES, BUDGET_RSS_MB, BUDGET_S, BankCase
from tests.badinput.harness import Server, tracebacks

pytestmark = pytest.mark.slow

ASK = "file:///badinput/bank-ask.sh"
GOOD_CODE = "echo the-good-bank-is-still-used"


def _mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return int(re.search(rf"{field}:\s+(\d+)", fh.read()).group(1)) / 1024


def _reset_peak(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(untrained_ckpt):
    s = Server({"checkpoint": str(untrained_ckpt), "k": 2, "timeout": 20}, args=["--checkpoint", str(untrained_ckpt)])
    s.initialize()
    assert s.wait_ready() == "ready"
    s.open(ASK, "#!/bin/bash\n# list the files here\n\n")
    yield s
    code = s.close()
    assert code == 0 and not tracebacks(s.stderr_text())


@pytest.mark.parametrize("case", BANK_CASES, ids=[c.name for c in BANK_CASES])
def test_hostile_exemplar_file_in_the_server(case: BankCase, server: Server, tmp_path):
    path = case.make(tmp_path)
    good = tmp_path / "good.jsonl"
    good.write_text(f'{{"nl": "list the files here", "code": "{GOOD_CODE}", "lang": "bash"}}\n')
    pid = server.proc.pid
    measured = _reset_peak(pid)
    before = _mb(pid, "VmRSS")
    start_msg, err_start = server.mark(), len(server.stderr_text())
    start = time.perf_counter()
    server.notify(
        "workspace/didChangeConfiguration",
        {"settings": {"codefusion": {**server.options, "exemplarFiles": [str(good), str(path)]}}},
    )
    reply = server.call(
        "workspace/executeCommand",
        {"command": "codefusion.generate", "arguments": [{"uri": ASK, "position": {"line": 1, "character": 0}}]},
        timeout=60,
    )
    seconds = time.perf_counter() - start
    extra = _mb(pid, "VmHWM") - before if measured else 0.0
    assert reply is not None and "result" in reply, f"{case.name}: no answer: {reply}"
    codes = [c["code"] for c in reply["result"]["candidates"]]
    assert GOOD_CODE in codes, f"{case.name}: the good file is not used beside it: {codes}"
    said = [m for m in server.notices(start_msg) if m.startswith("codefusion.exemplarFiles:")]
    if case.expects == "read":
        assert said == [], said
    else:
        assert len(said) >= 1 and case.words in said[0].lower() and str(path) in said[0], said
        assert all("\n" not in m for m in said)
    assert seconds < BUDGET_S, f"{case.name}: {seconds:.1f} s"
    assert extra < BUDGET_RSS_MB, f"{case.name}: {extra:.0f} MB over the server's resident size"
    server.probe()  # the next request is answered
    new_err = server.stderr_text()[err_start:]
    assert not tracebacks(new_err) and not tracebacks("\n".join(server.notices(start_msg)))
    print(
        f"{case.name}: {case.expects}; answered in {seconds:.2f} s, peak RSS {extra:.0f} MB over the start; {said[:1]}"
    )
