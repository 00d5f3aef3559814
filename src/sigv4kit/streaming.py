"""aws-chunked streaming uploads: the encoder (client) and the decoder (server).

S3 lets a client sign a body it has not read yet: the request is signed
with a *literal* payload hash (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` and
friends), giving the *seed signature*, and the body is sent in the
``aws-chunked`` framing where every chunk carries a signature chained from
the previous one::

    <hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n      (repeated)
    0;chunk-signature=<sig>\\r\\n                          (final, empty chunk)
    [x-amz-checksum-crc32c:<base64>\\r\\n                  (trailer modes)
     x-amz-trailer-signature:<sig>\\r\\n]
    \\r\\n

The chunk string to sign is::

    AWS4-HMAC-SHA256-PAYLOAD \\n <amz-date> \\n <scope> \\n <previous signature>
        \\n <sha256 of ""> \\n <sha256 of the chunk data>

and the trailer's ``AWS4-HMAC-SHA256-TRAILER`` ... ``<previous signature> \\n
<sha256 of the canonical trailer lines>``.  SigV4a uses the
``AWS4-ECDSA-P256-SHA256`` prefix and, in the body, pads each (variable
length, DER) signature to 144 characters with ``*`` as aws-c-auth does, so
the encoded length is known before signing.  ``STREAMING-UNSIGNED-PAYLOAD-
TRAILER`` drops the chunk signatures and protects the body with the
trailing checksum alone.

Everything here is sans-IO, after h11: :class:`ChunkEncoder` turns data
into framed bytes, :class:`ChunkDecoder` turns framed bytes back into data.
Neither reads a socket or a clock.  :func:`prepare_streaming` and
:class:`AwsChunkedBody` wrap the encoder for the :class:`~sigv4kit.Signer`
and for HTTP clients (an iterator and an async iterator of ``bytes`` with a
``len()``), reading files and iterables a chunk at a time: memory stays
constant whatever the size of the upload.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, cast

from .canonical import EMPTY_SHA256, header_pairs
from .checksums import (
    CHECKSUM_ALGORITHMS,
    CHECKSUM_HEADERS,
    Checksum,
    b64_length,
    checksum_for_header,
    new_checksum,
)
from .config import ALGORITHM_V4, ALGORITHM_V4A
from .errors import (
    BadDigest,
    ChunkLineTooLong,
    ChunkLineTooLongError,
    ChunkTooLarge,
    ChunkTooLargeError,
    IncompleteBody,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    SignatureDoesNotMatch,
    SignatureError,
    SigningError,
    TooManyChunks,
    TooManyChunksError,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "STREAMING_ECDSA_PAYLOAD",
    "STREAMING_ECDSA_PAYLOAD_TRAILER",
    "STREAMING_PAYLOAD",
    "STREAMING_PAYLOAD_TRAILER",
    "STREAMING_UNSIGNED_PAYLOAD_TRAILER",
    "AwsChunkedBody",
    "ChunkDecoder",
    "ChunkEncoder",
    "ChunkLineTooLong",
    "ChunkLineTooLongError",
    "ChunkTooLarge",
    "ChunkTooLargeError",
    "InvalidChunkSizeError",
    "MalformedTrailerError",
    "StreamingPlan",
    "TooManyChunks",
    "TooManyChunksError",
    "aiter_decoded",
    "decoder_from_headers",
    "encoded_length",
    "iter_decoded",
    "payload_hash_for",
    "prepare_streaming",
    "streaming_mode",
]

STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA_PAYLOAD = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_PAYLOAD_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"

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
_LITERALS: dict[tuple[str, str], str] = {
    ("streaming", ALGORITHM_V4): STREAMING_PAYLOAD,
    ("streaming-trailer", ALGORITHM_V4): STREAMING_PAYLOAD_TRAILER,
    ("streaming-unsigned-trailer", ALGORITHM_V4): STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    ("streaming", ALGORITHM_V4A): STREAMING_ECDSA_PAYLOAD,
    ("streaming-trailer", ALGORITHM_V4A): STREAMING_ECDSA_PAYLOAD_TRAILER,
    ("streaming-unsigned-trailer", ALGORITHM_V4A): STREAMING_UNSIGNED_PAYLOAD_TRAILER,
}
_SIG_FIELD = {ALGORITHM_V4: 64, ALGORITHM_V4A: 144}  # signature width in the body
_V4A_PAD = "*"
_CHUNK_SIG = b";chunk-signature="
_TRAILER_SIG_NAME = "x-amz-trailer-signature"
_CRLF = b"\r\n"
_sha256 = hashlib.sha256

SignFn = Callable[[bytes], str]
"""string-to-sign bytes -> hex signature (HMAC for SigV4, ECDSA for SigV4a)."""
VerifyFn = Callable[[bytes, str], bool]
"""(string-to-sign bytes, hex signature) -> whether it verifies (SigV4a)."""


# --------------------------------------------------------------------------
# Modes and lengths
# --------------------------------------------------------------------------
def _algorithm(algorithm: str) -> str:
    if algorithm in (ALGORITHM_V4, ALGORITHM_V4A):
        return algorithm
    a = algorithm.lower() if isinstance(algorithm, str) else ""
    if a in ("sigv4", "v4"):
        return ALGORITHM_V4
    if a in ("sigv4a", "v4a"):
        return ALGORITHM_V4A
    raise SigningError(
        f"algorithm must be {ALGORITHM_V4!r} or {ALGORITHM_V4A!r}, got {algorithm!r}"
    )


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
    for (mode, alg), literal in _LITERALS.items():
        if literal == payload_hash:
            return mode, None if mode == "streaming-unsigned-trailer" else alg
    return None


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


def canonical_trailers(trailers: Iterable[tuple[str, str]]) -> str:
    """The text whose SHA-256 the trailer signature covers.

    Names lowercased, values trimmed, sorted by name, each line ending in
    ``\\n`` -- the same rules as canonical headers, as aws-c-auth does it.
    """
    lines = sorted((n.strip().lower(), v.strip()) for n, v in trailers)
    return "".join(f"{n}:{v}\n" for n, v in lines)


def _check_trailer(name: str, value: str) -> tuple[str, str]:
    pairs = header_pairs([(name, value)])
    lname = pairs[0][0].lower()
    if lname == _TRAILER_SIG_NAME:
        raise SigningError(f"{_TRAILER_SIG_NAME} is added by sigv4kit; do not pass it as a trailer")
    if "\r" in value or "\n" in value:
        raise SigningError(f"trailer {name!r} has a line break in its value")
    return lname, pairs[0][1].strip()


# --------------------------------------------------------------------------
# Encoder (sans-IO)
# --------------------------------------------------------------------------
class ChunkEncoder:
    """Turns payload bytes into aws-chunked bytes, signing as it goes.

    Feed data with :meth:`send` (or :meth:`send_parts`, which avoids a
    copy); every full ``chunk_size`` of data comes back framed and signed.
    :meth:`finish` frames the rest, the final empty chunk and the trailer.
    :attr:`signature` is the running (latest) signature: the seed, then
    each chunk's, then the trailer's.

    ``decoded_length``, when given, is enforced: feeding more raises at
    once, finishing with less raises -- the ``X-Amz-Decoded-Content-Length``
    already signed would otherwise be a lie the server rejects.
    """

    def __init__(
        self,
        mode: str = "streaming",
        *,
        algorithm: str = ALGORITHM_V4,
        seed_signature: str | None = None,
        amz_date: str | None = None,
        scope: str | None = None,
        sign: SignFn | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        checksum: str | None = None,
        trailer_names: Sequence[str] = (),
        decoded_length: int | None = None,
    ) -> None:
        self.mode = _mode(mode)
        self.algorithm = _algorithm(algorithm)
        self.signed = mode != "streaming-unsigned-trailer"
        self.chunk_size = _check_chunk_size(chunk_size)
        if self.signed:
            if not seed_signature or amz_date is None or scope is None or sign is None:
                raise SigningError(
                    f"mode {mode!r} signs every chunk: seed_signature, amz_date, scope and "
                    "sign are required"
                )
            alg = self.algorithm
            self._payload_prefix = _string_to_sign_prefix(alg, "PAYLOAD", amz_date, scope)
            self._trailer_prefix = _string_to_sign_prefix(alg, "TRAILER", amz_date, scope)
        else:
            self._payload_prefix = self._trailer_prefix = b""
        self._sign = sign
        self._prev = (seed_signature or "").rstrip(_V4A_PAD)
        self._width = _sig_field(self.mode, self.algorithm)
        self._empty_mid = b"\n" + EMPTY_SHA256.encode("ascii") + b"\n"
        if checksum is not None and self.mode == "streaming":
            raise SigningError(
                f"checksum {checksum!r} is sent as a trailer: use mode 'streaming-trailer' "
                "or 'streaming-unsigned-trailer'"
            )
        self._checksum: Checksum | None = new_checksum(checksum) if checksum else None
        names = [n.strip().lower() for n in trailer_names]
        if self._checksum is not None and self._checksum.header not in names:
            names.insert(0, self._checksum.header)
        if names and self.mode == "streaming":
            raise SigningError("mode 'streaming' has no trailer; use a trailer mode")
        self.trailer_names: tuple[str, ...] = tuple(names)
        self.decoded_length = decoded_length
        self.bytes_in = 0
        # The chunk being filled: references to its data pieces (immutable
        # bytes, or views of them) and their running SHA-256, so that data
        # arriving in small blocks is neither copied nor hashed twice.
        self._held: list[bytes | memoryview] = []
        self._filled = 0
        self._hash: Any = None
        # The CRLF after a chunk's data is sent in front of the next chunk's
        # header: two pieces per chunk (framing, data) instead of three.
        self._crlf_owed = False
        self._finished = False
        if self.signed:
            self._full_head = b"\r\n%x;chunk-signature=" % self.chunk_size
        else:
            self._full_head = b"\r\n%x\r\n" % self.chunk_size

    @property
    def signature(self) -> str:
        return self._prev

    # -- framing ----------------------------------------------------------
    def _next_signature(self, sts: bytes) -> str:
        assert self._sign is not None
        sig = self._sign(sts)
        self._prev = sig
        return sig

    def _head(self, size: int, digest: str) -> bytes:
        """The framing in front of a chunk whose data hashes to ``digest``
        (the owed CRLF of the previous chunk included)."""
        lead = _CRLF if self._crlf_owed else b""
        self._crlf_owed = size > 0
        if not self.signed:
            return b"%s%x\r\n" % (lead, size)
        sts = b"".join(
            (self._payload_prefix, self._prev.encode("ascii"), self._empty_mid, digest.encode())
        )
        sig = self._next_signature(sts)
        if self._width != 64:
            sig = sig.ljust(self._width, _V4A_PAD)
        return b"%s%x;chunk-signature=%s\r\n" % (lead, size, sig.encode("ascii"))

    def _count(self, n: int) -> None:
        if self._finished:
            raise SigningError("the encoder is finished; create a new one for another body")
        self.bytes_in += n
        if self.decoded_length is not None and self.bytes_in > self.decoded_length:
            self.bytes_in -= n
            raise self._too_long()

    def _too_long(self) -> SigningError:
        return SigningError(
            f"the body has more than the {self.decoded_length} bytes declared in "
            "X-Amz-Decoded-Content-Length (which is signed); fix the declared length"
        )

    def _hold(self, piece: bytes | memoryview) -> None:
        if self._hash is None:
            self._hash = _sha256(piece) if self.signed else None
        elif self.signed:
            self._hash.update(piece)
        if self._checksum is not None:
            self._checksum.update(piece)
        self._held.append(piece)
        self._filled += len(piece)

    def _release(self, out: list[bytes | memoryview]) -> None:
        """Frame the held chunk: its header, then its data pieces as held."""
        h = self._hash
        out.append(self._head(self._filled, h.hexdigest() if h is not None else ""))
        out.extend(self._held)
        self._held = []
        self._filled = 0
        self._hash = None

    def send_parts(self, data: bytes | bytearray | memoryview) -> list[bytes | memoryview]:
        """Like :meth:`send`, as a list of pieces that may share ``data``'s memory.

        Nothing is copied when ``data`` is ``bytes``: a full chunk inside it
        comes back as a ``memoryview`` slice, and a partial chunk is kept by
        reference until the chunk is complete.  Other buffers (which their
        owner may reuse) share only their full chunks; do not modify
        ``data`` until the pieces have been written out.  Concatenated,
        the pieces of every call and of :meth:`finish` are the encoded body.
        """
        owned = type(data) is bytes
        mv = memoryview(data) if owned else memoryview(data).cast("B")
        n = len(mv)
        self._count(n)
        out: list[bytes | memoryview] = []
        cs = self.chunk_size
        pos = 0
        if self._filled:
            need = cs - self._filled
            if n < need:
                self._hold(mv if owned else bytes(mv))
                return out
            self._hold(mv[:need] if owned or need == n else bytes(mv[:need]))
            self._release(out)
            pos = need
        checksum = self._checksum
        while n - pos >= cs:
            part = mv[pos : pos + cs]
            if checksum is not None:
                checksum.update(part)
            out.append(self._head(cs, _sha256(part).hexdigest() if self.signed else ""))
            out.append(part)
            pos += cs
        if pos < n:
            self._hold(mv[pos:] if owned else bytes(mv[pos:]))
        return out

    def send(self, data: bytes | bytearray | memoryview) -> bytes:
        """Feed payload bytes; returns the framed chunks completed so far."""
        parts = self.send_parts(data)
        return b"".join(parts) if parts else b""

    def encode_chunk(self, chunk: bytes | memoryview) -> bytes:
        """Frame exactly one chunk (``len(chunk) == chunk_size``) as one ``bytes``.

        The chunk's CRLF is included, so the result is a complete frame
        (after any CRLF still owed by the previous piece).  Prefer
        :meth:`chunk_head`, which copies nothing.
        """
        if self._filled or len(chunk) != self.chunk_size or self._finished:
            return self.send(chunk)
        parts = [self.chunk_head(chunk), chunk, _CRLF]
        self._crlf_owed = False
        return b"".join(parts)

    def encode_pieces(
        self, source: Iterable[bytes | memoryview], *, check: bool = False
    ) -> Iterator[bytes | memoryview]:
        """Frame every data piece of ``source``: the whole body but its end.

        Yields the framing (``bytes``) and the data (``source``'s own
        objects, or ``memoryview`` slices of them) of every complete chunk;
        the pieces must be immutable (``bytes``, or views of ``bytes``),
        since a partial chunk is held by reference until it is complete.
        With ``check=True`` pieces other than ``bytes`` are copied first
        (their producer may reuse them) and a ``str`` piece is refused.
        Follow with :meth:`finish_parts`.  Same output as :meth:`send_parts`
        piece by piece, in one loop: this is the signer's hot path.
        """
        # Hot loop (longer than it would be otherwise, and why): its cost
        # beside the SHA-256 of each 64 KiB chunk (~40 us) is what keeps
        # streaming within a few percent of hashlib, so the per-chunk state
        # lives in locals, a chunk inside a piece is signed without a call,
        # and blocks smaller than a chunk are held (not copied) with their
        # hash running.  The encoder's attributes are written back at the end.
        cs = self.chunk_size
        signed = self.signed
        sign = self._sign
        prefix = self._payload_prefix
        mid = self._empty_mid
        width = self._width
        checksum = self._checksum.update if self._checksum is not None else None
        sha = _sha256
        full_head = self._full_head
        declared = self.decoded_length if self.decoded_length is not None else 1 << 62
        total = self.bytes_in
        prev = self._prev
        held = self._held
        filled = self._filled
        h = self._hash
        lead = _CRLF if self._crlf_owed else b""
        if self._finished:
            raise SigningError("the encoder is finished; create a new one for another body")
        try:
            for piece in source:
                if check and type(piece) is not bytes:
                    piece = _as_bytes(piece)
                n = len(piece)
                total += n
                if total > declared:
                    total -= n
                    raise self._too_long()
                if checksum is not None:
                    checksum(piece)
                pos = 0
                if filled or n < cs:
                    need = cs - filled
                    if n < need:
                        if signed:
                            if h is None:
                                h = sha(piece)
                            else:
                                h.update(piece)
                        held.append(piece)
                        filled += n
                        continue
                    part = piece if need == n else memoryview(piece)[:need]
                    held.append(part)
                    if signed:
                        if h is None:
                            h = sha(part)
                        else:
                            h.update(part)
                        prev = sign(prefix + prev.encode() + mid + h.hexdigest().encode())  # type: ignore[misc]
                        sig = prev.encode() if width == 64 else prev.ljust(width, _V4A_PAD).encode()
                        yield b"%s%x;chunk-signature=%s\r\n" % (lead, cs, sig)
                    else:
                        yield b"%s%x\r\n" % (lead, cs)
                    lead = _CRLF
                    yield from held
                    held = []
                    filled = 0
                    h = None
                    pos = need
                    if pos == n:
                        continue
                mv = piece if type(piece) is memoryview else memoryview(piece)
                while n - pos >= cs:
                    part = mv[pos : pos + cs]
                    if signed:
                        prev = sign(prefix + prev.encode() + mid + sha(part).hexdigest().encode())  # type: ignore[misc]
                        if width == 64:
                            yield (full_head if lead else full_head[2:]) + prev.encode() + _CRLF
                        else:
                            sig = prev.ljust(width, _V4A_PAD).encode()
                            yield b"%s%x;chunk-signature=%s\r\n" % (lead, cs, sig)
                    else:
                        yield full_head if lead else full_head[2:]
                    lead = _CRLF
                    yield part
                    pos += cs
                if pos < n:
                    part = mv[pos:]
                    if signed:
                        h = sha(part)
                    held.append(part)
                    filled = n - pos
        finally:
            self.bytes_in = total
            self._prev = prev
            self._held = held
            self._filled = filled
            self._hash = h
            self._crlf_owed = bool(lead)

    def chunk_head(self, chunk: bytes | memoryview) -> bytes:
        """The framing to send in front of ``chunk``, one full chunk of data.

        The hot path of :class:`AwsChunkedBody` (once per 64 KiB, beside a
        ~40 us SHA-256): the caller sends the returned header, then ``chunk``
        itself, uncopied.  ``chunk`` must be exactly ``chunk_size`` bytes
        with no data held from earlier calls; use :meth:`send_parts` for
        arbitrary data.
        """
        n = self.chunk_size
        if self._filled or len(chunk) != n or self._finished:
            raise SigningError("chunk_head() takes exactly one chunk_size piece of data")
        bytes_in = self.bytes_in + n
        if self.decoded_length is not None and bytes_in > self.decoded_length:
            self._count(n)  # raises the explanatory error
        self.bytes_in = bytes_in
        if self._checksum is not None:
            self._checksum.update(chunk)
        lead = self._full_head if self._crlf_owed else self._full_head[2:]
        self._crlf_owed = True
        if not self.signed:
            return lead
        assert self._sign is not None
        sig = self._sign(
            self._payload_prefix
            + self._prev.encode("ascii")
            + self._empty_mid
            + _sha256(chunk).hexdigest().encode("ascii")
        )
        self._prev = sig
        if self._width != 64:
            sig = sig.ljust(self._width, _V4A_PAD)
        return lead + sig.encode("ascii") + _CRLF

    def finish(self, trailers: Iterable[tuple[str, str]] = ()) -> bytes:
        """Frame the remaining data, the final chunk and the trailer section.

        ``trailers`` are extra trailing headers (the checksum trailer, if
        any, is added here); their names must be the ``trailer_names`` the
        encoder was created with, which ``X-Amz-Trailer`` announced.
        """
        return b"".join(self.finish_parts(trailers))

    def finish_parts(self, trailers: Iterable[tuple[str, str]] = ()) -> list[bytes | memoryview]:
        """Like :meth:`finish`, as pieces (the last data is not copied)."""
        if self._finished:
            raise SigningError("finish() was already called")
        if self.decoded_length is not None and self.bytes_in != self.decoded_length:
            raise SigningError(
                f"the body ended after {self.bytes_in} bytes but X-Amz-Decoded-Content-Length "
                f"declared {self.decoded_length}; the server would reject the upload"
            )
        out: list[bytes | memoryview] = []
        if self._filled:
            self._release(out)
        self._finished = True
        tail = [self._head(0, EMPTY_SHA256)]
        if self.mode != "streaming":
            lines = [_check_trailer(n, v) for n, v in trailers]
            if self._checksum is not None:
                lines.insert(0, (self._checksum.header, self._checksum.b64digest()))
            got = [n for n, _ in lines]
            if sorted(got) != sorted(self.trailer_names) or len(set(got)) != len(got):
                raise SigningError(
                    f"trailers {got} do not match the X-Amz-Trailer names "
                    f"{list(self.trailer_names)} announced in the signed headers"
                )
            for name, value in lines:
                tail.append(f"{name}:{value}\r\n".encode())
            if self.signed:
                canon = canonical_trailers(lines).encode()
                sts = b"".join(
                    (
                        self._trailer_prefix,
                        self._prev.encode("ascii"),
                        b"\n",
                        hashlib.sha256(canon).hexdigest().encode("ascii"),
                    )
                )
                sig = self._next_signature(sts)
                tail.append(f"{_TRAILER_SIG_NAME}:{sig.ljust(self._width, _V4A_PAD)}\r\n".encode())
        tail.append(_CRLF)
        out.append(b"".join(tail))
        return out


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


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------
class _Source:
    """Where the payload comes from, and its length when knowable without reading."""

    def __init__(self, body: object) -> None:
        self.body = body
        self.kind: str
        self.length: int | None = None
        self.start = 0
        self.used = False
        if body is None:
            self.kind, self.body, self.length = "bytes", b"", 0
        elif isinstance(body, str):
            data = body.encode("utf-8")
            self.kind, self.body, self.length = "bytes", data, len(data)
        elif isinstance(body, (bytes, bytearray, memoryview)):
            mv = memoryview(body).cast("B") if not isinstance(body, bytes) else body
            self.kind, self.body, self.length = "bytes", mv, len(mv)
        elif hasattr(body, "read"):
            self.kind = "file"
            self.length, self.start = _file_remaining(body)
        elif hasattr(body, "__aiter__"):
            self.kind = "aiter"
        elif isinstance(body, (list, tuple)):
            self.kind = "iter"
            try:
                self.length = sum(len(p) for p in body)
            except TypeError:
                raise SigningError("a list/tuple body must hold bytes pieces") from None
        elif hasattr(body, "__iter__"):
            self.kind = "iter"
        else:
            raise SigningError(
                f"cannot stream a body of type {type(body).__name__}: pass bytes, str, a binary "
                "file, an iterable of bytes or an async iterable of bytes"
            )

    @property
    def is_async(self) -> bool:
        return self.kind == "aiter"

    @property
    def replayable(self) -> bool:
        return (
            self.kind == "bytes"
            or (self.kind == "file" and self.length is not None)
            or (self.kind == "iter" and isinstance(self.body, (list, tuple)))
        )

    def _claim(self) -> None:
        if self.used and not self.replayable:
            raise SigningError(
                "this body (a one-shot iterable or unseekable file) was already sent; "
                "sign the request again with a fresh body"
            )
        self.used = True

    def data(self, size: int) -> tuple[Iterable[Any], bool]:
        """The body's data pieces, and whether they still need checking.

        Files are read ``size`` bytes at a time; an iterable is handed over
        as it is, unchecked (the encoder checks and copies what is not
        ``bytes``), sparing a generator step per block.
        """
        if self.kind == "iter":
            self._claim()
            return self.body, True  # type: ignore[return-value]
        return self.pieces(size), False

    def pieces(self, size: int) -> Iterator[bytes | memoryview]:
        if self.kind == "aiter":
            raise SigningError(
                "the body is an async iterable: iterate the encoded body with `async for` "
                "(httpx.AsyncClient, aiohttp)"
            )
        self._claim()
        body = self.body
        if self.kind == "bytes":
            # One piece: the encoder slices it, chunk by chunk, as it goes.
            yield body if isinstance(body, memoryview) else memoryview(body)  # type: ignore[arg-type]
        elif self.kind == "file":
            if self.length is not None:
                body.seek(self.start)  # type: ignore[attr-defined]
            read = body.read  # type: ignore[attr-defined]
            while True:
                piece = read(size)
                if not piece:
                    break
                yield piece if type(piece) is bytes else _as_bytes(piece)
        else:
            for piece in body:  # type: ignore[attr-defined]
                yield piece if type(piece) is bytes else _as_bytes(piece)

    async def apieces(self, size: int) -> AsyncIterator[bytes | memoryview]:
        if self.kind != "aiter":
            for piece in self.pieces(size):
                yield piece
            return
        self._claim()
        async for piece in self.body:  # type: ignore[attr-defined]
            yield _as_bytes(piece)


def _as_bytes(piece: object) -> bytes | memoryview:
    if isinstance(piece, bytes):
        return piece
    if isinstance(piece, (bytearray, memoryview)):
        return bytes(piece)  # the producer may reuse its buffer
    if isinstance(piece, str):
        raise SigningError(
            "the body produced str, not bytes: open files in binary mode ('rb') and "
            "encode text before streaming it"
        )
    raise SigningError(f"the body produced {type(piece).__name__}, expected bytes")


def _file_remaining(f: Any) -> tuple[int | None, int]:
    """Bytes from the current position to the end, without reading; ``None`` if unseekable."""
    try:
        if not f.seekable():
            return None, 0
        pos = f.tell()
        end = f.seek(0, 2)
        f.seek(pos)
    except (AttributeError, OSError, ValueError):
        return None, 0
    if not isinstance(pos, int) or not isinstance(end, int):
        return None, 0
    return max(0, end - pos), pos


# --------------------------------------------------------------------------
# Plan and body (what the Signer uses)
# --------------------------------------------------------------------------
class AwsChunkedBody:
    """The aws-chunked body to send: an iterator (and async iterator) of bytes.

    ``len()`` is the exact encoded length (the ``Content-Length`` sent), so
    ``requests`` sends it with a fixed length instead of HTTP chunking.  A
    body made from bytes, a list or a seekable file can be iterated again
    (for a retry): each iteration starts from the beginning, re-signing the
    chunks (the chain is deterministic for SigV4).  One yielded ``bytes``
    per chunk keeps memory at about two chunks.
    """

    def __init__(
        self, plan: StreamingPlan, seed_signature: str, amz_date: str, scope: str, sign: SignFn
    ) -> None:
        self._plan = plan
        self._seed = seed_signature
        self._amz_date = amz_date
        self._scope = scope
        self._sign = sign
        self._it: Iterator[bytes] | None = None
        self._ait: AsyncIterator[bytes] | None = None
        self.content_length = plan.content_length

    def _encoder(self) -> ChunkEncoder:
        p = self._plan
        return ChunkEncoder(
            p.mode,
            algorithm=p.algorithm,
            seed_signature=self._seed,
            amz_date=self._amz_date,
            scope=self._scope,
            sign=self._sign,
            chunk_size=p.chunk_size,
            checksum=p.checksum,
            trailer_names=p.trailer_names,
            decoded_length=p.decoded_length,
        )

    def __len__(self) -> int:
        return self.content_length

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._it is None:
            self._it = self._generate()
        return next(self._it)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._ait is None:
            self._ait = self._agenerate()
        return await self._ait.__anext__()

    def restart(self) -> AwsChunkedBody:
        """A fresh body over the same source (bytes, list or seekable file only)."""
        if not self._plan._source.replayable:
            raise SigningError("this body is a one-shot stream and cannot be sent twice")
        return AwsChunkedBody(self._plan, self._seed, self._amz_date, self._scope, self._sign)

    def pieces(self) -> Iterator[bytes | memoryview]:
        """The encoded body as bytes-like pieces, copying no payload data.

        Each chunk comes as two pieces: its framing (``bytes``: the previous
        chunk's CRLF, the size and the signature) and its data, which is the
        caller's own object or a ``memoryview`` slice of it (a body given
        as ``bytes``, a file's ``read()`` results, an iterable's ``bytes``
        blocks; ``bytearray`` and ``memoryview`` blocks of an iterable are
        copied once, since their producer may reuse them).  Concatenated,
        the pieces are the body; write each one out (``socket.sendall``,
        ``transport.write``, ``file.write`` all take memoryviews) or hold
        it, it is never modified afterwards.  This is the iterator the
        client adapters and the proxy send; iterating the body itself gives
        ``bytes`` instead (copying the data slices a ``bytes`` body needs).

        A body over bytes, a list or a seekable file may be iterated again.
        """
        enc = self._encoder()
        source, check = self._plan._source.data(enc.chunk_size)
        # chain() steps the encoder's generator from C: no extra frame per piece.
        return chain(enc.encode_pieces(source, check=check), self._finish(enc))

    def _finish(self, enc: ChunkEncoder) -> Iterator[bytes | memoryview]:
        yield from enc.finish_parts(self._plan.trailers)

    async def apieces(self) -> AsyncIterator[bytes | memoryview]:
        """:meth:`pieces` for ``async for`` (an async iterable body, or any other)."""
        if not self._plan._source.is_async:
            for part in self.pieces():
                yield part
            return
        enc = self._encoder()
        cs = enc.chunk_size
        async for piece in self._plan._source.apieces(cs):
            if len(piece) == cs and not enc._filled:
                yield enc.chunk_head(piece)
                yield piece
            else:
                for part in enc.send_parts(piece):
                    yield part
        for part in enc.finish_parts(self._plan.trailers):
            yield part

    def _generate(self) -> Iterator[bytes]:
        for piece in self.pieces():
            yield piece if type(piece) is bytes else bytes(piece)

    async def _agenerate(self) -> AsyncIterator[bytes]:
        async for piece in self.apieces():
            yield piece if type(piece) is bytes else bytes(piece)

    def __repr__(self) -> str:
        return f"<AwsChunkedBody {self._plan.payload_hash} content_length={self.content_length}>"


@dataclass(frozen=True)
class StreamingPlan:
    """What a streaming upload needs before it is signed.

    ``headers`` are the headers to send (the caller's, completed);
    ``unsigned`` names those that are sent but must stay out of the
    signature; :meth:`encode` takes the seed signature and gives the body.
    """

    mode: str
    algorithm: str
    payload_hash: str
    headers: list[tuple[str, str]]
    unsigned: frozenset[str]
    decoded_length: int
    content_length: int
    chunk_size: int
    checksum: str | None
    trailer_names: tuple[str, ...]
    trailers: tuple[tuple[str, str], ...]
    _source: _Source = field(repr=False)

    def encode(
        self, *, seed_signature: str, amz_date: str, scope: str, sign: SignFn
    ) -> AwsChunkedBody:
        """The aws-chunked body, chained from ``seed_signature``."""
        if self.mode != "streaming-unsigned-trailer" and not seed_signature:
            raise SigningError("a seed signature is required to sign the chunks")
        return AwsChunkedBody(self, seed_signature, amz_date, scope, sign)


def _find(headers: list[tuple[str, str]], lname: str) -> list[int]:
    return [i for i, (n, _) in enumerate(headers) if n.lower() == lname]


def prepare_streaming(
    mode: str,
    body: object,
    *,
    headers: Iterable[tuple[str, str]] | None = None,
    algorithm: str = ALGORITHM_V4,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    checksum: str | None = None,
    trailers: Iterable[tuple[str, str]] = (),
    decoded_length: int | None = None,
) -> StreamingPlan:
    """Plan an aws-chunked upload of ``body``: headers, lengths, payload literal.

    Headers added or completed: ``Content-Encoding`` (``aws-chunked``
    prepended to any coding given), ``X-Amz-Decoded-Content-Length``,
    ``X-Amz-Trailer`` (trailer modes) and an exact ``Content-Length``.  A
    ``Content-Length`` the caller gave is replaced by the exact value and
    stays signed; one added here is left unsigned (as in the S3 trailer
    example), because HTTP stacks own that header.  With a caller-given
    ``Transfer-Encoding`` no ``Content-Length`` is added.

    The decoded length comes from the body (bytes, a list of bytes, a
    seekable file from its current position) or, for one-shot streams,
    from ``decoded_length`` or the caller's ``X-Amz-Decoded-Content-Length``;
    the body is never read to measure it.

    Trailer modes send ``checksum`` (default ``"crc32"``, like the AWS SDKs,
    or the one named by a caller-given ``X-Amz-Trailer``) as a trailer, plus
    any extra ``trailers`` (name, value) given here.
    """
    mode = _mode(mode)
    alg = _algorithm(algorithm)
    chunk_size = _check_chunk_size(chunk_size)
    hdrs = header_pairs(headers)
    source = _Source(body)
    payload_hash = _LITERALS[(mode, alg)]

    # x-amz-content-sha256, if the caller set one, must agree.
    for i in _find(hdrs, "x-amz-content-sha256"):
        if hdrs[i][1].strip() != payload_hash:
            raise SigningError(
                f"X-Amz-Content-SHA256 {hdrs[i][1]!r} contradicts payload mode {mode!r} "
                f"({payload_hash}); drop the header or change the mode"
            )

    # Decoded length.
    given = _find(hdrs, "x-amz-decoded-content-length")
    declared: int | None = None
    if given:
        raw = hdrs[given[0]][1].strip()
        if len(given) > 1 or not raw.isdigit() or not raw.isascii():
            raise SigningError(
                f"X-Amz-Decoded-Content-Length must be one non-negative integer, got {raw!r}"
            )
        declared = int(raw)
    if decoded_length is not None:
        if not isinstance(decoded_length, int) or decoded_length < 0:
            raise SigningError("decoded_length must be a non-negative integer")
        if declared is not None and declared != decoded_length:
            raise SigningError(
                f"decoded_length={decoded_length} disagrees with the X-Amz-Decoded-Content-"
                f"Length header ({declared})"
            )
        declared = decoded_length
    length = source.length
    if length is None:
        if declared is None:
            raise SigningError(
                "the length of this body cannot be known without reading it (a one-shot "
                "iterable or an unseekable file); S3 needs X-Amz-Decoded-Content-Length, so "
                "pass it as a header (or decoded_length=), or pass bytes or a seekable file"
            )
        length = declared
    elif declared is not None and declared != length:
        raise SigningError(
            f"X-Amz-Decoded-Content-Length says {declared} bytes but the body has {length}"
        )

    # Trailers.
    extra = tuple(_check_trailer(n, v) for n, v in trailers)
    user_trailer = _find(hdrs, "x-amz-trailer")
    announced: list[str] = []
    for i in user_trailer:
        announced.extend(t.strip().lower() for t in hdrs[i][1].split(",") if t.strip())
    if mode == "streaming":
        if checksum is not None or extra or announced:
            raise SigningError(
                "mode 'streaming' has no trailer: use payload 'streaming-trailer' or "
                "'streaming-unsigned-trailer' to send a checksum or other trailers"
            )
        names: tuple[str, ...] = ()
    else:
        if checksum is not None and checksum not in CHECKSUM_ALGORITHMS:
            raise SigningError(
                f"checksum {checksum!r} is not supported; use one of {sorted(CHECKSUM_ALGORITHMS)}"
            )
        if checksum is None:
            named = [a for a in (checksum_for_header(t) for t in announced) if a]
            if len(named) > 1:
                raise SigningError("X-Amz-Trailer may name only one x-amz-checksum-* trailer")
            checksum = named[0] if named else ("crc32" if not extra else None)
        lst = [CHECKSUM_HEADERS[checksum]] if checksum else []
        for n, _ in extra:
            if checksum_for_header(n) is not None:
                raise SigningError(
                    f"trailer {n!r} is computed by sigv4kit; pass checksum={n[15:]!r} instead"
                )
            if n in lst:
                raise SigningError(f"trailer {n!r} is given twice")
            lst.append(n)
        names = tuple(lst)
        if announced and sorted(set(announced)) != sorted(names):
            raise SigningError(
                f"X-Amz-Trailer announces {announced} but the trailers sent would be "
                f"{list(names)}; pass checksum= / trailers= to match, or drop the header"
            )

    trailer_sizes = [(CHECKSUM_HEADERS[checksum], b64_length(checksum))] if checksum else []
    trailer_sizes += [(n, len(v.encode())) for n, v in extra]
    content_length = encoded_length(
        length, mode=mode, algorithm=alg, chunk_size=chunk_size, trailers=trailer_sizes
    )

    out = list(hdrs)
    ce = _find(out, "content-encoding")
    if ce:
        i = ce[0]
        codings = [c.strip() for c in out[i][1].split(",") if c.strip()]
        if not codings or codings[0].lower() != "aws-chunked":
            out[i] = (out[i][0], ",".join(["aws-chunked", *codings]))
    else:
        out.append(("Content-Encoding", "aws-chunked"))
    if given:
        out[given[0]] = (out[given[0]][0], str(length))
    else:
        out.append(("X-Amz-Decoded-Content-Length", str(length)))
    if names:
        if user_trailer:
            out[user_trailer[0]] = (out[user_trailer[0]][0], ",".join(names))
            for i in reversed(user_trailer[1:]):
                del out[i]
        else:
            out.append(("X-Amz-Trailer", ",".join(names)))
    unsigned: set[str] = set()
    cl = _find(out, "content-length")
    te = _find(out, "transfer-encoding")
    if te:
        if cl:
            raise SigningError(
                "both Transfer-Encoding and Content-Length were given; HTTP allows only one"
            )
    elif cl:
        out[cl[0]] = (out[cl[0]][0], str(content_length))
        for i in reversed(cl[1:]):
            del out[i]
    else:
        out.append(("Content-Length", str(content_length)))
        unsigned.add("content-length")

    return StreamingPlan(
        mode=mode,
        algorithm=alg,
        payload_hash=payload_hash,
        headers=out,
        unsigned=frozenset(unsigned),
        decoded_length=length,
        content_length=content_length,
        chunk_size=chunk_size,
        checksum=checksum,
        trailer_names=names,
        trailers=extra,
        _source=source,
    )


# --------------------------------------------------------------------------
# Decoder (sans-IO)
# --------------------------------------------------------------------------
_HEADER = 0
_DATA = 1
_DATA_CRLF = 2
_FINAL_CRLF = 3
_TRAILER = 4
_DONE = 5

_SIZE_RE = re.compile(rb"0|[1-9a-f][0-9a-f]{0,15}")
_SIG_V4_RE = re.compile(rb"[0-9a-f]{64}")
# A whole chunk header line, matched in place in the received buffer (no
# copy of the line); anything else (a line split across pieces, SigV4a's
# variable-length signatures, a malformed line) takes the line-by-line path,
# which gives the precise error.
_HEAD_V4_RE = re.compile(rb"(0|[1-9a-f][0-9a-f]{0,15});chunk-signature=([0-9a-f]{64})\r\n")
_HEAD_UNSIGNED_RE = re.compile(rb"(0|[1-9a-f][0-9a-f]{0,15})\r\n")
_SIG_V4A_RE = re.compile(rb"[0-9a-f]{2,144}\**")
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _hmac_pads(sign: SignFn | None, prefix: bytes) -> tuple[Any, Any] | None:
    """The HMAC pad states behind ``sign``, the string-to-sign ``prefix``
    absorbed, when ``sign`` is an :class:`~sigv4kit.keys.HmacKey`'s
    ``hexdigest`` (what the Verifier passes); else ``None``."""
    from .keys import HmacKey

    key = getattr(sign, "__self__", None)
    if not isinstance(key, HmacKey) or getattr(sign, "__func__", None) is not HmacKey.hexdigest:
        return None
    inner = key._inner.copy()
    inner.update(prefix)
    return inner, key._outer


class ChunkDecoder:
    """Turns an aws-chunked body back into payload bytes, verifying it.

    :meth:`feed` takes bytes as they arrive and returns the payload bytes
    that are now *verified*: a signed chunk's data is held back until its
    signature checked out, so a caller never sees data the signer did not
    send.  (``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` has no chunk signatures:
    data flows through at once and only the trailing checksum, checked at
    the end, protects it -- a caller must not commit it before
    :meth:`finish` returns.)  :meth:`finish` checks the body was complete.

    Errors (sticky: once raised, every later call raises the same):
    :class:`~sigv4kit.errors.IncompleteBody` (malformed framing, truncation,
    wrong decoded length), :class:`~sigv4kit.errors.SignatureDoesNotMatch`
    (chunk or trailer signature), :class:`~sigv4kit.errors.BadDigest`
    (checksum), :class:`InvalidChunkSizeError`, :class:`MalformedTrailerError`.

    ``sign`` (SigV4: the same callable the signer used, e.g. the cached
    key's ``hexdigest``) or ``verify`` (SigV4a) checks signatures;
    ``seed_signature`` is the request's, already verified by the caller.
    """

    def __init__(
        self,
        payload_hash: str,
        *,
        seed_signature: str | None = None,
        amz_date: str | None = None,
        scope: str | None = None,
        sign: SignFn | None = None,
        verify: VerifyFn | None = None,
        decoded_length: int | None = None,
        trailer_names: Iterable[str] = (),
        expected_checksum: tuple[str, str] | None = None,
        max_chunk_size: int = MAX_CHUNK_SIZE,
        max_line_length: int = MAX_LINE_LENGTH,
        min_chunk_size: int = MIN_CHUNK_SIZE,
        max_trailers: int = MAX_TRAILERS,
        max_chunks: int = MAX_CHUNKS,
    ) -> None:
        for label, limit in (
            ("max_chunk_size", max_chunk_size),
            ("max_line_length", max_line_length),
            ("max_trailers", max_trailers),
            ("max_chunks", max_chunks),
        ):
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise SigningError(f"{label} must be a positive integer, got {limit!r}")
        parsed = streaming_mode(payload_hash)
        if parsed is None:
            raise SigningError(f"{payload_hash!r} is not an aws-chunked payload literal")
        self.mode, alg = parsed
        self.payload_hash = payload_hash
        self.signed = alg is not None
        self.algorithm = alg or ALGORITHM_V4
        if self.signed:
            if not seed_signature or amz_date is None or scope is None:
                raise SigningError(
                    "a signed aws-chunked body needs seed_signature, amz_date and scope"
                )
            if sign is None and verify is None:
                raise SigningError(
                    "pass sign= (SigV4) or verify= (SigV4a) to check chunk signatures"
                )
            alg = self.algorithm
            self._payload_prefix = _string_to_sign_prefix(alg, "PAYLOAD", amz_date, scope)
            self._trailer_prefix = _string_to_sign_prefix(alg, "TRAILER", amz_date, scope)
        else:
            self._payload_prefix = self._trailer_prefix = b""
        self._sign = sign
        self._verify = verify
        self._prev = (seed_signature or "").rstrip(_V4A_PAD)
        self._sig_re = _SIG_V4_RE if self.algorithm == ALGORITHM_V4 else _SIG_V4A_RE
        self.decoded_length = decoded_length
        names = [n.strip().lower() for n in trailer_names if n.strip()]
        if self.mode == "streaming" and names:
            raise SigningError(f"{payload_hash} has no trailer, but trailer names were given")
        self.trailer_names: tuple[str, ...] = tuple(names)
        sums = [a for a in (checksum_for_header(n) for n in names) if a]
        if len(sums) > 1:
            raise MalformedTrailerError("X-Amz-Trailer may name only one x-amz-checksum-* trailer")
        self._expected = expected_checksum
        algo = sums[0] if sums else (expected_checksum[0] if expected_checksum else None)
        self._checksum: Checksum | None = new_checksum(algo) if algo else None
        self.max_chunk_size = max_chunk_size
        self.max_line_length = max_line_length
        self.min_chunk_size = min_chunk_size if self.signed else 0
        self.max_trailers = max_trailers
        self.max_chunks = max_chunks
        self.chunks = 0

        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_size = 0
        self._chunk_sig = ""
        # Data of the current signed chunk, held by reference (never joined)
        # until its signature checks out, and its running SHA-256.
        self._held: list[bytes | memoryview] = []
        self._hash: Any = None
        self._empty_mid = b"\n" + EMPTY_SHA256.encode("ascii") + b"\n"
        self._head_re: re.Pattern[bytes] | None = None
        if max_line_length >= 100:  # the longest SigV4 header line is 99 bytes
            if not self.signed:
                self._head_re = _HEAD_UNSIGNED_RE
            elif self.algorithm == ALGORITHM_V4:
                self._head_re = _HEAD_V4_RE
        self._hmac_pads = (
            _hmac_pads(sign, self._payload_prefix) if self.signed and verify is None else None
        )
        # Whole chunks within a piece take the inline loop (_whole_chunks).
        self._fast = self._head_re is not None and (not self.signed or self._hmac_pads is not None)
        self._small_seen = False
        self._error: SignatureError | None = None
        self.bytes_out = 0
        self.trailers: list[tuple[str, str]] = []
        self._trailer_sig: str | None = None

    @property
    def signature(self) -> str:
        """The last verified signature (the seed before the first chunk)."""
        return self._prev

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def _fail(self, exc: SignatureError) -> SignatureError:
        self._error = exc
        return exc

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Consume received bytes; return the payload bytes now verified.

        The released data joined into one ``bytes`` (a copy when it spans
        pieces or chunks); :meth:`feed_pieces` hands it out uncopied.
        """
        parts = self.feed_pieces(data)
        if not parts:
            return b""
        if len(parts) == 1 and type(parts[0]) is bytes:
            return parts[0]
        return b"".join(parts)

    def feed_pieces(self, data: bytes | bytearray | memoryview) -> list[bytes | memoryview]:
        """Consume received bytes; return the payload now verified, as pieces.

        The pieces are the received ``bytes`` objects themselves, or
        ``memoryview`` slices of them where a piece also holds framing:
        nothing is joined or copied (``bytearray`` and ``memoryview`` input
        is copied once on entry, since its owner may reuse the buffer).  A
        signed chunk's data is released, all at once, when its signature
        has checked out.
        """
        if self._error is not None:
            raise self._error
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        if self._state == _DATA and n < self._remaining:
            # The common case for network-sized pieces: all of it is chunk
            # data, and the chunk goes on.  Counts were checked against the
            # limits when the chunk header was read.
            self._remaining -= n
            self.bytes_out += n
            if self._checksum is not None:
                self._checksum.update(data)
            if self.signed:
                self._hash.update(data)
                self._held.append(data)
                return []
            return [data]
        try:
            return self._feed(data)
        except SignatureError as exc:
            self._error = exc
            raise

    def finish(self) -> list[tuple[str, str]]:
        """Call at the end of the input; returns the trailers received."""
        if self._error is not None:
            raise self._error
        if self._state != _DONE:
            where = {
                _HEADER: "a chunk header",
                _DATA: "chunk data",
                _DATA_CRLF: "the CRLF after chunk data",
                _FINAL_CRLF: "the final CRLF",
                _TRAILER: "the trailer section",
            }[self._state]
            raise self._fail(
                IncompleteBody(
                    f"the aws-chunked body ended inside {where}, after {self.bytes_out} decoded "
                    "bytes; the upload was truncated"
                )
            )
        return self.trailers

    # -- internals --------------------------------------------------------
    def _feed(self, data: bytes) -> list[bytes | memoryview]:
        # One pass over the piece, a state at a time; chunk data is sliced
        # (memoryview), header lines are matched in place when whole.
        out: list[bytes | memoryview] = []
        n = len(data)
        pos = 0
        mv = memoryview(data)
        head_re = self._head_re
        while pos < n:
            st = self._state
            if st == _DATA and self._fast and data.startswith(_CRLF, pos + self._remaining):
                pos = self._whole_chunks(data, mv, pos, out)
                continue
            if st == _DATA:
                take = min(self._remaining, n - pos)
                piece = data if take == n else mv[pos : pos + take]
                self.bytes_out += take
                if self._checksum is not None:
                    self._checksum.update(piece)
                if self.signed:
                    self._hash.update(piece)
                    self._held.append(piece)
                else:
                    out.append(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = _DATA_CRLF
            elif st == _DATA_CRLF:
                if not self._line and data.startswith(_CRLF, pos):
                    pos += 2
                else:
                    need = 2 - len(self._line)
                    self._line += mv[pos : pos + need]
                    pos += min(need, n - pos)
                    if not _CRLF.startswith(self._line):
                        raise IncompleteBody(
                            f"chunk data is longer than its declared size {self._chunk_size:#x} "
                            "(no CRLF after it)"
                        )
                    if len(self._line) < 2:
                        continue
                    self._line.clear()
                self._end_chunk(out)
            elif st == _DONE:
                raise IncompleteBody(
                    "there is data after the end of the aws-chunked body (after the final CRLF)"
                )
            else:
                if st == _HEADER and head_re is not None and not self._line:
                    m = head_re.match(data, pos)
                    if m is not None:
                        sig = m.group(2) if self.signed else None
                        self._start_chunk(m.group(1), sig.decode() if sig else "")
                        pos = m.end()
                        continue
                end = data.find(b"\n", pos)
                if end < 0:
                    self._line += mv[pos:]
                    pos = n
                    if len(self._line) > self.max_line_length:
                        raise self._line_too_long()
                    break
                if len(self._line) + end + 1 - pos > self.max_line_length:
                    raise self._line_too_long()
                self._line += mv[pos : end + 1]
                pos = end + 1
                line = bytes(self._line)
                self._line.clear()
                if not line.endswith(_CRLF):
                    raise IncompleteBody(
                        "a line of the aws-chunked framing ends in a bare LF; lines end in CRLF"
                    )
                self._line_done(line[:-2])
        return out

    def _whole_chunks(
        self, data: bytes, mv: memoryview, pos: int, out: list[bytes | memoryview]
    ) -> int:
        """Take every chunk that ends, CRLF and next header included, inside
        ``data``; return where the rest starts.

        The hot loop of large pieces (longer than it would be otherwise, and
        why): a piece of 1 MiB holds sixteen 64 KiB chunks, and the work
        besides hashing each is what separates the decoder from hashlib's
        speed, so the per-chunk state lives in locals (written back on the
        way out), the HMAC runs inline from precomputed pad states, and a
        well-formed header within limits is taken without a call.  Anything
        unusual (a header split across pieces, a limit reached, the last
        chunk, a malformed byte) is left to the general path, which says
        what is wrong.  Only SigV4 with an :class:`~sigv4kit.keys.HmacKey`
        (what the Verifier passes) and unsigned bodies come here.
        """
        signed = self.signed
        checksum = self._checksum.update if self._checksum is not None else None
        match = cast("re.Pattern[bytes]", self._head_re).match
        sha = _sha256
        pads: tuple[Any, Any] = self._hmac_pads or (None, None)
        inner, outer = pads
        mid = self._empty_mid
        limit = self.max_chunk_size
        declared = self.decoded_length if self.decoded_length is not None else 1 << 62
        small = self.min_chunk_size
        max_chunks = self.max_chunks
        rem = self._remaining
        bytes_out = self.bytes_out
        chunks = self.chunks
        prev = self._prev
        received = self._chunk_sig
        h = self._hash
        held = self._held
        while data.startswith(_CRLF, pos + rem):
            end = pos + rem
            piece = mv[pos:end]
            if checksum is not None:
                checksum(piece)
            if signed:
                h.update(piece)
                digest = h.hexdigest()
                i = inner.copy()
                i.update(prev.encode() + mid + digest.encode())
                o = outer.copy()
                o.update(i.digest())
                if not hmac.compare_digest(o.hexdigest(), received):
                    self._prev = prev
                    self._check_chunk_signature(rem, digest, received)  # raises, with evidence
                prev = received
                if held:
                    out.extend(held)
                    held = self._held = []
            out.append(piece)
            bytes_out += rem
            pos = end + 2
            m = match(data, pos)
            if m is None:
                self.bytes_out, self.chunks, self._prev = bytes_out, chunks, prev
                self._state = _HEADER
                return pos
            size = int(m.group(1), 16)
            if (
                size > limit
                or chunks >= max_chunks
                or self._small_seen
                or size < small
                or not size
                or bytes_out + size > declared
            ):
                # A limit, the last chunk or an error: the general path decides.
                self.bytes_out, self.chunks, self._prev = bytes_out, chunks, prev
                self._state = _HEADER
                self._start_chunk(m.group(1), m.group(2).decode() if signed else "")
                return m.end()
            chunks += 1
            rem = size
            if signed:
                received = m.group(2).decode()
                h = sha()
            pos = m.end()
        self.bytes_out, self.chunks, self._prev = bytes_out, chunks, prev
        self._remaining = self._chunk_size = rem
        self._chunk_sig = received
        self._hash = h
        return pos

    def _end_chunk(self, out: list[bytes | memoryview]) -> None:
        """The CRLF after a chunk's data arrived: check its signature and
        release the data held for it."""
        if self.signed:
            self._check_chunk_signature(self._chunk_size, self._hash.hexdigest(), self._chunk_sig)
            out.extend(self._held)
            self._held = []
        self._state = _HEADER

    def _line_too_long(self) -> SignatureError:
        what = "trailer line" if self._state == _TRAILER else "chunk header line"
        return ChunkLineTooLongError(
            f"{what} longer than {self.max_line_length} bytes (max_line_length); the "
            "aws-chunked framing is malformed",
            value=self.max_line_length,
        )

    def _line_done(self, line: bytes) -> None:
        st = self._state
        if st == _HEADER:
            self._chunk_header(line)
        elif st == _FINAL_CRLF:
            if line:
                raise IncompleteBody(
                    "expected the empty line that ends the body after the final chunk, got "
                    f"{line[:40]!r}"
                )
            self._complete()
        else:
            self._trailer_line(line)

    def _chunk_header(self, line: bytes) -> None:
        # The framing is parsed strictly (lowercase hex, no leading zeros, no
        # stray whitespace or extensions), as every known client writes it:
        # then an encoded body has one spelling, and changing any byte of it
        # is detected.
        if self.signed:
            size_hex, sep, ext = line.partition(_CHUNK_SIG)
            if not sep:
                raise IncompleteBody(
                    f"chunk header {line[:80]!r} has no ';chunk-signature='; expected "
                    "'<hex size>;chunk-signature=<signature>'"
                )
            if len(ext) > 144 or not self._sig_re.fullmatch(ext):
                raise IncompleteBody(
                    f"chunk signature {ext[:160]!r} is not a lowercase hex signature"
                )
            sig = ext.decode("ascii").rstrip(_V4A_PAD)
        else:
            size_hex = line
            sig = ""
        if not _SIZE_RE.fullmatch(size_hex):
            raise IncompleteBody(
                f"chunk size {size_hex[:40]!r} is not a lowercase hexadecimal number"
            )
        self._start_chunk(size_hex, sig)

    def _start_chunk(self, size_hex: bytes, sig: str) -> None:
        """A well-formed chunk header: check the limits, expect its data."""
        size = int(size_hex, 16)
        if size > self.max_chunk_size:
            raise ChunkTooLargeError(
                f"chunk of {size} bytes is larger than the {self.max_chunk_size}-byte limit "
                "(max_chunk_size)",
                value=self.max_chunk_size,
            )
        self.chunks += 1
        if self.chunks > self.max_chunks:
            raise TooManyChunksError(
                f"the aws-chunked body has more than {self.max_chunks} chunks (max_chunks)",
                value=self.max_chunks,
            )
        if size and self._small_seen:
            raise InvalidChunkSizeError(
                f"only the last chunk may be smaller than {self.min_chunk_size} bytes"
            )
        if 0 < size < self.min_chunk_size:
            self._small_seen = True
        if self.decoded_length is not None and self.bytes_out + size > self.decoded_length:
            raise IncompleteBody(
                f"the aws-chunked body carries more than the {self.decoded_length} bytes "
                "declared in X-Amz-Decoded-Content-Length"
            )
        self._chunk_size = size
        self._chunk_sig = sig
        if size == 0:
            if self.signed:
                self._check_chunk_signature(0, EMPTY_SHA256, sig)
            self._state = _FINAL_CRLF if self.mode == "streaming" else _TRAILER
            return
        self._remaining = size
        if self.signed:
            self._hash = _sha256()
        self._state = _DATA

    def _check(self, sts: bytes, received: str, what: str) -> None:
        if self._verify is not None:
            ok = self._verify(sts, received)
        else:
            assert self._sign is not None
            ok = hmac.compare_digest(self._sign(sts).encode(), received.encode())
        if not ok:
            raise SignatureDoesNotMatch(
                f"the {what} signature does not match; the body was changed or signed with "
                "another key",
                string_to_sign=sts.decode("ascii"),
                signature_provided=received,
            )
        self._prev = received

    def _check_chunk_signature(self, size: int, digest: str, received: str) -> None:
        sts = b"".join(
            (
                self._payload_prefix,
                self._prev.encode("ascii"),
                b"\n",
                EMPTY_SHA256.encode("ascii"),
                b"\n",
                digest.encode("ascii"),
            )
        )
        self._check(sts, received, f"chunk ({size:#x} bytes)")

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_trailers()
            return
        if self._trailer_sig is not None:
            raise MalformedTrailerError(f"{_TRAILER_SIG_NAME} must be the last trailer line")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedTrailerError("a trailer line is not ASCII") from None
        name, sep, value = text.partition(":")
        if (
            not sep
            or not _TOKEN_RE.fullmatch(name)
            or name != name.lower()
            or value != value.strip(" \t")
        ):
            raise MalformedTrailerError(
                f"trailer line {text[:80]!r} is not 'name:value' with a lowercase name"
            )
        if name == _TRAILER_SIG_NAME:
            if not self.signed:
                raise MalformedTrailerError(f"{_TRAILER_SIG_NAME} in an unsigned-payload trailer")
            if len(value) > 144 or not self._sig_re.fullmatch(value.encode()):
                raise MalformedTrailerError(
                    f"{_TRAILER_SIG_NAME} {value[:160]!r} is not a lowercase hex signature"
                )
            self._trailer_sig = value.rstrip(_V4A_PAD)
            return
        if name not in self.trailer_names:
            raise MalformedTrailerError(
                f"trailer {name!r} was not announced in X-Amz-Trailer "
                f"({', '.join(self.trailer_names) or 'none'})"
            )
        if any(n == name for n, _ in self.trailers):
            raise MalformedTrailerError(f"trailer {name!r} appears twice")
        if len(self.trailers) >= self.max_trailers:
            raise MalformedTrailerError(f"more than {self.max_trailers} trailers")
        self.trailers.append((name, value))

    def _end_trailers(self) -> None:
        got = {n for n, _ in self.trailers}
        missing = [n for n in self.trailer_names if n not in got]
        if missing:
            raise MalformedTrailerError(
                f"trailer(s) {missing} announced in X-Amz-Trailer are missing from the body"
            )
        if self.signed:
            if self._trailer_sig is None:
                raise MalformedTrailerError(
                    f"the trailer has no {_TRAILER_SIG_NAME} line, which "
                    f"{self.payload_hash} requires"
                )
            canon = canonical_trailers(self.trailers).encode()
            sts = b"".join(
                (
                    self._trailer_prefix,
                    self._prev.encode("ascii"),
                    b"\n",
                    hashlib.sha256(canon).hexdigest().encode("ascii"),
                )
            )
            self._check(sts, self._trailer_sig, "trailer")
        self._complete()

    def _complete(self) -> None:
        if self.decoded_length is not None and self.bytes_out != self.decoded_length:
            raise IncompleteBody(
                f"the aws-chunked body carries {self.bytes_out} bytes but "
                f"X-Amz-Decoded-Content-Length declared {self.decoded_length}"
            )
        if self._checksum is not None:
            computed = self._checksum.b64digest()
            header = self._checksum.header
            claimed = dict(self.trailers).get(header)
            if claimed is None and self._expected is not None:
                claimed = self._expected[1]
            if claimed is not None and not hmac.compare_digest(claimed.encode(), computed.encode()):
                raise BadDigest(
                    f"The {self._checksum.name.upper()} you specified did not match the "
                    f"calculated checksum ({header}: sent {claimed!r}, computed {computed!r})."
                )
        self._state = _DONE


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
    if hasattr(source, "read"):
        read = source.read

        def chunks() -> Iterator[bytes]:
            while True:
                piece = read(read_size)
                if not piece:
                    return
                yield piece

        it: Iterable[bytes] = chunks()
    else:
        it = source
    for piece in it:
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
