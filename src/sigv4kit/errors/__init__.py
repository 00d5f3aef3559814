"""One exception hierarchy for the whole package: every exception class lives here.

Three families, after h11's LocalProtocolError / RemoteProtocolError split:

* :class:`SigningError` -- *our caller* gave us something we cannot sign
  (a header name with a space, a naive timestamp, an expiry of ten days).
  It is also a :class:`ValueError`, so generic ``except ValueError`` code keeps
  working.  :class:`CredentialsError` and :class:`RawRequestError` are the
  caller-side errors of credential loading and of reading a raw HTTP request.
* :class:`SignatureError` -- *a remote party* sent a request that does not
  verify.  Each subclass is one cause and carries the S3 error ``code`` and HTTP
  ``status`` a server should answer with, plus the evidence (canonical request,
  string to sign) that lets the client see what the server computed.
* :class:`LimitExceeded` -- a size or count limit of sigv4kit was exceeded.  It
  is a second base, mixed into the family error of the place the limit guards,
  so ``except LimitExceeded`` catches every limit error and the error still
  carries its S3 code.  ``limit`` names the option, ``value`` its setting.

Naming rule: a class answering with one of S3's error codes is named after
that code (S3's own names sometimes end in ``Error``: ``InvalidChunkSizeError``,
``AuthorizationQueryParametersError``).  Every other class names its cause
(``ChunkTooLarge``, ``MissingAuthentication``) and ends in ``Error`` only when it
is the base of a family (``SigV4Error``, ``SigningError``, ``SignatureError``,
``CredentialsError``, ``RawRequestError``, ``EventStreamError``,
``KeyStoreError``).  Names used before this rule stay importable as aliases
(``ChunkTooLargeError``, ``MasterKeyError``...).

Layout: the classes are written in three private modules -- ``_base`` (the
family bases), ``_local`` (errors raised to the calling code: the caller's
input, credentials, the forwarding engine, proxy and key store) and
``_answers`` (every :class:`SignatureError`: causes a server answers with an
S3 code and status) -- and every one is imported here and named
``sigv4kit.errors.<Name>`` (its ``__module__``), so tracebacks, pickles and
``from sigv4kit.errors import X`` never depend on that split.

Modules that raise these errors re-export them: old import paths keep working.

No message built here contains a secret or derived key: errors are logged,
printed and sent over the wire, so they carry public values only.
"""

from __future__ import annotations

from ._answers import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationHeaderTooLong,
    AuthorizationQueryParametersError,
    BadDigest,
    ChunkLineTooLong,
    ChunkTooLarge,
    EntityTooLarge,
    EntityTooSmall,
    EventMessageTooLarge,
    EventSignatureDoesNotMatch,
    EventStreamError,
    EventTimeTooSkewed,
    ExpiredToken,
    IncompleteBody,
    IncompleteEventStream,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidChunkSizeError,
    InvalidPolicyDocument,
    InvalidRequest,
    InvalidToken,
    MalformedEventStream,
    MalformedPOSTRequest,
    MalformedTrailerError,
    MaxPostPreDataLengthExceeded,
    MissingAuthentication,
    MissingContentLength,
    MultipartHeaderTooLong,
    PolicyTooLarge,
    QueryTooLong,
    ReplayDetected,
    RequestHeaderTooLong,
    RequestTimeout,
    RequestTimeTooSkewed,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SlowDown,
    StoreUnavailable,
    TooManyChunks,
    TooManySignedHeaders,
    TooManySignedHeadersInQuery,
    UpstreamTimeout,
    UpstreamUnavailable,
    XAmzContentSHA256Mismatch,
)
from ._base import (
    CredentialsError,
    KeyStoreError,
    LimitExceeded,
    RawRequestError,
    SignatureError,
    SigningError,
    SigV4Error,
)
from ._local import (
    BodyTooLarge,
    CannotProbe,
    CannotResign,
    ClientDisconnected,
    CredentialsNotFound,
    InvalidFormField,
    InvalidMasterKey,
    KeyExists,
    KeyNotFound,
    MalformedProfileFile,
    PresignOutlivesCredentials,
    RawRequestTooLarge,
    RedirectNotFollowed,
    UnknownUpstreamHost,
    UpstreamFailed,
)

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

# One public home: ``sigv4kit.errors.X`` in tracebacks and pickles, whichever
# private module the class is written in.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
