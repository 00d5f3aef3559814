"""Verifier: the official suites verify, and each check answers with S3's error.

Every signed request of the aws-c-auth v4 and v4a suites (header and query
forms) is verified as a server receives it: parsed from the suite's
``*-signed-request.txt`` with the verbatim target, at the suite's time.
"""

from __future__ import annotations

import asyncio
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    IncompleteBody,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    InvalidToken,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SignatureError,
    SigningError,
    XAmzContentSHA256Mismatch,
)
from sigv4kit.rawhttp import RawRequest, parse_raw_request
from sigv4kit.verifier import MissingAuthentication, VerifiedRequest, Verifier
from suite import SuiteCase, signed_requests

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime(2013, 5, 24, tzinfo=timezone.utc)
URL = "https://examplebucket.s3.amazonaws.com/test.txt"


SIGNED = signed_requests()


def suite_verifier(case: SuiteCase, **kw: Any) -> Verifier:
    ctx: dict[str, Any] = case.context  # type: ignore[assignment]
    c = ctx["credentials"]
    return Verifier(
        {c["access_key_id"]: c["secret_access_key"]},
        ctx["region"],
        ctx["service"],
        normalize_path=ctx["normalize"],
        **kw,
    )


def suite_now(case: SuiteCase) -> datetime:
    return datetime.fromisoformat(str(case.context["timestamp"]).replace("Z", "+00:00"))


def test_suites_are_all_there() -> None:
    # 38 v4 cases x 2 forms, and the v4a cases that ship signed requests.
    assert sum(1 for n, *_ in SIGNED if n.startswith("v4/")) == 76
    assert sum(1 for n, *_ in SIGNED if n.startswith("v4a/")) == 76


@pytest.mark.parametrize("name,case,kind,path", SIGNED, ids=[s[0] for s in SIGNED])
def test_suite_signed_request_verifies(name: str, case: SuiteCase, kind: str, path: Path) -> None:
    req = parse_raw_request(path.read_bytes())
    v = suite_verifier(case)
    ok = v.verify(req.method, req.target, req.headers, req.body, now=suite_now(case))
    assert ok.access_key_id == "AKIDEXAMPLE"
    assert ok.auth_type == ("header" if kind == "header" else "presigned")
    assert ok.read() == req.body
    assert ok.scope.service == case.context["service"]
    if name.startswith("v4a/"):
        assert ok.algorithm == "AWS4-ECDSA-P256-SHA256"
        assert ok.scope.region is None and ok.scope.region_set == ("us-east-1",)
    else:
        assert ok.algorithm == "AWS4-HMAC-SHA256"
        assert ok.scope.region == "us-east-1"
    # The same request with a wrong secret never verifies.
    wrong = Verifier(
        {"AKIDEXAMPLE": SECRET[:-1] + "X"},
        str(case.context["region"]),
        str(case.context["service"]),
        normalize_path=bool(case.context["normalize"]),
    )
    with pytest.raises(SignatureDoesNotMatch):
        wrong.verify(req.method, req.target, req.headers, req.body, now=suite_now(case))


def test_v4a_suite_with_stored_public_key_only() -> None:
    import json

    from sigv4kit.v4a import load_public_key

    for name, case, _kind, path in SIGNED:
        if not name.startswith("v4a/"):
            continue
        pk = json.loads((case.folder / "public-key.json").read_text())
        key = load_public_key((pk["X"], pk["Y"]))
        v = Verifier(
            {"AKIDEXAMPLE": key}, "us-east-1", "service", normalize_path=case.context["normalize"]
        )
        req = parse_raw_request(path.read_bytes())
        assert v.verify(req.method, req.target, req.headers, req.body, now=suite_now(case))


# --------------------------------------------------------------------------
# Helpers for signer round trips
# --------------------------------------------------------------------------
def target_of(url: str) -> str:
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def sign(
    method: str = "GET",
    url: str = URL,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    creds: Credentials | None = None,
    service: str = "s3",
    **kw: Any,
) -> Any:
    signer = Signer(creds or Credentials(AKID, SECRET), "us-east-1", service, **kw)
    return signer.sign(method, url, headers=headers, body=body, timestamp=NOW)


def s3_verifier(**kw: Any) -> Verifier:
    return Verifier({AKID: SECRET}, "us-east-1", "s3", **kw)


def verify_signed(v: Verifier, signed: Any, body: Any = b"", **kw: Any) -> VerifiedRequest:
    return v.verify(
        signed.method, target_of(signed.url), list(signed.headers), body, now=kw.get("now", NOW)
    )


# --------------------------------------------------------------------------
# Authorization header syntax
# --------------------------------------------------------------------------
def replace_auth(signed: Any, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == "Authorization" else v) for n, v in signed.headers]


def test_authorization_without_spaces_after_commas() -> None:
    s = sign()
    compact = s.authorization.replace(", ", ",")
    assert s.authorization != compact
    ok = s3_verifier().verify("GET", "/test.txt", replace_auth(s, compact), now=NOW)
    assert ok.signed_headers == ("host", "x-amz-content-sha256", "x-amz-date")


@pytest.mark.parametrize(
    "mutate,message",
    [
        (
            lambda a: a.replace("Signature=", "Sig="),
            'the authorization component "Sig=',
        ),
        (
            lambda a: a.split(", Signature=")[0],
            "requires three components: Credential, SignedHeaders, and Signature",
        ),
        (
            lambda a: a.replace("/us-east-1/s3/aws4_request", "/us-east-1/aws4_request"),
            "the Credential is mal-formed",
        ),
        (
            lambda a: a.replace("/us-east-1/", "/eu-west-1/"),
            "the region 'eu-west-1' is wrong; expecting 'us-east-1'",
        ),
        (lambda a: a.replace("/s3/", "/sqs/"), 'incorrect service "sqs"'),
        (lambda a: a.replace("aws4_request", "aws5_request"), 'incorrect terminal "aws5_request"'),
        (lambda a: a.replace("/20130524/", "/20130525/"), "Invalid credential date"),
        (lambda a: a.replace("/20130524/", "/2013052X/"), "incorrect date format"),
        (lambda a: a.replace("SignedHeaders=host;", "SignedHeaders=;host;"), "SignedHeaders="),
    ],
)
def test_malformed_authorization(mutate: Any, message: str) -> None:
    s = sign()
    with pytest.raises(AuthorizationHeaderMalformed) as exc:
        s3_verifier().verify("GET", "/test.txt", replace_auth(s, mutate(s.authorization)), now=NOW)
    assert message in exc.value.message
    assert exc.value.message.startswith("The authorization header is malformed;")
    assert exc.value.status == 400


def test_wrong_region_names_expected_region_in_xml() -> None:
    s = sign()
    auth = s.authorization.replace("/us-east-1/", "/eu-west-1/")
    with pytest.raises(AuthorizationHeaderMalformed) as exc:
        s3_verifier().verify("GET", "/test.txt", replace_auth(s, auth), now=NOW)
    root = ET.fromstring(exc.value.to_xml())
    assert root.findtext("Code") == "AuthorizationHeaderMalformed"
    assert root.findtext("Region") == "us-east-1"


def test_unsupported_algorithms() -> None:
    s = sign()
    bad = s.authorization.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
    with pytest.raises(InvalidRequest, match="Please use"):
        s3_verifier().verify("GET", "/test.txt", replace_auth(s, bad), now=NOW)
    with pytest.raises(InvalidRequest, match="Please use AWS4-HMAC-SHA256"):
        s3_verifier().verify("GET", "/test.txt", replace_auth(s, "AWS AKID:abc="), now=NOW)
    only_v4a = s3_verifier(algorithms=["sigv4a"])
    with pytest.raises(InvalidRequest):
        verify_signed(only_v4a, s)


def test_unsigned_request_is_missing_authentication() -> None:
    with pytest.raises(MissingAuthentication) as exc:
        s3_verifier().verify("GET", "/test.txt", {"Host": "h"}, now=NOW)
    assert exc.value.code == "AccessDenied" and exc.value.status == 403


def test_header_and_query_auth_together() -> None:
    s = sign()
    with pytest.raises(InvalidArgument, match="Only one auth mechanism"):
        s3_verifier().verify(
            "GET", "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256", list(s.headers), now=NOW
        )


def test_unknown_access_key() -> None:
    s = sign(creds=Credentials("AKIDOTHER", SECRET))
    with pytest.raises(InvalidAccessKeyId) as exc:
        verify_signed(s3_verifier(), s)
    root = ET.fromstring(exc.value.to_xml())
    assert root.findtext("AWSAccessKeyId") == "AKIDOTHER"
    assert exc.value.status == 403


# --------------------------------------------------------------------------
# Dates and skew
# --------------------------------------------------------------------------
@pytest.mark.parametrize("service,window", [("s3", 900), ("execute-api", 300)])
def test_skew_window_boundaries(service: str, window: int) -> None:
    s = sign(service=service)
    v = Verifier({AKID: SECRET}, "us-east-1", service)
    for delta in (-window, window, 0):
        verify_signed(v, s, now=NOW + timedelta(seconds=delta))
    for delta in (-window - 1, window + 1):
        with pytest.raises(RequestTimeTooSkewed) as exc:
            verify_signed(v, s, now=NOW + timedelta(seconds=delta))
        e = exc.value
        assert e.details["RequestTime"] == "20130524T000000Z"
        assert e.details["MaxAllowedSkewMilliseconds"] == str(window * 1000)
        root = ET.fromstring(e.to_xml())
        assert root.findtext("Code") == "RequestTimeTooSkewed"
        assert root.findtext("ServerTime") == (NOW + timedelta(seconds=delta)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )


def test_custom_skew() -> None:
    s = sign()
    v = s3_verifier(max_skew=timedelta(seconds=10))
    verify_signed(v, s, now=NOW + timedelta(seconds=10))
    with pytest.raises(RequestTimeTooSkewed):
        verify_signed(v, s, now=NOW + timedelta(seconds=11))
    with pytest.raises(RequestTimeTooSkewed):
        verify_signed(s3_verifier(max_skew=0), s, now=NOW + timedelta(seconds=1))


def test_date_header_rfc1123() -> None:
    signer = Signer(Credentials(AKID, SECRET), "us-east-1", "s3")
    # Sign with the Date header: build what a client using Date sends.
    from sigv4kit.canonical import canonical_request_for_target

    headers = [
        ("Host", "examplebucket.s3.amazonaws.com"),
        ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
    ]
    cr = canonical_request_for_target(
        "GET",
        "/test.txt",
        headers,
        "UNSIGNED-PAYLOAD",
        double_uri_encode=False,
        normalize_path=False,
    )
    _, sig = signer.sign_canonical_request(cr.text, "20130524T000000Z")
    auth = (
        f"AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders={cr.signed_headers}, Signature={sig}"
    )
    ok = s3_verifier().verify("GET", "/test.txt", [*headers, ("Authorization", auth)], now=NOW)
    assert ok.amz_date == "20130524T000000Z"
    bad = [*headers[:1], ("Date", "yesterday"), *headers[2:], ("Authorization", auth)]
    with pytest.raises(AccessDenied, match="valid Date or x-amz-date"):
        s3_verifier().verify("GET", "/test.txt", bad, now=NOW)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(SigningError, match="naive"):
        verify_signed(s3_verifier(), sign(), now=datetime(2013, 5, 24))


# --------------------------------------------------------------------------
# Presigned URLs
# --------------------------------------------------------------------------
def presign(expires: int = 3600, **kw: Any) -> str:
    signer = Signer(Credentials(AKID, SECRET), "us-east-1", "s3", **kw)
    return signer.presign("GET", URL, expires=expires, timestamp=NOW)


def test_presign_expiry_boundaries() -> None:
    url = presign(expires=100)
    v = s3_verifier()
    host = {"Host": "examplebucket.s3.amazonaws.com"}
    assert v.verify("GET", target_of(url), host, now=NOW + timedelta(seconds=100)).expires == 100
    with pytest.raises(AccessDenied, match="Request has expired") as exc:
        v.verify("GET", target_of(url), host, now=NOW + timedelta(seconds=101))
    assert exc.value.details["Expires"] == "2013-05-24T00:01:40Z"
    v.verify("GET", target_of(url), host, now=NOW - timedelta(seconds=900))
    with pytest.raises(AccessDenied, match="Request is not valid yet"):
        v.verify("GET", target_of(url), host, now=NOW - timedelta(seconds=901))


def test_presign_full_url_target() -> None:
    url = presign()
    ok = s3_verifier().verify("GET", url, {}, now=NOW)
    assert ok.auth_type == "presigned" and ok.payload_hash == "UNSIGNED-PAYLOAD"


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("X-Amz-Expires=3600", "X-Amz-Expires=604801", "less than a week"),
        ("X-Amz-Expires=3600", "X-Amz-Expires=0", "at least 1"),
        ("X-Amz-Expires=3600", "X-Amz-Expires=-5", "non-negative"),
        ("X-Amz-Expires=3600", "X-Amz-Expires=soon", "should be a number"),
        ("X-Amz-Expires=3600&", "", "requires the X-Amz-Algorithm"),
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1", "only supports"),
        ("X-Amz-Date=20130524T000000Z", "X-Amz-Date=2013-05-24", "ISO8601"),
        ("%2Fus-east-1%2F", "%2Feu-west-1%2F", "the region 'eu-west-1' is wrong"),
        ("%2Fs3%2F", "%2Fsqs%2F", 'incorrect service "sqs"'),
    ],
)
def test_presign_parameter_errors(old: str, new: str, message: str) -> None:
    url = presign()
    assert old in url
    with pytest.raises(AuthorizationQueryParametersError) as exc:
        s3_verifier().verify("GET", url.replace(old, new), {}, now=NOW)
    assert message in exc.value.message
    assert exc.value.status == 400


def test_presign_expires_max_accepted() -> None:
    url = presign(expires=604800)
    s3_verifier().verify("GET", url, {}, now=NOW + timedelta(seconds=604800))


def test_presign_duplicate_signature_rejected() -> None:
    url = presign()
    with pytest.raises(AuthorizationQueryParametersError, match="more than once"):
        s3_verifier().verify("GET", url + "&X-Amz-Signature=00", {}, now=NOW)


# --------------------------------------------------------------------------
# Signed headers
# --------------------------------------------------------------------------
def test_unsigned_meta_header_rejected() -> None:
    s = sign()
    headers = [*s.headers, ("X-Amz-Meta-Color", "blue")]
    with pytest.raises(AccessDenied) as exc:
        s3_verifier().verify("GET", "/test.txt", headers, now=NOW)
    assert exc.value.message == "There were headers present in the request which were not signed"
    assert exc.value.details["HeadersNotSigned"] == "x-amz-meta-color"


def test_unsigned_amz_header_rejected_but_unsigned_token_and_others_accepted() -> None:
    s = sign()
    with pytest.raises(AccessDenied):
        s3_verifier().verify("GET", "/test.txt", [*s.headers, ("x-amz-acl", "private")], now=NOW)
    ok = s3_verifier().verify(
        "GET", "/test.txt", [*s.headers, ("User-Agent", "x"), ("X-Trace", "1")], now=NOW
    )
    assert "user-agent" not in ok.signed_headers


def test_host_must_be_signed() -> None:
    s = sign(signed_headers=["x-amz-date"])
    assert "host" in s.signed_headers  # the signer always signs it
    auth = s.authorization.replace("SignedHeaders=host;", "SignedHeaders=")
    with pytest.raises(AccessDenied) as exc:
        s3_verifier().verify("GET", "/test.txt", replace_auth(s, auth), now=NOW)
    assert exc.value.details["HeadersNotSigned"] == "host"


@pytest.mark.parametrize("sign_expect", [True, False])
@pytest.mark.parametrize("send_expect", [True, False])
def test_expect_100_continue(sign_expect: bool, send_expect: bool) -> None:
    headers = {"Expect": "100-continue"}
    kw: dict[str, Any] = {}
    if sign_expect:
        kw["signed_headers"] = ["expect", "content-length"]
        headers["Content-Length"] = "5"
    s = sign("PUT", headers=headers, body=b"hello", **kw)
    assert ("expect" in s.signed_headers.split(";")) == sign_expect
    sent = [(n, v) for n, v in s.headers if send_expect or n.lower() != "expect"]
    ok = s3_verifier().verify("PUT", "/test.txt", sent, b"hello", now=NOW)
    assert ok.read() == b"hello"


def test_signed_header_missing_from_request() -> None:
    s = sign(headers={"Range": "bytes=0-9"})
    headers = [(n, v) for n, v in s.headers if n != "Range"]
    with pytest.raises(SignatureDoesNotMatch, match="'range' is not in the request"):
        s3_verifier().verify("GET", "/test.txt", headers, now=NOW)


# --------------------------------------------------------------------------
# Payload
# --------------------------------------------------------------------------
def test_payload_hash_mismatch_bytes() -> None:
    s = sign("PUT", body=b"hello")
    with pytest.raises(XAmzContentSHA256Mismatch) as exc:
        verify_signed(s3_verifier(), s, b"hellO")
    assert exc.value.status == 400
    assert exc.value.details["ClientComputedContentSHA256"] == s.payload_hash


def test_payload_hash_checked_while_streaming() -> None:
    body = [b"a" * 1000, b"b" * 1000, b"c" * 1000]
    s = sign("PUT", body=b"".join(body))
    ok = verify_signed(s3_verifier(), s, iter(body))
    assert b"".join(ok.body) == b"".join(body)  # type: ignore[arg-type]

    tampered = [b"a" * 1000, b"b" * 1000, b"c" * 999 + b"X"]
    ok = verify_signed(s3_verifier(), s, iter(tampered))
    released = []
    with pytest.raises(XAmzContentSHA256Mismatch):
        for piece in ok.body:  # type: ignore[union-attr]
            released.append(piece)
    # The last piece, the one that completes the body, never came out.
    assert b"".join(released) == b"a" * 1000 + b"b" * 1000


def test_payload_from_file_object() -> None:
    data = b"xyz" * 50000
    s = sign("PUT", body=data)
    ok = verify_signed(s3_verifier(), s, io.BytesIO(data))
    assert ok.read() == data


def test_content_length_shorter_body_is_incomplete() -> None:
    s = sign("PUT", headers={"Content-Length": "10"}, body=b"0123456789")
    with pytest.raises(IncompleteBody):
        verify_signed(s3_verifier(), s, iter([b"01234"])).read()


def test_unsigned_payload() -> None:
    s = sign("PUT", body=b"anything", payload="unsigned")
    ok = verify_signed(s3_verifier(), s, b"something else")
    assert ok.payload_hash == "UNSIGNED-PAYLOAD" and ok.read() == b"something else"


def test_bad_content_sha256_value() -> None:
    s = sign()
    headers = [(n, "nope" if n == "X-Amz-Content-SHA256" else v) for n, v in s.headers]
    with pytest.raises(InvalidArgument, match="x-amz-content-sha256 must be") as exc:
        s3_verifier().verify("GET", "/test.txt", headers, now=NOW)
    assert exc.value.details["ArgumentName"] == "x-amz-content-sha256"


def test_missing_content_sha256_hashes_body_or_is_required() -> None:
    s = sign("POST", body=b"Action=x", service="sqs")
    assert "x-amz-content-sha256" not in s.signed_headers
    v = Verifier({AKID: SECRET}, "us-east-1", "sqs")
    assert verify_signed(v, s, b"Action=x").payload_hash == s.payload_hash
    with pytest.raises(SignatureDoesNotMatch):
        verify_signed(v, s, b"Action=y")
    # A one-shot stream is spooled (never held whole in memory) to hash it.
    assert verify_signed(v, s, iter([b"Action", b"=x"])).read() == b"Action=x"
    strict = Verifier({AKID: SECRET}, "us-east-1", "sqs", require_content_sha256=True)
    with pytest.raises(InvalidRequest, match="Missing required header"):
        verify_signed(strict, s, b"Action=x")


# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------
TOKEN = "FwoGZXIvYXdzEJr//////////wEaDHx+token=="


def test_session_token_from_credentials_store() -> None:
    creds = Credentials(AKID, SECRET, TOKEN)
    s = sign(creds=creds)
    v = Verifier({AKID: creds}, "us-east-1", "s3")
    assert verify_signed(v, s).has_session_token
    other = Verifier({AKID: Credentials(AKID, SECRET, "other")}, "us-east-1", "s3")
    with pytest.raises(InvalidToken) as exc:
        verify_signed(other, s)
    assert TOKEN not in str(exc.value) and TOKEN not in exc.value.to_xml()
    with pytest.raises(InvalidToken):
        verify_signed(v, sign())  # no token at all


def test_token_check_callback() -> None:
    creds = Credentials(AKID, SECRET, TOKEN)
    s = sign(creds=creds)
    seen: list[tuple[str, str]] = []

    def check(akid: str, token: str) -> bool:
        seen.append((akid, token))
        return token == TOKEN

    assert verify_signed(s3_verifier(token_check=check), s)
    assert seen == [(AKID, TOKEN)]
    with pytest.raises(InvalidToken):
        verify_signed(s3_verifier(token_check=lambda a, t: False), s)

    from sigv4kit.errors import ExpiredToken

    def expired(akid: str, token: str) -> bool:
        raise ExpiredToken()

    with pytest.raises(ExpiredToken):
        verify_signed(s3_verifier(token_check=expired), s)


def test_token_redacted_in_debug_fields() -> None:
    creds = Credentials(AKID, SECRET, TOKEN)
    s = sign(creds=creds)
    v = Verifier({AKID: SECRET[::-1]}, "us-east-1", "s3")
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verify_signed(v, s)
    e = exc.value
    assert TOKEN not in str(e) and TOKEN not in repr(e)
    assert TOKEN not in (e.canonical_request or "") and TOKEN not in e.to_xml()
    assert "x-amz-security-token:<redacted>" in (e.canonical_request or "")
    url = Signer(creds, "us-east-1", "s3").presign("GET", URL, timestamp=NOW)
    with pytest.raises(SignatureDoesNotMatch) as exc:
        v.verify("GET", url, {}, now=NOW)
    assert "X-Amz-Security-Token=<redacted>" in (exc.value.canonical_request or "")
    assert "FwoGZXIvYXdzEJr" not in exc.value.to_xml()
    shown = Verifier({AKID: SECRET[::-1]}, "us-east-1", "s3", show_token=True)
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verify_signed(shown, s)
    assert TOKEN in (exc.value.canonical_request or "")


# --------------------------------------------------------------------------
# SignatureDoesNotMatch XML
# --------------------------------------------------------------------------
def test_signature_does_not_match_xml_shape() -> None:
    s = sign()
    v = Verifier({AKID: "wrong-secret"}, "us-east-1", "s3")
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verify_signed(v, s)
    e = exc.value
    assert e.canonical_request == s.canonical_request
    assert e.string_to_sign == s.string_to_sign
    assert e.signature_provided == s.signature
    root = ET.fromstring(e.to_xml())
    assert [c.tag for c in root] == [
        "Code",
        "Message",
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
        "CanonicalRequest",
        "CanonicalRequestBytes",
    ]
    assert root.findtext("CanonicalRequest") == s.canonical_request
    assert root.findtext("StringToSignBytes", "").split()[:4] == ["41", "57", "53", "34"]
    quiet = Verifier({AKID: "wrong-secret"}, "us-east-1", "s3", include_debug=False)
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verify_signed(quiet, s)
    assert [c.tag for c in ET.fromstring(exc.value.to_xml())] == [
        "Code",
        "Message",
        "AWSAccessKeyId",
    ]


# --------------------------------------------------------------------------
# SigV4a
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "region_set,ok",
    [
        (["us-east-1"], True),
        (["*"], True),
        (["us-west-2", "us-east-1"], True),
        (["us-*"], True),
        (["eu-west-1"], False),
    ],
)
def test_v4a_region_set(region_set: list[str], ok: bool) -> None:
    s = sign(algorithm="sigv4a", region_set=region_set)
    v = s3_verifier()
    if ok:
        got = verify_signed(v, s)
        assert got.scope.region_set == tuple(region_set)
    else:
        with pytest.raises(AuthorizationHeaderMalformed, match="region set"):
            verify_signed(v, s)


def test_v4a_public_key_store_rejects_v4() -> None:
    from sigv4kit.v4a import public_key_for

    v = Verifier({AKID: public_key_for(AKID, SECRET)}, "us-east-1", "s3")
    assert verify_signed(v, sign(algorithm="sigv4a")).algorithm == "AWS4-ECDSA-P256-SHA256"
    with pytest.raises(AccessDenied, match="SigV4a public key"):
        verify_signed(v, sign())


# --------------------------------------------------------------------------
# Lookups: sync and async
# --------------------------------------------------------------------------
def test_callable_lookup() -> None:
    calls: list[str] = []

    def lookup(akid: str) -> str | None:
        calls.append(akid)
        return SECRET if akid == AKID else None

    v = Verifier(lookup, "us-east-1", "s3")
    assert verify_signed(v, sign())
    assert calls == [AKID]


def test_async_lookup_needs_averify() -> None:
    async def lookup(akid: str) -> str | None:
        await asyncio.sleep(0)
        return SECRET if akid == AKID else None

    v = Verifier(lookup, "us-east-1", "s3")
    with pytest.raises(SigningError, match="averify"):
        verify_signed(v, sign())
    s = sign("PUT", body=b"abc")

    async def run() -> bytes:
        async def body() -> Any:
            yield b"a"
            yield b"bc"

        ok = await v.averify("PUT", target_of(s.url), list(s.headers), body(), now=NOW)
        return await ok.aread()

    assert asyncio.run(run()) == b"abc"


def test_averify_async_token_check_and_sync_lookup() -> None:
    creds = Credentials(AKID, SECRET, TOKEN)
    s = sign(creds=creds)

    async def check(akid: str, token: str) -> bool:
        return token == TOKEN

    v = Verifier({AKID: SECRET}, "us-east-1", "s3", token_check=check)

    async def run() -> VerifiedRequest:
        return await v.averify("GET", target_of(s.url), list(s.headers), now=NOW)

    assert asyncio.run(run()).has_session_token
    with pytest.raises(SigningError, match="averify"):
        verify_signed(v, s)


def test_averify_async_body_needing_hash_is_spooled() -> None:
    s = sign("POST", body=b"Action=x", service="sqs")
    v = Verifier({AKID: SECRET}, "us-east-1", "sqs")

    async def run(data: list[bytes]) -> bytes:
        async def body() -> Any:
            for d in data:
                yield d

        ok = await v.averify("POST", target_of(s.url), list(s.headers), body(), now=NOW)
        return await ok.aread()

    assert asyncio.run(run([b"Act", b"ion=x"])) == b"Action=x"
    with pytest.raises(SignatureDoesNotMatch):
        asyncio.run(run([b"Act", b"ion=y"]))


def test_raw_request_helper_roundtrip() -> None:
    # A request file as the CLI reads it verifies too.
    s = sign("PUT", headers={"Content-Type": "text/plain"}, body=b"hi")
    lines = [f"PUT {target_of(s.url)} HTTP/1.1"] + [f"{n}: {v}" for n, v in s.headers]
    raw: RawRequest = parse_raw_request(("\r\n".join(lines) + "\r\n\r\nhi").encode())
    ok = s3_verifier().verify(raw.method, raw.target, raw.headers, raw.body, now=NOW)
    assert ok.read() == b"hi"


def test_every_failure_is_a_signature_error() -> None:
    s = sign()
    for bad in ("", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ,,,", "AWS4-X a=b"):
        with pytest.raises(SignatureError):
            s3_verifier().verify("GET", "/test.txt", replace_auth(s, bad), now=NOW)


@pytest.mark.parametrize("name,case,kind,path", SIGNED, ids=[s[0] for s in SIGNED])
def test_rebuilt_canonical_request_is_the_suites(
    name: str, case: SuiteCase, kind: str, path: Path
) -> None:
    """What the verifier rebuilds from the received request is, byte for byte,
    the canonical request and string to sign the suite says were signed."""
    req = parse_raw_request(path.read_bytes())
    ctx: dict[str, Any] = case.context  # type: ignore[assignment]
    wrong = Verifier(
        {"AKIDEXAMPLE": "not-the-secret"},
        ctx["region"],
        ctx["service"],
        normalize_path=ctx["normalize"],
        show_token=True,
    )
    with pytest.raises(SignatureDoesNotMatch) as exc:
        wrong.verify(req.method, req.target, req.headers, req.body, now=suite_now(case))
    expected = case.folder / f"{kind}-canonical-request.txt"
    if not expected.exists():  # some v4a cases ship one canonical request for both
        expected = case.folder / "canonical-request.txt"
    if ctx.get("omit_session_token") and kind == "query":
        # The token was appended after signing; the first canonical request
        # tried includes it, the suite's does not.
        return
    assert exc.value.canonical_request == expected.read_text()
    if kind == "header":
        # ... and what canonical_request_for_target makes of the same request.
        import hashlib

        from sigv4kit.canonical import canonical_request_for_target

        signed = exc.value.canonical_request.split("\n")[-2].split(";")
        cr = canonical_request_for_target(
            req.method,
            req.target,
            req.headers,
            hashlib.sha256(req.body).hexdigest(),
            normalize_path=ctx["normalize"],
            signed_headers=signed,
        )
        assert cr.text == exc.value.canonical_request
    sts = case.folder / f"{kind}-string-to-sign.txt"
    assert exc.value.string_to_sign == sts.read_text()


def test_same_secret_object_for_two_keys_v4a() -> None:
    shared = "".join(["wJalrXUtnFEMI/K7MDENG+", "bPxRfiCYEXAMPLEKEY"])
    v = Verifier({"AKIDONE": shared, "AKIDTWO": shared}, "us-east-1", "s3")
    for akid in ("AKIDONE", "AKIDTWO", "AKIDONE"):
        s = sign(creds=Credentials(akid, shared), algorithm="sigv4a")
        assert verify_signed(v, s).access_key_id == akid


def test_bytes_headers_as_asgi_gives_them() -> None:
    s = sign("PUT", headers={"X-Amz-Meta-Name": "café"}, body=b"x")
    raw = [(n.lower().encode(), v.encode()) for n, v in s.headers]
    for _ in range(2):  # second time through the memoized names
        ok = s3_verifier().verify(b"PUT", b"/test.txt", raw, b"x", now=NOW)  # type: ignore[arg-type]
        assert ok.read() == b"x"


def test_benchmark_runs() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench_verify.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "a S3 GET (header)" in out and "goal: verify <= 1.5x sign" in out


# --------------------------------------------------------------------------
# Hostile input: only typed errors
# --------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = [
    "AWS4-HMAC-SHA256",
    "AWS4-ECDSA-P256-SHA256",
    " ",
    ",",
    "=",
    "/",
    ";",
    "Credential=",
    "SignedHeaders=",
    "Signature=",
    "AKIDEXAMPLE",
    "20130524",
    "us-east-1",
    "s3",
    "aws4_request",
    "host",
    "x-amz-date",
    "é",
    "\t",
    "0" * 64,
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=5), max_size=25).map("".join))
def test_fuzz_authorization_header(auth: str) -> None:
    headers = [
        ("Host", "examplebucket.s3.amazonaws.com"),
        ("X-Amz-Date", "20130524T000000Z"),
        ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
        ("Authorization", auth),
    ]
    with pytest.raises(SignatureError):
        s3_verifier().verify("GET", "/test.txt", headers, now=NOW)


_QPIECES = [
    "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    "X-Amz-Credential=AKIDEXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request",
    "X-Amz-Date=20130524T000000Z",
    "X-Amz-Expires=",
    "X-Amz-SignedHeaders=host",
    "X-Amz-Signature=",
    "X-Amz-Security-Token=",
    "X-Amz-Region-Set=",
    "x-amz-signature=",
    "&",
    "=",
    "%",
    "%2",
    "+",
    "9",
    "-1",
    "604801",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_QPIECES) | st.text(max_size=4), max_size=20).map("".join))
def test_fuzz_presigned_query(query: str) -> None:
    try:
        s3_verifier().verify(
            "GET", "/test.txt?" + query, {"Host": "examplebucket.s3.amazonaws.com"}, now=NOW
        )
    except SignatureError:
        pass
    else:  # pragma: no cover - a forged query never verifies
        raise AssertionError(f"accepted {query!r}")


@settings(max_examples=200, deadline=None)
@given(
    date=st.text(max_size=30) | st.sampled_from(["Fri, 24 May 2013 00:00:00 GMT", "20130524"]),
    sha=st.text(max_size=70),
    length=st.text(max_size=5) | st.sampled_from(["²", "0", "-1", "٣", "9" * 5000, "\ud800"]),
)
def test_fuzz_date_sha_length(date: str, sha: str, length: str) -> None:
    # (hypothesis' text() includes lone surrogates, as a hostile decoder could)
    s = sign()
    headers = [
        (n, date if n == "X-Amz-Date" else sha if n == "X-Amz-Content-SHA256" else v)
        for n, v in s.headers
        if "\r" not in v
    ] + [("Content-Length", length)]
    try:
        s3_verifier().verify("GET", "/test.txt", headers, b"", now=NOW).read()
    except SignatureError:
        pass


def test_averify_bytes_body_needing_hash() -> None:
    # A non-S3 request without x-amz-content-sha256: the signature covers the
    # body's hash; averify with plain bytes (what middleware passes for small
    # bodies) must hash them, not try to spool an async stream.
    s = sign("POST", body=b"Action=x", service="sqs")
    v = Verifier({AKID: SECRET}, "us-east-1", "sqs")

    async def run(body: bytes) -> bytes:
        ok = await v.averify("POST", target_of(s.url), list(s.headers), body, now=NOW)
        return await ok.aread()

    assert asyncio.run(run(b"Action=x")) == b"Action=x"
    with pytest.raises(SignatureDoesNotMatch):
        asyncio.run(run(b"Action=y"))
    get = sign("GET", service="sqs")
    ok = asyncio.run(v.averify("GET", target_of(get.url), list(get.headers), b"", now=NOW))
    assert ok.read() == b""


@pytest.mark.parametrize("value", ["\ud800", "9" * 5000, "\x00", "a" * 20000])
def test_hostile_values_in_signed_headers_and_token(value: str) -> None:
    creds = Credentials(AKID, SECRET, "token")
    s = sign(creds=creds, headers={"X-Amz-Meta-A": "1"})
    for name in ("X-Amz-Meta-A", "X-Amz-Security-Token", "Host"):
        headers = [(n, value if n == name else v) for n, v in s.headers]
        with pytest.raises(SignatureError) as exc:
            Verifier({AKID: creds}, "us-east-1", "s3").verify("GET", "/test.txt", headers, now=NOW)
        exc.value.to_xml()  # renders: no lone surrogate reaches the XML
    url = Signer(Credentials(AKID, SECRET), "us-east-1", "s3").presign("GET", URL, timestamp=NOW)
    with pytest.raises(AuthorizationQueryParametersError):
        s3_verifier().verify(
            "GET", url.replace("X-Amz-Expires=3600", "X-Amz-Expires=" + "9" * 5000), {}, now=NOW
        )
