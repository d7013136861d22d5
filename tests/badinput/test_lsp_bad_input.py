"""The language server's bad-input suite (tests/badinput/lsp_cases.py) against the real process.

Each case states what it expects; whatever it is, after the case the server must be alive,
answer a normal completion (not deaf), and have printed no traceback (stderr and log messages)
and sent no "Error in server" popup. One server per group (started once, with a real untrained
tiny model), a server of its own for lifecycle cases."""

from __future__ import annotations

import pytest

from tests.badinput.harness import Server, tracebacks
from tests.badinput.lsp_cases import CASES, Case

pytestmark = pytest.mark.slow


def _options(checkpoint) -> dict:
    return {"checkpoint": str(checkpoint), "k": 2, "timeout": 20}


@pytest.fixture(scope="module")
def context(untrained_ckpt, tmp_path_factory):
    return {"checkpoint": untrained_ckpt, "tmp": tmp_path_factory.mktemp("badinput")}


@pytest.fixture(scope="module")
def servers(context):
    """Group name -> its running server (started on first use; restarted if a case killed it)."""
    running = {}

    def get(group: str) -> Server:
        s = running.get(group)
        if s is None or not s.alive():
            s = Server(_options(context["checkpoint"]), args=["--checkpoint", str(context["checkpoint"])])
            s.initialize()
            assert s.wait_ready() == "ready"
            running[group] = s
        return s

    yield get
    for s in running.values():
        code = s.close()
        assert code == 0, f"exit code {code}"
        assert not tracebacks(s.stderr_text())


def _aftermath(s: Server, start: int, err_start: int, probe: bool) -> None:
    if probe:
        assert s.alive(), f"the server died (exit code {s.proc.poll()})"
        s.probe()
    new_err = s.stderr_text()[err_start:]
    assert not tracebacks(new_err), f"traceback on stderr: {tracebacks(new_err)[0]}"
    logs = "\n".join(s.notices(start))
    assert not tracebacks(logs), f"traceback in a log message: {tracebacks(logs)[0]}"
    assert "Error in server" not in logs, "an 'Error in server' popup"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}: {c.name}" for c in CASES])
def test_bad_input(case: Case, servers, context):
    if case.fresh:
        s = Server(_options(context["checkpoint"]), args=["--checkpoint", str(context["checkpoint"])])
        try:
            case.run(s, context)
            _aftermath(s, 0, 0, probe=s.alive())
        finally:
            s.close()
        return
    s = servers(case.group)
    start, err_start = s.mark(), len(s.stderr_text())
    case.run(s, context)
    _aftermath(s, start, err_start, probe=True)


def test_the_suite_is_large_and_every_case_says_what_it_expects():
    assert len(CASES) >= 130
    assert all(c.expects.strip() for c in CASES)
    assert len({(c.group, c.name) for c in CASES}) == len(CASES)
