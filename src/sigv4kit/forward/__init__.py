"""The streaming forwarding engine shared by ``sigv4kit proxy`` and ``sigv4kit gateway``.

HTTP in, HTTP out, both bodies streamed with backpressure and bounded
memory, upstream connections pooled.  The engine knows nothing about
signatures: a :class:`Service` decides, for each request, what goes
upstream.  Needs aiohttp (``pip install 'sigv4kit[proxy]'``); uses uvloop
when installed.

The API, in full::

    from sigv4kit.forward import (ForwardConfig, Service, Incoming, Outgoing,
                                  Reply, UpstreamAnswer, Engine, serve, end_to_end)

    class MyService(Service):
        async def handle(self, req: Incoming) -> Outgoing | Reply:
            # req.method, req.target (verbatim "/path?query"), req.headers
            # (list of pairs, in order), req.body (async iterator, read once),
            # req.content_length, req.remote, req.scheme, req.log (dict added
            # to the access-log line), req.state (per-request scratch)
            if bad(req):
                return Reply.text(403, "no")               # answered here, never sent upstream
            return Outgoing(req.method, "https://upstream:443", req.target,
                            end_to_end(req.headers) + [...], body=req.body)
        async def on_response(self, req, sent, answer: UpstreamAnswer) -> Outgoing | None:
            return None      # status >= 400: return a new Outgoing to retry once instead
        def ready(self) -> bool: return True              # /readyz
        async def startup(self) -> None: ...              # in the worker, before listening
        async def shutdown(self) -> None: ...             # after draining

    serve(ForwardConfig(host="127.0.0.1", port=8080, admin_port=9090, workers=2), MyService)
    # or, in a running loop (tests): e = Engine(config, MyService()); await e.start(); e.port;
    # await e.stop()

Rules the engine applies (so services need not):
* ``Outgoing.headers`` are sent exactly (no automatic ``Accept``,
  ``User-Agent``, ``Accept-Encoding``, ``Content-Type``); a ``Content-Length``
  there frames the body, otherwise an iterable body goes chunked.  Send
  ``Host`` yourself (the one you signed).
* Bodies are never decompressed in either direction; ``Expect:
  100-continue`` is answered when the service first reads ``req.body``.
* Upstream unreachable -> 502 with a one-line reason; silent past
  ``read_timeout`` -> 504; an idempotent request whose body is replayable
  (``bytes``, None, or ``Outgoing.reopen`` set) is retried once after a
  connection failure.
* A client that disconnects aborts the upstream exchange and the upstream
  connection is closed instead of pooled.
* Response headers are copied back minus hop-by-hop fields
  (:data:`HOP_BY_HOP`).
* Access-log lines (``access_log``) are JSON with method, target (signature
  and token query values replaced by ``REDACTED``), status, upstream status,
  byte counts and duration, plus ``req.log``; headers are never logged.
* ``/metrics`` names: sigv4kit_requests_total{status},
  sigv4kit_upstream_responses_total{status}, sigv4kit_upstream_errors_total
  {reason}, sigv4kit_retries_total{reason}, sigv4kit_signing_failures_total,
  sigv4kit_request_bytes_total, sigv4kit_response_bytes_total,
  sigv4kit_in_flight_requests, sigv4kit_request_duration_seconds (histogram).
  A service counts its own with ``engine.metrics.inc(name, **labels)``,
  reachable as ``req.state["metrics"]``.
"""

from __future__ import annotations

from ._engine import Engine, ForwardConfig, new_event_loop, redact_target
from ._metrics import Metrics, describe
from ._model import (
    HOP_BY_HOP,
    IDEMPOTENT_METHODS,
    Incoming,
    Outgoing,
    Reply,
    Service,
    UpstreamAnswer,
    end_to_end,
)
from ._serve import serve

__all__ = [
    "HOP_BY_HOP",
    "IDEMPOTENT_METHODS",
    "Engine",
    "ForwardConfig",
    "Incoming",
    "Metrics",
    "Outgoing",
    "Reply",
    "Service",
    "UpstreamAnswer",
    "describe",
    "end_to_end",
    "new_event_loop",
    "redact_target",
    "serve",
]
