"""Engine: a ready model, the one way every surface opens and asks one.

    engine = Engine.open(checkpoint=None, exemplars=(), device=None)   # the model, its banks, warmed up on request
    engine.suggest(Request(nl, lang, k=5, ...)) -> Suggestions          # codefusion.suggest, per-request options
    engine.suggest_many([Request, ...]) -> [Suggestions | ValueError]   # one sampling pass (the shared engine)
    engine.generate(Request) -> [engine.api.Candidate]                  # the model's own k (`generate --raw`)

It owns the generator (the checkpoint's model and NL encoder), the layered banks (the shipped bank, the
training files found here, the user's exemplars: engine.api.exemplar_bank) and the retriever beside the
model (the same bank), the warm-up, and the per-request options of engine.schema.Request (k, steps, seed,
start SNR, noise slots, retrieval, invalid mode): a request's options go with the request, the generator
is never changed for one. `codefusion generate` and `bank`, the warm daemon, the shared engine (Ray
Serve), the language server, `codefusion eval` and the benchmarks open their model here; nothing else
calls engine.api.load_generator.

(The module is `runtime`, not `engine`: codefusion/engine.py beside the top-level `engine` package would
read as that package, and shadow it for a script run from inside codefusion/.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codefusion.settings import Settings
from codefusion.suggest import BatchRequest, Suggestions, origin_of, origin_text, suggest, suggest_many
from engine.schema import CandidateView, Request, error_text
from grammar.pipeline import process

WARM_UP_NL = "warm up"  # the request each language answers once before the first real one (k=1, one step)


class _WithOptions:
    """The generator as suggest() sees it for one request that sets its own start SNR or noise slots:
    generate() and generate_many() pass them on; everything else is the generator's."""

    def __init__(self, generator: Any, options: dict[str, Any]):
        self._generator, self._options = generator, options

    def generate(
        self, nl: str, lang: str, k: int, steps: int | None = None, seed: int = 0, cancel: Any = None, **kw: Any
    ) -> list[Any]:
        return list(
            self._generator.generate(nl, lang, k=k, steps=steps, seed=seed, cancel=cancel, **{**self._options, **kw})
        )

    def generate_many(self, requests: list[dict[str, Any]], *args: Any, **kw: Any) -> list[Any]:
        return list(self._generator.generate_many([{**self._options, **r} for r in requests], *args, **kw))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generator, name)


def _options(request: Request) -> dict[str, Any]:
    """The request's sampling options that the generator takes per call (those it sets)."""
    return {k: v for k, v in (("start_snr", request.start_snr), ("noise_slots", request.noise_slots)) if v is not None}


def candidate_view(r: Any) -> CandidateView:
    """A ranked candidate (grammar.pipeline.RankedCandidate, labelled by codefusion.suggest) as every surface
    shows it (engine.schema.CandidateView): its origin and exemplar, and those in words ("what"; a generated
    candidate that equals a training example says so)."""
    origin, exemplar = origin_of(r)
    what = origin_text(origin, exemplar)
    also = bool(getattr(r, "also_retrieved", False))
    if what == "generated" and also:
        what += ", also a training example"
    return CandidateView(
        code=r.code,
        score=float(r.score),
        source=r.source,
        valid=bool(r.valid),
        errors=tuple(error_text(e.line, e.col, e.message) for e in r.errors),
        warnings=tuple(r.warnings),
        also_retrieved=also,
        origin=origin,
        exemplar=exemplar,
        what=what,
    )


def candidate_json(r: Any) -> dict[str, Any]:
    """candidate_view(r) as JSON: what `generate --json` prints (a list), the daemon and the shared engine
    send, and the language server's codefusion.generate returns."""
    return candidate_view(r).to_json()


def settings_for(request: Request) -> Settings:
    """What suggest() reads of a request."""
    return Settings(k=request.k, steps=request.steps, invalid_mode=request.invalid_mode, retrieval=request.retrieval)


class Engine:
    """A ready model (or, with generator None, a retriever alone: the retrieval baseline)."""

    def __init__(self, generator: Any, retriever: Any = None, *, retriever_from_bank: bool = False):
        """generator: an engine Generator (Engine.open loads one), a test double, or None.
        retriever: what retrieved examples come from; with retriever_from_bank, the generator's bank
        (engine.api.training_retriever), looked up at each request so that a widened bank serves at once."""
        self.generator = generator
        self._retriever = retriever
        self._from_bank = retriever_from_bank

    @classmethod
    def open(
        cls,
        checkpoint: str | Path | None = None,
        exemplars: Sequence[str | Path] = (),
        device: str | None = None,
        *,
        bank: str | Sequence[str | Path] = "default",
        background_embedding: bool | None = None,
        progress: bool = True,
        warm: bool = False,
    ) -> Engine:
        """Load a checkpoint (None: the shipped default model) on `device` (None: CUDA when available).

        bank "default": exemplars and retrieved examples come from the default layers (the shipped bank, the
        checkpoint's training files found here) with the user's `exemplars` (JSONL files) first; a list of
        JSONL files: those alone (`codefusion eval --bank`; the shipped bank's own rows file keeps its index;
        []: no bank). background_embedding True (where a user waits: generate, its daemon, the language
        server): a big bank not in the cache yet is embedded on a thread while TF-IDF serves (a progress bar
        on stderr when `progress`); None leaves the process's choice as it is. warm: answer one small request
        per language now (Engine.warm_up). Raises engine.api.CheckpointError with a one-line message."""
        from engine.api import embed_banks_in_background, exemplar_bank, files_bank, load_generator

        if background_embedding is not None:
            embed_banks_in_background(background_embedding, progress)
        if isinstance(bank, str):
            if bank != "default":
                raise ValueError(f'bank must be "default" or a list of JSONL files, got {bank!r}')
            generator = load_generator(checkpoint, device)
            if exemplars:  # the user's own examples before the default layers
                generator.bank = exemplar_bank(generator, list(exemplars))
        else:
            generator = load_generator(checkpoint, device, bank=None)
            generator.bank = files_bank(generator, list(bank))
        engine = cls(generator, retriever_from_bank=True)
        if warm:
            engine.warm_up()
        return engine

    # ------------------------------------------------------------ what it is
    @property
    def retriever(self) -> Any:
        """What retrieved examples come from (None: none)."""
        if self._from_bank and self.generator is not None:
            from engine.api import training_retriever

            return training_retriever(self.generator)
        return self._retriever

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(getattr(self.generator, "languages", ()))

    @property
    def kind(self) -> str:
        return getattr(self.generator, "kind", "retrieval" if self.generator is None else "model")

    @property
    def default_steps(self) -> int | None:
        return getattr(self.generator, "default_steps", None)

    @property
    def path(self) -> Path | None:
        return getattr(self.generator, "path", None)

    @property
    def bank(self) -> Any:
        """What an exemplar model draws on (None: nothing)."""
        return getattr(self.generator, "bank", None)

    # ------------------------------------------------------------ its banks
    def use_exemplars(
        self,
        files: Sequence[str | Path] = (),
        records: Sequence[dict[str, Any]] = (),
        notes: list[str] | None = None,
        skip_bad: bool = False,
    ) -> Any:
        """Widen the bank by the user's JSONL `files` and `records` (e.g. the open documents' pairs), before
        the default layers (engine.api.exemplar_bank; with skip_bad a bad file is a note in `notes`);
        returns the new bank (None: nothing)."""
        from engine.api import exemplar_bank

        self.generator.bank = exemplar_bank(self.generator, files, records, notes=notes, skip_bad=skip_bad)
        return self.generator.bank

    def bank_hint(self, lang: str, surface: str) -> str | None:
        """One line, once per surface ("cli", "lsp"), for a language without a bank (engine.api.bank_hint)."""
        if getattr(self.generator, "loaded", None) is None:
            return None
        from engine.api import bank_hint

        hint: str | None = bank_hint(self.generator, lang, surface)
        return hint

    # ------------------------------------------------------------ requests
    def _model(self, request: Request) -> Any:
        opts = _options(request)
        return _WithOptions(self.generator, opts) if opts and self.generator is not None else self.generator

    def suggest(self, request: Request, *, cancel: Any = None, pipeline: Callable[..., Any] = process) -> Suggestions:
        """What the editor shows for the request: codefusion.suggest.suggest with the request's options."""
        retriever = self.retriever if request.retrieval or self.generator is None else None
        return suggest(
            request.nl,
            request.lang,
            settings_for(request),
            self._model(request),
            retriever,
            seed=request.seed,
            cancel=cancel,
            pipeline=pipeline,
        )

    def suggest_many(self, requests: Sequence[Request], *, pipeline: Callable[..., Any] = process) -> list[Any]:
        """suggest() for a batch (codefusion.suggest.suggest_many: one sampling pass for the requests that
        share their start SNR and noise slots, usually all); an entry is a Suggestions or the ValueError
        that refused that request."""
        groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(tuple(sorted(_options(r).items())), []).append(i)
        out: list[Any] = [None] * len(requests)
        retriever = self.retriever
        for options, members in groups.items():
            model = _WithOptions(self.generator, dict(options)) if options else self.generator
            batch: list[BatchRequest] = [
                {
                    "nl": requests[i].nl,
                    "lang": requests[i].lang,
                    "seed": requests[i].seed,
                    "settings": settings_for(requests[i]),
                }
                for i in members
            ]
            for i, res in zip(members, suggest_many(batch, model, retriever, pipeline=pipeline)):
                out[i] = res
        return out

    def generate(self, request: Request, *, cancel: Any = None) -> list[Any]:
        """The model's own k candidates for the request, best first (no retrieval, no pipeline)."""
        return list(
            self._model(request).generate(
                request.nl, request.lang, k=request.k, steps=request.steps, seed=request.seed, cancel=cancel
            )
        )

    def warm_up(self, pipeline: Callable[..., Any] = process) -> None:
        """First calls (kernels, parsers, the bank's search) before the first request, not during it: one
        suggestion per language, k=1, one step. A failure here never stops the model from serving."""
        if getattr(self.generator, "loaded", None) is None:  # test doubles have no checkpoint
            return
        for lang in self.languages:
            try:
                self.suggest(Request(WARM_UP_NL, lang, k=1, steps=1), pipeline=pipeline)
            except Exception:  # a warm-up must never block the model
                pass
