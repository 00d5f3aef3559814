"""The gateway's decisions as pure functions: rewriting, policy verdicts, payload plans."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from sigv4kit.errors import AccessDenied, ServiceUnavailable, SlowDown
from sigv4kit.gateway.plan import PayloadPlan, PlanError, payload_plan
from sigv4kit.gateway.policy import (
    policy_path,
    policy_verdict,
    rate_verdict,
    replay_verdict,
    store_unavailable,
)
from sigv4kit.gateway.postform import plain_fields
from sigv4kit.gateway.rewrite import (
    ACCESS_KEY_HEADER,
    PRINCIPAL_HEADER,
    encode_principal,
    forward_headers,
    identity_headers,
    plain_headers,
    strip_presign_query,
)


# -- rewrite -------------------------------------------------------------------
def _names(headers: list[tuple[str, str]]) -> list[str]:
    return [n.lower() for n, _ in headers]


def test_credentials_and_hop_by_hop_removed_identity_added() -> None:
    received = [
        ("Host", "gw.example:8080"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/..., Signature=abc"),
        ("X-Amz-Security-Token", "tok"),
        ("X-Amz-Date", "20250101T000000Z"),
        ("X-Amz-Meta-Color", "blue"),
        ("Connection", "keep-alive, X-Custom-Hop"),
        ("X-Custom-Hop", "1"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("Expect", "100-continue"),
        ("Content-Type", "text/plain"),
    ]
    out = forward_headers(received, access_key_id="AKID1", principal="alice")
    names = _names(out)
    for gone in (
        "authorization",
        "x-amz-security-token",
        "connection",
        "x-custom-hop",
        "keep-alive",
        "transfer-encoding",
        "expect",
        "host",
    ):
        assert gone not in names
    assert ("X-Amz-Meta-Color", "blue") in out
    assert ("Content-Type", "text/plain") in out
    assert (ACCESS_KEY_HEADER, "AKID1") in out
    assert (PRINCIPAL_HEADER, "alice") in out


def test_client_cannot_spoof_identity_headers() -> None:
    received = [
        ("x-sigv4kit-access-key-id", "AKIAADMIN"),
        ("X-SIGV4KIT-PRINCIPAL", "root"),
        ("X-Sigv4kit-Anything", "x"),
    ]
    out = forward_headers(received, access_key_id="AKID1", principal="bob")
    assert [v for n, v in out if n.lower() == "x-sigv4kit-access-key-id"] == ["AKID1"]
    assert [v for n, v in out if n.lower() == "x-sigv4kit-principal"] == ["bob"]
    assert "x-sigv4kit-anything" not in _names(out)


def test_aws_chunked_headers_describe_the_decoded_body() -> None:
    received = [
        (b"Content-Length", b"66824"),
        (b"Content-Encoding", b"aws-chunked, gzip"),
        (b"X-Amz-Content-Sha256", b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
        (b"X-Amz-Decoded-Content-Length", b"66560"),
        (b"X-Amz-Trailer", b"x-amz-checksum-crc32"),
    ]
    out = forward_headers(
        received,
        access_key_id="A",
        principal="p",
        payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        decoded_length=66560,
    )
    assert [v for n, v in out if n.lower() == "content-length"] == ["66560"]
    assert [v for n, v in out if n.lower() == "content-encoding"] == ["gzip"]
    for gone in ("x-amz-content-sha256", "x-amz-decoded-content-length", "x-amz-trailer"):
        assert gone not in _names(out)


def test_only_aws_chunked_leaves_content_encoding() -> None:
    out = forward_headers(
        [("Content-Encoding", "aws-chunked")],
        access_key_id="A",
        principal="p",
        payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        decoded_length=0,
    )
    assert "content-encoding" not in _names(out)
    # not streaming: the body is forwarded as is, so its headers stay
    plain = forward_headers(
        [("Content-Length", "5"), ("X-Amz-Content-Sha256", "ab" * 32)],
        access_key_id="A",
        principal="p",
        payload_hash="ab" * 32,
    )
    assert ("Content-Length", "5") in plain and ("X-Amz-Content-Sha256", "ab" * 32) in plain


def test_plain_headers_is_forward_headers_for_a_body_sent_as_is() -> None:
    # The every-request path: the same verdict per header as forward_headers,
    # the kept pairs passed on as received, the identity pair appended.
    received = [
        ("Host", "gw:8080"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=A/..., Signature=ab"),
        ("CONNECTION", "X-Hop, keep-alive"),
        ("x-hop", "1"),
        ("X-SIGV4KIT-PRINCIPAL", "root"),
        ("Content-Encoding", "gzip"),
        ("X-Amz-Content-Sha256", "ab" * 32),
        ("Range", "bytes=0-9"),
    ]
    identity = identity_headers("A", "équipe")
    out = plain_headers(received, identity)
    assert out == forward_headers(received, access_key_id="A", principal="équipe")
    assert list(identity) == [(ACCESS_KEY_HEADER, "A"), (PRINCIPAL_HEADER, "%C3%A9quipe")]
    assert out[-2:] == list(identity)
    assert _names(out[:-2]) == ["content-encoding", "x-amz-content-sha256", "range"]
    assert out[0] is received[5]  # not rebuilt
    # twice: the per-spelling classes are memoized, the verdicts the same
    assert plain_headers(received, identity) == out


def test_plain_headers_memo_never_skips_what_connection_names() -> None:
    # Names seen before are sorted by a memo; a Connection header (never in
    # it) makes every name be looked at again, so a name it lists goes.
    identity = identity_headers("A", "alice")
    plain = [("X-Kept-Before", "1"), ("Range", "bytes=0-9"), ("Authorization", "x")]
    assert plain_headers(plain, identity)[:-2] == plain[:2]
    assert plain_headers(plain, identity)[:-2] == plain[:2]  # from the memo
    hop = [*plain, ("Connection", "x-kept-before")]
    assert plain_headers(hop, identity)[:-2] == [("Range", "bytes=0-9")]
    expected = forward_headers(hop, access_key_id="A", principal="alice")
    assert plain_headers(hop, identity) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab", "/b/k"),
        (
            "/b/k?X-Amz-Credential=a%2Fb&versionId=3&X-Amz-Date=x&x-id=GetObject&"
            "X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=t",
            "/b/k?versionId=3&x-id=GetObject",
        ),
        ("/b/a%20b?X-Amz-Region-Set=us-east-1&z=1&a=2", "/b/a%20b?z=1&a=2"),
        ("/b/k?x-amz-signature=ab&X%2DAmz%2DDate=1&keep", "/b/k?keep"),
        ("/plain", "/plain"),
        ("/q?a=1&b", "/q?a=1&b"),
    ],
)
def test_presign_query_stripped_bytes_and_order_kept(target: str, expected: str) -> None:
    assert strip_presign_query(target) == expected


def test_principal_encoding_is_reversible_ascii() -> None:
    for name in ("alice", "équipe data", "a%b", "tab\there", "日本"):
        enc = encode_principal(name)
        assert enc.isascii() and "\t" not in enc and " " not in enc
        assert unquote(enc) == name
    assert encode_principal("team/read-only@x") == "team/read-only@x"


# -- policy verdicts -----------------------------------------------------------
def test_policy_paths() -> None:
    assert policy_path("/bucket/a%20b?x=1") == "/bucket/a b"
    assert policy_path("") == "/"
    assert policy_path("/bucket", form={"key": "up/x.txt"}) == "/bucket/up/x.txt"
    assert policy_path("/bucket/", form={"key": "k"}) == "/bucket/k"


def test_policy_verdict_maps_refusal_to_access_denied() -> None:
    def read_only(method: str, path: str) -> bool:
        return method in ("GET", "HEAD") and path.startswith("/public/")

    assert policy_verdict(None, "DELETE", "/x") is None
    assert policy_verdict(read_only, "get", "/public/a") is None
    err = policy_verdict(read_only, "PUT", "/public/a")
    assert isinstance(err, AccessDenied) and (err.code, err.status) == ("AccessDenied", 403)
    assert isinstance(policy_verdict(read_only, "GET", "/private/a"), AccessDenied)


def test_replay_verdicts() -> None:
    assert replay_verdict(False, fail_open=False) is None
    replay = replay_verdict(True, fail_open=True)
    assert isinstance(replay, AccessDenied) and replay.status == 403
    down = replay_verdict(None, fail_open=False)
    assert isinstance(down, ServiceUnavailable) and down.status == 503
    assert replay_verdict(None, fail_open=True) is None


def test_rate_and_store_verdicts() -> None:
    assert rate_verdict(True, fail_open=False) is None
    slow = rate_verdict(False, fail_open=True)
    assert isinstance(slow, SlowDown) and (slow.code, slow.status) == ("SlowDown", 503)
    assert isinstance(rate_verdict(None, fail_open=False), ServiceUnavailable)
    assert rate_verdict(None, fail_open=True) is None
    outage = store_unavailable()
    assert (outage.code, outage.status) == ("ServiceUnavailable", 503)
    assert "<Code>ServiceUnavailable</Code>" in outage.to_xml()


# -- payload plans -------------------------------------------------------------
SHA = "a" * 64


def _plan(payload_hash: str, headers: list[tuple[str, str]], **kw: str) -> PayloadPlan:
    return payload_plan(
        auth_type=kw.pop("auth_type", "header"),
        payload_hash=payload_hash,
        headers=headers,
        upstream_scheme=kw.pop("scheme", "http"),
        mode=kw.pop("mode", "auto"),
    )


def test_plan_keeps_a_known_hash_and_unsigned() -> None:
    p = _plan(SHA.upper(), [("Content-Length", "10")])
    assert (p.payload, p.length, p.streaming) == (SHA, 10, False)
    assert _plan("UNSIGNED-PAYLOAD", []) == PayloadPlan("unsigned", None)
    assert _plan(SHA, [], auth_type="presigned").payload == SHA


@pytest.mark.parametrize(
    ("client", "trailer", "scheme", "mode", "expected"),
    [
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", None, "http", "auto", ("streaming", None)),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", None, "https", "auto", ("unsigned", None)),
        (
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            "x-amz-checksum-crc32c",
            "http",
            "auto",
            ("streaming-trailer", "crc32c"),
        ),
        (
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-checksum-sha256",
            "http",
            "streaming",
            ("streaming-trailer", "sha256"),
        ),
        (
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-checksum-crc32",
            "http",
            "unsigned",
            ("unsigned", None),
        ),
        (
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            None,
            "https",
            "streaming",
            ("streaming", None),
        ),
    ],
)
def test_plan_for_aws_chunked(
    client: str, trailer: str | None, scheme: str, mode: str, expected: tuple[str, str | None]
) -> None:
    headers = [("X-Amz-Decoded-Content-Length", "1000"), ("Content-Length", "1200")]
    if trailer:
        headers.append(("X-Amz-Trailer", trailer))
    p = _plan(client, headers, scheme=scheme, mode=mode)
    assert (p.payload, p.checksum) == expected
    assert p.length == 1000  # the decoded length, never the framed one


def test_plan_errors_name_the_problem() -> None:
    with pytest.raises(PlanError, match="X-Amz-Decoded-Content-Length"):
        _plan("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", [])
    with pytest.raises(PlanError, match="decimal"):
        _plan(SHA, [("Content-Length", "ten")])
    with pytest.raises(PlanError, match="one of"):
        _plan(SHA, [], mode="gzip")
    with pytest.raises(PlanError, match="payload hash"):
        _plan("STREAMING-AWS4-HMAC-SHA256-EVENTS", [])
    assert _plan("", [], auth_type="post").payload == "post"


# -- POST forms ------------------------------------------------------------------
def test_post_form_loses_its_authorization_fields() -> None:
    form = {
        "acl": "private",
        "Policy": "eyJ...",
        "X-Amz-Signature": "ab",
        "x-amz-credential": "AKID/20250101/us-east-1/s3/aws4_request",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-date": "20250101T000000Z",
        "x-amz-security-token": "tok",
        "x-amz-meta-tag": "v",
        "key": "up/file.txt",
    }
    assert plain_fields(form) == [
        ("key", "up/file.txt"),
        ("acl", "private"),
        ("x-amz-meta-tag", "v"),
    ]
