"""Answers: every :class:`~sigv4kit.errors.SignatureError`, each a cause a
server answers with one S3 error code and HTTP status, by part of the
request: the signature and its parameters, the limits guarding them,
aws-chunked bodies, browser POST uploads, event streams, and what the
verifying gateway answers (replays, rate limits, an unreachable upstream or
key store, a slow client).  See :mod:`sigv4kit.errors`."""

from __future__ import annotations

from ._base import KeyStoreError, LimitExceeded, SignatureError


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
    """The request carries no signature at all (anonymous).

    A subclass of :class:`AccessDenied` (what S3 answers), so that a server
    that allows anonymous requests can catch exactly this case.
    """

    default_message = (
        "Access Denied: the request is not signed (no Authorization header, no "
        "X-Amz-Signature query parameter and no POST policy form)"
    )


class AuthorizationHeaderTooLong(AuthorizationHeaderMalformed, LimitExceeded):
    """The ``Authorization`` header is longer than ``max_auth_length``."""

    limit = "max_auth_length"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"The authorization header is malformed; it is longer than {value} characters "
            "(max_auth_length)."
        )
        self.value = value


class QueryTooLong(AuthorizationQueryParametersError, LimitExceeded):
    """A presigned request's query string is longer than ``max_query_length``."""

    limit = "max_query_length"

    def __init__(self, value: int) -> None:
        super().__init__(f"The query string is longer than {value} characters (max_query_length).")
        self.value = value


class TooManySignedHeaders(AuthorizationHeaderMalformed, LimitExceeded):
    """``SignedHeaders`` names more than ``max_signed_headers`` headers."""

    limit = "max_signed_headers"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"The authorization header is malformed; SignedHeaders names more than {value} "
            "headers (max_signed_headers)."
        )
        self.value = value


class TooManySignedHeadersInQuery(AuthorizationQueryParametersError, LimitExceeded):
    """``X-Amz-SignedHeaders`` names more than ``max_signed_headers`` headers."""

    limit = "max_signed_headers"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"X-Amz-SignedHeaders names more than {value} headers (max_signed_headers)."
        )
        self.value = value


class RequestHeaderTooLong(SignatureError, LimitExceeded):
    """One header (name and value) is longer than ``max_header_length``.

    S3's code for an oversized header section.  Checked first, before any
    header is parsed.
    """

    code = "RequestHeaderSectionTooLarge"
    status = 400
    default_message = "Your request header section exceeds the maximum allowed size."
    limit = "max_header_length"

    def __init__(self, value: int, name: str) -> None:
        super().__init__(
            f"Your request header section exceeds the maximum allowed size: header "
            f"{name[:40]!r} is longer than {value} characters (max_header_length)."
        )
        self.value = value


class MissingContentLength(SignatureError):
    """A body of unknown length reached a server that cannot delimit it.

    Only the WSGI adapter raises it: a chunked request whose server does not
    set ``wsgi.input_terminated`` has no way to find the body's end.
    """

    code = "MissingContentLength"
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


# --------------------------------------------------------------------------
# aws-chunked bodies
# --------------------------------------------------------------------------
class InvalidChunkSizeError(SignatureError):
    """A chunk is larger than allowed, or a chunk other than the last is < 8 KiB."""

    code = "InvalidChunkSizeError"
    status = 403
    default_message = "Only the last chunk is allowed to have a size less than 8192 bytes"


class ChunkTooLarge(InvalidChunkSizeError, LimitExceeded):
    """A chunk declares more data than ``max_chunk_size`` allows.

    Raised from the chunk header, before any of the chunk's data is read or
    buffered.
    """

    default_message = "The chunk is larger than this server accepts"
    limit = "max_chunk_size"

    def __init__(self, message: str | None = None, *, value: int) -> None:
        super().__init__(message)
        self.value = value


class TooManyChunks(InvalidChunkSizeError, LimitExceeded):
    """The body has more chunks than ``max_chunks`` allows."""

    default_message = "The aws-chunked body has more chunks than allowed"
    limit = "max_chunks"

    def __init__(self, message: str | None = None, *, value: int) -> None:
        super().__init__(message)
        self.value = value


class ChunkLineTooLong(IncompleteBody, LimitExceeded):
    """A chunk header or trailer line is longer than ``max_line_length``.

    Raised as soon as the line outgrows the limit, without waiting for its
    end: a client that never sends a line break cannot make the decoder
    buffer more than ``max_line_length`` bytes.
    """

    default_message = "A line of the aws-chunked framing is too long"
    limit = "max_line_length"

    def __init__(self, message: str | None = None, *, value: int) -> None:
        super().__init__(message)
        self.value = value


class MalformedTrailerError(SignatureError):
    """The trailer section does not match ``X-Amz-Trailer`` or is not well formed."""

    code = "MalformedTrailerError"
    status = 400
    default_message = (
        "The request contained trailing data that was not well-formed or did not conform "
        "to our published schema."
    )


# --------------------------------------------------------------------------
# Browser POST uploads
# --------------------------------------------------------------------------
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


class MaxPostPreDataLengthExceeded(MalformedPOSTRequest, LimitExceeded):
    """The fields before the file are too large, or too many (S3's code).

    A :class:`MalformedPOSTRequest` with S3's own code for this cause.
    ``limit`` names the option that was exceeded (``max_fields_bytes`` or
    ``max_parts``) and ``value`` its setting.
    """

    code = "MaxPostPreDataLengthExceeded"
    status = 400
    default_message = "Your POST request fields preceding the upload file were too large."

    def __init__(self, message: str | None = None, *, limit: str, value: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class MultipartHeaderTooLong(MalformedPOSTRequest, LimitExceeded):
    """One part's header block is longer than ``max_header_bytes``."""

    limit = "max_header_bytes"

    def __init__(self, message: str | None = None, *, value: int) -> None:
        super().__init__(message)
        self.value = value


class PolicyTooLarge(InvalidPolicyDocument, LimitExceeded):
    """The Base64 policy is longer than ``max_policy_bytes``."""

    limit = "max_policy_bytes"

    def __init__(self, message: str | None = None, *, value: int) -> None:
        super().__init__(message)
        self.value = value


# --------------------------------------------------------------------------
# Event streams
# --------------------------------------------------------------------------
class EventStreamError(SignatureError):
    """A received event stream was rejected; catch this for every cause.

    Each concrete subclass also derives from the S3-coded error of its
    cause, so a server's generic ``except SignatureError`` turns it into
    the right status and ``<Error>`` document.
    """


class MalformedEventStream(EventStreamError, InvalidArgument):
    """A frame is not a valid event-stream message (lengths, CRC, header
    encoding), or a signed envelope is not shaped as AWS defines it.  The
    peer sent bytes that cannot be trusted further."""

    default_message = "The event stream message is malformed."


class EventMessageTooLarge(MalformedEventStream, LimitExceeded):
    """A frame declares more bytes (``max_message_size``) or more header bytes
    (``max_headers_size``) than the decoder accepts; raised from the prelude,
    before the frame is buffered."""

    def __init__(self, message: str, *, limit: str, value: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


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


# --------------------------------------------------------------------------
# Answers of the verifying gateway (sigv4kit gateway): not the client's
# signature, but what a gateway answers for it (replays, rate limits, a key
# store or replay cache that cannot be reached).  They are SignatureErrors so
# a server that renders ``exc.status`` and ``exc.to_xml()`` answers correctly.
# --------------------------------------------------------------------------
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

    Never a 403: an outage must not look like a refusal, which clients do
    not retry.
    """

    code = "ServiceUnavailable"
    status = 503
    default_message = "The service is unable to handle the request now; retry shortly."


class UpstreamUnavailable(SignatureError):
    """The gateway's 502: the upstream refused, reset or closed the connection.

    Not an S3 code (S3 has no upstream); ``BadGateway`` names the HTTP
    status, and SDKs retry 502 by status whatever the code.
    """

    code = "BadGateway"
    status = 502
    default_message = "The upstream cannot be reached; retry shortly."


class UpstreamTimeout(SignatureError):
    """The gateway's 504: the upstream accepted the request but stayed silent."""

    code = "GatewayTimeout"
    status = 504
    default_message = "The upstream did not answer in time; retry shortly."


class StoreUnavailable(ServiceUnavailable, KeyStoreError):
    """The key store cannot be reached (a gateway answers 503, not 403).

    Raised for keys the per-node cache does not hold (or holds past their
    TTL) while the store is down; cached keys keep working until their TTL.
    """

    default_message = "Service is unable to handle request: the key store cannot be reached"


class RequestTimeout(SignatureError):
    """The client was too slow sending its request (S3's code and message)."""

    code = "RequestTimeout"
    status = 400
    default_message = (
        "Your socket connection to the server was not read from or written to within "
        "the timeout period. Idle connections will be closed."
    )
