"""The engine: aiohttp's low-level server in front, a lean pooled client behind.

The upstream side is :mod:`._upstream` (asyncio protocol + httptools' llhttp
parser) by default: it costs about half the CPU per small request of
aiohttp's ``ClientSession``, which stays selectable
(``ForwardConfig(upstream_client="aiohttp")``) and is used when httptools is
missing.

Theory of operation
-------------------
Each client request becomes an :class:`Incoming` whose body is an async
iterator over the client socket.  The :class:`Service` answers with a
:class:`Reply` (sent as is) or an :class:`Outgoing`, which the engine sends
over a pooled upstream connection; the upstream answer is streamed back as
it arrives.  Memory stays bounded because nothing is read ahead: aiohttp
stops reading a socket when its buffer holds 64 KiB, and a write to a slow
peer waits for the kernel buffer to drain (``StreamResponse.write``), so a
slow client slows the upstream read and a slow upstream slows the client
upload.

Failures, and what the client sees:
* upstream unreachable / refused / reset before answering: 502 with a
  one-line reason (after one retry when the request is idempotent and its
  body replayable, :attr:`Outgoing.replayable`);
* upstream silent for ``read_timeout`` (or connect over ``connect_timeout``):
  504;
* client gone mid-body: the upstream request is aborted and its connection
  closed, not returned to the pool;
* upstream gone mid-answer: the client connection is closed, so the client
  sees a truncated body, never a silently short one.

The engine adds no header of its own upstream (with the aiohttp client,
its automatic ``Accept``, ``Accept-Encoding``, ``User-Agent`` and
``Content-Type`` are suppressed) because the service signs exactly what it hands over, and it
never decompresses either body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

from aiohttp import (
    ClientConnectionError,
    ClientConnectorError,
    ClientOSError,
    ClientPayloadError,
    ClientResponse,
    ClientSession,
    ClientTimeout,
    DummyCookieJar,
    ServerDisconnectedError,
    ServerTimeoutError,
    TCPConnector,
    web,
)
from aiohttp.web_server import Server
from multidict import CIMultiDict
from yarl import URL

from ..errors import ClientDisconnected as _ClientGone
from ..errors import UpstreamFailed
from . import _upstream as _up
from ._metrics import Metrics
from ._model import IDEMPOTENT_METHODS, Incoming, Outgoing, Reply, Service, UpstreamAnswer

__all__ = ["Engine", "ForwardConfig"]

_log = logging.getLogger("sigv4kit.forward")

# aiohttp's client adds these unless told not to; the service decides.
_SKIP_AUTO = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
# Answers to copy back to the client: everything end-to-end.  Content-Length
# is kept (aiohttp then frames by length instead of chunking).
_RESPONSE_DROP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_PEEK_LIMIT = 65536
# What reading an upstream answer's body raises when the upstream broke off.
_BROKE_OFF = (
    ClientPayloadError,
    ClientConnectionError,
    asyncio.TimeoutError,
    UpstreamFailed,
)
# Query parameters whose values never reach a log line.
_SECRET_PARAMS = frozenset(
    {
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-credential",
        "x-amz-s3session-token",
        "signature",
        "awsaccesskeyid",
    }
)


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
    upstream_client: str = "lean"


def redact_target(target: str) -> str:
    """``target`` with the values of signature and token parameters hidden."""
    path, sep, query = target.partition("?")
    if not sep or "=" not in query:
        return target
    parts = []
    for part in query.split("&"):
        name, eq, _ = part.partition("=")
        if eq and name.lower() in _SECRET_PARAMS:
            part = f"{name}=REDACTED"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}"


def _open_log(where: str | None) -> IO[str] | None:
    if where is None:
        return None
    if where == "-":
        return sys.stderr
    return open(where, "a", buffering=1, encoding="utf-8")


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
        self._session: ClientSession | None = None
        self._pool: _up.Pool | None = None
        self._server: Server | None = None
        self._listener: asyncio.Server | None = None
        self._admin_server: Server | None = None
        self._admin_listener: asyncio.Server | None = None
        self._timeout = ClientTimeout(
            total=None,
            connect=None,
            sock_connect=config.connect_timeout,
            sock_read=config.read_timeout,
        )
        self._log = _open_log(config.access_log)
        self._scheme = "https" if config.tls_cert else "http"
        self._hooked = type(service).on_response is not Service.on_response
        self._renders_errors = type(service).on_upstream_error is not Service.on_upstream_error
        self.port = 0
        self.admin_port = 0

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

    def _upstream_ssl(self) -> ssl.SSLContext | bool:
        c = self.config
        if not c.upstream_verify:
            return False
        ctx = ssl.create_default_context(cafile=c.upstream_ca)
        return ctx

    async def start(self, sock: socket.socket | None = None) -> None:
        """Open the listener (on ``sock`` when given) and the admin listener."""
        c = self.config
        loop = asyncio.get_running_loop()
        await self.service.startup()
        if c.upstream_client not in ("lean", "aiohttp"):
            raise ValueError(
                f"upstream_client {c.upstream_client!r} is not one of 'lean', 'aiohttp'"
            )
        if c.upstream_client == "lean" and _up.available():
            up_ssl = self._upstream_ssl()
            self._pool = _up.Pool(
                limit=c.pool_limit,
                idle=c.pool_idle,
                ssl_context=up_ssl if isinstance(up_ssl, ssl.SSLContext) else None,
                connect_timeout=c.connect_timeout,
                read_timeout=c.read_timeout,
            )
        else:
            self._session = self._aiohttp_session()
        self._server = Server(
            self._handle,
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

    def _aiohttp_session(self) -> ClientSession:
        c = self.config
        session = ClientSession(
            connector=TCPConnector(
                limit=c.pool_limit,
                limit_per_host=0,
                keepalive_timeout=c.pool_idle,
                ssl=self._upstream_ssl(),
                ttl_dns_cache=60,
            ),
            timeout=self._timeout,
            auto_decompress=False,
            cookie_jar=DummyCookieJar(),
            skip_auto_headers=_SKIP_AUTO,
            trust_env=False,
            requote_redirect_url=False,
        )
        # aiohttp retries idempotent requests after a dropped pooled
        # connection by itself; the engine does it (counted, and only for
        # replayable bodies), so aiohttp's is turned off.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

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
        if self._session is not None:
            await self._session.close()
        if self._pool is not None:
            await self._pool.close()
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
            self._client_body(request, counter),
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
                reply = _reply(decision)
                if not request.content.is_eof():
                    # The body was not read (a refusal): say this connection
                    # ends here, or a client would send its next request on
                    # a connection the server then drops, and retry it.
                    reply.force_close()
                return reply
            resp, status, upstream_status, error = await self._forward(
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
            reply = self.service.on_upstream_error(inc, status, reason)
        except Exception:
            _log.exception("on_upstream_error failed")
            return plain
        return plain if reply is None else _reply(reply)

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

    async def _client_body(
        self, request: web.BaseRequest, counter: list[int]
    ) -> AsyncIterator[bytes]:
        """The client's body, read as the consumer asks for it."""
        if request.headers.get("Expect", "").lower() == "100-continue":
            # The low-level server leaves Expect to the application; the
            # client waits for this before sending the body.
            transport = request.transport
            if transport is not None:
                transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        content = request.content
        expected = request.content_length
        while True:
            try:
                chunk = await content.readany()
            except (ConnectionError, asyncio.CancelledError, Exception) as exc:
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise _ClientGone(f"client disconnected mid-body: {type(exc).__name__}") from exc
            if not chunk:
                break
            counter[0] += len(chunk)
            yield chunk
        if expected is not None and counter[0] < expected:
            raise _ClientGone(
                f"client disconnected mid-body ({counter[0]} of {expected} bytes received)"
            )

    async def _send(
        self, out: Outgoing, body: bytes | AsyncIterable[bytes] | None
    ) -> ClientResponse | _up.Response:
        if self._pool is not None:
            return await self._pool.request(out.method, out.origin, out.target, out.headers, body)
        assert self._session is not None
        return await self._session.request(
            out.method,
            URL(out.url, encoded=True),
            headers=CIMultiDict(
                [(n, v) for n, v in out.headers if n.lower() != "transfer-encoding"]
            ),
            data=body,
            allow_redirects=False,
            skip_auto_headers=_SKIP_AUTO,
        )

    async def _forward(
        self, request: web.BaseRequest, inc: Incoming, out: Outgoing, counter: list[int]
    ) -> tuple[web.StreamResponse, int, int | None, str]:
        m = self.metrics
        hook_used = False
        conn_retried = False
        body = out.body
        while True:
            try:
                resp = await self._send(out, body)
            except _ClientGone as exc:
                return _reply(Reply.text(400, str(exc))), 499, None, "client disconnected"
            except UpstreamFailed as exc:
                may_retry = not conn_retried and out.method in IDEMPOTENT_METHODS and out.replayable
                failure = self._lean_failed(inc, out, exc, may_retry)
                if failure is None:
                    # connect / disconnect on a replayable idempotent request
                    conn_retried = True
                    m.inc("sigv4kit_retries_total", reason="connection")
                    body = out.body if out.reopen is None else out.reopen()
                    continue
                return failure
            except (ClientConnectorError, ServerDisconnectedError, ClientOSError) as exc:
                failed = self._body_failed(inc, exc)
                if failed is not None:
                    return failed
                if isinstance(exc.__cause__, _ClientGone) or isinstance(
                    exc.__context__, _ClientGone
                ):
                    return (
                        _reply(Reply.text(400, "client disconnected")),
                        499,
                        None,
                        "client disconnected",
                    )
                reason = _reason(exc, out)
                if not conn_retried and out.method in IDEMPOTENT_METHODS and out.replayable:
                    conn_retried = True
                    m.inc("sigv4kit_retries_total", reason="connection")
                    body = out.body if out.reopen is None else out.reopen()
                    continue
                kind = "connect" if isinstance(exc, ClientConnectorError) else "disconnect"
                m.inc("sigv4kit_upstream_errors_total", reason=kind)
                return _reply(Reply.text(502, reason)), 502, None, reason
            except (asyncio.TimeoutError, ServerTimeoutError):
                reason = (
                    f"sigv4kit: upstream {_where(out)} did not answer within "
                    f"{self.config.read_timeout:g} s (read timeout)"
                )
                m.inc("sigv4kit_upstream_errors_total", reason="timeout")
                return _reply(Reply.text(504, reason)), 504, None, reason
            except ClientConnectionError as exc:
                failed = self._body_failed(inc, exc)
                if failed is not None:
                    return failed
                reason = _reason(exc, out)
                m.inc("sigv4kit_upstream_errors_total", reason="disconnect")
                return _reply(Reply.text(502, reason)), 502, None, reason
            upstream_status = resp.status
            m.inc("sigv4kit_upstream_responses_total", status=str(upstream_status))
            prefix = b""
            if upstream_status >= 400 and self._hooked and not hook_used:
                peeked, prefix = await _peek(resp, inc.method)
                answer = UpstreamAnswer(upstream_status, _resp_headers(resp), peeked or b"")
                try:
                    again = await self.service.on_response(inc, out, answer)
                except Exception:
                    _log.exception("on_response failed")
                    again = None
                if again is not None:
                    hook_used = True
                    resp.close()  # unread rest: not reusable
                    m.inc("sigv4kit_retries_total", reason="response")
                    out = again
                    body = out.body
                    continue
                if peeked is not None:
                    counter[1] += len(peeked)
                    r = web.Response(status=upstream_status, reason=resp.reason, body=peeked)
                    _copy_headers(resp, r, keep_length=False)
                    resp.release()
                    return r, upstream_status, upstream_status, ""
            try:
                r2 = await self._stream_back(request, resp, counter, prefix, _where(out))
            finally:
                resp.close()
            return r2, upstream_status, upstream_status, ""

    def _lean_failed(
        self, inc: Incoming, out: Outgoing, exc: UpstreamFailed, may_retry: bool
    ) -> tuple[web.StreamResponse, int, int | None, str] | None:
        """The answer for a failure of the lean client; None = retry the request."""
        m = self.metrics
        kind = exc.kind
        if kind == "body":
            if isinstance(exc.__cause__, _ClientGone):
                return (
                    _reply(Reply.text(400, "client disconnected")),
                    499,
                    None,
                    "client disconnected",
                )
            failed = self._body_failed(inc, exc)
            if failed is not None:
                return failed
            reason = f"sigv4kit: upstream {_where(out)} unreachable: {exc}"
            m.inc("sigv4kit_upstream_errors_total", reason="disconnect")
            return _reply(Reply.text(502, reason)), 502, None, reason
        if kind == "timeout":
            reason = (
                f"sigv4kit: upstream {_where(out)} did not answer within "
                f"{self.config.read_timeout:g} s (read timeout)"
            )
            m.inc("sigv4kit_upstream_errors_total", reason="timeout")
            return _reply(Reply.text(504, reason)), 504, None, reason
        if kind in ("connect", "disconnect") and may_retry:
            return None
        reason = _reason(exc, out)
        m.inc(
            "sigv4kit_upstream_errors_total",
            reason="connect" if kind == "connect" else "disconnect",
        )
        return _reply(Reply.text(502, reason)), 502, None, reason

    def _body_failed(
        self, inc: Incoming, exc: BaseException
    ) -> tuple[web.StreamResponse, int, int | None, str] | None:
        """The service's answer when the outgoing body itself raised (see on_body_error)."""
        cause = _body_cause(exc)
        if cause is None:
            return None
        try:
            reply = self.service.on_body_error(inc, cause)
        except Exception:
            _log.exception("on_body_error failed")
            return None
        if reply is None:
            return None
        return _reply(reply), reply.status, None, f"body failed: {type(cause).__name__}"

    async def _stream_back(
        self,
        request: web.BaseRequest,
        resp: ClientResponse | _up.Response,
        counter: list[int],
        prefix: bytes = b"",
        where: str = "",
    ) -> web.StreamResponse:
        length = resp.content_length
        if length is not None and length <= _PEEK_LIMIT and request.method != "HEAD":
            # Small answers: one read, one write (the 1 KiB GET fast path).
            try:
                data = await resp.read()
            except _BROKE_OFF:
                # Headers not sent yet: an honest 502 is still possible.
                return _reply(Reply.text(502, f"sigv4kit: upstream {where} broke off"))
            r = web.Response(status=resp.status, reason=resp.reason, body=data)
            _copy_headers(resp, r, keep_length=False)
            counter[1] += len(data)
            return r
        sr = web.StreamResponse(status=resp.status, reason=resp.reason)
        _copy_headers(resp, sr, keep_length=True)
        writer = await sr.prepare(request)
        if request.method == "HEAD" or resp.status in (204, 304):
            await sr.write_eof()
            return sr
        # aiohttp holds the status line and headers back until the first body
        # write; a large answer's headers go now, so the client's time to
        # first byte is the upstream's, not the upstream's plus one read.
        send_headers = getattr(writer, "send_headers", None)
        if send_headers is not None and not prefix:
            send_headers()
        content = resp.content
        try:
            if prefix:
                counter[1] += len(prefix)
                await sr.write(prefix)
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                counter[1] += len(chunk)
                await sr.write(chunk)
        except _BROKE_OFF:
            # Upstream broke off mid-answer: close the client connection so
            # it sees a short body as an error, not as the whole object.
            sr.force_close()
            if request.transport is not None:
                request.transport.close()
            return sr
        except (ConnectionError, RuntimeError):
            # Client gone: resp.close() in the caller drops the upstream
            # connection instead of pooling a half-read one.
            return sr
        await sr.write_eof()
        return sr


def _body_cause(exc: BaseException) -> BaseException | None:
    """The exception the outgoing body raised, if that is why sending failed.

    aiohttp wraps it (``ClientConnectionError: Failed to send bytes ...``)
    with the original as cause or context; network errors and client
    disconnects are not body failures.
    """
    seen = 0
    cur: BaseException | None = exc.__cause__ or exc.__context__
    while cur is not None and seen < 8:
        if isinstance(cur, _ClientGone):
            return None
        if not isinstance(cur, (OSError, ClientConnectionError, asyncio.TimeoutError)):
            return cur
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return None


def _where(out: Outgoing) -> str:
    return out.origin.partition("://")[2] or out.origin


def _reason(exc: BaseException, out: Outgoing) -> str:
    detail = ""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        detail = os_error.strerror
    elif isinstance(exc, ServerDisconnectedError) or (
        isinstance(exc, UpstreamFailed) and exc.kind == "disconnect"
    ):
        detail = "connection closed before an answer"
    else:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"sigv4kit: upstream {_where(out)} unreachable: {detail}"


async def _peek(resp: ClientResponse | _up.Response, method: str) -> tuple[bytes | None, bytes]:
    """``(whole body, b"")`` when the error body is at most 64 KiB, else ``(None, prefix)``.

    A chunked answer is read up to the limit; past it, the bytes already
    read (``prefix``) are sent to the client ahead of the rest.
    """
    length = resp.content_length
    if method == "HEAD" or resp.status in (204, 304):
        return None, b""
    if length is not None and length > _PEEK_LIMIT:
        return None, b""
    try:
        if length is not None:
            return await resp.read(), b""
        parts: list[bytes] = []
        held = 0
        while held <= _PEEK_LIMIT:
            chunk = await resp.content.readany()
            if not chunk:
                return b"".join(parts), b""
            parts.append(chunk)
            held += len(chunk)
    except _BROKE_OFF:
        return b"", b""
    return None, b"".join(parts)


def _resp_headers(resp: ClientResponse | _up.Response) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers]


def _copy_headers(
    resp: ClientResponse | _up.Response, r: web.StreamResponse, *, keep_length: bool
) -> None:
    h = r.headers
    for k, v in resp.raw_headers:
        name = k.decode("latin-1")
        ln = name.lower()
        if ln in _RESPONSE_DROP or (not keep_length and ln == "content-length"):
            continue
        h.add(name, v.decode("latin-1"))


def _reply(reply: Reply) -> web.Response:
    r = web.Response(status=reply.status, body=reply.body)
    for n, v in reply.headers:
        r.headers.add(n, v)
    return r


# -- admin -----------------------------------------------------------------------
async def start_admin(host: str, port: int, state: Any) -> tuple[Server, asyncio.Server]:
    """The admin listener: /healthz, /readyz, /metrics.

    ``state()`` returns ``(ready, metrics_text)``.
    """

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path == "/healthz":
            return web.Response(text="ok\n")
        if path == "/readyz":
            ready, _ = state()
            if ready:
                return web.Response(text="ready\n")
            return web.Response(status=503, text="not ready: credentials not resolved yet\n")
        if path == "/metrics":
            _, text = state()
            return web.Response(
                body=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4"}
            )
        return web.Response(status=404, text="not found: try /healthz, /readyz or /metrics\n")

    server = Server(handle, access_log=None)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server, host, port, reuse_address=True)
    return server, listener


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop when installed (kind "auto") or asked for, else asyncio's loop."""
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise RuntimeError(
                    "event loop 'uvloop' asked for but uvloop is not installed: "
                    "pip install uvloop (or sigv4kit[proxy])"
                ) from None
        else:
            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop
    return asyncio.new_event_loop()
