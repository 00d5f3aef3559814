"""Reading servers' error bodies (hostname inference moved to test_endpoints.py)."""

from __future__ import annotations

from sigv4kit.diagnose import parse_error_body
from sigv4kit.errors import SignatureDoesNotMatch


def test_s3_error_body_keeps_every_byte() -> None:
    cr = "GET\n/a%20b\n\nhost:h\nx-amz-meta-n:a  <&>'\"\n\nhost;x-amz-meta-n\nUNSIGNED-PAYLOAD"
    body = SignatureDoesNotMatch(
        canonical_request=cr, string_to_sign="AWS4-HMAC-SHA256\nX\nY\nZ", access_key_id="AK"
    ).to_xml(request_id="R1")
    err = parse_error_body(body)
    assert err.code == "SignatureDoesNotMatch"
    assert err.canonical_request == cr
    assert err.string_to_sign == "AWS4-HMAC-SHA256\nX\nY\nZ"
    assert err.access_key_id == "AK"
    assert err.details == {"RequestId": "R1"}
    # Without the *Bytes elements the text elements are used.
    text_only = (
        body.split("<StringToSignBytes>")[0]
        + "<CanonicalRequest>"
        + body.split("<CanonicalRequest>")[1].split("<CanonicalRequestBytes>")[0]
        + "</Error>"
    )
    assert parse_error_body(text_only).canonical_request == cr


def test_entities_do_nothing_and_size_is_bounded() -> None:
    evil = (
        '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<Error><Code>&b;</Code><Message>x</Message></Error>"
    )
    assert parse_error_body(evil).code == "&b;"
    big = "<Error><Message>" + "x" * (3 << 20) + "</Message></Error>"
    assert len(parse_error_body(big).message) <= 1 << 20
