"""The aws-chunked encoder (client side): payload data in, framed and signed
pieces out, sans-IO.

Each chunk goes out as two pieces, its framing and its data, the data never
copied: a ``bytes`` payload is sliced with ``memoryview``, blocks smaller
than a chunk are held by reference with their SHA-256 running.  The chunk
signature chains from the seed signature (see :mod:`sigv4kit.streaming`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

from ..canonical import EMPTY_SHA256
from ..checksums import Checksum, new_checksum
from ..config import ALGORITHM_V4
from ..errors import SigningError
from ._modes import (
    _CRLF,
    _EMPTY_MID,
    _TRAILER_SIG_NAME,
    _V4A_PAD,
    DEFAULT_CHUNK_SIZE,
    SignFn,
    _algorithm,
    _chain_start,
    _check_chunk_size,
    _hmac_pads,
    _mode,
    _sha256,
    _sig_field,
)
from ._trailers import _check_trailer, canonical_trailers

if TYPE_CHECKING:
    from hashlib import _Hash


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
        self._payload_prefix, self._trailer_prefix, self._prev = _chain_start(
            self.algorithm if self.signed else None, seed_signature, amz_date, scope
        )
        self._sign = sign
        self._width = _sig_field(self.mode, self.algorithm)
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
        # bytes, or views of them), hashed together when the chunk is full,
        # so that data arriving in small blocks is neither copied nor
        # hashed twice.
        self._held: list[bytes | memoryview] = []
        self._filled = 0
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
            (self._payload_prefix, self._prev.encode("ascii"), _EMPTY_MID, digest.encode())
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
        if self._checksum is not None:
            self._checksum.update(piece)
        self._held.append(piece)
        self._filled += len(piece)

    def _release(self, out: list[bytes | memoryview]) -> None:
        """Frame the held chunk: its header, then its data pieces as held."""
        digest = ""
        if self.signed:
            h = _sha256()
            any(map(h.update, self._held))  # all of them: update() returns None
            digest = h.hexdigest()
        out.append(self._head(self._filled, digest))
        out.extend(self._held)
        self._held = []
        self._filled = 0

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

        The chunk's CRLF is included, so the result is a complete frame.
        Prefer :meth:`send_parts` or :meth:`encode_pieces`, which copy
        nothing.
        """
        parts = self.send_parts(chunk)
        if self._crlf_owed and not self._filled:
            parts.append(_CRLF)
            self._crlf_owed = False
        return b"".join(parts)

    def encode_pieces(
        self, source: Iterable[bytes | memoryview], *, check: bool = False
    ) -> Iterator[bytes | memoryview]:
        """Frame every data piece of ``source`` (then call :meth:`finish_parts`).

        Yields each complete chunk's framing (``bytes``) and data (the
        source's objects or ``memoryview`` slices of them), as
        :meth:`send_parts` would.  Pieces must not change afterwards: a
        partial chunk is held by reference.  ``check=True`` copies pieces
        that are not ``bytes`` (their producer may reuse them).
        """
        # One generator step per chunk, not one per piece: chain flattens
        # the chunks' lists (framing, then data) from C.
        return chain.from_iterable(_encode_chunks(self, source, check))

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
                        _sha256(canon).hexdigest().encode("ascii"),
                    )
                )
                sig = self._next_signature(sts)
                tail.append(f"{_TRAILER_SIG_NAME}:{sig.ljust(self._width, _V4A_PAD)}\r\n".encode())
        tail.append(_CRLF)
        out.append(b"".join(tail))
        return out


def _encode_chunks(
    self: ChunkEncoder, source: Iterable[bytes | memoryview], check: bool
) -> Iterator[Sequence[bytes | memoryview]]:
    """:meth:`ChunkEncoder.encode_pieces`, a sequence per chunk: its framing,
    then its data (a module function: the class holds the rules, this the
    hot loop)."""
    # The signer's hot loop, long on purpose.  Its cost beside each
    # chunk's SHA-256 (~37 us per 64 KiB) decides how close streaming
    # gets to hashlib, and every bytecode between two hashes counts
    # (measured: a few dozen per chunk cost ~1 % of throughput).  So:
    # state lives in locals (written back at the end); a chunk is
    # signed by one call, _chained (the HMAC from its pad states, when
    # ``sign`` is an HmacKey's); a piece that does not fill the chunk
    # is hashed into the chunk's running SHA-256 and held, after one
    # comparison; a piece that fills it exactly (a file's read, the
    # last of a chunk's blocks) takes a short way; only pieces across a
    # chunk's end, and the declared length's end, take the general way.
    cs = self.chunk_size
    signed = self.signed
    sign = self._sign
    prefix = self._payload_prefix
    width = self._width
    pads = _hmac_pads(sign, prefix) if signed and width == 64 else None
    checksum = self._checksum.update if self._checksum is not None else None
    sha = _sha256
    crlf = _CRLF
    full_head = self._full_head
    declared = self.decoded_length if self.decoded_length is not None else 1 << 62
    prev = self._prev.encode()  # the chain as bytes: what the strings to sign take
    pad = _V4A_PAD.encode()
    # The chunk being filled: its framing's place (filled when the
    # chunk is complete, then handed out as it is), then its data.
    held: list[bytes | memoryview] = [b"", *self._held]
    # A chunk's framing up to its signature, the previous chunk's CRLF in front.
    head = full_head if self._crlf_owed else full_head[2:]
    # ``base``: the data before the current chunk.  ``room``: what the
    # chunk still takes, or less when the declared length ends inside
    # it (then a piece shorter than ``room`` cannot pass that length
    # either).  ``short``: the difference, nonzero only in that last
    # chunk; both shrink by each piece held, so it stays put.
    base = self.bytes_in - self._filled
    room = cs - self._filled
    if declared - self.bytes_in < room:
        room = declared - self.bytes_in
    short = cs - self._filled - room
    last_base = declared - cs  # a chunk starting after this one ends past the declared length
    # The chunk's running SHA-256 (``upd``: its update, or ``len``, a
    # no-op, when unsigned), fed each piece as it comes: cheaper than
    # hashing the held pieces when the chunk is full.
    fresh = sha().copy  # a new SHA-256 state: copying an empty one is cheaper
    h: Any = None
    upd: Any = len
    if signed:
        h = fresh()
        upd = h.update
        any(map(upd, self._held))  # what send_parts held (update() returns None)
    if self._finished:
        raise SigningError("the encoder is finished; create a new one for another body")
    try:
        for piece in source:
            if type(piece) is not bytes and check:
                piece = _as_bytes(piece)
            n = len(piece)
            if n < room:
                upd(piece)
                if checksum is not None:
                    checksum(piece)
                held.append(piece)
                room -= n
                continue
            if n == room and not short:
                # The piece fills the chunk exactly (within the declared length).
                if checksum is not None:
                    checksum(piece)
                if signed:
                    if n == cs:
                        # Nothing held (a file's read): the chunk is this
                        # piece, hashed at once (``h`` stays unused).
                        digest = sha(piece).hexdigest()
                    else:
                        upd(piece)
                        digest = h.hexdigest()
                        h = fresh()
                        upd = h.update
                    prev = _chained(pads, sign, prefix, prev, digest.encode())
                    held[0] = head + (prev if width == 64 else prev.ljust(width, pad)) + crlf
                else:
                    held[0] = head
                held.append(piece)
                head = full_head
                chunk = held
                held = [b""]
                base += cs
                room = cs
                if base > last_base:
                    room = declared - base
                    short = cs - room
                yield chunk
                continue
            # The general way: a piece across the chunk's end, or one
            # reaching (or passing) the declared length.
            real = room + short  # what the chunk takes
            total = base + cs - real  # the data before this piece
            if total + n > declared:
                raise self._too_long()
            if checksum is not None:
                checksum(piece)
            if n < real:
                # The body's last piece (n == declared - total): held.
                upd(piece)
                held.append(piece)
                room = 0
                short = real - n
                continue
            pos = 0
            if real < cs:
                # This piece completes the chunk held so far.
                part: bytes | memoryview = piece if n == real else memoryview(piece)[:real]
                upd(part)
                held.append(part)
                if signed:
                    digest = h.hexdigest()
                    h = fresh()
                    upd = h.update
                    prev = _chained(pads, sign, prefix, prev, digest.encode())
                    held[0] = head + (prev if width == 64 else prev.ljust(width, pad)) + crlf
                else:
                    held[0] = head
                head = full_head
                chunk = held
                held = [b""]
                base += cs
                room, short = cs, 0
                yield chunk
                pos = real
            # Whole chunks inside the piece go out as views of it (a
            # piece that is exactly one chunk took the short way).
            mv = piece if type(piece) is memoryview else memoryview(piece)
            while n - pos >= cs:
                part = mv[pos : pos + cs]
                if signed:
                    prev = _chained(pads, sign, prefix, prev, sha(part).hexdigest().encode())
                    frame = head + (prev if width == 64 else prev.ljust(width, pad)) + crlf
                else:
                    frame = head
                head = full_head
                pos += cs
                yield frame, part  # (``base`` catches up after the loop)
            filled = n - pos
            if filled:
                part = mv[pos:]
                upd(part)
                held.append(part)
            total += n
            base = total - filled
            room = cs - filled
            short = 0
            if declared - total < room:
                room = declared - total
                short = cs - filled - room
    finally:
        filled = cs - room - short
        self.bytes_in = base + filled
        self._prev = prev.decode()
        self._held = held[1:]
        self._filled = filled
        self._crlf_owed = head is full_head


def _chained(
    pads: tuple[_Hash, _Hash] | None, sign: SignFn | None, prefix: bytes, prev: bytes, digest: bytes
) -> bytes:
    """The signature (hex bytes) of the chunk after ``prev`` whose data
    hashes to ``digest`` (hex bytes): HMAC-SHA256 from the key's pad states
    (``inner`` with the string-to-sign ``prefix`` already absorbed) when
    there are any, else ``sign`` over the whole string to sign."""
    message = prev + _EMPTY_MID + digest
    if pads is None:
        return sign(prefix + message).encode()  # type: ignore[misc]
    inner, outer = pads
    i = inner.copy()
    i.update(message)
    o = outer.copy()
    o.update(i.digest())
    return o.hexdigest().encode()


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
