"""WSGI middleware: verify SigV4/SigV4a before the application runs::

    app.wsgi_app = SigV4Middleware(app.wsgi_app, verifier)      # Flask
    application = SigV4Middleware(application, verifier)        # any WSGI callable

The application gets only verified requests (others get S3's XML error
document), ``environ["sigv4kit"]`` (the
:class:`~sigv4kit.verifier.VerifiedRequest`) and, as ``wsgi.input``, the
decoded body as it arrives, each aws-chunked chunk released only after its
signature verified, with ``CONTENT_LENGTH`` set to the decoded length so that
frameworks which trust it (Werkzeug does) read all of it.

A body whose check fails makes ``read()`` raise the
:class:`~sigv4kit.errors.SignatureError`; the middleware then answers with the
error's document instead of the application's response (it holds the
application's ``start_response`` until the first piece of the response body,
as WSGI allows, so even a framework's 500 page is replaced).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from types import TracebackType
from typing import Any, Protocol, cast

from ..errors import SignatureError
from ._common import (
    SCOPE_KEY,
    Middleware,
    MissingContentLength,
    decoded_headers,
    has_body,
    quote_path,
    verified_request,
)

__all__ = ["SCOPE_KEY", "SigV4Middleware", "VerifiedInput", "verified_request"]

_READ_SIZE = 1 << 16
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
Environ = dict[str, Any]


class StartResponse(Protocol):
    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = ...,
        /,
    ) -> Callable[[bytes], object]: ...


WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def _target(environ: Environ) -> str:
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        return str(raw)
    # PEP 3333 strings are bytes decoded as latin-1: undo that, then re-encode.
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    target = quote_path(path.decode("utf-8", "surrogateescape"))
    query = environ.get("QUERY_STRING", "")
    return f"{target}?{query}" if query else target


def _headers(environ: Environ) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            if not value:
                continue
            name = key.replace("_", "-").lower()
        else:
            continue
        out.append((name.encode("latin-1"), str(value).encode("latin-1")))
    return out


def _read_input(stream: Any, length: int | None) -> Iterator[bytes]:
    """``wsgi.input`` in pieces: ``length`` bytes, or to EOF when it is None."""
    left = length
    while left is None or left > 0:
        piece = stream.read(_READ_SIZE if left is None else min(_READ_SIZE, left))
        if not piece:
            return
        if left is not None:
            left -= len(piece)
        yield piece


class _Pieces(io.RawIOBase):
    """The verified body's pieces as a raw stream; remembers the check that failed."""

    def __init__(self, body: Iterator[bytes]) -> None:
        self.body = body
        self.left = memoryview(b"")
        self.failed: SignatureError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.left:
            try:
                self.left = memoryview(next(self.body))
            except StopIteration:
                return 0
            except SignatureError as exc:
                self.body, self.failed = iter(()), exc
                raise
        n = min(len(buffer), len(self.left))
        buffer[:n] = self.left[:n]
        self.left = self.left[n:]
        return n


class VerifiedInput(io.BufferedReader):
    """A read-only binary stream over the verified body (``wsgi.input``).

    ``read()`` raises the :class:`~sigv4kit.errors.SignatureError` of a body
    that fails its check, at the point where the check fails (the end, for a
    payload hash; the bad chunk, for aws-chunked).
    """

    raw: _Pieces

    def __init__(self, body: Iterator[bytes]) -> None:
        super().__init__(_Pieces(body), _READ_SIZE)

    @property
    def failed(self) -> SignatureError | None:
        return self.raw.failed

    def close(self) -> None:
        # An application closing its input ends the body; it stays readable.
        self.raw.body = iter(())


class SigV4Middleware(Middleware[WSGIApp]):
    """Verify every request with ``verifier`` (with a sync credential lookup) before ``app``.

    ``SigV4Middleware(app, verifier, *, clock=None, request_id=...)``: the
    arguments of :class:`~sigv4kit.server._common.Middleware`.
    """

    __slots__ = ()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        target = _target(environ)
        headers = _headers(environ)
        length_text = environ.get("CONTENT_LENGTH") or None
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower().endswith("chunked")
        streamed = has_body(length_text, "chunked" if chunked else None)
        body: Any = b""
        try:
            if streamed:
                length: int | None = None
                if chunked:
                    if not environ.get("wsgi.input_terminated"):
                        raise MissingContentLength(
                            "This WSGI server does not delimit chunked request bodies "
                            "(no wsgi.input_terminated); send Content-Length."
                        )
                elif str(length_text).strip().isdigit():
                    length = int(str(length_text).strip())
                else:
                    raise MissingContentLength(f"Content-Length {length_text!r} is not a number.")
                body = _read_input(environ["wsgi.input"], length)
            ok = self.verifier.verify(method, target, headers, body, self.now())
        except SignatureError as exc:
            # An unread body would call for "Connection: close", which is
            # hop-by-hop and not the application's to set: the server drains
            # or closes (Werkzeug, gunicorn and mod_wsgi do).
            return self._reject(start_response, exc, method, target)

        environ[SCOPE_KEY] = ok
        changed = decoded_headers(headers, ok.payload_hash)
        if changed is not None:
            fields = dict(changed)  # one of each: the names come from this environ
            environ.pop("HTTP_CONTENT_ENCODING", None)
            if b"content-encoding" in fields:
                environ["HTTP_CONTENT_ENCODING"] = fields[b"content-encoding"].decode("latin-1")
            if b"content-length" in fields:
                environ["CONTENT_LENGTH"] = fields[b"content-length"].decode("latin-1")
            if "CONTENT_LENGTH" in environ:
                environ.pop("HTTP_TRANSFER_ENCODING", None)
        if not streamed:
            return self.app(environ, start_response)

        stream = VerifiedInput(cast("Iterator[bytes]", ok.body))
        environ["wsgi.input"] = stream
        # It ends with b"" at the body's end, whatever CONTENT_LENGTH says.
        environ["wsgi.input_terminated"] = True
        return self._relay(environ, start_response, stream, method, target)

    def _relay(
        self,
        environ: Environ,
        start_response: StartResponse,
        stream: VerifiedInput,
        method: str,
        target: str,
    ) -> Iterator[bytes]:
        """Run the app, holding its ``start_response`` until its first body piece."""
        held: list[Any] = []
        sent = False

        def hold(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None and sent:
                raise exc_info[1].with_traceback(exc_info[2])
            held[:] = [status, headers, exc_info]

            def write(data: bytes) -> object:
                return release()(data)

            return write

        def release() -> Callable[[bytes], object]:
            nonlocal sent
            sent = True
            return start_response(held[0], held[1], held[2])

        result: Iterable[bytes] | None = None
        it: Iterator[bytes] = iter(())
        try:
            try:
                result = self.app(environ, hold)
                it = iter(result)
                first = b""
                for first in it:
                    if first:
                        break
            except Exception:
                if stream.failed is None:
                    raise
                first = b""
            if stream.failed is not None:
                if not sent:
                    yield from self._reject(start_response, stream.failed, method, target)
                return
            if not sent:
                release()
            if first:
                yield first
            yield from it
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _reject(
        self,
        start_response: StartResponse,
        exc: SignatureError,
        method: str,
        target: str,
    ) -> list[bytes]:
        status, headers, body = self.rejection(exc, method, target)
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
        )
        return [body]
