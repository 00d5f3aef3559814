"""Constants and types shared by the verify modules."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import canonical as _c
from ..errors import AuthorizationHeaderMalformed, SigningError
from ..modes import UNSIGNED_PAYLOAD as UNSIGNED_PAYLOAD
from ..presigning import MAX_PRESIGN_EXPIRES as MAX_PRESIGN_EXPIRES
from ..presigning import PRESIGN_NAMES

_sha256 = hashlib.sha256
_canonical_request = _c.canonical_request
_string_to_sign = _c.string_to_sign_text
_compare = hmac.compare_digest
_EMPTY = _c.EMPTY_SHA256
# x-amz-* headers that may be sent unsigned: each is bound to the signature by
# other means.  x-amz-date is in the string to sign; x-amz-content-sha256 is
# the last line of the canonical request; x-amz-security-token is checked
# against the credential store (clients such as IoT add it after signing, the
# suite's post-sts-header-after case).  Every other x-amz-* header must be
# signed, as S3 requires.
_UNSIGNED_AMZ_OK = frozenset({"x-amz-date", "x-amz-content-sha256", "x-amz-security-token"})
# Header names clients and proxies commonly send unsigned, none of them
# x-amz-*: the fast road checks that the names sent are within the signed
# ones, these and the ones above (one C-level subset test) before it looks
# at each unsigned name.
_COMMON_UNSIGNED = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "authorization",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "expect",
        "forwarded",
        "keep-alive",
        "origin",
        "pragma",
        "referer",
        "te",
        "user-agent",
        "via",
        "x-amzn-trace-id",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-real-ip",
        "x-request-id",
    }
)
# Each presign parameter by its lowercase name -> as sent (and the exact
# spellings to themselves, for the common case of a name sent as signed).
_PRESIGN_NAMES = {n.lower(): n for n in (*PRESIGN_NAMES, "X-Amz-Content-Sha256")}
_PRESIGN_EXACT = {v: v for v in _PRESIGN_NAMES.values()}
_PRESIGN_REQUIRED = frozenset(PRESIGN_NAMES[:6])
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

# Limits: each has its own error, carrying the option name and its value.
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


def _close(awaitable: object) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


def _header_malformed(detail: str, region: str | None = None) -> AuthorizationHeaderMalformed:
    details = {"Region": region} if region else None
    return AuthorizationHeaderMalformed(
        f"The authorization header is malformed; {detail}", details=details
    )
