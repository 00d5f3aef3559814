"""The aws-chunked decoder's hot paths in pure Python: the reference for,
and the fallback to, the C accelerator (``_speedups.c``).

:class:`PyDecoderCore` holds the state the hot paths touch on every piece
and every chunk (slots, the same names the C type exposes as members) and
runs them: :meth:`~PyDecoderCore.feed_pieces`' fast path (a piece wholly
inside chunk data) and the whole-chunk loops.  Anything else -- a header
split across pieces, a limit, an error -- goes to the state machine in
:mod:`._decoder`, which names what is wrong.  ``_speedups.c`` mirrors this
module line for line; ``tests/test_streaming_speedups.py`` holds the two
to the same outputs, states and errors.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any

from ..errors import SignatureError
from ._modes import _CRLF, _EMPTY_MID, _sha256

_HEADER = 0  # the decoder's states (see _decoder.py); the hot paths leave data at _HEADER
# Lowercase hex digits map to "0", CR and LF to themselves, every other byte
# to NUL: a signature and its CRLF are valid when they translate to _SIG_OK
# (cheaper than a regex or a delete).
_SIG_MAP = bytes(48 if c in b"0123456789abcdef" else c if c in b"\r\n" else 0 for c in range(256))
_SIG_OK = b"0" * 64 + _CRLF
_compare = hmac.compare_digest  # constant-time


def _expected_header(size: int, signed: bool) -> bytes:
    """The framing between a chunk of ``size`` and the next one of the same
    size, up to that one's signature: one comparison checks the CRLF after
    the data and the whole next header (unsigned) or all of it but the
    signature, whose 64 hex digits and CRLF one ``translate`` checks."""
    return b"\r\n%x;chunk-signature=" % size if signed else b"\r\n%x\r\n" % size


def _hand_back(dec: Any, m: re.Match[bytes] | None, pos: int, signed: bool) -> int:
    """The fast loops give the piece back to the state machine at a chunk header:
    a matched header starts its chunk (limits, errors named), else lines from ``pos``."""
    dec._remaining = 0
    dec._state = _HEADER
    if m is None:
        return pos
    dec._start_chunk(m.group(1), m.group(2).decode() if signed else "")
    return m.end()


def _next_size(dec: Any, m: re.Match[bytes] | None, chunks: int, out_end: int) -> int:
    """The size of the chunk a matched header starts, when the loop may take
    it on: within the limits, not the last chunk, no short chunk before it.
    Else -1, and the loop hands back (see :func:`_hand_back`).  The C twin
    is ``takes_on`` in ``_speedups.c``."""
    if m is None or dec._small_seen:
        return -1
    _, _, _, _, limit, small, max_chunks, room = dec._loop
    size = int(m.group(1), 16)
    if not small <= size <= limit or chunks >= max_chunks or out_end + size > room:
        return -1
    return size


class PyDecoderCore:
    """The decoder's hot state and paths (see the module docstring).

    ``_remaining`` is the number of data bytes still due in the current
    chunk: non-zero only inside chunk data with no error, so one comparison
    gates the fast path.  ``_loop`` holds the whole-chunk loops' invariants:
    ``(signed, header match, HMAC inner state, outer state, max chunk size,
    min chunk size, max chunks, room)``.
    """

    __slots__ = (
        "_chunk_sig",
        "_chunk_size",
        "_ck",
        "_ckv",
        "_expect",
        "_fast",
        "_held",
        "_loop",
        "_out_end",
        "_prev",
        "_remaining",
        "_small_seen",
        "chunks",
        "signed",
    )

    _remaining: int
    _out_end: int
    _chunk_size: int
    chunks: int
    signed: bool
    _fast: bool
    _small_seen: bool
    _held: list[bytes | memoryview]
    _prev: bytes
    _chunk_sig: bytes
    _ck: Any
    _ckv: int
    _expect: bytes | None
    _loop: tuple[Any, ...]

    def feed_pieces(self, data: bytes | bytearray | memoryview) -> list[bytes | memoryview]:
        """See :meth:`ChunkDecoder.feed_pieces <sigv4kit.streaming.ChunkDecoder.feed_pieces>`."""
        n = len(data)
        rem = self._remaining  # non-zero: inside chunk data, no error
        if 0 < n < rem and type(data) is bytes:
            # The common case: all chunk data, the chunk goes on (limits were
            # checked at its header), no state machine step.  A signed piece is
            # held, an unsigned one checksummed and released.
            self._remaining = rem - n
            if self.signed:
                self._held.append(data)
                return []
            ck = self._ck
            if ck is not None:
                self._ckv = ck(data, self._ckv)
            return [data]
        if rem and self._fast and type(data) is bytes:
            # A piece that ends the chunk (and perhaps more) takes the
            # whole-chunk loop, which leaves anything else to the state machine.
            out: list[bytes | memoryview] = []
            mv = memoryview(data)
            try:
                if self.signed:
                    pos = self._whole_chunks(data, mv, 0, out)
                else:
                    pos = self._whole_unsigned_chunks(data, mv, 0, out)
                if pos < n:
                    self._feed(data, mv, pos, out)
            except SignatureError as exc:
                self._fail(exc)
                raise
            return out
        return self._feed_rest(data)

    # The state machine's side, which the hot paths call for everything
    # else: methods of ChunkDecoder (_decoder.py), declared for the checker.
    _feed_rest: Callable[[bytes | bytearray | memoryview], list[bytes | memoryview]]
    _feed: Callable[[bytes, memoryview, int, list[bytes | memoryview]], None]
    _fail: Callable[[SignatureError], SignatureError]
    _start_chunk: Callable[[bytes, str], None]
    _check_chunk_signature: Callable[[int, str, str], None]

    def _whole_chunks(
        self, data: bytes, mv: memoryview, pos: int, out: list[bytes | memoryview]
    ) -> int:
        """Take the chunks that end (CRLF and next header included) in ``data``,
        then the start of the next one's data; return where the rest starts.

        The hot loop of signed chunks (SigV4 with an
        :class:`~sigv4kit.keys.HmacKey`; unsigned ones have their own), one
        function on purpose: the work besides each chunk's SHA-256 decides
        how close decoding gets to hashlib, so state lives in locals, the HMAC
        runs from its pad states, and the framing up to the next chunk's data
        is checked with two comparisons when that chunk has the same size.
        Each chunk is checked before its framing: a chunk whose signature or
        CRLF is wrong is left (not consumed, nothing released) to the general
        path, which names the error."""
        _, match, inner, outer, _, _, max_chunks, room = self._loop
        ck, ckv, expect = self._ck, self._ckv, self._expect
        rem, out_end, chunks = self._remaining, self._out_end, self.chunks
        prev, received = self._prev, self._chunk_sig
        held, chunk_size = self._held, self._chunk_size
        elen = len(expect) if expect is not None else 0  # None never compares equal
        n = len(data)
        last = n - 2  # where the last chunk end with its CRLF in this piece may be
        end = pos + rem
        while end <= last:
            piece = mv[pos:end]
            if held:
                # The chunk's earlier pieces, then this one: hashed now (one
                # piece before, at large pieces: the start of the chunk's data).
                if len(held) == 1:
                    h = _sha256(held[0])
                else:
                    h = _sha256()
                    any(map(h.update, held))  # all of them: update() returns None
                h.update(piece)
            else:
                h = _sha256(piece)
            digest = h.hexdigest()
            i = inner.copy()
            i.update(prev + _EMPTY_MID + digest.encode())
            o = outer.copy()
            o.update(i.digest())
            if not _compare(o.hexdigest().encode(), received):
                if not data.startswith(_CRLF, end):
                    break  # longer than declared: the general path says so first
                self._prev, self._ckv = prev, ckv
                self._check_chunk_signature(chunk_size, digest, received.decode())  # raises
            # The CRLF after the data, and with it the next header if it has
            # the same size (every client uses one chunk size).
            hdr = end + elen
            same = data[end:hdr] == expect
            if not same and not data.startswith(_CRLF, end):
                break  # nothing released: the general path names the error
            if ck is not None:
                if held:
                    for p in held:
                        ckv = ck(p, ckv)
                ckv = ck(piece, ckv)
            prev = received
            if held:
                out.extend(held)
                held.clear()
            out.append(piece)
            if same:
                # Its limits hold; then the signature's 64 lowercase hex digits
                # and the CRLF (a bad one goes to the regular expression, which
                # leaves it to the line-by-line path to name).
                pos = hdr + 66
                tail = data[hdr:pos]
                if (
                    tail.translate(_SIG_MAP) == _SIG_OK
                    and chunks < max_chunks
                    and out_end + chunk_size <= room
                ):
                    received = tail[:64]
                    chunks += 1
                    out_end += chunk_size
                    end = pos + chunk_size
                    continue
            pos = end + 2
            m = match(data, pos)
            size = _next_size(self, m, chunks, out_end)
            if size < 0:
                # No whole header, a limit, the last chunk or an error: see _hand_back.
                self._out_end, self.chunks, self._prev, self._ckv = out_end, chunks, prev, ckv
                return _hand_back(self, m, pos, True)
            chunks += 1
            chunk_size = size
            out_end += size
            expect = _expected_header(size, True)
            elen = len(expect)
            received = m.group(2)
            pos = m.end()
            end = pos + size
        if pos < n < end:
            # The start of the next chunk's data, the rest of this piece: held.
            held.append(mv[pos:])
            pos = n
        rem = end - pos
        self._out_end, self.chunks, self._prev, self._ckv = out_end, chunks, prev, ckv
        self._remaining, self._chunk_size, self._expect = rem, chunk_size, expect
        self._chunk_sig = received
        return pos

    def _whole_unsigned_chunks(
        self, data: bytes, mv: memoryview, pos: int, out: list[bytes | memoryview]
    ) -> int:
        """:func:`_whole_chunks` for unsigned chunks (``STREAMING-UNSIGNED-PAYLOAD-
        TRAILER``), whose reference is a CRC at twice SHA-256's speed, so each
        operation per chunk counts double: no signature, nothing held, the data
        released as it is checksummed, and one comparison checks the CRLF
        after it and the whole next header when it has the same size."""
        _, match, _, _, _, _, max_chunks, room = self._loop
        ck, ckv, expect = self._ck, self._ckv, self._expect
        rem, out_end, chunks, chunk_size = (
            self._remaining,
            self._out_end,
            self.chunks,
            self._chunk_size,
        )
        elen = len(expect) if expect is not None else 0  # None never compares equal
        n = len(data)
        last = n - 2  # where the last chunk end with its CRLF in this piece may be
        end = pos + rem
        while end <= last:
            hdr = end + elen
            same = data[end:hdr] == expect
            if not same and not data.startswith(_CRLF, end):
                break  # longer than declared: the general path names it
            piece = mv[pos:end]
            if ck is not None:
                ckv = ck(piece, ckv)
            out.append(piece)
            if same and chunks < max_chunks and out_end + chunk_size <= room:
                # The same size again: its limits hold.
                chunks += 1
                out_end += chunk_size
                pos = hdr
                end = hdr + chunk_size
                continue
            pos = end + 2
            m = match(data, pos)
            size = _next_size(self, m, chunks, out_end)
            if size < 0:
                # No whole header, a limit, the last chunk or an error: see _hand_back.
                self._out_end, self.chunks, self._ckv = out_end, chunks, ckv
                return _hand_back(self, m, pos, False)
            chunks += 1
            chunk_size = size
            out_end += size
            expect = _expected_header(size, False)
            elen = len(expect)
            pos = m.end()
            end = pos + size
        if pos < n < end:
            # The start of the next chunk's data, the rest of this piece.
            piece = mv[pos:]
            if ck is not None:
                ckv = ck(piece, ckv)
            out.append(piece)
            pos = n
        rem = end - pos
        self._out_end, self.chunks, self._ckv = out_end, chunks, ckv
        self._remaining, self._chunk_size, self._expect = rem, chunk_size, expect
        return pos
