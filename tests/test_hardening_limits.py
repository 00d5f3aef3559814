"""Limits a hostile client cannot push past, and rejection before expensive work.

Each limit is checked the same way: its default is the documented one; a
request exactly at the limit passes; one unit over is refused with the
limit's own error (``exc.limit`` names the option, ``exc.value`` its
setting) and S3's code; the option moves the limit; a nonsensical setting
is refused.  Then: a request that is refused for its headers never has its
body read, however large (a 1 GiB body that counts what was read of it),
directly and through the ASGI middleware.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from fuzz.common import (
    AKID,
    HOST,
    NOW,
    REGION,
    SECRET,
    URL,
    CountingBody,
    creds,
    signer,
    verifier,
)
from sigv4kit.errors import (
    AccessDenied,
    InvalidAccessKeyId,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SignatureError,
    SigningError,
)
from sigv4kit.post_policy import (
    MaxPostPreDataLengthExceeded,
    MultipartHeaderTooLong,
    MultipartParser,
    PolicyTooLarge,
    presign_post,
    read_post_form,
    verify_post,
)
from sigv4kit.rawhttp import RawRequestTooLarge, parse_raw_request
from sigv4kit.streaming import (
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    ChunkDecoder,
    ChunkLineTooLongError,
    ChunkTooLargeError,
    TooManyChunksError,
)
from sigv4kit.verifier import (
    AuthorizationHeaderTooLong,
    QueryTooLong,
    RequestHeaderTooLong,
    TooManySignedHeaders,
    TooManySignedHeadersInQuery,
    Verifier,
)

PATH = URL.split(HOST, 1)[1]
GiB = 1 << 30


def verify(v: Verifier, method: str, target: str, headers: Any, body: Any = b"") -> bytes:
    return bytes(v.verify(method, target, headers, body, now=NOW).read())


def refused(
    exc_type: type[SignatureError], limit: str, value: int, code: str, fn: Callable[[], object]
) -> None:
    with pytest.raises(exc_type) as info:
        fn()
    exc = info.value
    assert exc.limit == limit  # type: ignore[attr-defined]
    assert exc.value == value  # type: ignore[attr-defined]
    assert exc.code == code and 400 <= exc.status < 500
    assert limit in exc.message


# ---------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------
def test_documented_defaults() -> None:
    v = Verifier({AKID: SECRET}, REGION, "s3")
    assert (v.max_auth_length, v.max_query_length, v.max_signed_headers, v.max_header_length) == (
        16384,
        24576,
        100,
        32768,
    )
    assert (v.max_chunk_size, v.max_chunk_header_length, v.max_chunks) == (
        16 * 1024 * 1024,
        4096,
        1 << 20,
    )
    assert v.max_header_length > v.max_auth_length + len("authorization")
    assert (v.max_policy_bytes, v.max_form_bytes, v.max_form_parts) == (65536, 1 << 20, 1000)


@pytest.mark.parametrize(
    "option",
    [
        "max_auth_length",
        "max_query_length",
        "max_signed_headers",
        "max_header_length",
        "max_chunk_size",
        "max_chunk_header_length",
        "max_chunks",
        "max_policy_bytes",
        "max_form_bytes",
        "max_form_parts",
    ],
)
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_nonsense_settings_are_refused(option: str, bad: object) -> None:
    with pytest.raises(SigningError, match=option):
        Verifier({AKID: SECRET}, REGION, "s3", **{option: bad})


# ---------------------------------------------------------------------------
# Request head
# ---------------------------------------------------------------------------
def test_authorization_header_length() -> None:
    s = signer().sign("GET", URL, timestamp=NOW)
    n = len(s.authorization)
    assert verify(verifier(max_auth_length=n), "GET", PATH, s.headers) == b""
    refused(
        AuthorizationHeaderTooLong,
        "max_auth_length",
        n - 1,
        "AuthorizationHeaderMalformed",
        lambda: verify(verifier(max_auth_length=n - 1), "GET", PATH, s.headers),
    )
    huge = [(k, v + " " * 20000 if k == "Authorization" else v) for k, v in s.headers]
    refused(
        AuthorizationHeaderTooLong,
        "max_auth_length",
        16384,
        "AuthorizationHeaderMalformed",
        lambda: verify(verifier(), "GET", PATH, huge),
    )


def test_presigned_query_length() -> None:
    url = signer().presign(
        "GET", URL + "?" + "&".join(f"p{i}=v" for i in range(50)), expires=600, timestamp=NOW
    )
    target = url.split(HOST, 1)[1]
    n = len(target.partition("?")[2])
    headers = [("Host", HOST)]
    assert verify(verifier(max_query_length=n), "GET", target, headers) == b""
    refused(
        QueryTooLong,
        "max_query_length",
        n - 1,
        "AuthorizationQueryParametersError",
        lambda: verify(verifier(max_query_length=n - 1), "GET", target, headers),
    )
    long_target = target + "&pad=" + "x" * 30000
    refused(
        QueryTooLong,
        "max_query_length",
        24576,
        "AuthorizationQueryParametersError",
        lambda: verify(verifier(), "GET", long_target, headers),
    )


def _many_headers(k: int) -> list[tuple[str, str]]:
    return [(f"X-H{i:03d}", "v") for i in range(k)]


def test_number_of_signed_headers() -> None:
    s = signer().sign("GET", URL, _many_headers(20), timestamp=NOW)
    k = len(s.signed_headers.split(";"))
    assert verify(verifier(max_signed_headers=k), "GET", PATH, s.headers) == b""
    refused(
        TooManySignedHeaders,
        "max_signed_headers",
        k - 1,
        "AuthorizationHeaderMalformed",
        lambda: verify(verifier(max_signed_headers=k - 1), "GET", PATH, s.headers),
    )
    url = signer().presign("GET", URL, headers=_many_headers(20), expires=600, timestamp=NOW)
    target = url.split(HOST, 1)[1]
    headers = [("Host", HOST), *_many_headers(20)]
    assert verify(verifier(max_signed_headers=21), "GET", target, headers) == b""
    refused(
        TooManySignedHeadersInQuery,
        "max_signed_headers",
        20,
        "AuthorizationQueryParametersError",
        lambda: verify(verifier(max_signed_headers=20), "GET", target, headers),
    )
    # The default: 101 names are refused before any of them is looked at.
    many = signer().sign("GET", URL, _many_headers(101), timestamp=NOW)
    refused(
        TooManySignedHeaders,
        "max_signed_headers",
        100,
        "AuthorizationHeaderMalformed",
        lambda: verify(verifier(), "GET", PATH, many.headers),
    )


def test_header_line_length() -> None:
    value = "x" * 1000
    s = signer().sign("GET", URL, [("X-Big", value)], timestamp=NOW)
    n = len("x-big") + len(value)
    assert verify(verifier(max_header_length=n), "GET", PATH, s.headers) == b""
    refused(
        RequestHeaderTooLong,
        "max_header_length",
        n - 1,
        "RequestHeaderSectionTooLarge",
        lambda: verify(verifier(max_header_length=n - 1), "GET", PATH, s.headers),
    )
    # Unsigned headers count too, and the check comes before the signature.
    big = [*s.headers, ("User-Agent", "u" * 40000)]
    refused(
        RequestHeaderTooLong,
        "max_header_length",
        32768,
        "RequestHeaderSectionTooLarge",
        lambda: verify(verifier(), "GET", PATH, big),
    )


# ---------------------------------------------------------------------------
# aws-chunked bodies
# ---------------------------------------------------------------------------
def _streamed(chunk_size: int, size: int) -> tuple[Any, bytes, bytes]:
    data = bytes(range(256)) * (size // 256)
    s = signer(payload="streaming", chunk_size=chunk_size).sign(
        "PUT", URL, body=data, timestamp=NOW
    )
    return s, data, b"".join(s.body)


def test_chunk_size() -> None:
    s, data, enc = _streamed(65536, 65536 * 2)
    assert verify(verifier(max_chunk_size=65536), "PUT", PATH, s.headers, [enc]) == data
    refused(
        ChunkTooLargeError,
        "max_chunk_size",
        65535,
        "InvalidChunkSizeError",
        lambda: verify(verifier(max_chunk_size=65535), "PUT", PATH, s.headers, [enc]),
    )


def test_chunk_too_large_is_refused_at_its_header() -> None:
    """A chunk announcing 1 GiB is refused on its header line: none of its
    data is read or buffered."""
    dec = ChunkDecoder(STREAMING_UNSIGNED_PAYLOAD_TRAILER)
    with pytest.raises(ChunkTooLargeError) as info:
        dec.feed(f"{GiB:x}\r\n".encode())
    assert info.value.value == 16 * 1024 * 1024
    assert dec.bytes_out == 0


def test_chunk_header_length() -> None:
    """A header line that never ends is refused once it outgrows the limit,
    whatever the size of the pieces it comes in."""
    for limit in (64, 4096):
        dec = ChunkDecoder(STREAMING_UNSIGNED_PAYLOAD_TRAILER, max_line_length=limit)
        fed = 0
        with pytest.raises(ChunkLineTooLongError) as info:
            while True:
                dec.feed(b"a")
                fed += 1
        assert fed == limit and info.value.value == limit
        assert info.value.code == "IncompleteBody"
        dec = ChunkDecoder(STREAMING_UNSIGNED_PAYLOAD_TRAILER, max_line_length=limit)
        with pytest.raises(ChunkLineTooLongError):
            dec.feed(b"a" * (limit + 1) + b"\r\n")
    # Through the Verifier: the SigV4 chunk header is 83 bytes with its CRLF.
    s, data, enc = _streamed(8192, 8192 * 2)
    line = enc.index(b"\r\n") + 2
    assert verify(verifier(max_chunk_header_length=line), "PUT", PATH, s.headers, [enc]) == data
    refused(
        ChunkLineTooLongError,
        "max_line_length",
        line - 1,
        "IncompleteBody",
        lambda: verify(verifier(max_chunk_header_length=line - 1), "PUT", PATH, s.headers, [enc]),
    )


def test_number_of_chunks() -> None:
    """Unsigned-trailer bodies may use tiny chunks: their number is bounded
    (the final empty chunk counts)."""
    data = b"0123456789" * 10
    s = signer(payload="streaming-unsigned-trailer", checksum="crc32").sign(
        "PUT", URL, body=data, timestamp=NOW
    )
    enc = b"".join(s.body)
    trailer = enc[enc.index(b"\r\n0\r\n") + 5 :]
    tiny = b"".join(b"1\r\n" + data[i : i + 1] + b"\r\n" for i in range(len(data)))
    body = tiny + b"0\r\n" + trailer
    headers = [(n, str(len(body)) if n.lower() == "content-length" else v) for n, v in s.headers]
    assert verify(verifier(max_chunks=101), "PUT", PATH, headers, [body]) == data
    refused(
        TooManyChunksError,
        "max_chunks",
        100,
        "InvalidChunkSizeError",
        lambda: verify(verifier(max_chunks=100), "PUT", PATH, headers, [body]),
    )


# ---------------------------------------------------------------------------
# Browser POST
# ---------------------------------------------------------------------------
BOUNDARY = "hardeningBoundary"


def _post_body(fields: dict[str, str], file: bytes = b"file data") -> tuple[bytes, str]:
    out = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
        for n, v in fields.items()
    ]
    out.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        'filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
    )
    body = "".join(out).encode() + file + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def _post(conditions: list[Any] | None = None, fields: dict[str, str] | None = None) -> Any:
    return presign_post(
        creds(),
        "examplebucket",
        "k/${filename}",
        region=REGION,
        timestamp=NOW,
        fields=fields,
        conditions=conditions,
    )


def _verify_form(v: Verifier, fields: dict[str, str]) -> bytes:
    body, ctype = _post_body(fields)
    headers = [
        ("Host", "examplebucket.s3.amazonaws.com"),
        ("Content-Type", ctype),
        ("Content-Length", str(len(body))),
    ]
    return verify(v, "POST", "/", headers, [body])


def test_policy_document_size() -> None:
    post = _post(
        conditions=[["starts-with", "$x-amz-meta-pad", ""]], fields={"x-amz-meta-pad": "p"}
    )
    n = len(post.fields["policy"])
    assert _verify_form(verifier(max_policy_bytes=n), post.fields) == b"file data"
    refused(
        PolicyTooLarge,
        "max_policy_bytes",
        n - 1,
        "InvalidPolicyDocument",
        lambda: _verify_form(verifier(max_policy_bytes=n - 1), post.fields),
    )
    # verify_post itself, at its default (64 KiB): refused before the policy
    # is hashed or decoded (a forged one is as good as any).
    huge = dict(post.fields, policy="A" * (64 * 1024 + 4))
    refused(
        PolicyTooLarge,
        "max_policy_bytes",
        65536,
        "InvalidPolicyDocument",
        lambda: verify_post(
            huge, bucket="examplebucket", credentials={AKID: SECRET}, region=REGION, now=NOW
        ),
    )


def test_form_size_and_parts() -> None:
    post = _post(
        conditions=[["starts-with", "$x-amz-meta-pad", ""]], fields={"x-amz-meta-pad": "p" * 1000}
    )
    total = sum(len(v) for v in post.fields.values())
    assert _verify_form(verifier(max_form_bytes=total), post.fields) == b"file data"
    refused(
        MaxPostPreDataLengthExceeded,
        "max_form_bytes",
        total - 1,
        "MaxPostPreDataLengthExceeded",
        lambda: _verify_form(verifier(max_form_bytes=total - 1), post.fields),
    )
    k = len(post.fields) + 1  # the file is a part too
    assert _verify_form(verifier(max_form_parts=k), post.fields) == b"file data"
    refused(
        MaxPostPreDataLengthExceeded,
        "max_form_parts",
        k - 1,
        "MaxPostPreDataLengthExceeded",
        lambda: _verify_form(verifier(max_form_parts=k - 1), post.fields),
    )
    # The sans-IO reader has the same limits under the parser's names.
    body, ctype = _post_body(post.fields)
    refused(
        MaxPostPreDataLengthExceeded,
        "max_fields_bytes",
        100,
        "MaxPostPreDataLengthExceeded",
        lambda: read_post_form([body], ctype, max_fields_bytes=100),
    )
    refused(
        MaxPostPreDataLengthExceeded,
        "max_parts",
        3,
        "MaxPostPreDataLengthExceeded",
        lambda: read_post_form([body], ctype, max_parts=3),
    )


def test_multipart_part_header_length() -> None:
    head = b'--B\r\nContent-Disposition: form-data; name="' + b"n" * 40000
    for piece in (1 << 20, 1000, 7):
        p = MultipartParser(b"B")
        with pytest.raises(MultipartHeaderTooLong) as info:
            for i in range(0, len(head), piece):
                p.feed(head[i : i + piece])
        assert info.value.limit == "max_header_bytes" and info.value.value == 16384
        assert info.value.code == "MalformedPOSTRequest"
    p = MultipartParser(b"B", max_header_bytes=50)
    ok = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--B--'
    assert p.feed(ok) and p.done


# ---------------------------------------------------------------------------
# Raw request files
# ---------------------------------------------------------------------------
def test_raw_request_limits() -> None:
    def raw(n_headers: int, value: int) -> bytes:
        return (
            b"GET / HTTP/1.1\r\n"
            + b"".join(b"X-%d: %s\r\n" % (i, b"v" * value) for i in range(n_headers))
            + b"\r\n"
        )

    assert len(parse_raw_request(raw(500, 1)).headers) == 500
    for data, kw, limit in (
        (raw(501, 1), {}, "max_headers"),
        (raw(1, 100), {"max_line_length": 50}, "max_line_length"),
        (raw(1, 300 * 1024), {}, "max_head_bytes"),
        (
            b"GET / HTTP/1.1\r\nX: a\r\n" + b" b\r\n" * 40,
            {"max_line_length": 60},
            "max_line_length",
        ),
    ):
        with pytest.raises(RawRequestTooLarge) as info:
            parse_raw_request(data, **kw)
        assert info.value.limit == limit


# ---------------------------------------------------------------------------
# Rejection before expensive work
# ---------------------------------------------------------------------------
def _put_headers(**kw: Any) -> list[tuple[str, str]]:
    s = signer(**kw).sign(
        "PUT", URL, [("Content-Length", str(GiB))], body=b"", timestamp=NOW, payload="unsigned"
    )
    return [(n, v) for n, v in s.headers]


def _with(headers: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    out = [(n, v) for n, v in headers if n.lower() != name.lower()]
    return out if value is None else [*out, (name, value)]


def _no_sha(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return _with(headers, "x-amz-content-sha256", None)


def _cases() -> list[tuple[str, list[tuple[str, str]], str, type[SignatureError]]]:
    h = _put_headers()
    auth = next(v for n, v in h if n == "Authorization")
    other_key = signer(payload="unsigned").sign(
        "PUT", URL, [("Content-Length", str(GiB))], timestamp=NOW
    )
    unknown = [
        (n, v.replace(AKID, "AKIDUNKNOWN") if n == "Authorization" else v)
        for n, v in other_key.headers
    ]
    no_sha = signer(content_sha256_header=False, signed_headers=["host", "content-length"]).sign(
        "PUT", URL, [("Content-Length", str(GiB))], timestamp=NOW, payload="unsigned"
    )
    no_sha_unknown = [
        (n, v.replace(AKID, "AKIDUNKNOWN") if n == "Authorization" else v)
        for n, v in _no_sha(list(no_sha.headers))
    ]
    return [
        (
            "malformed Authorization",
            _with(h, "Authorization", "AWS4-HMAC-SHA256 garbage"),
            PATH,
            SignatureError,
        ),
        (
            "Authorization too long",
            _with(h, "Authorization", auth + " " * 20000),
            PATH,
            AuthorizationHeaderTooLong,
        ),
        ("header too long", [*h, ("X-Junk", "j" * 40000)], PATH, RequestHeaderTooLong),
        (
            "too many signed headers",
            list(
                signer(payload="unsigned")
                .sign("PUT", URL, _many_headers(120), timestamp=NOW)
                .headers
            ),
            PATH,
            TooManySignedHeaders,
        ),
        ("request time skewed", _with(h, "X-Amz-Date", "20130524T002000Z"), PATH, SignatureError),
        ("unknown access key", unknown, PATH, InvalidAccessKeyId),
        ("unknown key, body hash needed", no_sha_unknown, PATH, InvalidAccessKeyId),
        (
            "wrong signature",
            _with(h, "Authorization", auth[:-1] + ("0" if auth[-1] != "0" else "1")),
            PATH,
            SignatureDoesNotMatch,
        ),
        (
            "expired presigned URL",
            [("Host", HOST), ("Content-Length", str(GiB))],
            signer().presign("PUT", URL, expires=1, timestamp="20130523T000000Z").split(HOST, 1)[1],
            AccessDenied,
        ),
    ]


CASES = _cases()


@pytest.mark.parametrize(("label", "headers", "target", "exc"), CASES, ids=[c[0] for c in CASES])
def test_refused_without_reading_a_1gib_body(
    label: str, headers: list[tuple[str, str]], target: str, exc: type[SignatureError]
) -> None:
    body = CountingBody(GiB)
    t0 = time.perf_counter()
    with pytest.raises(exc):
        ok = verifier().verify("PUT", target, headers, body, now=NOW)
        ok.read()
    assert body.consumed == 0, f"{label}: read {body.consumed} bytes of the body before refusing"
    assert time.perf_counter() - t0 < 1.0


class AsyncCountingBody:
    def __init__(self, total: int) -> None:
        self.inner = CountingBody(total)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[bytes]:
        for piece in self.inner:
            yield piece


@pytest.mark.parametrize(("label", "headers", "target", "exc"), CASES, ids=[c[0] for c in CASES])
def test_refused_without_reading_a_1gib_body_async(
    label: str, headers: list[tuple[str, str]], target: str, exc: type[SignatureError]
) -> None:
    body = AsyncCountingBody(GiB)

    async def run() -> None:
        ok = await verifier().averify("PUT", target, headers, body, now=NOW)
        await ok.aread()

    with pytest.raises(exc):
        asyncio.run(run())
    assert body.inner.consumed == 0, label


@pytest.mark.parametrize(("label", "headers", "target", "exc"), CASES, ids=[c[0] for c in CASES])
def test_middleware_refuses_without_receiving_the_body(
    label: str, headers: list[tuple[str, str]], target: str, exc: type[SignatureError]
) -> None:
    """The ASGI middleware: ``receive()`` is never called for the body, the
    application never runs, the answer is the error's status."""
    from datetime import timezone

    from sigv4kit.server.asgi import SigV4Middleware

    received = 0
    app_called = False
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal app_called
        app_called = True

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"\0" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "method": "PUT",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(n.lower().encode(), v.encode()) for n, v in headers],
    }
    mw = SigV4Middleware(app, verifier(), clock=lambda: NOW.astimezone(timezone.utc))
    asyncio.run(mw(scope, receive, send))
    assert received == 0 and not app_called, label
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == exc.status or 400 <= start["status"] < 500


def test_body_hash_runs_only_for_a_known_key_and_then_streams() -> None:
    """Without x-amz-content-sha256 the signature covers the body's hash: it
    is computed after the key lookup, from the stream, in bounded memory."""
    data = b"x" * (3 * 1024 * 1024)
    s = signer(content_sha256_header=False).sign("PUT", URL, body=data, timestamp=NOW)
    body = CountingBody(len(data), fill=b"x")
    ok = verifier().verify("PUT", PATH, list(s.headers), body, now=NOW)
    assert body.consumed == len(data)  # hashed (spooled) once the key was known
    assert ok.read() == data


def test_large_requests_are_cheap_to_refuse() -> None:
    """Worst cases at the default limits stay in the milliseconds."""
    v = verifier()
    s = signer().sign("GET", URL, timestamp=NOW)
    auth = next(val for n, val in s.headers if n == "Authorization")
    cases = [
        _with(list(s.headers), "Authorization", auth + ",X=" + "y" * 16000),
        _with(list(s.headers), "Authorization", "AWS4-HMAC-SHA256 " + "," * 16000),
        _with(
            list(s.headers),
            "Authorization",
            auth.replace("SignedHeaders=", "SignedHeaders=" + "a;" * 99),
        ),
        [*s.headers, *((f"X-Amz-Meta-{i}", "v" * 1000) for i in range(200))],
    ]
    for headers in cases:
        t0 = time.perf_counter()
        with pytest.raises(SignatureError):
            verify(v, "GET", PATH, headers)
        assert time.perf_counter() - t0 < 0.25
    big_query = PATH + "?" + "&".join(["X-Amz-Algorithm=x"] + [f"a{i}=b" for i in range(3000)])
    t0 = time.perf_counter()
    with pytest.raises(SignatureError):
        verify(v, "GET", big_query, [("Host", HOST)])
    assert time.perf_counter() - t0 < 0.25


def test_policy_base64_and_json_limits_hold_in_verify_post() -> None:
    """A deeply nested (signed) policy is a typed error, not a RecursionError."""
    from sigv4kit.post_policy import sign_policy

    doc = "[" * 50000
    policy = base64.b64encode(doc.encode()).decode()
    form = dict(_post().fields, policy=policy)
    form["x-amz-signature"] = sign_policy(policy, creds(), date="20130524", region=REGION)
    with pytest.raises(SignatureError):
        verify_post(
            form, bucket="examplebucket", credentials={AKID: SECRET}, region=REGION, now=NOW
        )
    ok_doc = json.dumps({"expiration": "2013-05-24T01:00:00Z", "conditions": [[[[1]]]]})
    form["policy"] = base64.b64encode(ok_doc.encode()).decode()
    form["x-amz-signature"] = sign_policy(form["policy"], creds(), date="20130524", region=REGION)
    with pytest.raises(SignatureError):
        verify_post(
            form, bucket="examplebucket", credentials={AKID: SECRET}, region=REGION, now=NOW
        )


def test_skewed_request_error_type() -> None:
    h = _put_headers()
    with pytest.raises(RequestTimeTooSkewed):
        verifier().verify("PUT", PATH, _with(h, "X-Amz-Date", "20130524T002000Z"), b"", now=NOW)
