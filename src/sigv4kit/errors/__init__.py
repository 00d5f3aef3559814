"""One exception hierarchy for the whole package: every exception class lives here.

Three families, after h11's LocalProtocolError / RemoteProtocolError split:

* :class:`SigningError` -- *our caller* gave us something we cannot sign (a
  header name with a space, a naive timestamp, an expiry of ten days).  It is
  also a :class:`ValueError`.  :class:`CredentialsError` and
  :class:`RawRequestError` are the caller-side errors of credential loading
  and of reading a raw HTTP request.
* :class:`SignatureError` -- *a remote party* sent a request that does not
  verify.  Each subclass is one cause and carries the S3 error ``code`` and
  HTTP ``status`` a server should answer with, plus the evidence (canonical
  request, string to sign) that shows the client what the server computed.
* :class:`LimitExceeded` -- a size or count limit of sigv4kit was exceeded.  It
  is a second base, mixed into the family error of the place the limit guards,
  so ``except LimitExceeded`` catches every limit error and the error still
  carries its S3 code.

Naming rule: a class answering with one of S3's error codes is named after
that code (S3's own names sometimes end in ``Error``: ``InvalidChunkSizeError``,
``AuthorizationQueryParametersError``).  Every other class names its cause
(``ChunkTooLarge``, ``MissingAuthentication``) and ends in ``Error`` only when it
is the base of a family (``SigV4Error``, ``SigningError``, ``SignatureError``,
``CredentialsError``, ``RawRequestError``, ``EventStreamError``,
``KeyStoreError``).  Names used before this rule stay importable as aliases
(``ChunkTooLargeError``, ``MasterKeyError``...), and modules that raise these
errors re-export them, so old import paths keep working.

No message built here contains a secret or derived key: errors are logged,
printed and sent over the wire, so they carry public values only.
"""

from __future__ import annotations

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AuthorizationHeaderMalformed",
    "AuthorizationHeaderTooLong",
    "AuthorizationQueryParametersError",
    "BadDigest",
    "BodyTooLarge",
    "CannotProbe",
    "CannotResign",
    "ChunkLineTooLong",
    "ChunkLineTooLongError",
    "ChunkTooLarge",
    "ChunkTooLargeError",
    "ClientDisconnected",
    "CredentialsError",
    "CredentialsNotFound",
    "CredentialsNotFoundError",
    "EntityTooLarge",
    "EntityTooSmall",
    "EventMessageTooLarge",
    "EventSignatureDoesNotMatch",
    "EventStreamError",
    "EventTimeTooSkewed",
    "ExpiredToken",
    "IncompleteBody",
    "IncompleteEventStream",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidChunkSizeError",
    "InvalidFormField",
    "InvalidMasterKey",
    "InvalidPolicyDocument",
    "InvalidRequest",
    "InvalidToken",
    "KeyExists",
    "KeyNotFound",
    "KeyStoreError",
    "LimitExceeded",
    "MalformedEventStream",
    "MalformedPOSTRequest",
    "MalformedProfileFile",
    "MalformedTrailerError",
    "MasterKeyError",
    "MaxPostPreDataLengthExceeded",
    "MissingAuthentication",
    "MissingContentLength",
    "MultipartHeaderTooLong",
    "PlanError",
    "PolicyTooLarge",
    "PresignExpiryError",
    "PresignOutlivesCredentials",
    "ProbeError",
    "ProfileFileError",
    "QueryTooLong",
    "RawRequestError",
    "RawRequestTooLarge",
    "RedirectNotFollowed",
    "ReplayDetected",
    "RequestHeaderTooLong",
    "RequestTimeTooSkewed",
    "RequestTimeout",
    "ServiceUnavailable",
    "SigV4Error",
    "SignatureDoesNotMatch",
    "SignatureError",
    "SigningError",
    "SlowDown",
    "StoreUnavailable",
    "TooManyChunks",
    "TooManyChunksError",
    "TooManySignedHeaders",
    "TooManySignedHeadersInQuery",
    "UnknownHostError",
    "UnknownUpstreamHost",
    "UpstreamFailed",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "XAmzContentSHA256Mismatch",
]


class SigV4Error(Exception):
    """Base class of every error raised by sigv4kit."""


class SigningError(SigV4Error, ValueError):
    """The input to a signing call is invalid; the message says how to fix it."""


class CredentialsError(SigV4Error):
    """Credentials could not be found, parsed or refreshed."""


class RawRequestError(SigV4Error, ValueError):
    """The text is not an HTTP request we can read."""


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


class LimitExceeded(SigV4Error):
    """A size or count limit was exceeded.  ``limit`` names the option that
    sets it (``max_chunk_size``...) and ``value`` its setting, so an operator
    sees at once which knob to turn."""

    limit: str = ""
    value: int = 0

    def __init__(self, message: str | None = None, *, value: int, limit: str | None = None) -> None:
        # Every limit error lists this class first among its bases, so this
        # runs before the family error's own __init__, which gets the message.
        super().__init__(message)
        self.value = value
        if limit is not None:
            self.limit = limit


class KeyStoreError(SigV4Error):
    """A key store operation failed; the message says what to fix."""


# -- Answers: each a cause a server answers with one S3 error code and status.
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


class InvalidArgument(SignatureError):
    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"


class InvalidRequest(SignatureError):
    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"


class MissingAuthentication(AccessDenied):
    """The request carries no signature at all: S3's AccessDenied, as its own
    class so that a server that allows anonymous requests can catch it."""

    default_message = (
        "Access Denied: the request is not signed (no Authorization header, no "
        "X-Amz-Signature query parameter and no POST policy form)"
    )


class AuthorizationHeaderTooLong(LimitExceeded, AuthorizationHeaderMalformed):
    """The ``Authorization`` header is longer than ``max_auth_length``."""

    limit = "max_auth_length"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"The authorization header is malformed; it is longer than {value} characters "
            "(max_auth_length).",
            value=value,
        )


class QueryTooLong(LimitExceeded, AuthorizationQueryParametersError):
    """A presigned request's query string is longer than ``max_query_length``."""

    limit = "max_query_length"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"The query string is longer than {value} characters (max_query_length).", value=value
        )


class TooManySignedHeaders(LimitExceeded, AuthorizationHeaderMalformed):
    """``SignedHeaders`` names more than ``max_signed_headers`` headers."""

    limit = "max_signed_headers"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"The authorization header is malformed; SignedHeaders names more than {value} "
            "headers (max_signed_headers).",
            value=value,
        )


class TooManySignedHeadersInQuery(LimitExceeded, AuthorizationQueryParametersError):
    """``X-Amz-SignedHeaders`` names more than ``max_signed_headers`` headers."""

    limit = "max_signed_headers"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"X-Amz-SignedHeaders names more than {value} headers (max_signed_headers).",
            value=value,
        )


class RequestHeaderTooLong(LimitExceeded, SignatureError):
    """One header (name and value) is longer than ``max_header_length``
    (S3's code for an oversized header section); checked before any parsing."""

    code = "RequestHeaderSectionTooLarge"
    status = 400
    default_message = "Your request header section exceeds the maximum allowed size."
    limit = "max_header_length"

    def __init__(self, value: int, name: str) -> None:
        super().__init__(
            f"Your request header section exceeds the maximum allowed size: header "
            f"{name[:40]!r} is longer than {value} characters (max_header_length).",
            value=value,
        )


class MissingContentLength(SignatureError):
    """A body of unknown length reached a server that cannot delimit it (a
    chunked request to a WSGI server without ``wsgi.input_terminated``)."""

    code = "MissingContentLength"
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


# -- aws-chunked bodies
class InvalidChunkSizeError(SignatureError):
    """A chunk is larger than allowed, or a chunk other than the last is < 8 KiB."""

    code = "InvalidChunkSizeError"
    status = 403
    default_message = "Only the last chunk is allowed to have a size less than 8192 bytes"


class ChunkTooLarge(LimitExceeded, InvalidChunkSizeError):
    """A chunk declares more data than ``max_chunk_size`` allows; raised from
    the chunk header, before any of its data is read or buffered."""

    default_message = "The chunk is larger than this server accepts"
    limit = "max_chunk_size"


class TooManyChunks(LimitExceeded, InvalidChunkSizeError):
    """The body has more chunks than ``max_chunks`` allows."""

    default_message = "The aws-chunked body has more chunks than allowed"
    limit = "max_chunks"


class ChunkLineTooLong(LimitExceeded, IncompleteBody):
    """A chunk header or trailer line is longer than ``max_line_length``;
    raised as soon as it outgrows the limit, so a client that never sends a
    line break cannot make the decoder buffer more."""

    default_message = "A line of the aws-chunked framing is too long"
    limit = "max_line_length"


class MalformedTrailerError(SignatureError):
    """The trailer section does not match ``X-Amz-Trailer`` or is not well formed."""

    code = "MalformedTrailerError"
    status = 400
    default_message = (
        "The request contained trailing data that was not well-formed or did not conform "
        "to our published schema."
    )


# -- Browser POST uploads
class InvalidPolicyDocument(SignatureError):
    code = "InvalidPolicyDocument"
    status = 400
    default_message = (
        "The content of the form does not meet the conditions specified in the policy document."
    )


class EntityTooSmall(SignatureError):
    code = "EntityTooSmall"
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed size."


class MalformedPOSTRequest(SignatureError):
    code = "MalformedPOSTRequest"
    status = 400
    default_message = "The body of your POST request is not well-formed multipart/form-data."


class MaxPostPreDataLengthExceeded(LimitExceeded, MalformedPOSTRequest):
    """The fields before the file are too large (``max_fields_bytes``) or too
    many (``max_parts``): a :class:`MalformedPOSTRequest` with S3's own code."""

    code = "MaxPostPreDataLengthExceeded"
    status = 400
    default_message = "Your POST request fields preceding the upload file were too large."


class MultipartHeaderTooLong(LimitExceeded, MalformedPOSTRequest):
    """One part's header block is longer than ``max_header_bytes``."""

    limit = "max_header_bytes"


class PolicyTooLarge(LimitExceeded, InvalidPolicyDocument):
    """The Base64 policy is longer than ``max_policy_bytes``."""

    limit = "max_policy_bytes"


# -- Event streams
class EventStreamError(SignatureError):
    """A received event stream was rejected; catch this for every cause.  Each
    subclass also derives from the S3-coded error of its cause."""


class MalformedEventStream(EventStreamError, InvalidArgument):
    """A frame is not a valid event-stream message (lengths, CRC, header
    encoding), or a signed envelope is not shaped as AWS defines it.  The
    peer sent bytes that cannot be trusted further."""

    default_message = "The event stream message is malformed."


class EventMessageTooLarge(LimitExceeded, MalformedEventStream):
    """A frame declares more bytes (``max_message_size``) or more header bytes
    (``max_headers_size``) than the decoder accepts; raised from the prelude,
    before the frame is buffered."""


class IncompleteEventStream(EventStreamError, IncompleteBody):
    """The stream ended inside a frame, or before its signed end-of-stream
    message: the sender's data was cut short."""

    default_message = "The event stream ended before its last message."


class EventSignatureDoesNotMatch(EventStreamError, SignatureDoesNotMatch):
    """A message's ``:chunk-signature`` is not the one its content, date and
    position in the chain produce: it was changed, reordered, replayed, or a
    message before it was dropped."""

    default_message = "The event signature we calculated does not match the signature you provided."


class EventTimeTooSkewed(EventStreamError, RequestTimeTooSkewed):
    """A message's ``:date`` is further from the server's clock than allowed."""

    default_message = "The difference between the event time and the current time is too large."


# -- Answers of the verifying gateway (sigv4kit gateway): not the client's
# signature, but what a gateway answers for it (replays, rate limits, a key
# store or replay cache that cannot be reached).  They are SignatureErrors so
# a server that renders ``exc.status`` and ``exc.to_xml()`` answers correctly.
class ReplayDetected(AccessDenied):
    """The same access key and string to sign were already accepted in the skew window."""

    default_message = "Access Denied: this signed request was already used; sign every request anew"


class SlowDown(SignatureError):
    """The access key's request rate is over its limit; retry with back-off."""

    code = "SlowDown"
    status = 503
    default_message = "Please reduce your request rate."


class ServiceUnavailable(SignatureError):
    """A dependency (key store, replay cache) cannot answer; retry later.
    Never a 403: an outage must not look like a refusal, which clients do not retry."""

    code = "ServiceUnavailable"
    status = 503
    default_message = "The service is unable to handle the request now; retry shortly."


class UpstreamUnavailable(SignatureError):
    """The gateway's 502: the upstream refused, reset or closed the connection.
    S3 has no code for it: ``BadGateway`` names the status, which SDKs retry."""

    code = "BadGateway"
    status = 502
    default_message = "The upstream cannot be reached; retry shortly."


class UpstreamTimeout(SignatureError):
    """The gateway's 504: the upstream accepted the request but stayed silent."""

    code = "GatewayTimeout"
    status = 504
    default_message = "The upstream did not answer in time; retry shortly."


class StoreUnavailable(ServiceUnavailable, KeyStoreError):
    """The key store cannot be reached (a gateway answers 503, not 403) for a
    key the per-node cache does not hold, or holds past its TTL."""

    default_message = "Service is unable to handle request: the key store cannot be reached"


class RequestTimeout(SignatureError):
    """The client was too slow sending its request (S3's code and message)."""

    code = "RequestTimeout"
    status = 400
    default_message = (
        "Your socket connection to the server was not read from or written to within "
        "the timeout period. Idle connections will be closed."
    )


# -- Local errors: raised to the code that called sigv4kit (the signer, the
# credential providers, the adapters, the CLI, the forwarding engine, the
# proxy and the key store), never an answer to a request.
class PresignOutlivesCredentials(SigningError):
    """The credentials expire before the presigned URL would, when it stops
    working whatever its ``X-Amz-Expires`` says.  ``url_expires`` and
    ``credentials_expire`` are the two times; ``cap_expires=True`` presigns a
    URL that ends with the credentials instead."""

    def __init__(
        self, message: str, *, url_expires: datetime, credentials_expire: datetime
    ) -> None:
        super().__init__(message)
        self.url_expires = url_expires
        self.credentials_expire = credentials_expire


class RedirectNotFollowed(SigningError):
    """A redirect (307/308, or a 301/302 that keeps the method) would send a
    one-shot body again, so the adapter stopped.  ``response`` is the redirect
    response (its connection released), ``location`` where it pointed."""

    def __init__(
        self, message: str, *, response: object = None, location: str | None = None
    ) -> None:
        super().__init__(message)
        self.response = response
        self.location = location


class InvalidFormField(SigningError):
    """A field of the calculator's form cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class CredentialsNotFound(CredentialsError):
    """No provider had credentials.  ``places`` lists every place looked at,
    with why it gave nothing, so a user sees which variable or file to fix."""

    def __init__(self, places: Sequence[str], *, hint: str | None = None) -> None:
        self.places: list[str] = list(places)
        lines = ["No AWS credentials found. Looked in:"]
        lines.extend(f"  {i}. {place}" for i, place in enumerate(self.places, 1))
        lines.append(
            hint
            or "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run `aws configure`, "
            "or pass Credentials(...) explicitly."
        )
        super().__init__("\n".join(lines))


class MalformedProfileFile(CredentialsError):
    """A shared credentials or config file could not be parsed."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = path if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {problem}")


class CannotResign(SigningError):
    """The gateway cannot re-sign a verified request as asked (the message says why)."""


class CannotProbe(SigV4Error):
    """``sigv4kit probe`` cannot run: no such bucket, or the endpoint is unreachable."""


class RawRequestTooLarge(LimitExceeded, RawRequestError):
    """The request head exceeds a size limit; ``limit`` names which one."""


# -- The forwarding engine, the proxy and the key store
class ClientDisconnected(SigV4Error):
    """The client went away while its request body was being read (the
    forwarding engine of the proxy and gateway answers it with 499)."""


class UnknownUpstreamHost(SigV4Error):
    """The proxy's upstream host says nothing about its region or service."""


class UpstreamFailed(SigV4Error):
    """The forwarding engine's upstream exchange failed before or while the
    answer arrived.  ``kind`` says how, and so what the client gets: "connect"
    and "disconnect" (502, retried once when replayable), "timeout" (504),
    "broke-off" (the answer ended early or was malformed), "body" (the request
    body iterator raised; it is ``__cause__``).  ``os_error`` is the socket
    error behind a failed connect."""

    def __init__(self, kind: str, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.os_error = os_error


class BodyTooLarge(LimitExceeded):
    """A body the proxy must hold is larger than ``--max-body`` (``max_body``)."""

    limit = "max_body"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"request body larger than --max-body ({value} bytes); raise --max-body, or for "
            "S3 uploads let the proxy stream them (see --payload)",
            value=value,
        )


class KeyNotFound(KeyStoreError, LookupError):
    """No key with this access key id exists in the store."""


class KeyExists(KeyStoreError):
    """A key with this access key id is already in the store."""


class InvalidMasterKey(KeyStoreError):
    """The master key that encrypts secrets at rest is missing, malformed or not this store's."""


# Names used before the naming rule; kept so old code keeps importing them.
ChunkTooLargeError = ChunkTooLarge
TooManyChunksError = TooManyChunks
ChunkLineTooLongError = ChunkLineTooLong
CredentialsNotFoundError = CredentialsNotFound
ProfileFileError = MalformedProfileFile
MasterKeyError = InvalidMasterKey
PresignExpiryError = PresignOutlivesCredentials
PlanError = CannotResign
UnknownHostError = UnknownUpstreamHost
ProbeError = CannotProbe
