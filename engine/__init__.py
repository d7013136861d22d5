"""CodeFusion engine: a diffusion model that turns natural language into code.

Public entry points (stable; lsp/ and grammar/ rely on them):
    engine.api.load_generator(checkpoint=None, device=None) -> Generator
    Generator.generate(nl, lang, k=5, steps=None, seed=0, cancel=None) -> list[Candidate]
"""
