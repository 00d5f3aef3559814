"""The payload plan and its body checks: hashes, lengths, spooling, aws-chunked decoding."""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, BinaryIO, cast

from ..config import ALGORITHM_V4, ALGORITHM_V4A
from ..errors import (
    IncompleteBody,
    InvalidArgument,
    InvalidRequest,
    SigningError,
    XAmzContentSHA256Mismatch,
)
from ..keys import signing_key
from ..modes import STREAMING_EVENTS_PAYLOAD, STREAMING_LITERALS
from ..payload import _as_bytes as _piece
from ..payload import read_pieces
from ._common import _EMPTY, UNSIGNED_PAYLOAD, _compare, _sha256
from .auth import _Auth
from .keys import _Key

_READ_SIZE = 1 << 16
_SPOOL_MEMORY = 1 << 20
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_SHA256_VALUES_MESSAGE = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-EVENTS or a valid sha256 value."
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .verifier import Verifier


# -- body checks (sans-IO) ------------------------------------------------
# Received pieces smaller than this have the data they release joined (one
# copy) rather than yielded one by one (a generator step each).
_JOIN_BELOW = 8192


class _Check:
    """A body check: ``feed(piece)`` returns what may be released now and
    ``finish()`` the rest, or raises; :meth:`run` and :meth:`arun` drive it
    over a sync or an async body."""

    __slots__ = ()

    def feed(self, data: bytes) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        raise NotImplementedError

    def run(self, source: Iterator[bytes]) -> Iterator[bytes]:
        for piece in source:
            out = self.feed(piece)
            if out:
                yield out
        out = self.finish()
        if out:
            yield out

    async def arun(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for piece in source:
            out = self.feed(piece)
            if out:
                yield out
        out = self.finish()
        if out:
            yield out


class _PayloadCheck(_Check):
    """Releases body data as it comes, holding back the last piece until
    ``finish()`` has checked the payload hash and the byte count.  With
    ``expected=None`` nothing is hashed (UNSIGNED-PAYLOAD)."""

    __slots__ = ("_count", "_declared", "_expected", "_hash", "_held")

    def __init__(self, expected: str | None, declared_length: int | None) -> None:
        self._expected = expected
        self._hash = _sha256() if expected is not None else None
        self._held = b""
        self._count = 0
        self._declared = declared_length

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._count += len(data)
        if self._declared is not None and self._count > self._declared:
            raise IncompleteBody(
                f"The request body is longer than its Content-Length ({self._declared})."
            )
        if self._hash is None:
            return data
        self._hash.update(data)
        out, self._held = self._held, data
        return out

    def finish(self) -> bytes:
        if self._declared is not None and self._count != self._declared:
            raise IncompleteBody(
                details={"ExpectedLength": str(self._declared), "ReceivedLength": str(self._count)}
            )
        if self._hash is not None:
            computed, claimed = self._hash.hexdigest(), cast("str", self._expected)
            if not _compare(computed, claimed.lower()):
                raise XAmzContentSHA256Mismatch(
                    details={
                        "ClientComputedContentSHA256": claimed,
                        "S3ComputedContentSHA256": computed,
                    }
                )
        out, self._held = self._held, b""
        return out


def _bad_content_sha256(message: str, value: str) -> InvalidArgument:
    return InvalidArgument(
        message, details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value}
    )


def _take_body(state: _Auth, body: object) -> None:
    """Where the body comes from: bytes at hand, a sync source or an async one."""
    if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
        state.body_bytes = b"" if body is None else _piece(body)
        return
    read = getattr(body, "read", None)
    if read is not None and not inspect.iscoroutinefunction(read):
        state.source = _read_file(cast("BinaryIO", body))
    elif isinstance(body, Iterable):
        state.source = (_piece(p) for p in body)
    elif read is not None or isinstance(body, AsyncIterable):
        state.async_source = _async_source(body)
    else:
        raise SigningError(
            f"cannot read a body of type {type(body).__name__}: use bytes, a binary file, an "
            "iterable of bytes (or an async iterable with averify)"
        )


def _read_file(f: BinaryIO) -> Iterator[bytes]:
    return map(_piece, read_pieces(f, _READ_SIZE))


async def _async_source(body: object) -> AsyncIterator[bytes]:
    read = getattr(body, "read", None)
    if read is not None and inspect.iscoroutinefunction(read):
        while True:
            chunk = await read(_READ_SIZE)
            if not chunk:
                return
            yield _piece(chunk)
    async for piece in cast("AsyncIterable[Any]", body):
        yield _piece(piece)


class _SpoolReader(Iterator[bytes]):
    """A one-shot body spooled (memory, then disk) and hashed as it is
    written, then read back; the spool is closed (and deleted) at the end,
    on :meth:`close`, or when dropped unread (a failed verification)."""

    __slots__ = ("_hash", "_spool")

    def __init__(self) -> None:
        self._spool: Any = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)
        self._hash = _sha256()

    def write(self, piece: bytes) -> None:
        self._hash.update(piece)
        self._spool.write(piece)

    def rewind(self) -> tuple[str, _SpoolReader]:
        """``(hex SHA-256 of what was written, self)``, ready to read."""
        self._spool.seek(0)
        return self._hash.hexdigest(), self

    def __next__(self) -> bytes:
        spool = self._spool
        if spool is None:
            raise StopIteration
        chunk: bytes = spool.read(_READ_SIZE)
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def __del__(self) -> None:
        self.close()


def _spool_hash(source: Iterator[bytes]) -> tuple[str, _SpoolReader]:
    spool = _SpoolReader()
    for piece in source:
        spool.write(piece)
    return spool.rewind()


async def _aspool(source: AsyncIterator[bytes]) -> tuple[str, _SpoolReader]:
    spool = _SpoolReader()
    async for piece in source:
        spool.write(piece)
    return spool.rewind()


class _ChunkedCheck:
    """The aws-chunked decoder behind a byte count, holding back the last
    decoded piece until the body proved complete (final chunk, trailer
    signature and checksum).

    :meth:`run` / :meth:`arun` drive it: the decoder's ``feed_pieces``
    releases the received ``bytes`` objects themselves where a piece is all
    chunk data, and ``memoryview`` slices elsewhere; only those slices are
    copied (the body yields ``bytes``).  Small pieces' releases are joined
    instead, one copy being cheaper than a yield per kilobyte.
    """

    __slots__ = ("_declared", "_decoder", "trailers")

    def __init__(self, decoder: Any, declared_length: int | None) -> None:
        self._decoder = decoder
        self._declared = declared_length
        self.trailers: list[tuple[str, str]] = []

    def _release(self, piece: bytes, count: int) -> list[bytes]:
        """The decoder's output for ``piece``, as ``bytes``; ``count`` bytes
        came so far."""
        declared = self._declared
        if declared is not None and count > declared:
            raise IncompleteBody(
                f"The request body is longer than its Content-Length ({declared})."
            )
        parts = self._decoder.feed_pieces(piece)
        if len(parts) > 1 and len(piece) < _JOIN_BELOW:
            return [b"".join(parts)]
        return [p if type(p) is bytes else bytes(p) for p in parts]

    def _finish(self, count: int) -> None:
        declared = self._declared
        if declared is not None and count != declared:
            raise IncompleteBody(
                details={"ExpectedLength": str(declared), "ReceivedLength": str(count)}
            )
        self.trailers[:] = self._decoder.finish()

    def run(self, source: Iterator[bytes]) -> Iterator[bytes]:
        """The verified body of ``source``, the last piece held back until
        the decoder finished.  (The per-piece step of :meth:`_release`
        inline: at 16 KiB pieces a call per piece is a measurable share.)"""
        feed = self._decoder.feed_pieces
        room = (1 << 63) if self._declared is None else self._declared
        count = 0
        held: bytes | None = None
        for piece in source:
            count += len(piece)
            if count > room:
                self._release(piece, count)  # raises
            parts = feed(piece)
            if not parts:
                continue  # inside a signed chunk's data: held by the decoder
            if len(parts) > 1 and len(piece) < _JOIN_BELOW:
                parts = [b"".join(parts)]
            for part in parts:
                if held is not None:
                    yield held
                held = part if type(part) is bytes else bytes(part)
        self._finish(count)
        if held is not None:
            yield held

    async def arun(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """:meth:`run` for an async ``source``."""
        count = 0
        held: bytes | None = None
        async for piece in source:
            count += len(piece)
            for part in self._release(piece, count):
                if held is not None:
                    yield held
                held = part
        self._finish(count)
        if held is not None:
            yield held


# -- payload ------------------------------------------------------------
def _payload(vr: Verifier, state: _Auth, body: object) -> None:
    """The payload plan: what the signature covers and how the body is checked."""
    hmap = state.hmap
    claimed = state.query_sha256
    if claimed is None:
        claimed = hmap.get("x-amz-content-sha256")
    if claimed is not None:
        claimed = claimed.strip()
    cl = hmap.get("content-length")
    if cl is not None:
        cl = cl.strip()
        if not (cl.isdigit() and cl.isascii()) or len(cl) > 18:
            raise InvalidArgument(
                f"Content-Length {cl[:40]!r} is not a number",
                details={"ArgumentName": "Content-Length", "ArgumentValue": cl[:40]},
            )
        state.declared_length = int(cl)

    if claimed is None:
        if state.kind == "presigned" and vr.presign_unsigned_payload:
            state.payload_hash = UNSIGNED_PAYLOAD
        elif state.kind == "header" and vr.require_content_sha256:
            raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
        else:
            # The signature covers the hash of the body itself.
            state.needs_body_hash = True
    elif len(claimed) == 64 and _HEXDIGITS.issuperset(claimed):
        state.payload_hash = state.check_hash = claimed
    elif claimed == UNSIGNED_PAYLOAD:
        state.payload_hash = claimed
    elif claimed == STREAMING_EVENTS_PAYLOAD:
        # An event stream: the body is a chain of signed messages that
        # the application checks with sigv4kit.eventstream's
        # EventStreamVerifier.for_request(ok, secret); it is passed on raw.
        if state.kind != "header" or state.algorithm != ALGORITHM_V4:
            raise _bad_content_sha256("event streams need a SigV4 header-signed request", claimed)
        state.payload_hash = claimed
    elif claimed in STREAMING_LITERALS:
        kind, alg = STREAMING_LITERALS[claimed]
        if state.kind != "header":
            raise _bad_content_sha256(
                "Streaming (aws-chunked) payloads need a header-signed request", claimed
            )
        if alg is not None and alg != state.algorithm:
            raise _bad_content_sha256(
                f"x-amz-content-sha256 {claimed} does not match the signing algorithm "
                f"{state.algorithm}",
                claimed,
            )
        state.payload_hash = claimed
        state.streaming = kind
    else:
        raise _bad_content_sha256(_SHA256_VALUES_MESSAGE, claimed[:100])

    _take_body(state, body)
    data = state.body_bytes
    if data is not None:
        if state.needs_body_hash:
            state.payload_hash = _sha256(data).hexdigest() if data else _EMPTY
    elif state.needs_body_hash and state.source is not None and hasattr(body, "read"):
        # Hashed in _finish, once the access key is known: an unknown key
        # must not make the server read (or spool) the body first.
        try:
            if cast("BinaryIO", body).seekable():
                state.body_file = cast("BinaryIO", body)
        except (AttributeError, OSError, ValueError):
            pass


def _streaming_decoder(vr: Verifier, state: _Auth, key: _Key) -> _ChunkedCheck:
    from ..streaming import decoder_from_headers

    sign: Callable[[bytes], str] | None = None
    verify: Callable[[bytes, str], bool] | None = None
    if state.algorithm == ALGORITHM_V4A:
        from ..v4a import verify_v4a

        pub = key.public(state.access_key_id)

        def verify(sts: bytes, sig: str) -> bool:
            return verify_v4a(pub, sts, sig)

    else:
        scope = state.scope
        sign = signing_key(
            cast("str", key.secret), scope.date, cast("str", scope.region), scope.service
        ).hexdigest
    decoder = decoder_from_headers(
        state.pairs,
        seed_signature=state.signature,
        amz_date=state.amz_date,
        scope=state.scope_text,
        sign=sign,
        verify=verify,
        max_chunk_size=vr.max_chunk_size,
        max_line_length=vr.max_chunk_header_length,
        max_chunks=vr.max_chunks,
    )
    return _ChunkedCheck(decoder, state.declared_length)
