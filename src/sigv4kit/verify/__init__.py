"""The Verifier: check a received request's SigV4 or SigV4a signature.

One module per concept (docs/architecture.md maps them): :mod:`.flow` is
the general road, in order, :mod:`.fast` the fast road, :mod:`.verifier` the
settings and the entry points.

Verification walks the signer's road backwards: parse what arrived, rebuild
the canonical request from the received target *verbatim* with the
constructor the Signer uses (:func:`sigv4kit.canonical.canonical_request`),
sign it with the stored key and compare in constant time.

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

from ..errors import (
    AuthorizationHeaderTooLong,
    MissingAuthentication,
    QueryTooLong,
    RequestHeaderTooLong,
    TooManySignedHeaders,
    TooManySignedHeadersInQuery,
)
from ._common import (
    MAX_AUTH_LENGTH,
    MAX_HEADER_LENGTH,
    MAX_PRESIGN_EXPIRES,
    MAX_QUERY_LENGTH,
    MAX_SIGNED_HEADERS,
    CredentialLookup,
    Scope,
)
from .result import VerifiedRequest
from .verifier import Verifier

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
