"""The real server process with the real tiny checkpoint: every feature end to end.

One server for the module (the model loads once); slow because the model is real.
"""

import ast
import asyncio
import json
import shutil
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from engine.testing import write_pairs
from tests.lsp.conftest import SERVER, generate, open_doc, start, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SH = "file:///tmp/cf_e2e/list.sh"
SH_TEXT = "#!/bin/bash\nif true; then\n    # list all files in the current directory\n    \nfi\n"
PY = "file:///tmp/cf_e2e/rev.py"
PY_TEXT = 'def rev(x):\n    """reverse a list x"""\n\n# sort list a in descending order\n'
FAST = {"steps": 3, "k": 4, "retrieval": False}  # model candidates only (retrieval has its own test)


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, tiny_ckpt):
    await start(lsp_client, {**FAST, "checkpoint": str(tiny_ckpt), "device": "cpu"})
    await wait_for_status(lsp_client, "ready", timeout=180)
    open_doc(lsp_client, SH, SH_TEXT)
    open_doc(lsp_client, PY, PY_TEXT, language_id="python")
    yield
    await lsp_client.shutdown_session()


def pos(line, character):
    return types.Position(line=line, character=character)


def doc(uri):
    return types.TextDocumentIdentifier(uri=uri)


def show_command(action):
    """The Command of the "Show N candidates…" action as the server sent it.

    lsprotocol's client-side converter reads a CodeAction that carries a Command as a bare
    Command whose `command` is the stringified object: undo that here.
    """
    if isinstance(action, types.Command):
        return ast.literal_eval(action.command)
    return {"title": action.command.title, "command": action.command.command, "arguments": action.command.arguments}


def configure(client, settings):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"codefusion": settings}))


async def test_model_loaded_with_progress_and_status(client: LanguageClient):
    assert [s["state"] for s in client.statuses][:2] == ["loading", "ready"]
    kinds = [r.kind for reports in client.progress_reports.values() for r in reports]
    assert kinds == ["begin", "end"]
    assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_generate_command_follows_the_contract(client: LanguageClient):
    result = await generate(client, SH, 3, 4)
    assert result["comment"] == "list all files in the current directory"
    assert result["lang"] == "bash" and result["indent"] == "    "
    assert result["insertAt"] == {"line": 3, "character": 0}
    cands = result["candidates"]
    assert 1 <= len(cands) <= FAST["k"]
    for c in cands:
        assert set(c) == {
            "code",
            "label",
            "score",
            "valid",
            "errors",
            "warnings",
            "source",
            "also_retrieved",
            "origin",
            "exemplar",
            "what",
        }
        assert c["source"] == "model" and isinstance(c["valid"], bool)
        assert c["origin"] in ("generated", "edited", "copy") and c["what"].startswith(c["origin"])
        assert c["also_retrieved"] is False  # retrieval is off here
    # best first: valid ones before invalid ones (rank_last), by score within each group
    order = [(not c["valid"], -c["score"]) for c in cands]
    assert order == sorted(order)


async def test_cli_server_and_eval_give_the_same_candidates(client: LanguageClient, tiny_ckpt, tmp_path):
    """One composition of a suggestion (codefusion.suggest): the same request and settings give the
    same candidates from the server, `codefusion generate --json` and `codefusion eval`."""
    import subprocess
    import sys

    from codefusion.evaluation.evaluate import EvalOptions, run

    nl = "list all files in the current directory"
    served = [(c["code"], round(c["score"], 4)) for c in (await generate(client, SH, 3, 4))["candidates"]]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "generate",
            nl,
            "--lang",
            "bash",
            "-k",
            str(FAST["k"]),
            "--steps",
            str(FAST["steps"]),
            "--no-retrieval",
            "--json",
            "--checkpoint",
            str(tiny_ckpt),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    cli = [(c["code"], c["score"]) for c in json.loads(r.stdout)]
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"nl": nl, "code": "ls -la", "lang": "bash"}) + "\n")
    run(
        EvalOptions(
            data=data,
            out=tmp_path / "r.json",
            checkpoint=str(tiny_ckpt),
            k=FAST["k"],
            steps=[FAST["steps"]],
            device="cpu",
            progress=False,
        )
    )
    item = json.loads((tmp_path / "r.items.jsonl").read_text().splitlines()[0])
    evaluated = [(c["code"], round(c["score"], 4)) for c in item["candidates"]]
    assert served and served == cli == evaluated


async def test_completion_on_the_line_after_the_comment(client: LanguageClient):
    expected = (await generate(client, SH, 3, 4))["candidates"]
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc(SH), position=pos(3, 4))
    )
    items = list(result.items)
    assert [i.label for i in items] == [c["label"] for c in expected]
    assert [i.sort_text for i in items] == sorted(i.sort_text for i in items)
    for item, cand in zip(items, expected):
        assert item.text_edit.range == types.Range(start=pos(3, 4), end=pos(3, 4))
        assert item.text_edit.new_text.strip() == cand["code"].strip() or not cand["code"].strip()
        assert cand["code"] in item.documentation.value and item.documentation.value.startswith("```bash")
        assert item.detail.startswith("score ") and ("valid" in item.detail)


async def test_completion_at_the_end_of_the_comment_and_elsewhere(client: LanguageClient):
    end = len("    # list all files in the current directory")
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc(SH), position=pos(2, end))
    )
    assert result.items and all(i.text_edit.new_text.startswith("\n    ") for i in result.items)
    # in the middle of the comment text, or on code: nothing
    for line, col in [(2, 8), (1, 3), (0, 2)]:
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=doc(SH), position=pos(line, col))
        )
        assert not result.items


async def test_inline_completion_automatic_gets_one_explicit_gets_all(client: LanguageClient):
    expected = (await generate(client, SH, 3, 4))["candidates"]

    async def inline(kind):
        return await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=doc(SH), position=pos(3, 4), context=types.InlineCompletionContext(trigger_kind=kind)
            )
        )

    auto = await inline(types.InlineCompletionTriggerKind.Automatic)
    invoked = await inline(types.InlineCompletionTriggerKind.Invoked)
    assert len(auto.items) == 1 and len(invoked.items) == len(expected)
    assert auto.items[0].insert_text == expected[0]["code"]
    assert [i.insert_text for i in invoked.items] == [c["code"].replace("\n", "\n    ") for c in expected]


async def test_code_actions_resolve_to_an_edit_below_the_comment(client: LanguageClient):
    best = (await generate(client, SH, 3, 4))["candidates"][0]["code"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc(SH),
            range=types.Range(start=pos(2, 6), end=pos(2, 6)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert [a.title for a in actions] == ["Generate code from comment", "Show 4 candidates…"]
    generate_action, show = actions
    assert generate_action.edit is None  # the client resolves it: no generation until picked
    assert show_command(show) == {
        "title": "Show 4 candidates…",
        "command": "codefusion.showCandidates",
        "arguments": [{"uri": SH, "position": {"line": 2, "character": 6}}],
    }
    resolved = await client.code_action_resolve_async(generate_action)
    (edit,) = resolved.edit.changes[SH]
    assert edit.range == types.Range(start=pos(3, 0), end=pos(3, 0))
    assert edit.new_text == "    " + best.replace("\n", "\n    ") + "\n"
    # no code action away from a comment
    none = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc(SH),
            range=types.Range(start=pos(4, 0), end=pos(4, 1)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert not none


async def test_python_docstring_and_insert_command(client: LanguageClient):
    result = await generate(client, PY, 2, 0)
    assert result["comment"] == "reverse a list x" and result["lang"] == "python" and result["indent"] == "    "
    code = "return x[::-1]"
    applied = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="codefusion.insert", arguments=[{"uri": PY, "position": {"line": 0, "character": 0}, "code": code}]
        )
    )
    assert applied == {"applied": True}
    (edit,) = client.applied_edits[-1].edit.changes[PY]
    assert edit.range.start == pos(2, 0) and edit.new_text == "    return x[::-1]\n"
    # a comment at the very end of the document
    result = await generate(client, PY, 3, 10)
    assert result["comment"] == "sort list a in descending order" and result["indent"] == ""


async def test_cancel_request_stops_a_long_generation_early(client: LanguageClient):
    configure(client, {**FAST, "steps": 1200, "checkpoint": client.init_options["checkpoint"]})
    open_doc(client, "file:///tmp/cf_e2e/slow.sh", "# show disk usage of the home directory\n\n")
    params = types.ExecuteCommandParams(
        command="codefusion.generate",
        arguments=[{"uri": "file:///tmp/cf_e2e/slow.sh", "position": {"line": 1, "character": 0}}],
    )
    future = asyncio.ensure_future(
        client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="slow-1")
    )
    await asyncio.sleep(1.5)
    cancelled_at = time.perf_counter()
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await future
    # the sampler stopped after a few of its 1200 steps: the server says so in its log
    for _ in range(400):
        logs = [m.message for m in client.log_messages if "cancelled after" in m.message]
        if logs:
            break
        await asyncio.sleep(0.05)
    steps = int(logs[-1].split("cancelled after ")[1].split()[0])
    assert 0 < steps < 1200, logs
    # and the model is free again: a short request is answered at once
    configure(client, {**FAST, "checkpoint": client.init_options["checkpoint"]})
    result = await generate(client, SH, 3, 4)
    assert result["candidates"] and time.perf_counter() - cancelled_at < 60


async def test_newer_request_for_the_same_document_supersedes(client: LanguageClient):
    uri = "file:///tmp/cf_e2e/two.sh"
    open_doc(client, uri, "# count lines in file.txt\n\n# find all python files\n\n")
    configure(client, {**FAST, "steps": 1200, "checkpoint": client.init_options["checkpoint"]})
    old = asyncio.ensure_future(generate(client, uri, 1))
    await asyncio.sleep(1.0)
    configure(client, {**FAST, "checkpoint": client.init_options["checkpoint"]})
    new = await generate(client, uri, 3)
    old = await old
    assert old["candidates"] == [] and "superseded" in old["message"]
    assert new["comment"] == "find all python files" and new["candidates"]


@pytest_lsp.fixture(config=SERVER, scope="module")
async def emacs(lsp_client: LanguageClient, tiny_ckpt, tmp_path_factory):
    """A client without codeAction/resolve support (Emacs 29 capabilities), with retrieval on.

    Retrieval reads the training files that the checkpoint's config.json lists: this copy of
    the tiny checkpoint lists the pairs it was trained on.
    """
    ckpt = tmp_path_factory.mktemp("retrieval") / "ckpt"
    shutil.copytree(tiny_ckpt, ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    config["data"] = [str(write_pairs(ckpt.parent / "pairs.jsonl"))]
    (ckpt / "config.json").write_text(json.dumps(config))
    options = {"steps": 1, "k": 2, "checkpoint": str(ckpt), "device": "cpu", "retrieval": True}
    await start(lsp_client, options, spec="emacs")
    open_doc(lsp_client, SH, SH_TEXT)
    yield
    await lsp_client.shutdown_session()


async def test_code_action_carries_its_edit_for_clients_without_resolve(emacs: LanguageClient):
    actions = await emacs.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc(SH),
            range=types.Range(start=pos(2, 6), end=pos(2, 6)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    best = (await generate(emacs, SH, 2, 6))["candidates"][0]["code"]
    assert actions[0].title == "Generate code from comment"
    (edit,) = actions[0].edit.changes[SH]
    assert edit.new_text == "    " + best.replace("\n", "\n    ") + "\n" and edit.range.start == pos(3, 0)
    assert show_command(actions[1])["title"] == "Show 2 candidates…"


async def test_retrieval_adds_labelled_training_examples(emacs: LanguageClient):
    uri = "file:///tmp/cf_e2e/retr.sh"
    open_doc(emacs, uri, "# find all python files\n\n")
    result = await generate(emacs, uri, 1)
    cands = result["candidates"]
    # a retrieved example the model also generated stays the model's, flagged also_retrieved
    examples = [c for c in cands if c["source"] == "retrieval" or c["also_retrieved"]]
    # the training pairs hold exactly this request: it comes first among the examples
    assert examples[0]["code"] == "find . -name '*.py'"
    for c in cands:  # only candidates that the model did not produce carry the mark
        assert c["label"].startswith("[retrieved] ") == (c["source"] == "retrieval"), c
        assert (c["origin"] == "retrieved") == (c["source"] == "retrieval"), c
    assert len(examples) <= 2  # k examples at most
