"""The server side's entry points to the aws-chunked decoder: a decoder set up
from a received request's headers, and the loops that drive one over a body.

The decoder itself (:mod:`._decoder`) takes the mode, lengths and trailer
names as arguments; reading them from headers, where a client's mistake is
an ``InvalidRequest`` rather than a programming error, lives here.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from ..checksums import CHECKSUM_ALGORITHMS, CHECKSUM_HEADERS
from ..errors import InvalidRequest, SigningError
from ..payload import read_pieces
from ._decoder import ChunkDecoder
from ._modes import _MAX_LENGTH_DIGITS, SignFn, VerifyFn, streaming_mode


def decoder_from_headers(
    headers: Iterable[tuple[str, str]],
    *,
    seed_signature: str | None = None,
    amz_date: str | None = None,
    scope: str | None = None,
    sign: SignFn | None = None,
    verify: VerifyFn | None = None,
    **limits: int,
) -> ChunkDecoder:
    """A :class:`ChunkDecoder` set up from a received request's headers.

    Reads ``x-amz-content-sha256`` (the mode), the required
    ``x-amz-decoded-content-length``, ``x-amz-trailer``, and an
    ``x-amz-checksum-*`` sent as a header (checked against the body).
    ``Content-Encoding: aws-chunked`` is not required: minio-go omits it.
    """
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value.strip())
    sha = values.get("x-amz-content-sha256", [""])[0]
    if streaming_mode(sha) is None:
        raise InvalidRequest(f"x-amz-content-sha256 {sha!r} is not an aws-chunked payload")
    raw = values.get("x-amz-decoded-content-length")
    if (
        not raw
        or len(raw) != 1
        or not raw[0].isdigit()
        or not raw[0].isascii()
        or len(raw[0]) > _MAX_LENGTH_DIGITS
    ):
        raise InvalidRequest(
            "an aws-chunked upload needs one numeric X-Amz-Decoded-Content-Length header"
        )
    names = [t.strip() for v in values.get("x-amz-trailer", []) for t in v.split(",") if t.strip()]
    expected: tuple[str, str] | None = None
    for header, algo in ((CHECKSUM_HEADERS[a], a) for a in sorted(CHECKSUM_ALGORITHMS)):
        if header in values and header not in {n.lower() for n in names}:
            expected = (algo, values[header][0])
    try:
        return ChunkDecoder(
            sha,
            seed_signature=seed_signature,
            amz_date=amz_date,
            scope=scope,
            sign=sign,
            verify=verify,
            decoded_length=int(raw[0]),
            trailer_names=names,
            expected_checksum=expected,
            **limits,
        )
    except SigningError as exc:
        raise InvalidRequest(str(exc)) from None


def iter_decoded(
    decoder: ChunkDecoder, source: Iterable[bytes] | Any, read_size: int = 65536
) -> Iterator[bytes]:
    """Verified payload bytes from an aws-chunked ``source`` (file or iterable)."""
    for piece in read_pieces(source, read_size):
        out = decoder.feed(piece)
        if out:
            yield out
    decoder.finish()


async def aiter_decoded(
    decoder: ChunkDecoder, source: AsyncIterable[bytes]
) -> AsyncIterator[bytes]:
    """Verified payload bytes from an async aws-chunked ``source``."""
    async for piece in source:
        out = decoder.feed(piece)
        if out:
            yield out
    decoder.finish()
