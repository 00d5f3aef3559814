"""The values the engine and a service exchange: pure data, no I/O.

A :class:`Service` sees each client request as an :class:`Incoming` and
answers with either a :class:`Reply` (the engine sends it to the client and
nothing goes upstream) or an :class:`Outgoing` (the engine sends it upstream
and streams the answer back).  Keeping these plain lets the proxy's and the
gateway's decisions be tested without sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HOP_BY_HOP",
    "IDEMPOTENT_METHODS",
    "Incoming",
    "Outgoing",
    "Reply",
    "Service",
    "UpstreamAnswer",
    "end_to_end",
]

Headers = list[tuple[str, str]]

# RFC 9110 7.6.1: these describe one connection, not the message, so a proxy
# consumes them and never forwards them.  ``Proxy-Connection`` is the
# non-standard one old clients still send.  Headers named in a
# ``Connection`` header are hop-by-hop too (see end_to_end).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# RFC 9110 9.2.2: sending these twice has the effect of sending them once,
# so the engine may retry them after a connection failure.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


def end_to_end(headers: Headers, also_drop: frozenset[str] = frozenset()) -> Headers:
    """``headers`` without hop-by-hop fields (and without ``also_drop``, lower-case)."""
    extra: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            extra.update(t.strip().lower() for t in value.split(",") if t.strip())
    return [
        (n, v)
        for n, v in headers
        if (ln := n.lower()) not in HOP_BY_HOP and ln not in extra and ln not in also_drop
    ]


async def _no_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


@dataclass(eq=False)
class Incoming:
    """One request as the client sent it.

    Attributes:
        method: the request method, as sent.
        target: the request target exactly as received (``/path?query``);
            never decoded or normalized, so keys and query bytes survive.
        headers: every header in order, repeated names kept, hop-by-hop
            fields included (use :func:`end_to_end` to drop them).
        body: the body as an async iterator of chunks.  Reading it applies
            backpressure to the client; chunked transfer encoding is already
            removed.  It can be iterated once.
        content_length: the declared length, or None (chunked or no body).
        remote: the client's address, for logs.
        scheme: ``"http"`` or ``"https"`` (the listener's).
        log: extra fields for this request's access-log line (no secrets).
        state: free per-request storage for the service.

    :meth:`defer` registers clean-up to run once the response has ended.
    """

    method: str
    target: str
    headers: Headers
    body: AsyncIterator[bytes] = field(default_factory=_no_body)
    content_length: int | None = None
    remote: str = ""
    scheme: str = "http"
    log: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def defer(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the response ended (or failed): e.g. delete a spool."""
        self.cleanups.append(callback)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        ln = name.lower()
        for n, v in self.headers:
            if n.lower() == ln:
                return v
        return None

    @property
    def host(self) -> str:
        return self.header("host") or ""

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def has_body(self) -> bool:
        if self.content_length is not None:
            return self.content_length > 0
        return any(n.lower() == "transfer-encoding" for n, _ in self.headers)


@dataclass(eq=False)
class Outgoing:
    """The request the engine sends upstream.

    Attributes:
        method: the method to send.
        origin: ``scheme://host[:port]`` of the upstream.
        target: the request target to put on the request line, sent as is.
        headers: the headers to send, in order (include ``Host``; the
            engine adds nothing but ``Content-Length`` or chunked framing).
        body: None, bytes, or an async iterable of chunks.  A body with
            ``Content-Length`` in ``headers`` is sent with that length;
            otherwise an iterable goes chunked.
        reopen: for a body that is an iterable, a function returning a
            fresh iterable over the same bytes; it makes the request
            replayable (retried once after a connection failure when the
            method is idempotent).  Bytes bodies are always replayable.
    """

    method: str
    origin: str
    target: str
    headers: Headers
    body: bytes | AsyncIterable[bytes] | None = None
    reopen: Callable[[], AsyncIterable[bytes]] | None = None

    @property
    def replayable(self) -> bool:
        return self.body is None or isinstance(self.body, bytes) or self.reopen is not None

    @property
    def url(self) -> str:
        return self.origin + self.target


@dataclass(eq=False)
class Reply:
    """An answer the service gives the client itself (an error, a refusal)."""

    status: int
    body: bytes = b""
    headers: Headers = field(default_factory=list)

    @classmethod
    def text(cls, status: int, message: str) -> Reply:
        """A one-line ``text/plain`` answer."""
        return cls(
            status,
            (message.rstrip("\n") + "\n").encode("utf-8", "replace"),
            [("Content-Type", "text/plain; charset=utf-8")],
        )


@dataclass(eq=False)
class UpstreamAnswer:
    """The start of an upstream error answer, shown to :meth:`Service.on_response`.

    ``body`` holds the error body when it is small (at most 64 KiB), else
    ``b""``; the engine still forwards it intact when no retry is asked for.
    """

    status: int
    headers: Headers
    body: bytes


class Service:
    """What a proxy or gateway plugs into the engine; override what you need.

    One instance per worker process, created in that process by the factory
    given to :func:`sigv4kit.forward.serve`.
    """

    async def startup(self) -> None:
        """Called once the worker's event loop runs, before the listener opens."""

    async def shutdown(self) -> None:
        """Called after the listener drained."""

    def ready(self) -> bool:
        """``/readyz`` answers 200 once this is true."""
        return True

    async def handle(self, request: Incoming) -> Outgoing | Reply:
        """Decide what to do with one request."""
        raise NotImplementedError

    def on_body_error(self, request: Incoming, error: BaseException) -> Reply | None:
        """The :attr:`Outgoing.body` iterator raised ``error`` while it was sent.

        The engine has already aborted the upstream request (its connection
        is closed, never pooled), so the upstream saw an incomplete request.
        Return the answer for the client -- a verifying gateway answers a
        payload whose hash failed at its end with S3's error, not with 502 --
        or None for the engine's 502.  Not called for client disconnects.
        """
        return None

    def on_upstream_error(self, request: Incoming, status: int, reason: str) -> Reply | None:
        """The engine's own 502 (upstream unreachable) or 504 (upstream silent).

        ``reason`` is the engine's one-line explanation (it names the
        upstream, never a secret).  Return the answer for the client -- a
        gateway speaks S3's XML errors -- or None for the engine's plain
        text (what the proxy answers).  Not called for upstream answers,
        whatever their status.
        """
        return None

    async def on_response(
        self, request: Incoming, sent: Outgoing, answer: UpstreamAnswer
    ) -> Outgoing | None:
        """Seen for each upstream answer with status >= 400 before it is forwarded.

        Return a new :class:`Outgoing` to send instead (once per request:
        the answer to the retry is forwarded whatever it is), or None to
        forward this answer.  The default forwards.
        """
        return None
