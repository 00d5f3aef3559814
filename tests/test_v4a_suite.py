"""The aws-c-auth SigV4a suite through the Signer, header and query signing.

ECDSA signatures are randomized, so a case passes when the canonical request
and string to sign equal the published ones exactly, the signed request
carries the same headers / query parameters (all but the signature), and the
signature we produce verifies with the suite's ``public-key.json``.

Raw-target cases (a raw space or UTF-8 in the request target) go through
``canonical_request_for_target`` + ``Signer.sign_canonical_request``, the
verbatim route a server takes, because ``Signer.sign(url)`` first makes a URL
wire-valid.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.canonical import canonical_request_for_target
from sigv4kit.rawhttp import parse_raw_request
from sigv4kit.signer import parse_timestamp
from sigv4kit.v4a import load_public_key, verify_v4a
from suite import V4A_SUITE, SuiteCase, is_raw_target, suite_cases, wire_target

ALL = suite_cases(V4A_SUITE)
STUBS = {"get-vanilla-query-order-key", "get-vanilla-query-order-value"}
RAW_TARGET_CASES = {"get-space-normalized", "get-space-unnormalized", "get-utf8"}

# Cases where the Signer disagrees with the suite: name -> reason.  Each is
# reported to the lead; strict xfail turns a fix into a failure to remove it.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}


def test_suite_is_complete() -> None:
    assert len(ALL) == 40
    full = [c for c in ALL if c.has("header") and c.has("query")]
    assert {c.name for c in ALL} - {c.name for c in full} == STUBS
    assert {c.name for c in full if is_raw_target(c.request)} == RAW_TARGET_CASES


def _ctx(case: SuiteCase) -> dict[str, Any]:
    ctx: dict[str, Any] = case.context
    return ctx


def _signer(case: SuiteCase, kind: str) -> tuple[Signer, Credentials]:
    ctx = _ctx(case)
    c = ctx["credentials"]
    creds = Credentials(c["access_key_id"], c["secret_access_key"], c.get("token"))
    signer = Signer(
        creds,
        region=ctx["region"],
        service=ctx["service"],
        algorithm="sigv4a",
        region_set=[ctx["region"]],
        normalize_path=ctx["normalize"],
        content_sha256_header=bool(ctx.get("sign_body")) and kind == "header",
        sign_session_token=not ctx.get("omit_session_token", False),
    )
    return signer, creds


def _params(target: str) -> Counter[tuple[str, str]]:
    query = target.partition("?")[2]
    return Counter(
        (k, v)
        for k, _, v in (p.partition("=") for p in query.split("&") if p)
        if k != "X-Amz-Signature"
    )


def _header_set(headers: list[tuple[str, str]]) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for name, value in headers:
        value = value.strip()
        if name.lower() == "authorization":
            # Everything but the randomized signature.
            value = value.rpartition("Signature=")[0]
        out[(name.lower(), value)] += 1
    return out


def _signature_from(kind: str, signed: Any) -> str:
    if kind == "header":
        authz = dict((n.lower(), v) for n, v in signed.headers)["authorization"]
        return str(authz.rpartition("Signature=")[2])
    return str(signed.url.rpartition("X-Amz-Signature=")[2])


def _cases() -> list[Any]:
    out = []
    for case in ALL:
        for kind in ("header", "query"):
            marks: list[Any] = []
            if case.name in STUBS:
                marks.append(
                    pytest.mark.skip(
                        reason="upstream stub: only context.json and request.txt, "
                        "no expected output"
                    )
                )
            reason = KNOWN_DISAGREEMENTS.get((case.name, kind))
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            out.append(pytest.param(case, kind, marks=marks, id=f"{case.name}-{kind}"))
    return out


@pytest.mark.parametrize(("case", "kind"), _cases())
def test_v4a_suite(case: SuiteCase, kind: str) -> None:
    req = case.request
    ctx = _ctx(case)
    signer, creds = _signer(case, kind)
    amz = parse_timestamp(ctx["timestamp"])
    pub_json = json.loads((case.folder / "public-key.json").read_text(encoding="utf-8"))
    public_key = load_public_key((pub_json["X"], pub_json["Y"]))
    expected_signed = parse_raw_request(case.expected(kind, "signed-request").encode())

    if is_raw_target(req):
        creq, sts, sig = _sign_raw_target(case, kind, signer, creds, amz)
    else:
        host = req.header("host")
        url = f"https://{host}{req.target}"
        if kind == "header":
            signed = signer.sign(req.method, url, req.headers, body=req.body, timestamp=amz)
            _assert_stages(case, kind, signed.canonical_request, signed.string_to_sign)
            assert signed.url == f"https://{host}{wire_target(req.target)}", "stage 4: the wire URL"
            assert _header_set(signed.headers) == _header_set(expected_signed.headers), (
                "stage 4: the headers to send"
            )
        else:
            signed = signer.presign_request(
                req.method,
                url,
                req.headers,
                expires=ctx["expiration_in_seconds"],
                timestamp=amz,
                body=req.body,
            )
            _assert_stages(case, kind, signed.canonical_request, signed.string_to_sign)
            ours = signed.url.partition("://")[2]
            ours = ours[ours.index("/") :]
            assert ours.partition("?")[0] == expected_signed.target.partition("?")[0], (
                "stage 4: the wire path"
            )
            assert _params(ours) == _params(wire_target(expected_signed.target)), (
                "stage 5: the presigned query"
            )
            assert signed.authorization is None, "a presigned request has no Authorization"
        assert signed.algorithm == "AWS4-ECDSA-P256-SHA256", "stage 2: the algorithm"
        assert signed.region_set == (ctx["region"],), "stage 2: the region set"
        assert signed.credential_scope == f"{amz[:8]}/{ctx['service']}/aws4_request", (
            "stage 2: the credential scope"
        )
        assert _signature_from(kind, signed) == signed.signature, (
            "stage 4: the signature the request carries"
        )
        creq, sts, sig = signed.canonical_request, signed.string_to_sign, signed.signature

    _assert_stages(case, kind, creq, sts)
    assert verify_v4a(public_key, sts.encode("utf-8"), sig), "stage 3: the signature verifies"
    # Not a signature that verifies anything: the published one is for the same
    # string to sign, ours must differ from it (randomized nonce) yet both verify.
    published = case.expected(kind, "signature").strip()
    assert sig != published
    assert verify_v4a(public_key, sts.encode("utf-8"), published)
    assert not verify_v4a(public_key, (sts + " ").encode("utf-8"), sig)


def _assert_stages(case: SuiteCase, kind: str, creq: str, sts: str) -> None:
    """Stage by stage, so a failure names the first stage that diverged."""
    assert creq == case.expected(kind, "canonical-request"), "stage 1: the canonical request"
    assert sts == case.expected(kind, "string-to-sign"), "stage 2: the string to sign"


def _sign_raw_target(
    case: SuiteCase, kind: str, signer: Signer, creds: Credentials, amz: str
) -> tuple[str, str, str]:
    """What a server does with a raw target: canonicalize it verbatim."""
    req = case.request
    ctx = _ctx(case)
    cfg = signer.config
    payload_hash = hashlib.sha256(req.body).hexdigest()
    headers = list(req.headers)
    if kind == "header":
        headers.append(("X-Amz-Date", amz))
        headers.append(("X-Amz-Region-Set", ",".join(cfg.region_set)))
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
        assert ("X-Amz-Region-Set", ",".join(cfg.region_set)) in extra
        cr = canonical_request_for_target(
            req.method, req.target, headers, payload_hash, extra_query=extra, **kwargs
        )
    sts, sig = signer.sign_canonical_request(cr.text, amz, creds)
    return cr.text, sts, sig


def test_multi_region_set_and_wildcard() -> None:
    """Not in the suite: several regions and ``*`` go into X-Amz-Region-Set as given."""
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    pub = load_public_key(
        tuple(json.loads((V4A_SUITE / "get-vanilla" / "public-key.json").read_text()).values())
    )
    for region_set, value in ((["us-east-1", "us-west-2"], "us-east-1,us-west-2"), (["*"], "*")):
        signer = Signer(
            creds, region="us-east-1", service="s3", algorithm="sigv4a", region_set=region_set
        )
        signed = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp="20150830T123600Z")
        assert ("X-Amz-Region-Set", value) in signed.headers
        assert f"\nx-amz-region-set:{value}\n" in signed.canonical_request
        assert "20150830/s3/aws4_request" in signed.string_to_sign
        assert verify_v4a(pub, signed.string_to_sign.encode(), signed.signature)
        url = signer.presign(
            "GET", "https://b.s3.amazonaws.com/k", expires=60, timestamp="20150830T123600Z"
        )
        encoded = value.replace(",", "%2C").replace("*", "%2A")
        assert f"X-Amz-Region-Set={encoded}&" in url
