"""The engine client: the model for the current settings, loaded once, off the event loop.

`load_model` is the one place the language server opens a model: codefusion.runtime.Engine.open.
`ModelClient` keeps the loaded Engine (or the shared engine, lsp.failover) per checkpoint/device
setting, its retriever and its exemplar bank, warms it up before saying "ready", and says why when
it cannot load (`explain`). Loads and bank updates run on the worker thread the scheduler owns (one
thread owns the model). A loader may return a bare generator instead (the unit tests' doubles): it
gets no bank, no warm-up and no hints, which only an Engine has.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from codefusion.runtime import Engine
from engine.api import CheckpointError, NoDefaultModelError
from grammar.pipeline import process
from lsp import failover
from lsp.failover import RemoteEngine, load_engine
from lsp.generation import ModelUnavailable
from lsp.options import Options

log = logging.getLogger(__name__)


def load_model(options: Options) -> Engine:
    """Open the model for these options (slow: imports torch). The language server's one loader;
    a new big bank is embedded on a thread while TF-IDF serves (no progress bar: stderr is a log)."""
    return Engine.open(options.checkpoint, device=options.load_device, background_embedding=True, progress=False)


def generator_of(model: Any) -> Any:
    """What suggest() samples from: an Engine's generator, or a bare generator (a test double) itself."""
    return model.generator if isinstance(model, Engine) else model


def default_pipeline(candidates: Sequence[Any], lang: str, k: int, invalid_mode: str) -> Any:
    return process(candidates, lang, k=k, invalid_mode=invalid_mode)


def default_retriever(model: Any) -> Any:
    """The retriever of an Engine (its bank: the checkpoint's training files and the shipped bank);
    a bare generator has none."""
    return model.retriever if isinstance(model, Engine) else None


@dataclass
class ModelSlot:
    """The model for one checkpoint/device setting: loading, loaded, or failed (`error`)."""

    key: Hashable
    generator: Any = None
    retriever: Any = None
    retriever_future: asyncio.Future[None] | None = None
    error: str | None = None
    future: asyncio.Future[None] | None = None


class ModelClient:
    """Owns the model handle and its bank; use from the event loop thread, except where a method
    says it runs in the worker thread."""

    def __init__(
        self,
        executor: Executor,
        loader: Callable[[Options], Any],
        pipeline: Callable[..., Any],
        retriever_factory: Callable[[Any], Any],
        on_status: Callable[[str, str], None],
        on_log: Callable[[str], None],
        on_warning: Callable[[str], None],
    ):
        self._executor = executor
        self.loader = loader
        self._pipeline = pipeline
        self.retriever_factory = retriever_factory
        self._on_status = on_status
        self._on_log = on_log
        self._on_warning = on_warning  # a problem the user should see (exemplar files)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.slot: ModelSlot | None = None
        self._workspace: list[dict] = []  # the open documents' comment -> code pairs (lsp.exemplars)
        self.workspace_version = 0
        self._files: tuple = ()  # codefusion.exemplarFiles of the loaded model
        self._banks: WeakKeyDictionary[Engine, tuple] = WeakKeyDictionary()  # (files, workspace version) in its bank
        self._hinted: set = set()  # languages checked for "no bank here" (engine.api.bank_hint, once)

    @property
    def generator(self) -> Any:
        return self.slot.generator if self.slot else None

    def set_workspace_exemplars(self, records: list[dict], version: int) -> None:
        """The user's comment -> code pairs; the next generation draws on them."""
        self._workspace, self.workspace_version = list(records), version

    def say(self, message: str, warning: bool = False) -> None:
        """A log line or a warning for the user, from the event loop or the worker thread."""
        fn = self._on_warning if warning else self._on_log
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the worker thread: hand it to the loop
            if self._loop is not None:
                self._loop.call_soon_threadsafe(fn, message)
            return
        fn(message)

    async def ensure_model(self, options: Options) -> Any:
        """The generator for these options, loading it (once) in the worker thread.

        Raises ModelUnavailable with the reason when it cannot be loaded; a failed
        load is not retried until the checkpoint or device setting changes.
        """
        key = options.model_key
        model = self.slot
        if model is None or model.key != key:
            model = self.slot = ModelSlot(key=key)
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

    async def _load_retriever(self, model: ModelSlot) -> None:
        loop = asyncio.get_running_loop()
        try:
            model.retriever = await loop.run_in_executor(self._executor, self.retriever_factory, model.generator)
        except Exception as exc:
            self._on_log(f"retrieval unavailable: {type(exc).__name__}: {exc}")
            return
        if model.retriever is None:
            self._on_log("codefusion.retrieval: the checkpoint lists no training files found here; retrieval is off")

    async def _load(self, model: ModelSlot, options: Options) -> None:
        where = options.checkpoint or "the default model"
        self._on_status("loading", f"loading {where}")
        loop = self._loop = asyncio.get_running_loop()
        start = time.perf_counter()
        load = self.loader if not options.engine_url else (lambda o: load_engine(o, self.loader))
        try:
            generator = await loop.run_in_executor(self._executor, load, options)
        except Exception as exc:  # CheckpointError, NoDefaultModelError, ImportError, ModelUnavailable, ...
            model.error = explain(exc, options)
            log.warning("model load failed: %r", exc)
            if self.slot is model:
                self._on_status("error", model.error)
            return
        model.generator = generator
        if isinstance(generator, RemoteEngine):  # the engine does the rest (its bank, its retrieval)
            if generator.problem:
                self.say(generator.problem, warning=True)
            if self.slot is model:
                where = (
                    f"shared engine at {generator.path}"
                    if generator.local is None
                    else f"local model (the shared engine at {generator.path} does not answer; asked again every "
                    f"{failover.ENGINE_RETRY_S:.0f} s)"
                )
                self._on_status(
                    "ready", f"{where} ({', '.join(generator.languages)}) in {time.perf_counter() - start:.1f} s"
                )
            return
        self._files = tuple(options.exemplar_files)
        if options.retrieval and model.retriever_future is None:  # the index too, before "ready"
            model.retriever_future = asyncio.ensure_future(self._load_retriever(model))
            await model.retriever_future
        if self._files or self._workspace:  # the exemplar bank too, before "ready" (and its problems shown now)
            await loop.run_in_executor(self._executor, self.sync_bank, generator, model.retriever)
        await loop.run_in_executor(self._executor, self._warm_up, generator)
        if self.slot is model:
            langs = ", ".join(getattr(generator, "languages", ()))
            self._on_status(
                "ready",
                f"model ready ({getattr(generator, 'kind', '?')}, {langs}) in {time.perf_counter() - start:.1f} s",
            )

    def _warm_up(self, model: Any) -> None:
        """In the worker thread, before "ready": Engine.warm_up (one small request per language), so
        that the first real request does not pay for first calls (parsers, kernels). Engines only."""
        if isinstance(model, Engine):
            model.warm_up(self._pipeline)

    def sync_bank(self, model: Any, retriever: Any) -> Any:
        """In the worker thread: widen an Engine's bank by the exemplar files and workspace pairs
        when they changed; returns the retriever for labelled examples (the same bank)."""
        want = (self._files, self.workspace_version)
        if not isinstance(model, Engine):  # a bare generator has no bank
            return retriever
        if self._banks.get(model, ((), 0)) == want:
            return model.bank or retriever if want != ((), 0) else retriever
        notes: list[str] = []
        try:
            bank = model.use_exemplars(self._files, self._workspace, notes=notes, skip_bad=True)
        except Exception as exc:  # a bad file is a note (skip_bad); anything worse: keep serving without the files
            message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            self.say(
                f"codefusion.exemplarFiles: {message}; using the training files and open documents only", warning=True
            )
            bank = model.use_exemplars((), self._workspace)
        for note in notes:  # what the bank's limits cut
            self.say(f"codefusion.exemplarFiles: {note}", warning=True)
        self._banks[model] = want
        return bank or retriever

    def hint_once(self, model: Any, lang: str) -> None:
        """In the worker thread: once per language, how to add your own examples where the model
        has no bank (Python, CF); Engines only."""
        if lang in self._hinted or not isinstance(model, Engine):
            return
        self._hinted.add(lang)
        hint = model.bank_hint(lang, "lsp")
        if hint:
            self.say(hint, warning=True)


def explain(exc: BaseException, options: Options) -> str:
    """One message saying what is wrong with the model and how to fix it."""
    if isinstance(exc, ModelUnavailable):  # already says what and how (the shared engine)
        return str(exc)
    if isinstance(exc, NoDefaultModelError):  # (a CheckpointError: checked first)
        return (
            f"CodeFusion has no model: {exc}. Set the `codefusion.checkpoint` setting "
            "(initializationOptions or workspace settings) to a trained checkpoint directory."
        )
    if isinstance(exc, CheckpointError):
        return (
            f"CodeFusion cannot load the checkpoint {options.checkpoint or '(default)'}: {exc}. "
            "Point `codefusion.checkpoint` at a complete checkpoint directory."
        )
    if isinstance(exc, ImportError):
        return f"CodeFusion cannot load its model: {exc}. Reinstall the package with its dependencies (torch)."
    return f"CodeFusion cannot load its model: {type(exc).__name__}: {exc}"


def release_free_memory() -> None:
    """glibc keeps freed heap memory in its arenas; many differently sized tensors fragment them and
    the resident size creeps up. malloc_trim(0) gives the free pages back (Linux only; else nothing)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
