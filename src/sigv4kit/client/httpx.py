"""SigV4 / SigV4a for ``httpx``, sync and async.

::

    import httpx
    from sigv4kit.client.httpx import SigV4Auth

    auth = SigV4Auth(credentials, region="us-east-1", service="s3")
    httpx.Client(auth=auth).get(url)
    await httpx.AsyncClient(auth=auth).put(url, content=async_chunks())

One :meth:`SigV4Auth.auth_flow` generator signs for both clients.  httpx
follows redirects *inside* one auth step, re-sending our headers to the new
location; when that location refuses the request (400/401/403) the flow
signs the last hop for its own URL and method and sends it once more.
``sync_auth_flow`` and ``async_auth_flow`` wrap the flow to do the two
things that are I/O -- fetching credentials from a provider (awaited with
``aget`` in async code, never blocking the loop) and reading the body of a
400/401/403 answer to look for a clock-skew error.

``requires_request_body`` is true only for ``payload="signed"``, the one
mode that must hash the body before sending -- and even then a seekable
file is hashed in pieces and rewound rather than read into memory;
``"unsigned"`` and the streaming modes leave the body a stream (aws-chunked
is encoded a chunk at a time, from sync or async iterators alike).

httpx removes ``.`` and ``..`` segments from URL paths when a request is
built; the adapter signs the path httpx will send and checks, after
setting the signed URL, that httpx sends exactly that.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any

import httpx

from ..credentials import Credentials
from ..errors import SigningError
from ..signer import Signer
from ..streaming import AwsChunkedBody
from ._common import AdapterCore

__all__ = ["SigV4Auth"]

_ERROR_STATUSES = (400, 401, 403)


class _ChunkedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An aws-chunked body as an httpx stream (sync and async)."""

    def __init__(self, body: AwsChunkedBody) -> None:
        self._body = body
        self._used = False

    def _fresh(self) -> AwsChunkedBody:
        # httpx re-sends the same stream when it follows a 307/308 redirect.
        if self._used:
            self._body = self._body.restart()
        self._used = True
        return self._body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._fresh())

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._fresh():
            yield piece


def _seekable_file(request: httpx.Request) -> Any:
    """The file behind ``content=open(...)``, when httpx streams one we can rewind.

    httpx wraps it in an ``IteratorByteStream`` and reads it from the current
    position; hashing it in pieces and seeking back beats reading 5 GiB into
    memory just to hash it.
    """
    inner = getattr(request.stream, "_stream", None)
    try:
        if inner is not None and hasattr(inner, "read") and inner.seekable():
            return inner
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _body_for_signing(request: httpx.Request, streaming: bool) -> tuple[object, bool]:
    """(body to give the Signer, whether it can be sent again)."""
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):
        # In memory already (content=bytes/str, data=, json=): cheap to reuse.
        return request.read(), True
    if streaming:
        f = _seekable_file(request)
        return (f, True) if f is not None else (stream, False)
    return None, False


class SigV4Auth(httpx.Auth):
    """``httpx.Auth`` that signs every request with SigV4 or SigV4a.

    Takes the same arguments as :class:`sigv4kit.client.requests.SigV4Auth`.
    """

    def __init__(
        self,
        signer_or_credentials: Signer | Credentials | Any = None,
        region: str | None = None,
        service: str | None = None,
        *,
        payload: str | None = None,
        correct_clock_skew: bool = True,
        **options: Any,
    ) -> None:
        self.core = AdapterCore(
            signer_or_credentials,
            region,
            service,
            payload=payload,
            correct_clock_skew=correct_clock_skew,
            **options,
        )
        self.requires_request_body = self.core.needs_body_hash

    @property
    def signer(self) -> Signer:
        return self.core.signer

    def __repr__(self) -> str:
        return f"SigV4Auth({self.core.signer!r}, payload={self.core.payload!r})"

    # -- the shared, I/O-free flow --------------------------------------------

    def _apply(self, request: httpx.Request, credentials: Credentials | None) -> bool:
        """Sign ``request`` in place; returns whether it may be sent again."""
        core = self.core
        headers = list(request.headers.multi_items())
        if core.needs_body_hash:
            body: object = _seekable_file(request)
            replayable = body is not None
            if body is None:
                try:
                    body = request.content
                except httpx.RequestNotRead:
                    body = request.read()
                replayable = True
            else:
                replayable = False  # httpx does not rewind it for a second send
        elif core.streaming:
            body, replayable = _body_for_signing(request, True)
            length = request.headers.get("content-length")
            if (
                not isinstance(body, bytes)
                and length is not None
                and "x-amz-decoded-content-length" not in request.headers
            ):
                # httpx measured the file it will read: that is the decoded length.
                headers.append(("X-Amz-Decoded-Content-Length", length))
                headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
        else:
            body = None
            replayable = isinstance(request.stream, httpx.ByteStream)
        signed = core.sign(request.method, str(request.url), headers, body, credentials=credentials)
        url = httpx.URL(signed.url)
        wanted = signed.url.split("://", 1)[1]
        wanted = wanted[wanted.find("/") :] if "/" in wanted else "/"
        if url.raw_path.decode("ascii") != wanted:
            raise SigningError(
                f"httpx would send the request target {url.raw_path.decode('ascii')!r}, "
                f"not the signed {wanted!r}; pass the URL already percent-encoded"
            )
        request.url = url
        request.headers = httpx.Headers(list(signed.headers))
        if core.streaming:
            request.stream = _ChunkedStream(signed.body)
        return replayable

    def _flow(
        self, request: httpx.Request, credentials: Credentials | None
    ) -> Generator[httpx.Request, httpx.Response, None]:
        original_headers = httpx.Headers(request.headers)
        original_stream = request.stream
        replayable = self._apply(request, credentials)
        sent_stream = request.stream
        response = yield request
        if response.status_code not in _ERROR_STATUSES:
            return
        if response.history:
            # httpx followed redirects inside this one auth step, re-using our
            # headers; the last hop was refused, so sign it for its own URL.
            hop = response.request
            if hop.stream is sent_stream and sent_stream is not original_stream:
                if not replayable:
                    return
                hop.stream = original_stream
            self._apply(hop, credentials)
            yield hop
            return
        if not replayable:
            return
        try:
            body = response.content
        except httpx.ResponseNotRead:
            body = b""
        if not self.core.learn_skew(response.status_code, response.headers.get("date"), body):
            return
        request.headers = original_headers
        request.stream = original_stream
        self._apply(request, credentials)
        yield request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign for ``Client`` and ``AsyncClient`` alike (credentials from the Signer)."""
        return self._flow(request, None)

    # -- I/O wrappers -----------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self.requires_request_body and _seekable_file(request) is None:
            request.read()
        flow = self._flow(request, None)
        request = next(flow)
        while True:
            response = yield request
            if response.status_code in _ERROR_STATUSES:
                response.read()
            try:
                request = flow.send(response)
            except StopIteration:
                break

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.requires_request_body and _seekable_file(request) is None:
            await request.aread()
        credentials = await self.core.acredentials()
        if self.requires_request_body and _seekable_file(request) is not None:
            # Hashing a file reads it: do that in a thread, off the event loop.
            import asyncio

            flow = self._flow(request, credentials)
            request = await asyncio.to_thread(next, flow)
        else:
            flow = self._flow(request, credentials)
            request = next(flow)
        while True:
            response = yield request
            if response.status_code in _ERROR_STATUSES:
                await response.aread()
            try:
                request = flow.send(response)
            except StopIteration:
                break
