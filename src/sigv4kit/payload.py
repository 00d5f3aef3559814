"""Hashing the body to sign: bytes, str, a file or an iterable of bytes in,
its SHA-256 out, files and iterables read in pieces, never whole."""

from __future__ import annotations

import hashlib

# collections.abc would import the collections package (milliseconds at
# start-up); it re-exports _collections_abc, already loaded by every interpreter.
from _collections_abc import Callable, Iterable, Iterator

from .canonical import EMPTY_SHA256 as _EMPTY
from .errors import SigningError
from .modes import UNSIGNED_PAYLOAD as _UNSIGNED

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

_sha256 = hashlib.sha256
_READ_SIZE = 1 << 20


def _hash_body(body: object) -> str:
    """SHA-256 hex of a body, streaming files and iterables in pieces."""
    if body is None:
        return _EMPTY
    if isinstance(body, (bytes, bytearray, memoryview)):
        return _sha256(body).hexdigest() if len(body) else _EMPTY
    if isinstance(body, str):
        return _sha256(body.encode("utf-8")).hexdigest() if body else _EMPTY
    read = getattr(body, "read", None)
    if read is not None:
        return _hash_file(body)  # type: ignore[arg-type]  # duck-typed: has read()
    if isinstance(body, Iterable):
        if iter(body) is body:
            raise SigningError(
                "the body is a one-shot iterator: hashing it would consume it before it is "
                "sent. Use payload='unsigned' (UNSIGNED-PAYLOAD), a streaming mode "
                "(payload='streaming'), a precomputed SHA-256, or pass a list/bytes"
            )
        h = _sha256()
        for piece in body:
            h.update(_as_bytes(piece))
        return h.hexdigest()
    raise SigningError(
        f"cannot sign a body of type {type(body).__name__}: use bytes, str, a binary file "
        "or an iterable of bytes"
    )


def _as_bytes(piece: object) -> bytes:
    if isinstance(piece, bytes):
        return piece
    if isinstance(piece, (bytearray, memoryview)):
        return bytes(piece)
    if isinstance(piece, str):
        return piece.encode("utf-8")
    raise SigningError(f"body pieces must be bytes, got {type(piece).__name__}")


def is_seekable(body: object) -> bool:
    """Whether ``body`` is a file that can be read (to hash it) and rewound."""
    try:
        return hasattr(body, "read") and bool(body.seekable())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _hash_file(f: BinaryIO) -> str:
    if not is_seekable(f):
        raise SigningError(
            "the body is a non-seekable stream: hashing it would consume it before it is sent. "
            "Use payload='unsigned', a streaming mode (payload='streaming'), or a precomputed "
            "SHA-256 of the content"
        )
    start = f.tell()
    h = _sha256()
    try:
        while True:
            chunk = f.read(_READ_SIZE)
            if not chunk:
                break
            if isinstance(chunk, str):
                raise SigningError("the body file is open in text mode; open it with 'rb'")
            h.update(chunk)
    finally:
        f.seek(start)
    return h.hexdigest()


def read_pieces(source: object, size: int) -> Iterable[bytes]:
    """The pieces of a body a server reads: a file (anything with ``read``)
    ``size`` bytes at a time until a read returns nothing (empty, or ``None``
    from a non-blocking file with nothing ready: the reader's own end-of-body
    check then names what is missing), any other iterable as it is."""
    read = getattr(source, "read", None)
    if read is None:
        return source  # type: ignore[return-value]  # an iterable of bytes
    return _reads(read, size)


def _reads(read: Callable[[int], object], size: int) -> Iterator[bytes]:
    while True:
        piece = read(size)
        if not piece:
            return
        yield piece  # type: ignore[misc]  # bytes from a binary file


def _payload_literal(mode: str, body: object) -> str:
    if mode == "signed":
        return _hash_body(body)
    if mode == "unsigned":
        return _UNSIGNED
    return mode  # a precomputed hash (validated by check_payload)
