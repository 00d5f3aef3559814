"""The aws-chunked modes: the one literal <-> (mode, algorithm) table, the
framing constants, and the encoded length that follows from them.

``x-amz-content-sha256`` names the framing of the body: five literals for
three modes (signed chunks, signed chunks with a signed trailer, unsigned
chunks with a trailer) under two algorithms.  Every other module of the
package (and the Signer) asks this table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from ..canonical import EMPTY_SHA256
from ..errors import SigningError
from ..modes import (
    ALGORITHM_V4,
    ALGORITHM_V4A,
    MODE_LITERALS,
    STREAMING_LITERALS,
    parse_algorithm,
)

DEFAULT_CHUNK_SIZE = 65536
#: S3 rejects a chunk under 8 KiB unless it is the last one.
MIN_CHUNK_SIZE = 8192
#: Default decoder limits (MinIO's values).
MAX_CHUNK_SIZE = 16 * 1024 * 1024
MAX_LINE_LENGTH = 4096
MAX_TRAILERS = 16
#: Most chunks one body may have: 5 GiB (S3's largest single PUT) in 8 KiB
#: chunks fits; a body of one-byte chunks (each a trip through the state
#: machine) cannot keep a server busy much longer than that.
MAX_CHUNKS = 1 << 20
# X-Amz-Decoded-Content-Length: at most 19 digits, so int() is cheap and
# never meets Python's 4300-digit conversion limit.
_MAX_LENGTH_DIGITS = 19

_MODES = ("streaming", "streaming-trailer", "streaming-unsigned-trailer")
# (mode, algorithm) -> literal: the aws-chunked rows of the one table in sigv4kit.modes.
_LITERALS: dict[tuple[str, str], str] = {k: v for k, v in MODE_LITERALS.items() if k[0] in _MODES}
_SIG_FIELD = {ALGORITHM_V4: 64, ALGORITHM_V4A: 144}  # signature width in the body
_V4A_PAD = "*"
_CHUNK_SIG = b";chunk-signature="
_TRAILER_SIG_NAME = "x-amz-trailer-signature"
_CRLF = b"\r\n"
# The middle of every chunk string to sign: the SHA-256 of the (empty) chunk headers.
_EMPTY_MID = b"\n" + EMPTY_SHA256.encode("ascii") + b"\n"
_sha256 = hashlib.sha256

SignFn = Callable[[bytes], str]
"""string-to-sign bytes -> hex signature (HMAC for SigV4, ECDSA for SigV4a)."""
VerifyFn = Callable[[bytes, str], bool]
"""(string-to-sign bytes, hex signature) -> whether it verifies (SigV4a)."""


def _algorithm(algorithm: str) -> str:
    if algorithm in (ALGORITHM_V4, ALGORITHM_V4A):
        return algorithm
    return parse_algorithm(algorithm)


def _mode(mode: str) -> str:
    if mode not in _MODES:
        raise SigningError(f"streaming mode must be one of {list(_MODES)}, got {mode!r}")
    return mode


def payload_hash_for(mode: str, algorithm: str = ALGORITHM_V4) -> str:
    """The ``x-amz-content-sha256`` literal of a streaming mode."""
    return _LITERALS[(_mode(mode), _algorithm(algorithm))]


def streaming_mode(payload_hash: str) -> tuple[str, str | None] | None:
    """``(mode, algorithm)`` of an ``x-amz-content-sha256`` literal, else ``None``.

    The algorithm is ``None`` for ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``,
    which both algorithms use.
    """
    return STREAMING_LITERALS.get(payload_hash)


def _sig_field(mode: str, algorithm: str) -> int:
    return 0 if mode == "streaming-unsigned-trailer" else _SIG_FIELD[algorithm]


def _chunk_overhead(size: int, sig: int) -> int:
    # "<hex>[;chunk-signature=<sig>]\r\n" + data + "\r\n"
    ext = len(_CHUNK_SIG) + sig if sig else 0
    return len(f"{size:x}") + ext + 2 + size + 2


def encoded_length(
    decoded_length: int,
    *,
    mode: str = "streaming",
    algorithm: str = ALGORITHM_V4,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    trailers: Sequence[tuple[str, int]] = (),
) -> int:
    """The exact ``Content-Length`` of an aws-chunked body.

    ``trailers`` lists ``(name, value_length)`` of each trailing header.  The
    S3 example (66560 bytes in 64 KiB chunks, signed) gives 66824.
    """
    mode = _mode(mode)
    sig = _sig_field(mode, _algorithm(algorithm))
    if decoded_length < 0:
        raise SigningError("the decoded length cannot be negative")
    full, last = divmod(decoded_length, chunk_size)
    total = full * _chunk_overhead(chunk_size, sig)
    if last:
        total += _chunk_overhead(last, sig)
    total += 1 + (len(_CHUNK_SIG) + sig if sig else 0) + 2  # "0[;chunk-signature=..]\r\n"
    if mode != "streaming":
        for name, vlen in trailers:
            total += len(name) + 1 + vlen + 2
        if mode == "streaming-trailer":
            total += len(_TRAILER_SIG_NAME) + 1 + sig + 2
    return total + 2


def _string_to_sign_prefix(algorithm: str, kind: str, amz_date: str, scope: str) -> bytes:
    return f"{algorithm}-{kind}\n{amz_date}\n{scope}\n".encode("ascii")


def _chain_start(
    algorithm: str | None, seed_signature: str | None, amz_date: str | None, scope: str | None
) -> tuple[bytes, bytes, str]:
    """``(chunk prefix, trailer prefix, seed)`` of a signature chain: the
    string-to-sign prefixes (empty when ``algorithm`` is ``None``, unsigned)
    and the seed signature without SigV4a's ``*`` padding.  The encoder and
    the decoder start their chains here, after checking their arguments."""
    seed = (seed_signature or "").rstrip(_V4A_PAD)
    if algorithm is None:
        return b"", b"", seed
    assert amz_date is not None and scope is not None
    return (
        _string_to_sign_prefix(algorithm, "PAYLOAD", amz_date, scope),
        _string_to_sign_prefix(algorithm, "TRAILER", amz_date, scope),
        seed,
    )


def _check_chunk_size(chunk_size: int) -> int:
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool):
        raise SigningError("chunk_size must be an integer")
    if chunk_size < MIN_CHUNK_SIZE:
        raise SigningError(
            f"chunk_size {chunk_size} is below S3's minimum of {MIN_CHUNK_SIZE} bytes "
            "(only the last chunk may be smaller)"
        )
    if chunk_size > MAX_CHUNK_SIZE:
        raise SigningError(
            f"chunk_size {chunk_size} is above {MAX_CHUNK_SIZE} bytes (16 MiB), which "
            "servers such as MinIO reject"
        )
    return chunk_size


def _hmac_pads(sign: SignFn | None, prefix: bytes) -> tuple[Any, Any] | None:
    """The HMAC pad states behind ``sign``, the string-to-sign ``prefix``
    absorbed, when ``sign`` is an :class:`~sigv4kit.keys.HmacKey`'s
    ``hexdigest`` (what the Signer and the Verifier pass); else ``None``.

    The encoder's and decoder's hot loops then run each chunk's HMAC from
    copies of these, with no Python call and the prefix hashed once."""
    from ..keys import HmacKey

    key = getattr(sign, "__self__", None)
    if not isinstance(key, HmacKey) or getattr(sign, "__func__", None) is not HmacKey.hexdigest:
        return None
    inner = key._inner.copy()
    inner.update(prefix)
    return inner, key._outer
