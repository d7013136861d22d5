"""Fixtures for the language-server tests: a real server process (`python -m lsp`) driven by pytest-lsp."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REPO = Path(__file__).resolve().parents[2]
# The server runs from the repository whether or not the project is installed.
SERVER_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "lsp"], server_env=SERVER_ENV)

SHELL = """#!/bin/bash
# list all files in the current directory

echo done
"""


def record_client_traffic(client: LanguageClient) -> None:
    """Give the test client handlers for the server's custom notification and workspace/applyEdit."""
    client.statuses: list[dict[str, Any]] = []
    client.applied_edits: list[types.ApplyWorkspaceEditParams] = []

    @client.feature("codefusion/status")
    def status(params):
        client.statuses.append({"state": params.state, "message": params.message})

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        client.applied_edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)


async def start(client: LanguageClient, options: dict | None, spec: str = "visual-studio-code") -> None:
    record_client_traffic(client)
    client.init_options = options
    client.init_result = await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(spec),
            initialization_options=options,
            root_uri=REPO.as_uri(),
        )
    )


def open_doc(client: LanguageClient, uri: str, text: str, language_id: str = "shellscript", version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)
        )
    )


async def generate(client: LanguageClient, uri: str, line: int, character: int = 0):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="codefusion.generate",
            arguments=[{"uri": uri, "position": {"line": line, "character": character}}],
        )
    )


async def wait_for_status(client: LanguageClient, state: str, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until the server sent codefusion/status with this state (the model loaded or failed)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for s in client.statuses:
            if s["state"] == state:
                return s
        await asyncio.sleep(0.05)
    raise AssertionError(f"no codefusion/status {state!r} within {timeout} s; got {client.statuses}")
