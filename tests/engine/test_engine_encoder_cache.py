"""The frozen NL encoder's output cache stays within its byte bound and gives what E gives."""

import torch

from engine.config import DEFAULT_ENCODER
from engine.encoder import NLEncoder


def test_cache_is_bounded_in_bytes_and_exact():
    enc = NLEncoder(DEFAULT_ENCODER, 24, cache_bytes=60_000)
    texts = [f"list the files in folder number {i}" for i in range(60)]
    for t in texts:
        enc([t], "cpu")
    assert 0 < enc._cached <= 60_000 and len(enc._cache) < len(texts)
    assert enc._cached == sum(v.numel() * v.element_size() for v in enc._cache.values())
    last = texts[-1]
    cached, _ = enc([last], "cpu")
    fresh, _ = enc.run([last], "cpu")
    assert torch.allclose(cached, fresh, atol=1e-5)
    assert all(v._base is None for v in enc._cache.values())  # copies, not views of a whole batch
