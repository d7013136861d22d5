"""Latency benchmark of the language server: `python scripts/bench_lsp.py [--checkpoint DIR]`.

Starts the real server (`python -m lsp`) over stdio, as an editor would, and prints

* the server's own overhead per request, excluding the model: round trips of
  completion, inline completion, code action and codefusion.generate whose
  candidates are already cached, on a 400-line document (JSON-RPC over stdio,
  comment detection, conversion; the client's side of the round trip is
  included, so this is an upper bound);
* end-to-end latency of a completion on a new comment (the model runs), and how
  that time splits into model, syntax pipeline and the rest, from the timing line
  the server logs for every generation;
* the first completion after the server says "ready";
* with --endurance N: N completions on new comments, latency and the server's RSS
  growth between request 100 and N (a memory leak shows here).

Without --checkpoint the server uses the shipped default model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import BaseLanguageClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REQUESTS = [
    "list all files in the current directory",
    "find all python files",
    "count lines in file.txt",
    "show disk usage of the home directory",
    "print the current working directory",
    "search for error in log.txt",
    "delete all .tmp files recursively",
    "copy the directory src to backup",
    "show the last 20 lines of app.log",
    "compress the folder logs into logs.tar.gz",
    "list running processes sorted by memory",
    "download the file at URL with curl",
]
_TIMING = re.compile(r"model ([\d.]+) ms, pipeline ([\d.]+) ms")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   (n={len(ordered)})"


def document(comment: str, filler_lines: int = 400) -> str:
    """A shell script with `comment` in the middle; the cursor goes on the blank line after it."""
    half = filler_lines // 2
    body = (
        [f"echo line {i}" for i in range(half)]
        + [f"# {comment}", ""]
        + [f"echo line {i}" for i in range(half, filler_lines)]
    )
    return "#!/bin/bash\n" + "\n".join(body) + "\n"


class Bench:
    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.client = BaseLanguageClient("codefusion-bench", "1")
        self.statuses: list[dict[str, str]] = []
        self.logs: list[str] = []
        self.line = 1 + 400 // 2 + 1  # the blank line after the comment

        @self.client.feature("codefusion/status")
        def status(params):
            self.statuses.append({"state": params.state, "message": params.message})

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams):
            self.logs.append(params.message)

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams):
            print(f"server says: {params.message}", file=sys.stderr)

    async def start(self) -> str | None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        await self.client.start_io(sys.executable, "-m", "lsp", env=env)
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), initialization_options=self.options)
        )
        self.client.initialized(types.InitializedParams())
        start = time.perf_counter()
        while not any(s["state"] in ("ready", "error") for s in self.statuses):
            await asyncio.sleep(0.02)
        ready = self.statuses[-1]
        print(f"model load: {time.perf_counter() - start:.1f} s ({ready['message']})")
        return None if ready["state"] == "ready" else ready["message"]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="shellscript", version=1, text=text)
            )
        )

    def requests(self, uri: str):
        doc = types.TextDocumentIdentifier(uri=uri)
        pos = types.Position(line=self.line, character=0)
        c = self.client
        return {
            "completion": lambda: c.text_document_completion_async(
                types.CompletionParams(text_document=doc, position=pos)
            ),
            "inlineCompletion": lambda: c.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=doc,
                    position=pos,
                    context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                )
            ),
            "codeAction": lambda: c.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=doc,
                    range=types.Range(
                        start=types.Position(line=self.line - 1, character=2),
                        end=types.Position(line=self.line - 1, character=2),
                    ),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            ),
            "codefusion.generate": lambda: c.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="codefusion.generate",
                    arguments=[{"uri": uri, "position": {"line": self.line, "character": 0}}],
                )
            ),
        }

    async def overhead(self, n: int) -> None:
        uri = "file:///bench/overhead.sh"
        self.open(uri, document(REQUESTS[0]))
        reqs = self.requests(uri)
        first = await reqs["completion"]()  # runs the model once: every later request is a cache hit
        if not first.items:
            print("warning: the model gave no candidates; the overhead below is for empty results")
        print(f"\nserver overhead, cached candidates (round trip over stdio, {n} requests each):")
        for name, call in reqs.items():
            for _ in range(5):
                await call()
            samples = []
            for _ in range(n):
                t = time.perf_counter()
                await call()
                samples.append((time.perf_counter() - t) * 1000)
            print(f"  {name:22s} {percentiles(samples)}")

    def rss_mb(self, field: str = "VmRSS") -> float | None:
        """The server process's resident memory (Linux /proc), MB: all of it (VmRSS), or its
        anonymous (RssAnon) or file-backed (RssFile: mapped weights) part."""
        proc = getattr(self.client, "_server", None)
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
            return kb / 1024
        except (AttributeError, OSError, StopIteration):
            return None

    async def first_request(self) -> None:
        """Latency of the first completion after "ready" (indexes are built at start-up or not)."""
        uri = "file:///bench/first.sh"
        self.open(uri, document("show the five largest files here"))
        t = time.perf_counter()
        await self.requests(uri)["completion"]()
        print(f"\nfirst completion after ready: {(time.perf_counter() - t) * 1000:.0f} ms")

    async def endurance(self, n: int) -> None:
        """n completions on new comments, each in a document opened and closed like an editor does:
        latency percentiles and the server's memory at request 100 and at the end."""
        lat, rss = [], {}
        for i in range(n):
            uri = f"file:///bench/long-{i}.sh"
            self.open(uri, document(f"{REQUESTS[i % len(REQUESTS)]} number {i}"))
            t = time.perf_counter()
            await self.requests(uri)["completion"]()
            lat.append((time.perf_counter() - t) * 1000)
            self.client.text_document_did_close(
                types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            if i + 1 in (1, 100, n) or (i + 1) % 250 == 0:
                rss[i + 1] = self.rss_mb()
                parts = self.rss_mb("RssAnon"), self.rss_mb("RssFile")
                detail = f" (anonymous {parts[0]:.1f}, file-backed {parts[1]:.1f})" if None not in parts else ""
                print(
                    f"  after {i + 1:5d} requests: RSS {rss[i + 1]:.1f} MB{detail}"
                    if rss[i + 1]
                    else f"  after {i + 1} requests"
                )
        print(f"\nendurance, {n} completions on new comments: {percentiles(lat)}")
        if rss.get(100) and rss.get(n) and n > 100:
            print(f"  RSS growth from request 100 to {n}: {rss[n] - rss[100]:+.1f} MB")

    async def end_to_end(self, n: int) -> None:
        e2e, model, pipeline, rest = [], [], [], []
        for i in range(n):
            fresh = REQUESTS[1:]  # REQUESTS[0] is cached by the overhead run
            comment = fresh[i % len(fresh)] + (f" ({i})" if i >= len(fresh) else "")
            uri = f"file:///bench/e2e-{i}.sh"
            self.open(uri, document(comment))
            seen = len(self.logs)
            t = time.perf_counter()
            await self.requests(uri)["completion"]()
            total = (time.perf_counter() - t) * 1000
            for _ in range(100):  # the timing line follows the response
                timing = [m for m in self.logs[seen:] if _TIMING.search(m)]
                if timing:
                    break
                await asyncio.sleep(0.01)
            if not timing:
                print(f"  no timing line for request {i}: {self.logs[seen:]}")
                continue
            m = _TIMING.search(timing[-1])
            e2e.append(total)
            model.append(float(m.group(1)))
            pipeline.append(float(m.group(2)))
            rest.append(total - float(m.group(1)) - float(m.group(2)))
        print(f"\nend to end, completion on a new comment ({n} requests, the model runs each time):")
        print(f"  {'total':22s} {percentiles(e2e)}")
        print(f"  {'model':22s} {percentiles(model)}")
        print(f"  {'syntax pipeline':22s} {percentiles(pipeline)}")
        print(f"  {'server (the rest)':22s} {percentiles(rest)}")


async def run(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"device": args.device, "k": args.k}
    if args.checkpoint:
        options["checkpoint"] = str(Path(args.checkpoint).resolve())
    if args.steps:
        options["steps"] = args.steps
    bench = Bench(options)
    problem = await bench.start()
    try:
        if problem:
            print(f"no usable model: {problem}", file=sys.stderr)
            return 1
        await bench.first_request()
        if args.endurance:
            await bench.endurance(args.endurance)
            return 0
        await bench.overhead(args.n)
        await bench.end_to_end(args.e2e)
    finally:
        await bench.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_lsp.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", metavar="DIR", help="model checkpoint (default: the shipped model)")
    from lsp.options import DEVICES, Options

    parser.add_argument("--device", default=Options().device, choices=DEVICES)
    parser.add_argument("--k", type=int, default=Options().k, help=f"candidates per request (default {Options().k})")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the checkpoint's)")
    parser.add_argument("--n", type=int, default=200, help="requests per kind for the overhead (default 200)")
    parser.add_argument("--e2e", type=int, default=10, help="end-to-end requests (default 10)")
    parser.add_argument(
        "--endurance",
        type=int,
        default=0,
        metavar="N",
        help="instead: N completions on new comments, latency and the server's RSS growth",
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
