"""SigV4 / SigV4a for ``aiohttp``, as a client middleware (aiohttp >= 3.12)::

    sigv4 = SigV4Middleware(credentials, region="us-east-1", service="s3")
    async with aiohttp.ClientSession(middlewares=(sigv4,)) as session:
        async with session.put(url, data=open("big.bin", "rb")) as resp: ...

aiohttp follows redirects itself and passes every hop through the middleware,
so each hop is signed for its own URL and method; the middleware decides
where credentials may go (``docs/clients.md``).  A hop is recognised as one
because the middleware saw its 3xx just before, in the same task (a context
variable), and it belongs to the same ``session.request()`` call (see
:func:`_call_marker`).

For ``payload="signed"`` the payload writes itself into a hash (aiohttp reads
files in a thread and re-reads them when sending); the streaming modes pull
the payload through a small bounded queue into the aws-chunked encoder, and
the caller's payload is put back afterwards so aiohttp can replay it on a
307/308.
"""

from __future__ import annotations

import asyncio
import hashlib
import warnings
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
from aiohttp import payload as _payload
from multidict import CIMultiDict
from yarl import URL

from ..credentials import Credentials
from ..errors import SigningError
from ._common import (
    ERROR_STATUSES,
    REDIRECT_STATUSES,
    STREAMING_MODES,
    Adapter,
)

__all__ = ["SigV4Middleware"]


class _HashWriter:
    """Stands in for aiohttp's stream writer to hash a payload without keeping it."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self.hash.update(chunk)


class _QueueWriter:
    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._queue = queue

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        if chunk:
            await self._queue.put(bytes(chunk))


async def _payload_pieces(body: _payload.Payload) -> AsyncIterator[bytes]:
    """The bytes of ``body`` as an async iterator, with at most two pieces buffered."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=2)

    async def pump() -> None:
        try:
            await body.write(cast("Any", _QueueWriter(queue)))
        finally:
            await queue.put(None)

    task = asyncio.create_task(pump())
    try:
        while True:
            piece = await queue.get()
            if piece is None:
                break
            yield piece
        await task
    finally:
        if not task.done():
            task.cancel()


def _is_one_shot(body: _payload.Payload) -> bool:
    return isinstance(body, _payload.AsyncIterablePayload) or body.consumed


def _hashable(body: _payload.Payload) -> bool:
    """Whether writing ``body`` into a hash leaves it able to be sent.

    Bytes are; a file payload rewinds itself if it is seekable -- aiohttp
    knows its size then.  A pipe, a stream or an async iterable has no size
    and would be consumed by the hashing.
    """
    if isinstance(body, _payload.BytesPayload):
        return True
    return not _is_one_shot(body) and body.size is not None


def _request_body(req: aiohttp.ClientRequest) -> _payload.Payload | None:
    body = req.body  # public: the Payload, or b"" for none
    return body if isinstance(body, _payload.Payload) else None


#: Set False to use only public aiohttp API for bodies (tests exercise both).
_PRIVATE_BODY = True


def _set_body(req: aiohttp.ClientRequest, body: _payload.Payload | None) -> None:
    """Put ``body`` on ``req`` without closing the payload it replaces.

    Through the private ``_body``: the public ``update_body()`` would close the
    caller's file, which the encoder is still reading and a redirect may
    replay.  Without it, ``update_body_from_data()`` (its warning silenced).
    """
    if _PRIVATE_BODY:
        try:
            req._body = body
        except AttributeError:  # pragma: no cover - a future aiohttp with a read-only body
            pass
        else:
            if _request_body(req) is body:
                return
    with warnings.catch_warnings():
        # "unclosed resources": the caller's payload is closed by aiohttp
        # when the whole call ends, which is what we want.
        warnings.simplefilter("ignore", ResourceWarning)
        req.update_body_from_data(body)


def _call_marker(req: aiohttp.ClientRequest) -> object | None:
    """An object aiohttp keeps per ``session.request()`` call, shared by its hops.

    ``ClientRequest._timer`` is private; ``None`` makes hops match by URL.
    """
    return getattr(req, "_timer", None)


@dataclass(frozen=True)
class _Pending:
    """A redirect this middleware returned to aiohttp, which may follow it next."""

    owner: SigV4Middleware
    marker: object | None
    location: URL | None
    from_url: URL
    first_url: URL
    signed: bool


_PENDING: ContextVar[_Pending | None] = ContextVar("sigv4kit_aiohttp_redirect", default=None)


def _location(resp: aiohttp.ClientResponse, url: URL) -> URL | None:
    raw = resp.headers.get("Location") or resp.headers.get("URI")
    if raw is None:
        return None
    try:
        loc = URL(raw)
    except ValueError:
        return None
    if not loc.is_absolute():
        loc = url.join(loc)
    return loc.with_fragment(None)


class SigV4Middleware(Adapter):
    """aiohttp client middleware that signs every request with SigV4 or SigV4a.

    Takes the arguments of :class:`~sigv4kit.client._common.AdapterCore`;
    aiohttp's own ``allow_redirects`` and ``max_redirects`` decide whether and
    how far redirects are followed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not hasattr(aiohttp, "ClientMiddlewareType"):  # client middlewares came with 3.12
            raise SigningError(
                f"aiohttp {aiohttp.__version__} has no client middlewares; "
                "upgrade to aiohttp 3.12 or later"
            )
        super().__init__(*args, **kwargs)

    async def _apply(
        self,
        req: aiohttp.ClientRequest,
        credentials: Credentials,
        headers: list[tuple[str, str]],
        body: _payload.Payload | None,
        mode: str,
    ) -> None:
        core = self.core
        streaming = mode in STREAMING_MODES
        sign_body: object = None
        payload_mode: str | None = mode
        if mode == "signed" and body is not None:
            if not _hashable(body):
                raise SigningError(
                    "payload='signed' must hash the body before sending it, and this body is a "
                    "one-shot stream (an async iterable, a pipe or another response's content): "
                    "hashing it would consume it. Use payload='unsigned' (UNSIGNED-PAYLOAD), a "
                    "streaming mode (payload='streaming'), a precomputed SHA-256 as payload=, or "
                    "pass bytes or a seekable file"
                )
            if isinstance(body, _payload.BytesPayload):
                sign_body = await body.as_bytes()
            else:
                writer = _HashWriter()
                await body.write(cast("Any", writer))
                if body.consumed:
                    raise SigningError(
                        "the body could not be rewound after hashing it; use payload='unsigned' "
                        "or a streaming mode"
                    )
                payload_mode = writer.hash.hexdigest()
        elif streaming:
            if body is not None:
                size = body.size
                names = {n.lower() for n, _ in headers}
                if size is not None and "x-amz-decoded-content-length" not in names:
                    headers = [*headers, ("X-Amz-Decoded-Content-Length", str(size))]
                headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
                sign_body = _payload_pieces(body)
            else:
                # No body (a GET after a 303, say): nothing to decode.
                headers = [
                    (n, v) for n, v in headers if n.lower() != "x-amz-decoded-content-length"
                ]
                sign_body = b""
        signed = core.sign(
            req.method,
            str(req.url),
            headers,
            sign_body,
            credentials=credentials,
            payload=payload_mode,
        )
        req.url = URL(signed.url, encoded=True)  # yarl then sends it as it was signed
        if streaming:
            # Pieces (framing, then data uncopied): StreamWriter.write takes memoryviews.
            _set_body(req, _payload.AsyncIterablePayload(signed.body.apieces()))
            req.chunked = None
        req.headers = CIMultiDict(signed.headers)

    def _hop_of(self, req: aiohttp.ClientRequest) -> _Pending | None:
        """The redirect ``req`` follows, if aiohttp built it from one we returned."""
        pending = _PENDING.get()
        if pending is None or pending.owner is not self:
            return None
        _PENDING.set(None)
        marker = _call_marker(req)
        if marker is not None or pending.marker is not None:
            return pending if marker is pending.marker else None
        return pending if pending.location == req.url.with_fragment(None) else None

    async def __call__(
        self,
        req: aiohttp.ClientRequest,
        handler: aiohttp.ClientHandlerType,
    ) -> aiohttp.ClientResponse:
        hop = self._hop_of(req)
        if hop is None:
            first_url = req.url
            sign = True
        else:
            first_url = hop.first_url
            sign = hop.signed and self.core.redirects.may_sign(
                str(first_url), str(hop.from_url), str(req.url)
            )
        if sign:
            resp = await self._send_signed(req, handler)
        else:
            # aiohttp built this hop from the caller's headers and payload:
            # nothing of ours to take off, nothing to add.
            resp = await handler(req)
        if resp.status in REDIRECT_STATUSES:
            _PENDING.set(
                _Pending(
                    self, _call_marker(req), _location(resp, req.url), req.url, first_url, sign
                )
            )
        return resp

    async def _send_signed(
        self, req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        credentials = await self.core.acredentials()
        headers = list(req.headers.items())
        original_url = req.url
        body = _request_body(req)
        replayable = body is None or not _is_one_shot(body)
        mode = self.core.payload
        if replayable and body is not None:
            mode, headers = self.core.plan_for(str(original_url), headers)
        await self._apply(req, credentials, headers, body, mode)
        skew = self.core.correct_clock_skew
        try:
            resp = await handler(req)
            # A skew retry, then (once) a mode change: replayable bodies only.
            while replayable and (
                (skew and resp.status in ERROR_STATUSES)
                or (body is not None and resp.status >= 400)
            ):
                retry = self.core.retry(
                    str(original_url),
                    mode,
                    (resp.status, resp.headers.get("Date"), await resp.read()),
                    headers,
                    skew=skew,
                    refusal=body is not None,
                )
                if retry is None:
                    break
                resp.release()
                mode, headers = retry.mode, retry.headers
                req.url = original_url
                _set_body(req, body)
                await self._apply(req, credentials, headers, body, mode)
                resp = await handler(req)
                if not retry.skew:
                    break
                skew = False
        finally:
            # Give aiohttp the caller's payload back for a possible redirect replay.
            _set_body(req, body)
        return resp
