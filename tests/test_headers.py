"""sigv4kit.headers from tables: which headers a signature sends and which it signs."""

from __future__ import annotations

import pytest

from sigv4kit import SigningError
from sigv4kit.canonical import lowered_pairs
from sigv4kit.config import SigningConfig
from sigv4kit.headers import assemble, controlled, included, presign_headers
from sigv4kit.signed import HeaderList

V4 = SigningConfig.for_service("us-east-1", "s3")
V4A = SigningConfig.for_service("us-east-1", "s3", algorithm="sigv4a")
SKIP = frozenset({"user-agent"})

# (headers given, token?, sent, signed, has_host, caller's X-Amz-Content-SHA256)
ASSEMBLE = [
    (
        [("Range", "bytes=0-9")],
        False,
        [("Range", "bytes=0-9")],
        [("range", "bytes=0-9")],
        False,
        None,
    ),
    (
        [("Host", "h"), ("User-Agent", "ua"), ("X-Amz-Date", "old")],
        False,
        [("Host", "h"), ("User-Agent", "ua")],
        [("host", "h")],
        True,
        None,
    ),
    (
        [("x-amz-content-sha256", " UNSIGNED-PAYLOAD "), ("Authorization", "x")],
        False,
        [],
        [],
        False,
        "UNSIGNED-PAYLOAD",
    ),
    # A session token the caller set is replaced only when the signer has one.
    (
        [("X-Amz-Security-Token", "t")],
        False,
        [("X-Amz-Security-Token", "t")],
        [("x-amz-security-token", "t")],
        False,
        None,
    ),
    ([("X-Amz-Security-Token", "t")], True, [], [], False, None),
]


@pytest.mark.parametrize(("given", "token", "sent", "signed", "has_host", "sha"), ASSEMBLE)
def test_assemble(
    given: list[tuple[str, str]],
    token: bool,
    sent: list[tuple[str, str]],
    signed: list[tuple[str, str]],
    has_host: bool,
    sha: str | None,
) -> None:
    out: list[tuple[str, str]] = []
    items: list[tuple[str, str]] = []
    got = assemble(lowered_pairs(given), controlled(V4)[token], SKIP, out, items)
    assert (out, items, got) == (sent, signed, (has_host, sha))


def test_controlled_sets() -> None:
    plain, with_token = controlled(V4)
    assert plain == {"authorization", "x-amz-date", "x-amz-content-sha256"}
    assert with_token == plain | {"x-amz-security-token"}
    assert "x-amz-region-set" in controlled(V4A)[0]


# (signed_headers, token, send_sha, v4a, included)
INCLUDED = [
    (["range"], None, False, False, {"range", "host", "x-amz-date"}),
    (
        ["range"],
        "t",
        True,
        False,
        {"range", "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"},
    ),
    (["range"], None, False, True, {"range", "host", "x-amz-date", "x-amz-region-set"}),
]


@pytest.mark.parametrize(("names", "token", "send_sha", "v4a", "expected"), INCLUDED)
def test_included(
    names: list[str], token: str | None, send_sha: bool, v4a: bool, expected: set[str]
) -> None:
    c = SigningConfig.for_service(
        "us-east-1", "s3", algorithm="sigv4a" if v4a else "sigv4", signed_headers=names
    )
    assert included(c, [("range", "x"), ("host", "h")], token, send_sha) == expected


def test_included_names_a_missing_header() -> None:
    c = SigningConfig.for_service("us-east-1", "s3", signed_headers=["x-missing"])
    with pytest.raises(SigningError, match="x-missing"):
        included(c, [("host", "h")], None, False)


def test_presign_headers_sign_host_and_the_given_headers() -> None:
    out = HeaderList()
    items, names = presign_headers(V4, "h", [("X-Amz-Meta-A", "1"), ("X-Amz-Date", "x")], out)
    assert out == [("Host", "h"), ("X-Amz-Meta-A", "1")]
    assert sorted(items) == [("host", "h"), ("x-amz-meta-a", "1")]
    assert names == "host;x-amz-meta-a"
