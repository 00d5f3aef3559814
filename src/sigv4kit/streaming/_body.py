"""The body the Signer sends: where the payload comes from (bytes, a file, an
iterable, an async iterable), the plan made before signing (headers and
lengths), and :class:`AwsChunkedBody`, the encoder run over the source.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from ..canonical import header_pairs
from ..checksums import CHECKSUM_HEADERS, b64_length
from ..config import ALGORITHM_V4
from ..errors import SigningError
from ._encoder import ChunkEncoder, _as_bytes, _encode_chunks
from ._modes import (
    _LITERALS,
    DEFAULT_CHUNK_SIZE,
    SignFn,
    _algorithm,
    _check_chunk_size,
    _mode,
    encoded_length,
)
from ._trailers import _find, plan_trailers


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


class AwsChunkedBody:
    """The aws-chunked body to send: an iterator (and async iterator) of bytes.

    ``len()`` is the exact encoded length (the ``Content-Length`` sent), so
    ``requests`` sends it with a fixed length instead of HTTP chunking.  A
    body made from bytes, a list or a seekable file can be iterated again
    (for a retry): each iteration starts from the beginning, re-signing the
    chunks (the chain is deterministic for SigV4); a one-shot source
    refuses a second pass.  ``next(body)`` (the iterator protocol DESIGN
    promises) steps one pass of its own, started on first use.  One yielded
    ``bytes`` per chunk keeps memory at about two chunks.
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
        # A fresh pass each time, so a retry that iterates the body again
        # sends it whole (a one-shot source refuses the second pass).
        return self._generate()

    def __next__(self) -> bytes:
        if self._it is None:
            self._it = self._generate()
        return next(self._it)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._agenerate()

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

        Each chunk comes as its framing (``bytes``: the previous chunk's
        CRLF, the size and the signature), then its data: the caller's own
        objects or ``memoryview`` slices of them (a body given as
        ``bytes`` is sliced; a file's ``read()`` results and an iterable's
        ``bytes`` blocks go out as they are, one piece or several per
        chunk; ``bytearray`` and ``memoryview`` blocks of an iterable are
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
        # One chain over the encoder's chunks (a list each: framing, data)
        # and then the finishing pieces: every piece comes from C, with one
        # generator step per chunk and no frame of ours between.
        return chain.from_iterable(chain(_encode_chunks(enc, source, check), self._finish(enc)))

    def _finish(self, enc: ChunkEncoder) -> Iterator[list[bytes | memoryview]]:
        # Run when the chunks are done (the encoder's state is final then).
        yield enc.finish_parts(self._plan.trailers)

    async def apieces(self) -> AsyncIterator[bytes | memoryview]:
        """:meth:`pieces` for ``async for`` (an async iterable body, or any other)."""
        if not self._plan._source.is_async:
            for part in self.pieces():
                yield part
            return
        enc = self._encoder()
        async for piece in self._plan._source.apieces(enc.chunk_size):
            for part in enc.send_parts(piece):
                yield part
        for part in enc.finish_parts(self._plan.trailers):
            yield part

    def _generate(self) -> Iterator[bytes]:
        # bytes() returns a bytes piece itself and copies a memoryview: run
        # from C, with no generator of our own between the pieces and the caller.
        return map(bytes, self.pieces())

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

    length = _decoded_length(hdrs, source.length, decoded_length)
    checksum, names, extra = plan_trailers(mode, hdrs, checksum, trailers)
    trailer_sizes = [(CHECKSUM_HEADERS[checksum], b64_length(checksum))] if checksum else []
    trailer_sizes += [(n, len(v.encode())) for n, v in extra]
    content_length = encoded_length(
        length, mode=mode, algorithm=alg, chunk_size=chunk_size, trailers=trailer_sizes
    )

    out, unsigned = _complete_headers(hdrs, length, names, content_length)

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


def _decoded_length(
    hdrs: list[tuple[str, str]], known: int | None, decoded_length: int | None
) -> int:
    """The payload length: the body's own (``known``), checked against the
    one declared by header or argument, or the declared one for streams."""
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
    length = known
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

    return length


def _complete_headers(
    hdrs: list[tuple[str, str]], length: int, names: tuple[str, ...], content_length: int
) -> tuple[list[tuple[str, str]], set[str]]:
    """The headers to send, and those to leave unsigned (see prepare_streaming)."""
    given = _find(hdrs, "x-amz-decoded-content-length")
    user_trailer = _find(hdrs, "x-amz-trailer")
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
    return out, unsigned
