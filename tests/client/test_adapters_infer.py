"""Adapters without service=: each request is signed for the scope its host implies.

Signing only (nothing is sent): the scope in the Authorization header must be
what sigv4kit.endpoints.infer says for the request's host, per host.
"""

from __future__ import annotations

import pytest

from sigv4kit import Credentials
from sigv4kit.errors import SigningError

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def _scope(authorization: str) -> tuple[str, str]:
    cred = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return cred[2], cred[3]


def test_requests_adapter_infers_per_host() -> None:
    requests = pytest.importorskip("requests")
    from sigv4kit.client.requests import SigV4Auth

    auth = SigV4Auth(CREDS)
    for url, scope in [
        ("https://bucket.s3.eu-west-1.amazonaws.com/k", ("eu-west-1", "s3")),
        ("https://dynamodb.us-west-2.amazonaws.com/", ("us-west-2", "dynamodb")),
        ("https://abc.lambda-url.ap-south-1.on.aws/", ("ap-south-1", "lambda")),
        (
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke",
            ("us-east-1", "bedrock"),
        ),
    ]:
        prep = auth(requests.Request("GET", url).prepare())
        assert _scope(prep.headers["Authorization"]) == scope, url
    assert auth.signer.config.service == "bedrock"  # the latest host's


def test_repr_before_the_first_request() -> None:
    """repr() of an adapter whose scope comes from each host works before any request
    (there is no Signer yet) and never shows the secret."""
    requests = pytest.importorskip("requests")
    from sigv4kit.client.requests import SigV4Auth

    auth = SigV4Auth(CREDS)
    assert repr(auth) == "SigV4Auth(None, payload='signed')"
    auth(requests.Request("GET", "https://sqs.eu-west-1.amazonaws.com/").prepare())
    assert "eu-west-1" in repr(auth) and CREDS.secret_access_key not in repr(auth)


def test_region_override_and_unknown_host() -> None:
    requests = pytest.importorskip("requests")
    from sigv4kit.client.requests import SigV4Auth

    auth = SigV4Auth(CREDS, region="eu-central-1")
    prep = auth(requests.Request("GET", "https://sqs.us-east-1.amazonaws.com/").prepare())
    assert _scope(prep.headers["Authorization"]) == ("eu-central-1", "sqs")
    with pytest.raises(SigningError, match="region= and service="):
        auth(requests.Request("GET", "http://127.0.0.1:9000/b/k").prepare())
    with pytest.raises(SigningError, match="service="):
        _ = SigV4Auth(CREDS).signer


def test_httpx_adapter_mrap_is_sigv4a() -> None:
    httpx = pytest.importorskip("httpx")
    from sigv4kit.client.httpx import SigV4Auth

    auth = SigV4Auth(CREDS)
    url = "https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com/k"
    flow = auth.sync_auth_flow(httpx.Request("GET", url))
    signed = next(flow)
    assert signed.headers["Authorization"].startswith("AWS4-ECDSA-P256-SHA256 ")
    assert signed.headers["X-Amz-Region-Set"] == "*"
    flow = auth.sync_auth_flow(httpx.Request("GET", "https://sts.amazonaws.com/"))
    assert _scope(next(flow).headers["Authorization"]) == ("us-east-1", "sts")
