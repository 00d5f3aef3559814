"""One exception hierarchy for the whole package.

Two branches, after h11's LocalProtocolError / RemoteProtocolError split:

* :class:`SigningError` -- *our caller* gave us something we cannot sign
  (a header name with a space, a naive timestamp, an expiry of ten days).
  It is also a :class:`ValueError`, so generic ``except ValueError`` code keeps
  working.
* :class:`SignatureError` -- *a remote party* sent a request that does not
  verify.  Each subclass is one cause and carries the S3 error ``code`` and HTTP
  ``status`` a server should answer with, plus the evidence (canonical request,
  string to sign) that lets the client see what the server computed.

No message built here ever contains a secret key or a derived key: errors are
logged, printed and sent over the wire, so they only ever carry public values.
"""

from __future__ import annotations

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "BadDigest",
    "CredentialsError",
    "EntityTooLarge",
    "ExpiredToken",
    "IncompleteBody",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidRequest",
    "InvalidToken",
    "KeyExists",
    "KeyNotFound",
    "KeyStoreError",
    "MasterKeyError",
    "MissingSecurityHeader",
    "PresignExpiryError",
    "RequestTimeTooSkewed",
    "ServiceUnavailable",
    "SigV4Error",
    "SignatureDoesNotMatch",
    "SignatureError",
    "SigningError",
    "SlowDown",
    "StoreUnavailable",
    "XAmzContentSHA256Mismatch",
]


class SigV4Error(Exception):
    """Base class of every error raised by sigv4kit."""


class SigningError(SigV4Error, ValueError):
    """The input to a signing call is invalid; the message says how to fix it."""


class CredentialsError(SigV4Error):
    """Credentials could not be found, parsed or refreshed."""


class PresignExpiryError(SigningError):
    """The credentials expire before the presigned URL would.

    A URL signed with temporary credentials stops working when they expire,
    whatever its ``X-Amz-Expires`` says.  ``url_expires`` and
    ``credentials_expire`` are the two times (aware datetimes, UTC); pass
    ``cap_expires=True`` to presign for a URL that ends with the credentials.
    """

    def __init__(
        self, message: str, *, url_expires: datetime, credentials_expire: datetime
    ) -> None:
        super().__init__(message)
        self.url_expires = url_expires
        self.credentials_expire = credentials_expire


def _xml_escape(text: str) -> str:
    # xml.sax.saxutils would pull in urllib.request, http.client and ssl.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hex_bytes(text: str) -> str:
    # S3 renders the *Bytes fields as space-separated two-digit hex.
    return " ".join(f"{b:02x}" for b in text.encode("utf-8"))


class SignatureError(SigV4Error):
    """A request failed verification.

    ``code`` and ``status`` are what S3 answers for this cause; ``to_xml()``
    renders S3's ``<Error>`` document so an S3-compatible server can send it
    unchanged.  ``details`` holds the extra elements S3 adds for the cause
    (for example ``RequestTime`` and ``ServerTime``); they are public values.
    """

    code: ClassVar[str] = "AccessDenied"
    status: ClassVar[int] = 403
    default_message: ClassVar[str] = "Access Denied"

    def __init__(
        self,
        message: str | None = None,
        *,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
        signature_provided: str | None = None,
        access_key_id: str | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign
        self.signature_provided = signature_provided
        self.access_key_id = access_key_id
        self.details: dict[str, str] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def fields(self, *, include_debug: bool = True) -> list[tuple[str, str]]:
        """The ``<Error>`` child elements, in S3's order."""
        out: list[tuple[str, str]] = [("Code", self.code), ("Message", self.message)]
        if self.access_key_id is not None:
            out.append(("AWSAccessKeyId", self.access_key_id))
        if include_debug:
            if self.string_to_sign is not None:
                out.append(("StringToSign", self.string_to_sign))
            if self.signature_provided is not None:
                out.append(("SignatureProvided", self.signature_provided))
            if self.string_to_sign is not None:
                out.append(("StringToSignBytes", _hex_bytes(self.string_to_sign)))
            if self.canonical_request is not None:
                out.append(("CanonicalRequest", self.canonical_request))
                out.append(("CanonicalRequestBytes", _hex_bytes(self.canonical_request)))
        out.extend(self.details.items())
        return out

    def to_xml(self, *, include_debug: bool = True, request_id: str | None = None) -> str:
        """S3's error document.

        ``include_debug=False`` drops the canonical request and string to sign,
        for operators who do not want to reveal how they canonicalize.
        """
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error>']
        fields = self.fields(include_debug=include_debug)
        if request_id is not None:
            fields.append(("RequestId", request_id))
        for name, value in fields:
            parts.append(f"<{name}>{_xml_escape(value)}</{name}>")
        parts.append("</Error>")
        return "".join(parts)


class SignatureDoesNotMatch(SignatureError):
    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class AccessDenied(SignatureError):
    code = "AccessDenied"
    status = 403
    default_message = "Access Denied"


class InvalidAccessKeyId(SignatureError):
    code = "InvalidAccessKeyId"
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class RequestTimeTooSkewed(SignatureError):
    code = "RequestTimeTooSkewed"
    status = 403
    default_message = "The difference between the request time and the current time is too large."


class AuthorizationHeaderMalformed(SignatureError):
    code = "AuthorizationHeaderMalformed"
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(SignatureError):
    code = "AuthorizationQueryParametersError"
    status = 400
    default_message = (
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
    )


class InvalidToken(SignatureError):
    code = "InvalidToken"
    status = 400
    default_message = "The provided token is malformed or otherwise invalid."


class ExpiredToken(SignatureError):
    code = "ExpiredToken"
    status = 400
    default_message = "The provided token has expired."


class XAmzContentSHA256Mismatch(SignatureError):
    code = "XAmzContentSHA256Mismatch"
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class BadDigest(SignatureError):
    code = "BadDigest"
    status = 400
    default_message = "The checksum you specified did not match what we received."


class IncompleteBody(SignatureError):
    code = "IncompleteBody"
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )


class EntityTooLarge(SignatureError):
    code = "EntityTooLarge"
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed size."


class MissingSecurityHeader(SignatureError):
    code = "MissingSecurityHeader"
    status = 400
    default_message = "Your request is missing a required header."


class InvalidArgument(SignatureError):
    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"


class InvalidRequest(SignatureError):
    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"


# -- answers of the verifying gateway (sigv4kit gateway) -----------------------
# Not signature failures, but answers a server gives in S3's XML form, so they
# share the class (code, status, to_xml) with them.
class SlowDown(SignatureError):
    """The access key's request rate is over its limit; retry with back-off."""

    code = "SlowDown"
    status = 503
    default_message = "Please reduce your request rate."


class ServiceUnavailable(SignatureError):
    """A dependency (key store, replay cache) cannot answer; retry later.

    Never a 403: an outage must not look like a refusal, which clients do
    not retry.
    """

    code = "ServiceUnavailable"
    status = 503
    default_message = "The service is unable to handle the request now; retry shortly."


# --------------------------------------------------------------------------
# Key store (sigv4kit.keystore)
# --------------------------------------------------------------------------
class KeyStoreError(SigV4Error):
    """A key store operation failed; the message says what to fix."""


class StoreUnavailable(ServiceUnavailable, KeyStoreError):
    """The key store cannot be reached (a gateway answers 503, not 403).

    Raised for keys the per-node cache does not hold (or holds past their
    TTL) while the store is down; cached keys keep working until their TTL.
    """

    default_message = "Service is unable to handle request: the key store cannot be reached"


class KeyNotFound(KeyStoreError, LookupError):
    """No key with this access key id exists in the store."""


class KeyExists(KeyStoreError):
    """A key with this access key id is already in the store."""


class MasterKeyError(KeyStoreError):
    """The master key that encrypts secrets at rest is missing, malformed or not this store's."""
