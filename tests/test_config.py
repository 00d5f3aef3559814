"""sigv4kit.config, from tables: the one service table, the options a
SigningConfig resolves, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from sigv4kit.config import (
    ALGORITHM_V4,
    ALGORITHM_V4A,
    DEFAULT_SKIPPED_HEADERS,
    PAYLOAD_MODES,
    SERVICE_DEFAULTS,
    SigningConfig,
    check_payload,
    service_defaults,
)
from sigv4kit.errors import SigningError

# (service, double_uri_encode, normalize_path, content_sha256_header, presign_unsigned, skew)
SERVICES = [
    ("s3", False, False, True, True, 900),
    ("s3express", False, False, True, True, 900),
    ("s3-outposts", False, False, True, True, 900),
    ("s3-object-lambda", False, False, True, True, 900),
    ("iam", True, True, False, False, 300),
    ("execute-api", True, True, False, False, 300),
    ("no-such-service", True, True, False, False, 300),
]


@pytest.mark.parametrize(("service", "double", "normalize", "sha", "unsigned", "skew"), SERVICES)
def test_service_table(
    service: str, double: bool, normalize: bool, sha: bool, unsigned: bool, skew: int
) -> None:
    d = service_defaults(service)
    assert (
        d.double_uri_encode,
        d.normalize_path,
        d.content_sha256_header,
        d.presign_unsigned_payload,
        d.max_skew_seconds,
    ) == (double, normalize, sha, unsigned, skew)
    cfg = SigningConfig.for_service("us-east-1", service)
    assert (cfg.double_uri_encode, cfg.normalize_path, cfg.content_sha256_header) == (
        double,
        normalize,
        sha,
    )


def test_unknown_services_share_the_generic_row() -> None:
    assert service_defaults("whatever") is SERVICE_DEFAULTS[""]


# (algorithm spelling, resolved)
ALGORITHMS = [
    ("sigv4", ALGORITHM_V4),
    ("SigV4", ALGORITHM_V4),
    ("v4", ALGORITHM_V4),
    (ALGORITHM_V4, ALGORITHM_V4),
    ("sigv4a", ALGORITHM_V4A),
    ("v4a", ALGORITHM_V4A),
    (ALGORITHM_V4A.lower(), ALGORITHM_V4A),
]


@pytest.mark.parametrize(("spelling", "resolved"), ALGORITHMS)
def test_algorithm_names(spelling: str, resolved: str) -> None:
    kw: dict[str, Any] = {"region_set": ["*"]} if resolved == ALGORITHM_V4A else {}
    assert SigningConfig.for_service("us-east-1", "s3", algorithm=spelling, **kw).algorithm == (
        resolved
    )


# (overrides, attribute, expected)
OVERRIDES = [
    ({"double_uri_encode": True}, "double_uri_encode", True),
    ({"normalize_path": True}, "normalize_path", True),
    ({"content_sha256_header": False}, "content_sha256_header", False),
    ({"signed_headers": ["Host", " X-Amz-Meta-A "]}, "signed_headers", {"host", "x-amz-meta-a"}),
    ({"skipped_headers": ["User-Agent"]}, "skipped_headers", {"user-agent"}),
    ({"payload": "unsigned"}, "payload", "unsigned"),
    ({"checksum": "crc32c", "payload": "streaming-trailer"}, "checksum", "crc32c"),
    ({"chunk_size": 8192}, "chunk_size", 8192),
]


@pytest.mark.parametrize(("overrides", "attribute", "expected"), OVERRIDES)
def test_overrides_win_over_the_table(
    overrides: dict[str, Any], attribute: str, expected: object
) -> None:
    assert getattr(SigningConfig.for_service("us-east-1", "s3", **overrides), attribute) == expected


def test_defaults_skip_hop_by_hop_and_tracing_headers() -> None:
    cfg = SigningConfig.for_service("us-east-1", "s3")
    assert cfg.skipped_headers == DEFAULT_SKIPPED_HEADERS
    assert {"user-agent", "connection", "expect", "x-amzn-trace-id"} <= DEFAULT_SKIPPED_HEADERS


def test_sigv4a_region_set() -> None:
    cfg = SigningConfig.for_service("", "s3", algorithm="sigv4a", region_set="us-east-1, eu-*")
    assert cfg.region_set == ("us-east-1", "eu-*") and cfg.region == "us-east-1"
    assert SigningConfig.for_service("eu-west-1", "s3", algorithm="sigv4a").region_set == (
        "eu-west-1",
    )


# (kwargs, a phrase of the message)
REFUSED = [
    ({"algorithm": "sigv2"}, "algorithm must be"),
    ({"region_set": ["*"]}, "only used with algorithm='sigv4a'"),
    ({"algorithm": "sigv4a", "region_set": ["a,b"]}, "must not contain ','"),
    ({"signed_headers": "host"}, "collection of names"),
    ({"payload": "chunked"}, "payload must be one of"),
    ({"checksum": "md5"}, "is not supported"),
    ({"chunk_size": 1024}, "at least 8192"),
]


@pytest.mark.parametrize(("kwargs", "phrase"), REFUSED)
def test_refused_options_say_why(kwargs: dict[str, Any], phrase: str) -> None:
    with pytest.raises(SigningError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        SigningConfig.for_service("us-east-1", "s3", **kwargs)


@pytest.mark.parametrize("mode", sorted(PAYLOAD_MODES))
def test_payload_modes_pass(mode: str) -> None:
    assert check_payload(mode) == mode


@pytest.mark.parametrize("value", ["a" * 64, "0123456789abcdef" * 4])
def test_precomputed_hash_passes(value: str) -> None:
    assert check_payload(value) == value


@pytest.mark.parametrize("value", ["A" * 64, "a" * 63, "", "UNSIGNED-PAYLOAD"])
def test_other_payload_values_are_refused(value: str) -> None:
    with pytest.raises(SigningError):
        check_payload(value)


def test_config_is_immutable_and_replaceable() -> None:
    cfg = SigningConfig.for_service("us-east-1", "s3")
    with pytest.raises(AttributeError):
        cfg.region = "x"  # type: ignore[misc]
    assert cfg.replace(region="eu-west-1").region == "eu-west-1"
    assert cfg.region == "us-east-1"
