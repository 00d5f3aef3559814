"""The aws-chunked decoder (server side), sans-IO: framed bytes in, verified data out.

A signed chunk's data is held (by reference, never joined) until its
signature checks out; whole chunks inside a received piece are decoded in
one inline loop; the framing is parsed strictly, so any changed byte is
detected.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from ..canonical import EMPTY_SHA256
from ..checksums import Checksum, fold, settle
from ..config import ALGORITHM_V4
from ..errors import (
    ChunkLineTooLongError,
    ChunkTooLargeError,
    IncompleteBody,
    InvalidChunkSizeError,
    SignatureDoesNotMatch,
    SignatureError,
    SigningError,
    TooManyChunksError,
)
from ._decoder_core import _HEADER, PyDecoderCore, _expected_header
from ._modes import (
    _CHUNK_SIG,
    _CRLF,
    _EMPTY_MID,
    _V4A_PAD,
    MAX_CHUNK_SIZE,
    MAX_CHUNKS,
    MAX_LINE_LENGTH,
    MAX_TRAILERS,
    MIN_CHUNK_SIZE,
    SignFn,
    VerifyFn,
    _chain_start,
    _hmac_pads,
    _sha256,
    streaming_mode,
)
from ._trailers import TrailerReader, canonical_trailers, check_checksum, trailer_checksum

_DATA = 1
_DATA_CRLF = 2
_FINAL_CRLF = 3
_TRAILER = 4
_DONE = 5
_WHERE = {  # a state, for "the body ended inside ..."
    _HEADER: "a chunk header",
    _DATA: "chunk data",
    _DATA_CRLF: "the CRLF after chunk data",
    _FINAL_CRLF: "the final CRLF",
    _TRAILER: "the trailer section",
}

_SIZE_RE = re.compile(rb"0|[1-9a-f][0-9a-f]{0,15}")
_SIG_V4_RE = re.compile(rb"[0-9a-f]{64}")
# A whole chunk header line, matched in place (no copy); anything else (a line
# split across pieces, SigV4a's signatures, a malformed line) takes the
# line-by-line path, which gives the precise error.
_HEAD_V4_RE = re.compile(rb"(0|[1-9a-f][0-9a-f]{0,15});chunk-signature=([0-9a-f]{64})\r\n")
_HEAD_UNSIGNED_RE = re.compile(rb"(0|[1-9a-f][0-9a-f]{0,15})\r\n")
_SIG_V4A_RE = re.compile(rb"[0-9a-f]{2,144}\**")
_Step = Callable[[bytes | memoryview, int], int]


def _check_limits(**limits: int) -> None:
    for label, limit in limits.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise SigningError(f"{label} must be a positive integer, got {limit!r}")


def _need_signing_args(
    seed_signature: str | None,
    amz_date: str | None,
    scope: str | None,
    sign: SignFn | None,
    verify: VerifyFn | None,
) -> None:
    """A signed body's chain needs its seed, date and scope, and a way to check."""
    if not seed_signature or amz_date is None or scope is None:
        raise SigningError("a signed aws-chunked body needs seed_signature, amz_date and scope")
    if sign is None and verify is None:
        raise SigningError("pass sign= (SigV4) or verify= (SigV4a) to check chunk signatures")


def _core() -> type[PyDecoderCore]:
    """The hot paths' home: the C accelerator when it was built (and
    ``SIGV4KIT_PURE_PYTHON`` is unset), else their pure-Python twin."""
    if os.environ.get("SIGV4KIT_PURE_PYTHON"):
        return PyDecoderCore
    try:
        from ._speedups import DecoderCore
    except ImportError:
        return PyDecoderCore
    return cast("type[PyDecoderCore]", DecoderCore)


# The class below runs on the C core when it was built; the checker (and the
# documentation) see the pure one, whose members and methods it has.
if TYPE_CHECKING:
    _Core = PyDecoderCore
else:
    _Core = _core()
ACCELERATED = _Core is not PyDecoderCore
"""Whether :class:`ChunkDecoder` runs its hot paths in C (``_speedups``)."""


class ChunkDecoder(_Core):
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
        _check_limits(
            max_chunk_size=max_chunk_size,
            max_line_length=max_line_length,
            max_trailers=max_trailers,
            max_chunks=max_chunks,
        )
        parsed = streaming_mode(payload_hash)
        if parsed is None:
            raise SigningError(f"{payload_hash!r} is not an aws-chunked payload literal")
        self.mode, alg = parsed
        self.payload_hash = payload_hash
        self.signed = alg is not None
        self.algorithm = alg or ALGORITHM_V4
        if self.signed:
            _need_signing_args(seed_signature, amz_date, scope, sign, verify)
        self._payload_prefix, self._trailer_prefix, seed = _chain_start(
            alg, seed_signature, amz_date, scope
        )
        self._prev = seed.encode()  # the chain as bytes: what the strings to sign take
        self._sign = sign
        self._verify = verify
        self._sig_re = _SIG_V4_RE if self.algorithm == ALGORITHM_V4 else _SIG_V4A_RE
        self.decoded_length = decoded_length
        names = [n.strip().lower() for n in trailer_names if n.strip()]
        if self.mode == "streaming" and names:
            raise SigningError(f"{payload_hash} has no trailer, but trailer names were given")
        self._trailers = TrailerReader(
            names, payload_hash, signed=self.signed, sig_re=self._sig_re, max_trailers=max_trailers
        )
        self.trailer_names: tuple[str, ...] = self._trailers.names
        self.trailers: list[tuple[str, str]] = self._trailers.trailers
        self._expected = expected_checksum
        self._checksum: Checksum | None = trailer_checksum(names, expected_checksum)
        # The checksum runs inline, ``value = step(data, value)``: for the
        # CRCs that is the C function itself, with no Python frame per piece.
        self._ck: _Step | None
        self._ck, self._ckv = fold(self._checksum) if self._checksum is not None else (None, 0)
        self.max_chunk_size = max_chunk_size
        self.max_line_length = max_line_length
        self.min_chunk_size = min_chunk_size if self.signed else 0
        self.max_trailers = max_trailers
        self.max_chunks = max_chunks
        self.chunks = 0

        self._state = _HEADER
        self._line = bytearray()
        # Data bytes due in the current chunk (non-zero only inside chunk data
        # with no error: one comparison gates feed_pieces' fast path); no
        # per-piece count: bytes_out is derived from _out_end.
        self._remaining = self._out_end = 0
        self._chunk_size = 0
        self._chunk_sig = b""
        # The current signed chunk's pieces, held by reference (never joined)
        # until its signature checks out, and hashed from C when it ends: a
        # piece inside a chunk costs one append.
        self._held: list[bytes | memoryview] = []
        self._head_re, self._fast, self._loop = _loop_setup(self, sign, verify)
        # The next chunk's header up to its signature if it has the current
        # size (clients use one chunk size): a match skips the regex.
        self._expect: bytes | None = None
        self._small_seen = False
        self._error: SignatureError | None = None

    @property
    def signature(self) -> str:
        """The last verified signature (the seed before the first chunk)."""
        return self._prev.decode()

    @property
    def done(self) -> bool:
        return self._state == _DONE  # the final CRLF (and trailers) arrived and checked out

    @property
    def bytes_out(self) -> int:
        """Payload bytes taken so far (verified or held for verification)."""
        return self._out_end - self._remaining

    def _fail(self, exc: SignatureError) -> SignatureError:
        self._error = exc
        self._out_end -= self._remaining  # bytes_out stays; the fast path is closed
        self._remaining = 0
        return exc

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Consume received bytes; return the payload bytes now verified, joined
        (a copy when it spans pieces); :meth:`feed_pieces` does not copy."""
        parts = self.feed_pieces(data)
        if not parts:
            return b""
        if len(parts) == 1 and type(parts[0]) is bytes:
            return parts[0]
        return b"".join(parts)

    if TYPE_CHECKING:  # the core's method (C or _decoder_core.py), documented here

        def feed_pieces(self, data: bytes | bytearray | memoryview) -> list[bytes | memoryview]:
            """Consume received bytes; return the payload now verified, as pieces.

            The pieces are the received ``bytes`` objects themselves, or
            ``memoryview`` slices of them where a piece also holds framing:
            nothing is joined or copied (``bytearray`` and ``memoryview``
            input is copied once on entry, since its owner may reuse the
            buffer).  A signed chunk's data is released, all at once, when
            its signature has checked out.
            """
            ...

    def _feed_rest(self, data: bytes | bytearray | memoryview) -> list[bytes | memoryview]:
        # feed_pieces (the core's) past its fast paths: the state machine.
        out: list[bytes | memoryview] = []
        if self._error is not None:
            raise self._error
        if type(data) is not bytes:
            data = bytes(data)
        if not data:
            return out
        mv = memoryview(data)
        try:
            self._feed(data, mv, 0, out)
        except SignatureError as exc:
            self._fail(exc)
            raise
        return out

    def finish(self) -> list[tuple[str, str]]:
        """Call at the end of the input; returns the trailers received."""
        if self._error is not None:
            raise self._error
        if self._state != _DONE:
            raise self._fail(
                IncompleteBody(
                    f"the aws-chunked body ended inside {_WHERE[self._state]}, after "
                    f"{self.bytes_out} decoded bytes; the upload was truncated"
                )
            )
        return self.trailers

    # -- internals --------------------------------------------------------
    def _feed(self, data: bytes, mv: memoryview, pos: int, out: list[bytes | memoryview]) -> None:
        # One pass over the rest of the piece, a state at a time; chunk data
        # is sliced (memoryview), header lines are matched in place when whole.
        n = len(data)
        head_re = self._head_re
        while pos < n:
            st = self._state
            if st == _DATA:
                rem = self._remaining
                if self._fast and data.startswith(_CRLF, pos + rem):
                    # This piece ends the chunk (and perhaps more): the hot loop.
                    if self.signed:
                        pos = self._whole_chunks(data, mv, pos, out)
                    else:
                        pos = self._whole_unsigned_chunks(data, mv, pos, out)
                    continue
                take = min(rem, n - pos)
                piece = data if take == n else mv[pos : pos + take]
                if self.signed:
                    self._held.append(piece)
                else:
                    if self._ck is not None:
                        self._ckv = self._ck(piece, self._ckv)
                    out.append(piece)
                pos += take
                self._remaining = rem - take
                if rem == take:
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
                        raise _line_too_long(self._state, self.max_line_length)
                    break
                if len(self._line) + end + 1 - pos > self.max_line_length:
                    raise _line_too_long(self._state, self.max_line_length)
                self._line += mv[pos : end + 1]
                pos = end + 1
                line = bytes(self._line)
                self._line.clear()
                if not line.endswith(_CRLF):
                    raise IncompleteBody(
                        "a line of the aws-chunked framing ends in a bare LF; lines end in CRLF"
                    )
                self._line_done(line[:-2])

    def _end_chunk(self, out: list[bytes | memoryview]) -> None:
        """The CRLF after a chunk's data arrived: check its signature and
        release the data held for it."""
        if self.signed:
            held = self._held
            h = _sha256()
            any(map(h.update, held))  # all of them: update() returns None
            if self._ck is not None:
                ck, ckv = self._ck, self._ckv
                for piece in held:
                    ckv = ck(piece, ckv)
                self._ckv = ckv
            digest = h.hexdigest()
            self._check_chunk_signature(self._chunk_size, digest, self._chunk_sig.decode())
            out.extend(self._held)
            self._held.clear()
        self._state = _HEADER

    def _line_done(self, line: bytes) -> None:
        st = self._state
        if st == _HEADER:
            self._start_chunk(*_parse_header(line, self.signed, self._sig_re))
        elif st == _FINAL_CRLF:
            if line:
                raise IncompleteBody(
                    "expected the empty line that ends the body after the final chunk, got "
                    f"{line[:40]!r}"
                )
            self._complete()
        else:
            self._trailer_line(line)

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
        if self.decoded_length is not None and self._out_end + size > self.decoded_length:
            raise IncompleteBody(
                f"the aws-chunked body carries more than the {self.decoded_length} bytes "
                "declared in X-Amz-Decoded-Content-Length"
            )
        self._chunk_size = size
        self._chunk_sig = sig.encode()
        if size == 0:
            if self.signed:
                self._check_chunk_signature(0, EMPTY_SHA256, sig)
            self._state = _FINAL_CRLF if self.mode == "streaming" else _TRAILER
            return
        self._remaining = size
        self._out_end += size
        self._expect = _expected_header(size, self.signed) if size >= self.min_chunk_size else None
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
        self._prev = received.encode()

    def _check_chunk_signature(self, size: int, digest: str, received: str) -> None:
        sts = b"".join((self._payload_prefix, self._prev, _EMPTY_MID, digest.encode()))
        self._check(sts, received, f"chunk ({size:#x} bytes)")

    def _trailer_line(self, line: bytes) -> None:
        reader = self._trailers
        if line:
            reader.line(line)
            return
        reader.end()
        if self.signed:
            sts = b"".join(
                (
                    self._trailer_prefix,
                    self._prev,
                    b"\n",
                    _sha256(canonical_trailers(self.trailers).encode()).hexdigest().encode(),
                )
            )
            self._check(sts, cast("str", reader.signature), "trailer")
        self._complete()

    def _complete(self) -> None:
        if self.decoded_length is not None and self.bytes_out != self.decoded_length:
            raise IncompleteBody(
                f"the aws-chunked body carries {self.bytes_out} bytes but "
                f"X-Amz-Decoded-Content-Length declared {self.decoded_length}"
            )
        if self._checksum is not None:
            settle(self._checksum, self._ckv)
            check_checksum(self._checksum, self.trailers, self._expected)
        self._state = _DONE


def _line_too_long(state: int, limit: int) -> SignatureError:
    what = "trailer line" if state == _TRAILER else "chunk header line"
    return ChunkLineTooLongError(
        f"{what} longer than {limit} bytes (max_line_length); the aws-chunked framing is malformed",
        value=limit,
    )


def _loop_setup(
    self: ChunkDecoder, sign: SignFn | None, verify: VerifyFn | None
) -> tuple[re.Pattern[bytes] | None, bool, tuple[Any, ...]]:
    """``(header regex, fast, loop invariants)``: whole chunks within a piece
    take the inline loop (``_whole_chunks``, which unpacks the
    invariants in one step) when headers can be matched in place and the
    HMAC can run from its pad states (or nothing is signed)."""
    head_re = None
    if self.max_line_length >= 100:  # the longest SigV4 header line is 99 bytes
        if not self.signed:
            head_re = _HEAD_UNSIGNED_RE
        elif self.algorithm == ALGORITHM_V4:
            head_re = _HEAD_V4_RE
    pads = _hmac_pads(sign, self._payload_prefix) if self.signed and verify is None else None
    fast = head_re is not None and (not self.signed or pads is not None)
    room = (1 << 62) if self.decoded_length is None else self.decoded_length
    loop = (self.signed, head_re.match if head_re is not None else None, *(pads or (None, None)))
    return (
        head_re,
        fast,
        (*loop, self.max_chunk_size, self.min_chunk_size or 1, self.max_chunks, room),
    )


def _parse_header(line: bytes, signed: bool, sig_re: re.Pattern[bytes]) -> tuple[bytes, str]:
    """``(size_hex, signature)`` of a chunk header line (CRLF removed).

    Parsed strictly (lowercase hex, no leading zeros, no stray whitespace or
    extensions), as every known client writes it: then an encoded body has
    one spelling, and changing any byte of it is detected.
    """
    if signed:
        size_hex, sep, ext = line.partition(_CHUNK_SIG)
        if not sep:
            raise IncompleteBody(
                f"chunk header {line[:80]!r} has no ';chunk-signature='; expected "
                "'<hex size>;chunk-signature=<signature>'"
            )
        if len(ext) > 144 or not sig_re.fullmatch(ext):
            raise IncompleteBody(f"chunk signature {ext[:160]!r} is not a lowercase hex signature")
        sig = ext.decode("ascii").rstrip(_V4A_PAD)
    else:
        size_hex = line
        sig = ""
    if not _SIZE_RE.fullmatch(size_hex):
        raise IncompleteBody(f"chunk size {size_hex[:40]!r} is not a lowercase hexadecimal number")
    return size_hex, sig


def _on_core(cls: type[ChunkDecoder], core: type[PyDecoderCore], name: str) -> type[ChunkDecoder]:
    """``cls`` with the same rules over another core (the methods are shared)."""
    namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    namespace["__qualname__"] = name
    return cast("type[ChunkDecoder]", type(name, (core,), namespace))


PureChunkDecoder = _on_core(ChunkDecoder, PyDecoderCore, "PureChunkDecoder")
""":class:`ChunkDecoder` on the pure-Python hot paths, whatever was built: the
reference the accelerator is tested against."""
