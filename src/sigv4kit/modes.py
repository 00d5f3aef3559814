"""Typed modes: the algorithm, the payload mode and the auth kind.

Each is a ``str``-valued enum, so a member *is* its literal: it compares
equal to the string, hashes like it (a member and its literal find the same
dict entry), formats and prints as it (``f"{Algorithm.V4}"`` is
``AWS4-HMAC-SHA256``, also on Python 3.11+, whose mixed-in enums would print
``Algorithm.V4``) and goes into JSON as it.  Public arguments therefore keep
taking plain strings, and results that carry a mode stay plain-looking
strings.

The wire literals of ``x-amz-content-sha256`` and the payload modes they
stand for live in ONE table, :data:`PAYLOAD_TABLE`; every module (signer,
verifier, streaming, eventstream) asks the lookups derived from it
(:func:`payload_literal`, :func:`payload_mode`, :data:`STREAMING_LITERALS`...).
Algorithm names are parsed in one place, :func:`parse_algorithm`.

Speed: hot paths hold plain strings, not members.  On Python 3.11 an
f-string of a str subclass, ``member.value`` and ``Algorithm.V4`` (a
descriptor on the class) each cost about 0.3 us, several percent of a
signature.  So the literals are also plain module constants
(:data:`ALGORITHM_V4`...), and the lookups derived from the table are keyed
and valued by plain strings.  Members are for callers and for the table.
"""

from __future__ import annotations

from enum import Enum

from .errors import SigningError

__all__ = [
    "ALGORITHM_V4",
    "ALGORITHM_V4A",
    "LITERAL_MODES",
    "MODE_LITERALS",
    "PAYLOAD_LITERALS",
    "PAYLOAD_MODES",
    "PAYLOAD_TABLE",
    "STREAMING_ECDSA_PAYLOAD",
    "STREAMING_ECDSA_PAYLOAD_TRAILER",
    "STREAMING_EVENTS_PAYLOAD",
    "STREAMING_LITERALS",
    "STREAMING_MODES",
    "STREAMING_PAYLOAD",
    "STREAMING_PAYLOAD_TRAILER",
    "STREAMING_UNSIGNED_PAYLOAD_TRAILER",
    "UNSIGNED_PAYLOAD",
    "Algorithm",
    "AuthKind",
    "PayloadLiteral",
    "PayloadMode",
    "parse_algorithm",
    "payload_literal",
    "payload_mode",
]


# The literals, as plain ``str`` constants: what hot paths store and format.
# An f-string or ``.value`` on an enum member (any str subclass) costs about
# 0.3 us on Python 3.11, several percent of a signature; a plain str is free.
ALGORITHM_V4 = "AWS4-HMAC-SHA256"
ALGORITHM_V4A = "AWS4-ECDSA-P256-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_ECDSA_PAYLOAD = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_PAYLOAD_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_EVENTS_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-EVENTS"


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
    means ``SIGNED`` with that hash.  The others have a wire literal.
    """

    SIGNED = "signed"
    UNSIGNED = "unsigned"
    STREAMING = "streaming"
    STREAMING_TRAILER = "streaming-trailer"
    STREAMING_UNSIGNED_TRAILER = "streaming-unsigned-trailer"
    STREAMING_EVENTS = "streaming-events"


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

    HEADER = "header"  # the Authorization header
    PRESIGNED = "presigned"  # the X-Amz-* query parameters (a presigned URL)
    POST = "post"  # the fields of a browser POST form


#: THE table: wire literal, payload mode, algorithm.  The algorithm is
#: ``None`` where both algorithms send the same literal (no chunk signature
#: to compute).  Event streams are SigV4 only.
PAYLOAD_TABLE: tuple[tuple[PayloadLiteral, PayloadMode, Algorithm | None], ...] = (
    (PayloadLiteral.UNSIGNED, PayloadMode.UNSIGNED, None),
    (PayloadLiteral.STREAMING, PayloadMode.STREAMING, Algorithm.V4),
    (PayloadLiteral.STREAMING_TRAILER, PayloadMode.STREAMING_TRAILER, Algorithm.V4),
    (PayloadLiteral.STREAMING_ECDSA, PayloadMode.STREAMING, Algorithm.V4A),
    (PayloadLiteral.STREAMING_ECDSA_TRAILER, PayloadMode.STREAMING_TRAILER, Algorithm.V4A),
    (PayloadLiteral.STREAMING_UNSIGNED_TRAILER, PayloadMode.STREAMING_UNSIGNED_TRAILER, None),
    (PayloadLiteral.EVENTS, PayloadMode.STREAMING_EVENTS, Algorithm.V4),
)

# Everything below is derived from the table, keyed and valued by plain
# strings: exact-str dict keys take CPython's fast path, and the values can
# go into hot f-strings.  A member looks up the same entry as its literal.

#: Every ``payload=`` mode name.
PAYLOAD_MODES: frozenset[str] = frozenset(m.value for m in PayloadMode)
#: The aws-chunked modes (each a body the streaming encoder frames).
STREAMING_MODES: frozenset[str] = frozenset(
    m.value
    for m in (
        PayloadMode.STREAMING,
        PayloadMode.STREAMING_TRAILER,
        PayloadMode.STREAMING_UNSIGNED_TRAILER,
    )
)
#: Every literal of the table.
PAYLOAD_LITERALS: frozenset[str] = frozenset(lit.value for lit, _, _ in PAYLOAD_TABLE)
#: literal -> (mode, algorithm or None), for every literal.
LITERAL_MODES: dict[str, tuple[str, str | None]] = {
    lit.value: (mode.value, alg and alg.value) for lit, mode, alg in PAYLOAD_TABLE
}
#: The aws-chunked literals only -> (mode, algorithm or None).
STREAMING_LITERALS: dict[str, tuple[str, str | None]] = {
    lit: ma for lit, ma in LITERAL_MODES.items() if ma[0] in STREAMING_MODES
}
#: (mode, algorithm) -> literal; a literal both algorithms share has both keys.
MODE_LITERALS: dict[tuple[str, str], str] = {
    (mode, alg): lit
    for lit, (mode, only) in LITERAL_MODES.items()
    for alg in ((only,) if only else (ALGORITHM_V4, ALGORITHM_V4A))
}

_ALGORITHM_OF: dict[str, Algorithm] = {
    "sigv4": Algorithm.V4,
    "v4": Algorithm.V4,
    ALGORITHM_V4.lower(): Algorithm.V4,
    "sigv4a": Algorithm.V4A,
    "v4a": Algorithm.V4A,
    ALGORITHM_V4A.lower(): Algorithm.V4A,
}


def parse_algorithm(algorithm: str) -> Algorithm:
    """The algorithm for any accepted spelling: ``sigv4``/``v4``/``sigv4a``/
    ``v4a`` or the wire names, in any case.  The one parser of algorithm
    names (config, streaming, post policies and the verifier use it).

    Store ``.value`` (a plain str) where it is formatted per request."""
    got = _ALGORITHM_OF.get(algorithm.lower() if isinstance(algorithm, str) else "")
    if got is None:
        raise SigningError(
            f"algorithm must be 'sigv4' or 'sigv4a' ({ALGORITHM_V4!r} or "
            f"{ALGORITHM_V4A!r}), got {algorithm!r}"
        )
    return got


def payload_literal(mode: str, algorithm: str = ALGORITHM_V4) -> str:
    """The ``x-amz-content-sha256`` literal of a mode under an algorithm
    (any spelling :func:`parse_algorithm` accepts).

    Raises :class:`SigningError` for ``signed`` (its value is the body's
    hash, not a literal), for unknown modes and for ``streaming-events``
    under SigV4a.
    """
    got = MODE_LITERALS.get((mode, algorithm))
    if got is None:
        got = MODE_LITERALS.get((mode, parse_algorithm(algorithm).value))
        if got is None:
            raise SigningError(
                f"payload mode {mode!r} has no x-amz-content-sha256 literal under "
                f"{parse_algorithm(algorithm).value}; use one of "
                f"{sorted({m for m, _ in MODE_LITERALS})}"
            )
    return got


def payload_mode(literal: str) -> tuple[str, str | None] | None:
    """``(mode, algorithm)`` of an ``x-amz-content-sha256`` literal, else
    ``None`` (a SHA-256, or not a literal).  The algorithm is ``None`` when
    both algorithms send that literal."""
    return LITERAL_MODES.get(literal)
