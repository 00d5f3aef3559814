"""The aws-c-auth SigV4 suite, header and query signing: every stage, every case.

Cases whose request target holds raw bytes (a space, UTF-8) cannot go through
``Signer.sign(url)``, which first makes the URL wire-valid: they go through
the verbatim-target route, ``canonical_request_for_target`` plus
``Signer.sign_canonical_request``, which is what a server does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.canonical import canonical_request_for_target
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
    signer, creds = _signer(case, kind)
    amz = parse_timestamp(ctx["timestamp"])
    expected_signed = parse_raw_request(case.expected(kind, "signed-request").encode())

    if is_raw_target(req):
        creq, sts, sig = _sign_raw_target(case, kind, signer, creds, amz)
    else:
        host = req.header("host")
        url = f"https://{host}{req.target}"
        if kind == "header":
            signed = signer.sign(req.method, url, req.headers, body=req.body, timestamp=amz)
            assert signed.url == f"https://{host}{wire_target(req.target)}"
            assert _header_set(signed.headers) == _header_set(expected_signed.headers)
        else:
            signed = signer.presign_request(
                req.method,
                url,
                req.headers,
                expires=ctx["expiration_in_seconds"],
                timestamp=amz,
                body=req.body,
            )
            ours = signed.url.partition("://")[2]
            ours = ours[ours.index("/") :]
            assert ours.partition("?")[0] == expected_signed.target.partition("?")[0]
            assert _params(ours) == _params(wire_target(expected_signed.target))
        creq, sts, sig = signed.canonical_request, signed.string_to_sign, signed.signature

    assert creq == case.expected(kind, "canonical-request")
    assert sts == case.expected(kind, "string-to-sign")
    assert sig == case.expected(kind, "signature").strip()


def _sign_raw_target(
    case: SuiteCase, kind: str, signer: Signer, creds: Credentials, amz: str
) -> tuple[str, str, str]:
    req = case.request
    ctx: dict[str, Any] = case.context  # type: ignore[assignment]
    cfg = signer.config
    payload_hash = hashlib.sha256(req.body).hexdigest()
    headers = list(req.headers)
    extra: list[tuple[str, str]] = []
    if kind == "header":
        headers.append(("X-Amz-Date", amz))
        if creds.session_token and cfg.sign_session_token:
            headers.append(("X-Amz-Security-Token", creds.session_token))
        if cfg.content_sha256_header:
            headers.append(("X-Amz-Content-SHA256", payload_hash))
    kwargs: dict[str, Any] = {
        "double_uri_encode": cfg.double_uri_encode,
        "normalize_path": cfg.normalize_path,
    }
    cr = canonical_request_for_target(req.method, req.target, headers, payload_hash, **kwargs)
    if kind == "query":
        extra = signer.presign_params(creds, amz, ctx["expiration_in_seconds"], cr.signed_headers)
        cr = canonical_request_for_target(
            req.method, req.target, headers, payload_hash, extra_query=extra, **kwargs
        )
    sts, sig = signer.sign_canonical_request(cr.text, amz, creds)
    return cr.text, sts, sig
