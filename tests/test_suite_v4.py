"""The aws-c-auth SigV4 suite, header and query signing: every stage, every case.

Cases whose request target holds raw bytes (a space, UTF-8) cannot go through
``Signer.sign(url)``, which first makes the URL wire-valid: they go through
the verbatim-target route, ``canonical_request_for_target`` plus
``Signer.sign_canonical_request``, which is what a server does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.rawhttp import parse_raw_request
from sigv4kit.signer import parse_timestamp
from suite import V4_SUITE, SuiteCase, is_raw_target, suite_cases, wire_target

CASES = suite_cases(V4_SUITE)
RAW_TARGET_CASES = {"get-space-normalized", "get-space-unnormalized", "get-utf8"}


def _signer(case: SuiteCase, kind: str) -> tuple[Signer, Credentials]:
    ctx: dict[str, Any] = case.context  # type: ignore[assignment]
    c = ctx["credentials"]
    creds = Credentials(c["access_key_id"], c["secret_access_key"], c.get("token"))
    signer = Signer(
        creds,
        ctx["region"],
        ctx["service"],
        normalize_path=ctx["normalize"],
        content_sha256_header=bool(ctx.get("sign_body")) and kind == "header",
        sign_session_token=not ctx.get("omit_session_token", False),
    )
    return signer, creds


def _params(target: str) -> Counter[tuple[str, str]]:
    query = target.partition("?")[2]
    return Counter(tuple(p.partition("=")[::2]) for p in query.split("&") if p)  # type: ignore[misc]


def _header_set(headers: list[tuple[str, str]]) -> Counter[tuple[str, str]]:
    return Counter((n.lower(), v.strip()) for n, v in headers)


def test_suite_is_complete() -> None:
    assert len(CASES) == 38
    assert {c.name for c in CASES if is_raw_target(c.request)} == RAW_TARGET_CASES


@pytest.mark.parametrize("kind", ["header", "query"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_v4_suite(case: SuiteCase, kind: str) -> None:
    req = case.request
    ctx: dict[str, Any] = case.context  # type: ignore[assignment]
    signer, _ = _signer(case, kind)
    amz = parse_timestamp(ctx["timestamp"])
    expected_signed = parse_raw_request(case.expected(kind, "signed-request").encode())
    host = req.header("host")
    raw = is_raw_target(req)
    # Raw targets take the verbatim route; everything else goes through the URL API.
    target = req.target if raw else wire_target(req.target)
    if kind == "header":
        if raw:
            signed = signer.sign_target(req.method, req.target, req.headers, req.body, amz)
        else:
            url = f"https://{host}{req.target}"
            signed = signer.sign(req.method, url, req.headers, body=req.body, timestamp=amz)
        _assert_stages(case, kind, signed)
        assert signed.url == f"https://{host}{target}", "stage 4: the wire URL"
        assert _header_set(signed.headers) == _header_set(expected_signed.headers), (
            "stage 5: the headers to send"
        )
    else:
        expires = ctx["expiration_in_seconds"]
        if raw:
            signed = signer.presign_target(
                req.method, req.target, req.headers, expires, amz, body=req.body
            )
        else:
            url = f"https://{host}{req.target}"
            signed = signer.presign_request(
                req.method, url, req.headers, expires=expires, timestamp=amz, body=req.body
            )
        _assert_stages(case, kind, signed)
        ours = signed.url.partition("://")[2]
        ours = ours[ours.index("/") :]
        assert ours.partition("?")[0] == target.partition("?")[0], "stage 4: the wire path"
        expected_target = expected_signed.target if raw else wire_target(expected_signed.target)
        assert _params(ours) == _params(expected_target), "stage 5: the presigned query"


def _assert_stages(case: SuiteCase, kind: str, signed: Any) -> None:
    """Stage by stage, so a failure names the first stage that diverged."""
    assert signed.canonical_request == case.expected(kind, "canonical-request"), (
        "stage 1: the canonical request"
    )
    assert signed.string_to_sign == case.expected(kind, "string-to-sign"), (
        "stage 2: the string to sign"
    )
    assert signed.signature == case.expected(kind, "signature").strip(), "stage 3: the signature"
