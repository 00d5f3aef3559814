"""The proxy's pure decisions: header rule, payload plan, error classification, metrics text."""

from __future__ import annotations

import pytest

from sigv4kit.forward import Metrics, end_to_end, redact_target
from sigv4kit.proxy import classify_error, partition_headers, plan_payload


def test_header_rule() -> None:
    headers = [
        ("Host", "client-side"),
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "1"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("Expect", "100-continue"),
        ("Authorization", "Basic abc"),
        ("X-Amz-Security-Token", "old"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Amzn-Trace-Id", "Root=1"),
        ("Via", "1.1 lb"),
        ("Content-Type", "application/json"),
        ("X-Drop", "y"),
        ("x-amz-meta-k", "v"),
    ]
    signed, unsigned = partition_headers(headers, strip=["x-drop"])
    assert signed == [("Content-Type", "application/json"), ("x-amz-meta-k", "v")]
    assert [n for n, _ in unsigned] == [
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Amzn-Trace-Id",
        "Via",
    ]


def test_end_to_end_drops_connection_named() -> None:
    got = end_to_end([("Connection", "close, X-A"), ("X-A", "1"), ("X-B", "2")])
    assert got == [("X-B", "2")]


@pytest.mark.parametrize(
    ("service", "tls", "length", "has_body", "forced", "presign", "plan"),
    [
        ("s3", True, 0, False, "auto", False, "empty"),
        ("s3", True, 10, True, "auto", False, "unsigned"),
        ("s3", False, 10, True, "auto", False, "aws-chunked"),
        ("s3", False, None, True, "auto", False, "spool"),  # chunked upload: length unknown
        ("s3", False, 10, True, "auto", True, "unsigned"),  # presigned: no chunk signatures
        ("s3express", True, 10, True, "auto", False, "unsigned"),
        ("aps", True, 10, True, "auto", False, "spool"),
        ("aps", True, 10, True, "unsigned", False, "unsigned"),
        ("aps", True, None, True, "unsigned", False, "spool"),
        ("s3", True, 10, True, "spool", False, "spool"),
        ("s3", True, 10, True, "aws-chunked", False, "aws-chunked"),
        ("s3", True, 10, True, "aws-chunked", True, "unsigned"),
    ],
)
def test_payload_plan(
    service: str,
    tls: bool,
    length: int | None,
    has_body: bool,
    forced: str,
    presign: bool,
    plan: str,
) -> None:
    got = plan_payload(
        service=service,
        upstream_tls=tls,
        content_length=length,
        has_body=has_body,
        forced=forced,
        presign=presign,
    )
    assert got == plan


def test_payload_plan_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="auto"):
        plan_payload(service="s3", upstream_tls=True, content_length=1, has_body=True, forced="x")


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (403, b"<Error><Code>ExpiredToken</Code></Error>", "expired-token"),
        (400, b'{"__type":"com.amazon.coral#ExpiredTokenException"}', "expired-token"),
        (
            403,
            b'{"message":"The security token included in the request is expired"}',
            "expired-token",
        ),
        (403, b"<Error><Code>AccessDenied</Code></Error>", None),
        (500, b"<Error><Code>ExpiredToken</Code></Error>", None),
        (403, b"", None),
    ],
)
def test_classify_error(status: int, body: bytes, verdict: str | None) -> None:
    assert classify_error(status, body) == verdict


def test_redact_target() -> None:
    got = redact_target("/k?a=1&X-Amz-Signature=abc&x-amz-security-token=t&X-Amz-Credential=AK")
    assert got == (
        "/k?a=1&X-Amz-Signature=REDACTED&x-amz-security-token=REDACTED&X-Amz-Credential=REDACTED"
    )


def test_metrics_merge_and_render() -> None:
    a, b = Metrics(), Metrics()
    a.inc("sigv4kit_requests_total", status="200")
    b.inc("sigv4kit_requests_total", 2, status="200")
    b.inc("sigv4kit_requests_total", status="502")
    a.observe(0.003)
    b.observe(20)
    total = Metrics()
    total.merge(a.snapshot())
    total.merge(b.snapshot())
    text = total.render()
    assert 'sigv4kit_requests_total{status="200"} 3' in text
    assert 'sigv4kit_requests_total{status="502"} 1' in text
    assert 'sigv4kit_request_duration_seconds_bucket{le="0.005"} 1' in text
    assert 'sigv4kit_request_duration_seconds_bucket{le="+Inf"} 2' in text
    assert "sigv4kit_request_duration_seconds_count 2" in text
