"""What the ASGI and WSGI middleware share around the
:class:`~sigv4kit.verifier.Verifier`: the request target *as received* (a
server that re-encodes the path would make every signature over an unusual key
fail), the headers the application sees after an aws-chunked upload, and S3's
XML error document for a :class:`~sigv4kit.errors.SignatureError`.  Nothing
here imports an ASGI or WSGI framework.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from ..errors import (
    MissingContentLength,
    SignatureError,
)

if TYPE_CHECKING:
    from ..verifier import Verifier

__all__ = [
    "SCOPE_KEY",
    "Clock",
    "Middleware",
    "MissingContentLength",
    "RequestIdFactory",
    "decoded_headers",
    "error_document",
    "has_body",
    "new_request_id",
    "verified_request",
]

#: Where the middleware puts the :class:`~sigv4kit.verifier.VerifiedRequest`:
#: ``scope["sigv4kit"]`` (ASGI) and ``environ["sigv4kit"]`` (WSGI).
SCOPE_KEY = "sigv4kit"

#: ``() -> aware datetime``: the server's "now" (None reads the system clock).
Clock = Callable[[], datetime]
#: ``() -> str``: an id for ``x-amz-request-id`` and ``<RequestId>``.
RequestIdFactory = Callable[[], str]

log = logging.getLogger("sigv4kit.server")

# Characters left alone when a decoded path has to be re-encoded (no raw
# target available): RFC 3986 pchar plus "/", as HTTP clients send them.
_PATH_SAFE = "/!$&'()*+,;=:@~-._"


def new_request_id() -> str:
    """A random id in S3's style (16 upper-case hex digits)."""
    return os.urandom(8).hex().upper()


def verified_request(scope_or_environ: MutableMapping[str, Any]) -> Any:
    """The :class:`~sigv4kit.verifier.VerifiedRequest` the middleware stored, or None,
    from an ASGI scope or a WSGI environ alike (application code need not know which)."""
    return scope_or_environ.get(SCOPE_KEY)


def quote_path(path: str) -> str:
    """Re-encode a decoded path, for servers that do not keep the raw target (which is
    what the client signed); it matches for every path encoded the usual way."""
    return quote(path, safe=_PATH_SAFE)


def has_body(content_length: str | bytes | None, transfer_encoding: str | bytes | None) -> bool:
    """Whether the request announces a body (RFC 9112 section 6.3)."""
    if transfer_encoding:
        return True
    if content_length is None:
        return False
    text = content_length.decode("latin-1") if isinstance(content_length, bytes) else content_length
    return text.strip() not in ("", "0")


def decoded_headers(
    headers: Iterable[tuple[bytes, bytes]], payload_hash: str
) -> list[tuple[bytes, bytes]] | None:
    """The headers the application should see for an aws-chunked upload, or None.

    ``Content-Length`` becomes the decoded length and ``aws-chunked`` leaves
    ``Content-Encoding`` (S3 strips it too), so frameworks that trust
    ``Content-Length`` (Werkzeug limits ``wsgi.input`` to it) read all of it.
    """
    if not payload_hash.startswith("STREAMING-"):
        return None
    items = list(headers)
    decoded = next(
        (v.strip() for n, v in reversed(items) if n.lower() == b"x-amz-decoded-content-length"),
        None,
    )
    out: list[tuple[bytes, bytes]] = []
    for name, value in items:
        lname = name.lower()
        if lname == b"content-length":
            if decoded is not None:
                out.append((name, decoded))
            continue
        if lname == b"content-encoding":
            codings = [c.strip() for c in value.split(b",")]
            kept = [c for c in codings if c and c.lower() != b"aws-chunked"]
            if kept:
                out.append((name, b",".join(kept)))
            continue
        out.append((name, value))
    if decoded is not None and not any(n.lower() == b"content-length" for n, _ in items):
        out.append((b"content-length", decoded))
    return out


def error_document(
    error: SignatureError, *, request_id: str, method: str, resource: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``(status, headers, body)`` of S3's answer to a failed verification.

    ``x-amz-error-code`` repeats the code so that an answer to ``HEAD`` (no
    body) still says what went wrong.  The debug fields are in the document
    only when the verifier's ``include_debug`` let the error carry them.
    """
    body = b""
    if method != "HEAD":
        xml = error.to_xml(request_id=request_id)
        # S3 puts <Resource> after <Message>; the path is public information.
        close = "</Message>"
        at = xml.find(close)
        if at >= 0 and resource:
            from xml.sax.saxutils import escape

            at += len(close)
            xml = f"{xml[:at]}<Resource>{escape(resource)}</Resource>{xml[at:]}"
        body = xml.encode("utf-8")
    headers = [
        (b"content-type", b"application/xml"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"x-amz-request-id", request_id.encode("ascii")),
        (b"x-amz-error-code", error.code.encode("ascii")),
    ]
    return error.status, headers, body


def resource_of(target: str) -> str:
    """The path part of a request target, for ``<Resource>``."""
    return target.split("?", 1)[0]


App = TypeVar("App")


class Middleware(Generic[App]):
    """What the ASGI and WSGI middleware are made of; each adds its ``__call__``.

    Args:
        app: the application to protect.
        verifier: a :class:`~sigv4kit.verifier.Verifier`.  Its
            ``include_debug`` decides whether ``SignatureDoesNotMatch``
            documents carry the canonical request and string to sign.
        clock: ``() -> aware datetime`` used as the server's "now"; None
            reads the system clock.  Tests use it to replay requests later.
        request_id: ``() -> str`` for ``x-amz-request-id`` on errors.
    """

    __slots__ = ("_clock", "_request_id", "app", "verifier")

    def __init__(
        self,
        app: App,
        verifier: Verifier,
        *,
        clock: Clock | None = None,
        request_id: RequestIdFactory = new_request_id,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self._clock = clock
        self._request_id = request_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.app!r}, {self.verifier!r})"

    def now(self) -> datetime | None:
        """The server's "now" for this request (None: the verifier reads the clock)."""
        return self._clock() if self._clock is not None else None

    def rejection(
        self, exc: SignatureError, method: str, target: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Log a refused request (no secrets: code, key id, request id) and shape S3's answer."""
        request_id = self._request_id()
        resource = resource_of(target)
        log.info(
            "sigv4 rejected %s %s: %s (access key %s, request id %s)",
            method,
            resource,
            exc.code,
            exc.access_key_id or "-",
            request_id,
        )
        return error_document(exc, request_id=request_id, method=method, resource=resource)
