"""The language server says once, per language, that a language has no example bank here (Python and CF
on a pip install) and how to add your own; a real (untrained) model whose training files hold only Bash."""

from lsp.options import Options
from lsp.scheduler import GenerationService


async def test_a_language_without_a_bank_gets_one_message_per_language(tmp_path, monkeypatch):
    from engine.testing import TINY_PAIRS, untrained_checkpoint

    monkeypatch.setenv("CODEFUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CODEFUSION_SHIPPED_BANK", "none")
    ckpt = untrained_checkpoint(tmp_path, pairs=[p for p in TINY_PAIRS if p[2] == "bash"])
    warnings = []
    service = GenerationService(on_warning=warnings.append)
    opts = Options(checkpoint=str(ckpt), k=2, steps=1, device="cpu")
    try:
        for nl, lang in (
            ("list all files", "bash"),
            ("reverse a list x", "python"),
            ("sort a list", "python"),
            ("highlight blank cells", "cf"),
        ):
            result = await service.generate(service.key_for(nl, lang, opts), "doc", opts)
            assert result.candidates
    finally:
        service.shutdown()
    hints = [w for w in warnings if "example bank" in w]
    assert len(hints) == 2 and "Python" in hints[0] and "CF" in hints[1], warnings
    assert all("\n" not in h and "codefusion.exemplarFiles" in h for h in hints)
