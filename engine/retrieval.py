"""Nearest-neighbour retrieval: the codes of the training NLs closest to a query.

TF-IDF (scikit-learn) over word 1-2-grams and character 2-4-grams of the NL; the two
vectors are concatenated and L2-normalised, so the score is a cosine similarity. Training
records that share an NL (exact text) are one neighbour: the first record's code stands for
it, so k results come from k distinct training NLs. Search is filtered by language.

Hybrid (`Retriever(..., dense=Dense(embed, weight))`): the score is (1 - weight) x the TF-IDF
cosine + weight x the cosine of sentence vectors (the NL encoder E, mean-pooled). On dev the
hybrid at weight 0.7 found better exemplars than TF-IDF in every language
(scripts/retriever_compare.py). The retrieval floor stays TF-IDF. The bank's vectors are cached on
disk (CODEFUSION_CACHE, default ~/.cache/codefusion), so only the first load pays for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence, Union

import numpy as np

from engine.api import LANGUAGES, Candidate


@dataclass(frozen=True)
class Dense:
    """Sentence vectors for hybrid search: embed(texts) -> (n, d) L2-normalised float32 array;
    weight of their cosine in the score; key names the embedding (the cache's key)."""
    embed: Callable[[list[str]], np.ndarray]
    weight: float
    key: str


CACHE_MIN_ROWS = 256  # extra entries (Retriever.with_records) this many or more have their vectors cached
PROVENANCE_FIELDS = ("file", "line", "page", "platform")  # what a record says of where it came from


def provenance(rec: dict, bank: Optional[str] = None) -> Optional[dict]:
    """Where an entry came from, as a candidate's meta "exemplar_source" shows it: {"bank": "user" |
    "shipped" | "training", "file", "line", "page" (tldr: the page, which is also the attribution),
    "platform"}, the fields the record has; None when it says nothing."""
    out = {"bank": bank} if bank else {}
    out.update({f: rec[f] for f in PROVENANCE_FIELDS if isinstance(rec.get(f), (str, int)) and not isinstance(rec.get(f), bool)})
    return out or None


def _cached_vectors(dense: Dense, nls: list[str]) -> np.ndarray:
    """The texts' sentence vectors, from the user's cache when a file for exactly these texts and this
    embedding is there (engine.cache: version-tagged, checked, written atomically 0600), else embedded
    and saved."""
    import hashlib

    from engine import cache

    h = hashlib.sha1(dense.key.encode())
    for nl in nls:
        h.update(nl.encode("utf-8", "replace") + b"\0")
    name = f"nl-vectors-{h.hexdigest()[:20]}.cfvec"
    v = cache.load_vectors(name, dense.key, len(nls))
    if v is not None:
        return v
    v = dense.embed(nls).astype(np.float32)
    cache.save_vectors(name, dense.key, v)
    return v


@dataclass(frozen=True)
class RetrievalOptions:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)
    char_analyzer: str = "char_wb"  # "char_wb" (n-grams inside word boundaries) or "char"
    lowercase: bool = True
    sublinear_tf: bool = True


def vectorizers(options: RetrievalOptions, vocabulary: Optional[dict] = None):
    """The (word, char) TF-IDF vectorizers of these options; with `vocabulary` ({"word"|"char": (terms in
    column order, idf)}) already fitted (a precomputed index: engine.banks)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    out = []
    for part, analyzer, ngrams in (("word", "word", options.word_ngrams),
                                   ("char", options.char_analyzer, options.char_ngrams)):
        terms, idf = (vocabulary or {}).get(part, (None, None))
        v = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, lowercase=options.lowercase,
                            sublinear_tf=options.sublinear_tf,
                            vocabulary=None if terms is None else {t: i for i, t in enumerate(terms)})
        if idf is not None:
            v.idf_ = idf
        out.append(v)
    return tuple(out)


class _LangIndex:
    def __init__(self, nls: list[str], codes: list[str], options: RetrievalOptions, dense: Optional[Dense] = None,
                 sources: Optional[list] = None, vocabulary: Optional[dict] = None, vectors: Optional[np.ndarray] = None):
        """sources: each entry's provenance (or None); vocabulary: a fitted TF-IDF vocabulary (vectorizers())
        instead of fitting one; vectors: the entries' sentence vectors instead of embedding them."""
        from scipy.sparse import hstack
        from sklearn.preprocessing import normalize

        self.nls, self.codes = nls, codes
        self.sources = list(sources) if sources is not None else [None] * len(nls)
        self.word, self.char = vectorizers(options, vocabulary)
        self._hstack, self._normalize = hstack, normalize
        # entries' TF-IDF rows, stored transposed (features, entries) as CSR: query @ entries_t is then
        # a sparse product without a transpose per search (10x faster on a 35k-entry bank)
        rows = self.tfidf(nls) if vocabulary else \
            normalize(hstack([self.word.fit_transform(nls), self.char.fit_transform(nls)]).tocsr())
        self.entries_t = rows.T.tocsr()
        self.dense = dense
        self.vectors = None if dense is None else vectors if vectors is not None else _cached_vectors(dense, nls)

    def tfidf(self, nls: list[str]):
        """The texts' L2-normalised TF-IDF rows (n, features) on this index's fitted vocabulary."""
        return self._normalize(self._hstack([self.word.transform(nls), self.char.transform(nls)]).tocsr())

    def _sims(self, nls: list[str]) -> np.ndarray:
        """(queries, entries) scores: TF-IDF cosine, blended with the dense cosine when hybrid."""
        sims = (self.tfidf(nls) @ self.entries_t).toarray()
        if self.dense is not None:
            w = self.dense.weight
            sims = (1 - w) * sims + w * (self.dense.embed(nls) @ self.vectors.T)
        return sims

    def extended(self, nls: list[str], codes: list[str], sources: Optional[list] = None) -> "_LangIndex":
        """This index with more entries in front, vectorised with the same fitted vocabulary and IDF:
        their similarities compare with the others' (a separate small index would inflate them)."""
        from scipy.sparse import hstack

        new = object.__new__(_LangIndex)
        new.word, new.char, new._hstack, new._normalize = self.word, self.char, self._hstack, self._normalize
        rows = self.tfidf(nls)
        new.nls, new.codes = list(nls) + self.nls, list(codes) + self.codes
        new.sources = (list(sources) if sources is not None else [None] * len(nls)) + self.sources
        new.entries_t = hstack([rows.T, self.entries_t]).tocsr()
        new.dense = self.dense
        if self.dense is not None:  # a big file (a tldr bank) is embedded once and cached; workspace pairs,
            # few and changing with every edit, each time (milliseconds)
            vecs = _cached_vectors(self.dense, list(nls)) if len(nls) >= CACHE_MIN_ROWS else self.dense.embed(list(nls))
            new.vectors = np.concatenate([vecs, self.vectors])
        else:
            new.vectors = None
        return new

    def search(self, nl: str, k: int) -> list[tuple[int, float]]:
        return self.search_batch([nl], k)[0]

    def search_batch(self, nls: list[str], k: int) -> list[list[tuple[int, float]]]:
        """search() for a few queries in one pass (hybrid scores too): a batch of requests."""
        out = []
        for sims in self._sims(nls):
            kk = min(k, len(sims))
            top = np.argpartition(-sims, kk - 1)[:kk] if kk < len(sims) else np.arange(len(sims))
            order = sorted(top, key=lambda i: (-sims[i], i))
            out.append([(int(i), float(sims[i])) for i in order])
        return out


    def search_many(self, nls: list[str], k: int, chunk: int = 512) -> list[list[tuple[int, float]]]:
        """search() for many queries at once: (index, score) lists, best first."""
        query = self.tfidf(nls)
        out: list[list[tuple[int, float]]] = []
        k = min(k, self.entries_t.shape[1])
        for i in range(0, len(nls), chunk):
            sims = (query[i:i + chunk] @ self.entries_t).toarray()  # (chunk, n)
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for row, cand in zip(sims, top):
                order = sorted(cand, key=lambda j: (-row[j], j))
                out.append([(int(j), float(row[j])) for j in order])
        return out


def normalise_nl(nl: str) -> str:
    """Case, spacing and end punctuation folded: two requests that differ only there are duplicates."""
    return " ".join(nl.lower().split()).strip(" .?!")


class Retriever:
    """`Retriever.from_jsonl([...])` or `Retriever(records)`; `search(nl, lang, k)` -> Candidates."""

    def __init__(self, records: Iterable[dict], options: RetrievalOptions = RetrievalOptions(),
                 dense: Optional[Dense] = None, bank: Optional[str] = None):
        """bank: the layer these records are (engine.banks), named in each entry's provenance."""
        grouped: dict[str, dict[str, tuple]] = {}
        for rec in records:
            lang, nl, code = rec.get("lang"), rec.get("nl"), rec.get("code")
            if lang not in LANGUAGES or not isinstance(nl, str) or not isinstance(code, str) or not nl.strip():
                continue
            if nl not in grouped.setdefault(lang, {}):  # first code of each distinct NL
                grouped[lang][nl] = (code, provenance(rec, bank))
        if not grouped:
            raise ValueError("no usable training records (need nl, code and lang in bash/python/cf)")
        self.options = options
        self.dense = dense
        self._index = {lang: _LangIndex(list(m), [c for c, _ in m.values()], options, dense, [s for _, s in m.values()])
                       for lang, m in grouped.items()}

    @classmethod
    def from_jsonl(cls, paths: Sequence[Union[str, Path]], options: RetrievalOptions = RetrievalOptions(),
                   dense: Optional[Dense] = None, bank: Optional[str] = None) -> "Retriever":
        """A retriever over JSONL files; each entry's provenance names its file and line."""
        from engine.data import read_jsonl

        records = [{"file": str(path), "line": n, **rec} for path in paths for n, rec in read_jsonl(path)]
        return cls(records, options, dense, bank)

    @classmethod
    def from_indexes(cls, indexes: dict, options: RetrievalOptions = RetrievalOptions(),
                     dense: Optional[Dense] = None) -> "Retriever":
        """A retriever over prepared per-language indexes (_LangIndex: a precomputed bank, engine.banks)."""
        new = object.__new__(cls)
        new.options, new.dense, new._index = options, dense, dict(indexes)
        return new

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._index)

    def with_records(self, records: Iterable[dict], bank: Optional[str] = None) -> "Retriever":
        """A retriever over these records (first: they win ties) and this one's, scored on this one's
        vocabulary; a language this one lacks gets an index of its own. bank: as in __init__."""
        grouped: dict[str, dict[str, tuple]] = {}
        for rec in records:
            lang, nl, code = rec.get("lang"), rec.get("nl"), rec.get("code")
            if lang in LANGUAGES and isinstance(nl, str) and isinstance(code, str) and nl.strip() and code.strip():
                if nl not in grouped.setdefault(lang, {}):
                    grouped[lang][nl] = (code, provenance(rec, bank))
        new = object.__new__(Retriever)
        new.options, new._index, new.dense = self.options, dict(self._index), self.dense
        for lang, m in grouped.items():
            base = self._index.get(lang)
            nls, codes, sources = list(m), [c for c, _ in m.values()], [s for _, s in m.values()]
            new._index[lang] = (base.extended(nls, codes, sources) if base is not None
                                else _LangIndex(nls, codes, self.options, self.dense, sources))
        return new

    def exemplars_loo(self, nls: list[str], lang: str, k: int) -> list[list[str]]:
        """For each query (a training NL), the codes of its k nearest neighbours leaving itself out:
        never an entry whose NL equals the query's once normalised (normalise_nl), no code twice.
        This is what training conditions on, so that it resembles what a new request gets."""
        index = self._index.get(lang)
        if index is None:
            return [[] for _ in nls]
        out = []
        for nl, hits in zip(nls, index.search_many(nls, k + 8)):
            own, codes = normalise_nl(nl), []
            for i, _ in hits:
                if normalise_nl(index.nls[i]) != own and index.codes[i] not in codes:
                    codes.append(index.codes[i])
                if len(codes) == k:
                    break
            out.append(codes)
        return out

    def search(self, nl: str, lang: str, k: int) -> list[Candidate]:
        return self.search_batch([nl], lang, k)[0]

    def search_batch(self, nls: list[str], lang: str, k: int) -> list[list[Candidate]]:
        """search() for several requests in one language at once (one TF-IDF product, one batch of
        sentence vectors): what a server answering a batch of requests runs."""
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
        index = self._index.get(lang)
        if index is None or k <= 0 or not nls:
            return [[] for _ in nls]
        return [[Candidate(code=index.codes[i], score=score, source="retrieval", meta=_meta(index, i))
                 for i, score in hits] for hits in index.search_batch(nls, k)]


def _meta(index: _LangIndex, i: int) -> dict:
    """A retrieved entry's meta: its NL, and its provenance when it has one ("exemplar_source")."""
    src = index.sources[i]
    return {"nl": index.nls[i], "exemplar_source": dict(src)} if src else {"nl": index.nls[i]}
