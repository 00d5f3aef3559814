"""The engine: aiohttp's low-level server in front, a pooled upstream client behind.

Theory of operation
-------------------
Each client request becomes an :class:`Incoming` whose body is an async
iterator over the client socket (:mod:`._listener`).  The :class:`Service`
answers with a :class:`Reply` (sent as is) or an :class:`Outgoing`, which
the relay (:mod:`._relay`) sends over a pooled upstream connection; the
upstream answer is streamed back as it arrives.  Memory stays bounded
because nothing is read ahead: aiohttp stops reading a socket when its
buffer holds 64 KiB, and a write to a slow peer waits for the kernel buffer
to drain (``StreamResponse.write``), so a slow client slows the upstream
read and a slow upstream slows the client upload.  This module holds the
configuration, the lifecycle (start, drain, stop) and the bookkeeping of
each request: metrics, the access log, clean-ups.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.web_server import Server

from ..errors import ClientDisconnected as _ClientGone
from . import _upstream as _up
from ._listener import (
    ListenerServer,
    client_body,
    new_event_loop,
    open_log,
    redact_target,
    reply,
    start_admin,
)
from ._metrics import Metrics
from ._model import Incoming, Reply, Service
from ._relay import Relay

__all__ = ["Engine", "ForwardConfig", "new_event_loop", "redact_target", "start_admin"]

_log = logging.getLogger("sigv4kit.forward")


@dataclass
class ForwardConfig:
    """How the engine listens and how it talks to upstreams.

    Attributes:
        host, port: the listener (port 0 = any free port; see Engine.port).
        admin_host, admin_port: the admin listener (/healthz, /readyz,
            /metrics); admin_port None = no admin listener.
        workers: processes sharing the listener (SO_REUSEPORT); see serve().
        tls_cert, tls_key: PEM files; both set = the listener speaks TLS.
        connect_timeout: seconds to open an upstream connection.
        read_timeout: seconds the upstream may stay silent (before its
            answer starts, and between body reads).
        drain_timeout: seconds SIGTERM waits for requests in flight.
        pool_limit: upstream connections open at once, all hosts.
        pool_idle: seconds an idle upstream connection is kept for reuse.
        upstream_ca: a CA bundle to verify TLS upstreams with (default:
            the system's); upstream_verify False turns verification off.
        access_log: None, "-" (stderr) or a file path: JSON lines.
        event_loop: "auto" (uvloop when installed), "uvloop" or "asyncio".
        keepalive_timeout: seconds an idle client connection stays open.
        max_field_size: the largest request header line accepted.
        head_timeout: seconds a client has for each request's line and
            headers, from its first byte (from the connection's start for
            the first request), then 408 and the connection is closed: a
            client that trickles its headers (slowloris) is cut off.
        upstream_client: "lean" (the engine's own pooled HTTP/1.1 client,
            :mod:`sigv4kit.forward._upstream`: about half the CPU per
            request of aiohttp's) or "aiohttp" (aiohttp's ClientSession).
            "lean" needs ``httptools``; without it "aiohttp" is used.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int | None = None
    workers: int = 1
    tls_cert: str | None = None
    tls_key: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    drain_timeout: float = 30.0
    pool_limit: int = 512
    pool_idle: float = 30.0
    upstream_ca: str | None = None
    upstream_verify: bool = True
    access_log: str | None = None
    event_loop: str = "auto"
    keepalive_timeout: float = 75.0
    max_field_size: int = 16384
    head_timeout: float = 30.0
    upstream_client: str = "lean"


class Engine:
    """One worker's listener, upstream pool and admin endpoints.

    ``await start()`` opens the listener (and the admin listener when
    configured); ``await stop()`` stops accepting, lets requests in flight
    finish (up to ``drain_timeout``) and closes the pool.
    """

    def __init__(
        self,
        config: ForwardConfig,
        service: Service,
        *,
        metrics: Metrics | None = None,
        admin: bool = True,
    ) -> None:
        self.config = config
        self.service = service
        self.metrics = metrics or Metrics()
        self._admin_enabled = admin and config.admin_port is not None
        self._relay = Relay(config, service, self.metrics)
        self._server: Server | None = None
        self._listener: asyncio.Server | None = None
        self._admin_server: Server | None = None
        self._admin_listener: asyncio.Server | None = None
        self._log = open_log(config.access_log)
        self._scheme = "https" if config.tls_cert else "http"
        self._renders_errors = type(service).on_upstream_error is not Service.on_upstream_error
        self.port = 0
        self.admin_port = 0

    @property
    def _session(self) -> ClientSession | None:
        """aiohttp's client session, when that is the upstream client."""
        return self._relay.session

    @property
    def _pool(self) -> _up.Pool | None:
        """The lean client's pool, when that is the upstream client."""
        return self._relay.pool

    # -- lifecycle -------------------------------------------------------------
    def _listener_ssl(self) -> ssl.SSLContext | None:
        c = self.config
        if not c.tls_cert:
            return None
        if not c.tls_key:
            raise ValueError("a TLS listener needs both --tls-cert and --tls-key")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(c.tls_cert, c.tls_key)
        return ctx

    async def start(self, sock: socket.socket | None = None) -> None:
        """Open the listener (on ``sock`` when given) and the admin listener."""
        c = self.config
        loop = asyncio.get_running_loop()
        await self.service.startup()
        self._relay.open()
        self._server = ListenerServer(
            self._handle,
            head_timeout=c.head_timeout,
            handler_cancellation=False,
            auto_decompress=False,
            keepalive_timeout=c.keepalive_timeout,
            max_field_size=c.max_field_size,
            access_log=None,
        )
        ssl_ctx = self._listener_ssl()
        if sock is not None:
            self._listener = await loop.create_server(self._server, sock=sock, ssl=ssl_ctx)
        else:
            self._listener = await loop.create_server(
                self._server, c.host, c.port, ssl=ssl_ctx, reuse_address=True, backlog=1024
            )
        self.port = self._listener.sockets[0].getsockname()[1]
        if self._admin_enabled:
            self._admin_server, self._admin_listener = await start_admin(
                c.admin_host, c.admin_port or 0, self._admin_state
            )
            self.admin_port = self._admin_listener.sockets[0].getsockname()[1]

    def _admin_state(self) -> tuple[bool, str]:
        return self.service.ready(), self.metrics.render()

    async def stop(self) -> None:
        """Stop accepting, drain requests in flight, close the pool."""
        if self._listener is not None:
            self._listener.close()
        if self._server is not None:
            # Idle keep-alive connections close now, busy ones after their
            # response (what aiohttp's own runner does).
            self._server.pre_shutdown()
            await self._server.shutdown(self.config.drain_timeout)
        if self._listener is not None:
            await self._listener.wait_closed()
        await self._relay.close()
        if self._admin_server is not None and self._admin_listener is not None:
            self._admin_listener.close()
            await self._admin_server.shutdown(1)
        await self.service.shutdown()
        if self._log is not None and self._log is not sys.stderr:
            self._log.close()

    # -- one request -----------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        t0 = time.monotonic()
        m = self.metrics
        m.in_flight += 1
        counter = [0, 0]  # bytes in, bytes out
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        inc = Incoming(
            request.method,
            request.raw_path,
            list(request.headers.items()),
            client_body(request, counter),
            request.content_length,
            peer[0] if peer else "",
            self._scheme,
        )
        inc.state["metrics"] = m
        status = 500
        error = ""
        upstream_status: int | None = None
        try:
            try:
                decision = await self.service.handle(inc)
            except _ClientGone:
                error = "client disconnected"
                status = 499
                raise
            except Exception as exc:  # a bug in the service must not kill the worker
                _log.exception("service failed on %s %s", request.method, redact_target(inc.target))
                decision = Reply.text(500, f"sigv4kit: internal error ({type(exc).__name__})")
            if isinstance(decision, Reply):
                status = decision.status
                counter[1] += len(decision.body)
                refusal = reply(decision)
                if not request.content.is_eof():
                    # The body was not read (a refusal): say this connection
                    # ends here, or a client would send its next request on
                    # a connection the server then drops, and retry it.
                    refusal.force_close()
                return refusal
            resp, status, upstream_status, error = await self._relay.forward(
                request, inc, decision, counter
            )
            if (
                self._renders_errors
                and upstream_status is None
                and status in (502, 504)
                and not error.startswith("body failed")
            ):
                resp = self._upstream_error(inc, status, error, resp)
            return resp
        finally:
            for cleanup in inc.cleanups:
                try:
                    cleanup()
                except Exception:
                    _log.exception("clean-up after a request failed")
            m.in_flight -= 1
            elapsed = time.monotonic() - t0
            m.observe(elapsed)
            m.inc("sigv4kit_requests_total", status=str(status))
            m.inc("sigv4kit_request_bytes_total", counter[0])
            m.inc("sigv4kit_response_bytes_total", counter[1])
            if self._log is not None:
                self._access_log(inc, status, upstream_status, counter, elapsed, error)

    def _upstream_error(
        self, inc: Incoming, status: int, reason: str, plain: web.StreamResponse
    ) -> web.StreamResponse:
        """The service's rendering of the engine's 502/504 (see Service.on_upstream_error)."""
        try:
            answer = self.service.on_upstream_error(inc, status, reason)
        except Exception:
            _log.exception("on_upstream_error failed")
            return plain
        return plain if answer is None else reply(answer)

    def _access_log(
        self,
        inc: Incoming,
        status: int,
        upstream_status: int | None,
        counter: list[int],
        elapsed: float,
        error: str,
    ) -> None:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "remote": inc.remote,
            "method": inc.method,
            "target": redact_target(inc.target),
            "status": status,
            "upstream_status": upstream_status,
            "bytes_in": counter[0],
            "bytes_out": counter[1],
            "duration_ms": round(elapsed * 1000, 3),
        }
        if error:
            line["error"] = error
        line.update(inc.log)
        assert self._log is not None
        try:
            self._log.write(json.dumps(line, separators=(",", ":")) + "\n")
        except (OSError, ValueError):  # a full disk must not fail requests
            pass
