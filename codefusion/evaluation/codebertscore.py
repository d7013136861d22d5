"""CodeBERTScore (BERTScore over CodeBERT embeddings) from a local model directory.

Only runs when the user gives a local path (e.g. a downloaded microsoft/codebert-base-mlm);
nothing is fetched. For each (candidate, reference) pair: embed both with the model's last
hidden layer, drop the special tokens, match every token to its most similar token on the
other side by cosine similarity, and report F1 of the greedy precision and recall (no IDF
weighting, no baseline rescaling). Scores are in 0..1, higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class CodeBERTScorer:
    def __init__(self, path: str | Path, device: str | None = None, max_length: int = 512):
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"CodeBERT path {path} is not a directory")
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).to(self.device).eval()
        self.max_length = max_length

    def _embed(self, text: str):
        torch = self.torch
        enc = self.tokenizer(
            text, return_tensors="pt", truncation=True, max_length=self.max_length, return_special_tokens_mask=True
        )
        special = enc.pop("special_tokens_mask")[0].bool()
        with torch.no_grad():
            hidden = self.model(**{k: v.to(self.device) for k, v in enc.items()}).last_hidden_state[0]
        hidden = hidden[~special.to(hidden.device)]
        return torch.nn.functional.normalize(hidden, dim=-1)

    def f1(self, candidate: str, reference: str) -> float:
        c, r = self._embed(candidate), self._embed(reference)
        if c.shape[0] == 0 or r.shape[0] == 0:
            return 0.0
        sim = c @ r.T
        precision = sim.max(dim=1).values.mean().item()
        recall = sim.max(dim=0).values.mean().item()
        return 0.0 if precision + recall <= 0 else 2 * precision * recall / (precision + recall)

    def score_all(self, candidates: Sequence[str], references: Sequence[str]) -> list[float]:
        return [self.f1(c, r) for c, r in zip(candidates, references)]
