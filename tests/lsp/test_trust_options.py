"""Workspace Trust, without a process: the one option (codefusion.settings.TRUST_KEY), its safe
default, and which exemplar files an untrusted workspace keeps (lsp.server.CodeFusionServer._restrict)."""

import json
from pathlib import Path

import pytest
from lsprotocol import types

from codefusion.settings import TRUST_DEFAULT, TRUST_KEY, parse_settings, parse_trust
from lsp.exemplars import WorkspaceExemplars, document_file
from lsp.server import CodeFusionServer

REPO = Path(__file__).resolve().parents[2]


def test_the_option_is_the_one_package_json_names_and_untrusted_is_the_default():
    pkg = json.loads((REPO / "vscode-extension" / "package.json").read_text())
    assert pkg["serverInfo"]["trustOption"] == TRUST_KEY
    assert TRUST_DEFAULT is False


@pytest.mark.parametrize(
    "raw,trusted,warned",
    [
        (None, None, False),
        ({}, None, False),
        ({"k": 3}, None, False),
        ({TRUST_KEY: True}, True, False),
        ({TRUST_KEY: False}, False, False),
        ({"codefusion": {TRUST_KEY: True}}, True, False),
        ({"codefusion": {"k": 2}, TRUST_KEY: True}, True, False),
        ({TRUST_KEY: "yes"}, False, True),
        ({TRUST_KEY: 1}, False, True),
        ("not an object", None, False),
    ],
)
def test_parse_trust(raw, trusted, warned):
    value, warning = parse_trust(raw)
    assert value is trusted and bool(warning) is warned
    if warned:
        assert TRUST_KEY in warning and "untrusted" in warning


def test_the_trust_key_is_not_an_unknown_setting():
    _, warnings, notes = parse_settings({TRUST_KEY: True, "k": 2})
    assert warnings == [] and notes == []


def _server(root: Path, trusted=None) -> CodeFusionServer:
    s = CodeFusionServer()
    s.set_roots(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri()))
    s.window_log_message = lambda params: None
    s.window_show_message = lambda params: None
    raw = {"exemplarFiles": FILES(root)} | ({} if trusted is None else {TRUST_KEY: trusted})
    s.apply_settings(raw, initial=True)
    return s


def FILES(root: Path) -> list:
    return [
        str(root / "bank.jsonl"),
        str(root / "sub" / ".." / "bank.jsonl"),
        "bank.jsonl",
        str(root / "link-out.jsonl"),
        str(root.parent / "outside.jsonl"),
        str(root.parent / "link-in.jsonl"),
    ]


@pytest.fixture
def root(tmp_path):
    ws = tmp_path / "repo"
    ws.mkdir()
    (ws / "bank.jsonl").write_text("")
    (tmp_path / "outside.jsonl").write_text("")
    (ws / "link-out.jsonl").symlink_to(tmp_path / "outside.jsonl")  # in the workspace, pointing out: a user file
    (tmp_path / "link-in.jsonl").symlink_to(ws / "bank.jsonl")  # outside, pointing in: the workspace's
    return ws


@pytest.mark.parametrize("trusted", [None, False])
def test_untrusted_keeps_only_absolute_files_outside_the_workspace(root, trusted):
    s = _server(root, trusted)
    assert s.trusted is False
    assert s.options.exemplar_files == (str(root / "link-out.jsonl"), str(root.parent / "outside.jsonl"))


def test_trusted_keeps_every_file(root):
    s = _server(root, True)
    assert s.options.exemplar_files == tuple(FILES(root))


def test_workspace_pairs_carry_their_file_and_line():
    class Doc:
        uri, language_id, version = "file:///w/my%20notes.sh", "shellscript", 1
        source = "#!/bin/bash\necho hi\n\n# count the lines\nwc -l f.txt\n"

    ex = WorkspaceExemplars()
    assert ex.refresh([Doc()], lambda lid: "bash")
    assert ex.records() == [
        {"nl": "count the lines", "code": "wc -l f.txt", "lang": "bash", "file": "/w/my notes.sh", "line": 4}
    ]
    assert document_file("untitled:Untitled-1") == "untitled:Untitled-1"
    assert ex.clear() and ex.records() == [] and not ex.clear()
