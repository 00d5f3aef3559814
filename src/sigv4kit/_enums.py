"""The str enums of :mod:`sigv4kit.modes`, built on first use: import them from
there.  They live here so that the signing path, which needs only the plain
constants, never imports :mod:`enum`; each member's value is one of those
constants, so each literal is written once.
"""

from __future__ import annotations

from enum import Enum

from . import modes as _m

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

    V4 = _m.ALGORITHM_V4
    V4A = _m.ALGORITHM_V4A


class PayloadMode(_Literal):
    """How the body is paid for: the ``payload=`` option of the Signer.

    ``SIGNED`` hashes the body (the hash is the ``x-amz-content-sha256``
    value); a 64-hex precomputed hash is accepted wherever a mode is and
    means ``SIGNED`` with that hash.  The others have a wire literal
    (:data:`sigv4kit.modes.PAYLOAD_TABLE`).
    """

    SIGNED = _m.PAYLOAD_SIGNED
    UNSIGNED = _m.PAYLOAD_UNSIGNED
    STREAMING = _m.PAYLOAD_STREAMING
    STREAMING_TRAILER = _m.PAYLOAD_STREAMING_TRAILER
    STREAMING_UNSIGNED_TRAILER = _m.PAYLOAD_STREAMING_UNSIGNED_TRAILER
    STREAMING_EVENTS = _m.PAYLOAD_STREAMING_EVENTS


class PayloadLiteral(_Literal):
    """The ``x-amz-content-sha256`` values that are not a SHA-256."""

    UNSIGNED = _m.UNSIGNED_PAYLOAD
    STREAMING = _m.STREAMING_PAYLOAD
    STREAMING_TRAILER = _m.STREAMING_PAYLOAD_TRAILER
    STREAMING_ECDSA = _m.STREAMING_ECDSA_PAYLOAD
    STREAMING_ECDSA_TRAILER = _m.STREAMING_ECDSA_PAYLOAD_TRAILER
    STREAMING_UNSIGNED_TRAILER = _m.STREAMING_UNSIGNED_PAYLOAD_TRAILER
    EVENTS = _m.STREAMING_EVENTS_PAYLOAD


class AuthKind(_Literal):
    """Where the signature travels."""

    HEADER = _m.AUTH_HEADER
    PRESIGNED = _m.AUTH_PRESIGNED
    POST = _m.AUTH_POST


# Their public home is sigv4kit.modes (reprs, pickles, docs).
for _cls in (Algorithm, PayloadMode, PayloadLiteral, AuthKind):
    _cls.__module__ = "sigv4kit.modes"
del _cls
