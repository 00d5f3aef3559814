"""The zero-copy pieces API: AwsChunkedBody.pieces/apieces, ChunkDecoder.feed_pieces.

The pieces must concatenate to exactly the encoded (or decoded) body, share memory with what
the caller handed in instead of copying it, and copy what the caller may reuse.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.errors import SignatureError
from sigv4kit.keys import signing_key
from sigv4kit.streaming import ChunkDecoder, decoder_from_headers

DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
KEY = signing_key(CREDS.secret_access_key, "20130524", "us-east-1", "s3")
DATA = random.Random(17).randbytes(300_001)
MODES = ["streaming", "streaming-trailer", "streaming-unsigned-trailer"]


def _sign(body: object, mode: str = "streaming", length: int = len(DATA)) -> object:
    signer = Signer(CREDS, region="us-east-1", service="s3")
    return signer.sign(
        "PUT",
        "https://b.s3.amazonaws.com/k",
        body=body,
        timestamp=DATE,
        payload=mode,
        headers={"x-amz-decoded-content-length": str(length)},
    )


def _blocks(size: int) -> list[bytes]:
    return [DATA[i : i + size] for i in range(0, len(DATA), size)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("block", [1000, 16384, 65536, 100_000, 1 << 20])
def test_pieces_are_the_encoded_body(mode: str, block: int) -> None:
    expected = b"".join(_sign(DATA, mode).body)  # type: ignore[attr-defined]
    signed = _sign(iter(_blocks(block)), mode)
    pieces = list(signed.body.pieces())  # type: ignore[attr-defined]
    assert b"".join(pieces) == expected
    assert sum(len(p) for p in pieces) == len(signed.body)  # type: ignore[arg-type]


def test_bytes_body_is_sliced_not_copied() -> None:
    body = DATA
    pieces = list(_sign(body).body.pieces())  # type: ignore[attr-defined]
    views = [p for p in pieces if isinstance(p, memoryview)]
    assert sum(len(v) for v in views) == len(DATA)
    assert all(v.obj is body for v in views)


def test_small_blocks_pass_through_as_the_same_objects() -> None:
    blocks = _blocks(16384)
    pieces = list(_sign(iter(blocks)).body.pieces())  # type: ignore[attr-defined]
    ids = {id(b) for b in blocks}
    passed = [p for p in pieces if id(p) in ids]
    assert len(passed) >= len(blocks) - 1  # the last chunk's tail may be a slice


def test_reused_buffers_are_copied() -> None:
    def reuse() -> Iterator[bytearray]:
        buf = bytearray(16384)
        for b in _blocks(16384):
            buf[: len(b)] = b
            yield buf[: len(b)] if len(b) < len(buf) else buf

    expected = b"".join(_sign(DATA).body)  # type: ignore[attr-defined]
    assert b"".join(_sign(reuse()).body.pieces()) == expected  # type: ignore[attr-defined]


def test_file_reads_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(DATA)
    expected = b"".join(_sign(DATA).body)  # type: ignore[attr-defined]
    with path.open("rb") as f:
        signed = _sign(f)
        assert b"".join(signed.body.pieces()) == expected  # type: ignore[attr-defined]
        # Seekable: a second pass (a retry) gives the same body.
        assert b"".join(signed.body.restart().pieces()) == expected  # type: ignore[attr-defined]


def test_apieces_of_an_async_source() -> None:
    async def source() -> AsyncIterator[bytes]:
        for b in _blocks(10_000):
            yield b

    async def collect() -> bytes:
        body = _sign(source()).body  # type: ignore[attr-defined]
        return b"".join([p async for p in body.apieces()])

    assert asyncio.run(collect()) == b"".join(_sign(DATA).body)  # type: ignore[attr-defined]


def _decoder(signed: object) -> ChunkDecoder:
    """The server's decoder for a request the test signed."""
    return decoder_from_headers(
        signed.headers,  # type: ignore[attr-defined]
        seed_signature=signed.signature,  # type: ignore[attr-defined]
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [1, 7, 1024, 16384, 70_000, 1 << 20])
def test_feed_pieces_releases_the_received_objects(mode: str, size: int) -> None:
    signed = _sign(DATA, mode)
    encoded = b"".join(signed.body)  # type: ignore[attr-defined]
    dec = _decoder(signed)
    fed = [encoded[i : i + size] for i in range(0, len(encoded), size)]
    ids = {id(p) for p in fed}
    out: list[bytes | memoryview] = []
    for piece in fed:
        out += dec.feed_pieces(piece)
        assert dec.feed_pieces(b"") == []
    dec.finish()
    assert b"".join(out) == DATA
    # Nothing was joined: every piece is a received object or a view of one.
    for p in out:
        assert id(p) in ids or (isinstance(p, memoryview) and id(p.obj) in ids)


def _decode(encoded: bytes, size: int, signed: object) -> bytes:
    dec = _decoder(signed)
    out = [dec.feed(encoded[i : i + size]) for i in range(0, len(encoded), size)]
    dec.finish()
    return b"".join(out)


@pytest.mark.parametrize("size", [1, 100, 1024, 70_000, 1 << 20])
@pytest.mark.parametrize(
    ("sig_char", "error"),
    [
        (b"A", "is not a lowercase hex signature"),
        (b"g", "is not a lowercase hex signature"),
        (b"\xff", "is not a lowercase hex signature"),
        (b"0", "signature does not match"),
    ],
)
def test_a_second_header_like_the_first_is_still_checked(
    size: int, sig_char: bytes, error: str
) -> None:
    """The decoder takes a header of the same size as the previous one
    without the regular expression: a changed signature byte in it is
    refused with the same error as through the general path, at any cut."""
    signed = _sign(DATA)
    sent = b"".join(signed.body)  # type: ignore[attr-defined]
    encoded = bytearray(sent)
    second = encoded.index(b";chunk-signature=", encoded.index(b"\r\n") + 2 + 65536)
    at = second + len(b";chunk-signature=") + 7
    if encoded[at : at + 1] == sig_char:
        at += 1  # change the byte, whatever the signature holds there
    encoded[at : at + 1] = sig_char
    with pytest.raises(SignatureError, match=error):
        _decode(bytes(encoded), size, signed)
    # ... and the body as sent decodes, cut anywhere.
    assert _decode(sent, size, signed) == DATA
