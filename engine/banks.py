"""Exemplar banks in layers, and the bank the wheel ships (Bash: tldr-pages, CC BY 4.0).

Every request searches, in this order:
  1. the user's own exemplars (workspace comment -> code pairs, `--exemplars` files, the
     `codefusion.exemplarFiles` setting), provenance {"bank": "user", "file", "line"};
  2. the shipped bank (Bash only; the package `codefusion_bank`), {"bank": "shipped", "page", "platform"};
  3. the training files the checkpoint lists, when they are on the machine (development only),
     {"bank": "training", "file", "line"}.
How they merge: one ranking by score (plus, for the shipped templates, engine.slot_rank's bonus for a
program that can take the request's literals), k in all, an equal score going to the earlier layer. The
user's exemplars are indexed on the vocabulary of the first layer that has their language, so their
scores compare exactly with that layer's; the shipped and training layers keep their own TF-IDF vocabularies
(both are cosines, and 0.7 of the hybrid score is the same sentence-vector cosine). A strict order
(every user hit before any shipped one) would let a weak user pair push out a good tldr example, and
on a machine with the training files the tldr bank would hide them for every Bash request.

The shipped bank is a folder: bash-tldr.jsonl (the rows: nl, code, lang, source, page, platform),
bash-tldr.tfidf.json (the fitted TF-IDF vocabularies and IDF weights), bash-tldr.vectors.npy (the
entries' sentence vectors under the default encoder, float16) and manifest.json (rows, entries, the
encoder key, the retrieval options, the sha256 of each file). Loading it fits nothing and embeds
nothing; a file that does not match the manifest is refused with one line (ShippedBankError). A
checkpoint with another NL encoder embeds the entries once (cached) instead of using the vectors.
`python scripts/build_shipped_bank.py` (or `codefusion bank --shipped`) rebuilds it from the converted
tldr files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ShippedBankError
from engine.schema import LANGUAGES
from engine.types import program_key

PACKAGE = "codefusion_bank"  # the folder the wheel installs (pyproject.toml package-data)
MANIFEST = "manifest.json"
FORMAT = 1
BANK_NAME = "bash-tldr"
SHIPPED_LANGUAGES = ("bash",)  # tldr-pages is the one redistributable bank; Python and CF have none
LAYERS = ("user", "shipped", "training")  # search order: an equal score goes to the earlier layer
ENV = "CODEFUSION_SHIPPED_BANK"  # a bank folder to use instead of the installed one; "none": no shipped bank
SOURCE = {
    "name": "tldr-pages",
    "attribution": "tldr-pages team and contributors",
    "url": "https://github.com/tldr-pages/tldr",
    "commit": "08e345f42639f67d99282813247ac670dc6e87cb",
    "licence": "CC BY 4.0",
    "licence_url": "https://creativecommons.org/licenses/by/4.0/",
}


def shipped_dir() -> Path | None:
    """The shipped bank's folder: $CODEFUSION_SHIPPED_BANK ("none": none), else codefusion_bank in the
    repository, else the installed package; None when there is none."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "none", "off") else Path(env)
    here = Path(__file__).resolve().parent.parent / PACKAGE
    if (here / MANIFEST).is_file():
        return here
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        installed = Path(list(spec.submodule_search_locations)[0])
        if (installed / MANIFEST).is_file():
            return installed
    return None


def shipped_file() -> Path | None:
    """The shipped bank's rows file (a JSONL bank like any other), or None."""
    folder = shipped_dir()
    if folder is None:
        return None
    try:
        return folder / read_manifest(folder)["names"]["rows"]
    except (ShippedBankError, KeyError, TypeError):
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entries(rows: Iterable[dict]) -> tuple[list, list, list]:
    """(nls, codes, provenance) as engine.retrieval.Retriever groups rows: the first code of each NL."""
    from engine.retrieval import provenance

    seen: dict[str, tuple] = {}
    for rec in rows:
        nl, code = rec.get("nl"), rec.get("code")
        if (
            rec.get("lang") == "bash"
            and isinstance(nl, str)
            and isinstance(code, str)
            and nl.strip()
            and nl not in seen
        ):
            seen[nl] = (code, provenance(rec, "shipped"))
    return list(seen), [c for c, _ in seen.values()], [s for _, s in seen.values()]


def read_manifest(folder: Path) -> dict:
    f = Path(folder) / MANIFEST
    try:
        manifest = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ShippedBankError(f"{f}: unreadable ({type(e).__name__}); reinstall codefusion-editor") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
    ):
        raise ShippedBankError(f"{f}: not a format-{FORMAT} bank manifest; reinstall codefusion-editor")
    return manifest


def verify(folder: Path) -> dict:
    """The manifest, once every file it lists matches its sha256 (ShippedBankError naming the first
    that does not)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    for name, digest in manifest["files"].items():
        f = folder / name
        if Path(name).name != name or not f.is_file():
            raise ShippedBankError(f"{folder}: {name} is missing; reinstall codefusion-editor")
        if _sha256(f) != digest:
            raise ShippedBankError(
                f"{f}: does not match {MANIFEST} (sha256 differs); reinstall codefusion-editor "
                "or rebuild it (python scripts/build_shipped_bank.py)"
            )
    return manifest


def load_shipped(dense=None, folder: Path | None = None):
    """The shipped bank as an engine.retrieval.Retriever (None when none is installed), hybrid with
    `dense` (engine.retrieval.Dense). Nothing is fitted or embedded when `dense` is the encoder the
    bank was built with. ShippedBankError when a file does not match the manifest."""
    from engine.data import read_jsonl
    from engine.retrieval import RetrievalOptions, Retriever, _cached_vectors, _LangIndex

    folder = shipped_dir() if folder is None else Path(folder)
    if folder is None:
        return None
    manifest = verify(folder)
    options = RetrievalOptions()
    if manifest.get("options") != json.loads(json.dumps(asdict(options))):
        raise ShippedBankError(
            f"{folder}: built with other retrieval options than this version's; "
            "rebuild it (python scripts/build_shipped_bank.py)"
        )
    files = manifest.get("names") or {}
    nls, codes, sources = _entries(rec for _, rec in read_jsonl(folder / files["rows"]))
    if len(nls) != manifest.get("entries"):
        raise ShippedBankError(f"{folder}: {len(nls)} entries, the manifest says {manifest.get('entries')}")
    tfidf = json.loads((folder / files["tfidf"]).read_text(encoding="utf-8"))
    vocabulary = {
        part: (tfidf[part]["terms"], np.asarray(tfidf[part]["idf"], dtype=np.float64)) for part in ("word", "char")
    }
    vectors = None
    if dense is not None:
        if dense.key == manifest.get("encoder"):
            vectors = np.load(folder / files["vectors"], allow_pickle=False)
            if vectors.shape != (len(nls), manifest.get("dim")):
                raise ShippedBankError(
                    f"{folder}: vectors of shape {vectors.shape}, the manifest says ({len(nls)}, {manifest.get('dim')})"
                )
            vectors = vectors.astype(np.float32)
        else:  # another encoder: its own vectors, embedded once and cached
            vectors = _cached_vectors(dense, nls)
    index = _LangIndex(nls, codes, options, dense, sources, vocabulary=vocabulary, vectors=vectors)
    shipped = Retriever.from_indexes({"bash": index}, options, dense)
    shipped.slot_rank = True  # tldr templates: their placeholders take the request's literals (engine.slot_rank)
    return shipped


def default_encoder() -> tuple:
    """(encoder reference, NL length) of the shipped default model (else ModelConfig's defaults): the
    sentence vectors the bank ships are theirs (engine.retrieval.dense_for's key)."""
    from engine.config import ModelConfig
    from engine.meta import default_checkpoint_dir

    model: dict = {}
    ckpt = default_checkpoint_dir()
    if ckpt is not None and (ckpt / "config.json").is_file():
        model = json.loads((ckpt / "config.json").read_text(encoding="utf-8")).get("model") or {}
    return model.get("encoder", ModelConfig().encoder), int(model.get("nl_max_len", ModelConfig().nl_max_len))


def build(rows: Sequence[dict], out: Path, encoder=None, encoder_key: str | None = None) -> dict:
    """Write the shipped bank for `rows` (tldr records) into `out`: rows, the fitted TF-IDF, the sentence
    vectors of `encoder` (an engine.encoder.NLEncoder; default: the default encoder) and the manifest.
    Returns the manifest."""
    from engine.retrieval import RetrievalOptions, _LangIndex

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "nl": r["nl"],
            "code": r["code"],
            "lang": "bash",
            "source": r.get("source", "tldr"),
            "page": r.get("page"),
            "platform": r.get("platform"),
        }
        for r in rows
    ]
    nls, codes, _ = _entries(rows)
    if not nls:
        raise ValueError("no Bash rows to build a bank from")
    options = RetrievalOptions()
    index = _LangIndex(nls, codes, options)  # fits the TF-IDF as a Retriever over these rows would
    if encoder is None:
        from engine.encoder import NLEncoder

        ref, max_len = default_encoder()
        encoder, encoder_key = NLEncoder(ref, max_len), f"{ref}:{max_len}"
    vectors = encoder.sentence_vectors(nls).astype(np.float16)
    names = {"rows": f"{BANK_NAME}.jsonl", "tfidf": f"{BANK_NAME}.tfidf.json", "vectors": f"{BANK_NAME}.vectors.npy"}
    with open(out / names["rows"], "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tfidf = {
        part: {"terms": v.get_feature_names_out().tolist(), "idf": v.idf_.tolist()}
        for part, v in (("word", index.word), ("char", index.char))
    }
    (out / names["tfidf"]).write_text(json.dumps(tfidf, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    np.save(out / names["vectors"], vectors, allow_pickle=False)
    manifest = {
        "format": FORMAT,
        "lang": "bash",
        "rows": len(rows),
        "entries": len(nls),
        "dim": int(vectors.shape[1]),
        "encoder": encoder_key,
        "vectors_dtype": "float16",
        "options": json.loads(json.dumps(asdict(options))),
        "source": SOURCE,
        "names": names,
        "files": {name: _sha256(out / name) for name in names.values()},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


class Exemplar(str):
    """A program drawn from a bank that knows where it came from (.source: its provenance or None), so
    that a candidate made from it can say so (Generator._finish: meta "exemplar_source")."""

    source: dict | None

    def __new__(cls, code: str, source: dict | None = None):
        obj = super().__new__(cls, code)
        obj.source = source
        return obj

    def __reduce__(self):
        return (Exemplar, (str(self), self.source))


def exemplar(candidate) -> Exemplar:
    """A retrieved Candidate's program, with its provenance."""
    return Exemplar(candidate.code, (getattr(candidate, "meta", None) or {}).get("exemplar_source"))


def exemplar_source(exemplars: Sequence[str], copy_of: str | None, start: int | None) -> dict | None:
    """The provenance of the exemplar a candidate copies (`copy_of`: its program) or else starts from
    (`start`: its index); None when unknown (exemplars passed in as plain strings)."""
    chosen = None
    if copy_of is not None:
        key = program_key(copy_of)
        chosen = next((e for e in exemplars if program_key(e) == key), None)
    if chosen is None and start is not None and 0 <= start < len(exemplars):
        chosen = exemplars[start]
    src = getattr(chosen, "source", None)
    return dict(src) if src else None


class LayeredBank:
    """Several banks searched as one (the module docstring): `layers` is [(name, Retriever)] in search
    order. It searches like a Retriever (search, search_batch, with_records, languages) and stamps
    each hit's meta "exemplar_source" with its layer's name."""

    def __init__(self, layers: Sequence[tuple], dense=None):
        self.layers = [(name, r) for name, r in layers if r is not None]
        self.dense = (
            dense if dense is not None else next((r.dense for _, r in self.layers if r.dense is not None), None)
        )

    @property
    def languages(self) -> tuple:
        return tuple(dict.fromkeys(lang for _, r in self.layers for lang in r.languages))

    def layer_names(self, lang: str) -> tuple:
        """The layers that hold entries in `lang`, in search order."""
        return tuple(name for name, r in self.layers if lang in r.languages)

    def search(self, nl: str, lang: str, k: int) -> list:
        return self.search_batch([nl], lang, k)[0]

    def search_batch(self, nls: list, lang: str, k: int) -> list:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
        from engine import slot_rank

        merged: list[list] = [[] for _ in nls]
        for layer, (name, r) in enumerate(self.layers):
            if lang not in r.languages or k <= 0:
                continue
            for out, hits in zip(merged, r.search_batch(nls, lang, k)):
                for rank, c in enumerate(hits):
                    src = c.meta.get("exemplar_source") or {}
                    c.meta["exemplar_source"] = {"bank": name, **src} if "bank" not in src else src
                    out.append((-slot_rank.key(c), layer, rank, c))  # the order within layers (engine.slot_rank)
        return [[c for *_, c in sorted(out, key=lambda t: t[:3])[:k]] for out in merged]

    def with_records(self, records: Iterable[dict], bank: str = "user") -> LayeredBank:
        """This bank with the user's records as the first layer: each language's records are indexed
        on the first layer that has the language (scores compare), or on their own."""
        records = list(records)
        langs = {rec.get("lang") for rec in records}
        layers = list(self.layers)
        for lang in langs:
            i = next((j for j, (_, r) in enumerate(layers) if lang in r.languages), None)
            if i is not None:  # that layer, widened: its own entries keep their layer's name
                name, r = layers[i]
                layers[i] = (name, r.with_records([rec for rec in records if rec.get("lang") == lang], bank=bank))
        own = [rec for rec in records if not any(rec.get("lang") in r.languages for _, r in self.layers)]
        if own:
            from engine.retrieval import Retriever

            try:
                layers.insert(0, (bank, Retriever(own, dense=self.dense, bank=bank)))
            except ValueError:  # nothing usable
                pass
        return LayeredBank(layers, self.dense)


def default_layers(generator) -> list:
    """[(name, Retriever)] a request searches without user exemplars: the shipped bank (for the
    languages the model serves) and the checkpoint's training files found on this machine."""
    from engine.retrieval import dense_for, training_bank

    loaded = getattr(generator, "loaded", None)
    dense = dense_for(loaded) if loaded is not None else None
    langs = set(getattr(generator, "languages", ()) or LANGUAGES)
    shipped = load_shipped(dense) if langs & set(SHIPPED_LANGUAGES) else None
    training = training_bank(getattr(loaded, "meta", {}) or {}, dense)
    return [("shipped", shipped), ("training", training)]


def no_bank_hint(lang: str) -> str:
    """The one line a user gets when a language has no bank here (Python, CF on a pip install)."""
    name = {"python": "Python", "cf": "CF", "bash": "Bash"}.get(lang, lang)
    return (
        f"CodeFusion ships no example bank for {name} (none may be redistributed), so it writes {name} from "
        'the request alone; add your own examples as JSONL lines {"nl", "code", "lang"}: '
        "generate --exemplars FILE, the codefusion.exemplarFiles setting, or comment -> code pairs in open files"
    )


def hint_once(lang: str, bank, surface: str) -> str | None:
    """no_bank_hint(lang) the first time `surface` ("cli", "lsp") serves `lang` with no bank for it on
    this machine (a marker in the cache folder, CODEFUSION_CACHE, remembers it); None after, or when the
    language has a bank. A read-only cache folder: the hint every time."""
    langs = getattr(bank, "languages", ()) if bank is not None else ()
    if lang in langs or lang not in LANGUAGES:
        return None
    folder = Path(os.environ.get("CODEFUSION_CACHE") or Path.home() / ".cache" / "codefusion") / "hints"
    marker = folder / f"no-bank-{surface}-{lang}"
    if marker.exists():
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
    return no_bank_hint(lang)


def training_retriever(generator: Any) -> Any:
    """The bank a request's retrieved examples come from: the generator's own (an exemplar model's,
    with the user's exemplars when given), else the default layers (default_bank); None when there is
    none. Shared with the exemplars, not built twice."""
    bank = getattr(generator, "bank", None)
    return bank if bank is not None else default_bank(generator)


def default_bank(generator: Any) -> Any:
    """The bank every request searches without user exemplars (the module docstring): the shipped bank
    (Bash) and the training files the checkpoint lists, when they are on this machine; None when neither
    is. Built once per generator (kept as its base_bank)."""
    base = getattr(generator, "base_bank", None)
    if base is None:
        layers = [(name, r) for name, r in default_layers(generator) if r is not None]
        base = LayeredBank(layers) if layers else None
        if base is not None and hasattr(generator, "base_bank"):
            generator.base_bank = base
    return base


def exemplar_bank(generator, files=(), records=(), notes: list | None = None, skip_bad: bool = False):
    """The programs an exemplar model draws on (and retrieval shows): the user's JSONL `files` (nl, code,
    lang per line; engine.data.read_exemplar_files, what its limits cut said in `notes`) and `records`
    (dicts alike, e.g. workspace pairs, with "file" and "line" when known) first, then the default bank
    (default_bank), in one ranking (the module docstring). A ValueError names a missing or unreadable
    file; with skip_bad (the language server) that file is left out and said in `notes` instead.
    None when there is nothing."""
    from engine.data import read_exemplar_files

    extra = read_exemplar_files(files, notes=notes, skip_bad=skip_bad) + list(records)
    base = default_bank(generator)
    if not extra:
        return base
    if base is None:
        from engine.retrieval import dense_for

        loaded = getattr(generator, "loaded", None)
        bank = LayeredBank([], dense=dense_for(loaded) if loaded is not None else None).with_records(extra)
        return bank if bank.layers else None
    return base.with_records(extra, bank="user")


def files_bank(generator: Any, files: Any) -> Any:
    """A bank over JSONL files alone (`codefusion eval --bank`): the shipped bank's own rows file gives the
    shipped bank with its precomputed index; other files are indexed here."""
    from engine.retrieval import Retriever, dense_for

    loaded = getattr(generator, "loaded", None)
    dense = dense_for(loaded) if loaded is not None else None
    if not files:
        return None
    shipped = shipped_file()
    if shipped is not None and [Path(f).resolve() for f in files] == [shipped.resolve()]:
        return LayeredBank([("shipped", load_shipped(dense, shipped.parent))])
    return Retriever.from_jsonl(files, dense=dense)


def bank_hint(generator, lang: str, surface: str) -> str | None:
    """One line for the user the first time `surface` ("cli", "lsp") serves `lang` with no exemplar bank
    for it (Python and CF on a pip install: none may be redistributed): how to add their own examples.
    None after that, or when the language has a bank (hint_once)."""
    return hint_once(lang, training_retriever(generator), surface)
