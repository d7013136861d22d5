"""The LSP handlers: one per method, each docstring names it (the pygls examples' style).

`server` is the one CodeFusionServer (lsp.language_server) they are registered on; each handler
locates the request (lsp.locate), asks the server for candidates and builds the answer
(lsp.converters). The server never executes generated code and sends no telemetry.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from lsp import converters
from lsp.language_server import CodeFusionServer
from lsp.locate import REQUEST_KEYS, position_argument
from lsp.text import sanitize

CMD_GENERATE = "codefusion.generate"
CMD_INSERT = "codefusion.insert"
CMD_SHOW_CANDIDATES = "codefusion.showCandidates"  # client-side picker (not run by the server)
GENERATE_TITLE = "Generate code from comment"

server = CodeFusionServer()


# ---------------------------------------------------------------- lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: CodeFusionServer, params: types.InitializeParams) -> None:
    """initialize: read initializationOptions (settings, and trustedWorkspace) and the workspace folders."""
    ls.set_roots(params)
    ls.apply_settings(params.initialization_options, initial=True)


@server.feature(types.INITIALIZED)
def initialized(ls: CodeFusionServer, params: types.InitializedParams) -> None:
    """initialized: start loading the model in the background."""
    ls.preload()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: CodeFusionServer, params: types.DidChangeConfigurationParams) -> None:
    """workspace/didChangeConfiguration: new settings (pulled with workspace/configuration when not sent)."""
    settings = params.settings
    if settings is None:
        workspace = ls.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return  # nothing sent and nothing to pull: keep the current settings
        items = [types.ConfigurationItem(section="codefusion")]
        result = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
        settings = result[0] if result else None
    before = ls.options.model_key
    ls.apply_settings(settings)
    if ls.options.model_key != before:
        ls.preload()


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CodeFusionServer, params: types.DidCloseTextDocumentParams) -> None:
    """textDocument/didClose: stop the document's running generations."""
    ls.service.cancel_document(params.text_document.uri)


@server.feature(types.SHUTDOWN)
def shutdown(ls: CodeFusionServer, params: None) -> None:
    """shutdown: stop running generations."""
    ls.service.shutdown()


# ---------------------------------------------------------------- features


def _locate_cursor_edit(ls: CodeFusionServer, params):
    """The request at the cursor and the edit that inserts there, or (None, None)."""
    located = ls.locate(params.text_document.uri, (params.position.line, params.position.character))
    if isinstance(located, str):
        return None, None
    return located, converters.cursor_edit(located.request, located.lines, located.line, located.column)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
async def completion(ls: CodeFusionServer, params: types.CompletionParams) -> types.CompletionList:
    """textDocument/completion: the candidates, best first, on the line after a comment or at its end."""
    empty = types.CompletionList(is_incomplete=False, items=[])
    located, edit = _locate_cursor_edit(ls, params)
    if edit is None:
        return empty
    candidates, message = await ls.candidates_or_message(located)
    if message and not candidates:
        ls.log(f"completion: {message}")
        return types.CompletionList(is_incomplete=True, items=[])
    items = converters.completion_items(candidates, located.lang, edit, ls.to_client(located.lines))
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: CodeFusionServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    """textDocument/inlineCompletion: ghost text; an automatic trigger gets 1 candidate, an explicit one k."""
    empty = types.InlineCompletionList(items=[])
    located, edit = _locate_cursor_edit(ls, params)
    if edit is None:
        return empty
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    candidates, message = await ls.candidates_or_message(located, k=1 if automatic else None)
    if message and not candidates:
        ls.log(f"inline completion: {message}")
    return types.InlineCompletionList(items=converters.inline_items(candidates, edit, ls.to_client(located.lines)))


def _supports_resolve(ls: CodeFusionServer) -> bool:
    doc = ls.client_capabilities.text_document
    action = doc.code_action if doc else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in support.properties)


def show_title(k: int) -> str:
    """The picker action's title: "Show 1 candidate…", "Show 5 candidates…"."""
    return f"Show {k} candidate{'' if k == 1 else 's'}…"


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite], resolve_provider=True),
)
async def code_action(ls: CodeFusionServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """textDocument/codeAction: "Generate code from comment" and "Show N candidates…" on a comment.

    Clients that can resolve code actions get the edit (and so the generation)
    only when the user picks the action; others get it computed now.
    """
    uri = params.text_document.uri
    position = params.range.start
    located = ls.locate(uri, (position.line, position.character))
    if isinstance(located, str) and params.range.end.line != position.line:
        position = params.range.end
        located = ls.locate(uri, (position.line, position.character))
    if isinstance(located, str) or ls.check_request(located):
        return []
    anchor = {"uri": uri, "position": {"line": position.line, "character": position.character}}
    show = types.CodeAction(
        title=show_title(ls.options.k),
        kind=types.CodeActionKind.RefactorRewrite,
        command=types.Command(title=show_title(ls.options.k), command=CMD_SHOW_CANDIDATES, arguments=[anchor]),
    )
    generate = types.CodeAction(title=GENERATE_TITLE, kind=types.CodeActionKind.RefactorRewrite, data=anchor)
    if not _supports_resolve(ls):
        generate = await code_action_resolve(ls, generate)
        if generate.edit is None:
            return [show]
    return [generate, show]


@server.feature(types.CODE_ACTION_RESOLVE)
async def code_action_resolve(ls: CodeFusionServer, action: types.CodeAction) -> types.CodeAction:
    """codeAction/resolve: the edit that inserts the best candidate below the comment."""
    data = action.data if isinstance(action.data, dict) else {}
    raw = data.get("position")
    position = raw if isinstance(raw, dict) else {}
    located = ls.locate(data.get("uri"), (position.get("line"), position.get("character")))
    if isinstance(located, str):
        action.disabled = types.CodeActionDisabled(reason=located)
        return action
    candidates, message = await ls.candidates_or_message(located)
    if not candidates:
        action.disabled = types.CodeActionDisabled(reason=message or "no candidates")
        return action
    action.edit = converters.workspace_edit(
        located.uri, located.request, located.lines, candidates[0].code, ls.to_client(located.lines)
    )
    return action


# ---------------------------------------------------------------- commands


@server.command(CMD_GENERATE)
async def generate_command(ls: CodeFusionServer, *args: Any) -> dict[str, Any]:
    """workspace/executeCommand codefusion.generate: all candidates for a client-side picker."""
    arg = position_argument(args)
    if isinstance(arg, str):
        return converters.empty_result(arg)
    located = ls.locate(arg["uri"], (arg["position"]["line"], arg["position"]["character"]))
    if isinstance(located, str):
        return converters.empty_result(located)
    overrides = {key: arg[key] for key in REQUEST_KEYS if key in arg}  # this request's own k, startSnr, ...
    candidates, message = await ls.candidates_or_message(located, overrides=overrides)
    return converters.generate_result(
        located.request, located.lang, candidates, message, located.lines, ls.to_client(located.lines)
    )


@server.command(CMD_INSERT)
async def insert_command(ls: CodeFusionServer, *args: Any) -> dict[str, bool]:
    """workspace/executeCommand codefusion.insert: apply one candidate below the comment (workspace/applyEdit)."""
    arg = position_argument(args)
    if isinstance(arg, str) or not isinstance(arg.get("code"), str):
        ls.log(f"{CMD_INSERT}: {arg if isinstance(arg, str) else 'code must be a string'}", types.MessageType.Warning)
        return {"applied": False}
    located = ls.locate(arg["uri"], (arg["position"]["line"], arg["position"]["character"]))
    if isinstance(located, str):
        ls.log(f"{CMD_INSERT}: {located}", types.MessageType.Warning)
        return {"applied": False}
    edit = converters.workspace_edit(
        located.uri, located.request, located.lines, sanitize(arg["code"]), ls.to_client(located.lines)
    )
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="CodeFusion"))
    return {"applied": bool(result and result.applied)}
