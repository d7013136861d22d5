"""The code tokenizer: byte-level BPE (HF `tokenizers`), saved with the checkpoint.

Byte-level BPE round-trips any text exactly: spaces, tabs, newlines and non-ASCII.
Token ids 0 and 1 are reserved: PAD (fills the program up to code_max_len) and EOS
(ends the program). Decoding stops at the first of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, EOS = "<pad>", "<eos>"
PAD_ID, EOS_ID = 0, 1


class CodeTokenizer:
    def __init__(self, tok: Tokenizer):
        self.tok = tok
        if tok.token_to_id(PAD) != PAD_ID or tok.token_to_id(EOS) != EOS_ID:
            raise ValueError("tokenizer.json does not reserve <pad>=0 and <eos>=1")

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int) -> CodeTokenizer:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=[PAD, EOS],
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @classmethod
    def from_file(cls, path: Path) -> CodeTokenizer:
        return cls(Tokenizer.from_file(str(path)))

    def save(self, path: Path) -> None:
        self.tok.save(str(path))

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tok.encode(text, add_special_tokens=False)
        return enc.ids, enc.offsets

    def encode_padded(self, text: str, length: int) -> list[int]:
        """ids + EOS, then PAD up to `length` (truncated to length-1 tokens + EOS)."""
        ids = self.encode(text)[: length - 1] + [EOS_ID]
        return ids + [PAD_ID] * (length - len(ids))

    def decode(self, ids: Sequence[int]) -> str:
        """Decode up to the first PAD or EOS."""
        ids = [int(i) for i in ids]
        return self.tok.decode(ids[: self.content_length(ids)], skip_special_tokens=False)

    @staticmethod
    def content_length(ids: Sequence[int]) -> int:
        """Number of tokens before the first PAD/EOS."""
        for n, i in enumerate(ids):
            if i in (PAD_ID, EOS_ID):
                return n
        return len(ids)
