"""A warm `codefusion generate`: one background process keeps the model loaded and answers over a
Unix socket, so every call after the first takes a fraction of a second instead of seconds.

    codefusion generate "..." --lang bash --daemon     # starts the daemon on first use, then reuses it
    codefusion daemon [--checkpoint DIR] [--device D]  # the daemon itself (in the foreground)

One daemon per install and configuration. Its identity (`identity()`) is the install (where the
codefusion package lives, its version, the Python that runs it), the checkpoint (resolved path and
the size and mtime of its .json/.safetensors files), the device and the bank (the --exemplars
files, resolved, with size and mtime). The socket's name is a hash of (install, configuration paths)
then a hash of the whole identity, so two installs or two configurations never share a daemon. The
socket lives in a folder only the user can open ($XDG_RUNTIME_DIR/codefusion, else a 0700
codefusion-<uid> folder in the temp dir).

On connect the client asks {"hello": true}; the daemon answers {"identity": ..., "pid": ...}. A
daemon whose identity is not the client's (an older version, a changed model or bank) is told to
stop and a new one is started; so is any daemon of the same install and paths whose files changed
since it started (after an upgrade in place). The daemon answers one request at a time with
suggest(), the same composition as everywhere, executes nothing, and exits after IDLE_S seconds
without a request (or on {"shutdown": true}). Two clients that start a daemon at once start one: the
daemon holds an exclusive lock beside its socket while it runs.
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
from typing import Any

from engine import version
from engine.api import EngineError, default_checkpoint_dir
from engine.schema import Request, RequestError

IDLE_S = 1800.0  # the daemon exits after this long without a request
START_TIMEOUT_S = 180.0  # how long a first call waits for the daemon to load its model
STOP_TIMEOUT_S = 10.0  # how long a client waits for a stale daemon to go before starting its own
HELLO_TIMEOUT_S = 5.0  # a daemon that does not answer hello in this time is not ours
MAX_REQUEST_BYTES = 1 << 20
PROTOCOL = 3  # 3: requests are engine.schema.Request's JSON; 2: hello/identity; older daemons are replaced


class DaemonError(EngineError):
    """The daemon could not be reached or started; str() says why."""


def _file_stamp(path: Path) -> list:
    """[resolved path, size, mtime_ns] of a file ([path, None, None] when it cannot be read)."""
    path = path.resolve()
    try:
        st = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), st.st_size, st.st_mtime_ns]


def identity(checkpoint: str | None, device: str | None, exemplars=()) -> dict:
    """What makes a daemon the right one for this call: the install and the configuration (module docstring).
    Cheap (no torch): the client computes it before every request."""
    import codefusion

    ckpt = Path(checkpoint) if checkpoint else default_checkpoint_dir()
    files = []
    if ckpt is not None and ckpt.is_dir():
        files = [
            _file_stamp(f) for f in sorted(ckpt.iterdir()) if f.suffix in (".json", ".safetensors") and f.is_file()
        ]
    return {
        "protocol": PROTOCOL,
        "install": str(Path(codefusion.__file__).resolve().parent),
        "version": version(),
        "python": sys.executable,
        "checkpoint": str(ckpt.resolve()) if ckpt is not None else None,
        "checkpoint_files": files,
        "device": device or "auto",
        "bank": sorted(_file_stamp(Path(f)) for f in exemplars),
    }


MAX_SOCKET_PATH = 107  # bytes: sockaddr_un.sun_path is 108 on Linux, with its terminating NUL


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def socket_folder() -> Path:
    """The private folder of this user's daemon sockets (created 0700; refused when another user owns it
    or others can open it)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "codefusion" if base else Path(tempfile.gettempdir()) / f"codefusion-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise DaemonError(f"{folder} is not a private folder of this user; remove it or set XDG_RUNTIME_DIR")
    return folder


def _place(ident: dict) -> str:
    """The part of a socket's name that says which install and configuration paths it serves."""
    return _digest(
        [ident["install"], ident["python"], ident["checkpoint"], ident["device"], [b[0] for b in ident["bank"]]]
    )


def socket_path(checkpoint: str | None, device: str | None, exemplars=(), ident: dict | None = None) -> Path:
    """Where the daemon for this install and configuration listens: <place>-<identity>.sock."""
    ident = ident or identity(checkpoint, device, exemplars)
    path = socket_folder() / f"{_place(ident)}-{_digest(ident)}.sock"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:  # connect() would fail with an OSError that reads like no daemon
        raise DaemonError(
            f"the daemon socket {path} is {len(os.fsencode(path))} bytes, over the {MAX_SOCKET_PATH}-byte limit of "
            "a Unix socket path; set XDG_RUNTIME_DIR to a shorter folder"
        )
    return path


def request(path: Path, payload: dict, timeout: float = 600.0) -> dict:
    """Send one request to a running daemon; ConnectionError/FileNotFoundError when none listens."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps(payload).encode() + b"\n")
        return _read(s, limit=1 << 30)


def hello(path: Path, timeout: float = HELLO_TIMEOUT_S) -> dict | None:
    """The daemon's {"identity", "pid"} at `path`; None when none listens there. A daemon that does not
    speak hello (an older protocol) answers something else: its identity is then {}."""
    try:
        reply = request(path, {"hello": True}, timeout=timeout)
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    except (OSError, ValueError):  # a timeout, a reset, a reply that is not JSON: not a daemon of ours
        return {"identity": {}, "pid": None}
    return (
        reply if isinstance(reply, dict) and isinstance(reply.get("identity"), dict) else {"identity": {}, "pid": None}
    )


def stop(path: Path, timeout: float = STOP_TIMEOUT_S) -> None:
    """Ask the daemon at `path` to stop and wait (at most `timeout` s) until its lock is free."""
    try:
        request(path, {"shutdown": True}, timeout=timeout)
    except (OSError, ValueError):
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _locked(path):
        time.sleep(0.05)
    if not _locked(path):
        path.unlink(missing_ok=True)


def _lock_path(path: Path) -> Path:
    return path.with_suffix(".lock")


def _locked(path: Path) -> bool:
    """Whether a daemon holds the lock of the socket `path` (is starting or running)."""
    import fcntl

    try:
        with open(_lock_path(path), "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def _stop_stale(path: Path) -> None:
    """Stop the daemons of the same install and configuration paths whose identity is another (their
    socket's name has this one's place but another identity hash): e.g. the one from before an upgrade."""
    place = path.name.split("-", 1)[0]
    for other in path.parent.glob(f"{place}-*.sock"):
        if other != path:
            stop(other)


def ask(payload: dict, checkpoint: str | None, device: str | None, exemplars=()) -> dict:
    """Ask the daemon for this install and configuration, starting it (and waiting for its model) when
    none runs, and replacing one whose identity is not ours."""
    ident = identity(checkpoint, device, exemplars)
    path = socket_path(checkpoint, device, exemplars, ident)
    found = hello(path, timeout=START_TIMEOUT_S)  # a daemon answers hello once its current request is done
    if found is not None and found["identity"] == ident:
        return request(path, payload)
    if found is not None:  # someone else's daemon at our name: stop it, start ours
        stop(path)
    _stop_stale(path)
    cmd = [sys.executable, "-m", "codefusion", "daemon", "--socket", str(path)]
    cmd += ["--checkpoint", checkpoint] if checkpoint else []
    cmd += ["--device", device] if device else []
    cmd += ["--exemplars", *exemplars] if exemplars else []
    log = path.with_suffix(".log")
    proc = None
    if not _locked(path):  # else a daemon is loading there already (another client started it)
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
        found = hello(path)
        if found is None:
            if proc is not None and proc.poll() not in (None, 0):  # it failed (a bad checkpoint, ...): say why now
                break
            continue
        if found["identity"] != ident:
            raise DaemonError(
                f"the daemon at {path} is not this install's (pid {found.get('pid')}); stop it or remove the socket"
            )
        return request(path, payload)
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    why = (
        f"exited with status {proc.returncode}"
        if proc is not None and proc.poll() not in (None, 0)
        else f"did not start within {START_TIMEOUT_S:.0f} s"
    )
    raise DaemonError(f"the daemon {why}" + (f": {tail[0]}" if tail else ""))


def serve(path: Path, checkpoint: str | None, device: str | None, exemplars=(), idle_s: float = IDLE_S) -> int:
    """Load the model, then answer requests on the socket until idle_s pass without one. Exits at once
    (0) when another daemon holds this socket's lock."""
    import fcntl

    lock = open(_lock_path(path), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return 0  # another daemon serves (or is loading) here
    try:
        return _serve(path, checkpoint, device, exemplars, idle_s)
    finally:
        lock.close()


def _serve(path: Path, checkpoint: str | None, device: str | None, exemplars, idle_s: float) -> int:
    from codefusion.runtime import Engine

    ident = identity(checkpoint, device, exemplars)  # what was there when the model was read
    # answers come at once (a new big bank is embedded meanwhile); first calls (kernels, parsers) before the
    # first request, not during it
    engine = Engine.open(checkpoint, exemplars, device, background_embedding=True, progress=False, warm=True)
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
                except TimeoutError:
                    return 0  # idle: make room
                with conn:
                    conn.settimeout(30)
                    req: Any
                    try:
                        req = _read(conn)
                    except Exception as e:  # a message that is not one JSON line
                        req = e
                    reply = respond(req, engine, ident)
                    stop_now = reply.get("stopped") is True
                    try:
                        conn.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                    except OSError:
                        pass
                    if stop_now:
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


def respond(req, engine, ident: dict) -> dict:
    """The daemon's reply to one message (the loop's whole protocol; never raises): hello, shutdown, or a
    request answered by `engine` (codefusion.runtime.Engine); errors are {"error": one line}, a request
    that breaks the schema with the schema's own message (the CLI's, the shared engine's, the server's)."""
    try:
        if isinstance(req, Exception):
            raise req
        if isinstance(req, dict) and req.get("shutdown") is True:
            return {"stopped": True}
        if isinstance(req, dict) and req.get("hello") is True:
            return {"identity": ident, "pid": os.getpid()}
        return {**_answer(req, engine), "daemon": {"pid": os.getpid(), "install": ident["install"]}}
    except RequestError as e:
        return {"error": str(e)}
    except Exception as e:  # one bad request must not end the daemon
        return {"error": f"{type(e).__name__}: {e}"}


def _answer(req: dict, engine) -> dict:
    """A request (engine.schema.Request's JSON, and "raw": the model's own candidates) -> the reply."""
    request = Request.from_json(req)  # RequestError: the one-line message every surface gives
    if isinstance(req, dict) and req.get("raw"):
        return {"raw": [{"code": c.code, "score": c.score} for c in engine.generate(request)]}
    res = engine.suggest(request)
    from codefusion.runtime import candidate_json

    return {
        "candidates": [candidate_json(r) for r in res.candidates],
        "message": res.message,
        "n_duplicates": res.n_duplicates,
    }
