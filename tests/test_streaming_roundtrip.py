"""Encoder -> decoder round trips and tampering, for every streaming mode.

The decoder's promise: a signed chunk's data is released only after that
chunk's signature verified.  Every test that breaks a body checks both that
the break is detected and that nothing unverified came out before it.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigv4kit.errors import (
    BadDigest,
    IncompleteBody,
    SignatureDoesNotMatch,
    SignatureError,
)
from sigv4kit.keys import signing_key
from sigv4kit.streaming import (
    ChunkDecoder,
    InvalidChunkSizeError,
    MalformedTrailerError,
    payload_hash_for,
    prepare_streaming,
)

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SCOPE_A = "20130524/s3/aws4_request"
KEY = signing_key(SECRET, "20130524", "us-east-1", "s3")
V4 = "AWS4-HMAC-SHA256"
V4A = "AWS4-ECDSA-P256-SHA256"
SEED = hashlib.sha256(b"seed").hexdigest()

# (mode, algorithm) pairs: every literal the encoder can produce.
CASES = [
    ("streaming", V4),
    ("streaming-trailer", V4),
    ("streaming-unsigned-trailer", V4),
    ("streaming", V4A),
    ("streaming-trailer", V4A),
]


@lru_cache(maxsize=1)
def _v4a_pub() -> Any:
    from sigv4kit import v4a

    return v4a.public_key_for(AKID, SECRET)


def _sign_for(alg: str) -> Callable[[bytes], str]:
    if alg == V4:
        return KEY.hexdigest
    from sigv4kit import v4a

    return lambda sts: str(v4a.sign_v4a(AKID, SECRET, sts))


def encode(
    data: bytes, mode: str, alg: str, chunk_size: int = 8192, checksum: str | None = None
) -> tuple[bytes, Any]:
    plan = prepare_streaming(mode, data, algorithm=alg, chunk_size=chunk_size, checksum=checksum)
    scope = SCOPE if alg == V4 else SCOPE_A
    seed = SEED if alg == V4 else _sign_for(alg)(b"seed")
    body = b"".join(
        plan.encode(seed_signature=seed, amz_date=DATE, scope=scope, sign=_sign_for(alg))
    )
    assert (
        len(body)
        == plan.content_length
        == len(plan.encode(seed_signature=seed, amz_date=DATE, scope=scope, sign=_sign_for(alg)))
    )
    return body, (plan, seed)


def decoder(plan: Any, seed: str, **kw: Any) -> ChunkDecoder:
    alg = plan.algorithm
    args: dict[str, Any] = {
        "decoded_length": plan.decoded_length,
        "trailer_names": plan.trailer_names,
    }
    if plan.mode != "streaming-unsigned-trailer":
        args.update(seed_signature=seed, amz_date=DATE, scope=SCOPE if alg == V4 else SCOPE_A)
        if alg == V4:
            args["sign"] = KEY.hexdigest
        else:
            from sigv4kit import v4a

            pub = _v4a_pub()
            args["verify"] = lambda b, s: bool(v4a.verify_v4a(pub, b, s))
    args.update(kw)
    return ChunkDecoder(plan.payload_hash, **args)


def decode(
    plan: Any, seed: str, body: bytes, splits: list[int] | None = None
) -> tuple[bytes, SignatureError | None]:
    """Feed ``body`` in pieces; return (released data, error or None)."""
    dec = decoder(plan, seed)
    out = bytearray()
    cuts = [0, *sorted(splits or []), len(body)]
    try:
        for a, b in itertools.pairwise(cuts):
            out += dec.feed(body[a:b])
        dec.finish()
    except SignatureError as exc:
        return bytes(out), exc
    return bytes(out), None


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CASES),
    size=st.one_of(st.integers(0, 3), st.integers(0, 120_000)),
    chunk_size=st.integers(8192, 50_000),
    checksum=st.sampled_from(["crc32", "crc32c", "crc64nvme", "sha1", "sha256"]),
    seed=st.integers(0, 2**32),
)
def test_round_trip_every_mode(
    case: tuple[str, str], size: int, chunk_size: int, checksum: str, seed: int
) -> None:
    mode, alg = case
    rnd = random.Random(seed)
    data = rnd.randbytes(size)
    body, (plan, sseed) = encode(
        data, mode, alg, chunk_size, None if mode == "streaming" else checksum
    )
    assert plan.payload_hash == payload_hash_for(mode, alg)
    splits = [rnd.randrange(len(body) + 1) for _ in range(rnd.randrange(12))]
    got, err = decode(plan, sseed, body, splits)
    assert err is None, err
    assert got == data


def test_byte_at_a_time_feeding() -> None:
    data = random.Random(7).randbytes(8192 * 2 + 333)
    for mode, alg in CASES[:3]:
        body, (plan, seed) = encode(data, mode, alg)
        dec = decoder(plan, seed)
        out = b"".join(dec.feed(body[i : i + 1]) for i in range(len(body)))
        dec.finish()
        assert out == data


# ---------------------------------------------------------------------------
# Tampering
# ---------------------------------------------------------------------------
DATA = random.Random(1).randbytes(8192 * 3 + 4000)  # 3 full chunks and a short one
CHUNK = 8192


def _chunk_bounds(body: bytes) -> list[tuple[int, int, int, int]]:
    """(start, data_start, end, data_offset) of each framed chunk in ``body``."""
    bounds = []
    pos = 0
    offset = 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        end = eol + 2 + size + (2 if size else 0)
        bounds.append((pos, eol + 2, end, offset))
        offset += size
        pos = end
        if size == 0:
            return bounds


def _verified_before(bounds: list[tuple[int, int, int, int]], pos: int) -> int:
    """Data bytes in the chunks that end (CRLF included) at or before ``pos``."""
    done = [i for i, (_, _, end, _) in enumerate(bounds) if end <= pos]
    return (
        bounds[done[-1] + 1][3]
        if done and done[-1] + 1 < len(bounds)
        else (bounds[-1][3] if done else 0)
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1][:9]}")
def test_flipping_any_byte_is_rejected(case: tuple[str, str]) -> None:
    mode, alg = case
    body, (plan, seed) = encode(DATA, mode, alg)
    bounds = _chunk_bounds(body)
    data_ranges = [(ds, end - 2) for _, ds, end, _ in bounds[:-1]]
    framing = [p for p in range(len(body)) if not any(a <= p < b for a, b in data_ranges)]
    positions = framing + [p for a, b in data_ranges for p in range(a, b, 211)]
    rnd = random.Random(3)
    for pos in positions:
        for xor in (0x01, 0x20, 0x80, rnd.randrange(1, 256)):
            bad = bytearray(body)
            bad[pos] ^= xor
            got, err = decode(plan, seed, bytes(bad), [rnd.randrange(len(body))])
            assert err is not None, (pos, xor)
            if mode != "streaming-unsigned-trailer":
                # Only chunks wholly before the damaged byte may have come out.
                assert DATA.startswith(got), (pos, xor)
                assert len(got) <= _verified_before(bounds, pos), (pos, xor, len(got))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1][:9]}")
def test_reordered_chunks_are_rejected(case: tuple[str, str]) -> None:
    mode, alg = case
    body, (plan, seed) = encode(DATA, mode, alg)
    b = _chunk_bounds(body)
    (s1, _, e1, _), (s2, _, e2, _) = b[1], b[2]
    swapped = body[:s1] + body[s2:e2] + body[s1:e1] + body[e2:]
    assert len(swapped) == len(body)
    got, err = decode(plan, seed, swapped, list(range(512, len(body), 512)))
    assert err is not None
    if mode == "streaming-unsigned-trailer":
        assert isinstance(err, BadDigest)  # only the checksum protects it
    else:
        assert isinstance(err, SignatureDoesNotMatch)
        assert got == DATA[:CHUNK]  # the first chunk, nothing after the swap


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1][:9]}")
def test_truncation_is_rejected(case: tuple[str, str]) -> None:
    mode, alg = case
    body, (plan, seed) = encode(DATA, mode, alg)
    bounds = _chunk_bounds(body)
    cuts = list(range(0, len(body), 97)) + list(range(len(body) - 300, len(body)))
    for cut in cuts:
        got, err = decode(plan, seed, body[:cut])
        assert isinstance(err, IncompleteBody), (cut, err)
        assert DATA.startswith(got) or mode == "streaming-unsigned-trailer"
        if mode != "streaming-unsigned-trailer":
            assert len(got) <= _verified_before(bounds, cut), cut


@pytest.mark.parametrize(
    ("mode", "alg"),
    [("streaming-trailer", V4), ("streaming-trailer", V4A), ("streaming-unsigned-trailer", V4)],
)
def test_changed_trailers_are_rejected(mode: str, alg: str) -> None:
    body, (plan, seed) = encode(DATA, mode, alg, checksum="crc32c")
    good_value = body.split(b"x-amz-checksum-crc32c:")[1].split(b"\r\n")[0]
    other = b"AAAAAA==" if good_value != b"AAAAAA==" else b"AAAAAQ=="
    name = b"x-amz-checksum-crc32c:"
    changed = body.replace(name + good_value, name + other)
    _, err = decode(plan, seed, changed)
    assert isinstance(err, SignatureDoesNotMatch if mode == "streaming-trailer" else BadDigest)
    # The checksum line removed, or an extra (unannounced) trailer added.
    line = b"x-amz-checksum-crc32c:" + good_value + b"\r\n"
    _, err = decode(plan, seed, body.replace(line, b""))
    assert isinstance(err, MalformedTrailerError)
    _, err = decode(plan, seed, body.replace(line, line + b"x-amz-meta-x:1\r\n"))
    assert isinstance(err, MalformedTrailerError)
    if mode == "streaming-trailer":
        # The trailer signature removed.
        sig_line = body[body.index(b"x-amz-trailer-signature:") : -2]
        _, err = decode(plan, seed, body.replace(sig_line, b""))
        assert isinstance(err, MalformedTrailerError)


def test_wrong_seed_rejects_first_chunk_and_releases_nothing() -> None:
    body, (plan, _seed) = encode(DATA, "streaming", V4)
    got, err = decode(plan, "0" * 64, body)
    assert isinstance(err, SignatureDoesNotMatch)
    assert got == b""
    assert err.string_to_sign is not None and err.string_to_sign.startswith(
        "AWS4-HMAC-SHA256-PAYLOAD\n"
    )


# ---------------------------------------------------------------------------
# Limits and malformed framing
# ---------------------------------------------------------------------------
def _manual(sizes: list[int], seed: str = SEED) -> bytes:
    """A signed body with arbitrary chunk sizes (the encoder refuses small ones)."""
    out = []
    prev = seed
    empty = hashlib.sha256(b"").hexdigest()
    for size in [*sizes, 0]:
        data = b"m" * size
        sts = (
            f"AWS4-HMAC-SHA256-PAYLOAD\n{DATE}\n{SCOPE}\n{prev}\n{empty}\n"
            f"{hashlib.sha256(data).hexdigest()}"
        )
        prev = KEY.hexdigest(sts.encode())
        out.append(
            b"%x;chunk-signature=%s\r\n" % (size, prev.encode()) + data + (b"\r\n" if size else b"")
        )
    return b"".join(out) + b"\r\n"


def _dec(**kw: Any) -> ChunkDecoder:
    return ChunkDecoder(
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        seed_signature=SEED,
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
        **kw,
    )


def test_small_chunk_only_last() -> None:
    assert _dec().feed(_manual([8192, 10])) == b"m" * 8202
    with pytest.raises(InvalidChunkSizeError, match="only the last chunk"):
        _dec().feed(_manual([10, 8192]))
    assert _dec(min_chunk_size=0).feed(_manual([10, 8192])) == b"m" * 8202


def test_chunk_size_limit() -> None:
    with pytest.raises(InvalidChunkSizeError, match="larger than"):
        _dec().feed(b"1000001;chunk-signature=" + b"0" * 64 + b"\r\n")
    with pytest.raises(InvalidChunkSizeError):
        _dec(max_chunk_size=10000).feed(_manual([10001]))


def test_header_line_limit() -> None:
    dec = _dec()
    with pytest.raises(IncompleteBody, match="longer than 4096"):
        for _ in range(10):
            dec.feed(b"a" * 1000)
    # Sticky: the same error again.
    with pytest.raises(IncompleteBody, match="longer than 4096"):
        dec.feed(b"\r\n")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"400\r\n", "chunk-signature"),
        (b"0400;chunk-signature=" + b"0" * 64 + b"\r\n", "lowercase hexadecimal"),
        (b"4G0;chunk-signature=" + b"0" * 64 + b"\r\n", "lowercase hexadecimal"),
        (b"400;chunk-signature=" + b"A" * 64 + b"\r\n", "lowercase hex"),
        (b"400;chunk-signature=" + b"0" * 64 + b"\n", "bare LF"),
    ],
)
def test_malformed_headers(body: bytes, match: str) -> None:
    with pytest.raises(IncompleteBody, match=match):
        _dec().feed(body)


def test_decoded_length_enforced() -> None:
    body = _manual([9000])
    with pytest.raises(IncompleteBody, match="more than the 8999"):
        _dec(decoded_length=8999).feed(body)
    with pytest.raises(IncompleteBody, match="declared 9001"):
        _dec(decoded_length=9001).feed(body)


def test_data_after_end() -> None:
    with pytest.raises(IncompleteBody, match="after the end"):
        _dec().feed(_manual([9000]) + b"x")


def test_data_longer_than_declared_chunk() -> None:
    body = _manual([9000]).replace(b"2328;", b"2327;", 1)  # 9000 -> 8999
    with pytest.raises(IncompleteBody, match="longer than its declared size"):
        _dec().feed(body)
