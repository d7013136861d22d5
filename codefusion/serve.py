"""`codefusion serve`: one CodeFusion engine for a team, as a Ray Serve application.

Ray Serve runs the replicas (one model each, on a GPU when asked), restarts a replica that dies,
scales and spreads them over a Ray cluster; this module only says what a replica does:

* requests that arrive together are answered by one sampling pass (`serve.batch`: up to
  --max-batch-size requests, waiting at most --batch-wait-ms for more), through
  codefusion.suggest.suggest_many, so each gets what a local model would give it;
* the protocol is codefusion/remote.py's and a request is engine.schema's Request (k, steps, request
  length, language, start SNR: the limits and messages every surface shares), enforced here whatever
  the client checked; a bearer token when one is set;
* the model is codefusion.runtime.Engine's, warmed up before the replica answers.

Run: `codefusion serve` (a local Ray head on 127.0.0.1), or `--address auto` on a Ray cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import threading
from typing import Any

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from codefusion.remote import DEFAULT_BATCH, DEFAULT_WAIT_MS, MAX_BODY_BYTES, RequestError, authorized, parse_request
from codefusion.runtime import candidate_json
from engine.api import EngineError, version


class Replica:
    """A replica: the Engine (model, banks, retriever) and the batched generate handler."""

    def __init__(
        self,
        checkpoint: str | None,
        device: str | None,
        exemplars: list[str],
        token: str | None,
        max_batch_size: int,
        batch_wait_s: float,
    ):
        from codefusion.runtime import Engine

        # the team's own examples widen the bank (and the retrieval beside the model)
        self.engine = Engine.open(checkpoint, exemplars, device, warm=True)
        self.generator = self.engine.generator
        self.token = token
        # serve.batch's wrapper has these setters at run time; Ray's annotations call it a plain coroutine function
        self.generate_batch.set_max_batch_size(max_batch_size)  # type: ignore[attr-defined]
        self.generate_batch.set_batch_wait_timeout_s(batch_wait_s)  # type: ignore[attr-defined]
        self.replica = f"{os.uname().nodename}:{os.getpid()}"
        self.batches: list[int] = []  # sizes of the last batches (the benchmark reads them from /v1/health)
        self._lock = threading.Lock()

    @serve.batch(max_batch_size=DEFAULT_BATCH, batch_wait_timeout_s=DEFAULT_WAIT_MS / 1000)
    async def generate_batch(self, requests: list[Any]) -> list[dict]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._answer, requests)

    def _answer(self, requests: list[Any]) -> list[dict]:
        """In a worker thread: one sampling pass for the batch (engine.schema.Requests), then each request's
        pipeline."""
        with self._lock:  # one pass at a time per replica (the model is not re-entrant)
            self.batches = (self.batches + [len(requests)])[-100:]
            results = self.engine.suggest_many(requests)
        out = []
        for res in results:
            if isinstance(res, Exception):
                out.append({"error": str(res), "status": 400})
                continue
            out.append(
                {
                    "candidates": [candidate_json(c) for c in res.candidates],
                    "message": res.message,
                    "modelSeconds": res.model_seconds,
                    "pipelineSeconds": res.pipeline_seconds,
                    "replica": self.replica,
                    "batch": len(requests),
                }
            )
        return out

    async def __call__(self, request: Request) -> JSONResponse:
        if not authorized(request.headers.get("authorization"), self.token):
            return JSONResponse({"error": "a valid bearer token is needed"}, status_code=401)
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path.endswith("/v1/health"):
            return JSONResponse(
                {
                    "status": "ok",
                    "model": str(self.generator.path),
                    "languages": list(self.generator.languages),
                    "replica": self.replica,
                    "pid": os.getpid(),
                    "batches": self.batches[-20:],
                }
            )
        if request.method == "GET" and path.endswith("/v1/version"):
            return JSONResponse({"version": version(), "model": str(self.generator.path)})
        if request.method != "POST" or not path.endswith("/v1/generate"):
            return JSONResponse(
                {"error": f"no {request.method} {path}: POST /v1/generate, GET /v1/health, GET /v1/version"},
                status_code=404,
            )
        declared = request.headers.get("content-length")
        if declared and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return JSONResponse({"error": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        body = b""
        async for chunk in request.stream():  # never more than the cap, whatever the header said
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            req = parse_request(body)
        except RequestError as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)
        answer = await self.generate_batch(req)
        return JSONResponse(answer, status_code=answer.pop("status", 200) if "error" in answer else 200)


def application(
    checkpoint: str | None = None,
    device: str | None = None,
    exemplars: list[str] | None = None,
    token: str | None = None,
    replicas: int = 1,
    max_batch_size: int = DEFAULT_BATCH,
    batch_wait_ms: float = DEFAULT_WAIT_MS,
    num_gpus: float = 0.0,
    num_cpus: float = 1.0,
) -> Any:
    """The Ray Serve application (bind it with serve.run)."""
    deployment = serve.deployment(
        Replica,
        name="codefusion",
        num_replicas=replicas,
        ray_actor_options={"num_gpus": num_gpus, "num_cpus": num_cpus},
        max_ongoing_requests=max(64, 4 * max_batch_size),
        health_check_period_s=2,
        health_check_timeout_s=30,
    )
    # serve.deployment(cls, ...) returns a Deployment at run time; Ray's overloads type it as a decorator
    return deployment.bind(  # type: ignore[attr-defined]
        checkpoint, device, list(exemplars or []), token, max_batch_size, batch_wait_ms / 1000
    )


def run(a: argparse.Namespace) -> int:
    """`codefusion serve`: deploy, print where, serve until interrupted."""
    if a.host not in ("127.0.0.1", "localhost", "::1") and not a.token:
        raise EngineError(f"listening on {a.host} (beyond loopback) needs --token TOKEN or $CODEFUSION_ENGINE_TOKEN")
    for name, v, lo in (("--replicas", a.replicas, 1), ("--max-batch-size", a.max_batch_size, 1)):
        if v < lo:
            raise ValueError(f"{name} must be at least {lo}, got {v}")
    if a.batch_wait_ms < 0:
        raise ValueError(f"--batch-wait-ms must be >= 0, got {a.batch_wait_ms}")
    gpus = a.gpus_per_replica
    if gpus is None:
        import torch

        gpus = 1.0 if torch.cuda.is_available() and a.device != "cpu" else 0.0
    cpus = 1.0 if a.cpus_per_replica is None else a.cpus_per_replica  # Ray gives torch that many threads
    import ray

    logging.getLogger("ray").setLevel(logging.WARNING)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    try:
        ray.init(
            address=a.address,
            num_cpus=a.num_cpus if a.address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=False,
        )
        serve.start(http_options={"host": a.host, "port": a.port})
        serve.run(
            application(
                a.checkpoint, a.device, a.exemplars, a.token, a.replicas, a.max_batch_size, a.batch_wait_ms, gpus, cpus
            ),
            name="codefusion",
            route_prefix="/",
            blocking=False,
        )
    except Exception as e:  # Ray's own failures (no cluster at --address, a port in use, a replica that cannot load)
        ray.shutdown()
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise EngineError(f"Ray Serve could not start the engine: {type(e).__name__}: {first}") from None
    print(
        f"codefusion engine on http://{a.host}:{a.port} ({a.replicas} replica(s), batches of up to "
        f"{a.max_batch_size}, token {'required' if a.token else 'none'}); Ctrl-C stops it",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0
