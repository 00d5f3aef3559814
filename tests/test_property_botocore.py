"""sigv4kit and botocore sign the same random requests identically.

botocore signs the URL it is given verbatim, so the generated URLs are in the
wire form botocore itself produces (keys quoted with ``safe='/~'``, query
names and values with ``safe='-_.~'``); within that space every canonical
request and signature must be equal.  Known, deliberate differences (a raw
``+`` in a query, see DESIGN.md "Wire form") are outside the generated space.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigv4kit import Credentials, Signer
from sigv4kit.config import DEFAULT_SKIPPED_HEADERS

FIXED = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone.utc)
AMZ = "20240229T235958Z"

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
reserved = st.text(
    alphabet=st.sampled_from(list(" !\"#$%&'()*+,/:;<=>?@[]^`{|}~-._é€𝄞")), max_size=6
)
segment = st.one_of(text, reserved, st.sampled_from(["", ".", "..", "a b", "%41", "x+y"]))
key_parts = st.lists(segment, min_size=1, max_size=5)
query_items = st.lists(
    st.tuples(st.one_of(text, reserved).filter(bool), st.one_of(text, reserved, st.just(""))),
    max_size=6,
)
_RESERVED_NAMES = DEFAULT_SKIPPED_HEADERS | {
    "host",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "content-length",
}
header_name = st.from_regex(r"[A-Za-z][A-Za-z0-9\-_]{0,15}", fullmatch=True).filter(
    lambda n: n.lower() not in _RESERVED_NAMES
)
header_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(["\t", " "]),
    max_size=20,
)
headers_st = st.lists(st.tuples(header_name, header_value), max_size=6)
services = st.sampled_from(["s3", "execute-api", "dynamodb", "lambda", "sts"])
tokens = st.one_of(st.none(), st.text(alphabet="ABCdef0123456789/+=", min_size=1, max_size=40))
methods = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"])
bodies = st.one_of(st.just(b""), st.binary(max_size=300))


def _wire_url(service: str, parts: list[str], query: list[tuple[str, str]]) -> str:
    key = "/".join(parts)
    # What botocore's serializers put in a URL: keys quoted once.
    path = "/" + quote(key, safe="/~")
    host = "bucket.s3.us-west-2.amazonaws.com" if service == "s3" else "api.example.com:8443"
    url = f"https://{host}{path}"
    if query:
        url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    return url


def _botocore_request(
    method: str, url: str, headers: list[tuple[str, str]], body: bytes
) -> AWSRequest:
    req = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        req.headers[name] = value  # HTTPHeaders appends repeated names
    return req


def _botocore_sign(auth: botocore.auth.SigV4Auth, req: AWSRequest) -> tuple[str, str, str]:
    # add_auth's own stages, with the clock pinned.
    req.context["timestamp"] = AMZ
    auth._modify_request_before_signing(req)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    sig = auth.signature(sts, req)
    auth._inject_signature_to_request(req, sig)
    return creq, sts, sig


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(methods, services, key_parts, query_items, headers_st, tokens, bodies)
def test_header_signing_matches_botocore(
    method: str,
    service: str,
    parts: list[str],
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    token: str | None,
    body: bytes,
) -> None:
    url = _wire_url(service, parts, query)
    bcreds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret/+key", token)
    cls = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
    creq, sts, sig = _botocore_sign(
        cls(bcreds, service, "us-west-2"), _botocore_request(method, url, headers, body)
    )

    signer = Signer(Credentials("AKIDEXAMPLE", "secret/+key", token), "us-west-2", service)
    signed = signer.sign(method, url, headers, body=body, timestamp=FIXED)
    assert signed.canonical_request == creq
    assert signed.string_to_sign == sts
    assert signed.signature == sig
    assert signed.url == url


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["GET", "PUT"]),
    services,
    key_parts,
    # botocore's presigner keeps one value per query name (parse_qs), so names are unique here.
    query_items.map(lambda q: list({k: v for k, v in q}.items())),
    headers_st,
    tokens,
    st.integers(min_value=1, max_value=604800),
)
def test_presign_matches_botocore(
    method: str,
    service: str,
    parts: list[str],
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    token: str | None,
    expires: int,
) -> None:
    url = _wire_url(service, parts, query)
    bcreds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret/+key", token)
    cls = botocore.auth.S3SigV4QueryAuth if service == "s3" else botocore.auth.SigV4QueryAuth
    auth = cls(bcreds, service, "us-west-2", expires=expires)
    breq = _botocore_request(method, url, headers, b"")
    creq, sts, sig = _botocore_sign(auth, breq)

    signer = Signer(Credentials("AKIDEXAMPLE", "secret/+key", token), "us-west-2", service)
    signed = signer.presign_request(method, url, headers, expires=expires, timestamp=AMZ)
    assert signed.canonical_request == creq
    assert signed.string_to_sign == sts
    assert signed.signature == sig
    assert f"X-Amz-Signature={sig}" in breq.url
