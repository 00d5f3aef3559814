"""The chunk decoder's C accelerator against its pure-Python twin.

``ChunkDecoder`` runs its hot paths in ``sigv4kit.streaming._speedups`` when
that was built; ``PureChunkDecoder`` always runs them in Python
(``_decoder_core.py``).  Both must give the same output, state and errors
for every body, split and corruption -- so the differential test drives
them side by side -- and the pure path must pass the decoder's own suites
on its own (run here in a child with ``SIGV4KIT_PURE_PYTHON=1``).
"""

from __future__ import annotations

import gc
import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.errors import SignatureError
from sigv4kit.keys import signing_key
from sigv4kit.streaming import _decoder
from sigv4kit.streaming._decoder import ChunkDecoder, PureChunkDecoder

DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
KEY = signing_key(CREDS.secret_access_key, "20130524", "us-east-1", "s3")
MODES = ["streaming", "streaming-trailer", "streaming-unsigned-trailer"]
ROOT = Path(__file__).resolve().parent.parent

accelerated = pytest.mark.skipif(
    not _decoder.ACCELERATED, reason="the C accelerator was not built (pure Python runs)"
)


def test_the_accelerator_is_built_where_required() -> None:
    """CI builds it (scripts/test.sh sets SIGV4KIT_REQUIRE_SPEEDUPS): a build
    that silently fell back to pure Python fails here."""
    if not os.environ.get("SIGV4KIT_REQUIRE_SPEEDUPS"):
        pytest.skip("SIGV4KIT_REQUIRE_SPEEDUPS is not set")
    assert _decoder.ACCELERATED, "sigv4kit.streaming._speedups did not build or import"
    assert ChunkDecoder.__mro__[1].__module__ == "sigv4kit.streaming._speedups"


def _sign(data: bytes, mode: str, chunk: int, checksum: str | None = None) -> Any:
    options: dict[str, Any] = {"chunk_size": chunk}
    if checksum and mode != "streaming":
        options["checksum"] = checksum
    signer = Signer(CREDS, region="us-east-1", service="s3", **options)
    return signer.sign(
        "PUT",
        "https://b.s3.amazonaws.com/k",
        body=data,
        timestamp=DATE,
        payload=mode,
        headers={"x-amz-decoded-content-length": str(len(data))},
    )


def _make(cls: type[ChunkDecoder], signed: Any, length: int, **limits: Any) -> ChunkDecoder:
    h = {k.lower(): v for k, v in signed.headers}
    trailer = h.get("x-amz-trailer")
    return cls(
        h["x-amz-content-sha256"],
        seed_signature=signed.signature,
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
        decoded_length=limits.pop("decoded_length", length),
        trailer_names=[trailer] if trailer else [],
        **limits,
    )


def _state(dec: ChunkDecoder) -> tuple[object, ...]:
    return (
        dec.bytes_out,
        dec.chunks,
        dec.signature,
        dec.done,
        dec._state,
        dec._remaining,
        dec._out_end,
        dec._chunk_size,
        dec._ckv,
        dec._expect,
        len(dec._held),
        bytes(b"".join(dec._held)),
    )


def _run(dec: ChunkDecoder, pieces: list[Any]) -> list[object]:
    """Everything observable: per piece the output (and that it is made of
    received memory) or the error, the state after it, then finish()."""
    seen: list[object] = []
    for piece in pieces:
        try:
            out = dec.feed_pieces(piece)
            seen.append(("out", b"".join(out), [type(p).__name__ for p in out]))
        except SignatureError as exc:
            seen.append(("error", type(exc).__name__, str(exc)))
        seen.append(_state(dec))
    try:
        seen.append(("finish", dec.finish()))
    except SignatureError as exc:
        seen.append(("finish error", type(exc).__name__, str(exc)))
    seen.append(_state(dec))
    return seen


def _split(rng: random.Random, body: bytes) -> list[Any]:
    """Pieces of every kind a server hands over: sizes from 1 byte to past a
    chunk, now and then empty, a bytearray or a memoryview."""
    style = rng.choice(["tiny", "small", "socket", "large", "mixed"])
    top = {"tiny": 7, "small": 300, "socket": 20_000, "large": 200_000, "mixed": 70_000}[style]
    pieces: list[Any] = []
    i = 0
    while i < len(body):
        k = rng.randint(1, top) if style != "mixed" else rng.choice([1, 2, 90, 4096, top])
        part = body[i : i + k]
        i += k
        kind = rng.random()
        if kind < 0.05:
            pieces.append(bytearray(part))
        elif kind < 0.1:
            pieces.append(memoryview(part))
        else:
            pieces.append(part)
        if rng.random() < 0.02:
            pieces.append(b"")
    return pieces


def _corrupt(rng: random.Random, body: bytes) -> bytes:
    what = rng.choice(["none", "none", "flip", "cut", "insert", "crlf", "size"])
    b = bytearray(body)
    if what == "flip":
        at = rng.randrange(len(b))
        b[at] ^= 1 << rng.randrange(8)
    elif what == "cut":
        del b[rng.randrange(len(b)) :]
    elif what == "insert":
        at = rng.randrange(len(b))
        b[at:at] = rng.choice([b"\r\n", b"0", b"x", b";", b"a" * 64])
    elif what == "crlf":
        at = body.find(b"\r\n", rng.randrange(len(b)))
        if at >= 0:
            b[at : at + 2] = b"\n"
    elif what == "size":
        at = body.find(b";chunk-signature=")
        if at > 0:
            b[at - 1 : at - 1] = b"0"
    return bytes(b)


@accelerated
@pytest.mark.parametrize("mode", MODES)
def test_c_and_python_agree_on_every_body_split_and_corruption(mode: str) -> None:
    rng = random.Random(f"speedups-{mode}")
    for case in range(60):
        chunk = rng.choice([8192, 8192 + 13, 65536])
        size = rng.choice([0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 77, 200_001])
        data = rng.randbytes(size)
        # CRC-32 runs in C directly; the others through their Python step.
        checksum = rng.choice(["crc32", "crc32", "crc32c", "sha256"])
        signed = _sign(data, mode, chunk, checksum)
        body = _corrupt(rng, b"".join(signed.body))
        pieces = _split(rng, body)
        limits: dict[str, Any] = {}
        if rng.random() < 0.2:
            limits["max_chunks"] = rng.randint(1, 5)
        if rng.random() < 0.1:
            limits["decoded_length"] = size + rng.choice([-1, 1])
        if rng.random() < 0.1:
            limits["max_chunk_size"] = rng.choice([8192, 70_000])
        c = _run(_make(ChunkDecoder, signed, size, **limits), pieces)
        py = _run(_make(PureChunkDecoder, signed, size, **limits), pieces)
        assert c == py, f"case {case}: chunk {chunk}, size {size}, {checksum}, limits {limits}"


@accelerated
def test_c_output_is_the_received_memory() -> None:
    """No copies: signed data comes back as the received objects or views of them."""
    data = random.Random(5).randbytes(300_000)
    signed = _sign(data, "streaming", 65536)
    body = b"".join(signed.body)
    pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    dec = _make(ChunkDecoder, signed, len(data))
    out = [p for piece in pieces for p in dec.feed_pieces(piece)]
    dec.finish()
    assert b"".join(out) == data
    ids = {id(p) for p in pieces}
    assert all(id(p) in ids or (isinstance(p, memoryview) and id(p.obj) in ids) for p in out)


@accelerated
def test_c_state_set_wrongly_raises_instead_of_crashing() -> None:
    data = bytes(100_000)
    signed = _sign(data, "streaming", 65536)
    body = b"".join(signed.body)
    for attr, value in [("_loop", ()), ("_held", None), ("_prev", "text"), ("_expect", 5)]:
        dec = _make(ChunkDecoder, signed, len(data))
        dec.feed_pieces(body[:1000])
        setattr(dec, attr, value)
        with pytest.raises(TypeError):
            dec.feed_pieces(body[1000:])
    dec = _make(ChunkDecoder, signed, len(data))
    for attr in ("_held", "_prev", "_chunk_sig", "_ck", "_ckv", "_expect", "_loop"):
        with pytest.raises(AttributeError, match="cannot be deleted"):
            delattr(dec, attr)
    dec.feed_pieces(body[:1000])
    dec._held = None  # type: ignore[assignment]
    with pytest.raises(TypeError):
        dec.feed_pieces(body[1000:2000])  # the fast path checks too
    dec = _make(ChunkDecoder, signed, len(data))
    with pytest.raises(TypeError):
        dec._remaining = "x"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        dec.signed = 1  # type: ignore[assignment]


@accelerated
@pytest.mark.parametrize("mode", MODES)
def test_c_decoding_leaks_nothing(mode: str) -> None:
    """Reference counting in C: a leak of one object per chunk or piece over
    40 decodes of 64 chunks would show as thousands of blocks."""
    data = random.Random(9).randbytes(64 * 8192)
    signed = _sign(data, mode, 8192)
    body = b"".join(signed.body)
    pieces = [body[i : i + 3000] for i in range(0, len(body), 3000)]
    bad = bytearray(body)
    bad[len(body) // 2] ^= 1

    def decode() -> None:
        for b in (pieces, [bytes(bad)]):
            dec = _make(ChunkDecoder, signed, len(data))
            try:
                for piece in b:
                    dec.feed_pieces(piece)
                dec.finish()
            except SignatureError:
                pass

    decode()
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(40):
        decode()
    gc.collect()
    assert sys.getallocatedblocks() - before < 500


def test_the_decoder_suites_pass_in_pure_python() -> None:
    """The decoder's own tests, with the accelerator switched off."""
    env = {**os.environ, "SIGV4KIT_PURE_PYTHON": "1"}
    env.pop("SIGV4KIT_REQUIRE_SPEEDUPS", None)
    check = "from sigv4kit.streaming import ACCELERATED; assert not ACCELERATED"
    subprocess.run([sys.executable, "-c", check], env=env, check=True, timeout=60)
    suites = [
        "tests/test_streaming.py",
        "tests/test_streaming_pieces.py",
        "tests/test_streaming_roundtrip.py",
        "tests/test_verifier_streaming.py",
        "tests/test_hardening_tamper.py",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *suites],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@accelerated
def test_c_refuses_a_second_thread_while_one_is_inside() -> None:
    """hashlib and zlib let go of the GIL inside the C loops: a second thread
    feeding the same decoder then gets a clear error, not a race."""
    data = random.Random(3).randbytes(100_000)
    signed = _sign(data, "streaming-unsigned-trailer", 65536, "sha256")
    body = b"".join(signed.body)
    dec = _make(ChunkDecoder, signed, len(data))
    seen: list[BaseException] = []
    started: list[bool] = []
    real = dec._ck

    def step(piece: Any, state: int) -> int:
        if started or not piece:
            return int(real(piece, state))
        started.append(True)

        def other() -> None:
            try:
                dec.feed_pieces(b"x")
            except BaseException as exc:
                seen.append(exc)
            else:
                seen.append(AssertionError("the second thread was let in"))

        t = threading.Thread(target=other)
        t.start()
        t.join()
        return int(real(piece, state))

    dec._ck = step
    dec.feed_pieces(body[:70_000])
    assert seen and isinstance(seen[0], RuntimeError)
    assert "another thread" in str(seen[0])
    dec._ck = real
    # the first thread's own calls go on: the state was not touched by the second
    assert dec.chunks == 2
