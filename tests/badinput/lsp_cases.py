"""The bad-input cases for the language server, each with what it expects.

Every case runs against a real server process (tests/badinput/harness.py) holding a real
(untrained, tiny) model. After each case the runner also checks, whatever the case expects:
the server is alive, a normal completion is answered, nothing new on stderr or in the log
messages is a Python traceback, and no "Error in server" popup was sent.

Groups share one server (`fresh=True`: a server of its own, for cases that end it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.badinput import spoil
from tests.badinput.harness import Server, frame

# error codes (JSON-RPC 2.0 and LSP)
INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32600, -32601, -32602
SERVER_NOT_INITIALIZED, REQUEST_CANCELLED = -32002, -32800

DOC = "file:///badinput/doc.sh"
DOC_TEXT = "#!/bin/bash\n# count the lines of every python file\n\necho done\n"


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    expects: str  # what the case expects, in words (shown in the test id's docstring and failures)
    run: Callable[..., None]  # run(server, ctx): sends the bad input, asserts the expected answer
    fresh: bool = False  # needs a server of its own (a lifecycle case that ends it)


CASES: list[Case] = []


def case(group: str, name: str, expects: str, fresh: bool = False):
    def add(fn):
        CASES.append(Case(group, name, expects, fn, fresh))
        return fn

    return add


# ------------------------------------------------------------------ helpers used by the cases


def raw(data: bytes):
    def run(s: Server, ctx) -> None:
        s.send(data)
        time.sleep(0.1)

    return run


def error_for(msg: dict, code: int):
    """Sends a request (raw dict) and expects an error response with this code."""

    def run(s: Server, ctx) -> None:
        start = s.mark()
        s.send(msg)
        reply = s.response(msg["id"], 30, start)
        assert reply is not None, f"no answer to {msg}"
        assert reply.get("error", {}).get("code") == code, str(reply)[:300]

    return run


def request_error(method: str, params: Any, code: int):
    return error_for(
        {
            "jsonrpc": "2.0",
            "id": f"bad-{method}-{abs(hash(json.dumps(params, default=str)))}",
            "method": method,
            "params": params,
        },
        code,
    )


def result_for(method: str, params: Any, check: Callable[[Any], bool] = lambda r: True):
    """Sends a request and expects a result (not an error) that passes check."""

    def run(s: Server, ctx) -> None:
        reply = s.call(method, params, 60)
        assert reply is not None and "result" in reply, reply
        assert check(reply["result"]), reply["result"]

    return run


def no_answer(msg: dict, wait: float = 0.5):
    """Sends a notification (or a message without an id) and expects no answer and no popup."""

    def run(s: Server, ctx) -> None:
        start = s.mark()
        s.send(msg)
        time.sleep(wait)
        with s.cond:
            new = s.messages[start:]
        answers = [m for m in new if "method" not in m]
        assert not answers, f"unexpected answer(s) {answers}"

    return run


def empty_items(result: Any) -> bool:
    items = result.get("items") if isinstance(result, dict) else result
    return not items


def generate(uri: str, line: int, character: int = 0, contains: str = ""):
    """codefusion.generate at a position: no candidates and a message containing `contains`."""

    def check(r):
        return r["candidates"] == [] and contains in r["message"]

    return result_for(
        "workspace/executeCommand",
        {
            "command": "codefusion.generate",
            "arguments": [{"uri": uri, "position": {"line": line, "character": character}}],
        },
        check,
    )


def notice(settings: Any, pattern: str, method: str = "workspace/didChangeConfiguration"):
    """Sends settings and expects a message (showMessage/logMessage/status) containing `pattern`;
    then puts the group's own settings back."""

    def run(s: Server, ctx) -> None:
        start = s.mark()
        s.notify(method, {"settings": settings})
        got = s.wait_for(lambda m: pattern in str((m.get("params") or {}).get("message", "")), 60, start)
        assert got, f"no message containing {pattern!r}; got {s.notices(start)}"
        restore(s)

    return run


def restore(s: Server) -> None:
    start = s.mark()
    s.notify("workspace/didChangeConfiguration", {"settings": {"codefusion": s.options}})
    s.wait_for(lambda m: False, 0.3, start)


def completion(uri: str, position: Any):
    return {"textDocument": {"uri": uri}, "position": position}


# ------------------------------------------------------------------ framing (lsp/framing.py)

FRAMING = {
    "length too long": (frame({"jsonrpc": "2.0", "method": "$/ping"}, 400), "waits BODY_IDLE_S, handles the message"),
    "length too short": (
        frame({"jsonrpc": "2.0", "method": "$/ping", "params": {"x": "y" * 50}}, -30),
        "drops the cut body",
    ),
    "length zero": (b'Content-Length: 0\r\n\r\n{"jsonrpc": "2.0", "method": "$/ping"}', "refuses the length"),
    "length negative": (b"Content-Length: -5\r\n\r\n{}", "refuses the length"),
    "length not a number": (b"Content-Length: abc\r\n\r\n{}", "refuses the length"),
    "length 1e20": (b"Content-Length: 1e20\r\n\r\n{}", "refuses the length, allocates nothing"),
    "length 10^12": (b"Content-Length: 1000000000000\r\n\r\n{}", "refuses the length, allocates nothing"),
    "length with 25 digits": (b"Content-Length: 9999999999999999999999999\r\n\r\n{}", "refuses the length"),
    "length over the 8 MiB cap": (
        b"Content-Length: 9000000\r\n\r\n" + b"x" * 1000,
        "refuses the body, skips its bytes",
    ),
    "a 9 MiB body over the cap": (
        frame({"jsonrpc": "2.0", "method": "$/ping", "params": {"x": "y" * (9 << 20)}}),
        "refuses the body, skips its bytes",
    ),
    "header missing": (b'\r\n{"jsonrpc": "2.0", "method": "$/ping"}\r\n', "skips bytes outside a message"),
    "body not JSON": (b"Content-Length: 9\r\n\r\nnot json!", "drops the body"),
    "body JSON but not an object": (b"Content-Length: 2\r\n\r\n42", "drops the body"),
    "body a JSON array (batch)": (
        frame([{"jsonrpc": "2.0", "method": "$/ping"}]),
        "drops the body (no batches in LSP)",
    ),
    "body a JSON string": (frame("hello"), "drops the body"),
    "body JSON null": (frame(None), "drops the body"),
    "an 8 MiB header line": (b"X" * (8 << 20) + b"\r\n\r\n{}", "keeps 64 KiB of a line at most"),
    "binary garbage": (bytes(range(256)) * 64, "skips it"),
    "header without a body at the end": (b"Content-Length: 50\r\n\r\n", "waits BODY_IDLE_S, drops it"),
    "two Content-Length headers": (b"Content-Length: 5\r\nContent-Length: 2\r\n\r\n{}", "uses the last one"),
    "lower-case header": (
        frame({"jsonrpc": "2.0", "method": "$/ping"}).replace(b"Content-Length", b"content-length"),
        "reads it (headers are case-insensitive)",
    ),
    "Content-Type header too": (
        b"Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}",
        "ignores the Content-Type",
    ),
    "LF-only framing": (frame({"jsonrpc": "2.0", "method": "$/ping"}, eol=b"\n"), "reads it"),
    "invalid UTF-8 in a body": (
        frame(b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": "\xff\xfe"}}'),
        "drops it, tells the user once",
    ),
    "deeply nested JSON": (frame(b"[" * 100_000 + b"]" * 100_000), "drops it (no RecursionError)"),
    "a NUL byte stream": (b"\x00" * 100_000, "skips it"),
}
for _name, (_data, _how) in FRAMING.items():
    case("framing", _name, f"no answer to the broken frame ({_how}); the next request is answered")(raw(_data))


@case(
    "framing", "a 9 MiB request over the cap", f"error {INVALID_REQUEST} for its id (recovered from its start); skipped"
)
def _oversize_request(s: Server, ctx) -> None:
    start = s.mark()
    s.send(
        frame({"jsonrpc": "2.0", "id": "big", "method": "textDocument/completion", "params": {"x": "y" * (9 << 20)}})
    )
    reply = s.response("big", 60, start)
    assert reply and reply["error"]["code"] == INVALID_REQUEST and "limit is" in reply["error"]["message"], str(reply)[
        :300
    ]


@case("framing", "the body of a too-long frame holds the next message", "both messages handled")
def _too_long_then_request(s: Server, ctx) -> None:
    start = s.mark()
    s.send(
        frame({"jsonrpc": "2.0", "method": "$/ping"}, 200)
        + frame({"jsonrpc": "2.0", "id": "after", "method": "shutdown-not"})
    )
    reply = s.response("after", 30, start)
    assert reply and reply["error"]["code"] == METHOD_NOT_FOUND, reply


# ------------------------------------------------------------------ JSON-RPC shape

_RPC = [
    ("jsonrpc 1.0", {"jsonrpc": "1.0", "id": "r1", "method": "textDocument/hover"}, INVALID_REQUEST),
    ("jsonrpc missing", {"id": "r2", "method": "textDocument/hover"}, INVALID_REQUEST),
    ("jsonrpc a number", {"jsonrpc": 2, "id": "r3", "method": "textDocument/hover"}, INVALID_REQUEST),
    ("method a number", {"jsonrpc": "2.0", "id": "r4", "method": 42}, INVALID_REQUEST),
    ("method null", {"jsonrpc": "2.0", "id": "r5", "method": None}, INVALID_REQUEST),
    ("method a list", {"jsonrpc": "2.0", "id": "r6", "method": ["shutdown"]}, INVALID_REQUEST),
    ("unknown method", {"jsonrpc": "2.0", "id": "r7", "method": "codefusion/nothing"}, METHOD_NOT_FOUND),
    ("unknown $/ request", {"jsonrpc": "2.0", "id": "r8", "method": "$/nothing"}, METHOD_NOT_FOUND),
    ("method with a NUL", {"jsonrpc": "2.0", "id": "r9", "method": "textDocument/\u0000completion"}, METHOD_NOT_FOUND),
    ("a 100 KB method name", {"jsonrpc": "2.0", "id": "r10", "method": "x" * 100_000}, METHOD_NOT_FOUND),
    (
        "completion params a list",
        {"jsonrpc": "2.0", "id": "r11", "method": "textDocument/completion", "params": [1, 2]},
        INVALID_PARAMS,
    ),
    (
        "completion params a string",
        {"jsonrpc": "2.0", "id": "r12", "method": "textDocument/completion", "params": "x"},
        INVALID_PARAMS,
    ),
    ("completion params missing", {"jsonrpc": "2.0", "id": "r13", "method": "textDocument/completion"}, INVALID_PARAMS),
    (
        "completion params null",
        {"jsonrpc": "2.0", "id": "r14", "method": "textDocument/completion", "params": None},
        INVALID_PARAMS,
    ),
    (
        "inline completion without context",
        {
            "jsonrpc": "2.0",
            "id": "r15",
            "method": "textDocument/inlineCompletion",
            "params": completion(DOC, {"line": 0, "character": 0}),
        },
        INVALID_PARAMS,
    ),
    (
        "code action without range",
        {
            "jsonrpc": "2.0",
            "id": "r16",
            "method": "textDocument/codeAction",
            "params": {"textDocument": {"uri": DOC}, "context": {"diagnostics": []}},
        },
        INVALID_PARAMS,
    ),
    (
        "executeCommand without command",
        {"jsonrpc": "2.0", "id": "r17", "method": "workspace/executeCommand", "params": {"arguments": []}},
        INVALID_PARAMS,
    ),
    ("id 2^80", {"jsonrpc": "2.0", "id": 2**80, "method": "codefusion/nothing"}, METHOD_NOT_FOUND),
    ("id a negative number", {"jsonrpc": "2.0", "id": -7, "method": "codefusion/nothing"}, METHOD_NOT_FOUND),
    ("id an empty string", {"jsonrpc": "2.0", "id": "", "method": "codefusion/nothing"}, METHOD_NOT_FOUND),
    ("id a 10 KB string", {"jsonrpc": "2.0", "id": "i" * 10_000, "method": "codefusion/nothing"}, METHOD_NOT_FOUND),
]
for _name, _msg, _code in _RPC:
    case("jsonrpc", _name, f"error {_code}")(error_for(_msg, _code))

_SILENT = [
    ("unknown notification", {"jsonrpc": "2.0", "method": "codefusion/nothing", "params": {}}),
    ("unknown $/ notification", {"jsonrpc": "2.0", "method": "$/nothing"}),
    ("notification that is not JSON-RPC 2.0", {"jsonrpc": "1.0", "method": "initialized"}),
    ("empty object", {}),
    ("a response to nothing", {"jsonrpc": "2.0", "id": 424242, "result": None}),
    ("an error response to nothing", {"jsonrpc": "2.0", "id": 424243, "error": {"code": 1, "message": "x"}}),
    ("a response with a bad error", {"jsonrpc": "2.0", "id": 424244, "error": "boom"}),
    ("didOpen with params a list", {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": [1]}),
    (
        "didChange of a document never opened",
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": "file:///never.sh", "version": 2}, "contentChanges": [{"text": "x"}]},
        },
    ),
    (
        "didClose of a document never opened",
        {"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": "file:///never.sh"}}},
    ),
    ("didChangeConfiguration without params", {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration"}),
    ("cancel an unknown id", {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 999999}}),
    ("cancel with a string id", {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nope"}}),
    ("cancel without params", {"jsonrpc": "2.0", "method": "$/cancelRequest"}),
    ("cancel with an object id", {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": {"a": 1}}}),
    ("setTrace with a bad value", {"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": "loud"}}),
    ("initialized sent twice", {"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    (
        "a request lookalike nested in params",
        {
            "jsonrpc": "2.0",
            "method": "workspace/didChangeConfiguration",
            "params": {"settings": {"codefusion": {"x": {"jsonrpc": "2.0", "id": 77, "method": "shutdown"}}}},
        },
    ),
]
for _name, _msg in _SILENT:
    case("jsonrpc", _name, "no answer, no popup")(no_answer(_msg))


# ------------------------------------------------------------------ positions and documents

_POSITIONS = [
    ("line a float", {"line": 1.5, "character": 0}),
    ("line a numeric string", {"line": "3", "character": 0}),
    ("character a bool", {"line": 0, "character": True}),
    ("line negative", {"line": -1, "character": 0}),
    ("character negative", {"line": 0, "character": -3}),
    ("line 2^64", {"line": 2**64, "character": 0}),
    ("line null", {"line": None, "character": 0}),
    ("position a list", [0, 0]),
    ("position missing its character", {"line": 0}),
    ("position a string", "0:0"),
]
for _method in ("textDocument/completion", "textDocument/inlineCompletion"):
    for _name, _pos in _POSITIONS:
        _params = completion(DOC, _pos)
        if _method == "textDocument/inlineCompletion":
            _params["context"] = {"triggerKind": 1}
        case("positions", f"{_method.split('/')[1]}: {_name}", f"error {INVALID_PARAMS}")(
            request_error(_method, _params, INVALID_PARAMS)
        )

case("positions", "codeAction: range end a float", f"error {INVALID_PARAMS}")(
    request_error(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": DOC},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0.5, "character": 0}},
            "context": {"diagnostics": []},
        },
        INVALID_PARAMS,
    )
)
case("positions", "completion: line 2^40 (over LSP's uinteger)", f"error {INVALID_PARAMS}")(
    request_error("textDocument/completion", completion(DOC, {"line": 2**40, "character": 0}), INVALID_PARAMS)
)
case("positions", "completion: line 10^6 (beyond the document)", "an empty result")(
    result_for("textDocument/completion", completion(DOC, {"line": 10**6, "character": 0}), empty_items)
)
case("positions", "completion: character beyond the line", "a result (the cursor is clamped)")(
    result_for("textDocument/completion", completion(DOC, {"line": 2, "character": 10_000}))
)
case("positions", "completion: unknown document", "an empty result")(
    result_for(
        "textDocument/completion", completion("file:///never/opened.sh", {"line": 0, "character": 0}), empty_items
    )
)
case("positions", "completion: uri a number", "an empty result")(
    result_for("textDocument/completion", completion(5, {"line": 0, "character": 0}), empty_items)
)
case("positions", "completion: uri not a URI", "an empty result")(
    result_for("textDocument/completion", completion("not a uri at all", {"line": 0, "character": 0}), empty_items)
)
case("positions", "codeAction: range backwards", "a result, no crash")(
    result_for(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": DOC},
            "range": {"start": {"line": 3, "character": 0}, "end": {"line": 1, "character": 0}},
            "context": {"diagnostics": []},
        },
        lambda r: isinstance(r, list) or r is None,
    )
)
case("positions", "codeAction/resolve: data missing", "the action back, disabled or unchanged")(
    result_for("codeAction/resolve", {"title": "Generate code from comment"}, lambda r: r.get("edit") is None)
)
case("positions", "codeAction/resolve: data a string", "the action back, without an edit")(
    result_for(
        "codeAction/resolve", {"title": "Generate code from comment", "data": "x"}, lambda r: r.get("edit") is None
    )
)


def _open_then(
    text: str, line: int, contains: str, language_id: str = "shellscript", uri: str = "file:///badinput/d.sh"
):
    gen = generate(uri, line, 0, contains)

    def run(s: Server, ctx) -> None:
        s.open(uri, text, language_id)
        gen(s, ctx)

    return run


case("documents", "a comment over maxCommentLength", "no candidates; says the limit")(
    _open_then("# " + "word " * 1000 + "\n\n", 1, "limit is 2000")
)
case("documents", "an empty comment", "no candidates; says it is empty")(_open_then("#\n\n", 1, "comment is empty"))
case("documents", "a 6 MB document", "no candidates; says too large")(_open_then("# x\n" * 1_500_000, 0, "too large"))
case("documents", "a language id the server does not handle", "no candidates; names the language id")(
    _open_then("// add\n", 0, "does not handle language id 'javascript'", "javascript", "file:///badinput/a.js")
)
case("documents", "no comment at the position", "no candidates; says so")(
    _open_then("echo a\n\necho b\n", 1, "no comment")
)


@case("documents", "lone surrogates in the text", "candidates for the comment with U+FFFD in place")
def _surrogates(s: Server, ctx) -> None:
    s.open("file:///badinput/sur.sh", "# list \udc80 files\n\n")
    reply = s.call(
        "workspace/executeCommand",
        {
            "command": "codefusion.generate",
            "arguments": [{"uri": "file:///badinput/sur.sh", "position": {"line": 1, "character": 0}}],
        },
    )
    assert reply["result"]["comment"] == "list \ufffd files", reply


@case(
    "documents", "NUL and control characters in the comment", "an answer (result), the characters kept out of the code"
)
def _controls(s: Server, ctx) -> None:
    s.open("file:///badinput/ctl.sh", "# list\x00 \x1b[31mfiles\x07\n\n")
    reply = s.call(
        "workspace/executeCommand",
        {
            "command": "codefusion.generate",
            "arguments": [{"uri": "file:///badinput/ctl.sh", "position": {"line": 1, "character": 0}}],
        },
    )
    assert "result" in reply, reply


def _generate_in(text: str, uri: str):
    def run(s: Server, ctx) -> None:
        s.open(uri, text)
        result_for(
            "workspace/executeCommand",
            {"command": "codefusion.generate", "arguments": [{"uri": uri, "position": {"line": 1, "character": 0}}]},
        )(s, ctx)

    return run


for _i, (_name, _text) in enumerate(
    [
        ("right-to-left and emoji", "# \u202elist\u2066 files \U0001f389\n\n"),
        ("CRLF line ends", "# list files\r\n\r\n"),
        ("a lone CR line end", "# list files\r\r"),
        ("a 100 KB line without comment", "x" * 100_000 + "\n"),
    ]
):
    case("documents", _name, "an answer (result), no crash")(_generate_in(_text, f"file:///badinput/text-{_i}.sh"))

_DOC_NOTES = [
    (
        "didOpen without text",
        {"textDocument": {"uri": "file:///badinput/nt.sh", "languageId": "shellscript", "version": 1}},
    ),
    (
        "didOpen with text a number",
        {"textDocument": {"uri": "file:///badinput/nn.sh", "languageId": "shellscript", "version": 1, "text": 5}},
    ),
    (
        "didOpen with version a string",
        {
            "textDocument": {
                "uri": "file:///badinput/vs.sh",
                "languageId": "shellscript",
                "version": "one",
                "text": "# a\n",
            }
        },
    ),
    (
        "didOpen with uri null",
        {"textDocument": {"uri": None, "languageId": "shellscript", "version": 1, "text": "# a\n"}},
    ),
]
for _name, _params in _DOC_NOTES:
    case("documents", _name, "no answer, no popup")(
        no_answer({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": _params})
    )


@case("documents", "didChange with a range beyond the end", "the edit is applied clamped or ignored; generation works")
def _change_beyond(s: Server, ctx) -> None:
    s.open("file:///badinput/ch.sh", "# list files\n\n")
    s.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": "file:///badinput/ch.sh", "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": 50, "character": 0}, "end": {"line": 60, "character": 5}}, "text": "x"}
            ],
        },
    )
    reply = s.call(
        "workspace/executeCommand",
        {
            "command": "codefusion.generate",
            "arguments": [{"uri": "file:///badinput/ch.sh", "position": {"line": 1, "character": 0}}],
        },
    )
    assert "result" in reply, reply


@case("documents", "didChange with a negative range", "ignored; no answer")
def _change_negative(s: Server, ctx) -> None:
    s.open("file:///badinput/cn.sh", "# list files\n\n")
    no_answer(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": "file:///badinput/cn.sh", "version": 2},
                "contentChanges": [
                    {"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": -5}}, "text": "x"}
                ],
            },
        }
    )(s, ctx)


# ------------------------------------------------------------------ settings

_SETTINGS = [
    ("settings a string", "fast please", "must be an object"),
    ("settings a list", [1, 2], "must be an object"),
    ("settings a number", 5, "must be an object"),
    ("codefusion section a string", {"codefusion": "x"}, "must be an object"),
    ("k 0", {"codefusion": {"k": 0}}, "codefusion.k: 0"),
    ("k -1", {"codefusion": {"k": -1}}, "codefusion.k: -1"),
    ("k 1000", {"codefusion": {"k": 1000}}, "codefusion.k: 1000"),
    ("k a string", {"codefusion": {"k": "5"}}, "codefusion.k: '5'"),
    ("k a float", {"codefusion": {"k": 2.5}}, "codefusion.k: 2.5"),
    ("k true", {"codefusion": {"k": True}}, "codefusion.k: True"),
    ("steps 0", {"codefusion": {"steps": 0}}, "codefusion.steps: 0"),
    ("steps 10^9", {"codefusion": {"steps": 10**9}}, "codefusion.steps: 1000000000"),
    ("device tpu", {"codefusion": {"device": "tpu"}}, "codefusion.device: 'tpu'"),
    ("device a number", {"codefusion": {"device": 5}}, "codefusion.device: 5"),
    ("languages a string", {"codefusion": {"languages": "bash"}}, "codefusion.languages: 'bash'"),
    ("languages unknown ids", {"codefusion": {"languages": ["cobol", "bash"]}}, "'cobol'"),
    ("invalidMode unknown", {"codefusion": {"invalidMode": "explode"}}, "codefusion.invalidMode: 'explode'"),
    ("timeout negative", {"codefusion": {"timeout": -1}}, "codefusion.timeout: -1"),
    ("timeout a string", {"codefusion": {"timeout": "fast"}}, "codefusion.timeout: 'fast'"),
    ("maxCommentLength negative", {"codefusion": {"maxCommentLength": -5}}, "codefusion.maxCommentLength: -5"),
    ("retrieval a string", {"codefusion": {"retrieval": "yes"}}, "codefusion.retrieval: 'yes'"),
    ("exemplarFiles a string", {"codefusion": {"exemplarFiles": "x.jsonl"}}, "codefusion.exemplarFiles"),
    ("checkpoint a number", {"codefusion": {"checkpoint": 5}}, "codefusion.checkpoint: 5"),
    ("unknown setting", {"codefusion": {"turbo": True}}, "unknown setting codefusion.turbo"),
    ("a 1 MB setting value", {"codefusion": {"device": "x" * 1_000_000}}, "codefusion.device"),
]
for _name, _settings, _pattern in _SETTINGS:
    case("settings", _name, f"a message containing {_pattern!r}; defaults used; served")(notice(_settings, _pattern))


@case("settings", "exemplarFiles naming a missing file and a binary one", "a message naming the file; still served")
def _exemplar_files(s: Server, ctx) -> None:
    binary = Path(ctx["tmp"]) / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 10)
    notice(
        {"codefusion": {**s.options, "exemplarFiles": ["/no/such/exemplars.jsonl", str(binary)]}}, "exemplars.jsonl"
    )(s, ctx)


# ------------------------------------------------------------------ hostile checkpoints


def _copy_checkpoint(ctx, name: str) -> Path:
    return spoil.copy_checkpoint(Path(ctx["checkpoint"]), Path(ctx["tmp"]) / name)


def _bad_checkpoint(name: str, spoil: Callable[[Path], str | None], pattern: str):
    def run(s: Server, ctx) -> None:
        path = _copy_checkpoint(ctx, name.replace(" ", "_").replace("/", "_"))
        target = spoil(path) or str(path)
        start = s.mark()
        s.notify("workspace/didChangeConfiguration", {"settings": {"codefusion": {**s.options, "checkpoint": target}}})
        got = s.wait_for(
            lambda m: m.get("method") == "codefusion/status" and m["params"]["state"] == "error", 90, start
        )
        assert got, f"no error status; got {s.notices(start)}"
        assert pattern.lower() in got["params"]["message"].lower(), got["params"]["message"]
        s.probe()  # served while the model is unusable
        start = s.mark()
        restore(s)  # and the good checkpoint loads again
        ok = s.wait_for(lambda m: m.get("method") == "codefusion/status" and m["params"]["state"] == "ready", 90, start)
        assert ok, f"the good checkpoint did not load again: {s.notices(start)}"

    return run


_CHECKPOINTS = [
    ("a checkpoint that does not exist", lambda p: str(p / "nothing-here"), "nothing-here"),
    ("a checkpoint that is a file", lambda p: str(p / "config.json"), "config.json"),
    ("config.json a FIFO", spoil.fifo_config, "config.json"),
    ("config.json a directory", spoil.config_dir, "config.json"),
    ("config.json not JSON", lambda p: (p / "config.json").write_text("{not json") and None, "config.json"),
    ("config.json a JSON list", spoil.edit_config(lambda c: [1, 2]), "config.json"),
    ("d_model 16384 in the config", spoil.big_model, "d_model"),
    ("weights truncated", spoil.truncate_weights, "weights"),
    ("weights missing", lambda p: spoil.weights(p).unlink(), "weights"),
    ("encoder with a pickled pytorch_model.bin", spoil.pickled_encoder, "safetensors"),
    ("weights a symlink to /dev/zero", spoil.weights_to_dev_zero, "weights"),
]


for _name, _spoil, _pattern in _CHECKPOINTS:
    case("checkpoints", _name, f"an error status naming {_pattern!r}; served meanwhile; the good one loads again")(
        _bad_checkpoint(_name, _spoil, _pattern)
    )


# ------------------------------------------------------------------ commands

_CMD_ARGS = [
    ("generate without arguments", "codefusion.generate", [], "expected one argument"),
    ("generate with two arguments", "codefusion.generate", [1, 2], "expected one argument"),
    ("generate with a string argument", "codefusion.generate", ["x"], "expected one argument"),
    (
        "generate with uri a number",
        "codefusion.generate",
        [{"uri": 3, "position": {"line": 0, "character": 0}}],
        "expected one argument",
    ),
    (
        "generate with line a string",
        "codefusion.generate",
        [{"uri": DOC, "position": {"line": "a", "character": 0}}],
        "must be integers",
    ),
    (
        "generate on an unknown document",
        "codefusion.generate",
        [{"uri": "file:///x/none.sh", "position": {"line": 0, "character": 0}}],
        "unknown document",
    ),
    (
        "generate with a negative line",
        "codefusion.generate",
        [{"uri": DOC, "position": {"line": -4, "character": 0}}],
        "outside the document",
    ),
]


def _with_doc(run):
    def opened(s: Server, ctx) -> None:
        s.open(DOC, DOC_TEXT)
        run(s, ctx)

    return opened


for _name, _cmd, _args, _pattern in _CMD_ARGS:
    case("commands", _name, f"no candidates; the message says {_pattern!r}")(
        _with_doc(
            result_for(
                "workspace/executeCommand",
                {"command": _cmd, "arguments": _args},
                lambda r, p=_pattern: r["candidates"] == [] and p in r["message"],
            )
        )
    )

for _name, _args in [
    ("insert without arguments", []),
    ("insert with code a number", [{"uri": DOC, "position": {"line": 1, "character": 0}, "code": 5}]),
    (
        "insert on an unknown document",
        [{"uri": "file:///x/none.sh", "position": {"line": 1, "character": 0}, "code": "ls"}],
    ),
]:
    case("commands", _name, "applied: false, nothing applied")(
        result_for(
            "workspace/executeCommand",
            {"command": "codefusion.insert", "arguments": _args},
            lambda r: r == {"applied": False},
        )
    )

case("commands", "an unknown command", "an error response")(lambda s, ctx: _unknown_command(s))
case("commands", "arguments an object, not a list", "no candidates; the message says what is expected")(
    result_for(
        "workspace/executeCommand",
        {"command": "codefusion.generate", "arguments": {"uri": DOC}},
        lambda r: r["candidates"] == [] and "expected one argument" in r["message"],
    )
)


def _unknown_command(s: Server) -> None:
    reply = s.call("workspace/executeCommand", {"command": "rm -rf /", "arguments": []})
    assert reply and "error" in reply, reply


# ------------------------------------------------------------------ security markers: nothing is ever executed

_MARKERS = [
    ("command substitution in a comment", "shellscript", "# list files $(touch {m})\n\n"),
    ("backticks in a comment", "shellscript", "# count lines `touch {m}`\n\n"),
    ("python code in a comment", "python", "# __import__('os').system('touch {m}')\n\n"),
    ("a CF rule comment with a formula", "cfrule", '# highlight cells =HYPERLINK("file://{m}")\n\n'),
]
for _name, _lang, _text in _MARKERS:

    def _marker_case(s: Server, ctx, lang=_lang, text=_text, name=_name) -> None:
        marker = Path(ctx["tmp"]) / f"marker-{abs(hash(name))}"
        uri = f"file:///badinput/marker-{abs(hash(name))}"
        s.open(uri, text.format(m=marker), lang)
        for method in ("workspace/executeCommand", "textDocument/completion"):
            if method == "workspace/executeCommand":
                s.call(
                    method,
                    {
                        "command": "codefusion.generate",
                        "arguments": [{"uri": uri, "position": {"line": 1, "character": 0}}],
                    },
                )
            else:
                s.call(method, completion(uri, {"line": 1, "character": 0}))
        time.sleep(0.2)
        assert not marker.exists(), "the comment was executed"

    case("security", _name, "candidates are generated; the marker file is never created")(_marker_case)


@case("security", "an exemplar file whose code would create a marker", "used as data only; the marker never appears")
def _exemplar_marker(s: Server, ctx) -> None:
    marker = Path(ctx["tmp"]) / "marker-exemplar"
    ex = Path(ctx["tmp"]) / "hostile.jsonl"
    ex.write_text(json.dumps({"nl": "list all files here", "code": f"touch {marker}", "lang": "bash"}) + "\n")
    start = s.mark()
    s.notify(
        "workspace/didChangeConfiguration", {"settings": {"codefusion": {**s.options, "exemplarFiles": [str(ex)]}}}
    )
    s.wait_for(
        lambda m: m.get("method") == "codefusion/status" and m["params"]["state"] in ("ready", "error"), 90, start
    )
    s.probe()
    time.sleep(0.2)
    assert not marker.exists()
    restore(s)


# ------------------------------------------------------------------ cancellation and time


@case("cancellation", "a storm: 40 completions each cancelled at once", "every one answered (result or -32800)")
def _storm(s: Server, ctx) -> None:
    s.open(DOC, DOC_TEXT)
    start = s.mark()
    ids = []
    for i in range(40):
        ids.append(
            s.request("textDocument/completion", completion(DOC, {"line": 2, "character": 0}), msg_id=f"storm-{i}")
        )
        s.notify("$/cancelRequest", {"id": ids[-1]})
    for msg_id in ids:
        reply = s.response(msg_id, 60, start)
        assert reply is not None, f"{msg_id} unanswered"
        assert "result" in reply or reply["error"]["code"] == REQUEST_CANCELLED, reply


@case("cancellation", "the same id used twice at once", "both answered or one refused; the server goes on")
def _same_id(s: Server, ctx) -> None:
    s.open(DOC, DOC_TEXT)
    start = s.mark()
    for _ in range(2):
        s.request("textDocument/completion", completion(DOC, {"line": 2, "character": 0}), msg_id="twice")
    assert s.response("twice", 60, start) is not None


@case("cancellation", "cancelling a generate command", "answered: cancelled or a result")
def _cancel_command(s: Server, ctx) -> None:
    s.open(DOC, DOC_TEXT)
    start = s.mark()
    s.request(
        "workspace/executeCommand",
        {"command": "codefusion.generate", "arguments": [{"uri": DOC, "position": {"line": 1, "character": 0}}]},
        msg_id="cmd-cancel",
    )
    s.notify("$/cancelRequest", {"id": "cmd-cancel"})
    reply = s.response("cmd-cancel", 60, start)
    assert reply and ("result" in reply or reply["error"]["code"] == REQUEST_CANCELLED), reply


@case("cancellation", "a request that outlives codefusion.timeout", "answered within the budget with 'took too long'")
def _timeout(s: Server, ctx) -> None:
    start = s.mark()
    s.notify(
        "workspace/didChangeConfiguration",
        {"settings": {"codefusion": {**s.options, "steps": 1000, "timeout": 1, "k": 10}}},
    )
    s.wait_for(lambda m: False, 0.5, start)
    s.open("file:///badinput/slow.sh", "# find the biggest files under the home directory quickly\n\n")
    t = time.monotonic()
    reply = s.call(
        "workspace/executeCommand",
        {
            "command": "codefusion.generate",
            "arguments": [{"uri": "file:///badinput/slow.sh", "position": {"line": 1, "character": 0}}],
        },
        60,
    )
    took = time.monotonic() - t
    restore(s)
    assert reply and "result" in reply, reply
    if "took too long" not in reply["result"]["message"]:  # the tiny model may just be fast enough
        assert took < 1.5, (took, reply["result"]["message"])
    else:
        assert took < 5, took


# ------------------------------------------------------------------ lifecycle (a server each)


@case("lifecycle", "a request before initialize", f"error {SERVER_NOT_INITIALIZED}; initialize then works", fresh=True)
def _before_init(s: Server, ctx) -> None:
    error_for(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "textDocument/hover",
            "params": completion(DOC, {"line": 0, "character": 0}),
        },
        SERVER_NOT_INITIALIZED,
    )(s, ctx)
    s.initialize()


@case("lifecycle", "a notification before initialize", "ignored; initialize then works", fresh=True)
def _note_before_init(s: Server, ctx) -> None:
    no_answer(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": DOC, "languageId": "shellscript", "version": 1, "text": DOC_TEXT}},
        }
    )(s, ctx)
    s.initialize()


@case("lifecycle", "initialize twice", f"error {INVALID_REQUEST}; the first session goes on", fresh=True)
def _init_twice(s: Server, ctx) -> None:
    s.initialize()
    reply = s.call("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    assert reply["error"]["code"] == INVALID_REQUEST, reply


@case("lifecycle", "initialize with params null", f"error {INVALID_PARAMS}; a proper initialize then works", fresh=True)
def _init_null(s: Server, ctx) -> None:
    reply = s.call("initialize", None)
    assert reply and "error" in reply, reply
    s.initialize()


@case("lifecycle", "exit without shutdown", "exit code 1", fresh=True)
def _exit_without_shutdown(s: Server, ctx) -> None:
    s.initialize()
    s.notify("exit")
    assert s.proc.wait(timeout=30) == 1


@case("lifecycle", "shutdown then exit", "exit code 0", fresh=True)
def _exit_after_shutdown(s: Server, ctx) -> None:
    s.initialize()
    assert "result" in s.call("shutdown")
    s.notify("exit")
    assert s.proc.wait(timeout=30) == 0


@case("lifecycle", "a request after shutdown", f"error {INVALID_REQUEST}", fresh=True)
def _after_shutdown(s: Server, ctx) -> None:
    s.initialize()
    s.call("shutdown")
    reply = s.call("textDocument/completion", completion(DOC, {"line": 0, "character": 0}))
    assert reply and reply.get("error", {}).get("code") == INVALID_REQUEST, reply
    s.notify("exit")
    assert s.proc.wait(timeout=30) == 0


@case("lifecycle", "stdin closed without exit", "the server ends on its own", fresh=True)
def _stdin_closed(s: Server, ctx) -> None:
    s.initialize()
    s.proc.stdin.close()
    assert s.proc.wait(timeout=30) in (0, 1)
