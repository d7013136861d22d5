"""CodeFusion engine: a diffusion model that turns natural language into code.

Public entry points (stable; lsp/ and grammar/ rely on them):
    engine.api.load_generator(checkpoint=None, device=None) -> Generator
    Generator.generate(nl, lang, k, steps=None, seed=0, cancel=None) -> list[Candidate]
"""


def version() -> str:
    """The installed distribution's version ("unknown" when running from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version as _v

    try:
        return _v("codefusion-editor")
    except PackageNotFoundError:
        return "unknown"
