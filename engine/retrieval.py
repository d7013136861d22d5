"""Nearest-neighbour retrieval: the codes of the training NLs closest to a query.

TF-IDF (scikit-learn) over word 1-2-grams and character 2-4-grams of the NL; the two
vectors are concatenated and L2-normalised, so the score is a cosine similarity. Training
records that share an NL (exact text) are one neighbour: the first record's code stands for
it, so k results come from k distinct training NLs. Search is filtered by language. In a template bank
(slot_rank: the shipped one) a search's nearest entries are then ordered by how well their programs take the
request's literals too (engine.slot_rank).

Hybrid (`Retriever(..., dense=Dense(embed, weight))`): the score is (1 - weight) x the TF-IDF
cosine + weight x the cosine of sentence vectors (the NL encoder E, mean-pooled). On dev the
hybrid at weight 0.7 found better exemplars than TF-IDF in every language
(scripts/research/retriever_compare.py). The retrieval floor stays TF-IDF. The bank's vectors are cached on
disk (CODEFUSION_CACHE, default ~/.cache/codefusion), so only the first load pays for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.schema import LANGUAGES
from engine.types import Candidate

if TYPE_CHECKING:
    from engine.checkpoint import Loaded


@dataclass(frozen=True)
class Dense:
    """Sentence vectors for hybrid search: embed(texts) -> (n, d) L2-normalised float32 array;
    weight of their cosine in the score; key names the embedding (the cache's key)."""

    embed: Callable[[list[str]], np.ndarray]
    weight: float
    key: str


CACHE_MIN_ROWS = 256  # extra entries (Retriever.with_records) this many or more have their vectors cached
PROVENANCE_FIELDS = ("file", "line", "page", "platform")  # what a record says of where it came from


def provenance(rec: dict, bank: str | None = None) -> dict | None:
    """Where an entry came from, as a candidate's meta "exemplar_source" shows it: {"bank": "user" |
    "shipped" | "training", "file", "line", "page" (tldr: the page, which is also the attribution),
    "platform"}, the fields the record has; None when it says nothing."""
    out = {"bank": bank} if bank else {}
    out.update(
        {
            f: rec[f]
            for f in PROVENANCE_FIELDS
            if isinstance(rec.get(f), (str, int)) and not isinstance(rec.get(f), bool)
        }
    )
    return out or None


def _vector_file(dense: Dense, nls: list[str]) -> str:
    import hashlib

    h = hashlib.sha1(dense.key.encode())
    for nl in nls:
        h.update(nl.encode("utf-8", "replace") + b"\0")
    return f"nl-vectors-{h.hexdigest()[:20]}.cfvec"


def _cached_vectors(dense: Dense, nls: list[str], embed_now: bool = True) -> np.ndarray | None:
    """The texts' sentence vectors, from the user's cache when a file for exactly these texts and this
    embedding is there (engine.cache: version-tagged, checked, written atomically 0600), else embedded
    and saved; with embed_now False, None on a cache miss (the caller embeds in the background)."""
    from engine import cache

    name = _vector_file(dense, nls)
    v = cache.load_vectors(name, dense.key, len(nls))
    if v is not None or not embed_now:
        return v
    v = dense.embed(nls).astype(np.float32)
    cache.save_vectors(name, dense.key, v)
    return v


# Embedding a bank's entries (sentence vectors for hybrid search) costs minutes for a big one on 2 cores (the
# training files: 441 s, issue 24). Where a user waits for an answer (generate, its daemon, the language
# server: embed_in_background()), a cache miss for CACHE_MIN_ROWS entries or more is embedded on a thread
# instead, with a progress bar on stderr, and saved to the cache; until it is done that index serves TF-IDF
# alone (its hybrid scores need every entry's vector). Elsewhere (eval, train, calibrate) it embeds first.
_BACKGROUND = {"on": False, "progress": True}
_threads: list = []


def embed_in_background(on: bool = True, progress: bool = True) -> None:
    """Big banks missing from the cache are embedded on a thread (with a progress bar on stderr when
    `progress`), TF-IDF serving until then; off: embedded before the index is used."""
    _BACKGROUND.update(on=bool(on), progress=bool(progress))


def background_embeddings() -> list:
    """The threads embedding banks now (join them to wait)."""
    return [t for t in _threads if t.is_alive()]


def _embed_with_progress(dense: Dense, nls: list[str], batch: int = 256) -> np.ndarray | None:
    import sys

    from engine import cache

    bar = None
    if _BACKGROUND["progress"]:
        from tqdm import tqdm

        bar = tqdm(
            total=len(nls),
            desc="codefusion: embedding the exemplar bank (TF-IDF serves until done)",
            unit="entry",
            file=sys.stderr,
            leave=False,
            disable=None if sys.stderr.isatty() else True,
        )
        if not sys.stderr.isatty():
            print(
                f"codefusion: embedding {len(nls)} bank entries in the background (TF-IDF serves until done)",
                file=sys.stderr,
                flush=True,
            )
    parts = []
    try:
        for i in range(0, len(nls), batch):
            parts.append(dense.embed(nls[i : i + batch]).astype(np.float32))
            if bar is not None:
                bar.update(len(parts[-1]))
    except Exception as e:  # the bank keeps serving TF-IDF; one line, no traceback
        print(f"codefusion: embedding the exemplar bank failed ({e}); TF-IDF serves it", file=sys.stderr)
        return None
    finally:
        if bar is not None:
            bar.close()
    v = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    cache.save_vectors(_vector_file(dense, nls), dense.key, v)
    return v.astype(np.float16).astype(np.float32)  # what the cache gives the next process: the same scores


def _wait_for(index: _LangIndex) -> None:
    """Until `index` has its vectors, or no other embedding thread is left that could give them."""
    import threading
    import time

    me = threading.current_thread()
    while index.vectors is None and any(t.is_alive() and t is not me for t in _threads):
        time.sleep(0.05)


def _later(target, *args) -> None:
    import threading

    t = threading.Thread(target=target, args=args, name="codefusion-embed", daemon=False)
    _threads.append(t)
    t.start()


def _cached_tfidf(index: _LangIndex, nls: list[str], vocabulary: dict, options: RetrievalOptions):
    """The entries' TF-IDF matrix (features, entries) on a fitted vocabulary, from the user's cache when a
    file for exactly these texts, vocabulary and options is there (engine.cache), else computed and saved.
    Computing it for the shipped bank's 30k entries is 2.9 s of CPU in every fresh process (scikit-learn's
    character n-grams; measured on 2 cores); reading it back 0.1 s."""
    import hashlib

    from scipy.sparse import csr_matrix

    from engine import cache

    h = hashlib.sha1(repr(options).encode())
    for part in ("word", "char"):
        terms, idf = vocabulary[part]
        h.update(
            "\0".join(terms).encode("utf-8", "replace") + b"\1" + np.ascontiguousarray(idf, dtype=np.float64).tobytes()
        )
    for nl in nls:
        h.update(nl.encode("utf-8", "replace") + b"\0")
    name, key = f"tfidf-{h.hexdigest()[:20]}.cfarr", "tfidf-csr"
    got = cache.load_arrays(name, key)
    if got is not None and {"data", "indices", "indptr", "shape"} <= set(got) and got["shape"].shape == (2,):
        try:
            return csr_matrix((got["data"], got["indices"], got["indptr"]), shape=tuple(int(x) for x in got["shape"]))
        except ValueError:  # parts that do not make a matrix: computed again below
            pass
    m = index.tfidf(nls).T.tocsr()
    cache.save_arrays(
        name,
        key,
        {
            "data": m.data.astype(np.float64),
            "indices": m.indices,
            "indptr": m.indptr,
            "shape": np.asarray(m.shape, dtype=np.int64),
        },
    )
    return m


@dataclass(frozen=True)
class RetrievalOptions:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)
    char_analyzer: str = "char_wb"  # "char_wb" (n-grams inside word boundaries) or "char"
    lowercase: bool = True
    sublinear_tf: bool = True


class _FittedTfidf:
    """scikit-learn's TfidfVectorizer.transform for a fitted vocabulary and IDF, without scikit-learn: a fresh
    process that serves the shipped bank does not import it (1.2 s of CPU with the scipy.stats it pulls in,
    measured on 2 cores). Same analyzers (word: the token pattern \\b\\w\\w+\\b, n-grams joined by a space; char_wb:
    n-grams inside space-padded words; char), lowercasing, sublinear tf, idf and the l2 norm; scores agree
    with scikit-learn's to 1e-12 (tests/engine/test_retrieval.py)."""

    _TOKEN = __import__("re").compile(r"(?u)\b\w\w+\b")
    _SPACES = __import__("re").compile(r"\s\s+")

    def __init__(self, analyzer: str, ngrams: tuple, lowercase: bool, sublinear_tf: bool, terms: list, idf):
        self.analyzer, self.ngram_range, self.lowercase, self.sublinear_tf = (
            analyzer,
            tuple(ngrams),
            lowercase,
            sublinear_tf,
        )
        self.vocabulary_ = {t: i for i, t in enumerate(terms)}
        self._terms = list(terms)
        self.idf_ = np.asarray(idf, dtype=np.float64)

    def get_feature_names_out(self):
        return np.asarray(self._terms, dtype=object)

    def _grams(self, doc: str) -> list:
        if self.lowercase:
            doc = doc.lower()
        lo, hi = self.ngram_range
        out: list = []
        if self.analyzer == "word":
            tokens = self._TOKEN.findall(doc)
            for n in range(lo, min(hi, len(tokens)) + 1):
                out += tokens if n == 1 else [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
            return out
        doc = self._SPACES.sub(" ", doc)
        if self.analyzer == "char":
            for n in range(lo, min(hi, len(doc)) + 1):
                out += [doc[i : i + n] for i in range(len(doc) - n + 1)]
            return out
        for w in doc.split():  # char_wb
            w = " " + w + " "
            for n in range(lo, hi + 1):
                out += [w[i : i + n] for i in range(max(1, len(w) - n + 1))]
                if len(w) <= n:  # a short word counts once
                    break
        return out

    def transform(self, docs: list):
        from scipy.sparse import csr_matrix

        vocab, indptr, indices, data = self.vocabulary_, [0], [], []
        for doc in docs:
            counts: dict = {}
            for g in self._grams(doc):
                j = vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            cols = sorted(counts)
            indices += cols
            data += [counts[j] for j in cols]
            indptr.append(len(indices))
        tf = np.asarray(data, dtype=np.float64)
        if self.sublinear_tf:
            np.log(tf, tf)
            tf += 1
        col_ids = np.asarray(indices, dtype=np.int32)
        tf *= self.idf_[col_ids]
        m = csr_matrix((tf, col_ids, np.asarray(indptr, dtype=np.int32)), shape=(len(docs), len(vocab)))
        return _l2_rows(m)


def _l2_rows(m):
    """The rows of a CSR matrix scaled to unit length (an all-zero row stays zero), as sklearn's normalize."""
    m = m.tocsr(copy=True)
    m.sum_duplicates()
    lengths = np.diff(m.indptr)
    if m.nnz:
        sq = np.add.reduceat(m.data * m.data, m.indptr[:-1][lengths > 0]) if (lengths > 0).any() else np.zeros(0)
        norms = np.ones(m.shape[0])
        norms[lengths > 0] = np.sqrt(sq)
        norms[norms == 0] = 1.0
        m.data /= np.repeat(norms, lengths)
    return m


def vectorizers(options: RetrievalOptions, vocabulary: dict | None = None):
    """The (word, char) TF-IDF vectorizers of these options; with `vocabulary` ({"word"|"char": (terms in
    column order, idf)}) already fitted (a precomputed index: engine.banks), without scikit-learn."""
    if vocabulary:
        return tuple(
            _FittedTfidf(analyzer, ngrams, options.lowercase, options.sublinear_tf, *vocabulary[part])
            for part, analyzer, ngrams in (
                ("word", "word", options.word_ngrams),
                ("char", options.char_analyzer, options.char_ngrams),
            )
        )
    from sklearn.feature_extraction.text import TfidfVectorizer

    out = []
    for part, analyzer, ngrams in (
        ("word", "word", options.word_ngrams),
        ("char", options.char_analyzer, options.char_ngrams),
    ):
        terms, idf = (vocabulary or {}).get(part, (None, None))
        v = TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=ngrams,
            lowercase=options.lowercase,
            sublinear_tf=options.sublinear_tf,
            vocabulary=None if terms is None else {t: i for i, t in enumerate(terms)},
        )
        if idf is not None:
            v.idf_ = idf
        out.append(v)
    return tuple(out)


class _LangIndex:
    def __init__(
        self,
        nls: list[str],
        codes: list[str],
        options: RetrievalOptions,
        dense: Dense | None = None,
        sources: list | None = None,
        vocabulary: dict | None = None,
        vectors: np.ndarray | None = None,
    ):
        """sources: each entry's provenance (or None); vocabulary: a fitted TF-IDF vocabulary (vectorizers())
        instead of fitting one; vectors: the entries' sentence vectors instead of embedding them."""
        from scipy.sparse import hstack

        self.nls, self.codes = nls, codes
        self.sources = list(sources) if sources is not None else [None] * len(nls)
        self.word, self.char = vectorizers(options, vocabulary)
        self._hstack, self._normalize = hstack, _l2_rows
        # entries' TF-IDF rows, stored transposed (features, entries) as CSR: query @ entries_t is then
        # a sparse product without a transpose per search (10x faster on a 35k-entry bank)
        if vocabulary:  # a precomputed bank (the shipped one): its rows on that vocabulary, cached per user
            self.entries_t = _cached_tfidf(self, nls, vocabulary, options)
        else:
            rows = _l2_rows(hstack([self.word.fit_transform(nls), self.char.fit_transform(nls)]).tocsr())
            self.entries_t = rows.T.tocsr()
        self.dense = dense
        self.vectors = (
            None
            if dense is None
            else vectors
            if vectors is not None
            else _cached_vectors(dense, nls, embed_now=not (_BACKGROUND["on"] and len(nls) >= CACHE_MIN_ROWS))
        )
        if dense is not None and self.vectors is None:  # embedded on a thread; TF-IDF alone until then
            _later(self._embed_later, nls)

    def _embed_later(self, nls: list[str], first: _LangIndex | None = None) -> None:
        """(On a thread) embed these entries and use them, in front of `first`'s once it has its own."""
        assert self.dense is not None  # only an index with a dense part embeds later
        vecs = _embed_with_progress(self.dense, nls)
        if vecs is not None:
            self._join_later(vecs, first)

    def _join_later(self, vecs: np.ndarray, first: _LangIndex | None = None) -> None:
        if first is not None:
            _wait_for(first)
            if first.vectors is None:  # its embedding failed: this index stays on TF-IDF
                return
            vecs = np.concatenate([vecs, first.vectors])
        self.vectors = vecs  # one assignment: a search sees the whole matrix or none

    def tfidf(self, nls: list[str]):
        """The texts' L2-normalised TF-IDF rows (n, features) on this index's fitted vocabulary."""
        return self._normalize(self._hstack([self.word.transform(nls), self.char.transform(nls)]).tocsr())

    def _sims(self, nls: list[str]) -> np.ndarray:
        """(queries, entries) scores: TF-IDF cosine, blended with the dense cosine when hybrid."""
        sims = (self.tfidf(nls) @ self.entries_t).toarray()
        vectors = self.vectors  # None while a big bank is embedded in the background: TF-IDF serves alone
        if self.dense is not None and vectors is not None:
            w = self.dense.weight
            sims = (1 - w) * sims + w * (self.dense.embed(nls) @ vectors.T)
        return sims

    def extended(self, nls: list[str], codes: list[str], sources: list | None = None) -> _LangIndex:
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
        new.vectors = None
        if self.dense is not None:  # a big file (a tldr bank) is embedded once and cached (in the background
            # where a user waits); workspace pairs, few and changing with every edit, each time (milliseconds)
            big = len(nls) >= CACHE_MIN_ROWS
            vecs = (
                _cached_vectors(self.dense, list(nls), embed_now=not _BACKGROUND["on"])
                if big
                else self.dense.embed(list(nls))
            )
            if vecs is not None and self.vectors is not None:
                new.vectors = np.concatenate([vecs, self.vectors])
            elif vecs is None:
                _later(new._embed_later, list(nls), self)
            else:  # this index's own vectors are still being embedded: join them when they come
                _later(new._join_later, vecs, self)
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
            sims = (query[i : i + chunk] @ self.entries_t).toarray()  # (chunk, n)
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

    slot_rank = False  # a template bank (the shipped one, engine.banks): searches ordered by engine.slot_rank too

    def __init__(
        self,
        records: Iterable[dict],
        options: RetrievalOptions = RetrievalOptions(),
        dense: Dense | None = None,
        bank: str | None = None,
    ):
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
        self._index = {
            lang: _LangIndex(list(m), [c for c, _ in m.values()], options, dense, [s for _, s in m.values()])
            for lang, m in grouped.items()
        }

    @classmethod
    def from_jsonl(
        cls,
        paths: Sequence[str | Path],
        options: RetrievalOptions = RetrievalOptions(),
        dense: Dense | None = None,
        bank: str | None = None,
    ) -> Retriever:
        """A retriever over JSONL files; each entry's provenance names its file and line."""
        from engine.data import read_jsonl

        records = [{"file": str(path), "line": n, **rec} for path in paths for n, rec in read_jsonl(path)]
        return cls(records, options, dense, bank)

    @classmethod
    def from_indexes(
        cls, indexes: dict, options: RetrievalOptions = RetrievalOptions(), dense: Dense | None = None
    ) -> Retriever:
        """A retriever over prepared per-language indexes (_LangIndex: a precomputed bank, engine.banks)."""
        new = object.__new__(cls)
        new.options, new.dense, new._index = options, dense, dict(indexes)
        return new

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._index)

    def with_records(self, records: Iterable[dict], bank: str | None = None) -> Retriever:
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
        new.slot_rank = self.slot_rank
        for lang, m in grouped.items():
            base = self._index.get(lang)
            nls, codes, sources = list(m), [c for c, _ in m.values()], [s for _, s in m.values()]
            new._index[lang] = (
                base.extended(nls, codes, sources)
                if base is not None
                else _LangIndex(nls, codes, self.options, self.dense, sources)
            )
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
        from engine import slot_rank  # a template bank: the nearest SLOT_DEPTH, ordered by the literals they can take

        depth = max(k, slot_rank.SLOT_DEPTH) if self.slot_rank else k
        found = [
            [Candidate(code=index.codes[i], score=score, source="retrieval", meta=_meta(index, i)) for i, score in hits]
            for hits in index.search_batch(nls, depth)
        ]
        return [slot_rank.rerank(nl, hits, k) if self.slot_rank else hits for nl, hits in zip(nls, found)]


def _meta(index: _LangIndex, i: int) -> dict:
    """A retrieved entry's meta: its NL, and its provenance when it has one ("exemplar_source")."""
    src = index.sources[i]
    return {"nl": index.nls[i], "exemplar_source": dict(src)} if src else {"nl": index.nls[i]}


def search_by_language(retriever, nls: list, langs: list, ns: list) -> list:
    """The retriever's nearest examples for a batch of requests: one `search_batch` per language
    with the largest n asked there, each request taking its own prefix (results are best first).
    Entries are lists of Candidates, or None for all when the retriever cannot search in batches."""
    search = getattr(retriever, "search_batch", None)
    out: list = [None] * len(nls)
    if search is None:
        return out
    for lang in dict.fromkeys(langs):
        idx = [i for i, lg in enumerate(langs) if lg == lang]
        for i, hits in zip(idx, search([nls[i] for i in idx], lang, max(ns[i] for i in idx))):
            out[i] = hits[: ns[i]]
    return out


def training_bank(meta: dict, dense=None):
    """A Retriever over the training files a checkpoint's config.json lists under "data" (those
    found on this machine, relative to the data directory), or None when there are none; hybrid
    with `dense` (Dense)."""
    from engine.data import resolve_data_path

    listed = meta.get("data") or []
    found = [resolve_data_path(p) for p in listed if isinstance(p, str) and p.endswith(".jsonl")]
    paths = [str(p) for p in found if p is not None]
    return Retriever.from_jsonl(paths, dense=dense) if paths else None


def dense_for(loaded: Loaded):
    """The hybrid-retrieval part of a checkpoint (its E's sentence vectors), or None (TF-IDF only)."""
    w = getattr(loaded.cfg, "retrieval_dense_weight", 0.0)
    if not w or loaded.encoder is None:
        return None
    return Dense(
        embed=loaded.encoder.sentence_vectors, weight=float(w), key=f"{loaded.cfg.encoder}:{loaded.cfg.nl_max_len}"
    )
