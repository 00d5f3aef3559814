"""The str enums of :mod:`sigv4kit.modes`, built on first use: import them from
there.  They live here so that the signing path, which needs only the plain
constants, never imports :mod:`enum`; each member's value is one of those
constants, so each literal is written once.
"""

from __future__ import annotations

from enum import Enum

from .modes import (
    ALGORITHM_V4,
    ALGORITHM_V4A,
    AUTH_HEADER,
    AUTH_POST,
    AUTH_PRESIGNED,
    PAYLOAD_SIGNED,
    PAYLOAD_STREAMING,
    PAYLOAD_STREAMING_EVENTS,
    PAYLOAD_STREAMING_TRAILER,
    PAYLOAD_STREAMING_UNSIGNED_TRAILER,
    PAYLOAD_UNSIGNED,
    STREAMING_ECDSA_PAYLOAD,
    STREAMING_ECDSA_PAYLOAD_TRAILER,
    STREAMING_EVENTS_PAYLOAD,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    UNSIGNED_PAYLOAD,
)

__all__ = ["Algorithm", "AuthKind", "PayloadLiteral", "PayloadMode"]


class _Literal(str, Enum):
    """A str enum whose members behave as their literal everywhere."""

    __str__ = str.__str__
    __format__ = str.__format__  # type: ignore[assignment]  # same function, str typeshed
    # The literal, not ``<Algorithm.V4: ...>``: reprs of results (``VerifiedPost``,
    # ``Signer``) keep showing the value a caller passed and can paste back.
    __repr__ = str.__repr__


class Algorithm(_Literal):
    """The signing algorithm, by its wire name (``X-Amz-Algorithm``)."""

    V4 = ALGORITHM_V4
    V4A = ALGORITHM_V4A


class PayloadMode(_Literal):
    """How the body is paid for: the ``payload=`` option of the Signer.

    ``SIGNED`` hashes the body (the hash is the ``x-amz-content-sha256``
    value); a 64-hex precomputed hash is accepted wherever a mode is and
    means ``SIGNED`` with that hash.  The others have a wire literal
    (:data:`sigv4kit.modes.PAYLOAD_TABLE`).
    """

    SIGNED = PAYLOAD_SIGNED
    UNSIGNED = PAYLOAD_UNSIGNED
    STREAMING = PAYLOAD_STREAMING
    STREAMING_TRAILER = PAYLOAD_STREAMING_TRAILER
    STREAMING_UNSIGNED_TRAILER = PAYLOAD_STREAMING_UNSIGNED_TRAILER
    STREAMING_EVENTS = PAYLOAD_STREAMING_EVENTS


class PayloadLiteral(_Literal):
    """The ``x-amz-content-sha256`` values that are not a SHA-256."""

    UNSIGNED = UNSIGNED_PAYLOAD
    STREAMING = STREAMING_PAYLOAD
    STREAMING_TRAILER = STREAMING_PAYLOAD_TRAILER
    STREAMING_ECDSA = STREAMING_ECDSA_PAYLOAD
    STREAMING_ECDSA_TRAILER = STREAMING_ECDSA_PAYLOAD_TRAILER
    STREAMING_UNSIGNED_TRAILER = STREAMING_UNSIGNED_PAYLOAD_TRAILER
    EVENTS = STREAMING_EVENTS_PAYLOAD


class AuthKind(_Literal):
    """Where the signature travels."""

    HEADER = AUTH_HEADER
    PRESIGNED = AUTH_PRESIGNED
    POST = AUTH_POST


# Their public home is sigv4kit.modes (reprs, pickles, docs).
for _cls in (Algorithm, PayloadMode, PayloadLiteral, AuthKind):
    _cls.__module__ = "sigv4kit.modes"
del _cls
