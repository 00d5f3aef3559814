"""Signed event streams: the message chain AWS defines, both ends.

After the initial request is signed (``X-Amz-Content-SHA256:
STREAMING-AWS4-HMAC-SHA256-EVENTS``), each message is wrapped in an envelope
whose payload is the encoded message and whose only headers are ``:date`` and
``:chunk-signature``, the 32-byte SigV4 signature (with the key of the
``:date``'s day) of::

    AWS4-HMAC-SHA256-PAYLOAD
    <YYYYMMDDTHHMMSSZ of :date>
    <YYYYMMDD>/<region>/<service>/aws4_request
    <hex signature of the previous message (the request's, for the first)>
    <hex SHA-256 of the encoded :date header>
    <hex SHA-256 of the payload (the encoded inner message)>

An envelope with an empty payload ends the stream.  Each string to sign names
the previous signature, so a receiver that checks every link detects any
message changed, dropped, replayed or reordered, and the empty last message
detects truncation.  This agrees byte for byte with smithy-rs, smithy-typescript
and aws-c-auth (the tests check); what they leave open (sub-second dates,
envelope header order, no SigV4a form) is decided in ``docs/eventstream.md``.

The signer and verifier are pure state machines (bytes and times in, bytes and
messages out), for threads and ``async`` code alike; the only clock read is
the ``None`` default of a time argument.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .._memo import Memo
from ..canonical import credential_scope
from ..config import ALGORITHM_V4, is_sha256_hex, service_defaults
from ..credentials import Credentials
from ..errors import SigningError
from ..keys import HmacKey, signing_key

# The ``X-Amz-Content-SHA256`` of the initial request of a signed event stream.
from ..modes import STREAMING_EVENTS_PAYLOAD as STREAMING_EVENTS_PAYLOAD
from ._codec import (
    _EPOCH,
    MAX_HEADERS_SIZE,
    MAX_MESSAGE_SIZE,
    EventSignatureDoesNotMatch,
    EventStreamError,
    EventTimeTooSkewed,
    HeaderType,
    IncompleteEventStream,
    MalformedEventStream,
    Message,
    MessageDecoder,
    datetime_to_millis,
    decode_message,
    encode_message,
    frame,
    millis_to_datetime,
)

if TYPE_CHECKING:
    from ..signer import SignedRequest, Signer
    from ..verifier import VerifiedRequest

__all__ = [
    "EVENT_ALGORITHM",
    "STREAMING_EVENTS_PAYLOAD",
    "EventStreamVerifier",
    "MessageSigner",
    "VerifiedMessage",
    "encode_date_header",
    "string_to_sign",
]

#: First line of every event string to sign.
EVENT_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"

_sha256 = hashlib.sha256
_I64 = (1 << 63) - 1
_DATE_PREFIX = b"\x05:date\x08"  # name length, name, type 8 (timestamp)
_SIG_PREFIX = b"\x10:chunk-signature\x06\x00\x20"  # name length, name, type 6, u16 32
_AMZ = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_ENVELOPE_OVERHEAD = 16 + len(_DATE_PREFIX) + 8 + len(_SIG_PREFIX) + 32


def encode_date_header(millis: int) -> bytes:
    """The encoded ``:date`` header whose SHA-256 goes into the string to sign."""
    return _DATE_PREFIX + millis.to_bytes(8, "big", signed=True)


_DAYS: Memo[int, str] = Memo(4096)


def _amz_date(millis: int) -> str:
    # A stream's messages share a day: format the day once, the time of day
    # with integer arithmetic (strftime costs more than the HMAC).
    day, tod = divmod(millis // 1000, 86400)
    date8 = _DAYS.get(day)
    if date8 is None:
        try:
            d = _EPOCH + timedelta(days=day)
        except OverflowError:
            raise SigningError(
                f"time {millis} ms is outside the years 1-9999 a SigV4 date can name"
            ) from None
        date8 = _DAYS.put(day, f"{d.year:04d}{d.month:02d}{d.day:02d}")
    hours, rest = divmod(tod, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{date8}T{hours:02d}{minutes:02d}{seconds:02d}Z"


def string_to_sign(
    amz_date: str, scope: str, prior_signature: str, date_header: bytes, payload: bytes
) -> str:
    """The event string to sign, from its parts.

    ``date_header`` is the *encoded* ``:date`` header (see
    :func:`encode_date_header`); ``payload`` is the envelope's payload, the
    encoded inner message (empty for the end-of-stream message).
    """
    return (
        f"{EVENT_ALGORITHM}\n{amz_date}\n{scope}\n{prior_signature}\n"
        f"{_sha256(date_header).hexdigest()}\n{_sha256(payload).hexdigest()}"
    )


def _to_millis(timestamp: datetime | str | float | None) -> int:
    """Epoch milliseconds for any accepted time form; ``None`` reads the clock."""
    if timestamp is None:
        return time.time_ns() // 1_000_000
    if isinstance(timestamp, datetime):
        return datetime_to_millis(timestamp)
    if isinstance(timestamp, str):
        m = _AMZ.fullmatch(timestamp)
        try:
            if m:
                y, mo, d, h, mi, se = (int(g) for g in m.groups())
                dt = datetime(y, mo, d, h, mi, se, tzinfo=timezone.utc)
            else:
                text = timestamp.strip()
                if text[-1:] in ("Z", "z"):
                    text = text[:-1] + "+00:00"
                dt = datetime.fromisoformat(text)
        except ValueError:
            raise SigningError(
                f"cannot parse timestamp {timestamp!r}: use '20130524T000000Z', "
                "'2013-05-24T00:00:00.123Z' or an aware datetime"
            ) from None
        if dt.tzinfo is None:
            raise SigningError(f"timestamp {timestamp!r} has no time zone; add 'Z'")
        return datetime_to_millis(dt)
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        return timestamp * 1000
    if isinstance(timestamp, float):
        # Rounded to the nearest millisecond: 531881.521 is 531881.52099999...
        # in binary, and truncating would sign 531881520 ms.
        try:
            return round(timestamp * 1000)
        except (OverflowError, ValueError):
            raise SigningError(f"timestamp {timestamp!r} is not a usable POSIX time") from None
    raise SigningError(
        "timestamp must be None (now), an aware datetime, a '20130524T000000Z' string or "
        f"POSIX seconds, not {type(timestamp).__name__}"
    )


def _check_scope_part(what: str, value: object) -> str:
    if not isinstance(value, str) or not value or "/" in value or not value.isprintable():
        raise SigningError(f"{what} must be a non-empty string without '/', got {value!r}")
    return value


def _check_seed(seed: object) -> str:
    if not isinstance(seed, str) or not is_sha256_hex(seed):
        raise SigningError(
            "seed_signature must be the 64 lowercase hex digits of the initial request's "
            f"SigV4 signature (the Signature= of its Authorization header), got {seed!r}"
        )
    return seed


class _Chain:
    """What both ends of a stream hold: the scope, the previous signature and the
    key of the current day, re-derived when a message crosses midnight (a stream
    can outlive a day; each message's scope is its own ``:date``'s day)."""

    __slots__ = ("_date8", "_finished", "_key", "_prior", "_secret", "region", "service")

    def __init__(self, secret: str, region: str, service: str, seed_signature: str) -> None:
        self.region = _check_scope_part("region", region)
        self.service = _check_scope_part("service", service)
        self._secret = secret
        self._date8 = ""
        self._key: HmacKey | None = None
        self._prior = _check_seed(seed_signature)
        self._finished = False

    @property
    def prior_signature(self) -> str:
        """The hex signature the next message chains from."""
        return self._prior

    @property
    def finished(self) -> bool:
        """True once the signed end-of-stream (empty) message went by."""
        return self._finished

    def _link(self, ms: int, date_header: bytes, payload: bytes) -> tuple[str, str, bytes]:
        """``(amz date, string to sign, signature)`` of the next message, signed at ``ms``."""
        amz = _amz_date(ms)
        date8 = amz[:8]
        key = self._key
        if date8 != self._date8 or key is None:
            key = self._key = signing_key(self._secret, date8, self.region, self.service)
            self._date8 = date8
        scope = credential_scope(date8, self.region, self.service)
        sts = string_to_sign(amz, scope, self._prior, date_header, payload)
        return amz, sts, key.digest(sts.encode("ascii"))


class MessageSigner(_Chain):
    """Signs the messages of one outgoing event stream, in order.

    Each call wraps a message in its signed envelope, returns the bytes to
    send and moves the chain on; :meth:`end` signs the empty message that
    closes the stream.  Build it with :meth:`for_request` from the signed
    initial request, or from that request's credentials, scope and hex
    signature.  It never blocks (``async`` code calls it directly) and holds
    the chain: one stream, one signer, one task at a time.

    ``keep_milliseconds`` writes the time's milliseconds into ``:date`` (as
    the JS SDK does) instead of truncating to the second (as smithy-rs and
    aws-c-auth do); both verify.
    """

    __slots__ = ("_keep_ms", "last_string_to_sign")

    def __init__(
        self,
        credentials: Credentials,
        region: str,
        service: str,
        seed_signature: str,
        *,
        keep_milliseconds: bool = False,
    ) -> None:
        if not isinstance(credentials, Credentials):
            raise SigningError("credentials must be a sigv4kit.Credentials")
        super().__init__(credentials.secret_access_key, region, service, seed_signature)
        self._keep_ms = bool(keep_milliseconds)
        #: The string to sign of the latest message, for debugging.
        self.last_string_to_sign: str | None = None

    @classmethod
    def for_request(
        cls,
        signer: Signer,
        signed: SignedRequest,
        *,
        keep_milliseconds: bool = False,
    ) -> MessageSigner:
        """The message signer that continues ``signed``, made by ``signer``."""
        if signed.algorithm != ALGORITHM_V4:
            raise SigningError(
                "event-stream messages can only be signed with SigV4: no SDK or service "
                "defines a SigV4a (ECDSA) event signature. Sign the initial request with "
                "algorithm='sigv4'."
            )
        return cls(
            signer.credentials(),
            signed.region,
            signed.service,
            signed.signature,
            keep_milliseconds=keep_milliseconds,
        )

    def sign(self, message: Message, timestamp: datetime | str | float | None = None) -> bytes:
        """The envelope for ``message``, encoded, ready to send.

        ``timestamp`` is this message's signing time (``None``: now).
        """
        if not isinstance(message, Message):
            raise SigningError(
                f"sign() takes a Message, not {type(message).__name__}; use sign_payload() "
                "for bytes that are already encoded"
            )
        inner = encode_message(message, max_message_size=MAX_MESSAGE_SIZE - _ENVELOPE_OVERHEAD)
        return self._sign(inner, timestamp)

    def sign_payload(
        self, payload: bytes, timestamp: datetime | str | float | None = None
    ) -> bytes:
        """The envelope for a payload that is already encoded (normally an
        encoded message; aws-c-auth's tests sign arbitrary bytes)."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise SigningError(f"payload must be bytes, not {type(payload).__name__}")
        payload = bytes(payload)
        if not payload:
            raise SigningError(
                "an empty payload is the end-of-stream message; call end() to send it"
            )
        if len(payload) > MAX_MESSAGE_SIZE - _ENVELOPE_OVERHEAD:
            raise SigningError(
                f"payload of {len(payload)} bytes does not fit in a 16 MiB signed message"
            )
        return self._sign(payload, timestamp)

    def end(self, timestamp: datetime | str | float | None = None) -> bytes:
        """The signed empty message that ends the stream; the last call."""
        return self._sign(b"", timestamp)

    def _sign(self, payload: bytes, timestamp: datetime | str | float | None) -> bytes:
        if self._finished:
            raise SigningError("the stream already ended (end() was called); start a new one")
        ms = _to_millis(timestamp)
        if not self._keep_ms:
            ms -= ms % 1000
        if not -_I64 <= ms <= _I64:
            raise SigningError("timestamp is outside the range of an event-stream timestamp")
        date_header = encode_date_header(ms)
        _, sts, sig = self._link(ms, date_header, payload)
        self._prior = sig.hex()
        self.last_string_to_sign = sts
        if not payload:
            self._finished = True
        return frame(date_header + _SIG_PREFIX + sig, payload)

    def __repr__(self) -> str:
        return (
            f"MessageSigner(region={self.region!r}, service={self.service!r}, "
            f"prior_signature={self._prior!r}, finished={self._finished})"
        )


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """One message whose envelope verified.

    ``message`` is the decoded inner message (``None`` when the verifier was
    built with ``decode_payload=False``); ``payload`` is its raw bytes;
    ``timestamp`` the envelope's ``:date``; ``signature`` its hex signature;
    ``index`` its position in the stream, from 1.
    """

    message: Message | None
    payload: bytes
    timestamp: datetime
    signature: str
    index: int


def _now_ms(now: datetime | None) -> int:
    if now is None:
        return time.time_ns() // 1_000_000
    if not isinstance(now, datetime):
        raise SigningError(f"now must be an aware datetime or None, not {type(now).__name__}")
    return datetime_to_millis(now)


class EventStreamVerifier(_Chain):
    """Checks a received signed event stream, envelope by envelope.

    Feed it the raw bytes of the request body (:meth:`feed`) or envelopes a
    framing layer already split (:meth:`verify_envelope`).  An inner message
    is returned only after its envelope verified: its chain link, its
    signature and its ``:date`` (within ``max_skew`` of ``now``).  Call
    :meth:`close` when the body ends: a stream without its signed empty
    message was cut short.

    After any failure the verifier stays failed and re-raises the error: the
    chain is broken, nothing later can be trusted.

    ``credentials`` may be just the secret key; ``seed_signature`` is the
    initial request's verified signature.  ``max_skew`` (seconds or a
    timedelta) defaults to the service's request skew
    (:data:`sigv4kit.config.SERVICE_DEFAULTS`); the size limits apply to
    envelopes and inner messages alike.
    """

    __slots__ = ("_count", "_decode", "_decoder", "_error", "_max_skew_ms")

    def __init__(
        self,
        credentials: Credentials | str,
        region: str,
        service: str,
        seed_signature: str,
        *,
        max_skew: float | timedelta | None = None,
        decode_payload: bool = True,
        max_message_size: int = MAX_MESSAGE_SIZE,
        max_headers_size: int = MAX_HEADERS_SIZE,
    ) -> None:
        if isinstance(credentials, Credentials):
            secret = credentials.secret_access_key
        elif isinstance(credentials, str) and credentials:
            secret = credentials
        else:
            raise SigningError("credentials must be a sigv4kit.Credentials or a secret key str")
        super().__init__(secret, region, service, seed_signature)
        if max_skew is None:
            max_skew = service_defaults(service).max_skew_seconds
        if isinstance(max_skew, timedelta):
            max_skew = max_skew.total_seconds()
        if not isinstance(max_skew, (int, float)) or isinstance(max_skew, bool) or max_skew < 0:
            raise SigningError("max_skew must be a non-negative number of seconds or a timedelta")
        self._max_skew_ms = int(max_skew * 1000)
        self._decode = bool(decode_payload)
        self._decoder = MessageDecoder(
            max_message_size=max_message_size, max_headers_size=max_headers_size
        )
        self._count = 0
        self._error: EventStreamError | None = None

    @classmethod
    def for_request(
        cls,
        verified: VerifiedRequest,
        credentials: Credentials | str,
        *,
        max_skew: float | timedelta | None = None,
        decode_payload: bool = True,
        max_message_size: int = MAX_MESSAGE_SIZE,
        max_headers_size: int = MAX_HEADERS_SIZE,
    ) -> EventStreamVerifier:
        """The verifier for the body of a request :class:`~sigv4kit.Verifier`
        accepted: its signature seeds the chain, its scope is the scope.

        ``credentials`` is the secret of ``verified.access_key_id`` (the one
        your credential lookup returned for it).
        """
        region = verified.scope.region
        if verified.algorithm != ALGORITHM_V4 or region is None:
            raise SigningError(
                "this request was signed with SigV4a; event-stream messages are only defined "
                "for SigV4, so its body cannot be verified as a signed event stream"
            )
        return cls(
            credentials,
            region,
            verified.scope.service,
            verified.signature,
            max_skew=max_skew,
            decode_payload=decode_payload,
            max_message_size=max_message_size,
            max_headers_size=max_headers_size,
        )

    def feed(
        self, data: bytes | bytearray | memoryview, *, now: datetime | None = None
    ) -> list[VerifiedMessage]:
        """Add received body bytes; return the messages they complete and
        that verified, in order."""
        if self._error is not None:
            raise self._error
        now_ms = _now_ms(now)  # before consuming data: a bad `now` must not lose bytes
        out: list[VerifiedMessage] = []
        try:
            for env in self._decoder.feed(data):
                verified = self._verify(env, now_ms)
                if verified is not None:
                    out.append(verified)
        except EventStreamError as exc:
            self._error = exc
            raise
        return out

    def verify_envelope(
        self, envelope: Message, *, now: datetime | None = None
    ) -> VerifiedMessage | None:
        """Verify the next envelope of the stream; ``None`` for the end message."""
        if self._error is not None:
            raise self._error
        try:
            return self._verify(envelope, _now_ms(now))
        except EventStreamError as exc:
            self._error = exc
            raise

    def close(self) -> None:
        """Declare the end of the body; raises unless the stream ended properly."""
        if self._error is not None:
            raise self._error
        try:
            self._decoder.close()
            if not self._finished:
                raise IncompleteEventStream(
                    f"the stream ended after {self._count} messages without its signed "
                    "end-of-stream (empty) message; it may have been truncated"
                )
        except EventStreamError as exc:
            self._error = exc
            raise

    def _verify(self, env: Message, now_ms: int) -> VerifiedMessage | None:
        self._count += 1
        where = f"message {self._count}"
        if self._finished:
            raise MalformedEventStream(f"{where} arrived after the end-of-stream message")
        date_ms: int | None = None
        provided: bytes | None = None
        for name, value in env.headers:
            v = value.value
            if name == ":date" and date_ms is None and value.type is HeaderType.TIMESTAMP:
                assert isinstance(v, int)
                date_ms = v
            elif name == ":chunk-signature" and provided is None and isinstance(v, bytes):
                if len(v) != 32:
                    raise MalformedEventStream(
                        f"{where}: ':chunk-signature' is {len(v)} bytes; a SigV4 signature is 32"
                    )
                provided = v
            else:
                raise MalformedEventStream(
                    f"{where}: a signed envelope has exactly a ':date' timestamp and a "
                    f"32-byte ':chunk-signature'; found {name!r} ({value.type.value})"
                )
        if date_ms is None or provided is None:
            missing = ":date" if date_ms is None else ":chunk-signature"
            raise MalformedEventStream(f"{where}: the signed envelope has no {missing!r} header")
        signed_at = millis_to_datetime(date_ms)
        if signed_at is None or not 0 <= date_ms // 1000 <= 253402300799:
            raise MalformedEventStream(f"{where}: ':date' {date_ms} ms is not a usable time")
        payload = env.payload
        amz, sts, expected = self._link(date_ms, encode_date_header(date_ms), payload)
        provided_hex = provided.hex()
        if not hmac.compare_digest(expected, provided):
            raise EventSignatureDoesNotMatch(
                f"{where}: the ':chunk-signature' does not match (the message was changed, or "
                "one before it was dropped, replayed or reordered)",
                string_to_sign=sts,
                signature_provided=provided_hex,
            )
        if abs(now_ms - date_ms) > self._max_skew_ms:
            raise EventTimeTooSkewed(
                f"{where}: its ':date' is {abs(now_ms - date_ms) / 1000:.3f} s from the server "
                f"time; at most {self._max_skew_ms / 1000:g} s is allowed",
                details={
                    "RequestTime": amz,
                    "ServerTime": _amz_date(now_ms),
                    "MaxAllowedSkewMilliseconds": str(self._max_skew_ms),
                },
            )
        self._prior = provided_hex
        if not payload:
            self._finished = True
            return None
        inner: Message | None = None
        if self._decode:
            try:
                inner = decode_message(
                    payload,
                    max_message_size=self._decoder.max_message_size,
                    max_headers_size=self._decoder.max_headers_size,
                )
            except EventStreamError as exc:
                raise MalformedEventStream(
                    f"{where}: the signed payload is not a valid message: {exc.message}"
                ) from None
        return VerifiedMessage(inner, payload, signed_at, provided_hex, self._count)

    def __repr__(self) -> str:
        return (
            f"EventStreamVerifier(region={self.region!r}, service={self.service!r}, "
            f"messages={self._count}, finished={self._finished})"
        )
