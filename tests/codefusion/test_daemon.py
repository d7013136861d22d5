"""One `generate --daemon` daemon per install and configuration (issue 24): private sockets, names that cover
the install, version, checkpoint and bank, a hello/identity check on connect, and stale daemons replaced.
Every daemon a test starts is stopped before it ends."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from codefusion import daemon

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runtime_dir(monkeypatch):
    """A short private XDG_RUNTIME_DIR (socket paths have a 108-byte limit); afterwards every daemon in it is
    asked to stop, and killed by its pid when it does not."""
    d = Path(tempfile.mkdtemp(prefix="cfd-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d))
    yield d
    for sock in (d / "codefusion").glob("*.sock"):
        found = daemon.hello(sock, timeout=5)
        daemon.stop(sock, timeout=10)
        pid = (found or {}).get("pid")
        if isinstance(pid, int) and pid != os.getpid() and _alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is gone for this purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def test_the_socket_name_covers_install_version_checkpoint_and_bank(runtime_dir, untrained_ckpt, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(untrained_ckpt, ckpt)
    bank_a, bank_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    bank_a.write_text('{"nl": "x", "code": "ls", "lang": "bash"}\n')
    bank_b.write_text('{"nl": "y", "code": "pwd", "lang": "bash"}\n')
    base = daemon.socket_path(str(ckpt), "cpu")
    assert base.parent == runtime_dir / "codefusion" and oct(base.parent.stat().st_mode & 0o777) == "0o700"
    assert base == daemon.socket_path(str(ckpt), "cpu")  # stable
    ident = daemon.identity(str(ckpt), "cpu")
    import codefusion
    from engine import version

    assert ident["install"] == str(Path(codefusion.__file__).resolve().parent) and ident["version"] == version()
    others = {
        daemon.socket_path(str(ckpt), "cpu", [str(bank_a)]),
        daemon.socket_path(str(ckpt), "cpu", [str(bank_b)]),
        daemon.socket_path(str(untrained_ckpt), "cpu"),
        daemon.socket_path(str(ckpt), "cuda"),
        daemon.socket_path(str(ckpt), "cpu", ident=dict(ident, install="/elsewhere/codefusion")),
        daemon.socket_path(str(ckpt), "cpu", ident=dict(ident, version="0.0.0-old")),
    }
    assert len(others) == 6 and base not in others
    with_a = daemon.socket_path(str(ckpt), "cpu", [str(bank_a)])
    bank_a.write_text('{"nl": "x", "code": "ls -la", "lang": "bash"}\n')  # the bank changed: another daemon
    assert daemon.socket_path(str(ckpt), "cpu", [str(bank_a)]) != with_a
    (ckpt / "config.json").write_text((ckpt / "config.json").read_text() + "\n")  # so did the model
    moved = daemon.socket_path(str(ckpt), "cpu")
    assert moved != base and moved.name.split("-")[0] == base.name.split("-")[0]  # same install and paths


def test_a_shared_socket_folder_is_refused(monkeypatch, tmp_path):
    open_dir = tmp_path / "rt"
    (open_dir / "codefusion").mkdir(parents=True)
    os.chmod(open_dir / "codefusion", 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(open_dir))
    with pytest.raises(daemon.DaemonError, match="not a private folder"):
        daemon.socket_path(None, "cpu")


def test_a_socket_path_over_the_unix_limit_is_refused_with_its_reason(monkeypatch, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    with pytest.raises(daemon.DaemonError, match="over the 107-byte limit of a Unix socket path") as e:
        daemon.socket_path(None, "cpu")
    assert "XDG_RUNTIME_DIR" in str(e.value) and "not this install" not in str(e.value)


class _FakeDaemon(threading.Thread):
    """A test double of a daemon at `path` that answers hello with `ident`, any request with {"candidates": []},
    and stops on {"shutdown": true}."""

    def __init__(self, path: Path, ident: dict):
        super().__init__(daemon=True)
        self.path, self.identity, self.requests = path, ident, []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path.unlink(missing_ok=True)
        self.srv.bind(str(path))
        self.srv.listen(4)
        self.srv.settimeout(20)
        self.start()

    def run(self):
        with self.srv:
            while True:
                try:
                    conn, _ = self.srv.accept()
                except OSError:
                    return
                with conn:
                    req = daemon._read(conn)
                    self.requests.append(req)
                    if req.get("shutdown"):
                        # gone before the reply, as a real daemon is before stop() returns (stop waits for its lock,
                        # a double holds none): unlinked after, it could take the socket of the daemon started next
                        self.path.unlink(missing_ok=True)
                        conn.sendall(b'{"stopped": true}\n')
                        return
                    reply = (
                        {"identity": self.identity, "pid": 0}
                        if req.get("hello")
                        else {"candidates": [], "message": None}
                    )
                    conn.sendall(json.dumps(reply).encode() + b"\n")


def test_a_daemon_with_another_identity_is_stopped_and_replaced(runtime_dir, untrained_ckpt, monkeypatch):
    """Unit test (the real processes: the slow test below): a stale daemon at our socket, e.g. one from
    before an upgrade, is told to stop and ours is started in its place."""
    ident = daemon.identity(str(untrained_ckpt), "cpu")
    path = daemon.socket_path(str(untrained_ckpt), "cpu")
    stale = _FakeDaemon(path, dict(ident, version="0.0.0-old"))
    started = []

    def popen(cmd, **kw):  # what ask() starts: here a double with the right identity
        started.append(cmd)
        started.append(_FakeDaemon(Path(cmd[cmd.index("--socket") + 1]), ident))

    monkeypatch.setattr(daemon.subprocess, "Popen", popen)
    reply = daemon.ask({"nl": "x", "lang": "bash"}, str(untrained_ckpt), "cpu")
    assert reply == {"candidates": [], "message": None}
    assert {"shutdown": True} in stale.requests and not any("nl" in r for r in stale.requests)
    assert started and started[0][1:4] == ["-m", "codefusion", "daemon"] and started[1].requests[-1]["nl"] == "x"
    daemon.stop(path)


def _install(root: Path) -> Path:
    """A second copy of the code (codefusion/, engine/, grammar/), as a second install of the same version."""
    for pkg in ("codefusion", "engine", "grammar"):
        shutil.copytree(REPO / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _generate(install: Path, ckpt: Path, *extra, timeout=240):
    env = {**os.environ, "PYTHONPATH": str(install), "CODEFUSION_THREADS": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "generate",
            "find all python files",
            "--lang",
            "bash",
            "-k",
            "2",
            "--steps",
            "1",
            "--checkpoint",
            str(ckpt),
            "--device",
            "cpu",
            "--daemon",
            "--verbose",
            *extra,
        ],
        cwd=install,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, r.stderr
    (line,) = [line for line in r.stdout.splitlines() if line.startswith("(answered by the daemon")]
    pid, where = line[len("(answered by the daemon pid ") : -1].split(" of ", 1)
    return int(pid), where, r


@pytest.mark.slow
def test_two_installs_side_by_side_each_get_their_own_daemon(runtime_dir, untrained_ckpt, tmp_path):
    """Two installs of the same version with the same model, run side by side: each call is answered by its
    own install's daemon (no cross-talk), a second call reuses it, and a daemon whose identity is not the
    install's (another bank at its socket) or whose model changed is replaced."""
    ckpt = tmp_path / "model"
    shutil.copytree(untrained_ckpt, ckpt)
    a, b = _install(tmp_path / "a"), _install(tmp_path / "b")
    t0 = time.monotonic()
    pid_a, where_a, out_a = _generate(a, ckpt)
    pid_b, where_b, out_b = _generate(b, ckpt)
    assert where_a == str(a / "codefusion") and where_b == str(b / "codefusion") and pid_a != pid_b
    assert _generate(a, ckpt)[:2] == (pid_a, where_a) and _generate(b, ckpt)[:2] == (pid_b, where_b)
    socks = sorted((runtime_dir / "codefusion").glob("*.sock"))
    assert len(socks) == 2 and all(oct(s.stat().st_mode & 0o777) == "0o600" for s in socks)
    # the same request, the same model: the same candidates from either daemon
    strip = lambda r: [line for line in r.stdout.splitlines() if not line.startswith("(answered")]  # noqa: E731
    assert strip(out_a) == strip(out_b)

    # a stale daemon at install a's socket (started for another bank) is stopped and replaced
    env = {**os.environ, "PYTHONPATH": str(a), "CODEFUSION_THREADS": "1"}
    bank = tmp_path / "bank.jsonl"
    bank.write_text('{"nl": "x", "code": "ls", "lang": "bash"}\n')
    (sock_a,) = [s for s in socks if daemon.hello(s)["pid"] == pid_a]
    daemon.stop(sock_a)
    assert _wait(lambda: not _alive(pid_a), 10)
    stale = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codefusion",
            "daemon",
            "--socket",
            str(sock_a),
            "--checkpoint",
            str(ckpt),
            "--device",
            "cpu",
            "--exemplars",
            str(bank),
        ],
        cwd=a,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait(lambda: daemon.hello(sock_a) is not None, 120)
        assert daemon.hello(sock_a)["identity"]["bank"]
        pid_new, where_new, _ = _generate(a, ckpt)
        assert pid_new not in (stale.pid, pid_a) and where_new == where_a
        assert stale.wait(timeout=30) == 0  # it was told to stop
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()
    # the model changed (as after an upgrade in place): the old daemon goes, a new one answers
    (ckpt / "config.json").write_text((ckpt / "config.json").read_text() + "\n")
    pid_newer, _, _ = _generate(a, ckpt)
    assert pid_newer != pid_new and _wait(lambda: not _alive(pid_new), 10)
    assert _generate(b, ckpt)[0] not in (pid_b, pid_newer)  # b's daemon was b's: b starts its own for the new model
    assert _wait(lambda: not _alive(pid_b), 10)
    assert time.monotonic() - t0 < 600


def _wait(cond, timeout: float) -> bool:
    """Poll `cond` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_a_daemon_that_cannot_start_says_why_at_once(runtime_dir, tmp_path):
    """A bad checkpoint: the daemon exits, and the client says why in one line instead of waiting minutes."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}
    t0 = time.monotonic()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "codefusion",
            "generate",
            "list files",
            "--lang",
            "bash",
            "--daemon",
            "--checkpoint",
            str(tmp_path / "nothing"),
            "--device",
            "cpu",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "daemon exited with status 1" in r.stderr and "nothing" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and time.monotonic() - t0 < daemon.START_TIMEOUT_S / 2
