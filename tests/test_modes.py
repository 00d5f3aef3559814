"""sigv4kit.modes, from tables: the str enums behave as their literals, the
one literal <-> mode table, and the one algorithm parser."""

from __future__ import annotations

import json
import pickle

import pytest

from sigv4kit import modes
from sigv4kit.errors import SigningError
from sigv4kit.modes import (
    ALGORITHM_V4,
    ALGORITHM_V4A,
    Algorithm,
    AuthKind,
    PayloadLiteral,
    PayloadMode,
    parse_algorithm,
    payload_literal,
    payload_mode,
)

# Every member of every enum, with its literal.
MEMBERS = [
    (Algorithm.V4, "AWS4-HMAC-SHA256"),
    (Algorithm.V4A, "AWS4-ECDSA-P256-SHA256"),
    (PayloadMode.SIGNED, "signed"),
    (PayloadMode.UNSIGNED, "unsigned"),
    (PayloadMode.STREAMING, "streaming"),
    (PayloadMode.STREAMING_TRAILER, "streaming-trailer"),
    (PayloadMode.STREAMING_UNSIGNED_TRAILER, "streaming-unsigned-trailer"),
    (PayloadMode.STREAMING_EVENTS, "streaming-events"),
    (PayloadLiteral.UNSIGNED, "UNSIGNED-PAYLOAD"),
    (PayloadLiteral.STREAMING, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
    (PayloadLiteral.STREAMING_TRAILER, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
    (PayloadLiteral.STREAMING_ECDSA, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"),
    (PayloadLiteral.STREAMING_ECDSA_TRAILER, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"),
    (PayloadLiteral.STREAMING_UNSIGNED_TRAILER, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
    (PayloadLiteral.EVENTS, "STREAMING-AWS4-HMAC-SHA256-EVENTS"),
    (AuthKind.HEADER, "header"),
    (AuthKind.PRESIGNED, "presigned"),
    (AuthKind.POST, "post"),
]


@pytest.mark.parametrize(("member", "literal"), MEMBERS)
def test_a_member_behaves_as_its_literal(member: str, literal: str) -> None:
    assert member == literal and literal == member
    assert isinstance(member, str)
    assert hash(member) == hash(literal)
    assert {literal: 1}[member] == 1 and {member: 1}[literal] == 1
    assert str(member) == literal
    assert f"{member}" == literal and f"<{member:>3}>" == f"<{literal:>3}>"
    assert repr(member) == repr(literal)
    assert json.dumps({"v": member}) == json.dumps({"v": literal})
    assert member + "!" == literal + "!"
    assert pickle.loads(pickle.dumps(member)) is member
    assert type(member)(literal) is member


def test_every_member_is_in_the_table_above() -> None:
    listed = {(type(m), m) for m, _ in MEMBERS}
    every = {(cls, m) for cls in (Algorithm, PayloadMode, PayloadLiteral, AuthKind) for m in cls}
    assert listed == every


def test_the_plain_constants_are_plain_str_and_equal_the_members() -> None:
    # Hot paths hold these: an f-string of an exact str costs nothing.
    plain = [
        (modes.PAYLOAD_SIGNED, PayloadMode.SIGNED),
        (modes.PAYLOAD_UNSIGNED, PayloadMode.UNSIGNED),
        (modes.PAYLOAD_STREAMING, PayloadMode.STREAMING),
        (modes.PAYLOAD_STREAMING_TRAILER, PayloadMode.STREAMING_TRAILER),
        (modes.PAYLOAD_STREAMING_UNSIGNED_TRAILER, PayloadMode.STREAMING_UNSIGNED_TRAILER),
        (modes.PAYLOAD_STREAMING_EVENTS, PayloadMode.STREAMING_EVENTS),
        (modes.AUTH_HEADER, AuthKind.HEADER),
        (modes.AUTH_PRESIGNED, AuthKind.PRESIGNED),
        (modes.AUTH_POST, AuthKind.POST),
        (modes.ALGORITHM_V4, Algorithm.V4),
        (modes.ALGORITHM_V4A, Algorithm.V4A),
        (modes.UNSIGNED_PAYLOAD, PayloadLiteral.UNSIGNED),
        (modes.STREAMING_PAYLOAD, PayloadLiteral.STREAMING),
        (modes.STREAMING_PAYLOAD_TRAILER, PayloadLiteral.STREAMING_TRAILER),
        (modes.STREAMING_ECDSA_PAYLOAD, PayloadLiteral.STREAMING_ECDSA),
        (modes.STREAMING_ECDSA_PAYLOAD_TRAILER, PayloadLiteral.STREAMING_ECDSA_TRAILER),
        (modes.STREAMING_UNSIGNED_PAYLOAD_TRAILER, PayloadLiteral.STREAMING_UNSIGNED_TRAILER),
        (modes.STREAMING_EVENTS_PAYLOAD, PayloadLiteral.EVENTS),
    ]
    for value, member in plain:
        assert type(value) is str and value == member


# (literal, mode, algorithm it belongs to or None = both)
TABLE = [
    ("UNSIGNED-PAYLOAD", "unsigned", None),
    ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "streaming", ALGORITHM_V4),
    ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "streaming-trailer", ALGORITHM_V4),
    ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "streaming", ALGORITHM_V4A),
    ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER", "streaming-trailer", ALGORITHM_V4A),
    ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "streaming-unsigned-trailer", None),
    ("STREAMING-AWS4-HMAC-SHA256-EVENTS", "streaming-events", ALGORITHM_V4),
]


@pytest.mark.parametrize(("literal", "mode", "algorithm"), TABLE)
def test_literal_to_mode(literal: str, mode: str, algorithm: str | None) -> None:
    assert payload_mode(literal) == (mode, algorithm)
    got = payload_mode(literal)
    assert got is not None and all(type(v) is str for v in got if v is not None)
    is_chunked = mode in ("streaming", "streaming-trailer", "streaming-unsigned-trailer")
    assert (literal in modes.STREAMING_LITERALS) is is_chunked
    assert literal in modes.PAYLOAD_LITERALS


@pytest.mark.parametrize(("literal", "mode", "algorithm"), TABLE)
def test_mode_to_literal(literal: str, mode: str, algorithm: str | None) -> None:
    for alg in (ALGORITHM_V4, ALGORITHM_V4A):
        if algorithm in (None, alg):
            assert payload_literal(mode, alg) == literal
            assert type(payload_literal(mode, alg)) is str
    # any spelling of the algorithm
    spelling = "sigv4a" if algorithm == ALGORITHM_V4A else "SigV4"
    assert payload_literal(PayloadMode(mode), spelling) == literal


def test_the_table_is_the_whole_table() -> None:
    assert sorted(modes.LITERAL_MODES) == sorted(lit for lit, _, _ in TABLE)
    assert list(modes.PAYLOAD_TABLE) == TABLE
    assert all(type(v) is str for row in modes.PAYLOAD_TABLE for v in row if v is not None)


@pytest.mark.parametrize(
    ("literal"),
    ["", "unsigned-payload", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD ", "e3b0c442" * 8, "signed"],
)
def test_not_a_literal(literal: str) -> None:
    assert payload_mode(literal) is None
    assert literal not in modes.STREAMING_LITERALS


# (mode, algorithm) -> error fragment
NO_LITERAL = [
    ("signed", "sigv4", "has no x-amz-content-sha256 literal"),
    ("streaming-events", "sigv4a", "has no x-amz-content-sha256 literal"),
    ("chunked", "sigv4", "has no x-amz-content-sha256 literal"),
    ("streaming", "sigv2", "algorithm must be 'sigv4' or 'sigv4a'"),
]


@pytest.mark.parametrize(("mode", "algorithm", "message"), NO_LITERAL)
def test_modes_without_a_literal(mode: str, algorithm: str, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        payload_literal(mode, algorithm)


# (spelling, algorithm)
SPELLINGS = [
    ("sigv4", ALGORITHM_V4),
    ("SigV4", ALGORITHM_V4),
    ("v4", ALGORITHM_V4),
    ("AWS4-HMAC-SHA256", ALGORITHM_V4),
    ("aws4-hmac-sha256", ALGORITHM_V4),
    (Algorithm.V4, ALGORITHM_V4),
    ("sigv4a", ALGORITHM_V4A),
    ("V4A", ALGORITHM_V4A),
    ("AWS4-ECDSA-P256-SHA256", ALGORITHM_V4A),
    (Algorithm.V4A, ALGORITHM_V4A),
]


@pytest.mark.parametrize(("spelling", "algorithm"), SPELLINGS)
def test_parse_algorithm(spelling: str, algorithm: str) -> None:
    got = parse_algorithm(spelling)
    assert got == algorithm and type(got) is str  # plain: formatted on every signature
    assert Algorithm(got) == got


@pytest.mark.parametrize("bad", ["", "sigv2", "AWS4-HMAC-SHA1", "sigv4 ", None, 4, b"sigv4"])
def test_parse_algorithm_refuses(bad: object) -> None:
    with pytest.raises(SigningError, match=r"algorithm must be 'sigv4' or 'sigv4a'.*got"):
        parse_algorithm(bad)  # type: ignore[arg-type]


def test_the_enums_are_sigv4kit_modes_and_load_on_first_use() -> None:
    """The signing path never imports enum (issue 17's start-up budget); the
    enums load when a caller asks sigv4kit.modes for one."""
    import subprocess
    import sys

    code = (
        "import sys, sigv4kit\n"
        "s = sigv4kit.Signer(sigv4kit.Credentials('AK', 'SK'), 'us-east-1', 's3')\n"
        "s.sign('PUT', 'https://b.s3.amazonaws.com/k', body=b'x', payload='unsigned')\n"
        "s.presign('GET', 'https://b.s3.amazonaws.com/k', expires=60)\n"
        "before = 'enum' in sys.modules\n"
        "from sigv4kit.modes import Algorithm\n"
        "print(before, 'enum' in sys.modules, Algorithm.V4A == 'AWS4-ECDSA-P256-SHA256')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
    for cls in (Algorithm, PayloadMode, PayloadLiteral, AuthKind):
        assert cls.__module__ == "sigv4kit.modes"
        assert getattr(modes, cls.__name__) is cls
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        modes.Nope  # noqa: B018


def test_payload_modes_and_streaming_modes() -> None:
    assert modes.PAYLOAD_MODES == {m.value for m in PayloadMode}
    assert modes.STREAMING_MODES == {"streaming", "streaming-trailer", "streaming-unsigned-trailer"}
    assert modes.STREAMING_MODES < modes.PAYLOAD_MODES
    # plain strings find members' entries and members find plain strings'
    assert PayloadMode.STREAMING in modes.STREAMING_MODES
    assert "streaming" in modes.STREAMING_MODES
