"""The Verifier: check a received request's SigV4 or SigV4a signature.

Verification walks the signer's road backwards: parse what arrived (the
``Authorization`` header, the presign query parameters, a browser POST form
or the seed of an aws-chunked body), rebuild the canonical request from the
received request target *verbatim* with the functions of
:mod:`sigv4kit.canonical` the Signer's own hot path uses (``canonical_uri``,
``canonical_query``, ``canonical_block``: the same composition as
:func:`~sigv4kit.canonical.canonical_request_for_target`, whose output the
tests compare against every suite's canonical request), sign it with the
stored secret and compare in constant time.

Why the order of checks is what it is:

* Everything that costs nothing and needs no secret comes first (syntax,
  algorithm, credential scope, dates, clock skew, expiry, which headers are
  signed), so a malformed or stale request never reaches the credential
  lookup, which may be a database call.
* The signature is checked before the payload hash and before the session
  token: a forger learns nothing about either.
* A body is never read whole into memory.  When the declared payload hash is
  a SHA-256, data is released to the application as it streams, and the
  *last* piece is held back until the hash has been checked, so an
  application that waits for the end of the body never sees a body whose hash
  failed.  aws-chunked bodies release a chunk only after its signature
  verified (:mod:`sigv4kit.streaming`).

Errors are the classes of :mod:`sigv4kit.errors`, with S3's codes, statuses
and messages.  Secrets never appear in them; a session token never appears
in a message, and is redacted in the debug canonical request unless the
operator asks otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import tempfile
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from fnmatch import fnmatchcase
from typing import Any, BinaryIO, ClassVar, cast
from urllib.parse import quote, unquote

from . import canonical as _c
from .config import ALGORITHM_V4, ALGORITHM_V4A, service_defaults
from .credentials import Credentials
from .errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationHeaderTooLong,
    AuthorizationQueryParametersError,
    IncompleteBody,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    InvalidToken,
    MissingAuthentication,
    QueryTooLong,
    RequestHeaderTooLong,
    SignatureDoesNotMatch,
    SignatureError,
    SigningError,
    TooManySignedHeaders,
    TooManySignedHeadersInQuery,
    XAmzContentSHA256Mismatch,
)
from .keys import signing_key

__all__ = [
    "MAX_AUTH_LENGTH",
    "MAX_HEADER_LENGTH",
    "MAX_PRESIGN_EXPIRES",
    "MAX_QUERY_LENGTH",
    "MAX_SIGNED_HEADERS",
    "AuthorizationHeaderTooLong",
    "CredentialLookup",
    "MissingAuthentication",
    "QueryTooLong",
    "RequestHeaderTooLong",
    "Scope",
    "TooManySignedHeaders",
    "TooManySignedHeadersInQuery",
    "VerifiedRequest",
    "Verifier",
]

_sha256 = hashlib.sha256
_canonical_request = _c.canonical_request
_string_to_sign = _c.string_to_sign_text
_compare = hmac.compare_digest
_EMPTY = _c.EMPTY_SHA256
MAX_PRESIGN_EXPIRES = 604800
_READ_SIZE = 1 << 16
_SPOOL_MEMORY = 1 << 20

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EVENTS_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-EVENTS"
#: x-amz-content-sha256 value -> (auth_type, algorithm it belongs to or None)
_STREAMING: dict[str, tuple[str, str | None]] = {
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": ("streaming", ALGORITHM_V4),
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": ("streaming-trailer", ALGORITHM_V4),
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD": ("streaming", ALGORITHM_V4A),
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER": ("streaming-trailer", ALGORITHM_V4A),
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER": ("streaming-unsigned-trailer", None),
}
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_SHA256_VALUES_MESSAGE = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-EVENTS or a valid sha256 value."
)

# x-amz-* headers that may be sent unsigned: each is bound to the signature by
# other means.  x-amz-date is in the string to sign; x-amz-content-sha256 is
# the last line of the canonical request; x-amz-security-token is checked
# against the credential store (clients such as IoT add it after signing, the
# suite's post-sts-header-after case).  Every other x-amz-* header must be
# signed, as S3 requires.
_UNSIGNED_AMZ_OK = frozenset({"x-amz-date", "x-amz-content-sha256", "x-amz-security-token"})

_PRESIGN_NAMES = {
    "x-amz-algorithm": "X-Amz-Algorithm",
    "x-amz-credential": "X-Amz-Credential",
    "x-amz-date": "X-Amz-Date",
    "x-amz-expires": "X-Amz-Expires",
    "x-amz-signedheaders": "X-Amz-SignedHeaders",
    "x-amz-signature": "X-Amz-Signature",
    "x-amz-security-token": "X-Amz-Security-Token",
    "x-amz-region-set": "X-Amz-Region-Set",
    "x-amz-content-sha256": "X-Amz-Content-Sha256",
}
_PRESIGN_EXACT = {v: v for v in _PRESIGN_NAMES.values()}
_PRESIGN_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_NOT_SIGNED_MESSAGE = "There were headers present in the request which were not signed"
_CREDENTIAL_FORMAT = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'
_CREDENTIAL_FORMAT_V4A = '"<YOUR-AKID>/YYYYMMDD/SERVICE/aws4_request"'
_REDACTED = "<redacted>"

#: A credential lookup returns a secret (str), a :class:`Credentials` (secret
#: and the session token the request must carry), a SigV4a public key, a
#: ``(secret or public key, session token)`` pair, or None for unknown keys.
CredentialValue = Any
CredentialLookup = (
    Mapping[str, CredentialValue]
    | Callable[[str], CredentialValue]
    | Callable[[str], Awaitable[CredentialValue]]
)
TokenCheck = Callable[[str, str], Any]


# --------------------------------------------------------------------------
# Limits: each has its own error, carrying the option name and its value
# --------------------------------------------------------------------------
#: Defaults of the Verifier's limits (see docs/security.md).
MAX_AUTH_LENGTH = 16384
MAX_QUERY_LENGTH = 24576
MAX_SIGNED_HEADERS = 100
# Above max_auth_length, so an oversized Authorization header gets its own error.
MAX_HEADER_LENGTH = 32768


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SigningError(f"{name} must be a positive integer, got {value!r}")
    return value


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scope:
    """The credential scope a request was signed for.

    ``region`` is ``None`` for SigV4a, which signs for ``region_set``.
    """

    date: str
    region: str | None
    service: str
    region_set: tuple[str, ...] | None = None
    terminal: str = "aws4_request"

    def __str__(self) -> str:
        return _c.credential_scope(self.date, self.region, self.service, self.terminal)


@dataclass(slots=True)
class VerifiedRequest:
    """Who signed what, and the verified body.

    Attributes:
        access_key_id: the signer's access key id.
        algorithm: ``AWS4-HMAC-SHA256`` or ``AWS4-ECDSA-P256-SHA256``.
        auth_type: ``"header"``, ``"presigned"``, ``"post"``, ``"streaming"``,
            ``"streaming-trailer"`` or ``"streaming-unsigned-trailer"``.
        scope: the credential scope.
        signed_headers: the lowercase names of the signed headers.
        amz_date: the request time as ``YYYYMMDDTHHMMSSZ``.
        payload_hash: the payload hash of the canonical request
            (a SHA-256, ``UNSIGNED-PAYLOAD`` or a ``STREAMING-...`` value).
        has_session_token: the request carried a session token (checked).
        body: the verified, decoded body: an iterator of bytes (an async
            iterator when an async body was given to ``averify``).  Iterate
            it to the end: the last piece is released only after the payload
            hash (or the final chunk signature) has been checked, otherwise
            a :class:`~sigv4kit.errors.SignatureError` is raised.
        form: the POST form fields (``auth_type == "post"``), else None.
        expires: the presigned URL's lifetime in seconds, else None.
        trailers: the verified trailing headers of an aws-chunked body
            (e.g. ``x-amz-checksum-crc32``), filled in once ``body`` was
            read to the end.
        string_to_sign: the exact text whose signature was verified (for a
            browser POST, the Base64 policy).  A replay cache keys on
            ``(access_key_id, string_to_sign)``, never on ``signature``: a
            SigV4a (ECDSA) signature has a second valid form ``(r, n-s)``,
            and two signatures of one request differ.  It may hold the session
            token (POST policies), so it is left out of the repr.
    """

    access_key_id: str
    algorithm: str
    auth_type: str
    scope: Scope
    signed_headers: tuple[str, ...]
    amz_date: str
    payload_hash: str
    has_session_token: bool
    body: Iterator[bytes] | AsyncIterator[bytes]
    signature: str = field(repr=False, default="")
    form: dict[str, str] | None = None
    expires: int | None = None
    trailers: Sequence[tuple[str, str]] = ()
    string_to_sign: str = field(repr=False, default="")

    @property
    def request_time(self) -> datetime:
        return datetime.strptime(self.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)

    def read(self) -> bytes:
        """The whole verified body (for small bodies; raises on failure)."""
        if not isinstance(self.body, Iterator):
            raise SigningError("the body is asynchronous; use 'await ok.aread()'")
        return b"".join(self.body)

    async def aread(self) -> bytes:
        """The whole verified body, for a sync or an async body."""
        if isinstance(self.body, Iterator):
            return b"".join(self.body)
        return b"".join([piece async for piece in self.body])


# --------------------------------------------------------------------------
# Request parsing helpers
# --------------------------------------------------------------------------
def _to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    raise SigningError(f"header names and values must be str or bytes, not {type(value).__name__}")


_lname_cache: dict[str | bytes, str] = {}


def _index_headers(headers: object) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``(lowercase pairs in order, lowercase name -> values joined by ',')``.

    Names (str, or bytes as ASGI gives them) are lowercased through a
    memo: servers see the same few header names over and over.
    """
    if headers is None:
        return [], {}
    items: Any
    if headers.__class__ is list:
        items = headers
    else:
        multi = getattr(headers, "multi_items", None)  # starlette Headers keep repeats here
        if callable(multi):
            items = multi()
        elif isinstance(headers, Mapping):
            items = headers.items()
        elif isinstance(headers, (str, bytes)):
            raise SigningError("headers must be a mapping or a list of (name, value) pairs")
        else:
            items = list(cast("Iterable[Any]", headers))
    cache = _lname_cache
    try:
        # Fast path: every name already memoized, values all str (or all
        # bytes that are UTF-8).
        lpairs = [(cache[n], v) for n, v in items if v.__class__ is str]
        if len(lpairs) != len(items):
            lpairs = [(cache[n], v.decode()) for n, v in items]
    except (KeyError, ValueError, TypeError, AttributeError):
        lpairs = []
        append = lpairs.append
        for item in items:
            try:
                name, value = item
            except (TypeError, ValueError):
                raise SigningError(f"headers must be (name, value) pairs; got {item!r}") from None
            key = name
            if name.__class__ is not str or value.__class__ is not str:
                name, value = _to_str(name), _to_str(value)
            ln = cache.get(key)
            if ln is None:
                ln = name.lower()
                if len(cache) < 4096:
                    cache[key] = ln
            append((ln, value))
    hmap = dict(lpairs)
    if len(hmap) != len(lpairs):
        # A repeated name: its values are joined with ',' in order.
        hmap = {}
        for ln, value in lpairs:
            prev = hmap.get(ln)
            hmap[ln] = value if prev is None else f"{prev},{value}"
    return lpairs, hmap


_DEFAULT_PORT_SUFFIX = {"http": ":80", "https": ":443"}


def _split_target(target: str) -> tuple[str, str | None, str]:
    """``(origin-form target, authority of an absolute URL or None, its
    default-port suffix)``; the authority is lower-cased, its default port
    elided, as HTTP compares authorities."""
    if not isinstance(target, str):
        target = _to_str(target)
    if target.startswith("/"):
        return target, None, ""
    scheme, sep, rest = target.partition("://")
    if not sep or not scheme or "/" in scheme:
        if target == "*":
            return "/", None, ""
        raise InvalidRequest(f"cannot read the request target {target[:200]!r}")
    slash = len(rest)
    for ch in "/?":
        i = rest.find(ch)
        if 0 <= i < slash:
            slash = i
    authority, path = rest[:slash], rest[slash:]
    if "@" in authority:
        authority = authority.rpartition("@")[2]
    default = _DEFAULT_PORT_SUFFIX.get(scheme.lower(), "")
    if not path.startswith("/"):
        path = "/" + path
    return path, _authority(authority, default), default


def _authority(value: str, default_port: str) -> str:
    """An authority as HTTP compares it: host case-insensitive, the scheme's
    default port the same as no port."""
    host = value.strip().lower()
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return host


def _target_host_mismatch(url_host: str, host: str) -> AccessDenied:
    """RFC 9112 section 3.2.2: a server given an absolute-form target uses its
    authority and ignores Host.  A request whose target names another host
    than the signed Host header would be served for a host nobody signed."""
    return AccessDenied(
        f"Access Denied: the request target is for host {url_host[:200]!r} but the signed "
        f"Host header is {host[:200]!r}; send the request to the host that was signed",
        details={"TargetHost": url_host[:200], "HostHeader": host[:200]},
    )


_date_cache: dict[str, int] = {}


def _amz_epoch(value: str) -> int | None:
    """POSIX seconds of a ``YYYYMMDDTHHMMSSZ`` string, None if malformed."""
    t = _date_cache.get(value)
    if t is not None:
        return t
    if (
        len(value) != 16
        or value[8] != "T"
        or value[15] != "Z"
        or not value[:8].isdigit()
        or not value[9:15].isdigit()
        or not value.isascii()
    ):
        return None
    try:
        dt = datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    t = int(dt.timestamp())
    if len(_date_cache) >= 4096:
        _date_cache.clear()
    _date_cache[value] = t
    return t


def _http_date(value: str) -> tuple[str, int] | None:
    """``(amz date, epoch)`` of an RFC 1123 ``Date`` header, None if malformed."""
    try:
        dt = parsedate_to_datetime(value)
        if dt is None:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        dt = dt.astimezone(timezone.utc)
        return dt.strftime("%Y%m%dT%H%M%SZ"), int(dt.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        # email.utils lets OverflowError out for a day like "7777...7724"
        # (found by tests/fuzz/fuzz_authorization.py); year 9999 with a
        # negative offset overflows in astimezone.
        return None


def _stripped(value: str | None) -> str | None:
    # HTTP's optional whitespace around a value is not part of it.
    return value if value is None else value.strip(" \t")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _now_epoch(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise SigningError(
                "now is a naive datetime; pass an aware one, e.g. datetime.now(timezone.utc)"
            )
        return now.timestamp()
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return float(now)
    raise SigningError(f"now must be an aware datetime or None, not {type(now).__name__}")


# --------------------------------------------------------------------------
# Authorization header and presign query parsing
# --------------------------------------------------------------------------
def _header_malformed(detail: str, region: str | None = None) -> AuthorizationHeaderMalformed:
    details = {"Region": region} if region else None
    return AuthorizationHeaderMalformed(
        f"The authorization header is malformed; {detail}", details=details
    )


def _parse_authorization(value: str) -> tuple[str, str, str, str]:
    """``(algorithm, credential, signed_headers, signature)``.

    Tolerates no space after the commas (minio-go and s3cmd send that) and
    runs of spaces; the three components may come in any order, as S3 allows.
    """
    alg, sp, rest = value.strip().partition(" ")
    if not sp:
        raise _header_malformed(
            "the authorization header requires three components: Credential, SignedHeaders, "
            "and Signature."
        )
    credential = signed = signature = None
    for part in rest.split(","):
        name, eq, val = part.strip().partition("=")
        if not eq:
            if not part.strip():
                continue
            raise _header_malformed(f'the authorization component "{part.strip()}" is malformed.')
        if name == "Credential" and credential is None:
            credential = val
        elif name == "SignedHeaders" and signed is None:
            signed = val
        elif name == "Signature" and signature is None:
            signature = val
        else:
            raise _header_malformed(f'the authorization component "{part.strip()}" is malformed.')
    if credential is None or signed is None or signature is None:
        raise _header_malformed(
            "the authorization header requires three components: Credential, SignedHeaders, "
            "and Signature."
        )
    return alg, credential, signed, signature


@dataclass(slots=True)
class _Auth:
    """What a request claims: parsed, not yet trusted."""

    kind: str  # "header" | "presigned" | "post"
    algorithm: str
    access_key_id: str
    scope: Scope
    scope_text: str
    signed_headers: tuple[str, ...]
    signed_set: frozenset[str]
    signed_headers_text: str
    signature: str
    amz_date: str
    epoch: int
    token: str | None
    # The request, as received.
    method: str
    target: str
    pairs: list[tuple[str, str]]
    hmap: dict[str, str]
    expires: int | None = None
    # presigned: the request target without X-Amz-Signature (and a variant
    # without an unsigned X-Amz-Security-Token)
    signed_target: str = ""
    target_no_token: str | None = None
    form: dict[str, str] | None = None
    policy: str | None = None
    region_set_text: str | None = None
    query_sha256: str | None = None
    # The payload, as _payload resolved it.
    payload_hash: str | None = None
    check_hash: str | None = None
    needs_body_hash: bool = False
    streaming: str | None = None
    declared_length: int | None = None
    body_bytes: bytes | None = None
    source: Iterator[bytes] | None = None
    async_source: AsyncIterator[bytes] | None = None
    # A seekable body file whose hash the signature covers: hashed in place
    # (then rewound) once the access key is known.
    body_file: BinaryIO | None = None

    def discard(self) -> None:
        """Release a spooled body after a failed verification."""
        close = getattr(self.source, "close", None)
        if callable(close):
            close()


# --------------------------------------------------------------------------
# Credential values
# --------------------------------------------------------------------------
@dataclass(slots=True)
class _Key:
    secret: str | None
    public_key: Any
    token: str | None


def _key_from(value: object) -> _Key | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _Key(value, None, None)
    if isinstance(value, Credentials):
        return _Key(value.secret_access_key, None, value.session_token)
    if isinstance(value, tuple) and len(value) == 2:
        inner = _key_from(value[0])
        if inner is None:
            return None
        token = value[1]
        if token is not None and not isinstance(token, str):
            raise SigningError("a credential lookup's session token must be a str or None")
        inner.token = token
        return inner
    if hasattr(value, "public_numbers") and hasattr(value, "verify"):
        return _Key(None, value, None)
    raise SigningError(
        "a credential lookup must return a secret (str), a sigv4kit.Credentials, a SigV4a "
        f"public key, a (secret, session_token) pair or None; got {type(value).__name__}"
    )


# --------------------------------------------------------------------------
# Body checking (sans-IO)
# --------------------------------------------------------------------------
class _PayloadCheck:
    """Releases body data as it comes, holding back the last piece.

    ``feed(piece)`` returns what may be released now; ``finish()`` checks the
    payload hash and the byte count and returns the held-back rest, or
    raises.  With ``expected=None`` nothing is hashed (UNSIGNED-PAYLOAD).
    """

    __slots__ = ("_count", "_declared", "_expected", "_hash", "_held")

    def __init__(self, expected: str | None, declared_length: int | None) -> None:
        self._expected = expected.lower() if expected is not None else None
        self._hash = _sha256() if expected is not None else None
        self._held = b""
        self._count = 0
        self._declared = declared_length

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._count += len(data)
        if self._declared is not None and self._count > self._declared:
            raise IncompleteBody(
                f"The request body is longer than its Content-Length ({self._declared})."
            )
        if self._hash is None:
            return data
        self._hash.update(data)
        out, self._held = self._held, data
        return out

    def finish(self) -> bytes:
        if self._declared is not None and self._count != self._declared:
            raise IncompleteBody(
                details={"ExpectedLength": str(self._declared), "ReceivedLength": str(self._count)}
            )
        if self._hash is not None:
            computed = self._hash.hexdigest()
            if not _compare(computed, cast("str", self._expected)):
                raise _sha_mismatch(cast("str", self._expected), computed)
        out, self._held = self._held, b""
        return out


def _sha_mismatch(claimed: str, computed: str) -> XAmzContentSHA256Mismatch:
    return XAmzContentSHA256Mismatch(
        details={
            "ClientComputedContentSHA256": claimed,
            "S3ComputedContentSHA256": computed,
        }
    )


def _piece(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    raise SigningError(f"body pieces must be bytes, got {type(data).__name__}")


def _sync_source(body: object) -> Iterator[bytes] | None:
    """Body as an iterator of bytes; None when the body is async."""
    if body is None:
        return iter(())
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        data = _piece(body)
        return iter((data,)) if data else iter(())
    read = getattr(body, "read", None)
    if read is not None and not inspect.iscoroutinefunction(read):
        return _read_file(cast("BinaryIO", body))
    if isinstance(body, AsyncIterable) and not isinstance(body, Iterable):
        return None
    if isinstance(body, Iterable):
        return (_piece(p) for p in body)
    if read is not None:
        return None
    raise SigningError(
        f"cannot read a body of type {type(body).__name__}: use bytes, a binary file, an "
        "iterable of bytes (or an async iterable with averify)"
    )


def _read_file(f: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = f.read(_READ_SIZE)
        if not chunk:
            return
        yield _piece(chunk)


async def _async_source(body: object) -> AsyncIterator[bytes]:
    read = getattr(body, "read", None)
    if read is not None and inspect.iscoroutinefunction(read):
        while True:
            chunk = await read(_READ_SIZE)
            if not chunk:
                return
            yield _piece(chunk)
    async for piece in cast("AsyncIterable[Any]", body):
        yield _piece(piece)


def _run_sync(source: Iterator[bytes], check: Any) -> Iterator[bytes]:
    for piece in source:
        out = check.feed(piece)
        if out:
            yield out
    out = check.finish()
    if out:
        yield out


async def _run_async(source: AsyncIterator[bytes], check: Any) -> AsyncIterator[bytes]:
    async for piece in source:
        out = check.feed(piece)
        if out:
            yield out
    out = check.finish()
    if out:
        yield out


def _spool_hash(source: Iterator[bytes]) -> tuple[str, Any]:
    """Hash a one-shot body into a spool (memory, then disk): ``(hex, file)``."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)
    h = _sha256()
    for piece in source:
        h.update(piece)
        spool.write(piece)
    spool.seek(0)
    return h.hexdigest(), spool


class _SpoolReader(Iterator[bytes]):
    """Reads a spooled body back; closes (and deletes) the spool at the end,
    on :meth:`close`, or when dropped unread (a failed verification)."""

    __slots__ = ("_spool",)

    def __init__(self, spool: Any) -> None:
        self._spool = spool

    def __next__(self) -> bytes:
        spool = self._spool
        if spool is None:
            raise StopIteration
        chunk: bytes = spool.read(_READ_SIZE)
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def __del__(self) -> None:
        self.close()


def _iter_spool(spool: Any) -> _SpoolReader:
    return _SpoolReader(spool)


# --------------------------------------------------------------------------
# Browser POST forms (sans-IO over sigv4kit.post_policy's multipart parser)
# --------------------------------------------------------------------------
class _PostReader:
    """Reads the form fields before the ``file`` part, then streams the file.

    ``feed`` returns True once the file part starts (the fields are then
    complete: S3 ignores fields after the file).  The file's data is
    released only by :meth:`file_check`'s checker, which holds back the last
    piece until ``content-length-range`` is satisfied.
    """

    def __init__(self, content_type: str, *, max_fields: int, max_parts: int) -> None:
        from .post_policy import (
            MultipartParser,
            PartData,
            PartEnd,
            PartStart,
            boundary_from_content_type,
        )

        self._parser = MultipartParser(
            boundary_from_content_type(content_type), max_parts=max_parts
        )
        self._types = (PartStart, PartData, PartEnd)
        self._max_fields = max_fields
        self.fields: list[tuple[str, str]] = []
        self.filename: str | None = None
        self.filename_seen: bool | None = None
        self._current: str | None = None
        self._value = bytearray()
        self._total = 0
        self._pending: list[bytes] = []
        self._in_file = False
        self._file_done = False

    def access_key_id(self) -> str:
        for name, value in self.fields:
            if name.lower() == "x-amz-credential":
                return value.partition("/")[0]
        raise InvalidArgument(
            "Bucket POST must contain a field named 'x-amz-credential'.",
            details={"ArgumentName": "x-amz-credential", "ArgumentValue": ""},
        )

    def _events(self, data: bytes) -> list[Any]:
        from .post_policy import MaxPostPreDataLengthExceeded

        try:
            return self._parser.feed(data)
        except MaxPostPreDataLengthExceeded as exc:
            # Named after the Verifier's option, not the parser's.
            raise MaxPostPreDataLengthExceeded(
                f"more than {exc.value} form fields (max_form_parts)",
                limit="max_form_parts",
                value=exc.value,
            ) from None

    def feed(self, data: bytes) -> bool:
        start, part_data, _end = self._types
        for e in self._events(data):
            if self._in_file:
                self._file_event(e)
                continue
            if isinstance(e, start):
                if e.name.lower() == "file":
                    self._in_file = True
                    self.filename_seen = True
                    self.filename = e.filename
                    continue
                self._current = e.name
                self._value.clear()
            elif isinstance(e, part_data):
                self._total += len(e.data)
                if self._total > self._max_fields:
                    from .post_policy import MaxPostPreDataLengthExceeded

                    raise MaxPostPreDataLengthExceeded(
                        f"the form fields exceed {self._max_fields} bytes in total "
                        "(max_form_bytes)",
                        limit="max_form_bytes",
                        value=self._max_fields,
                    )
                self._value += e.data
            else:
                from .post_policy import MalformedPOSTRequest

                try:
                    self.fields.append((cast("str", self._current), self._value.decode("utf-8")))
                except UnicodeDecodeError:
                    raise MalformedPOSTRequest(
                        f"form field {self._current!r} is not UTF-8"
                    ) from None
        return self._in_file

    def end(self) -> None:
        """The body ended before a file part."""
        self._parser.finish()
        self.filename_seen = False

    def _file_event(self, e: object) -> None:
        if self._file_done:
            return
        if isinstance(e, self._types[1]):
            self._pending.append(cast("Any", e).data)
        elif isinstance(e, self._types[2]):
            self._file_done = True

    def file_check(self, post: Any) -> _FileCheck:
        return _FileCheck(self, post)


class _FileCheck:
    """feed/finish over the rest of a POST body: yields the file's data,
    holding back the last piece until its size is within the policy."""

    __slots__ = ("_held", "_post", "_reader", "_size")

    def __init__(self, reader: _PostReader, post: Any) -> None:
        self._reader = reader
        self._post = post
        self._held = b""
        self._size = 0

    def _take(self) -> bytes:
        pending = self._reader._pending
        if not pending:
            return b""
        data = b"".join(pending)
        pending.clear()
        self._size += len(data)
        rng = self._post.content_length_range
        if rng is not None and self._size > rng[1]:
            self._post.check_content_length(self._size)
        out, self._held = self._held, data
        return out

    def feed(self, data: bytes) -> bytes:
        if not self._reader._file_done:
            self._reader.feed(data)
        return self._take()

    def finish(self) -> bytes:
        out = self._take()
        if not self._reader._file_done:
            from .post_policy import MalformedPOSTRequest

            raise MalformedPOSTRequest("the file part is not terminated by a boundary")
        self._post.check_content_length(self._size)
        rest = self._held
        self._held = b""
        return out + rest


# --------------------------------------------------------------------------
# The Verifier
# --------------------------------------------------------------------------
class Verifier:
    """Verifies SigV4 and SigV4a requests for one region and service.

    Args:
        credentials: a mapping from access key id to the secret (str), a
            :class:`~sigv4kit.Credentials` (its session token, if any, must be
            the one the request carries), a SigV4a public key (see
            :func:`sigv4kit.v4a.load_public_key`) or a ``(secret, token)``
            pair; or a callable ``lookup(access_key_id)`` returning one of
            these or None (unknown key).  An async callable needs
            :meth:`averify`.
        region, service: what requests must be scoped to.  SigV4a requests
            must name ``region`` (or ``*``) in their region set.
        double_uri_encode, normalize_path, plus_in_path_is_space: None takes
            the service's defaults (:data:`sigv4kit.config.SERVICE_DEFAULTS`).
        max_skew: the allowed clock difference (seconds or timedelta); None
            takes the service default (S3: 15 minutes, others: 5 minutes).
        token_check: ``check(access_key_id, token)`` for requests that carry
            a session token; return False (or raise ``InvalidToken`` /
            ``ExpiredToken``) to reject.  May be async with :meth:`averify`.
        include_debug: put the canonical request and string to sign on
            ``SignatureDoesNotMatch`` (S3 does; turn off to reveal nothing).
        show_token: leave the session token in the debug canonical request
            (it is redacted by default).
        require_content_sha256: reject header-signed requests that lack
            ``x-amz-content-sha256`` (S3 does).  Default False: the body is
            hashed instead, as MinIO and non-S3 services do.
        algorithms: the accepted algorithms (``"sigv4"``, ``"sigv4a"``).
        max_auth_length: longest ``Authorization`` header accepted
            (:class:`AuthorizationHeaderTooLong`).
        max_query_length: longest query string of a presigned request
            (:class:`QueryTooLong`).
        max_signed_headers: most names accepted in SignedHeaders
            (:class:`TooManySignedHeaders`, :class:`TooManySignedHeadersInQuery`).
        max_header_length: longest header, name and value
            (:class:`RequestHeaderTooLong`), checked before anything else.
        max_chunk_size, max_chunk_header_length, max_chunks: the aws-chunked
            decoder's limits (:class:`~sigv4kit.streaming.ChunkTooLargeError`,
            :class:`~sigv4kit.streaming.ChunkLineTooLongError`,
            :class:`~sigv4kit.streaming.TooManyChunksError`).
        max_policy_bytes, max_form_bytes, max_form_parts: browser POST limits:
            the Base64 policy (:class:`~sigv4kit.post_policy.PolicyTooLarge`),
            the fields before the file and their number
            (:class:`~sigv4kit.post_policy.MaxPostPreDataLengthExceeded`).
        post_bucket: ``bucket(target, host)`` for browser POST forms; by
            default the first path segment, else the first label of Host.
    """

    __slots__ = (
        "_algorithms",
        "_async_lookup",
        "_auth_cache",
        "_key_memo",
        "_lookup",
        "_mapping",
        "_targets",
        "_value_memo",
        "double_uri_encode",
        "include_debug",
        "max_auth_length",
        "max_chunk_header_length",
        "max_chunk_size",
        "max_chunks",
        "max_form_bytes",
        "max_form_parts",
        "max_header_length",
        "max_policy_bytes",
        "max_query_length",
        "max_signed_headers",
        "max_skew",
        "normalize_path",
        "plus_in_path_is_space",
        "post_bucket",
        "presign_unsigned_payload",
        "region",
        "require_content_sha256",
        "service",
        "show_token",
        "token_check",
    )

    def __init__(
        self,
        credentials: CredentialLookup,
        region: str = "",
        service: str = "",
        *,
        double_uri_encode: bool | None = None,
        normalize_path: bool | None = None,
        plus_in_path_is_space: bool | None = None,
        max_skew: float | timedelta | None = None,
        token_check: TokenCheck | None = None,
        include_debug: bool = True,
        show_token: bool = False,
        require_content_sha256: bool = False,
        algorithms: Iterable[str] = ("sigv4", "sigv4a"),
        max_auth_length: int = MAX_AUTH_LENGTH,
        max_signed_headers: int = MAX_SIGNED_HEADERS,
        post_bucket: Callable[[str, str], str] | None = None,
        max_query_length: int = MAX_QUERY_LENGTH,
        max_header_length: int = MAX_HEADER_LENGTH,
        max_chunk_size: int = 16 * 1024 * 1024,
        max_chunk_header_length: int = 4096,
        max_chunks: int = 1 << 20,
        max_policy_bytes: int = 64 * 1024,
        max_form_bytes: int = 1024 * 1024,
        max_form_parts: int = 1000,
    ) -> None:
        if not isinstance(region, str) or not region:
            raise SigningError("region must be a non-empty string, e.g. 'us-east-1'")
        if not isinstance(service, str) or not service:
            raise SigningError("service must be a non-empty string, e.g. 's3'")
        if isinstance(credentials, Mapping):
            self._mapping: Mapping[str, Any] | None = credentials
            self._lookup: Callable[[str], Any] | None = None
            self._async_lookup = False
        elif callable(credentials):
            self._mapping = None
            self._lookup = credentials
            self._async_lookup = inspect.iscoroutinefunction(credentials) or (
                inspect.iscoroutinefunction(getattr(credentials, "__call__", None))  # noqa: B004
            )
        else:
            raise SigningError(
                "credentials must be a mapping of access key id -> secret or a callable lookup"
            )
        d = service_defaults(service)
        self.region = region
        self.service = service
        self.double_uri_encode = (
            d.double_uri_encode if double_uri_encode is None else bool(double_uri_encode)
        )
        self.normalize_path = d.normalize_path if normalize_path is None else bool(normalize_path)
        self.plus_in_path_is_space = (
            d.plus_in_path_is_space if plus_in_path_is_space is None else plus_in_path_is_space
        )
        self.presign_unsigned_payload = d.presign_unsigned_payload
        if max_skew is None:
            skew = float(d.max_skew_seconds)
        elif isinstance(max_skew, timedelta):
            skew = max_skew.total_seconds()
        elif isinstance(max_skew, (int, float)) and not isinstance(max_skew, bool):
            skew = float(max_skew)
        else:
            raise SigningError("max_skew must be seconds (a number) or a timedelta")
        if skew < 0:
            raise SigningError("max_skew must not be negative")
        self.max_skew = skew
        self.token_check = token_check
        self.include_debug = include_debug
        self.show_token = show_token
        self.require_content_sha256 = require_content_sha256
        algs: set[str] = set()
        for a in algorithms:
            la = a.lower()
            if la in ("sigv4", "v4", ALGORITHM_V4.lower()):
                algs.add(ALGORITHM_V4)
            elif la in ("sigv4a", "v4a", ALGORITHM_V4A.lower()):
                algs.add(ALGORITHM_V4A)
            else:
                raise SigningError(f"unknown algorithm {a!r}; use 'sigv4' or 'sigv4a'")
        if not algs:
            raise SigningError("algorithms must name at least one of 'sigv4', 'sigv4a'")
        self._algorithms = frozenset(algs)
        self._targets: dict[str, tuple[str, str]] = {}
        self._auth_cache: dict[str, tuple[Any, ...]] = {}
        self._key_memo: tuple[str, str, Callable[[bytes], str]] | None = None
        self._value_memo: tuple[Any, str, _Key] | None = None
        self.max_auth_length = _positive("max_auth_length", max_auth_length)
        self.max_signed_headers = _positive("max_signed_headers", max_signed_headers)
        self.max_query_length = _positive("max_query_length", max_query_length)
        self.max_header_length = _positive("max_header_length", max_header_length)
        self.max_chunk_size = _positive("max_chunk_size", max_chunk_size)
        self.max_chunk_header_length = _positive("max_chunk_header_length", max_chunk_header_length)
        self.max_chunks = _positive("max_chunks", max_chunks)
        self.max_policy_bytes = _positive("max_policy_bytes", max_policy_bytes)
        self.max_form_bytes = _positive("max_form_bytes", max_form_bytes)
        self.max_form_parts = _positive("max_form_parts", max_form_parts)
        self.post_bucket = post_bucket

    def __repr__(self) -> str:
        return (
            f"Verifier(region={self.region!r}, service={self.service!r}, "
            f"max_skew={self.max_skew:g})"
        )

    # -- public API ---------------------------------------------------------
    def verify(
        self,
        method: str,
        target: str,
        headers: object,
        body: object = None,
        now: datetime | float | None = None,
    ) -> VerifiedRequest:
        """Verify a request, or raise a :class:`~sigv4kit.errors.SignatureError`.

        Args:
            method: the request method as received.
            target: the request target as received (``/path?query``,
                verbatim) or an absolute URL.
            headers: a mapping or a list of ``(name, value)`` pairs (str or
                bytes); repeated names allowed.
            body: bytes, str, a binary file, an iterable of bytes, or None.
                Streams are never read whole; see ``VerifiedRequest.body``.
            now: the server's current time (aware datetime); None reads the
                clock.
        """
        if self._async_lookup:
            raise SigningError(
                "the credential lookup is async; call 'await verifier.averify(...)' instead"
            )
        state = self._begin(method, target, headers, body, now)
        if state.kind == "post":
            return self._verify_post_sync(state, now)
        try:
            mapping = self._mapping
            if mapping is not None:
                value = mapping.get(state.access_key_id)
            else:
                value = self._lookup_sync(state.access_key_id)
            key = self._key(state, value)
            ok = self._finish(state, key, sync=True)
            if state.token is not None and self.token_check is not None:
                result = self.token_check(state.access_key_id, state.token)
                if inspect.isawaitable(result):
                    _close(result)
                    raise SigningError(
                        "token_check is async; call 'await verifier.averify(...)' instead"
                    )
                self._token_result(result)
        except BaseException:
            state.discard()
            raise
        return ok

    async def averify(
        self,
        method: str,
        target: str,
        headers: object,
        body: object = None,
        now: datetime | float | None = None,
    ) -> VerifiedRequest:
        """Like :meth:`verify`; the lookup and token check may be async, and
        ``body`` may be an async iterable (``ok.body`` is then async too)."""
        state = self._begin(method, target, headers, body, now)
        if state.kind == "post":
            return await self._verify_post_async(state, now)
        try:
            value = self._call_lookup(state.access_key_id)
            if inspect.isawaitable(value):
                value = await value
            key = self._key(state, value)
            if state.needs_body_hash and state.async_source is not None:
                # The signature covers the hash of an async body: spool it first.
                digest, spooled = await _aspool(state.async_source)
                state.payload_hash = digest
                state.source = spooled
                state.async_source = None
            ok = self._finish(state, key, sync=state.async_source is None)
            if state.token is not None and self.token_check is not None:
                result = self.token_check(state.access_key_id, state.token)
                if inspect.isawaitable(result):
                    result = await result
                self._token_result(result)
        except BaseException:
            state.discard()
            raise
        return ok

    # -- browser POST (policy) ------------------------------------------------
    def _post_state(
        self,
        method: str,
        target: str,
        pairs: list[tuple[str, str]],
        hmap: dict[str, str],
        body: object,
    ) -> _Auth:
        state = _Auth(
            "post",
            "",
            "",
            Scope("", None, ""),
            "",
            (),
            frozenset(),
            "",
            "",
            "",
            0,
            None,
            method,
            target,
            pairs,
            hmap,
        )
        if body is None or isinstance(body, (bytes, bytearray, memoryview, str)):
            state.body_bytes = b"" if body is None else _piece(body)
        else:
            source = _sync_source(body)
            if source is None:
                state.async_source = _async_source(body)
            else:
                state.source = source
        return state

    def _post_reader(self, state: _Auth) -> _PostReader:
        return _PostReader(
            state.hmap.get("content-type", ""),
            max_fields=self.max_form_bytes,
            max_parts=self.max_form_parts,
        )

    def _verify_post_sync(self, state: _Auth, now: datetime | float | None) -> VerifiedRequest:
        form = self._post_reader(state)
        source = iter((state.body_bytes,)) if state.body_bytes is not None else state.source
        assert source is not None
        if state.async_source is not None:
            raise SigningError("an async body needs 'await verifier.averify(...)'")
        for piece in source:
            if form.feed(piece):
                break
        else:
            form.end()
        akid = form.access_key_id()
        value = self._lookup_sync(akid)
        key = self._key(state, value)
        post = self._check_post(state, key, form, now)
        if post.session_token is not None and self.token_check is not None:
            result = self.token_check(akid, post.session_token)
            if inspect.isawaitable(result):
                _close(result)
                raise SigningError(
                    "token_check is async; call 'await verifier.averify(...)' instead"
                )
            self._token_result(result)
        return self._post_result(state, post, form, _run_sync(source, form.file_check(post)))

    async def _verify_post_async(
        self, state: _Auth, now: datetime | float | None
    ) -> VerifiedRequest:
        if state.async_source is None:
            return await self._verify_post_async_over_sync(state, now)
        form = self._post_reader(state)
        source = state.async_source
        async for piece in source:
            if form.feed(piece):
                break
        else:
            form.end()
        post = await self._post_lookup_and_check(state, form, now)
        return self._post_result(state, post, form, _run_async(source, form.file_check(post)))

    async def _verify_post_async_over_sync(
        self, state: _Auth, now: datetime | float | None
    ) -> VerifiedRequest:
        form = self._post_reader(state)
        source = iter((state.body_bytes,)) if state.body_bytes is not None else state.source
        assert source is not None
        for piece in source:
            if form.feed(piece):
                break
        else:
            form.end()
        post = await self._post_lookup_and_check(state, form, now)
        return self._post_result(state, post, form, _run_sync(source, form.file_check(post)))

    async def _post_lookup_and_check(
        self, state: _Auth, form: _PostReader, now: datetime | float | None
    ) -> Any:
        akid = form.access_key_id()
        value = self._call_lookup(akid)
        if inspect.isawaitable(value):
            value = await value
        key = self._key(state, value)
        post = self._check_post(state, key, form, now)
        if post.session_token is not None and self.token_check is not None:
            result = self.token_check(akid, post.session_token)
            if inspect.isawaitable(result):
                result = await result
            self._token_result(result)
        return post

    def _check_post(
        self, state: _Auth, key: _Key, form: _PostReader, now: datetime | float | None
    ) -> Any:
        from .post_policy import verify_post

        if key.secret is None:
            raise AccessDenied(
                "Only a SigV4a public key is stored for this access key; browser POST "
                "policies are verified with the secret."
            )
        if form.filename_seen is False:
            raise InvalidArgument(
                "POST requires exactly one file upload per request.",
                details={"ArgumentName": "file", "ArgumentValue": "0"},
            )
        now_dt = datetime.fromtimestamp(
            time.time() if now is None else _now_epoch(now), tz=timezone.utc
        )
        secret = key.secret
        try:
            post = verify_post(
                form.fields,
                bucket=self._post_bucket(state),
                credentials=lambda _akid: secret,
                region=self.region,
                now=now_dt,
                service=self.service,
                filename=form.filename,
                max_policy_bytes=self.max_policy_bytes,
            )
        except SignatureDoesNotMatch as exc:
            # The string to sign of a POST is the Base64 policy, which holds
            # the session token when there is one: shown only if allowed.
            has_token = any(n.lower() == "x-amz-security-token" for n, _ in form.fields)
            if not self.include_debug or (has_token and not self.show_token):
                raise SignatureDoesNotMatch(access_key_id=exc.access_key_id) from None
            raise
        if key.token is not None:
            token = post.session_token
            if token is None or not _compare(
                key.token.encode(), token.encode("utf-8", "surrogatepass")
            ):
                raise InvalidToken()
        return post

    def _post_bucket(self, state: _Auth) -> str:
        """The bucket a POST form is for: the first path segment (path-style
        ``/bucket``), else the first label of Host (virtual-hosted style)."""
        if self.post_bucket is not None:
            return self.post_bucket(state.target, state.hmap.get("host", ""))
        path = state.target.partition("?")[0]
        first = path.lstrip("/").partition("/")[0]
        if first:
            return unquote(first)
        host = state.hmap.get("host", "")
        return host.partition(":")[0].partition(".")[0]

    def _post_result(
        self,
        state: _Auth,
        post: Any,
        form: _PostReader,
        body: Iterator[bytes] | AsyncIterator[bytes],
    ) -> VerifiedRequest:
        fields = dict(post.fields)
        fields["key"] = post.key
        date, _, rest = post.scope.partition("/")
        parts = rest.split("/")
        if post.algorithm == ALGORITHM_V4A:
            rs = tuple(
                r.strip() for r in fields.get("x-amz-region-set", "").split(",") if r.strip()
            )
            scope = Scope(date, None, parts[-2], rs)
        else:
            scope = Scope(date, parts[0], parts[-2])
        return VerifiedRequest(
            post.access_key_id,
            post.algorithm,
            "post",
            scope,
            (),
            fields.get("x-amz-date", ""),
            UNSIGNED_PAYLOAD,
            post.session_token is not None,
            body,
            fields.get("x-amz-signature", ""),
            fields,
            None,
            (),
            fields.get("policy", ""),
        )

    # -- credentials --------------------------------------------------------
    def _call_lookup(self, akid: str) -> Any:
        if self._mapping is not None:
            return self._mapping.get(akid)
        return cast("Callable[[str], Any]", self._lookup)(akid)

    def _lookup_sync(self, akid: str) -> Any:
        value = self._call_lookup(akid)
        if value.__class__ is not str and inspect.isawaitable(value):
            _close(value)
            raise SigningError(
                "the credential lookup returned an awaitable; call "
                "'await verifier.averify(...)' instead"
            )
        return value

    def _key(self, state: _Auth, value: Any) -> _Key:
        # One-slot memo on the identity of the looked-up value: a mapping
        # hands back the same object for the same key id every time.
        # (The access key id is part of the memo: a SigV4a public key derived
        # from a secret depends on it.)
        memo = self._value_memo
        if memo is not None and memo[0] is value and memo[1] == state.access_key_id:
            return memo[2]
        key = _key_from(value)
        if key is None:
            raise InvalidAccessKeyId(access_key_id=state.access_key_id)
        self._value_memo = (value, state.access_key_id, key)
        return key

    @staticmethod
    def _token_result(result: Any) -> None:
        if result is False or result is None:
            raise InvalidToken()

    # -- phase 1: parse and check everything that needs no secret -----------
    def _begin(
        self,
        method: str,
        target: str,
        headers: object,
        body: object,
        now: datetime | float | None,
    ) -> _Auth:
        if method.__class__ is not str:
            method = _to_str(method)
        if target.__class__ is str and target[:1] == "/":
            path_target, url_host, default_port = target, None, ""
        else:
            path_target, url_host, default_port = _split_target(target)
        pairs, hmap = _index_headers(headers)
        limit = self.max_header_length
        for ln, v in pairs:
            if len(v) + len(ln) > limit:
                raise RequestHeaderTooLong(limit, ln)
        if url_host is not None:
            host = hmap.get("host")
            if host is None:
                pairs.append(("host", url_host))
                hmap["host"] = url_host
            elif _authority(host, default_port) != url_host:
                raise _target_host_mismatch(url_host, host)
        now_epoch = time.time() if now is None else _now_epoch(now)

        authorization = hmap.get("authorization")
        qmark = path_target.find("?")
        has_query_auth = qmark >= 0 and _query_has_auth(path_target[qmark + 1 :])
        if authorization is not None and not authorization.startswith("AWS4-"):
            if authorization.startswith("AWS ") or authorization.startswith("AWS\t"):
                raise InvalidRequest(
                    "The authorization mechanism you have provided is not supported. "
                    "Please use AWS4-HMAC-SHA256."
                )
        if authorization is not None and has_query_auth:
            raise InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
                details={"ArgumentName": "Authorization", "ArgumentValue": "null"},
            )
        if authorization is not None:
            auth = self._header_auth(authorization, method, path_target, pairs, hmap)
            self._check_time_header(auth, hmap, now_epoch)
        elif has_query_auth:
            auth = self._query_auth(method, path_target, pairs, hmap)
            self._check_time_presigned(auth, now_epoch)
        else:
            ctype = hmap.get("content-type", "")
            if method.upper() == "POST" and ctype.lower().startswith("multipart/form-data"):
                return self._post_state(method, path_target, pairs, hmap, body)
            raise MissingAuthentication()

        signed_set = auth.signed_set
        if len(auth.signed_headers) > self.max_signed_headers:
            raise (
                TooManySignedHeaders(self.max_signed_headers)
                if auth.kind == "header"
                else TooManySignedHeadersInQuery(self.max_signed_headers)
            )
        if "host" not in signed_set:
            raise AccessDenied(_NOT_SIGNED_MESSAGE, details={"HeadersNotSigned": "host"})
        # Every x-amz-* header sent must be signed.
        names = hmap.keys()
        unsigned = [
            n for n in names - signed_set if n.startswith("x-amz-") and n not in _UNSIGNED_AMZ_OK
        ]
        if unsigned:
            raise AccessDenied(
                _NOT_SIGNED_MESSAGE, details={"HeadersNotSigned": ", ".join(sorted(unsigned))}
            )
        # Signed headers must be present; re-synthesize the ones proxies and
        # servers drop, as MinIO does.
        if not signed_set <= names:
            missing = [n for n in auth.signed_headers if n not in hmap]
            for n in missing:
                if n == "expect":
                    pairs.append(("expect", "100-continue"))
                    hmap["expect"] = "100-continue"
                elif n == "content-length" and isinstance(body, (bytes, bytearray)):
                    pairs.append(("content-length", str(len(body))))
                    hmap["content-length"] = str(len(body))
                else:
                    raise _signature_mismatch_plain(
                        auth,
                        f"The request signature we calculated does not match the signature you "
                        f"provided: the signed header {n!r} is not in the request.",
                    )

        # SigV4a: the region set must include our region.
        if auth.algorithm == ALGORITHM_V4A:
            self._check_region_set(auth, hmap, path_target)

        # Payload.
        self._payload(auth, body)
        return auth

    # -- Authorization header -------------------------------------------------
    def _header_auth(
        self,
        authorization: str,
        method: str,
        target: str,
        pairs: list[tuple[str, str]],
        hmap: dict[str, str],
    ) -> _Auth:
        if len(authorization) > self.max_auth_length:
            raise AuthorizationHeaderTooLong(self.max_auth_length)
        # Clients repeat the same Authorization prefix (algorithm, credential,
        # signed headers) request after request; only the signature changes.
        # The validated prefix is memoized, so the hot path parses nothing.
        cut = authorization.rfind("Signature=")
        hit = None
        if cut > 0:
            signature = authorization[cut + 10 :]
            if "," in signature or " " in signature:
                cut = -1
            else:
                hit = self._auth_cache.get(authorization[:cut])
        if hit is None:
            alg, credential, signed_text, signature = _parse_authorization(authorization)
            if alg not in self._algorithms:
                raise InvalidRequest(
                    "The authorization mechanism you have provided is not supported. Please use "
                    + " or ".join(sorted(self._algorithms))
                    + "."
                )
            akid, scope = self._parse_credential(credential, alg, query=False)
            parsed = _signed_names(signed_text)
            if parsed is None:
                raise _header_malformed(
                    f'the authorization component "SignedHeaders={signed_text}" is malformed.'
                )
            hit = (alg, akid, scope, credential[len(akid) + 1 :], *parsed, signed_text)
            if cut > 0:
                if len(self._auth_cache) >= 1024:
                    self._auth_cache.clear()
                self._auth_cache[authorization[:cut]] = hit
        alg, akid, scope, scope_text, signed_list, signed_set, signed_text = hit
        # Request time: X-Amz-Date, else Date (RFC 1123).
        amz = hmap.get("x-amz-date")
        if amz is not None:
            amz = amz.strip()
            epoch = _amz_epoch(amz)
        else:
            date = hmap.get("date")
            from_date = _http_date(date) if date is not None else None
            if from_date is None:
                epoch = None
            else:
                amz, epoch = from_date
        if amz is None or epoch is None:
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
        if scope.date != amz[:8]:
            raise _header_malformed(
                f'Invalid credential date "{scope.date}". This date is not the same as '
                f'X-Amz-Date: "{amz[:8]}".'
            )
        return _Auth(
            "header",
            alg,
            akid,
            scope,
            scope_text,
            signed_list,
            signed_set,
            signed_text,
            signature,
            amz,
            epoch,
            _stripped(hmap.get("x-amz-security-token")),
            method,
            target,
            pairs,
            hmap,
        )

    _cred_cache: ClassVar[dict[tuple[str, str, bool], tuple[str, Scope]]] = {}

    def _parse_credential(self, credential: str, alg: str, *, query: bool) -> tuple[str, Scope]:
        cache_key = (credential, alg, query)
        hit = self._cred_cache.get(cache_key)
        if (
            hit is not None
            and (hit[1].region is None or hit[1].region == self.region)
            and (hit[1].service == self.service)
        ):
            return hit
        v4a = alg == ALGORITHM_V4A
        parts = credential.split("/")
        want = 4 if v4a else 5
        fmt = _CREDENTIAL_FORMAT_V4A if v4a else _CREDENTIAL_FORMAT

        def malformed(detail: str, region: str | None = None) -> SignatureError:
            if query:
                return AuthorizationQueryParametersError(
                    f"Error parsing the X-Amz-Credential parameter; {detail}",
                    details={"Region": region} if region else None,
                )
            return _header_malformed(detail, region)

        if len(parts) != want or not parts[0]:
            raise malformed(f"the Credential is mal-formed; expecting {fmt}.")
        akid, date = parts[0], parts[1]
        service, terminal = parts[-2], parts[-1]
        region = None if v4a else parts[2]
        if len(date) != 8 or not date.isdigit() or not date.isascii():
            raise malformed(
                f'incorrect date format "{date}". This date in the credential must '
                'be in the format "yyyyMMdd".'
            )
        if region is not None and region != self.region:
            raise malformed(
                f"the region '{region}' is wrong; expecting '{self.region}'", self.region
            )
        if service != self.service:
            raise malformed(
                f'incorrect service "{service}". This endpoint belongs to "{self.service}".'
            )
        if terminal != "aws4_request":
            raise malformed(f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".')
        result = (akid, Scope(date, region, service))
        if len(self._cred_cache) >= 1024:
            self._cred_cache.clear()
        self._cred_cache[cache_key] = result
        return result

    def _check_time_header(self, auth: _Auth, hmap: dict[str, str], now: float) -> None:
        if abs(now - auth.epoch) > self.max_skew:
            raw = hmap.get("x-amz-date") or hmap.get("date") or auth.amz_date
            raise _skewed(raw.strip(), now, self.max_skew)

    # -- presigned query ------------------------------------------------------
    def _query_auth(
        self, method: str, target: str, pairs: list[tuple[str, str]], hmap: dict[str, str]
    ) -> _Auth:
        path, _, query = target.partition("?")
        if len(query) > self.max_query_length:
            raise QueryTooLong(self.max_query_length)
        params: dict[str, str] = {}
        keep: list[str] = []
        keep_no_token: list[str] = []
        exact = _PRESIGN_EXACT
        for piece in query.split("&"):
            raw_name, _, raw_value = piece.partition("=")
            canon = exact.get(raw_name)
            if canon is None and (raw_name[:6].lower() == "x-amz-" or "%" in raw_name):
                canon = _PRESIGN_NAMES.get(unquote(raw_name).lower())
            if canon is not None:
                if canon in params:
                    raise AuthorizationQueryParametersError(
                        f"The {canon} query parameter appears more than once."
                    )
                if "%" in raw_value or "+" in raw_value:
                    raw_value = unquote(raw_value.replace("+", " "))
                params[canon] = raw_value
                if canon == "X-Amz-Signature":
                    continue
                keep.append(piece)
                if canon != "X-Amz-Security-Token":
                    keep_no_token.append(piece)
            else:
                keep.append(piece)
                keep_no_token.append(piece)
        missing = [p for p in _PRESIGN_REQUIRED if p not in params]
        if missing:
            raise AuthorizationQueryParametersError()
        alg = params["X-Amz-Algorithm"]
        if alg not in self._algorithms:
            raise AuthorizationQueryParametersError(
                "X-Amz-Algorithm only supports "
                + " and ".join(f'"{a}"' for a in sorted(self._algorithms))
            )
        credential = params["X-Amz-Credential"]
        akid, scope = self._parse_credential(credential, alg, query=True)
        amz = params["X-Amz-Date"]
        epoch = _amz_epoch(amz)
        if epoch is None:
            raise AuthorizationQueryParametersError(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
            )
        if scope.date != amz[:8]:
            raise AuthorizationQueryParametersError(
                f'Invalid credential date "{scope.date}". This date is not the same as '
                f'X-Amz-Date: "{amz[:8]}".'
            )
        exp_text = params["X-Amz-Expires"]
        if not exp_text.isdigit() or not exp_text.isascii() or len(exp_text) > 18:
            if exp_text.isascii() and exp_text.isdigit():
                raise AuthorizationQueryParametersError(
                    "X-Amz-Expires must be less than a week (in seconds) that is, the given "
                    "X-Amz-Expires must be less than 604800 seconds"
                )
            if exp_text.startswith("-") and exp_text[1:].isdigit():
                raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
            raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
        expires = int(exp_text)
        if expires > MAX_PRESIGN_EXPIRES:
            raise AuthorizationQueryParametersError(
                "X-Amz-Expires must be less than a week (in seconds) that is, the given "
                "X-Amz-Expires must be less than 604800 seconds"
            )
        if expires < 1:
            raise AuthorizationQueryParametersError("X-Amz-Expires must be at least 1 second")
        signed_text = params["X-Amz-SignedHeaders"]
        parsed = _signed_names(signed_text)
        if parsed is None:
            raise AuthorizationQueryParametersError(
                f'The X-Amz-SignedHeaders parameter "{signed_text}" is malformed.'
            )
        signed_list, signed_set = parsed
        token = params.get("X-Amz-Security-Token")
        new_target = path + "?" + "&".join(keep) if keep else path
        no_token: str | None = None
        if token is not None:
            no_token = path + "?" + "&".join(keep_no_token) if keep_no_token else path
        return _Auth(
            "presigned",
            alg,
            akid,
            scope,
            credential[len(akid) + 1 :],
            signed_list,
            signed_set,
            signed_text,
            params["X-Amz-Signature"],
            amz,
            epoch,
            token,
            method,
            target,
            pairs,
            hmap,
            expires=expires,
            signed_target=new_target,
            target_no_token=no_token,
            form=None,
            region_set_text=params.get("X-Amz-Region-Set"),
            query_sha256=params.get("X-Amz-Content-Sha256"),
        )

    def _check_time_presigned(self, auth: _Auth, now: float) -> None:
        if auth.epoch - now > self.max_skew:
            raise AccessDenied(
                "Request is not valid yet",
                details={"X-Amz-Date": auth.amz_date, "ServerTime": _iso(now)},
            )
        assert auth.expires is not None
        if now > auth.epoch + auth.expires:
            raise AccessDenied(
                "Request has expired",
                details={
                    "X-Amz-Expires": str(auth.expires),
                    "Expires": _iso(auth.epoch + auth.expires),
                    "ServerTime": _iso(now),
                },
            )

    # -- SigV4a ---------------------------------------------------------------
    def _check_region_set(self, auth: _Auth, hmap: dict[str, str], target: str) -> None:
        if auth.kind == "presigned":
            text = auth.region_set_text
            if text is None:
                raise AuthorizationQueryParametersError(
                    "SigV4a presigned requests require the X-Amz-Region-Set parameter."
                )
        else:
            text = hmap.get("x-amz-region-set")
            if text is None:
                raise _header_malformed("SigV4a requests require the X-Amz-Region-Set header.")
        regions = tuple(r.strip() for r in text.split(",") if r.strip())
        auth.scope = Scope(auth.scope.date, None, auth.scope.service, regions)
        for r in regions:
            if r == "*" or r == self.region or ("*" in r and fnmatchcase(self.region, r)):
                return
        msg = (
            f"the region set '{','.join(regions)}' does not include this endpoint's region "
            f"'{self.region}'"
        )
        if auth.kind == "presigned":
            raise AuthorizationQueryParametersError(
                f"Error parsing the X-Amz-Region-Set parameter; {msg}",
                details={"Region": self.region},
            )
        raise _header_malformed(msg, self.region)

    # -- payload ------------------------------------------------------------
    def _payload(self, state: _Auth, body: object) -> None:
        auth = state
        hmap = state.hmap
        claimed = hmap.get("x-amz-content-sha256")
        if auth.query_sha256 is not None:
            claimed = auth.query_sha256
        if claimed is not None:
            claimed = claimed.strip()
        declared: int | None = None
        cl = hmap.get("content-length")
        if cl is not None:
            cl = cl.strip()
            if not (cl.isdigit() and cl.isascii()) or len(cl) > 18:
                raise InvalidArgument(
                    f"Content-Length {cl[:40]!r} is not a number",
                    details={"ArgumentName": "Content-Length", "ArgumentValue": cl[:40]},
                )
            declared = int(cl)
        state.declared_length = declared

        if claimed is None:
            if auth.kind == "presigned" and self.presign_unsigned_payload:
                state.payload_hash = UNSIGNED_PAYLOAD
                state.check_hash = None
            elif auth.kind == "header" and self.require_content_sha256:
                raise InvalidRequest(
                    "Missing required header for this request: x-amz-content-sha256"
                )
            else:
                # The signature covers the hash of the body itself.
                state.needs_body_hash = True
        elif len(claimed) == 64 and _HEXDIGITS.issuperset(claimed):
            state.payload_hash = claimed
            state.check_hash = claimed
        elif claimed == UNSIGNED_PAYLOAD:
            state.payload_hash = claimed
            state.check_hash = None
        elif claimed == EVENTS_PAYLOAD:
            # An event stream: the body is a chain of signed messages that
            # the application checks with sigv4kit.eventstream's
            # EventStreamVerifier.for_request(ok, secret); it is passed on raw.
            if auth.kind != "header" or auth.algorithm != ALGORITHM_V4:
                raise InvalidArgument(
                    "event streams need a SigV4 header-signed request",
                    details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": claimed},
                )
            state.payload_hash = claimed
            state.check_hash = None
        elif claimed in _STREAMING:
            kind, alg = _STREAMING[claimed]
            if auth.kind != "header":
                raise InvalidArgument(
                    "Streaming (aws-chunked) payloads need a header-signed request",
                    details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": claimed},
                )
            if alg is not None and alg != auth.algorithm:
                raise InvalidArgument(
                    f"x-amz-content-sha256 {claimed} does not match the signing algorithm "
                    f"{auth.algorithm}",
                    details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": claimed},
                )
            state.payload_hash = claimed
            state.streaming = kind
        else:
            raise InvalidArgument(
                _SHA256_VALUES_MESSAGE,
                details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": claimed[:100]},
            )

        if (
            body.__class__ is bytes
            or body is None
            or isinstance(body, (bytearray, memoryview, str))
        ):
            data = b"" if body is None else _piece(body)
            state.body_bytes = data
            if state.needs_body_hash:
                state.payload_hash = _sha256(data).hexdigest() if data else _EMPTY
            return
        source = _sync_source(body)
        if source is None:
            state.async_source = _async_source(body)
            return
        if state.needs_body_hash:
            # Hashed in _finish, once the access key is known: an unknown key
            # must not make the server read (or spool) the body first.
            read = getattr(body, "read", None)
            seekable = False
            if read is not None:
                try:
                    seekable = bool(cast("BinaryIO", body).seekable())
                except (AttributeError, OSError, ValueError):
                    seekable = False
            if seekable:
                state.body_file = cast("BinaryIO", body)
        state.source = source

    # -- phase 2: signature ---------------------------------------------------
    def _finish(self, state: _Auth, key: _Key, *, sync: bool) -> VerifiedRequest:
        auth = state
        if state.needs_body_hash and state.payload_hash is None:
            f = state.body_file
            if f is not None:
                start = f.tell()
                h = _sha256()
                for piece in _read_file(f):
                    h.update(piece)
                f.seek(start)
                state.payload_hash = h.hexdigest()
                state.source = _read_file(f)
            else:
                digest, spool = _spool_hash(cast("Iterator[bytes]", state.source))
                state.payload_hash = digest
                state.source = _iter_spool(spool)
        payload_hash = cast("str", state.payload_hash)
        target = auth.signed_target if auth.kind == "presigned" else state.target
        creq, sts, ok = self._check_signature(state, key, target, payload_hash)
        if not ok and auth.target_no_token is not None:
            # The session token may have been added after signing (IoT style).
            _, sts2, ok = self._check_signature(state, key, auth.target_no_token, payload_hash)
            if ok:
                sts = sts2
        if not ok:
            raise self._mismatch(auth, creq, sts)

        # Session token expected by the credential store.
        if key.token is not None:
            if auth.token is None:
                raise InvalidToken(
                    "The request must carry the session token of this access key "
                    "(X-Amz-Security-Token)."
                )
            if not _compare(key.token.encode("utf-8"), auth.token.encode("utf-8", "surrogatepass")):
                raise InvalidToken()

        body: Iterator[bytes] | AsyncIterator[bytes]
        if state.streaming is not None:
            decoder = self._streaming_decoder(state, key)
            trailers: Sequence[tuple[str, str]] = decoder.trailers
            if state.body_bytes is not None:
                # Eager: decode and verify the whole body now.
                pieces = list(_run_sync(iter((state.body_bytes,)), decoder))
                body = iter(pieces)
            elif state.source is not None:
                body = _run_sync(state.source, decoder)
            else:
                body = _run_async(cast("AsyncIterator[bytes]", state.async_source), decoder)
            auth_type = state.streaming
        else:
            trailers = ()
            data = state.body_bytes
            if data is not None:
                # Eager: the whole body is here, so check it now.
                declared = state.declared_length
                if declared is not None and len(data) != declared:
                    raise IncompleteBody(
                        details={"ExpectedLength": str(declared), "ReceivedLength": str(len(data))}
                    )
                claimed = state.check_hash
                if claimed is not None:
                    computed = _sha256(data).hexdigest() if data else _EMPTY
                    if not _compare(computed, claimed.lower()):
                        raise _sha_mismatch(claimed, computed)
                body = iter((data,)) if data else iter(())
            else:
                check = _PayloadCheck(state.check_hash, state.declared_length)
                if state.source is not None:
                    body = _run_sync(state.source, check)
                else:
                    body = _run_async(cast("AsyncIterator[bytes]", state.async_source), check)
            auth_type = auth.kind
        if sync and state.async_source is not None:
            raise SigningError("an async body needs 'await verifier.averify(...)'")
        return VerifiedRequest(
            auth.access_key_id,
            auth.algorithm,
            auth_type,
            auth.scope,
            auth.signed_headers,
            auth.amz_date,
            payload_hash,
            auth.token is not None,
            body,
            auth.signature,
            auth.form,
            auth.expires,
            trailers,
            sts,
        )

    def _canonical_target(self, target: str) -> tuple[str, str]:
        """``(canonical URI, canonical query)`` of a received target, memoized:
        a pure function of the target and this verifier's settings."""
        hit = self._targets.get(target)
        if hit is not None:
            return hit
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        curi = _c.canonical_uri(
            path,
            double_encode=self.double_uri_encode,
            normalize=self.normalize_path,
            plus_is_space=self.plus_in_path_is_space,
        )
        result = (curi, _c.canonical_query(query) if query else "")
        if len(self._targets) >= 1024:
            self._targets.clear()
        self._targets[target] = result
        return result

    def _check_signature(
        self, state: _Auth, key: _Key, target: str, payload_hash: str
    ) -> tuple[str, str, bool]:
        """Rebuild the canonical request with :mod:`sigv4kit.canonical` (the
        functions the Signer uses) and check the signature."""
        auth = state
        hit = self._targets.get(target)
        curi, cquery = hit if hit is not None else self._canonical_target(target)
        # No value validation here: a value a signer refuses (a control
        # character) simply cannot produce a matching signature.
        creq = _canonical_request(
            state.method,
            curi,
            cquery,
            state.pairs,
            payload_hash,
            signed=auth.signed_headers_text,
            names=auth.signed_headers,
            index=state.hmap,
        )
        sts = _string_to_sign(auth.algorithm, auth.amz_date, auth.scope_text, creq[6])
        text = creq[6]
        if creq[4] != auth.signed_headers_text:
            # The client listed names unsorted, in upper case or twice: its
            # canonical request cannot be this one.
            return text, sts, False
        secret = key.secret
        if auth.algorithm == ALGORITHM_V4 and secret is not None:
            memo = self._key_memo
            if memo is not None and memo[0] is secret and memo[1] == auth.scope.date:
                fn = memo[2]
            else:
                fn = self._hmac(secret, auth.scope)
            return (
                text,
                sts,
                _compare(
                    fn(sts.encode("utf-8")).encode(), auth.signature.encode("utf-8", "replace")
                ),
            )
        return text, sts, self._signature_ok(auth, key, sts)

    def _signature_ok(self, auth: _Auth, key: _Key, sts: str) -> bool:
        provided = auth.signature
        if auth.algorithm == ALGORITHM_V4A:
            from .v4a import public_key_for, verify_v4a

            pub = key.public_key
            if pub is None:
                # Derived once and kept on the memoized key.
                pub = key.public_key = public_key_for(auth.access_key_id, cast("str", key.secret))
            return verify_v4a(pub, sts.encode("utf-8"), provided)
        if key.secret is None:
            raise AccessDenied(
                "Only a SigV4a public key is stored for this access key; SigV4 "
                "(AWS4-HMAC-SHA256) requests cannot be verified with it."
            )
        return _compare(
            self._hmac(key.secret, auth.scope)(sts.encode("utf-8")).encode(),
            provided.encode("utf-8", "replace"),
        )

    def _hmac(self, secret: str, scope: Scope) -> Callable[[bytes], str]:
        """The day's signing function; the last one is kept in a one-slot
        memo, as the Signer does (consecutive requests share key and day)."""
        memo = self._key_memo
        if memo is not None and memo[0] is secret and memo[1] == scope.date:
            return memo[2]
        fn = signing_key(secret, scope.date, cast("str", scope.region), scope.service).hexdigest
        self._key_memo = (secret, scope.date, fn)
        return fn

    def _mismatch(self, auth: _Auth, creq: str, sts: str) -> SignatureDoesNotMatch:
        if not self.include_debug:
            return SignatureDoesNotMatch(access_key_id=auth.access_key_id)
        token = auth.token
        if token is not None and not self.show_token:
            creq = creq.replace(token, _REDACTED)
            creq = creq.replace(quote(token.encode("utf-8", "surrogatepass"), safe=""), _REDACTED)
        # Debug text goes into XML and logs: no lone surrogates.
        creq = creq.encode("utf-8", "replace").decode("utf-8")
        return SignatureDoesNotMatch(
            canonical_request=creq,
            string_to_sign=sts,
            signature_provided=auth.signature,
            access_key_id=auth.access_key_id,
        )

    def _streaming_decoder(self, state: _Auth, key: _Key) -> _ChunkedCheck:
        from .streaming import decoder_from_headers

        auth = state
        sign: Callable[[bytes], str] | None = None
        verify: Callable[[bytes, str], bool] | None = None
        if auth.algorithm == ALGORITHM_V4A:
            from .v4a import public_key_for, verify_v4a

            pub = key.public_key
            if pub is None:
                # Derived once and kept on the memoized key.
                pub = key.public_key = public_key_for(auth.access_key_id, cast("str", key.secret))

            def verify(sts: bytes, sig: str) -> bool:
                return verify_v4a(pub, sts, sig)

        else:
            scope = auth.scope
            sign = signing_key(
                cast("str", key.secret), scope.date, cast("str", scope.region), scope.service
            ).hexdigest
        decoder = decoder_from_headers(
            state.pairs,
            seed_signature=auth.signature,
            amz_date=auth.amz_date,
            scope=auth.scope_text,
            sign=sign,
            verify=verify,
            max_chunk_size=self.max_chunk_size,
            max_line_length=self.max_chunk_header_length,
            max_chunks=self.max_chunks,
        )
        return _ChunkedCheck(decoder, state.declared_length)


class _ChunkedCheck:
    """The aws-chunked decoder behind a byte count, holding back the last
    decoded piece until the body proved complete (final chunk, trailer
    signature and checksum)."""

    __slots__ = ("_count", "_decoder", "_held", "trailers")

    def __init__(self, decoder: Any, declared_length: int | None) -> None:
        self._decoder = decoder
        self._count = _PayloadCheck(None, declared_length)
        self._held = b""
        self.trailers: list[tuple[str, str]] = []

    def feed(self, data: bytes) -> bytes:
        decoded: bytes = self._decoder.feed(self._count.feed(data))
        if not decoded:
            return b""
        out, self._held = self._held, decoded
        return out

    def finish(self) -> bytes:
        self._count.finish()
        self.trailers[:] = self._decoder.finish()
        out, self._held = self._held, b""
        return out


_signed_cache: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}


def _signed_names(text: str) -> tuple[tuple[str, ...], frozenset[str]] | None:
    """The SignedHeaders list and set, None if malformed; memoized (clients
    send the same few lists over and over)."""
    hit = _signed_cache.get(text)
    if hit is not None:
        return hit
    names = tuple(text.split(";"))
    if not text or any(not n for n in names):
        return None
    result = (names, frozenset(names))
    if len(_signed_cache) >= 1024:
        _signed_cache.clear()
    _signed_cache[text] = result
    return result


def _query_has_auth(query: str) -> bool:
    if "X-Amz-" not in query and "x-amz-" not in query.lower():
        return False
    for piece in query.split("&"):
        name = piece.partition("=")[0]
        if "%" in name:
            name = unquote(name)
        if name.lower() in ("x-amz-algorithm", "x-amz-signature", "x-amz-credential"):
            return True
    return False


def _skewed(raw: str, now: float, skew: float) -> SignatureError:
    from .errors import RequestTimeTooSkewed

    return RequestTimeTooSkewed(
        details={
            "RequestTime": raw,
            "ServerTime": _iso(now),
            "MaxAllowedSkewMilliseconds": str(int(skew * 1000)),
        }
    )


def _signature_mismatch_plain(auth: _Auth, message: str) -> SignatureDoesNotMatch:
    return SignatureDoesNotMatch(message, access_key_id=auth.access_key_id)


def _close(awaitable: object) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


async def _aspool(source: AsyncIterator[bytes]) -> tuple[str, Iterator[bytes]]:
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)
    h = _sha256()
    async for piece in source:
        h.update(piece)
        spool.write(piece)
    spool.seek(0)
    return h.hexdigest(), _iter_spool(spool)
