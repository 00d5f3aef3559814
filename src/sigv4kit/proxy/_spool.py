"""Holding a request body while its SHA-256 is computed.

Services other than S3 need the payload hash in the signature, and the
signature goes in the headers, before the body: so the body is read first.
It is kept in memory up to ``memory_limit`` bytes and moved to an anonymous
temporary file beyond (deleted by the OS when closed, even if the proxy
dies), and refused past ``max_body`` (the proxy answers 413).  A spool can
be read any number of times, which also makes the request replayable
(a retry after a connection failure or an expired token).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from ..errors import BodyTooLarge

__all__ = ["BodyTooLarge", "Spool", "spool"]

_READ = 256 * 1024


class Spool:
    """A body read once, hashed, replayable."""

    __slots__ = ("_data", "_file", "sha256", "size")

    def __init__(self, sha256: str, size: int, data: bytes | None, file: IO[bytes] | None):
        self.sha256 = sha256
        self.size = size
        self._data = data
        self._file = file

    @property
    def data(self) -> bytes | None:
        """The body when it stayed in memory, else None."""
        return self._data

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body from the start (each call is an independent reader)."""
        if self._data is not None:
            yield self._data
            return
        assert self._file is not None
        fd = self._file.fileno()
        offset = 0
        while offset < self.size:
            # pread: independent offsets, so two readers never interfere.
            piece = os.pread(fd, min(_READ, self.size - offset), offset)
            if not piece:
                break
            offset += len(piece)
            yield piece

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._data = None


async def spool(
    body: AsyncIterator[bytes],
    *,
    max_body: int,
    memory_limit: int,
    directory: str | None = None,
) -> Spool:
    """Read ``body`` whole, hashing it; raises :class:`BodyTooLarge`."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    held = 0
    file: IO[bytes] | None = None
    size = 0
    try:
        async for chunk in body:
            size += len(chunk)
            if size > max_body:
                raise BodyTooLarge(max_body)
            digest.update(chunk)
            if file is None:
                parts.append(chunk)
                held += len(chunk)
                if held > memory_limit:
                    file = tempfile.TemporaryFile(dir=directory)
                    for p in parts:
                        file.write(p)
                    parts = []
            else:
                file.write(chunk)
    except BaseException:
        if file is not None:
            file.close()
        raise
    if file is not None:
        file.flush()
        return Spool(digest.hexdigest(), size, None, file)
    return Spool(digest.hexdigest(), size, b"".join(parts), None)
