"""ASGI middleware: verify SigV4/SigV4a before the application runs::

    app = SigV4Middleware(app, verifier)           # any ASGI app
    # Starlette / FastAPI: app.add_middleware(SigV4Middleware, verifier=verifier)

The application gets only verified requests (others get S3's XML error
document and status), ``scope["sigv4kit"]`` (the
:class:`~sigv4kit.verifier.VerifiedRequest`) and, through ``receive``, the
decoded body piece by piece, never buffered: each aws-chunked chunk is
released only after its signature verified, with ``Content-Length`` set to
the decoded length.

A body whose check fails at its end makes the last ``receive()`` raise the
:class:`~sigv4kit.errors.SignatureError` instead of reporting the end, so the
application never sees a complete body that failed; if it has not started its
response by then, the error's document replaces whatever it sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from ..errors import IncompleteBody, SignatureError
from ._common import (
    SCOPE_KEY,
    Middleware,
    decoded_headers,
    has_body,
    quote_path,
    verified_request,
)

__all__ = ["SCOPE_KEY", "SigV4Middleware", "verified_request"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_END: Message = {"type": "http.request", "body": b"", "more_body": False}


def _target(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path: str
    if raw:
        path = raw.decode("latin-1")
    else:
        path = quote_path(str(scope.get("root_path", "")) + str(scope.get("path", "/")))
    query: bytes = scope.get("query_string", b"")
    if query:
        return f"{path}?{query.decode('latin-1')}"
    return path


async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The raw request body, as the server delivers it."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IncompleteBody("The client closed the connection before the body ended.")
        data = message.get("body", b"")
        if data:
            yield data
        if not message.get("more_body", False):
            return


class _Exchange:
    """One request's body relay: feeds the verified body to the application."""

    __slots__ = ("body", "done", "failed", "receive", "replied", "started")

    def __init__(self, body: Iterator[bytes] | AsyncIterator[bytes], receive: Receive) -> None:
        self.body = body
        self.receive = receive
        self.done = False
        self.failed: SignatureError | None = None
        self.started = False
        self.replied = False

    async def app_receive(self) -> Message:
        if self.done:
            # The body is over: what is left is the server's disconnect.
            return await self.receive()
        try:
            if isinstance(self.body, Iterator):
                piece = next(self.body)
            else:
                piece = await self.body.__anext__()
        except (StopIteration, StopAsyncIteration):
            self.done = True
            return _END
        except SignatureError as exc:
            self.done = True
            self.failed = exc
            raise
        return {"type": "http.request", "body": piece, "more_body": True}


class SigV4Middleware(Middleware[ASGIApp]):
    """Verify every HTTP (and WebSocket handshake) request with ``verifier``.

    ``SigV4Middleware(app, verifier, *, clock=None, request_id=...)``: the
    arguments of :class:`~sigv4kit.server._common.Middleware`.  ``lifespan``
    and other scope types pass through untouched.
    """

    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET") if kind == "http" else "GET"
        target = _target(scope)
        headers = scope["headers"]
        length = coding = None
        waiting = False
        if kind == "http":
            for name, value in headers:
                if len(name) in (6, 14, 17):
                    lname = name.lower()
                    if lname == b"content-length":
                        length = value
                    elif lname == b"transfer-encoding":
                        coding = value
                    elif lname == b"expect":
                        waiting = value.strip().lower() == b"100-continue"
        streamed = has_body(length, coding)
        try:
            ok = await self.verifier.averify(
                method, target, headers, _request_body(receive) if streamed else b"", self.now()
            )
        except SignatureError as exc:
            # A client waiting for "100 Continue" will not send the body now,
            # and its next request would be read as that body: close, as S3
            # does.  Other unread bodies are discarded by the server.
            close = waiting and streamed
            await self._reject(scope, receive, send, exc, method, target, close=close)
            return
        scope = dict(scope)
        scope[SCOPE_KEY] = ok
        changed = decoded_headers(headers, ok.payload_hash)
        if changed is not None:
            scope["headers"] = changed
        if not streamed:
            await self.app(scope, receive, send)
            return

        exchange = _Exchange(ok.body, receive)

        async def app_send(message: Message) -> None:
            if exchange.failed is not None:
                # The body failed its check: the error replaces whatever
                # the application answers (it may be a framework's 500).
                if message["type"] == "http.response.start" and not exchange.replied:
                    exchange.replied = True
                    await self._reject(scope, receive, send, exchange.failed, method, target)
                return
            if message["type"] == "http.response.start":
                exchange.started = True
            await send(message)

        try:
            await self.app(scope, exchange.app_receive, app_send)
        except Exception:
            if exchange.failed is None:
                raise
            # The application let the body's SignatureError (or what it made
            # of it) escape: answer it if nobody has yet.
        if exchange.failed is not None and not exchange.started and not exchange.replied:
            exchange.replied = True
            await self._reject(scope, receive, send, exchange.failed, method, target)

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exc: SignatureError,
        method: str,
        target: str,
        *,
        close: bool = False,
    ) -> None:
        status, headers, body = self.rejection(exc, method, target)
        if close:
            headers.append((b"connection", b"close"))
        if scope["type"] == "websocket":
            if "websocket.http.response" in scope.get("extensions", {}):
                await send(
                    {"type": "websocket.http.response.start", "status": status, "headers": headers}
                )
                await send({"type": "websocket.http.response.body", "body": body})
                return
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": exc.code})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
