"""The client side of the engine: the listener and its deadlines, the body, the admin listener.

Slow clients.  A client holds a connection, a task and buffers for as long
as it likes unless the server sets limits, and aiohttp's own
(``keepalive_timeout``) only closes a connection that sends *nothing*
between requests.  A client that sends its request line and headers a byte
at a time (slowloris) would keep a connection busy for as long as that
limit, per request.  So each request *head* has a deadline of its own:
``head_timeout`` seconds from the connection's start (first request) or from
the first byte of the head (later requests on a kept-alive connection) to
the end of its headers, however steadily the bytes trickle; past it the
client gets ``408 Request Timeout`` and the connection is closed.  An upload
that stalls is the service's to cut (the gateway answers S3's
``RequestTimeout``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import IO, Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from ..errors import ClientDisconnected
from ._model import Reply

__all__ = [
    "ListenerServer",
    "client_body",
    "new_event_loop",
    "open_log",
    "redact_target",
    "reply",
    "start_admin",
]

_HEAD_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 47\r\n\r\nsigv4kit: request headers not received in time\n"
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


class _HeadDeadline(RequestHandler):
    """aiohttp's connection handler with a deadline for each request head (see the module doc)."""

    __slots__ = ("_head_timeout", "_head_timer")

    def __init__(self, manager: Server, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # Bytes while no request is being handled start a new head.
        if self._head_timer is None and not self._request_in_progress and not self._messages:
            self._arm()
        count = self._request_count
        super().data_received(data)
        if self._request_count != count and self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timeout > 0:
            self._head_timer = self._loop.call_later(self._head_timeout, self._expired)

    def _expired(self) -> None:
        self._head_timer = None
        if self._request_in_progress or self._messages:  # the head made it after all
            return
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(_HEAD_TIMEOUT_ANSWER)
        self.force_close()


class ListenerServer(Server):
    """aiohttp's low-level server whose connections have a head deadline."""

    def __init__(self, handler: Any, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._head_timeout = head_timeout

    def __call__(self) -> RequestHandler:
        return _HeadDeadline(self, loop=self._loop, head_timeout=self._head_timeout, **self._kwargs)


async def client_body(request: web.BaseRequest, counter: list[int]) -> AsyncIterator[bytes]:
    """The client's body, read as the consumer asks for it (``counter[0]``: bytes so far).

    A client that goes away mid-body raises ``ClientDisconnected``, also
    when the connection ends before ``Content-Length`` bytes came: the
    consumer must never take a short body for a whole one.
    """
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
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise ClientDisconnected(f"client disconnected mid-body: {type(exc).__name__}") from exc
        if not chunk:
            break
        counter[0] += len(chunk)
        yield chunk
    if expected is not None and counter[0] < expected:
        raise ClientDisconnected(
            f"client disconnected mid-body ({counter[0]} of {expected} bytes received)"
        )


def reply(answer: Reply) -> web.Response:
    """An aiohttp response for a service's (or the engine's) :class:`Reply`."""
    r = web.Response(status=answer.status, body=answer.body)
    for n, v in answer.headers:
        r.headers.add(n, v)
    return r


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


def open_log(where: str | None) -> IO[str] | None:
    """The access log: None, ``-`` (stderr) or a file appended to, line-buffered."""
    if where is None:
        return None
    if where == "-":
        return sys.stderr
    return open(where, "a", buffering=1, encoding="utf-8")


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
