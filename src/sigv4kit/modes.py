"""Typed modes: the algorithm, the payload mode and the auth kind.

One vocabulary, in two forms: plain ``str`` constants and lookups, which the
hot paths use (an enum member costs several percent of a signature in
f-strings and attribute lookups), and ``str``-valued enums over the same
constants (:class:`Algorithm`, :class:`PayloadMode`, :class:`PayloadLiteral`,
:class:`AuthKind`) for callers and type checkers.  A member *is* its literal
(equal, same hash, same text), so every public argument takes either.  The
enums load on first use (PEP 562): ``import enum`` and building them cost
about 5 ms at start-up, which the signing path never needs.

The wire literals of ``x-amz-content-sha256`` and the payload modes they stand
for live in ONE table, :data:`PAYLOAD_TABLE`, from which every lookup below is
derived; algorithm names are parsed in one place, :func:`parse_algorithm`.
"""

from __future__ import annotations

from .errors import SigningError

# typing only for the type checker; the enums load on first use (see above).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._enums import Algorithm, AuthKind, PayloadLiteral, PayloadMode

__all__ = [
    "ALGORITHM_V4",
    "ALGORITHM_V4A",
    "AUTH_HEADER",
    "AUTH_POST",
    "AUTH_PRESIGNED",
    "LITERAL_MODES",
    "MODE_LITERALS",
    "PAYLOAD_LITERALS",
    "PAYLOAD_MODES",
    "PAYLOAD_SIGNED",
    "PAYLOAD_STREAMING",
    "PAYLOAD_STREAMING_EVENTS",
    "PAYLOAD_STREAMING_TRAILER",
    "PAYLOAD_STREAMING_UNSIGNED_TRAILER",
    "PAYLOAD_TABLE",
    "PAYLOAD_UNSIGNED",
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

# The algorithms, by wire name (X-Amz-Algorithm).
ALGORITHM_V4 = "AWS4-HMAC-SHA256"
ALGORITHM_V4A = "AWS4-ECDSA-P256-SHA256"

# The payload modes: the Signer's ``payload=`` option.  "signed" hashes the
# body; a 64-hex precomputed hash is accepted wherever a mode is.
PAYLOAD_SIGNED = "signed"
PAYLOAD_UNSIGNED = "unsigned"
PAYLOAD_STREAMING = "streaming"
PAYLOAD_STREAMING_TRAILER = "streaming-trailer"
PAYLOAD_STREAMING_UNSIGNED_TRAILER = "streaming-unsigned-trailer"
PAYLOAD_STREAMING_EVENTS = "streaming-events"

# The x-amz-content-sha256 values that are not a SHA-256.
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_ECDSA_PAYLOAD = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_PAYLOAD_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_EVENTS_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-EVENTS"

# Where the signature travels.
AUTH_HEADER = "header"  # the Authorization header
AUTH_PRESIGNED = "presigned"  # the X-Amz-* query parameters (a presigned URL)
AUTH_POST = "post"  # the fields of a browser POST form

#: THE table: wire literal, payload mode, algorithm.  The algorithm is
#: ``None`` where both algorithms send the same literal (no chunk signature
#: to compute).  Event streams are SigV4 only.
PAYLOAD_TABLE: tuple[tuple[str, str, str | None], ...] = (
    (UNSIGNED_PAYLOAD, PAYLOAD_UNSIGNED, None),
    (STREAMING_PAYLOAD, PAYLOAD_STREAMING, ALGORITHM_V4),
    (STREAMING_PAYLOAD_TRAILER, PAYLOAD_STREAMING_TRAILER, ALGORITHM_V4),
    (STREAMING_ECDSA_PAYLOAD, PAYLOAD_STREAMING, ALGORITHM_V4A),
    (STREAMING_ECDSA_PAYLOAD_TRAILER, PAYLOAD_STREAMING_TRAILER, ALGORITHM_V4A),
    (STREAMING_UNSIGNED_PAYLOAD_TRAILER, PAYLOAD_STREAMING_UNSIGNED_TRAILER, None),
    (STREAMING_EVENTS_PAYLOAD, PAYLOAD_STREAMING_EVENTS, ALGORITHM_V4),
)

#: Every ``payload=`` mode name.
PAYLOAD_MODES: frozenset[str] = frozenset({PAYLOAD_SIGNED, *(mode for _, mode, _ in PAYLOAD_TABLE)})
#: The aws-chunked modes (each a body the streaming encoder frames).
STREAMING_MODES: frozenset[str] = frozenset(
    {PAYLOAD_STREAMING, PAYLOAD_STREAMING_TRAILER, PAYLOAD_STREAMING_UNSIGNED_TRAILER}
)
#: Every literal of the table.
PAYLOAD_LITERALS: frozenset[str] = frozenset(lit for lit, _, _ in PAYLOAD_TABLE)
#: literal -> (mode, algorithm or None), for every literal.
LITERAL_MODES: dict[str, tuple[str, str | None]] = {
    lit: (mode, alg) for lit, mode, alg in PAYLOAD_TABLE
}
#: The aws-chunked literals only -> (mode, algorithm or None).
STREAMING_LITERALS: dict[str, tuple[str, str | None]] = {
    lit: ma for lit, ma in LITERAL_MODES.items() if ma[0] in STREAMING_MODES
}
#: (mode, algorithm) -> literal; a literal both algorithms share has both keys.
MODE_LITERALS: dict[tuple[str, str], str] = {
    (mode, alg): lit
    for lit, mode, only in PAYLOAD_TABLE
    for alg in ((only,) if only else (ALGORITHM_V4, ALGORITHM_V4A))
}

_ALGORITHM_OF: dict[str, str] = {
    "sigv4": ALGORITHM_V4,
    "v4": ALGORITHM_V4,
    ALGORITHM_V4.lower(): ALGORITHM_V4,
    "sigv4a": ALGORITHM_V4A,
    "v4a": ALGORITHM_V4A,
    ALGORITHM_V4A.lower(): ALGORITHM_V4A,
}


def parse_algorithm(algorithm: str) -> str:
    """The wire name (:data:`ALGORITHM_V4` or :data:`ALGORITHM_V4A`) for any
    accepted spelling: ``sigv4``/``v4``/``sigv4a``/``v4a`` or the wire names,
    in any case."""
    got = _ALGORITHM_OF.get(algorithm.lower() if isinstance(algorithm, str) else "")
    if got is None:
        raise SigningError(
            f"algorithm must be 'sigv4' or 'sigv4a' ({ALGORITHM_V4!r} or "
            f"{ALGORITHM_V4A!r}), got {algorithm!r}"
        )
    return got


def payload_literal(mode: str, algorithm: str = ALGORITHM_V4) -> str:
    """The ``x-amz-content-sha256`` literal of a mode under an algorithm (any
    spelling :func:`parse_algorithm` accepts); a :class:`SigningError` for
    ``signed`` (its value is the body's hash), unknown modes and
    ``streaming-events`` under SigV4a."""
    got = MODE_LITERALS.get((mode, algorithm))
    if got is None:
        alg = parse_algorithm(algorithm)
        got = MODE_LITERALS.get((mode, alg))
        if got is None:
            raise SigningError(
                f"payload mode {mode!r} has no x-amz-content-sha256 literal under {alg}; "
                f"use one of {sorted({m for m, _ in MODE_LITERALS})}"
            )
    return got


def payload_mode(literal: str) -> tuple[str, str | None] | None:
    """``(mode, algorithm)`` of an ``x-amz-content-sha256`` literal, else
    ``None`` (a SHA-256, or not a literal).  The algorithm is ``None`` when
    both algorithms send that literal."""
    return LITERAL_MODES.get(literal)


_ENUMS = frozenset({"Algorithm", "AuthKind", "PayloadLiteral", "PayloadMode"})


def __getattr__(name: str) -> object:
    # PEP 562: the enums are built on first use (see the module docstring).
    if name in _ENUMS:
        from . import _enums

        return getattr(_enums, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
