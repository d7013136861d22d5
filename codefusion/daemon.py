"""A warm `codefusion generate`: one background process keeps the model loaded and answers over a
Unix socket, so every call after the first takes a fraction of a second instead of seconds.

    codefusion generate "..." --lang bash --daemon     # starts the daemon on first use, then reuses it
    codefusion daemon [--checkpoint DIR] [--device D]  # the daemon itself (in the foreground)

One daemon per (checkpoint, device, exemplar files): the socket's name carries their hash. The socket
lives in a folder only the user can open ($XDG_RUNTIME_DIR, else a 0700 folder in the temp dir). The
daemon answers one request at a time with suggest(), the same composition as everywhere, executes
nothing, and exits after IDLE_S seconds without a request (or on {"shutdown": true}).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from engine.api import EngineError

IDLE_S = 1800.0  # the daemon exits after this long without a request
START_TIMEOUT_S = 180.0  # how long a first call waits for the daemon to load its model
MAX_REQUEST_BYTES = 1 << 20


class DaemonError(EngineError):
    """The daemon could not be reached or started; str() says why."""


def socket_path(checkpoint: Optional[str], device: Optional[str], exemplars=()) -> Path:
    """Where the daemon for this model listens."""
    key = json.dumps([str(Path(checkpoint).resolve()) if checkpoint else None, device or "auto",
                      sorted(str(Path(f).resolve()) for f in exemplars)])
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "codefusion" if base else Path(tempfile.gettempdir()) / f"codefusion-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise DaemonError(f"{folder} is not a private folder of this user; remove it or set XDG_RUNTIME_DIR")
    return folder / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.sock"


def request(path: Path, payload: dict, timeout: float = 600.0) -> dict:
    """Send one request to a running daemon; ConnectionError/FileNotFoundError when none listens."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps(payload).encode() + b"\n")
        return _read(s, limit=1 << 30)


def ask(payload: dict, checkpoint: Optional[str], device: Optional[str], exemplars=()) -> dict:
    """Ask the daemon for this model, starting it (and waiting for its model) when none runs."""
    path = socket_path(checkpoint, device, exemplars)
    try:
        return request(path, payload)
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    cmd = [sys.executable, "-m", "codefusion", "daemon", "--socket", str(path)]
    cmd += ["--checkpoint", checkpoint] if checkpoint else []
    cmd += ["--device", device] if device else []
    cmd += ["--exemplars", *exemplars] if exemplars else []
    log = path.with_suffix(".log")
    with open(log, "ab") as out:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            return request(path, payload)
        except (FileNotFoundError, ConnectionRefusedError):
            continue
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    raise DaemonError(f"the daemon did not start within {START_TIMEOUT_S:.0f} s" + (f": {tail[0]}" if tail else ""))


def serve(path: Path, checkpoint: Optional[str], device: Optional[str], exemplars=(), idle_s: float = IDLE_S) -> int:
    """Load the model, then answer requests on the socket until idle_s pass without one."""
    from codefusion.settings import Settings
    from codefusion.suggest import suggest
    from engine.api import exemplar_bank, load_generator, training_retriever

    gen = load_generator(checkpoint, device)
    if exemplars:
        gen.bank = exemplar_bank(gen, exemplars)
    retriever = training_retriever(gen)
    for lang in gen.languages:  # first calls (kernels, parsers) before the first request, not during it
        suggest("warm up", lang, Settings(k=1, steps=1), gen, retriever)
    path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(str(path))
        os.chmod(path, 0o600)
        srv.listen(8)
        srv.settimeout(idle_s)
        try:
            while True:
                try:
                    conn, _ = srv.accept()
                except socket.timeout:
                    return 0  # idle: make room
                with conn:
                    conn.settimeout(30)
                    stop = False
                    try:
                        req = _read(conn)
                        stop = isinstance(req, dict) and req.get("shutdown") is True
                        reply = {"stopped": True} if stop else _answer(req, gen, retriever, Settings, suggest)
                    except Exception as e:  # one bad request must not end the daemon
                        reply = {"error": f"{type(e).__name__}: {e}"}
                    try:
                        conn.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                    except OSError:
                        pass
                    if stop:
                        return 0
        finally:
            path.unlink(missing_ok=True)


def _read(conn, limit: int = MAX_REQUEST_BYTES) -> dict:
    """One JSON line from a socket."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("message too large")
    if not data:
        raise ConnectionError("the connection closed without a message")
    return json.loads(data)


def _answer(req: dict, gen, retriever, Settings, suggest) -> dict:
    if not isinstance(req, dict) or not isinstance(req.get("nl"), str) or not isinstance(req.get("lang"), str):
        raise ValueError("a request needs string fields nl and lang")
    settings = Settings(k=int(req.get("k", Settings().k)), steps=req.get("steps"),
                        invalid_mode=req.get("invalid_mode", Settings().invalid_mode), retrieval=bool(req.get("retrieval", True)))
    if req.get("raw"):
        cands = gen.generate(req["nl"], req["lang"], k=settings.k, steps=settings.steps, seed=int(req.get("seed", 0)))
        return {"raw": [{"code": c.code, "score": c.score} for c in cands]}
    res = suggest(req["nl"], req["lang"], settings, gen, retriever if settings.retrieval else None, seed=int(req.get("seed", 0)))
    from codefusion.suggest import candidate_json

    return {"candidates": [candidate_json(r) for r in res.candidates],
            "message": res.message, "n_duplicates": res.n_duplicates}
