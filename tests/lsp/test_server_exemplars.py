"""The real server with a tiny exemplar model: a comment -> code pair the user writes in an open
document becomes an exemplar for the next request, without a restart; exemplar files from the
settings join the bank."""

import asyncio
import json

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from engine.testing import cached_tiny_checkpoint
from tests.lsp.conftest import SERVER, generate, open_doc, start, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

NOTES = "file:///tmp/cf_ex/notes.sh"
ASK = "file:///tmp/cf_ex/ask.sh"
REQUEST = "zap the quux records"
USER_CODE = "grep -i error file.txt"  # not a training program


@pytest.fixture(scope="module")
def exemplar_ckpt():
    """The tiny model conditioned on 2 exemplars; sampling starts from them barely noised, so a
    candidate from the nearest exemplar comes back as that exemplar."""
    return cached_tiny_checkpoint(steps=300, model_overrides={"exemplars": 2, "exemplar_start_snr": 1000.0})


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, exemplar_ckpt, tmp_path_factory):
    files = tmp_path_factory.mktemp("files") / "mine.jsonl"
    files.write_text(json.dumps({"nl": "blorp the flange", "code": "wc -l log.txt", "lang": "bash"}) + "\n")
    await start(
        lsp_client,
        {
            "checkpoint": str(exemplar_ckpt),
            "device": "cpu",
            "k": 2,
            "steps": 1,
            "retrieval": False,
            "exemplarFiles": [str(files)],
            "trustedWorkspace": True,
        },
    )
    await wait_for_status(lsp_client, "ready", timeout=180)
    open_doc(lsp_client, NOTES, "#!/bin/bash\necho start\n")
    open_doc(lsp_client, ASK, f"# {REQUEST}\n\n")
    yield
    await lsp_client.shutdown_session()


def exemplars_logged(client: LanguageClient, request: str) -> list:
    """The exemplars the server logged for the last generation of `request`."""
    lines = [
        m.message for m in client.log_messages if m.message.startswith("generated ") and repr(request[:60]) in m.message
    ]
    return lines[-1].split("; exemplars: ", 1)[1] if lines and "; exemplars: " in lines[-1] else ""


async def test_a_workspace_pair_becomes_an_exemplar_without_a_restart(client: LanguageClient):
    await generate(client, ASK, 1)
    await asyncio.sleep(0.2)  # the log line follows the result
    assert exemplars_logged(client, REQUEST) and USER_CODE not in exemplars_logged(client, REQUEST)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=NOTES, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(text=f"#!/bin/bash\n# {REQUEST}\n{USER_CODE}\n")
            ],
        )
    )
    result = await generate(client, ASK, 1)
    await asyncio.sleep(0.2)
    assert result["candidates"] and exemplars_logged(client, REQUEST).startswith(repr(USER_CODE))  # the nearest


async def test_exemplar_files_from_the_settings_join_the_bank(client: LanguageClient):
    open_doc(client, "file:///tmp/cf_ex/blorp.sh", "# blorp the flange\n\n")
    await generate(client, "file:///tmp/cf_ex/blorp.sh", 1)
    await asyncio.sleep(0.2)
    assert exemplars_logged(client, "blorp the flange").startswith(repr("wc -l log.txt"))
