"""The request scheduler: result cache and in-flight generations, off the event loop.

One worker thread owns the model (lsp.engine_client loads it there) and runs the generations one
after another, so the event loop stays free for editor traffic. Every generation gets a
threading.Event that the sampler checks between steps:

* `$/cancelRequest`: the request's waiter leaves; when no request waits for a
  generation any more, its event is set and the sampler stops at the next step;
* a newer request for another comment in the same document supersedes
  (cancels) the older one, and closing the document stops its generations;
* identical requests (the same key: comment, language, settings) share one
  generation, a k=1 request (inline ghost text) shares a running one with a
  larger k, and finished results are cached (LRU) under their key.

Nothing here speaks LSP: the server passes callbacks for status changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from codefusion.runtime import Engine
from engine.api import Cancelled
from engine.schema import Request
from lsp.engine_client import (
    ModelClient,
    default_pipeline,
    default_retriever,
    generator_of,
    load_model,
    release_free_memory,
)
from lsp.failover import RemoteEngine, ask_engine
from lsp.generation import GenerationKey, GenerationResult, Stopped, Superseded, TimedOut
from lsp.options import Options

CACHE_SIZE = 64  # finished results kept (LRU): inline completion asks again for the comment being typed


@dataclass
class _Job:
    key: GenerationKey
    doc: str
    cancel: threading.Event
    future: asyncio.Future[GenerationResult]
    waiters: int = 0
    superseded: bool = False


class GenerationService:
    """Owns the cache and the jobs, and the engine client (`model`). Use from the event loop thread only."""

    def __init__(
        self,
        loader: Callable[[Options], Any] = load_model,
        pipeline: Callable[..., Any] = default_pipeline,
        retriever_factory: Callable[[Any], Any] = default_retriever,
        on_status: Callable[[str, str], None] = lambda state, message: None,
        on_log: Callable[[str], None] = lambda message: None,
        on_warning: Callable[[str], None] | None = None,
    ):
        self._pipeline = pipeline
        self._on_log = on_log
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codefusion-model")
        self.model = ModelClient(
            self._executor, loader, pipeline, retriever_factory, on_status, on_log, on_warning or on_log
        )
        self._cache: OrderedDict[GenerationKey, GenerationResult] = OrderedDict()
        self._jobs: dict[GenerationKey, _Job] = {}
        self._tasks: dict[Any, asyncio.Task[Any]] = {}  # request id -> handler task
        self._runs = 0  # generations run (every 50th returns freed memory to the system)

    @property
    def generator(self) -> Any:
        return self.model.generator

    @property
    def workspace_version(self) -> int:
        return self.model.workspace_version

    def set_workspace_exemplars(self, records: list[dict], version: int) -> None:
        """The user's comment -> code pairs; the next generation draws on them."""
        self.model.set_workspace_exemplars(records, version)

    async def ensure_model(self, options: Options) -> Any:
        """The generator for these options (lsp.engine_client.ModelClient.ensure_model)."""
        return await self.model.ensure_model(options)

    # ------------------------------------------------------------ generation

    def key_for(
        self, nl: str, lang: str, options: Options, k: int | None = None, request: Request | None = None
    ) -> GenerationKey:
        if request is not None:  # the request's own fields (engine.schema), else the settings' (k: the caller's)
            return GenerationKey.of(request, options.model_key, self.workspace_version)
        return GenerationKey(
            nl=nl,
            lang=lang,
            k=options.k if k is None else k,
            steps=options.steps,
            invalid_mode=options.invalid_mode,
            retrieval=options.retrieval,
            model=options.model_key,
            exemplars=self.workspace_version,
        )

    def cached(self, key: GenerationKey) -> GenerationResult | None:
        """A finished result for this key; a k=1 request also takes the best of a cached larger k."""
        result = self._cache.get(key)
        if result is not None:
            self._cache.move_to_end(key)
            return result
        if key.k == 1:
            for other_key, other in reversed(self._cache.items()):
                if other_key.k > 1 and other_key == dataclasses.replace(key, k=other_key.k):
                    return GenerationResult(other.candidates[:1], other.message, 0.0, 0.0, 0)
        return None

    async def generate(
        self, key: GenerationKey, doc: str, options: Options, request_id: Any = None
    ) -> GenerationResult:
        """Candidates for `key`, for a request on document `doc`.

        Raises ModelUnavailable, Superseded, asyncio.CancelledError (client cancel),
        or ValueError (a language the model does not serve).
        """
        hit = self.cached(key)
        if hit is not None:
            return hit
        task = asyncio.current_task()
        if request_id is not None and task is not None:
            self._tasks[request_id] = task
        try:
            generator = await self.ensure_model(options)
            langs = getattr(generator, "languages", None)
            if langs is not None and key.lang not in langs:
                raise ValueError(f"this model does not serve {key.lang} (it serves {', '.join(langs)})")
            job = self._jobs.get(key) or (self._wider_job(key) if key.k == 1 else None)
            if job is None:
                job = self._start(key, doc, generator)
            job.waiters += 1
            try:
                try:
                    result = await asyncio.wait_for(asyncio.shield(job.future), timeout=options.timeout)
                except asyncio.TimeoutError:
                    job.waiters -= 1
                    if job.waiters <= 0:
                        job.cancel.set()  # the sampler stops at its next step
                    raise TimedOut(
                        f"the model took longer than {options.timeout} s (setting codefusion.timeout); "
                        "fewer steps or a smaller k answer sooner"
                    ) from None
                if job.key.k > key.k:
                    return dataclasses.replace(result, candidates=result.candidates[: key.k])
                return result
            except asyncio.CancelledError:
                job.waiters -= 1
                if job.waiters <= 0:
                    job.cancel.set()
                raise
            except Stopped as exc:
                if job.superseded:
                    raise Superseded("superseded by a newer request") from exc
                raise asyncio.CancelledError() from exc
        finally:
            if request_id is not None:
                self._tasks.pop(request_id, None)

    def _wider_job(self, key: GenerationKey) -> _Job | None:
        """A running job for the same request with a larger k: its best candidate will do."""
        for other in self._jobs.values():
            if (
                other.key.k > key.k
                and other.key == dataclasses.replace(key, k=other.key.k)
                and not other.cancel.is_set()
            ):
                return other
        return None

    def _start(self, key: GenerationKey, doc: str, generator: Any) -> _Job:
        # A request for another comment in the same document means the user moved on.
        for other in list(self._jobs.values()):
            if other.doc == doc and (other.key.nl, other.key.lang) != (key.nl, key.lang) and not other.cancel.is_set():
                other.superseded = True
                other.cancel.set()
        cancel = threading.Event()
        slot = self.model.slot
        retriever = slot.retriever if slot and key.retrieval else None
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, key, generator, retriever, cancel)
        job = _Job(key=key, doc=doc, cancel=cancel, future=future)
        self._jobs[key] = job

        def done(fut: asyncio.Future[GenerationResult]) -> None:
            if self._jobs.get(key) is job:
                del self._jobs[key]
            if not fut.cancelled() and fut.exception() is None:
                r = fut.result()
                self._on_log(
                    f"generated {len(r.candidates)} candidate(s) for {key.nl[:60]!r} ({key.lang}): "
                    f"model {r.model_seconds * 1000:.1f} ms, pipeline {r.pipeline_seconds * 1000:.1f} ms, "
                    f"{r.steps_run} steps"
                    + (f"; exemplars: {', '.join(repr(e[:80]) for e in r.exemplars)}" if r.exemplars else "")
                )
                self._cache[key] = r
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            elif not fut.cancelled():
                self._on_log(f"generation for {key.nl[:60]!r}: {fut.exception()}")

        future.add_done_callback(done)
        return job

    def _run(self, key: GenerationKey, generator: Any, retriever: Any, cancel: threading.Event) -> GenerationResult:
        """In the worker thread: sample, add retrieved examples, rank and check."""
        steps_run = 0

        def should_stop() -> bool:
            nonlocal steps_run
            steps_run += 1
            return cancel.is_set()

        start = time.perf_counter()
        if cancel.is_set():  # cancelled while queued
            raise Stopped(0, 0.0)
        if isinstance(generator, RemoteEngine):
            model = self.model
            remote = ask_engine(
                generator,
                key,
                should_stop,
                start,
                model.loader,
                model.retriever_factory,
                lambda message: model.say(message, warning=True),
            )
            if remote is not None:
                return remote
            generator, retriever = generator.local, generator.local_retriever  # it takes over
        bank = self.model.sync_bank(generator, retriever)
        self.model.hint_once(generator, key.lang)  # Python, CF: no bank here; once, how to add your own examples
        if retriever is not None:
            retriever = bank
        try:
            res = Engine(generator_of(generator), retriever).suggest(
                key.request(), cancel=should_stop, pipeline=self._pipeline
            )
        except Cancelled:
            raise Stopped(steps_run, time.perf_counter() - start) from None
        self._runs += 1
        if self._runs % 50 == 0:
            release_free_memory()
        nearest = sorted(
            (c.meta["exemplar"], c.meta["exemplar_code"])
            for c in res.raw
            if "exemplar_code" in (getattr(c, "meta", None) or {})
        )
        used = [code for _, code in nearest]  # nearest first
        return GenerationResult(
            list(res.candidates),
            res.message,
            res.model_seconds,
            res.pipeline_seconds,
            steps_run,
            list(dict.fromkeys(used)),
        )

    # ------------------------------------------------------------ cancellation

    def cancel_request(self, request_id: Any) -> bool:
        """Cancel the handler task of a request id ($/cancelRequest); True when one was running."""
        task = self._tasks.pop(request_id, None)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def cancel_document(self, doc: str) -> None:
        """Stop the generations for a document (it was closed)."""
        for job in list(self._jobs.values()):
            if job.doc == doc:
                job.superseded = True
                job.cancel.set()

    def shutdown(self) -> None:
        for job in self._jobs.values():
            job.cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
