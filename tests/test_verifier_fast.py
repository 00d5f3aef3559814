"""The Verifier's fast road (sigv4kit.verify.fast) against the general road.

The fast road verifies a repeated header-signed or presigned SigV4 request in
one function and returns None for anything else.  These tests hold it to two
rules: what it accepts, the general road accepts with the same result; and
every refusal of the general road is a None from the fast road (it never
accepts what the general road refuses), for each check it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from sigv4kit import Credentials, Signer, Verifier
from sigv4kit.errors import SignatureError
from sigv4kit.verify.fast import fast_verify
from sigv4kit.verify.flow import drive_sync, verification

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "session-token-example"
URL = "https://examplebucket.s3.amazonaws.com/photos/a%20b.txt?versionId=3"
NOW = 1700000000.0
AMZ = "20231114T221320Z"  # NOW as an amz date

Request = tuple[str, str, list[tuple[str, str]], bytes]


def _target(url: str) -> str:
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def _header(
    method: str = "GET",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    token: str | None = None,
    service: str = "s3",
    **kw: Any,
) -> Request:
    signer = Signer(Credentials(AK, SK, token), "us-east-1", service, **kw)
    signed = signer.sign(method, URL, headers or [("Range", "bytes=0-9")], body, timestamp=NOW)
    return method, _target(signed.url), list(signed.headers), body


def _presigned(token: str | None = None, headers: list[tuple[str, str]] | None = None) -> Request:
    signer = Signer(Credentials(AK, SK, token), "us-east-1", "s3")
    url = signer.presign("GET", URL, headers=headers, expires=600, timestamp=NOW)
    sent = [("Host", "examplebucket.s3.amazonaws.com"), *(headers or [])]
    return "GET", _target(url), sent, b""


def _verifier(token: str | None = None, service: str = "s3", **kw: Any) -> Verifier:
    value: Any = (SK, token) if token else SK
    return Verifier({AK: value}, "us-east-1", service, **kw)


def _general(vr: Verifier, req: Request, now: float = NOW) -> Any:
    m, t, h, b = req
    return drive_sync(vr, verification(vr, (m, t, h, b, now), True))


def _fields(ok: Any) -> tuple[Any, ...]:
    return (
        ok.access_key_id,
        ok.algorithm,
        ok.auth_type,
        ok.scope,
        ok.signed_headers,
        ok.amz_date,
        ok.payload_hash,
        ok.has_session_token,
        ok.read(),
        ok.signature,
        ok.form,
        ok.expires,
        tuple(ok.trailers),
        ok.string_to_sign,
    )


ACCEPTED: dict[str, Callable[[], tuple[Verifier, Request]]] = {
    "header GET": lambda: (_verifier(), _header()),
    "header PUT with a body": lambda: (
        _verifier(),
        _header("PUT", b"x" * 100, [("Content-Type", "text/plain"), ("Content-Length", "100")]),
    ),
    "header, unsigned payload": lambda: (_verifier(), _header(payload="unsigned")),
    "header, session token": lambda: (_verifier(TOKEN), _header(token=TOKEN)),
    "header, body hash signed (no x-amz-content-sha256)": lambda: (
        _verifier(service="execute-api"),
        _header("POST", b'{"a": 1}', [("Content-Type", "application/json")], service="execute-api"),
    ),
    "presigned GET": lambda: (_verifier(), _presigned()),
    "presigned GET with a signed header": lambda: (
        _verifier(),
        _presigned(headers=[("x-amz-meta-a", "1")]),
    ),
    "presigned GET, session token": lambda: (_verifier(TOKEN), _presigned(TOKEN)),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_fast_road_accepts_as_the_general_road(case: str) -> None:
    vr, req = ACCEPTED[case]()
    general = _fields(_general(vr, req))  # also fills the memos
    fast = fast_verify(vr, (*req, NOW))
    assert fast is not None, "a repeated request should take the fast road"
    assert _fields(fast) == general
    assert _fields(vr.verify(*req, now=NOW)) == general


def _with(req: Request, name: str, value: str | None) -> Request:
    m, t, h, b = req
    h = [(n, v) for n, v in h if n.lower() != name.lower()]
    if value is not None:
        h.append((name, value))
    return m, t, h, b


def _swap_signature(sig: str) -> str:
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


def _tamper_auth(req: Request) -> Request:
    m, t, h, b = req
    return m, t, [(n, _swap_signature(v) if n == "Authorization" else v) for n, v in h], b


def _tamper_query(req: Request) -> Request:
    m, t, h, b = req
    return m, _swap_signature(t), h, b


# (how to change a request the verifier accepted, the verifier's settings)
REFUSED: dict[str, tuple[Callable[[], tuple[Verifier, Request]], Callable[[Request], Request]]] = {
    "header: signature": (ACCEPTED["header GET"], _tamper_auth),
    "header: unsigned x-amz-* header": (
        ACCEPTED["header GET"],
        lambda r: _with(r, "X-Amz-Meta-Evil", "1"),
    ),
    "header: signed header missing": (ACCEPTED["header GET"], lambda r: _with(r, "Range", None)),
    "header: signed header changed": (
        ACCEPTED["header GET"],
        lambda r: _with(r, "Range", "bytes=0-99"),
    ),
    "header: date outside the skew": (
        ACCEPTED["header GET"],
        lambda r: _with(r, "X-Amz-Date", "20231114T230000Z"),
    ),
    "header: body not the declared hash": (
        ACCEPTED["header PUT with a body"],
        lambda r: (r[0], r[1], r[2], b"y" * 100),
    ),
    "header: Content-Length not the body's": (
        ACCEPTED["header PUT with a body"],
        lambda r: (r[0], r[1], r[2], b"x" * 99),
    ),
    "header: claimed hash not hex": (
        ACCEPTED["header GET"],
        lambda r: _with(r, "X-Amz-Content-SHA256", "z" * 64),
    ),
    "header: token missing": (
        ACCEPTED["header, session token"],
        lambda r: _with(r, "X-Amz-Security-Token", None),
    ),
    "header: token changed": (
        ACCEPTED["header, session token"],
        lambda r: _with(r, "X-Amz-Security-Token", TOKEN + "x"),
    ),
    "header: a header over max_header_length": (
        ACCEPTED["header GET"],
        lambda r: _with(r, "User-Agent", "u" * 40000),
    ),
    "header and query auth together": (
        ACCEPTED["header GET"],
        lambda r: (r[0], r[1] + "&X-Amz-Signature=00", r[2], r[3]),
    ),
    "presigned: signature": (ACCEPTED["presigned GET"], _tamper_query),
    "presigned: signature not the last parameter": (
        ACCEPTED["presigned GET"],
        lambda r: (r[0], r[1] + "&x=1", r[2], r[3]),
    ),
    "presigned: unsigned x-amz-* header": (
        ACCEPTED["presigned GET"],
        lambda r: _with(r, "X-Amz-Meta-Evil", "1"),
    ),
    "presigned: signed header changed": (
        ACCEPTED["presigned GET with a signed header"],
        lambda r: _with(r, "x-amz-meta-a", "2"),
    ),
    "presigned: host changed": (
        ACCEPTED["presigned GET"],
        lambda r: _with(r, "Host", "other.s3.amazonaws.com"),
    ),
    "presigned: token in the store, other token sent": (
        lambda: (_verifier(TOKEN + "x"), _presigned(TOKEN)),
        lambda r: r,
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_fast_road_never_accepts_a_refusal(case: str) -> None:
    make, change = REFUSED[case]
    vr, req = make()
    try:
        _general(vr, req)  # fill the memos with the untampered request
    except SignatureError:
        pass
    bad = change(req)
    assert fast_verify(vr, (*bad, NOW)) is None
    with pytest.raises(SignatureError):
        vr.verify(*bad, now=NOW)


@pytest.mark.parametrize(
    ("case", "now"),
    [("presigned GET", NOW + 601), ("presigned GET", NOW - 3600), ("header GET", NOW + 901)],
)
def test_fast_road_time_window(case: str, now: float) -> None:
    vr, req = ACCEPTED[case]()
    _general(vr, req)
    assert fast_verify(vr, (*req, now)) is None
    with pytest.raises(SignatureError):
        vr.verify(*req, now=now)


def test_fast_road_leaves_the_rest_to_the_general_road() -> None:
    vr, req = ACCEPTED["header GET"]()
    m, t, h, b = req
    assert fast_verify(vr, (m, t, h, b, NOW)) is None  # memos empty: parsed on the general road
    _general(vr, req)
    assert fast_verify(vr, (m, t, h, b, NOW)) is not None
    # Not taken: a file body, header tuples, an absolute-form target, a lookup callable.
    assert fast_verify(vr, (m, t, h, iter([b]), NOW)) is None
    assert fast_verify(vr, (m, t, tuple(h), b, NOW)) is None
    assert fast_verify(vr, (m, "https://examplebucket.s3.amazonaws.com" + t, h, b, NOW)) is None
    lookup = Verifier(lambda akid: SK, "us-east-1", "s3")
    assert lookup.verify(m, t, h, b, now=NOW).access_key_id == AK
    assert fast_verify(lookup, (m, t, h, b, NOW)) is None
