"""Issue 18: what the Verifier must refuse and what it tells a replay cache.

1. An absolute-form request target (RFC 9112 section 3.2.2) names the host a
   server routes to; the Host header is then ignored by HTTP.  The Verifier
   refuses a target whose authority is not the signed Host (``AccessDenied``
   naming both), for header auth, presigned URLs and POST forms, SigV4 and
   SigV4a, directly and through the ASGI and WSGI middleware.
2. ``VerifiedRequest.string_to_sign`` is the text that was verified.  SigV4a
   signatures are ECDSA: ``(r, n - s)`` verifies as well as ``(r, s)``.  A
   replay cache keyed on the signature would let the malleated copy through;
   keyed on ``(access_key_id, string_to_sign)`` it recognises it.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timezone
from typing import Any

import pytest

from sigv4kit import Credentials, Signer, Verifier
from sigv4kit.errors import AccessDenied, SignatureDoesNotMatch
from sigv4kit.post_policy import presign_post

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
HOST = "b.s3.amazonaws.com"
ALGORITHMS = ["sigv4", "sigv4a"]


def _signer(algorithm: str) -> Signer:
    if algorithm == "sigv4a":
        pytest.importorskip("cryptography")
        return Signer(
            Credentials(AKID, SECRET), "us-east-1", "s3", algorithm="sigv4a", region_set=["*"]
        )
    return Signer(Credentials(AKID, SECRET), "us-east-1", "s3")


def _verifier() -> Verifier:
    return Verifier({AKID: SECRET}, region="us-east-1", service="s3")


def _header_signed(algorithm: str) -> tuple[list[tuple[str, str]], str]:
    signed = _signer(algorithm).sign("GET", f"https://{HOST}/k?x=1", timestamp=NOW)
    return list(signed.headers), signed.string_to_sign


def _presigned(algorithm: str) -> str:
    url = _signer(algorithm).presign("GET", f"https://{HOST}/k?x=1", expires=600, timestamp=NOW)
    return url.partition(HOST)[2]  # origin form


def _post(algorithm: str) -> tuple[list[tuple[str, str]], bytes]:
    if algorithm == "sigv4a":
        pytest.importorskip("cryptography")
    post = presign_post(
        Credentials(AKID, SECRET),
        "b",
        "k",
        region="us-east-1",
        timestamp=NOW,
        algorithm=algorithm,
        region_set=["*"] if algorithm == "sigv4a" else None,
    )
    boundary = "xYzZY"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode()
        for n, v in post.fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        f"data\r\n--{boundary}--\r\n".encode()
    )
    body = b"".join(parts)
    headers = [
        ("Host", HOST),
        ("Content-Type", f"multipart/form-data; boundary={boundary}"),
        ("Content-Length", str(len(body))),
    ]
    return headers, body


# (absolute target, accepted?) -- compared as HTTP compares authorities
TARGETS = [
    (f"https://{HOST}/k?x=1", True),
    (f"https://{HOST.upper()}/k?x=1", True),
    (f"https://{HOST}:443/k?x=1", True),
    (f"http://{HOST}:80/k?x=1", True),
    (f"https://user@{HOST}/k?x=1", True),
    ("http://evil.example.com/k?x=1", False),
    (f"https://{HOST}:8443/k?x=1", False),
    (f"http://{HOST}:443/k?x=1", False),
    (f"https://{HOST}.evil.example/k?x=1", False),
]


def _absolute(url: str, origin: str) -> str:
    """``url``'s scheme and authority with ``origin``'s path and query."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.partition('/')[0]}{origin}"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("url", "accepted"), TARGETS)
def test_header_auth_absolute_target(algorithm: str, url: str, accepted: bool) -> None:
    headers, _ = _header_signed(algorithm)
    if accepted:
        ok = _verifier().verify("GET", url, headers, b"", now=NOW)
        assert ok.access_key_id == AKID
    else:
        with pytest.raises(AccessDenied, match="signed Host header") as info:
            _verifier().verify("GET", url, headers, b"", now=NOW)
        assert info.value.details["HostHeader"] == HOST
        assert info.value.code == "AccessDenied" and info.value.status == 403


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("url", "accepted"), TARGETS)
def test_presigned_absolute_target(algorithm: str, url: str, accepted: bool) -> None:
    target = _absolute(url, _presigned(algorithm))
    headers = [("Host", HOST)]
    if accepted:
        assert _verifier().verify("GET", target, headers, b"", now=NOW).auth_type == "presigned"
    else:
        with pytest.raises(AccessDenied, match="signed Host header"):
            _verifier().verify("GET", target, headers, b"", now=NOW)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("url", "accepted"), TARGETS)
def test_post_absolute_target(algorithm: str, url: str, accepted: bool) -> None:
    headers, body = _post(algorithm)
    target = _absolute(url, "/")
    if accepted:
        ok = _verifier().verify("POST", target, headers, body, now=NOW)
        assert ok.auth_type == "post" and ok.read() == b"data"
    else:
        with pytest.raises(AccessDenied, match="signed Host header"):
            _verifier().verify("POST", target, headers, body, now=NOW)


def test_absolute_target_without_host_header_uses_its_authority() -> None:
    headers, _ = _header_signed("sigv4")
    no_host = [(n, v) for n, v in headers if n.lower() != "host"]
    assert _verifier().verify("GET", f"https://{HOST}/k?x=1", no_host, b"", now=NOW)
    with pytest.raises(SignatureDoesNotMatch):
        _verifier().verify("GET", "https://evil.example.com/k?x=1", no_host, b"", now=NOW)


# --------------------------------------------------------------------------
# The same rule through the middleware, given the target a server hands over
# --------------------------------------------------------------------------
def _inner_app_asgi(seen: list[Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _asgi_call(target: str, headers: list[tuple[str, str]], body: bytes, algorithm: str) -> int:
    from sigv4kit.server.asgi import SigV4Middleware

    seen: list[Any] = []
    mw = SigV4Middleware(_inner_app_asgi(seen), _verifier(), clock=lambda: NOW)
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET" if not body else "POST",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "headers": [(n.lower().encode(), v.encode()) for n, v in headers],
    }
    sent: list[Any] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(mw(scope, receive, send))
    status = sent[0]["status"]
    assert (status == 200) == bool(seen)
    return int(status)


def _wsgi_call(target: str, headers: list[tuple[str, str]], body: bytes) -> int:
    from sigv4kit.server.wsgi import SigV4Middleware

    seen: list[Any] = []

    def app(environ: Any, start_response: Any) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [])
        return [b"ok"]

    mw = SigV4Middleware(app, _verifier(), clock=lambda: NOW)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET" if not body else "POST",
        "REQUEST_URI": target,
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for n, v in headers:
        key = n.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = v
    status: list[str] = []
    b"".join(mw(environ, lambda s, h, e=None: status.append(s)))
    assert status[0].startswith("200") == bool(seen)
    return int(status[0].split()[0])


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("kind", ["header", "presigned", "post"])
def test_middleware_refuses_a_target_for_another_host(
    server: str, algorithm: str, kind: str
) -> None:
    body = b""
    if kind == "header":
        headers, _ = _header_signed(algorithm)
        origin = "/k?x=1"
    elif kind == "presigned":
        headers, origin = [("Host", HOST)], _presigned(algorithm)
    else:
        headers, body = _post(algorithm)
        origin = "/"
    for url, expected in ((f"https://{HOST}", 200), ("http://evil.example.com", 403)):
        target = url + origin
        if server == "asgi":
            assert _asgi_call(target, headers, body, algorithm) == expected, url
        else:
            assert _wsgi_call(target, headers, body) == expected, url


# --------------------------------------------------------------------------
# What was verified: string_to_sign, and the malleated SigV4a signature
# --------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_verified_request_exposes_the_string_to_sign(algorithm: str) -> None:
    headers, sts = _header_signed(algorithm)
    ok = _verifier().verify("GET", "/k?x=1", headers, b"", now=NOW)
    assert ok.string_to_sign == sts
    assert sts not in repr(ok)
    presigned = _verifier().verify("GET", _presigned(algorithm), [("Host", HOST)], b"", now=NOW)
    assert presigned.string_to_sign.splitlines()[0] == presigned.algorithm
    post_headers, body = _post(algorithm)
    post = _verifier().verify("POST", "/", post_headers, body, now=NOW)
    assert post.form is not None and post.string_to_sign == post.form["policy"]


def _malleate(signature_hex: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order
    r, s = decode_dss_signature(bytes.fromhex(signature_hex))
    return encode_dss_signature(r, n - s).hex()


def test_malleated_sigv4a_signature_verifies_and_is_recognisably_the_same() -> None:
    signed = _signer("sigv4a").sign("GET", f"https://{HOST}/k?x=1", timestamp=NOW)
    headers = list(signed.headers)
    twin_sig = _malleate(signed.signature)
    assert twin_sig != signed.signature
    twin = [
        (n, v.replace(signed.signature, twin_sig) if n.lower() == "authorization" else v)
        for n, v in headers
    ]
    first = _verifier().verify("GET", "/k?x=1", headers, b"", now=NOW)
    second = _verifier().verify("GET", "/k?x=1", twin, b"", now=NOW)  # AWS accepts it too
    # A cache keyed on the signature sees two different requests...
    assert first.signature != second.signature
    # ...keyed on what was verified, it sees the replay.
    assert (first.access_key_id, first.string_to_sign) == (
        second.access_key_id,
        second.string_to_sign,
    )
    # Two honest signatures of one request differ too (ECDSA is randomised).
    again = _signer("sigv4a").sign("GET", f"https://{HOST}/k?x=1", timestamp=NOW)
    third = _verifier().verify("GET", "/k?x=1", list(again.headers), b"", now=NOW)
    assert third.signature != first.signature
    assert third.string_to_sign == first.string_to_sign
