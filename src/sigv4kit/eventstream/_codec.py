"""The ``application/vnd.amazon.eventstream`` frame: encode and decode.

Wire layout of one message (all integers big-endian)::

    +----------------+-----------------+-------------+---------+---------+-------------+
    | total length   | headers length  | prelude CRC | headers | payload | message CRC |
    | u32            | u32             | u32         |         |         | u32         |
    +----------------+-----------------+-------------+---------+---------+-------------+
      \\______ prelude (12 bytes) _______/

* ``total length`` counts every byte of the frame, both CRCs included, so the
  smallest frame (no headers, no payload) is 16 bytes.
* ``prelude CRC`` is CRC-32 (IEEE, as :func:`zlib.crc32`) of the first 8 bytes;
  ``message CRC`` is CRC-32 of everything before it.  Checking the prelude
  CRC *before* trusting the lengths is what lets a decoder refuse a corrupt
  "4 GiB message" after 12 bytes instead of buffering until it runs out of
  memory.
* A header is ``name length`` (u8, 1-255) + UTF-8 name + ``type`` (u8) +
  value (see :func:`_encode_value`).

The size limits are AWS's own (``aws-c-event-stream``: 16 MiB per message,
128 KiB of headers) and parameters of the decoder: they protect *this*
process, and a server may want them tighter.  Input a caller builds is checked
when it is built (:class:`~sigv4kit.errors.SigningError`); bytes from a peer
raise :class:`MalformedEventStream` or :class:`IncompleteEventStream`, never a
bare ``struct.error``, ``UnicodeDecodeError`` or ``IndexError``.
"""

from __future__ import annotations

import struct
import uuid as _uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from zlib import crc32

from ..errors import (
    EventMessageTooLarge,
    EventSignatureDoesNotMatch,
    EventStreamError,
    EventTimeTooSkewed,
    IncompleteEventStream,
    MalformedEventStream,
    SigningError,
)

__all__ = [
    "MAX_HEADERS_SIZE",
    "MAX_MESSAGE_SIZE",
    "EventMessageTooLarge",
    "EventSignatureDoesNotMatch",
    "EventStreamError",
    "EventTimeTooSkewed",
    "HeaderType",
    "HeaderValue",
    "IncompleteEventStream",
    "MalformedEventStream",
    "Message",
    "MessageDecoder",
    "decode_message",
    "encode_message",
]

#: AWS's limit on one encoded message, prelude and CRCs included.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024
#: AWS's limit on the encoded headers of one message.
MAX_HEADERS_SIZE = 128 * 1024

_PRELUDE_LEN = 12
_OVERHEAD = 16  # prelude + message CRC
_MAX_NAME = 255  # the name length is one byte
_MAX_VAR = 0xFFFF  # string and binary lengths are a u16

_PRELUDE = struct.Struct(">II")
_U32 = struct.Struct(">I")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_U16 = struct.Struct(">H")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class HeaderType(str, Enum):
    """The nine value types; the names are the ones the JS SDK uses."""

    BOOLEAN = "boolean"
    BYTE = "byte"
    SHORT = "short"
    INTEGER = "integer"
    LONG = "long"
    BINARY = "binary"
    STRING = "string"
    TIMESTAMP = "timestamp"
    UUID = "uuid"


_INT_RANGES: dict[HeaderType, tuple[int, int]] = {
    HeaderType.BYTE: (-(1 << 7), (1 << 7) - 1),
    HeaderType.SHORT: (-(1 << 15), (1 << 15) - 1),
    HeaderType.INTEGER: (-(1 << 31), (1 << 31) - 1),
    HeaderType.LONG: (-(1 << 63), (1 << 63) - 1),
    HeaderType.TIMESTAMP: (-(1 << 63), (1 << 63) - 1),
}

# The Python type of each value type that is not an int.
_PYTHON_TYPES: dict[HeaderType, type] = {
    HeaderType.BOOLEAN: bool,
    HeaderType.BINARY: bytes,
    HeaderType.STRING: str,
    HeaderType.UUID: _uuid.UUID,
}

HeaderPython = bool | int | bytes | str | _uuid.UUID


@dataclass(frozen=True, slots=True)
class HeaderValue:
    """A typed header value.

    Four integer widths and a timestamp (epoch milliseconds, as on the wire)
    are all a Python ``int``: the type travels with the value so a message
    decodes and re-encodes to the same bytes.
    """

    type: HeaderType
    value: HeaderPython

    def __post_init__(self) -> None:
        t, v = self.type, self.value
        if not isinstance(t, HeaderType):
            raise SigningError(f"header type must be a HeaderType, not {t!r}")
        if not isinstance(v, _PYTHON_TYPES.get(t, int)) or (
            t is not HeaderType.BOOLEAN and isinstance(v, bool)
        ):
            raise SigningError(f"a {t.value} header value cannot be {type(v).__name__} {v!r}")
        if t in _INT_RANGES:
            lo, hi = _INT_RANGES[t]
            if not lo <= v <= hi:  # type: ignore[operator]
                raise SigningError(f"{t.value} header value {v!r} is outside [{lo}, {hi}]")
        elif isinstance(v, bytes) and len(v) > _MAX_VAR:
            raise SigningError(
                f"binary header value is {len(v)} bytes; the format allows at most {_MAX_VAR}"
            )
        elif isinstance(v, str):
            try:
                n = len(v.encode("utf-8"))
            except UnicodeEncodeError:
                raise SigningError(
                    "string header value is not encodable as UTF-8 (lone surrogate?)"
                ) from None
            if n > _MAX_VAR:
                raise SigningError(
                    f"string header value is {n} UTF-8 bytes; the format allows at most {_MAX_VAR}"
                )

    # One constructor per type: the only way to say which integer width is meant.
    @classmethod
    def boolean(cls, value: bool) -> HeaderValue:
        return cls(HeaderType.BOOLEAN, value)

    @classmethod
    def byte(cls, value: int) -> HeaderValue:
        return cls(HeaderType.BYTE, value)

    @classmethod
    def short(cls, value: int) -> HeaderValue:
        return cls(HeaderType.SHORT, value)

    @classmethod
    def integer(cls, value: int) -> HeaderValue:
        return cls(HeaderType.INTEGER, value)

    @classmethod
    def long(cls, value: int) -> HeaderValue:
        return cls(HeaderType.LONG, value)

    @classmethod
    def binary(cls, value: bytes | bytearray | memoryview) -> HeaderValue:
        return cls(HeaderType.BINARY, bytes(value))

    @classmethod
    def string(cls, value: str) -> HeaderValue:
        return cls(HeaderType.STRING, value)

    @classmethod
    def timestamp(cls, value: datetime | int) -> HeaderValue:
        """From an aware datetime (truncated to the millisecond) or epoch ms."""
        if isinstance(value, datetime):
            return cls(HeaderType.TIMESTAMP, datetime_to_millis(value))
        return cls(HeaderType.TIMESTAMP, value)

    @classmethod
    def uuid(cls, value: _uuid.UUID | str) -> HeaderValue:
        if isinstance(value, str):
            try:
                value = _uuid.UUID(value)
            except ValueError:
                raise SigningError(f"{value!r} is not a UUID") from None
        return cls(HeaderType.UUID, value)

    @classmethod
    def infer(cls, value: object) -> HeaderValue:
        """The value for a plain Python object whose wire type is unambiguous.

        ``int`` is refused: it could be any of four widths (or a timestamp),
        and guessing wrong changes the bytes a peer signs and parses.
        """
        if isinstance(value, HeaderValue):
            return value
        if isinstance(value, bool):
            return cls(HeaderType.BOOLEAN, value)
        if isinstance(value, str):
            return cls(HeaderType.STRING, value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls(HeaderType.BINARY, bytes(value))
        if isinstance(value, _uuid.UUID):
            return cls(HeaderType.UUID, value)
        if isinstance(value, datetime):
            return cls.timestamp(value)
        if isinstance(value, int):
            raise SigningError(
                f"an int header value ({value}) is ambiguous: wrap it as "
                "HeaderValue.byte/short/integer/long(...) or HeaderValue.timestamp(...)"
            )
        raise SigningError(
            f"cannot use {type(value).__name__} as an event-stream header value; use bool, "
            "str, bytes, uuid.UUID, an aware datetime or a HeaderValue"
        )

    def to_datetime(self) -> datetime:
        """A timestamp value as an aware UTC datetime."""
        if self.type is not HeaderType.TIMESTAMP:
            raise SigningError(f"to_datetime() needs a timestamp header, not {self.type.value}")
        dt = millis_to_datetime(self.value) if isinstance(self.value, int) else None
        if dt is None:
            raise SigningError(
                f"timestamp {self.value!r} ms is outside the years datetime can represent"
            )
        return dt


def datetime_to_millis(dt: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime, truncated."""
    if dt.tzinfo is None:
        raise SigningError(
            "naive datetime: pass an aware one, e.g. datetime.now(timezone.utc), so the "
            "time cannot silently be local time"
        )
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def millis_to_datetime(ms: int) -> datetime | None:
    """The aware datetime for epoch milliseconds; ``None`` when out of range."""
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None


HeadersInput = Mapping[str, object] | Iterable[tuple[str, object]] | None


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Message:
    """One event-stream message: ordered typed headers and a payload.

    ``headers`` may be a mapping or a sequence of ``(name, value)`` pairs
    (the wire allows a name twice; a decoded message keeps every pair in
    order).  Values are :class:`HeaderValue` or plain ``bool``, ``str``,
    ``bytes``, ``uuid.UUID`` or aware ``datetime`` (see
    :meth:`HeaderValue.infer`)::

        Message({":message-type": "event", ":event-type": "AudioEvent",
                 ":content-type": "application/octet-stream"}, audio_chunk)
    """

    headers: tuple[tuple[str, HeaderValue], ...]
    payload: bytes

    def __init__(self, headers: HeadersInput = None, payload: bytes = b"") -> None:
        pairs: list[tuple[str, HeaderValue]] = []
        if headers is not None:
            items = headers.items() if isinstance(headers, Mapping) else headers
            for item in items:
                try:
                    name, value = item
                except (TypeError, ValueError):
                    raise SigningError(
                        f"headers must be a mapping or (name, value) pairs, got {item!r}"
                    ) from None
                _check_name(name)
                pairs.append((name, HeaderValue.infer(value)))
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise SigningError(f"payload must be bytes, not {type(payload).__name__}")
        object.__setattr__(self, "headers", tuple(pairs))
        object.__setattr__(self, "payload", bytes(payload))

    @classmethod
    def _trusted(cls, headers: tuple[tuple[str, HeaderValue], ...], payload: bytes) -> Message:
        # The decoder has already validated every part; skip the checks.
        m = object.__new__(cls)
        object.__setattr__(m, "headers", headers)
        object.__setattr__(m, "payload", payload)
        return m

    def get(self, name: str) -> HeaderValue | None:
        """The first header with this exact name (names are case-sensitive)."""
        return next((v for n, v in self.headers if n == name), None)

    def header_values(self) -> dict[str, HeaderPython]:
        """``{name: python value}``, the first of any repeated name winning."""
        out: dict[str, HeaderPython] = {}
        for n, v in self.headers:
            out.setdefault(n, v.value)
        return out

    def __repr__(self) -> str:
        p = self.payload
        shown = repr(p[:32]) + ("..." if len(p) > 32 else "")
        hs = ", ".join(f"{n!r}: {v.type.value}({v.value!r})" for n, v in self.headers)
        return f"Message(headers={{{hs}}}, payload={shown} ({len(p)} bytes))"


def _check_name(name: object) -> bytes:
    if not isinstance(name, str):
        raise SigningError(f"header name must be a str, not {type(name).__name__}")
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        raise SigningError(f"header name {name!r} is not encodable as UTF-8") from None
    if not 1 <= len(raw) <= _MAX_NAME:
        raise SigningError(
            f"header name must be 1 to {_MAX_NAME} UTF-8 bytes, got {len(raw)}: {name[:40]!r}"
        )
    return raw


def _encode_value(v: HeaderValue) -> bytes:
    """Type code and value: nothing for the booleans (code 0 true, 1 false),
    1/2/4/8 bytes of signed integer, a u16 length and the bytes for binary and
    string, 8 bytes of epoch milliseconds for a timestamp, 16 for a UUID."""
    t, x = v.type, v.value
    if isinstance(x, str):
        raw = x.encode("utf-8")
        return b"\x07" + _U16.pack(len(raw)) + raw
    if isinstance(x, bytes):
        return b"\x06" + _U16.pack(len(x)) + x
    if isinstance(x, bool):
        return b"\x00" if x else b"\x01"
    if isinstance(x, _uuid.UUID):
        return b"\x09" + x.bytes
    if t is HeaderType.BYTE:
        return b"\x02" + x.to_bytes(1, "big", signed=True)
    if t is HeaderType.SHORT:
        return b"\x03" + _I16.pack(x)
    if t is HeaderType.INTEGER:
        return b"\x04" + _I32.pack(x)
    return (b"\x05" if t is HeaderType.LONG else b"\x08") + _I64.pack(x)


def encode_headers(headers: Iterable[tuple[str, HeaderValue]]) -> bytes:
    """The encoded header block (what the prelude's headers length counts)."""
    parts: list[bytes] = []
    add = parts.append
    pack16 = _U16.pack
    for name, value in headers:
        raw = name.encode("utf-8")
        add(bytes((len(raw),)))
        add(raw)
        x = value.value
        if isinstance(x, str):  # the common case, inlined
            xb = x.encode("utf-8")
            add(b"\x07")
            add(pack16(len(xb)))
            add(xb)
        else:
            add(_encode_value(value))
    return b"".join(parts)


def frame(header_block: bytes, payload: bytes) -> bytes:
    """Wrap an encoded header block and a payload in prelude and CRCs."""
    total = _OVERHEAD + len(header_block) + len(payload)
    if total > 0xFFFFFFFF:
        raise SigningError(f"an event-stream message cannot exceed 4 GiB (got {total} bytes)")
    prelude = _PRELUDE.pack(total, len(header_block))
    pcrc = _U32.pack(crc32(prelude))
    mcrc = crc32(payload, crc32(header_block, crc32(pcrc, crc32(prelude))))
    return b"".join((prelude, pcrc, header_block, payload, _U32.pack(mcrc)))


def encode_message(
    message: Message,
    *,
    max_message_size: int = MAX_MESSAGE_SIZE,
    max_headers_size: int = MAX_HEADERS_SIZE,
) -> bytes:
    """The wire bytes of ``message``.

    Refuses (``SigningError``) a message AWS would refuse: by default more
    than 16 MiB in all or 128 KiB of headers.
    """
    block = encode_headers(message.headers)
    if len(block) > max_headers_size:
        raise SigningError(
            f"the encoded headers are {len(block)} bytes; the limit is {max_headers_size}"
        )
    size = _OVERHEAD + len(block) + len(message.payload)
    if size > max_message_size:
        raise SigningError(
            f"the encoded message would be {size} bytes; the limit is {max_message_size} "
            "(split the payload over several messages)"
        )
    return frame(block, message.payload)


_FIXED_SIZE = {2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
_INT_TYPES = {
    2: HeaderType.BYTE,
    3: HeaderType.SHORT,
    4: HeaderType.INTEGER,
    5: HeaderType.LONG,
    8: HeaderType.TIMESTAMP,
}


def _decode_headers(blk: bytes, where: str) -> tuple[tuple[str, HeaderValue], ...]:
    # ``blk`` is the header block alone (a copy): slicing bytes is cheaper
    # than slicing a memoryview for the few dozen bytes headers usually are.
    out: list[tuple[str, HeaderValue]] = []
    end = len(blk)
    i = 0
    new = object.__new__
    setattr_ = object.__setattr__
    while i < end:
        nlen = blk[i]
        i += 1
        if nlen == 0:
            raise MalformedEventStream(f"{where}: a header has an empty name")
        if i + nlen + 1 > end:
            raise MalformedEventStream(f"{where}: a header name runs past the header block")
        try:
            name = blk[i : i + nlen].decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedEventStream(f"{where}: a header name is not valid UTF-8") from None
        i += nlen
        code = blk[i]
        i += 1
        t: HeaderType
        value: HeaderPython
        if code == 7 or code == 6:
            if i + 2 > end:
                raise MalformedEventStream(
                    f"{where}: the length of header {name!r} runs past the header block"
                )
            vlen = (blk[i] << 8) | blk[i + 1]
            i += 2
            if i + vlen > end:
                raise MalformedEventStream(
                    f"{where}: the value of header {name!r} ({vlen} bytes) runs past the "
                    "header block"
                )
            raw = blk[i : i + vlen]
            i += vlen
            if code == 6:
                t, value = HeaderType.BINARY, raw
            else:
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise MalformedEventStream(
                        f"{where}: the value of string header {name!r} is not valid UTF-8"
                    ) from None
                t = HeaderType.STRING
        elif code <= 1:
            t, value = HeaderType.BOOLEAN, code == 0
        elif code in _FIXED_SIZE:
            size = _FIXED_SIZE[code]
            if i + size > end:
                raise MalformedEventStream(
                    f"{where}: the value of header {name!r} runs past the header block"
                )
            chunk = blk[i : i + size]
            i += size
            if code == 9:
                t, value = HeaderType.UUID, _uuid.UUID(bytes=chunk)
            else:
                t, value = _INT_TYPES[code], int.from_bytes(chunk, "big", signed=True)
        else:
            raise MalformedEventStream(f"{where}: header {name!r} has unknown type {code}")
        hv = new(HeaderValue)
        setattr_(hv, "type", t)
        setattr_(hv, "value", value)
        out.append((name, hv))
    return tuple(out)


def _check_prelude(
    mv: memoryview, off: int, max_message_size: int, max_headers_size: int, where: str
) -> tuple[int, int]:
    total, hlen = _PRELUDE.unpack_from(mv, off)
    (pcrc,) = _U32.unpack_from(mv, off + 8)
    if crc32(mv[off : off + 8]) != pcrc:
        raise MalformedEventStream(
            f"{where}: prelude CRC mismatch (the frame is corrupt or the stream is out of step)"
        )
    if total < _OVERHEAD:
        raise MalformedEventStream(f"{where}: total length {total} is below the 16-byte minimum")
    if total > max_message_size:
        raise EventMessageTooLarge(
            f"{where}: message of {total} bytes exceeds the {max_message_size}-byte limit "
            "(max_message_size)",
            limit="max_message_size",
            value=max_message_size,
        )
    if hlen > total - _OVERHEAD:
        raise MalformedEventStream(
            f"{where}: headers length {hlen} does not fit in a {total}-byte message"
        )
    if hlen > max_headers_size:
        raise EventMessageTooLarge(
            f"{where}: {hlen} bytes of headers exceed the {max_headers_size}-byte limit "
            "(max_headers_size)",
            limit="max_headers_size",
            value=max_headers_size,
        )
    return total, hlen


def _decode_frame(mv: memoryview, off: int, total: int, hlen: int, where: str) -> Message:
    end = off + total
    (mcrc,) = _U32.unpack_from(mv, end - 4)
    if crc32(mv[off : end - 4]) != mcrc:
        raise MalformedEventStream(f"{where}: message CRC mismatch (the frame is corrupt)")
    hstart = off + _PRELUDE_LEN
    headers = _decode_headers(bytes(mv[hstart : hstart + hlen]), where) if hlen else ()
    return Message._trusted(headers, bytes(mv[hstart + hlen : end - 4]))


def decode_message(
    data: bytes | bytearray | memoryview,
    *,
    max_message_size: int = MAX_MESSAGE_SIZE,
    max_headers_size: int = MAX_HEADERS_SIZE,
) -> Message:
    """Decode exactly one message; extra or missing bytes are an error."""
    mv = memoryview(data).cast("B")
    n = len(mv)
    if n < _PRELUDE_LEN:
        raise IncompleteEventStream(f"{n} bytes cannot hold an event-stream prelude (12 bytes)")
    total, hlen = _check_prelude(mv, 0, max_message_size, max_headers_size, "message")
    if n < total:
        raise IncompleteEventStream(f"the message says {total} bytes but only {n} arrived")
    if n > total:
        raise MalformedEventStream(f"{n - total} bytes follow the {total}-byte message")
    return _decode_frame(mv, 0, total, hlen, "message")


class MessageDecoder:
    """Incremental decoder: feed bytes as they arrive, get whole messages.

    Chunks may split a message anywhere.  The prelude is checked as soon as
    its 12 bytes are in, so a corrupt or oversized length is refused before
    anything more is buffered.  After an error the decoder stays failed and
    raises the same error again: a byte stream that lost its framing cannot
    be resynchronised safely.
    """

    __slots__ = ("_buf", "_count", "_error", "_next", "max_headers_size", "max_message_size")

    def __init__(
        self,
        *,
        max_message_size: int = MAX_MESSAGE_SIZE,
        max_headers_size: int = MAX_HEADERS_SIZE,
    ) -> None:
        if max_message_size < _OVERHEAD or max_headers_size < 0:
            raise SigningError("max_message_size must be >= 16 and max_headers_size >= 0")
        self.max_message_size = max_message_size
        self.max_headers_size = max_headers_size
        self._buf = bytearray()
        self._next: tuple[int, int] | None = None  # (total, hlen) of the frame in progress
        self._count = 0
        self._error: EventStreamError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a message."""
        return len(self._buf)

    @property
    def messages_decoded(self) -> int:
        return self._count

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Add received bytes; return the messages they complete, in order."""
        if self._error is not None:
            raise self._error
        self._buf += data
        out: list[Message] = []
        buf = self._buf
        mv = memoryview(buf)
        pos = 0
        try:
            while True:
                avail = len(buf) - pos
                nxt = self._next
                if nxt is None:
                    if avail < _PRELUDE_LEN:
                        break
                    nxt = self._next = _check_prelude(
                        mv, pos, self.max_message_size, self.max_headers_size, self._where()
                    )
                total, hlen = nxt
                if avail < total:
                    break
                out.append(_decode_frame(mv, pos, total, hlen, self._where()))
                pos += total
                self._next = None
                self._count += 1
        except EventStreamError as exc:
            self._error = exc
            raise
        finally:
            mv.release()
        if pos:
            del buf[:pos]
        return out

    def close(self) -> None:
        """Declare the end of input; raises if a message was cut short."""
        if self._error is not None:
            raise self._error
        if self._buf:
            exc = IncompleteEventStream(
                f"the stream ended {len(self._buf)} bytes into message {self._count + 1}"
            )
            self._error = exc
            raise exc

    def _where(self) -> str:
        return f"message {self._count + 1}"
