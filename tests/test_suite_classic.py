"""The classic "AWS Signature Version 4 Test Suite" (botocore's copy): 34 cases."""

from __future__ import annotations

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.rawhttp import parse_raw_request
from suite import CLASSIC_ACCESS_KEY, CLASSIC_SECRET, ClassicCase, classic_cases, is_raw_target

CASES = classic_cases()


def test_suite_is_complete() -> None:
    assert len(CASES) == 34


def _token(case: ClassicCase) -> str | None:
    # The token appears only in the signed request (.sreq), never in .req.
    return parse_raw_request(case.expected("sreq").encode()).header("x-amz-security-token")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_classic_suite(case: ClassicCase) -> None:
    req = case.request
    token = _token(case)
    after = case.name.endswith("post-sts-header-after")
    creds = Credentials(CLASSIC_ACCESS_KEY, CLASSIC_SECRET, token)
    signer = Signer(creds, "us-east-1", "service", sign_session_token=not after)
    amz = req.header("x-amz-date")
    assert amz is not None
    if is_raw_target(req):
        signed = signer.sign_target(req.method, req.target, req.headers, req.body, amz)
    else:
        url = f"https://{req.header('host')}{req.target}"
        signed = signer.sign(req.method, url, req.headers, body=req.body, timestamp=amz)
    creq, sts, authz = signed.canonical_request, signed.string_to_sign, signed.authorization
    expected_headers = parse_raw_request(case.expected("sreq").encode()).headers
    # Authorization is checked against .authz below: upstream's .sreq of
    # get-vanilla-with-session-token carries get-vanilla's signature
    # (5fa00fa3...) although its own .authz and .sts are for the token.
    # Stage by stage, so a failure names the first stage that diverged.
    assert creq == case.expected("creq"), "stage 1: the canonical request"
    assert sts == case.expected("sts"), "stage 2: the string to sign"
    assert authz == case.expected("authz"), "stage 3: the Authorization header"
    assert sorted((n.lower(), v) for n, v in signed.headers if n != "Authorization") == sorted(
        (n.lower(), v.strip()) for n, v in expected_headers if n.lower() != "authorization"
    ), "stage 4: the headers to send"
