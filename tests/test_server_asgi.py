"""sigv4kit.server.asgi.SigV4Middleware: raw ASGI, Starlette, FastAPI and a real uvicorn.

Requests are signed with sigv4kit's own Signer (every payload mode) and sent
through httpx's ASGI transport, which streams the body to the application
piece by piece as a server does; the Expect tests use uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import socket
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import Request as FastAPIRequest

from server_support import (
    AK,
    SK,
    WRONG,
    data,
    later,
    listening_socket,
    serve_in_thread,
    sha,
    signer,
    verifier,
)
from sigv4kit import Signer
from sigv4kit.server import verified_request
from sigv4kit.server.asgi import SigV4Middleware

BASE = "http://s3.test"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Echo:
    """An ASGI app that reads the body through ``receive`` and describes what it got."""

    def __init__(self) -> None:
        self.pieces: list[int] = []
        self.completed = False
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        h = hashlib.sha256()
        size = 0
        while True:
            msg = await receive()
            chunk = msg.get("body", b"")
            if chunk:
                self.pieces.append(len(chunk))
            h.update(chunk)
            size += len(chunk)
            if not msg.get("more_body"):
                break
        self.completed = True
        ok = verified_request(scope)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        info = {
            "access_key_id": ok.access_key_id,
            "signed_headers": list(ok.signed_headers),
            "scope": str(ok.scope),
            "auth_type": ok.auth_type,
            "size": size,
            "sha256": h.hexdigest(),
            "content_length": headers.get("content-length"),
            "content_encoding": headers.get("content-encoding"),
        }
        self.seen.append(info)
        body = json.dumps(info).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


def error(r: httpx.Response) -> dict[str, str]:
    root = ET.fromstring(r.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


async def send_signed(
    c: httpx.AsyncClient,
    method: str,
    path: str,
    body: Any = b"",
    s: Signer | None = None,
    **kw: Any,
) -> httpx.Response:
    signed = (s or signer()).sign(method, BASE + path, body=body, **kw)
    content = signed.body if signed.body is not None else b""
    if isinstance(content, (bytes, bytearray)):
        return await c.request(method, signed.url, headers=signed.headers, content=content)
    return await c.request(method, signed.url, headers=signed.headers, content=b"".join(content))


# --------------------------------------------------------------------------
async def test_verified_get_reaches_the_app_with_its_identity() -> None:
    app = Echo()
    async with client(SigV4Middleware(app, verifier())) as c:
        r = await send_signed(c, "GET", "/bucket/a%20b.txt?list-type=2&prefix=x")
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["access_key_id"] == AK
    assert info["auth_type"] == "header"
    assert "host" in info["signed_headers"] and "x-amz-date" in info["signed_headers"]
    assert info["scope"].endswith("/us-east-1/s3/aws4_request")


async def test_wrong_secret_is_answered_with_s3_xml() -> None:
    app = Echo()
    async with client(SigV4Middleware(app, verifier())) as c:
        r = await send_signed(c, "GET", "/bucket/key", s=signer(WRONG))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/xml"
    e = error(r)
    assert e["Code"] == "SignatureDoesNotMatch"
    assert e["Resource"] == "/bucket/key"
    assert e["AWSAccessKeyId"] == AK
    assert e["RequestId"] == r.headers["x-amz-request-id"]
    assert r.headers["x-amz-error-code"] == "SignatureDoesNotMatch"
    assert e["CanonicalRequest"].startswith("GET\n/bucket/key\n")
    assert e["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert SK not in r.text and WRONG not in r.text
    assert app.seen == []


async def test_debug_fields_follow_the_verifier_setting() -> None:
    async with client(SigV4Middleware(Echo(), verifier(include_debug=False))) as c:
        r = await send_signed(c, "GET", "/bucket/key", s=signer(WRONG))
    assert r.status_code == 403
    assert "CanonicalRequest" not in error(r) and "StringToSign" not in error(r)


async def test_head_errors_have_no_body_but_say_why_in_a_header() -> None:
    async with client(SigV4Middleware(Echo(), verifier())) as c:
        r = await send_signed(c, "HEAD", "/bucket/key", s=signer(WRONG))
    assert r.status_code == 403 and r.content == b""
    assert r.headers["x-amz-error-code"] == "SignatureDoesNotMatch"


async def test_anonymous_request_is_access_denied() -> None:
    async with client(SigV4Middleware(Echo(), verifier())) as c:
        r = await c.get("/bucket/key")
    assert r.status_code == 403 and error(r)["Code"] == "AccessDenied"


async def test_request_replayed_after_the_skew_window() -> None:
    mw = SigV4Middleware(Echo(), verifier(), clock=later(16 * 60))
    async with client(mw) as c:
        r = await send_signed(c, "GET", "/bucket/key")
    e = error(r)
    assert r.status_code == 403 and e["Code"] == "RequestTimeTooSkewed"
    assert e["MaxAllowedSkewMilliseconds"] == "900000"
    assert "RequestTime" in e and "ServerTime" in e
    # within the window the same kind of request passes
    async with client(SigV4Middleware(Echo(), verifier(), clock=later(14 * 60))) as c:
        assert (await send_signed(c, "GET", "/bucket/key")).status_code == 200


async def test_presigned_url() -> None:
    url = signer().presign("GET", BASE + "/bucket/k%2Bey", expires=60)
    async with client(SigV4Middleware(Echo(), verifier())) as c:
        r = await c.get(url)
        assert r.status_code == 200 and r.json()["auth_type"] == "presigned"
        r = await c.get(url.replace("k%2Bey", "k%2Bez"))
        assert r.status_code == 403 and error(r)["Code"] == "SignatureDoesNotMatch"
    async with client(SigV4Middleware(Echo(), verifier(), clock=later(120))) as c:
        r = await c.get(url)
        assert r.status_code == 403 and error(r)["Message"] == "Request has expired"


async def test_signed_payload_reaches_the_app_intact() -> None:
    body = data(300_000)
    async with client(SigV4Middleware(Echo(), verifier())) as c:
        r = await send_signed(c, "PUT", "/bucket/key", body=body)
    assert r.status_code == 200, r.text
    assert r.json()["sha256"] == sha(body) and r.json()["size"] == len(body)


async def test_payload_hash_mismatch_never_completes_the_body() -> None:
    body = data(200_000)
    signed = signer().sign("PUT", BASE + "/bucket/key", body=body)
    tampered = body[:-1] + b"!"
    app = Echo()
    async with client(SigV4Middleware(app, verifier())) as c:
        r = await c.put(signed.url, headers=signed.headers, content=tampered)
    e = error(r)
    assert r.status_code == 400 and e["Code"] == "XAmzContentSHA256Mismatch"
    assert e["ClientComputedContentSHA256"] == sha(body)
    assert e["S3ComputedContentSHA256"] == sha(tampered)
    assert not app.completed  # the last receive() raised instead of ending the body
    assert app.seen == []


@pytest.mark.parametrize("mode", ["streaming", "streaming-trailer", "streaming-unsigned-trailer"])
async def test_aws_chunked_upload_is_decoded_for_the_app(mode: str) -> None:
    body = data(200_000)
    s = signer(checksum="crc32" if "trailer" in mode else None)
    app = Echo()
    async with client(SigV4Middleware(app, verifier())) as c:
        r = await send_signed(c, "PUT", "/bucket/key", body=body, s=s, payload=mode)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["sha256"] == sha(body) and info["size"] == len(body)
    assert info["auth_type"] == mode
    # the app sees the decoded length and no aws-chunked coding
    assert info["content_length"] == str(len(body))
    assert info["content_encoding"] is None


async def test_corrupted_chunk_is_rejected_before_the_app_sees_it() -> None:
    from server_support import corrupt_chunk

    body = data(4 * 65536)
    signed = signer().sign("PUT", BASE + "/bucket/key", body=body, payload="streaming")
    framed = corrupt_chunk(b"".join(signed.body), 2)
    app = Echo()
    async with client(SigV4Middleware(app, verifier())) as c:
        r = await c.put(signed.url, headers=signed.headers, content=framed)
    assert r.status_code == 403 and error(r)["Code"] == "SignatureDoesNotMatch"
    assert sum(app.pieces) <= 2 * 65536  # chunks 0 and 1 only
    assert not app.completed


async def test_large_aws_chunked_upload_is_not_buffered() -> None:
    size = 24 * 1024 * 1024
    s = signer()

    def source() -> Iterator[bytes]:
        block = data(65536)
        for _ in range(size // 65536):
            yield block

    signed = s.sign(
        "PUT",
        BASE + "/bucket/big",
        body=source(),
        payload="streaming",
        headers={"x-amz-decoded-content-length": str(size)},
    )

    async def stream() -> AsyncIterator[bytes]:
        for piece in signed.body:
            yield piece

    app = Echo()
    tracemalloc.start()
    try:
        async with client(SigV4Middleware(app, verifier())) as c:
            r = await c.put(signed.url, headers=signed.headers, content=stream())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 200, r.text
    assert r.json()["size"] == size
    assert peak < 6 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte upload"


async def test_lifespan_passes_through() -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        events.append((await receive())["type"])
        await send({"type": "lifespan.startup.complete"})

    async def receive() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    async def send(message: Any) -> None:
        events.append(message["type"])

    await SigV4Middleware(app, verifier())({"type": "lifespan"}, receive, send)
    assert events == ["lifespan.startup", "lifespan.startup.complete"]


# -- Starlette and FastAPI ----------------------------------------------------
def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def put(request: Request) -> JSONResponse:
        body = await request.body()
        ok = request.scope["sigv4kit"]
        return JSONResponse({"who": ok.access_key_id, "sha256": sha(body)})

    app = Starlette(routes=[Route("/{bucket}/{key:path}", put, methods=["PUT", "GET"])])
    app.add_middleware(SigV4Middleware, verifier=verifier())
    return app


def fastapi_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.api_route("/{bucket}/{key:path}", methods=["PUT", "GET"])
    async def put(bucket: str, key: str, request: FastAPIRequest) -> dict[str, str]:
        body = await request.body()
        return {"who": verified_request(request.scope).access_key_id, "sha256": sha(body)}

    return SigV4Middleware(app, verifier())


@pytest.mark.parametrize("make", [starlette_app, fastapi_app], ids=["starlette", "fastapi"])
async def test_frameworks(make: Any) -> None:
    body = data(150_000)
    async with client(make()) as c:
        r = await send_signed(c, "PUT", "/bucket/some/key", body=body)
        assert r.status_code == 200 and r.json() == {"who": AK, "sha256": sha(body)}
        r = await send_signed(c, "PUT", "/bucket/k", body=body, payload="streaming")
        assert r.status_code == 200 and r.json() == {"who": AK, "sha256": sha(body)}
        r = await send_signed(c, "GET", "/bucket/k", s=signer(WRONG))
        assert r.status_code == 403 and error(r)["Code"] == "SignatureDoesNotMatch"
        # The body fails at its end; the framework would answer 500, the
        # middleware answers with S3's error instead.
        signed = signer().sign("PUT", BASE + "/bucket/k", body=body)
        r = await c.put(signed.url, headers=signed.headers, content=body[::-1])
        assert r.status_code == 400 and error(r)["Code"] == "XAmzContentSHA256Mismatch"


async def test_websocket_handshake_is_verified() -> None:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.scope["sigv4kit"].access_key_id)
        await websocket.close()

    app = SigV4Middleware(Starlette(routes=[WebSocketRoute("/ws", ws)]), verifier())

    async def handshake(headers: list[tuple[str, str]], extensions: dict[str, Any]) -> list[Any]:
        scope = {
            "type": "websocket",
            "path": "/ws",
            "raw_path": b"/ws",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "extensions": extensions,
            "scheme": "ws",
            "server": ("s3.test", 80),
        }
        inbox = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
        sent: list[Any] = []

        async def receive() -> Any:
            return inbox.pop(0)

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    signed = signer().sign("GET", BASE + "/ws")
    sent = await handshake(signed.headers, {})
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == AK
    # unsigned: refused with S3's document where the server can send one ...
    sent = await handshake([("host", "s3.test")], {"websocket.http.response": {}})
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 403
    assert b"<Code>AccessDenied</Code>" in sent[1]["body"]
    # ... else closed with 1008 (policy violation) before it is accepted
    sent = await handshake([("host", "s3.test")], {})
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "AccessDenied"}]


# -- a real server: Expect: 100-continue ----------------------------------------
@pytest.fixture
def uvicorn_echo() -> Iterator[tuple[int, Echo]]:
    uvicorn = pytest.importorskip("uvicorn")
    app = Echo()
    sock = listening_socket()
    config = uvicorn.Config(
        SigV4Middleware(app, verifier()), lifespan="off", log_level="error", http="h11", ws="none"
    )
    with serve_in_thread(uvicorn.Server(config), sock):
        yield sock.getsockname()[1], app
    sock.close()


def _head(port: int, s: Signer, body: bytes) -> tuple[socket.socket, bytes]:
    signed = s.sign(
        "PUT", f"http://127.0.0.1:{port}/bucket/key", body=body, headers={"Expect": "100-continue"}
    )
    lines = [
        "PUT /bucket/key HTTP/1.1",
        *(f"{k}: {v}" for k, v in signed.headers),
        f"Content-Length: {len(body)}",
    ]
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return conn, conn.recv(65536)


@pytest.mark.parametrize("signed_expect", [True, False], ids=["expect-signed", "expect-unsigned"])
def test_expect_100_continue(uvicorn_echo: tuple[int, Echo], signed_expect: bool) -> None:
    port, app = uvicorn_echo
    extra = {"signed_headers": ["expect", "host"]} if signed_expect else {}
    body = data(100_000)
    conn, first = _head(port, signer(**extra), body)
    # verified from the headers alone, then the app's first receive() asks for the body
    assert first.startswith(b"HTTP/1.1 100 "), first
    conn.sendall(body)
    reply = b""
    while b"}" not in reply:
        reply += conn.recv(65536)
    conn.close()
    assert b"HTTP/1.1 200 " in reply and sha(body).encode() in reply
    assert ("expect" in app.seen[-1]["signed_headers"]) is signed_expect

    # a bad signature is refused before the body is asked for, and the
    # connection is closed (the client will not send the body now)
    conn, first = _head(port, signer(WRONG, **extra), body)
    assert first.startswith(b"HTTP/1.1 403 "), first
    assert b"connection: close" in first.lower() and b"SignatureDoesNotMatch" in first
    conn.close()


# -- regression: a verifier bug this file first exposed ----------------------------
async def test_header_signed_request_without_content_sha256_and_no_body() -> None:
    """A non-S3 style request (no x-amz-content-sha256, empty body) through averify.

    ``Verifier.averify`` used to crash here (``TypeError: 'async for' requires
    an object with __aiter__``): it spooled the async body whenever the
    signature covered the body's hash, though a bytes body had already been
    hashed.  curl ``--aws-sigv4`` sends such requests.
    """
    s = signer(content_sha256_header=False)
    async with client(SigV4Middleware(Echo(), verifier())) as c:
        r = await send_signed(c, "GET", "/bucket/key", s=s)
    assert r.status_code == 200, r.text
