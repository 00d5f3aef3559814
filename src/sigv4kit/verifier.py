"""The Verifier's public import path; the implementation is :mod:`sigv4kit.verify`."""

from __future__ import annotations

from .verify import (
    MAX_AUTH_LENGTH,
    MAX_HEADER_LENGTH,
    MAX_PRESIGN_EXPIRES,
    MAX_QUERY_LENGTH,
    MAX_SIGNED_HEADERS,
    AuthorizationHeaderTooLong,
    CredentialLookup,
    MissingAuthentication,
    QueryTooLong,
    RequestHeaderTooLong,
    Scope,
    TooManySignedHeaders,
    TooManySignedHeadersInQuery,
    VerifiedRequest,
    Verifier,
)

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
