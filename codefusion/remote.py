"""The shared engine's HTTP/JSON protocol: request checks, the candidate format, and the client.

`codefusion serve` (codefusion/serve.py, on Ray Serve) answers; the language server, with the
`codefusion.engineUrl` setting, asks through EngineClient instead of loading a model. Plain
standard-library HTTP here: the client side needs neither Ray nor torch.

    POST /v1/generate  engine.schema.Request's JSON: {"nl", "lang", "k"?, "steps"?, "seed"?, "startSnr"?,
                       "noiseSlots"?, "retrieval"?, "invalidMode"?}
                       -> {"candidates": [engine.schema.CandidateView's JSON], "message", "modelSeconds",
                           "pipelineSeconds", "replica", "batch"}
    GET  /v1/health    -> {"status": "ok", "model", "languages", "replica"}
    GET  /v1/version   -> {"version", "model"}

With a token, every request carries `Authorization: Bearer TOKEN`. Errors: {"error": message}
with 400 (bad request: the schema's one-line message), 401 (token), 413 (too large), 503 (no replica).
"""

from __future__ import annotations

import hmac
import http.client
import json
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine import schema
from engine.api import Cancelled
from engine.schema import DEFAULT_SEED, INVALID_MODES, Request

MAX_BODY_BYTES = 64 << 10  # a request body; the NL itself: engine.schema.MAX_REQUEST_CHARS
DEFAULT_PORT = 8420  # `codefusion serve`
DEFAULT_BATCH = 16  # requests per sampling pass, at most
DEFAULT_WAIT_MS = 10  # longest wait for a batch to fill


class RequestError(ValueError):
    """A request the engine refuses: HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class EngineUnreachable(ConnectionError):
    """No answer from the engine (refused, reset, timed out, or 5xx after the retries)."""


def authorized(header: str | None, token: str | None) -> bool:
    """The Authorization header carries the engine's token (always true without one)."""
    if not token:
        return True
    return header is not None and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def parse_request(body: bytes) -> Request:
    """A /v1/generate body -> the Request (engine.schema); RequestError(400/413) otherwise, with the
    schema's one-line message. The engine enforces these limits whatever the client checked."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError(400, "the body is not UTF-8 JSON") from None
    try:
        return Request.from_json(data)
    except schema.RequestError as e:
        raise RequestError(400, str(e)) from None


def ranked_from_json(d: dict) -> Any:
    """A shown candidate on the wire (engine.schema.CandidateView: codefusion.runtime.candidate_json) back into
    a RankedCandidate (what the language server's converters read)."""
    from grammar.pipeline import RankedCandidate
    from grammar.syntax import SyntaxIssue

    v = schema.CandidateView.from_json(d)
    errors = [SyntaxIssue(*(schema.parse_error_text(e) or (0, 0, e))) for e in v.errors]
    return RankedCandidate(
        code=v.code,
        score=v.score,
        valid=v.valid,
        errors=errors,
        warnings=list(v.warnings),
        source=v.source,
        also_retrieved=v.also_retrieved,
        origin=v.origin,
        exemplar=v.exemplar,
    )


@dataclass
class RemoteSuggestions:
    """What the engine answered (the fields of codefusion.suggest.Suggestions the server uses)."""

    candidates: list[Any]
    message: str | None
    model_seconds: float
    pipeline_seconds: float
    replica: Any = None


class EngineClient:
    """Asks a `codefusion serve` engine. Retries a request on a refused or reset connection and on
    502/503/500 (a replica that died mid-request is restarted by Ray), within `timeout` seconds;
    stops at once when `cancel()` turns true, closing the connection so that the engine drops it."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0, retries: int = 3):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"engine URL {url!r}: expected http://HOST:PORT or https://HOST:PORT")
        self.url, self.token, self.timeout, self.retries = url.rstrip("/"), token, timeout, retries
        self._scheme, self._host = parts.scheme, parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")

    def health(self, timeout: float = 5.0) -> dict:
        return self._call("GET", "/v1/health", None, timeout, None)

    def suggest(
        self,
        nl: str,
        lang: str,
        k: int,
        steps: int | None = None,
        seed: int = DEFAULT_SEED,
        retrieval: bool = True,
        invalid_mode: str = INVALID_MODES[0],
        cancel: Callable[[], bool] | None = None,
        timeout: float | None = None,
        start_snr: float | None = None,
        noise_slots: int | None = None,
    ) -> RemoteSuggestions:
        values = {
            "nl": nl,
            "lang": lang,
            "k": k,
            "steps": steps,
            "seed": seed,
            "start_snr": start_snr,
            "noise_slots": noise_slots,
            "retrieval": retrieval,
            "invalid_mode": invalid_mode,
        }
        body = {schema.WIRE_KEYS[name]: v for name, v in values.items()}  # Request's JSON (the engine checks it)
        d = self._call("POST", "/v1/generate", body, timeout or self.timeout, cancel)
        return RemoteSuggestions(
            [ranked_from_json(c) for c in d.get("candidates", [])],
            d.get("message"),
            float(d.get("modelSeconds", 0.0)),
            float(d.get("pipelineSeconds", 0.0)),
            d.get("replica"),
        )

    # ------------------------------------------------------------ HTTP
    def _call(self, method: str, path: str, body: dict | None, timeout: float, cancel) -> dict:
        deadline = time.monotonic() + timeout
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.5 * attempt, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                break
            try:
                status, data, parsed = self._once(method, path, body, deadline, cancel)
            except Cancelled:
                raise
            except (OSError, http.client.HTTPException) as e:  # refused, reset, timed out: maybe a restart
                last = f"{type(e).__name__}: {e}"
                continue
            if status in (500, 502, 503, 504) or (status == 404 and not parsed):
                # 5xx: a replica died or none is ready; a plain-text 404 is Ray Serve's own while the
                # application is still being deployed (the engine's own 404s are JSON)
                last = f"HTTP {status}: {data.get('error', '') if isinstance(data, dict) else ''}".strip()[:200]
                continue
            if status != 200:
                msg = data.get("error") if isinstance(data, dict) else None
                raise RequestError(
                    status, f"the engine refused the request (HTTP {status}): {msg or 'no reason given'}"
                )
            if not isinstance(data, dict):
                raise EngineUnreachable(f"the engine at {self.url} answered something that is not a JSON object")
            return data
        raise EngineUnreachable(f"the CodeFusion engine at {self.url} did not answer ({last})")

    def _once(self, method: str, path: str, body: dict | None, deadline: float, cancel) -> tuple:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=max(0.1, deadline - time.monotonic()))
        try:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            payload = None if body is None else json.dumps(body).encode()
            conn.request(method, self._prefix + path, body=payload, headers=headers)
            while True:  # wait for the answer, looking at `cancel` every 50 ms
                if cancel is not None and cancel():
                    raise Cancelled("request cancelled")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer within the time budget")
                if select.select([conn.sock], [], [], min(0.05, left))[0]:
                    break
            resp = conn.getresponse()
            raw = resp.read(8 << 20)
            try:
                data, parsed = (json.loads(raw.decode("utf-8")) if raw else {}), True
            except (UnicodeDecodeError, json.JSONDecodeError):
                data, parsed = {"error": raw[:200].decode("utf-8", "replace")}, False
            return resp.status, data, parsed
        finally:
            conn.close()  # on cancel too: the engine sees the client leave and drops the request
