"""The encoder's piece path (``encode_pieces``, what ``AwsChunkedBody.pieces`` runs) against
an independent aws-chunked encoder written here from the S3 documentation, for bodies cut into
random blocks: empty, one byte, across chunk ends, exactly a chunk, several chunks, given as
``bytes``, ``bytearray`` or ``memoryview``; every mode, SigV4 through the HMAC pad states and
through a plain signing function, SigV4a's padded signature field; a declared length that is
met, passed or not reached; and the encoder never holding more than one chunk of data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sigv4kit.errors import SigningError
from sigv4kit.keys import signing_key
from sigv4kit.streaming import ChunkEncoder, prepare_streaming

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EMPTY = hashlib.sha256(b"").hexdigest()
MODES = ["streaming", "streaming-trailer", "streaming-unsigned-trailer"]


def _key() -> bytes:
    """The SigV4 signing key, derived here (not with sigv4kit.keys)."""
    k = ("AWS4" + SECRET).encode()
    for part in ("20130524", "us-east-1", "s3", "aws4_request"):
        k = hmac.digest(k, part.encode(), "sha256")
    return k


KEY_BYTES = _key()
HMAC_KEY = signing_key(SECRET, "20130524", "us-east-1", "s3")


def plain_sign(sts: bytes) -> str:
    """A signing function that is not an HmacKey's: the encoder's other signing route."""
    return hmac.new(KEY_BYTES, sts, "sha256").hexdigest()


def v4a_like_sign(sts: bytes) -> str:
    """A deterministic stand-in for an ECDSA signature (140 hex digits, shorter than the
    144-character field), so the SigV4a framing and padding can be compared byte for byte."""
    return (hashlib.sha512(sts).hexdigest() * 2)[:140]


def reference(
    data: bytes,
    mode: str,
    chunk_size: int,
    sign: Callable[[bytes], str],
    algorithm: str = "AWS4-HMAC-SHA256",
    width: int = 64,
) -> bytes:
    """aws-chunked encoding of ``data`` as the S3 documentation describes it."""
    signed = mode != "streaming-unsigned-trailer"
    prev = SEED
    out = []
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for chunk in chunks:
        if signed:
            sts = "\n".join(
                [
                    f"{algorithm}-PAYLOAD",
                    DATE,
                    SCOPE,
                    prev,
                    EMPTY,
                    hashlib.sha256(chunk).hexdigest(),
                ]
            )
            prev = sign(sts.encode())
            out.append(b"%x;chunk-signature=%s\r\n" % (len(chunk), prev.ljust(width, "*").encode()))
        else:
            out.append(b"%x\r\n" % len(chunk))
        if chunk:
            out.append(chunk + b"\r\n")
    if mode != "streaming":
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        out.append(f"x-amz-checksum-crc32:{crc}\r\n".encode())
        if signed:
            canon = f"x-amz-checksum-crc32:{crc}\n".encode()
            sts = "\n".join(
                [f"{algorithm}-TRAILER", DATE, SCOPE, prev, hashlib.sha256(canon).hexdigest()]
            )
            sig = sign(sts.encode()).ljust(width, "*")
            out.append(f"x-amz-trailer-signature:{sig}\r\n".encode())
    out.append(b"\r\n")
    return b"".join(out)


def random_blocks(rng: random.Random, data: bytes, chunk_size: int) -> list[bytes]:
    """``data`` cut at random: sizes that stay inside a chunk, end one exactly, cross one,
    or span several, with empty and one-byte blocks among them."""
    sizes = [0, 1, 2, 7, 1000, chunk_size // 4, chunk_size - 1, chunk_size, chunk_size + 1]
    sizes += [2 * chunk_size, 3 * chunk_size + 5]
    blocks, pos = [], 0
    while pos < len(data):
        n = rng.choice(sizes) if rng.random() < 0.7 else rng.randrange(0, 3 * chunk_size)
        blocks.append(data[pos : pos + n])
        pos += n
    return blocks


def as_types(rng: random.Random, blocks: list[bytes]) -> list[Any]:
    """Each block as bytes, a bytearray or a memoryview (of bytes or of a bytearray)."""
    out: list[Any] = []
    for b in blocks:
        kind = rng.randrange(4)
        out.append(
            b
            if kind == 0
            else bytearray(b)
            if kind == 1
            else memoryview(b)
            if kind == 2
            else memoryview(bytearray(b))
        )
    return out


def encoder(mode: str, chunk_size: int, sign: Any, **kw: Any) -> ChunkEncoder:
    return ChunkEncoder(
        mode,
        seed_signature=SEED,
        amz_date=DATE,
        scope=SCOPE,
        sign=sign if mode != "streaming-unsigned-trailer" else None,
        chunk_size=chunk_size,
        checksum="crc32" if mode != "streaming" else None,
        **kw,
    )


SIGNERS: dict[str, tuple[Any, str, int]] = {
    "hmac-key": (HMAC_KEY.hexdigest, "AWS4-HMAC-SHA256", 64),
    "plain": (plain_sign, "AWS4-HMAC-SHA256", 64),
    "v4a-like": (v4a_like_sign, "AWS4-ECDSA-P256-SHA256", 144),
}


@pytest.mark.parametrize("signer", list(SIGNERS))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("chunk_size", [8192, 65536])
def test_random_blocks_match_the_reference(signer: str, mode: str, chunk_size: int) -> None:
    sign, algorithm, width = SIGNERS[signer]
    rng = random.Random(f"{signer}/{mode}/{chunk_size}")
    for _ in range(12):
        data = rng.randbytes(rng.choice([0, 1, chunk_size, rng.randrange(1, 5 * chunk_size)]))
        expected = reference(data, mode, chunk_size, sign, algorithm, width)
        blocks = as_types(rng, random_blocks(rng, data, chunk_size))
        kw: dict[str, Any] = {"algorithm": algorithm}
        if rng.random() < 0.5:
            kw["decoded_length"] = len(data)
        enc = encoder(mode, chunk_size, sign, **kw)
        pieces = list(enc.encode_pieces(iter(blocks), check=True))
        pieces += enc.finish_parts()
        assert b"".join(pieces) == expected
        assert all(type(p) in (bytes, memoryview) for p in pieces)
        assert enc.bytes_in == len(data)


@pytest.mark.parametrize("mode", MODES)
def test_send_parts_then_pieces_then_finish(mode: str) -> None:
    """A partial chunk held by send_parts is carried into encode_pieces, and one held at
    the end of encode_pieces into finish_parts."""
    rng = random.Random(mode)
    cs = 8192
    for _ in range(30):
        data = rng.randbytes(rng.randrange(0, 6 * cs))
        cut = rng.randrange(0, len(data) + 1)
        enc = encoder(mode, cs, HMAC_KEY.hexdigest, decoded_length=len(data))
        pieces: list[Any] = list(enc.send_parts(data[:cut]))
        pieces += enc.encode_pieces(iter(random_blocks(rng, data[cut:], cs)))
        pieces += enc.finish_parts()
        assert b"".join(pieces) == reference(data, mode, cs, HMAC_KEY.hexdigest)


def test_body_pieces_of_mixed_blocks_equal_the_bytes_body() -> None:
    """The public route (prepare_streaming on an iterator) against the same data as bytes."""
    rng = random.Random(17)
    data = rng.randbytes(300_001)
    for _ in range(5):
        blocks = as_types(rng, random_blocks(rng, data, 65536))
        bodies = []
        for source in (data, iter(blocks)):
            plan = prepare_streaming("streaming", source, decoded_length=len(data))
            body = plan.encode(
                seed_signature=SEED, amz_date=DATE, scope=SCOPE, sign=HMAC_KEY.hexdigest
            )
            bodies.append(b"".join(body.pieces()))
            assert len(bodies[-1]) == plan.content_length
        assert bodies[0] == bodies[1] == reference(data, "streaming", 65536, plain_sign)


@pytest.mark.parametrize("mode", MODES)
def test_declared_length_passed_inside_and_across_chunks(mode: str) -> None:
    """More data than declared is refused before any of the excess is handed out, wherever
    the declared length ends (inside a block, at a chunk's end, inside the last chunk)."""
    rng = random.Random(mode)
    cs = 8192
    for declared in (0, 1, cs - 1, cs, cs + 1, 2 * cs - 1, 2 * cs, 3 * cs + 100):
        for i in range(14):
            data = rng.randbytes(declared + rng.choice([1, 2, 100, cs, 2 * cs + 3]))
            # Even blocks (whole chunks, quarters, odd sizes), then random ones.
            size = [cs, cs // 4, 1000, 1][i] if i < 4 else 0
            blocks = (
                [data[j : j + size] for j in range(0, len(data), size)]
                if size
                else random_blocks(rng, data, cs)
            )
            enc = encoder(mode, cs, HMAC_KEY.hexdigest, decoded_length=declared)
            out: list[Any] = []
            with pytest.raises(SigningError, match=f"more than the {declared} bytes"):
                out.extend(enc.encode_pieces(iter(blocks), check=True))
            # What went out is the start of the declared data's encoding: no excess.
            assert reference(data[:declared], mode, cs, HMAC_KEY.hexdigest).startswith(
                b"".join(out)
            )
            assert enc.bytes_in <= declared


@pytest.mark.parametrize("mode", MODES)
def test_declared_length_not_reached(mode: str) -> None:
    rng = random.Random(mode)
    cs = 8192
    for declared in (1, cs, cs + 1, 3 * cs):
        data = rng.randbytes(declared - 1)
        enc = encoder(mode, cs, HMAC_KEY.hexdigest, decoded_length=declared)
        list(enc.encode_pieces(iter(random_blocks(rng, data, cs))))
        with pytest.raises(SigningError, match=f"declared {declared}"):
            enc.finish_parts()


@pytest.mark.parametrize("block", [1, 1000, 4096, 16384, 65535, 65537, 1 << 20])
def test_holds_at_most_one_chunk(block: int) -> None:
    """Whenever the encoder asks its source for another block, all but less than one chunk
    of the data it took has already been handed out: memory stays flat."""
    cs = 65536
    data = random.Random(block).randbytes(5 * cs + 123)
    given: set[int] = set()  # ids of the blocks given (all alive: data's slices below)
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    state = {"taken": 0, "out": 0}

    def source() -> Iterator[bytes]:
        for b in blocks:
            assert state["taken"] - state["out"] < cs
            given.add(id(b))
            state["taken"] += len(b)
            yield b

    enc = encoder("streaming", cs, HMAC_KEY.hexdigest, decoded_length=len(data))
    pieces = []
    for piece in enc.encode_pieces(source(), check=True):
        if isinstance(piece, memoryview) or id(piece) in given:  # data, not framing
            state["out"] += len(piece)
        pieces.append(piece)
    pieces += enc.finish_parts()
    assert b"".join(pieces) == reference(data, "streaming", cs, plain_sign)


def test_blocks_and_file_reads_go_out_as_given() -> None:
    """Blocks that are bytes, and whole chunks read from a file, are handed out as the same
    objects (no view, no copy); bytearray and memoryview blocks are copied once (check)."""
    cs = 65536
    data = random.Random(3).randbytes(4 * cs)
    blocks = [data[i : i + cs // 4] for i in range(0, len(data), cs // 4)]
    whole = [data[i : i + cs] for i in range(0, len(data), cs)]
    for given in (blocks, whole):
        enc = encoder("streaming", cs, HMAC_KEY.hexdigest)
        out = list(enc.encode_pieces(iter(given), check=True))
        ids = {id(p) for p in out}
        assert all(id(b) in ids for b in given)
    reused = bytearray(data[: cs // 2])
    enc = encoder("streaming", cs, HMAC_KEY.hexdigest)
    out = list(enc.encode_pieces(iter([reused, reused]), check=True))
    reused[:] = bytes(len(reused))  # the producer reuses its buffer: the body must not change
    out += enc.finish_parts()
    assert b"".join(out) == reference(data[: cs // 2] * 2, "streaming", cs, plain_sign)
