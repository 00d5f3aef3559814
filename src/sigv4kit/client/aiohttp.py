"""SigV4 / SigV4a for ``aiohttp``, as a client middleware (aiohttp >= 3.12).

::

    import aiohttp
    from sigv4kit.client.aiohttp import SigV4Middleware

    sigv4 = SigV4Middleware(credentials, region="us-east-1", service="s3")
    async with aiohttp.ClientSession(middlewares=(sigv4,)) as session:
        async with session.put(url, data=open("big.bin", "rb")) as resp: ...

aiohttp calls the middleware for every request it sends, redirect hops
included (each hop is a new request built from the caller's headers), so
every hop is signed for its own URL.  The middleware:

* resolves credentials with the provider's ``aget`` (never blocking the
  loop);
* for ``payload="signed"`` hashes the body by letting the payload write
  itself into a hash -- files are read a block at a time in a thread by
  aiohttp, then re-read from the same position when sent;
* for the streaming modes replaces the body with its aws-chunked encoding,
  pulling the original payload through a small bounded queue (two chunks in
  flight), and puts the original payload back after sending, so aiohttp can
  replay it on a 307/308 redirect;
* sets the signed URL with ``encoded=True`` so yarl sends it unchanged;
* on ``RequestTimeTooSkewed`` learns the server's clock, re-signs and sends
  once more (replayable bodies only).

aiohttp before 3.12 has no client middlewares; ``SigV4Middleware`` raises
a clear error there.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
from aiohttp import payload as _payload
from multidict import CIMultiDict
from yarl import URL

from ..credentials import Credentials
from ..errors import SigningError
from ..signer import Signer
from ._common import AdapterCore

__all__ = ["SigV4Middleware"]

_ERROR_STATUSES = (400, 401, 403)


def _supports_middlewares() -> bool:
    parts = aiohttp.__version__.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (3, 12)
    except (ValueError, IndexError):  # pragma: no cover - odd version strings
        return True


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


class SigV4Middleware:
    """aiohttp client middleware that signs every request with SigV4 or SigV4a.

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
        if not _supports_middlewares():
            raise SigningError(
                f"aiohttp {aiohttp.__version__} has no client middlewares; "
                "upgrade to aiohttp 3.12 or later"
            )
        self.core = AdapterCore(
            signer_or_credentials,
            region,
            service,
            payload=payload,
            correct_clock_skew=correct_clock_skew,
            **options,
        )

    @property
    def signer(self) -> Signer:
        return self.core.signer

    def __repr__(self) -> str:
        return f"SigV4Middleware({self.core.signer!r}, payload={self.core.payload!r})"

    async def _apply(
        self,
        req: aiohttp.ClientRequest,
        credentials: Credentials,
        headers: list[tuple[str, str]],
        body: _payload.Payload | None,
    ) -> None:
        core = self.core
        sign_body: object = None
        payload_mode: str | None = None
        if core.needs_body_hash and body is not None:
            if _is_one_shot(body):
                raise SigningError(
                    "the body is a one-shot async iterable: hashing it would consume it before "
                    "it is sent. Use payload='unsigned' or a streaming mode"
                )
            if isinstance(body, _payload.BytesPayload):
                sign_body = await body.as_bytes()
            else:
                writer = _HashWriter()
                await body.write(cast("Any", writer))
                payload_mode = writer.hash.hexdigest()
        elif core.streaming:
            if body is not None:
                size = body.size
                names = {n.lower() for n, _ in headers}
                if size is not None and "x-amz-decoded-content-length" not in names:
                    headers = [*headers, ("X-Amz-Decoded-Content-Length", str(size))]
                headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
                sign_body = _payload_pieces(body)
            else:
                sign_body = b""
        signed = core.sign(
            req.method,
            str(req.url),
            headers,
            sign_body,
            credentials=credentials,
            payload=payload_mode,
        )
        req.url = URL(signed.url, encoded=True)
        if core.streaming:
            # Not update_body(): it would close the caller's payload (their
            # file), which the encoder is reading and a redirect may replay.
            req._body = _payload.AsyncIterablePayload(signed.body)
            req.chunked = None
        req.headers = CIMultiDict(signed.headers)

    async def __call__(
        self,
        req: aiohttp.ClientRequest,
        handler: aiohttp.ClientHandlerType,
    ) -> aiohttp.ClientResponse:
        credentials = await self.core.acredentials()
        headers = list(req.headers.items())
        original_url = req.url
        body = req._body if isinstance(req._body, _payload.Payload) else None
        replayable = body is None or not _is_one_shot(body)
        await self._apply(req, credentials, headers, body)
        try:
            resp = await handler(req)
            if replayable and resp.status in _ERROR_STATUSES and self.core.correct_clock_skew:
                data = await resp.read()
                if self.core.learn_skew(resp.status, resp.headers.get("Date"), data):
                    resp.release()
                    req.url = original_url
                    req._body = body
                    await self._apply(req, credentials, headers, body)
                    resp = await handler(req)
        finally:
            # Give aiohttp its own payload back for a possible redirect replay.
            req._body = body
        return resp
