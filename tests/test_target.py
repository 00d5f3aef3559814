"""sigv4kit.target from tables: a URL's wire and canonical forms, and a target taken verbatim."""

from __future__ import annotations

import pytest

from sigv4kit import SigningError
from sigv4kit.config import SigningConfig
from sigv4kit.target import url_target, verbatim_target

S3 = SigningConfig.for_service("us-east-1", "s3")
API = SigningConfig.for_service("us-east-1", "execute-api")

# (config, url, (origin, host, wire path, wire query, canonical uri, canonical query))
URLS = [
    (
        S3,
        "https://b.s3.amazonaws.com/k",
        ("https://b.s3.amazonaws.com", "b.s3.amazonaws.com", "/k", "", "/k", ""),
    ),
    (S3, "https://h/k?b=2&a=1", ("https://h", "h", "/k", "b=2&a=1", "/k", "a=1&b=2")),
    (S3, "https://h", ("https://h", "h", "/", "", "/", "")),
    (S3, "https://H:443/a b", ("https://h:443", "h", "/a%20b", "", "/a%20b", "")),
    (S3, "http://h:8080/a+b", ("http://h:8080", "h:8080", "/a%2Bb", "", "/a%2Bb", "")),
    (
        API,
        "https://h/a//b/../c?x=a b",
        ("https://h", "h", "/a//b/../c", "x=a%20b", "/a/c", "x=a%20b"),
    ),
    (API, "https://h/a%20b", ("https://h", "h", "/a%20b", "", "/a%2520b", "")),
]


@pytest.mark.parametrize(("config", "url", "forms"), URLS)
def test_url_target(config: SigningConfig, url: str, forms: tuple[str, ...]) -> None:
    u = url_target(url, config)
    assert (u.origin, u.host, u.path, u.query, u.curi, u.cquery) == forms
    assert u.url == (f"{forms[0]}{forms[2]}?{forms[3]}" if forms[3] else f"{forms[0]}{forms[2]}")


def test_verbatim_target_keeps_raw_bytes_and_takes_the_host_header() -> None:
    u = verbatim_target(
        "/example space/?ሴ=bar", [("Host", " example.amazonaws.com ")], "https", API
    )
    assert (u.origin, u.host, u.path, u.query) == (
        "https://example.amazonaws.com",
        "example.amazonaws.com",
        "/example space/",
        "ሴ=bar",
    )
    assert (u.curi, u.cquery) == ("/example%20space/", "%E1%88%B4=bar")


def test_verbatim_target_needs_a_host() -> None:
    with pytest.raises(SigningError, match="Host header"):
        verbatim_target("/", [("X-A", "1")], "https", S3)
