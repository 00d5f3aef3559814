"""Hostname inference for ``request``/``explain``, and reading servers' error bodies."""

from __future__ import annotations

import pytest

from sigv4kit.cli._hosts import infer_scope
from sigv4kit.diagnose import parse_error_body
from sigv4kit.errors import SignatureDoesNotMatch


@pytest.mark.parametrize(
    ("host", "region", "service"),
    [
        ("examplebucket.s3.amazonaws.com", "us-east-1", "s3"),
        ("s3.amazonaws.com", "us-east-1", "s3"),
        ("bucket.s3.eu-west-1.amazonaws.com", "eu-west-1", "s3"),
        ("bucket.s3-us-west-2.amazonaws.com", "us-west-2", "s3"),
        ("bucket.s3.dualstack.ap-south-1.amazonaws.com", "ap-south-1", "s3"),
        ("s3-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", "s3"),
        ("ap-1234.s3-accesspoint.us-east-1.amazonaws.com", "us-east-1", "s3"),
        ("dynamodb.us-east-1.amazonaws.com", "us-east-1", "dynamodb"),
        ("sqs.eu-central-1.amazonaws.com:443", "eu-central-1", "sqs"),
        ("ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", "ec2"),
        ("bedrock-runtime.us-west-2.amazonaws.com", "us-west-2", "bedrock"),
        ("email.us-east-1.amazonaws.com", "us-east-1", "ses"),
        ("abc123.execute-api.us-east-2.amazonaws.com", "us-east-2", "execute-api"),
        ("xyz.lambda-url.eu-west-1.on.aws", "eu-west-1", "lambda"),
        ("search-logs-abc.us-east-1.es.amazonaws.com", "us-east-1", "es"),
        ("iam.amazonaws.com", "us-east-1", "iam"),
        ("sts.amazonaws.com", "us-east-1", "sts"),
        ("sts.eu-west-3.amazonaws.com", "eu-west-3", "sts"),
        ("0123abcd.r2.cloudflarestorage.com", "auto", "s3"),
        ("0123abcd.eu.r2.cloudflarestorage.com", "auto", "s3"),
        ("s3.us-west-004.backblazeb2.com", "us-west-004", "s3"),
        ("my-space.nyc3.digitaloceanspaces.com", "nyc3", "s3"),
        ("s3.eu-central-1.wasabisys.com", "eu-central-1", "s3"),
        ("storage.googleapis.com", "auto", "s3"),
        ("s3.fr-par.scw.cloud", "fr-par", "s3"),
    ],
)
def test_inferred(host: str, region: str, service: str) -> None:
    guess = infer_scope(host)
    assert guess is not None
    assert (guess.region, guess.service) == (region, service)
    assert region in guess.note() and service in guess.note()


@pytest.mark.parametrize("host", ["localhost:9000", "127.0.0.1", "[::1]:9000", "example.com"])
def test_not_inferred(host: str) -> None:
    assert infer_scope(host) is None


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
