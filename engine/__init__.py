"""CodeFusion engine: a diffusion model (and its autoregressive baseline) that turns natural language into code.

The layers above reach it through one facade, engine.api (lsp/ only through it; grammar/ never imports the
engine); codefusion.runtime.Engine is the one object that opens a model for every surface:
    engine.api.load_generator(checkpoint=None, device=None, bank="default") -> Generator
    Generator.generate(nl, lang, k, steps=None, seed=0, cancel=None, ..., start_snr=None, noise_slots=None)
        -> list[Candidate]; Generator.generate_many([{"nl", "lang", "k", ...}]) batches requests

Modules:
    api         the facade: re-exports the names below, defines nothing; cheap to import (torch loads lazily)
    schema      the request schema (Request, RequestError) and the one home of every limit (k, length, languages)
    types       the shapes every layer shares (Candidate, CancelToken, the generator and retriever protocols)
    errors      every error class the engine raises
    meta        the shipped default checkpoint's place and a model's dev calibration, without torch
    config      ModelConfig / TrainConfig and the named sizes
    tokenizer   the byte-level BPE code tokenizer
    encoder     the NL encoder E (bert: the default one in plain torch, without transformers)
    model       the CodeFusion network; ar_model the autoregressive baseline
    schedule    noise schedules in token SNR and the DDIM sampler; sampling the reverse diffusion
    slots       literal slots: the request's names and numbers copied into the program
    generator   a loaded checkpoint -> k scored candidates (load_generator)
    checkpoint  the one place that reads and writes checkpoints
    retrieval   TF-IDF (+ sentence-vector) nearest neighbours; banks the layered exemplar banks and the
                shipped one; cache the per-user cache of their vectors
    train, data, cpd  training (fine-tuning, pre-training, continuous paragraph denoising) and its data
    diagnose    `codefusion diagnose`; plots: the training curve, and pyplot() for the CLI's other plots
    testing     a tiny real checkpoint trained in seconds, for the tests
"""


def version() -> str:
    """The installed distribution's version ("unknown" when running from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("codefusion-editor")
    except PackageNotFoundError:
        return "unknown"
