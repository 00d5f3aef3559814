"""Signer -> Verifier round trips on generated requests.

Hypothesis builds requests (paths with spaces, ``+``, UTF-8, dot segments;
repeated and empty query parameters; header values with runs of spaces;
bodies; tokens) and signs them with header auth and presigned URLs, SigV4 and
SigV4a, for S3 and for a double-encoding service.  The Verifier must accept
exactly what was sent, and reject it once the signed content changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigv4kit import Credentials, Signer
from sigv4kit.errors import SignatureError
from sigv4kit.verifier import Verifier

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjE+/token=="
NOW = datetime(2024, 2, 29, 23, 59, 30, tzinfo=timezone.utc)

segment = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-_.~ +%=!$&'()*,;:@é日")), min_size=0, max_size=8
)
path = st.lists(segment, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s))
qtext = st.text(alphabet=st.sampled_from(list("abcXYZ09-_.~ +/=?é*")), max_size=6)
query = st.lists(st.tuples(qtext.filter(bool), qtext), max_size=4)
header_value = st.text(
    alphabet=st.sampled_from(list("abc XYZ 0 9\t,;=/")), min_size=1, max_size=12
).filter(lambda s: s.strip() != "")
headers = st.dictionaries(
    st.sampled_from(["X-Amz-Meta-Color", "Content-Type", "Range", "My-Header", "X-Amz-Acl"]),
    header_value,
    max_size=3,
)
body = st.binary(max_size=300)


def _target(url: str) -> str:
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def _url(p: str, q: list[tuple[str, str]]) -> str:
    qs = "&".join(f"{k}={v}" for k, v in q)
    # '%' that does not start an escape must be written as %25 in a URL.
    p = p.replace("%", "%25")
    qs = qs.replace("%", "%25")
    return f"https://bucket.example.com{p}" + (f"?{qs}" if qs else "")


def _verifier(service: str, **kw: Any) -> Verifier:
    return Verifier(
        {AKID: Credentials(AKID, SECRET, kw.pop("token", None))}, "us-west-2", service, **kw
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    p=path,
    q=query,
    h=headers,
    b=body,
    service=st.sampled_from(["s3", "execute-api"]),
    alg=st.sampled_from(["sigv4", "sigv4a"]),
    token=st.sampled_from([None, TOKEN]),
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
)
def test_header_round_trip(
    p: str,
    q: list[tuple[str, str]],
    h: dict[str, str],
    b: bytes,
    service: str,
    alg: str,
    token: str | None,
    method: str,
) -> None:
    creds = Credentials(AKID, SECRET, token)
    signer = Signer(creds, "us-west-2", service, algorithm=alg)
    s = signer.sign(method, _url(p, q), headers=h, body=b, timestamp=NOW)
    v = _verifier(service, token=token)
    ok = v.verify(method, _target(s.url), list(s.headers), b, now=NOW + timedelta(seconds=40))
    assert ok.read() == b
    assert ok.has_session_token == (token is not None)
    assert ";".join(ok.signed_headers) == s.signed_headers
    # Streamed in pieces it verifies too.
    pieces = [b[i : i + 7] for i in range(0, len(b), 7)]
    assert v.verify(method, s.url, list(s.headers), iter(pieces), now=NOW).read() == b
    # Any change of the signed content is refused.
    with pytest.raises(SignatureError):
        v.verify(
            method,
            _target(s.url) + ("&" if "?" in s.url else "?") + "extra=1",
            list(s.headers),
            b,
            now=NOW,
        )
    with pytest.raises(SignatureError):
        v.verify(method, _target(s.url), list(s.headers), b + b"!", now=NOW).read()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    p=path,
    q=query,
    service=st.sampled_from(["s3", "execute-api"]),
    alg=st.sampled_from(["sigv4", "sigv4a"]),
    token=st.sampled_from([None, TOKEN]),
    expires=st.integers(1, 604800),
    signed_extra=st.booleans(),
    b=body,
)
def test_presign_round_trip(
    p: str,
    q: list[tuple[str, str]],
    service: str,
    alg: str,
    token: str | None,
    expires: int,
    signed_extra: bool,
    b: bytes,
) -> None:
    creds = Credentials(AKID, SECRET, token)
    signer = Signer(creds, "us-west-2", service, algorithm=alg)
    extra = {"X-Amz-Meta-Tag": "v  1"} if signed_extra else None
    url = signer.presign("PUT", _url(p, q), headers=extra, expires=expires, timestamp=NOW, body=b)
    sent = [("Host", "bucket.example.com"), *(extra or {}).items()]
    v = _verifier(service, token=token)
    ok = v.verify("PUT", _target(url), sent, b, now=NOW + timedelta(seconds=expires))
    assert ok.auth_type == "presigned" and ok.expires == expires
    assert ok.read() == b
    with pytest.raises(SignatureError):
        v.verify("PUT", _target(url), sent, b, now=NOW + timedelta(seconds=expires + 1))
    if signed_extra:
        changed = [("Host", "bucket.example.com"), ("X-Amz-Meta-Tag", "v 2")]
        with pytest.raises(SignatureError):
            v.verify("PUT", _target(url), changed, b, now=NOW)


@settings(max_examples=25, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=40000),
    mode=st.sampled_from(["streaming", "streaming-trailer", "streaming-unsigned-trailer"]),
    alg=st.sampled_from(["sigv4", "sigv4a"]),
    piece=st.integers(1, 9000),
)
def test_streaming_round_trip(data: bytes, mode: str, alg: str, piece: int) -> None:
    signer = Signer(
        Credentials(AKID, SECRET),
        "us-west-2",
        "s3",
        algorithm=alg,
        payload=mode,
        checksum=None if mode == "streaming" else "sha256",
        chunk_size=8192,
    )
    s = signer.sign("PUT", "https://bucket.example.com/obj", body=data, timestamp=NOW)
    enc = b"".join(s.body)
    v = _verifier("s3")
    ok = v.verify(
        "PUT",
        "/obj",
        list(s.headers),
        [enc[i : i + piece] for i in range(0, len(enc), piece)],
        now=NOW,
    )
    assert ok.read() == data
