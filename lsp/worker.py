"""Model handle, result cache and in-flight generations, off the event loop.

One worker thread owns the model: it loads the checkpoint (once per
checkpoint/device setting) and runs the generations one after another, so the
event loop stays free for editor traffic. Every generation gets a
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
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence

from lsp.options import Options

log = logging.getLogger(__name__)

CACHE_SIZE = 64  # finished results kept (LRU): inline completion asks again for the comment being typed


class ModelUnavailable(Exception):
    """No usable model: str() says why and how to fix it."""


class Superseded(Exception):
    """A newer request for the same document replaced this generation."""


class TimedOut(Exception):
    """A generation ran past the request's time budget (codefusion.timeout); str() says so."""


class Stopped(Exception):
    """The sampler stopped on its cancellation event (raised in the worker thread)."""

    def __init__(self, steps_run: int, seconds: float):
        super().__init__(f"generation cancelled after {steps_run} sampling steps ({seconds:.2f} s)")
        self.steps_run = steps_run
        self.seconds = seconds


@dataclass(frozen=True)
class GenerationKey:
    """What a result depends on: the cache key."""

    nl: str
    lang: str
    k: int
    steps: Optional[int]
    invalid_mode: str
    retrieval: bool
    model: Hashable
    exemplars: int = 0  # the version of the workspace's comment -> code pairs (a new pair: a new result)


@dataclass
class GenerationResult:
    """Ranked candidates (grammar.pipeline.RankedCandidate), best first, and a message for the user."""

    candidates: List[Any]
    message: Optional[str]
    model_seconds: float  # time in generator.generate (and retrieval)
    pipeline_seconds: float  # time in grammar.pipeline.process (dedupe, syntax checks, ranking)
    steps_run: int  # sampling steps the model ran (cancellation checks seen)
    exemplars: List[str] = dataclasses.field(default_factory=list)  # programs the model's candidates started from


@dataclass
class _Job:
    key: GenerationKey
    doc: str
    cancel: threading.Event
    future: "asyncio.Future[GenerationResult]"
    waiters: int = 0
    superseded: bool = False


@dataclass
class _Model:
    key: Hashable
    generator: Any = None
    retriever: Any = None
    retriever_future: Optional["asyncio.Future[None]"] = None
    error: Optional[str] = None
    future: Optional["asyncio.Future[None]"] = None


def default_loader(options: Options) -> Any:
    """Load the generator for these options (slow: imports torch)."""
    from engine.api import embed_banks_in_background, load_generator

    embed_banks_in_background(progress=False)  # a new big bank: TF-IDF serves while it is embedded (no bar in a log)
    return load_generator(options.checkpoint, device=options.load_device)


ENGINE_RETRY_S = 30.0  # while the local model stands in, how often the shared engine is asked again


class RemoteEngine:
    """A shared engine (`codefusion serve`) standing in for the model: the worker sends it the request
    and gets ranked candidates back. `local` is the model that takes over while it cannot be reached
    (codefusion.engineFallback); every ENGINE_RETRY_S the engine is tried again, and it takes back
    over when it answers."""

    kind = "remote"

    def __init__(self, client: Any, languages: Sequence[str], options: Options):
        self.client = client
        self.languages = tuple(languages)
        self.path = client.url
        self.options = options
        self.local: Any = None  # the local model, loaded on first need
        self.local_retriever: Any = None
        self.down_since: Optional[float] = None  # the engine stopped answering (monotonic time); None: up
        self.problem: Optional[str] = None  # why the local model stands in, said once when it loads

    def should_retry(self) -> bool:
        return self.down_since is not None and time.monotonic() - self.down_since >= ENGINE_RETRY_S


def load_engine(options: Options, loader: Callable[[Options], Any]) -> Any:
    """For codefusion.engineUrl: the engine if it answers its health check; else, with
    engineFallback, the engine with the local model standing in; else ModelUnavailable saying why."""
    from codefusion.remote import EngineClient, EngineUnreachable, RequestError

    try:
        client = EngineClient(options.engine_url, options.engine_token, timeout=float(options.timeout))
    except ValueError as exc:
        raise ModelUnavailable(f"codefusion.engineUrl: {exc}") from None
    try:
        return RemoteEngine(client, client.health(timeout=min(10.0, float(options.timeout))).get("languages") or (), options)
    except (EngineUnreachable, RequestError) as exc:
        if not options.engine_fallback:
            raise ModelUnavailable(f"{exc} (codefusion.engineUrl; codefusion.engineFallback is off)") from None
        engine = RemoteEngine(client, (), options)
        engine.local = loader(dataclasses.replace(options, engine_url=None))
        engine.languages = tuple(getattr(engine.local, "languages", ()))
        engine.down_since = time.monotonic()
        engine.problem = f"{exc}; using the local model (codefusion.engineFallback)"
        return engine


def default_pipeline(candidates: Sequence[Any], lang: str, k: int, invalid_mode: str) -> Any:
    from grammar.pipeline import process

    return process(candidates, lang, k=k, invalid_mode=invalid_mode)


def default_retriever(generator: Any) -> Any:
    """The retriever of the checkpoint's training files (engine.api.training_retriever)."""
    from engine.api import training_retriever

    return training_retriever(generator)


class GenerationService:
    """Owns the model, the cache and the jobs. Use from the event loop thread only."""

    def __init__(
        self,
        loader: Callable[[Options], Any] = default_loader,
        pipeline: Callable[..., Any] = default_pipeline,
        retriever_factory: Callable[[Any], Any] = default_retriever,
        on_status: Callable[[str, str], None] = lambda state, message: None,
        on_log: Callable[[str], None] = lambda message: None,
        on_warning: Optional[Callable[[str], None]] = None,
    ):
        self._loader = loader
        self._pipeline = pipeline
        self._retriever_factory = retriever_factory
        self._on_status = on_status
        self._on_log = on_log
        self._on_warning = on_warning or on_log  # a problem the user should see (exemplar files)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codefusion-model")
        self._model: Optional[_Model] = None
        self._cache: "OrderedDict[GenerationKey, GenerationResult]" = OrderedDict()
        self._jobs: Dict[GenerationKey, _Job] = {}
        self._tasks: Dict[Any, "asyncio.Task[Any]"] = {}  # request id -> handler task
        self._runs = 0  # generations run (every 50th returns freed memory to the system)
        self._workspace: List[dict] = []  # the open documents' comment -> code pairs (lsp.exemplars)
        self.workspace_version = 0
        self._files: tuple = ()  # codefusion.exemplarFiles of the loaded model
        self._hinted: set = set()  # languages checked for "no bank here" (engine.api.bank_hint, once)

    def set_workspace_exemplars(self, records: List[dict], version: int) -> None:
        """The user's comment -> code pairs; the next generation draws on them."""
        self._workspace, self.workspace_version = list(records), version

    def _sync_bank(self, generator: Any, retriever: Any) -> Any:
        """In the worker thread: widen the generator's bank by the exemplar files and workspace pairs
        when they changed; returns the retriever for labelled examples (the same bank)."""
        want = (self._files, self.workspace_version)
        if getattr(generator, "_codefusion_bank", ((), 0)) == want:
            return getattr(generator, "bank", None) or retriever if want != ((), 0) else retriever
        from engine.api import exemplar_bank

        notes: List[str] = []
        try:
            bank = exemplar_bank(generator, self._files, self._workspace, notes=notes, skip_bad=True)
        except Exception as exc:  # a bad file is a note (skip_bad); anything worse: keep serving without the files
            message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            self._say(f"codefusion.exemplarFiles: {message}; using the training files and open documents only", warning=True)
            bank = exemplar_bank(generator, (), self._workspace)
        for note in notes:  # what the bank's limits cut
            self._say(f"codefusion.exemplarFiles: {note}", warning=True)
        generator.bank = bank
        generator._codefusion_bank = want
        return bank or retriever

    def _say(self, message: str, warning: bool = False) -> None:
        """A log line or a warning for the user, from the event loop or the worker thread."""
        fn = self._on_warning if warning else self._on_log
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the worker thread: hand it to the loop
            if self._loop is not None:
                self._loop.call_soon_threadsafe(fn, message)
            return
        fn(message)

    # ------------------------------------------------------------ model

    @property
    def generator(self) -> Any:
        return self._model.generator if self._model else None

    async def ensure_model(self, options: Options) -> Any:
        """The generator for these options, loading it (once) in the worker thread.

        Raises ModelUnavailable with the reason when it cannot be loaded; a failed
        load is not retried until the checkpoint or device setting changes.
        """
        key = options.model_key
        model = self._model
        if model is None or model.key != key:
            model = self._model = _Model(key=key)
            model.future = asyncio.ensure_future(self._load(model, options))
        if model.future is not None and not model.future.done():
            await asyncio.shield(model.future)
        if model.error is not None:
            raise ModelUnavailable(model.error)
        if options.retrieval and not isinstance(model.generator, RemoteEngine):
            if model.retriever_future is None:
                model.retriever_future = asyncio.ensure_future(self._load_retriever(model))
            await asyncio.shield(model.retriever_future)
        return model.generator

    async def _load_retriever(self, model: _Model) -> None:
        loop = asyncio.get_running_loop()
        try:
            model.retriever = await loop.run_in_executor(self._executor, self._retriever_factory, model.generator)
        except Exception as exc:
            self._on_log(f"retrieval unavailable: {type(exc).__name__}: {exc}")
            return
        if model.retriever is None:
            self._on_log("codefusion.retrieval: the checkpoint lists no training files found here; retrieval is off")

    async def _load(self, model: _Model, options: Options) -> None:
        where = options.checkpoint or "the default model"
        self._on_status("loading", f"loading {where}")
        loop = self._loop = asyncio.get_running_loop()
        start = time.perf_counter()
        load = self._loader if not options.engine_url else (lambda o: load_engine(o, self._loader))
        try:
            generator = await loop.run_in_executor(self._executor, load, options)
        except Exception as exc:  # CheckpointError, NoDefaultModelError, ImportError, ModelUnavailable, ...
            model.error = _explain(exc, options)
            log.warning("model load failed: %r", exc)
            if self._model is model:
                self._on_status("error", model.error)
            return
        model.generator = generator
        if isinstance(generator, RemoteEngine):  # the engine does the rest (its bank, its retrieval)
            if generator.problem:
                self._say(generator.problem, warning=True)
            if self._model is model:
                where = f"shared engine at {generator.path}" if generator.local is None else \
                    f"local model (the shared engine at {generator.path} does not answer; asked again every " \
                    f"{ENGINE_RETRY_S:.0f} s)"
                self._on_status("ready", f"{where} ({', '.join(generator.languages)}) in {time.perf_counter() - start:.1f} s")
            return
        self._files = tuple(options.exemplar_files)
        if options.retrieval and model.retriever_future is None:  # the index too, before "ready"
            model.retriever_future = asyncio.ensure_future(self._load_retriever(model))
            await model.retriever_future
        if self._files or self._workspace:  # the exemplar bank too, before "ready" (and its problems shown now)
            await loop.run_in_executor(self._executor, self._sync_bank, generator, model.retriever)
        await loop.run_in_executor(self._executor, self._warm_up, generator)
        if self._model is model:
            langs = ", ".join(getattr(generator, "languages", ()))
            self._on_status(
                "ready", f"model ready ({getattr(generator, 'kind', '?')}, {langs}) in {time.perf_counter() - start:.1f} s"
            )

    def _warm_up(self, generator: Any) -> None:
        """In the worker thread, before "ready": one small generation and a syntax check per
        language, so that the first real request does not pay for first calls (parsers, kernels).
        Engine generators only (test doubles have no checkpoint)."""
        if getattr(generator, "loaded", None) is None:
            return
        for lang in getattr(generator, "languages", ()):
            try:
                cands = list(generator.generate("warm up", lang, k=1, steps=1))
                self._pipeline(cands, lang, 1, "rank_last")
            except Exception as exc:  # a warm-up must never block the model
                log.debug("warm-up for %s failed: %r", lang, exc)

    # ------------------------------------------------------------ generation

    def key_for(self, nl: str, lang: str, options: Options, k: Optional[int] = None) -> GenerationKey:
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

    def cached(self, key: GenerationKey) -> Optional[GenerationResult]:
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
                    raise TimedOut(f"the model took longer than {options.timeout} s (setting codefusion.timeout); "
                                   "fewer steps or a smaller k answer sooner") from None
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

    def _wider_job(self, key: GenerationKey) -> Optional[_Job]:
        """A running job for the same request with a larger k: its best candidate will do."""
        for other in self._jobs.values():
            if other.key.k > key.k and other.key == dataclasses.replace(key, k=other.key.k) and not other.cancel.is_set():
                return other
        return None

    def _start(self, key: GenerationKey, doc: str, generator: Any) -> _Job:
        # A request for another comment in the same document means the user moved on.
        for other in list(self._jobs.values()):
            if other.doc == doc and (other.key.nl, other.key.lang) != (key.nl, key.lang) and not other.cancel.is_set():
                other.superseded = True
                other.cancel.set()
        cancel = threading.Event()
        retriever = self._model.retriever if self._model and key.retrieval else None
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, key, generator, retriever, cancel)
        job = _Job(key=key, doc=doc, cancel=cancel, future=future)
        self._jobs[key] = job

        def done(fut: "asyncio.Future[GenerationResult]") -> None:
            if self._jobs.get(key) is job:
                del self._jobs[key]
            if not fut.cancelled() and fut.exception() is None:
                r = fut.result()
                self._on_log(
                    f"generated {len(r.candidates)} candidate(s) for {key.nl[:60]!r} ({key.lang}): "
                    f"model {r.model_seconds * 1000:.1f} ms, pipeline {r.pipeline_seconds * 1000:.1f} ms, {r.steps_run} steps"
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
        from codefusion.suggest import suggest
        from engine.api import Cancelled

        settings = Options(k=key.k, steps=key.steps, invalid_mode=key.invalid_mode, retrieval=key.retrieval)
        if isinstance(generator, RemoteEngine):
            remote = self._ask_engine(generator, key, should_stop, start)
            if remote is not None:
                return remote
            generator, retriever = generator.local, generator.local_retriever  # it takes over
        bank = self._sync_bank(generator, retriever)
        if key.lang not in self._hinted and getattr(generator, "loaded", None) is not None:
            self._hinted.add(key.lang)  # Python, CF: no bank here; once, how to add your own examples
            from engine.api import bank_hint

            hint = bank_hint(generator, key.lang, "lsp")
            if hint:
                self._say(hint, warning=True)
        if retriever is not None:
            retriever = bank
        try:
            res = suggest(key.nl, key.lang, settings, generator, retriever, cancel=should_stop, pipeline=self._pipeline)
        except Cancelled:
            raise Stopped(steps_run, time.perf_counter() - start) from None
        self._runs += 1
        if self._runs % 50 == 0:
            _release_free_memory()
        used = sorted((c.meta["exemplar"], c.meta["exemplar_code"]) for c in res.raw
                      if "exemplar_code" in (getattr(c, "meta", None) or {}))  # nearest first
        used = [code for _, code in used]
        return GenerationResult(list(res.candidates), res.message, res.model_seconds, res.pipeline_seconds, steps_run,
                                list(dict.fromkeys(used)))

    def _ask_engine(self, engine: RemoteEngine, key: GenerationKey, should_stop: Callable[[], bool],
                    start: float) -> Optional[GenerationResult]:
        """In the worker thread: the shared engine's answer; None when the local model takes over
        (the engine stopped answering and codefusion.engineFallback is on)."""
        from codefusion.remote import EngineUnreachable, RequestError
        from engine.api import Cancelled

        if engine.local is not None and engine.should_retry():  # is the engine back?
            try:
                engine.client.health(timeout=2.0)
                engine.local = engine.local_retriever = None
                engine.down_since = None
                self._say(f"the shared engine at {engine.path} answers again; using it", warning=True)
            except (EngineUnreachable, RequestError):
                engine.down_since = time.monotonic()
        if engine.local is None:
            try:
                res = engine.client.suggest(key.nl, key.lang, key.k, key.steps, retrieval=key.retrieval,
                                            invalid_mode=key.invalid_mode, cancel=should_stop)
                return GenerationResult(res.candidates, res.message, res.model_seconds, res.pipeline_seconds, 0)
            except Cancelled:
                raise Stopped(0, time.perf_counter() - start) from None
            except RequestError as exc:
                return GenerationResult([], str(exc), 0.0, 0.0, 0)
            except EngineUnreachable as exc:
                if not engine.options.engine_fallback:
                    return GenerationResult([], f"{exc} (codefusion.engineFallback is off)", 0.0, 0.0, 0)
                self._say(f"{exc}; using the local model (codefusion.engineFallback)", warning=True)
                engine.local = self._loader(dataclasses.replace(engine.options, engine_url=None))
                engine.down_since = time.monotonic()
        if engine.local_retriever is None and key.retrieval:
            engine.local_retriever = self._retriever_factory(engine.local)
        return None

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


def _release_free_memory() -> None:
    """glibc keeps freed heap memory in its arenas; many differently sized tensors fragment them and
    the resident size creeps up. malloc_trim(0) gives the free pages back (Linux only; else nothing)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _explain(exc: BaseException, options: Options) -> str:
    """One message saying what is wrong with the model and how to fix it."""
    name = type(exc).__name__
    if isinstance(exc, ModelUnavailable):  # already says what and how (the shared engine)
        return str(exc)
    if name == "NoDefaultModelError":
        return (
            f"CodeFusion has no model: {exc}. Set the `codefusion.checkpoint` setting "
            "(initializationOptions or workspace settings) to a trained checkpoint directory."
        )
    if name == "CheckpointError":
        return (
            f"CodeFusion cannot load the checkpoint {options.checkpoint or '(default)'}: {exc}. "
            "Point `codefusion.checkpoint` at a complete checkpoint directory."
        )
    if isinstance(exc, ImportError):
        return f"CodeFusion cannot load its model: {exc}. Reinstall the package with its dependencies (torch)."
    return f"CodeFusion cannot load its model: {name}: {exc}"
