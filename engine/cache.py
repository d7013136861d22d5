"""The per-user cache: sentence vectors of exemplar banks, so that a restarted server or CLI does not
embed a big bank again (engine.retrieval._cached_vectors).

The folder is $CODEFUSION_CACHE, else ~/.cache/codefusion; it is created readable by the user only
(0700), and one that belongs to another user or that others may write to is not used (a planted
file there would be read as vectors). Files are written atomically (a temporary file in the same
folder, then a rename: a reader never sees half a file) with permissions 0600.

A vector file is a header line -- magic, then JSON: format, the package version, the embedding key,
rows, dim, dtype and the sha256 of the payload -- and the payload (float16, row-major). A file written
by another version or for another key is ignored (and replaced); one that is truncated or corrupt
(its header, size or checksum does not match) is rebuilt with one warning line. Neither is ever
used. Nothing here unpickles: the payload is read with numpy.frombuffer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from engine.errors import CacheCorrupt

log = logging.getLogger(__name__)

FORMAT = 1
MAGIC = b"CFVEC "  # then the JSON header and a newline
MAX_HEADER = 4096  # bytes of the header line
_warned: set = set()


def default_dir() -> Path:
    return Path(os.environ.get("CODEFUSION_CACHE") or Path.home() / ".cache" / "codefusion")


def cache_dir(create: bool = True) -> Path | None:
    """The user's cache folder (made 0700 when missing), or None when it cannot be used safely: not a
    folder, another user's, or writable by others (said once)."""
    folder = default_dir()
    if not create and not folder.exists():
        return None  # nothing cached yet
    try:
        if create and not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError as exc:
        _warn_once(f"cache folder {folder} cannot be used ({exc.strerror or exc}); nothing is cached")
        return None
    problem = None
    if not folder.is_dir():
        problem = "is not a folder"
    elif hasattr(os, "getuid") and st.st_uid != os.getuid():
        problem = "belongs to another user"
    elif st.st_mode & 0o022:
        problem = "is writable by other users"
    if problem:
        _warn_once(f"cache folder {folder} {problem}; it is not used (set CODEFUSION_CACHE to a folder of your own)")
        return None
    return folder


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def write_atomic(path: Path, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file in the same folder (mode 0600) and a rename."""
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _version() -> str:
    from engine import version

    return version()


def encode_vectors(vectors: np.ndarray, key: str) -> bytes:
    """The file's bytes for (rows, dim) vectors embedded under `key`."""
    payload = np.ascontiguousarray(vectors, dtype=np.float16).tobytes()
    rows, dim = vectors.shape
    header = {
        "format": FORMAT,
        "version": _version(),
        "key": key,
        "rows": int(rows),
        "dim": int(dim),
        "dtype": "float16",
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def _header(data: bytes, magic: bytes, what: str) -> tuple[dict, int]:
    """A cache file's JSON header and where it ends (the payload starts after that newline); CacheCorrupt
    when the file is not one of ours or its header is cut or not a JSON object."""
    if not data.startswith(magic):
        raise CacheCorrupt(f"not a CodeFusion {what} file")
    end = data.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        raise CacheCorrupt("its header is cut or too long")
    try:
        header = json.loads(data[len(magic) : end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CacheCorrupt("its header is not JSON") from None
    if not isinstance(header, dict):
        raise CacheCorrupt("its header is not a JSON object")
    return header, end


def decode_vectors(data: bytes, key: str, rows: int) -> np.ndarray | None:
    """The vectors of a file's bytes; None when another version or key wrote it (not an error);
    CacheCorrupt when it is truncated, corrupt or not a vector file."""
    header, end = _header(data, MAGIC, "vector")
    if header.get("format") != FORMAT or header.get("version") != _version() or header.get("key") != key:
        return None  # another version's (or another embedding's): ignored, replaced
    n, dim = header.get("rows"), header.get("dim")
    if (
        not (isinstance(n, int) and isinstance(dim, int) and 0 < dim <= 65536 and n >= 0)
        or header.get("dtype") != "float16"
    ):
        raise CacheCorrupt("its header has no valid rows, dim or dtype")
    if n != rows:
        raise CacheCorrupt(f"it holds {n} rows, the bank has {rows}")
    payload = memoryview(data)[end + 1 :]
    if len(payload) != n * dim * 2:
        raise CacheCorrupt(f"it is truncated ({len(payload)} of {n * dim * 2} payload bytes)")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CacheCorrupt("its checksum does not match (a damaged file)")
    vectors = np.frombuffer(payload, dtype=np.float16).reshape(n, dim).astype(np.float32)
    if not np.isfinite(vectors).all():
        raise CacheCorrupt("it holds values that are not finite")
    return vectors


def load_vectors(name: str, key: str, rows: int) -> np.ndarray | None:
    """Cached vectors `name` for `rows` rows embedded under `key`, or None (missing, another version's,
    or corrupt -- said in one warning line; the caller embeds again and saves over it)."""
    folder = cache_dir(create=False)
    if folder is None:
        return None
    path = folder / name
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
        if size > MAX_HEADER + rows * 65536 * 2:  # no bank's vectors are this large: not read
            raise CacheCorrupt(f"it is {size} bytes, more than {rows} rows can take")
        return decode_vectors(path.read_bytes(), key, rows)
    except CacheCorrupt as exc:
        log.warning("vector cache %s is not used: %s; embedding the bank again", path, exc)
    except OSError as exc:
        log.warning("vector cache %s cannot be read (%s); embedding the bank again", path, exc.strerror or exc)
    return None


def save_vectors(name: str, key: str, vectors: np.ndarray) -> Path | None:
    """Saves vectors atomically (0600) under `name`; the path, or None when the folder cannot be used
    (a read-only home: no cache, same results)."""
    return _save(name, encode_vectors(vectors, key))


def _save(name: str, data: bytes) -> Path | None:
    """Writes a cache file atomically (0600); its path, or None when the folder cannot be used."""
    folder = cache_dir(create=True)
    if folder is None:
        return None
    try:
        path = folder / name
        write_atomic(path, data)
        return path
    except OSError as exc:
        _warn_once(f"cache folder {folder}: cannot write ({exc.strerror or exc}); nothing is cached")
        return None


# ---------------------------------------------------------------------------------------------- arrays
# A few named arrays (a bank's TF-IDF matrix in CSR parts: engine.retrieval._cached_tfidf) in one file:
# MAGIC_ARRAYS, a JSON header (format, version, key, each array's name, dtype and shape, the payload's
# sha256) and the arrays' bytes one after the other. The same rules as vector files: another version's or
# key's is ignored, a damaged one rebuilt with one warning, nothing unpickled.
MAGIC_ARRAYS = b"CFARR "
ARRAY_DTYPES = ("float32", "float64", "int32", "int64")


def encode_arrays(arrays: dict, key: str) -> bytes:
    parts = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    for name, a in parts.items():
        if str(a.dtype) not in ARRAY_DTYPES:
            raise ValueError(f"array {name}: dtype {a.dtype} is not one of {ARRAY_DTYPES}")
    payload = b"".join(a.tobytes() for a in parts.values())
    header = {
        "format": FORMAT,
        "version": _version(),
        "key": key,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "arrays": [{"name": n, "dtype": str(a.dtype), "shape": [int(x) for x in a.shape]} for n, a in parts.items()],
    }
    return MAGIC_ARRAYS + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def decode_arrays(data: bytes, key: str) -> dict | None:
    """{name: array} of a file's bytes; None when another version or key wrote it; CacheCorrupt when it is
    truncated, corrupt or not an arrays file."""
    header, end = _header(data, MAGIC_ARRAYS, "arrays")
    if header.get("format") != FORMAT or header.get("version") != _version() or header.get("key") != key:
        return None
    specs = header.get("arrays")
    if not isinstance(specs, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("name"), str)
        and s.get("dtype") in ARRAY_DTYPES
        and isinstance(s.get("shape"), list)
        and all(isinstance(x, int) and x >= 0 for x in s["shape"])
        for s in specs
    ):
        raise CacheCorrupt("its header has no valid array list")
    payload = memoryview(data)[end + 1 :]
    sizes = [int(np.prod(s["shape"], dtype=np.int64)) * np.dtype(s["dtype"]).itemsize for s in specs]
    if len(payload) != sum(sizes):
        raise CacheCorrupt(f"it is truncated ({len(payload)} of {sum(sizes)} payload bytes)")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CacheCorrupt("its checksum does not match (a damaged file)")
    out, at = {}, 0
    for s, size in zip(specs, sizes):
        out[s["name"]] = np.frombuffer(payload[at : at + size], dtype=s["dtype"]).reshape(s["shape"])
        at += size
    return out


def load_arrays(name: str, key: str, max_bytes: int = 1 << 31) -> dict | None:
    """Cached arrays `name` written under `key`, or None (missing, another version's, or damaged -- said in
    one warning line; the caller computes them again and saves over it)."""
    folder = cache_dir(create=False)
    if folder is None:
        return None
    path = folder / name
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > max_bytes:
            raise CacheCorrupt(f"it is larger than {max_bytes} bytes")
        return decode_arrays(path.read_bytes(), key)
    except CacheCorrupt as exc:
        log.warning("cache %s is not used: %s; computing it again", path, exc)
    except OSError as exc:
        log.warning("cache %s cannot be read (%s); computing it again", path, exc.strerror or exc)
    return None


def save_arrays(name: str, key: str, arrays: dict) -> Path | None:
    """Saves named arrays atomically (0600) under `name`; the path, or None when the folder cannot be used."""
    return _save(name, encode_arrays(arrays, key))
