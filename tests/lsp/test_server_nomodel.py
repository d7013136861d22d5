"""The real server process without a usable model: messages, empty results, bad input, settings.

These need no checkpoint, so they run in the default (fast) suite.
"""

import asyncio
import concurrent.futures
import json

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SERVER, SHELL, generate, open_doc, start, wait_for_status

URI = "file:///tmp/cf_test/a.sh"


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory):
    """One server for the module (starting one costs seconds); tests must not depend on each other's order."""
    missing = tmp_path_factory.mktemp("nomodel") / "no-such-checkpoint"
    await start(lsp_client, {"checkpoint": str(missing), "k": 99, "device": "tpu"})
    yield
    await lsp_client.shutdown_session()


async def test_capabilities_advertise_every_feature(client: LanguageClient):
    caps = client.init_result.capabilities
    assert caps.completion_provider is not None
    assert caps.inline_completion_provider is not None
    assert caps.code_action_provider.resolve_provider is True
    assert set(caps.execute_command_provider.commands) == {"codefusion.generate", "codefusion.insert"}


async def test_bad_settings_are_shown_and_fall_back(client: LanguageClient):
    await wait_for_status(client, "error")
    shown = [m.message for m in client.messages]
    assert any("codefusion.k: 99" in m and "default 5" in m for m in shown)
    assert any("codefusion.device: 'tpu'" in m for m in shown)


async def test_missing_checkpoint_shows_one_message_and_stays_alive(client: LanguageClient):
    status = await wait_for_status(client, "error")
    assert "no-such-checkpoint" in status["message"] and "codefusion.checkpoint" in status["message"]
    open_doc(client, URI, SHELL)
    for _ in range(2):
        result = await generate(client, URI, 2)
        assert result["candidates"] == [] and "codefusion.checkpoint" in result["message"]
        items = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=URI), position=types.Position(line=2, character=0)
            )
        )
        assert not items.items
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "no-such-checkpoint" in errors[0].message
    # a progress bar was shown while loading and ended
    kinds = [r.kind for reports in client.progress_reports.values() for r in reports]
    assert kinds[:1] == ["begin"] and kinds[-1] == "end"


async def test_no_comment_and_unknown_inputs(client: LanguageClient):
    open_doc(client, URI, SHELL)
    open_doc(client, "file:///tmp/cf_test/a.js", "// add\n", language_id="javascript")
    cases = [
        (URI, 3, 0, "no comment at this position"),
        (URI, 99, 0, "outside the document"),
        (URI, 1, -5, "outside the document"),
        ("file:///never/opened.sh", 0, 0, "unknown document"),
        ("file:///tmp/cf_test/a.js", 0, 0, "does not handle language id 'javascript'"),
    ]
    for uri, line, col, words in cases:
        result = await generate(client, uri, line, col)
        assert result["candidates"] == [] and words in result["message"], (uri, line, result)


@pytest.mark.parametrize(
    "arguments",
    [[], [1, 2], ["x"], [{"uri": 3}], [{"uri": URI, "position": {"line": "a", "character": 0}}]],
)
async def test_malformed_command_arguments(client: LanguageClient, arguments):
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="codefusion.generate", arguments=arguments)
    )
    assert result["candidates"] == []
    assert "expected one argument" in result["message"] or "must be integers" in result["message"]


async def test_bad_documents_give_empty_results(client: LanguageClient):
    huge_comment = "# " + "word " * 1000 + "\n\n"
    open_doc(client, "file:///tmp/cf_test/huge_comment.sh", huge_comment)
    result = await generate(client, "file:///tmp/cf_test/huge_comment.sh", 1)
    assert result["candidates"] == [] and "limit is 2000" in result["message"]

    open_doc(client, "file:///tmp/cf_test/empty.sh", "#\n\n")
    result = await generate(client, "file:///tmp/cf_test/empty.sh", 1)
    assert result["candidates"] == [] and "comment is empty" in result["message"]

    open_doc(client, "file:///tmp/cf_test/huge.sh", "# x\n" * 1_500_000)
    result = await generate(client, "file:///tmp/cf_test/huge.sh", 0)
    assert result["candidates"] == [] and "too large" in result["message"]

    # lone surrogates (valid JSON escapes, invalid Unicode) do not break the server
    open_doc(client, "file:///tmp/cf_test/sur.sh", "# list \udc80 files\n\n")
    result = await generate(client, "file:///tmp/cf_test/sur.sh", 1)
    assert result["comment"] == "list \ufffd files"

    for method, params in [
        (
            client.text_document_completion_async,
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri="file:///nope"),
                position=types.Position(line=0, character=0),
            ),
        ),
        (
            client.text_document_inline_completion_async,
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                position=types.Position(line=500, character=3),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            ),
        ),
        (
            client.text_document_code_action_async,
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                range=types.Range(start=types.Position(line=40, character=0), end=types.Position(line=41, character=0)),
                context=types.CodeActionContext(diagnostics=[]),
            ),
        ),
    ]:
        result = await method(params)
        items = result if isinstance(result, (list, tuple)) else result.items
        assert not items


async def test_invalid_utf8_message_is_reported_and_ignored(client: LanguageClient):
    body = b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": "\xff\xfe"}}'
    client.protocol.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    for _ in range(100):
        if any("not valid UTF-8" in m.message for m in client.messages):
            break
        await asyncio.sleep(0.05)
    assert any("not valid UTF-8" in m.message for m in client.messages)
    open_doc(client, URI, SHELL)  # still serving
    result = await generate(client, URI, 3)
    assert result["message"] == "no comment at this position"


async def test_settings_change_via_did_change_configuration(client: LanguageClient):
    open_doc(client, "file:///tmp/cf_test/b.py", "# reverse a list\n\n", language_id="python")
    result = await generate(client, "file:///tmp/cf_test/b.py", 1)
    assert "does not handle" not in result["message"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"codefusion": {"languages": ["shellscript"], "maxCommentLength": 0}}
        )
    )
    for _ in range(100):
        result = await generate(client, "file:///tmp/cf_test/b.py", 1)
        if "does not handle" in result["message"]:
            break
        await asyncio.sleep(0.05)
    assert "does not handle language id 'python'" in result["message"]
    assert any("codefusion.maxCommentLength: 0" in m.message for m in client.messages)


@pytest.mark.parametrize(
    "position",
    [
        {"line": -1, "character": 0},
        {"line": 0, "character": -3},
        {"line": "x", "character": 0},
        {"line": 2**40, "character": 0},
    ],
)
async def test_requests_with_params_outside_the_protocol_get_an_error_response(client: LanguageClient, position):
    open_doc(client, URI, SHELL)
    msg_id = f"bad-{position['line']}-{position['character']}"
    request = {
        "jsonrpc": "2.0",
        "id": msg_id,
        "method": types.TEXT_DOCUMENT_COMPLETION,
        "params": {"textDocument": {"uri": URI}, "position": position},
    }
    # The test client refuses to serialize such params itself: write the raw message and
    # register the id so that the response is matched (pygls' own bookkeeping).
    future = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = future
    body = json.dumps(request).encode()
    client.protocol.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    with pytest.raises(JsonRpcInvalidParams, match="invalid parameters for textDocument/completion"):
        await asyncio.wait_for(asyncio.wrap_future(future), 30)
    result = await generate(client, URI, 3)  # still serving
    assert result["message"] == "no comment at this position"


async def test_settings_are_pulled_when_the_notification_carries_none(client: LanguageClient):
    open_doc(client, URI, SHELL)

    async def show_title():
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                range=types.Range(start=types.Position(line=1, character=3), end=types.Position(line=1, character=3)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        return [a.title for a in actions][-1]

    client.set_configuration({**client.init_options, "k": 3}, section="codefusion")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    for _ in range(100):
        if await show_title() == "Show 3 candidates…":
            break
        await asyncio.sleep(0.05)
    assert await show_title() == "Show 3 candidates…"


async def test_code_action_resolve_without_candidates_is_disabled_with_a_reason(client: LanguageClient):
    """codeAction/resolve on the "Generate code from comment" action when no model is usable, or
    when the comment is gone: the action comes back disabled with the reason, not an error."""
    await wait_for_status(client, "error")
    uri = "file:///tmp/cf_test/resolve.sh"
    open_doc(client, uri, SHELL)
    for position in ({"line": 2, "character": 0}, {"line": 0, "character": 0}):
        action = types.CodeAction(title="Generate code from comment", data={"uri": uri, "position": position})
        resolved = await client.code_action_resolve_async(action)
        assert resolved.edit is None
        assert resolved.disabled is not None and resolved.disabled.reason
