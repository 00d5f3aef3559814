"""sigv4kit.server.wsgi.SigV4Middleware: Flask under Werkzeug's real server, and boto3 on it."""

from __future__ import annotations

import hashlib
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from server_support import AK, SK, WRONG, corrupt_chunk, data, later, sha, signer, verifier
from sigv4kit.server import verified_request
from sigv4kit.server.wsgi import SigV4Middleware, VerifiedInput

flask = pytest.importorskip("flask")
werkzeug_serving = pytest.importorskip("werkzeug.serving")


def make_app(**options: Any) -> Any:
    """A tiny object store in Flask; enough for boto3's put/get/head/delete."""
    app = flask.Flask("sigv4kit-test")
    store: dict[str, bytes] = {}
    app.config["seen"] = seen = []

    @app.route("/<bucket>/<path:key>", methods=["PUT", "GET", "HEAD", "DELETE"])
    def obj(bucket: str, key: str) -> Any:
        req = flask.request
        ok = verified_request(req.environ)
        seen.append(
            {
                "access_key_id": ok.access_key_id,
                "auth_type": ok.auth_type,
                "content_length": req.environ.get("CONTENT_LENGTH"),
                "content_encoding": req.environ.get("HTTP_CONTENT_ENCODING"),
            }
        )
        name = f"{bucket}/{key}"
        if req.method == "PUT":
            body = req.get_data()
            store[name] = body
            return "", 200, {"ETag": f'"{hashlib.md5(body).hexdigest()}"'}
        if name not in store:
            return "", 404
        if req.method == "DELETE":
            del store[name]
            return "", 204
        body = store[name]
        return body, 200, {"ETag": f'"{hashlib.md5(body).hexdigest()}"'}

    @app.route("/<bucket>", methods=["PUT"])
    def bucket(bucket: str) -> Any:
        return "", 200

    app.wsgi_app = SigV4Middleware(app.wsgi_app, verifier(), **options)  # type: ignore[method-assign]
    return app


@pytest.fixture
def served() -> Iterator[tuple[str, Any]]:
    app = make_app()
    server = werkzeug_serving.make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        t.join(10)
        server.server_close()


def error(r: requests.Response) -> dict[str, str]:
    root = ET.fromstring(r.content)
    return {child.tag: child.text or "" for child in root}


def put(url: str, body: Any, secret: str = SK, **kw: Any) -> requests.Response:
    signed = signer(secret, checksum=kw.pop("checksum", None)).sign("PUT", url, body=body, **kw)
    content = signed.body if signed.body is not None else b""
    return requests.put(signed.url, headers=dict(signed.headers), data=content, timeout=30)


def test_put_get_through_flask(served: tuple[str, Any]) -> None:
    base, app = served
    body = data(250_000)
    r = put(f"{base}/b/dir/a%20b.bin", body)
    assert r.status_code == 200, r.text
    signed = signer().sign("GET", f"{base}/b/dir/a%20b.bin")
    r = requests.get(signed.url, headers=dict(signed.headers), timeout=30)
    assert r.status_code == 200 and r.content == body
    assert app.config["seen"][-1]["access_key_id"] == AK


def test_wrong_secret_and_replay(served: tuple[str, Any]) -> None:
    base, _ = served
    r = put(f"{base}/b/k", b"data", secret=WRONG)
    assert r.status_code == 403 and error(r)["Code"] == "SignatureDoesNotMatch"
    assert error(r)["Resource"] == "/b/k"
    assert r.headers["x-amz-error-code"] == "SignatureDoesNotMatch"
    late = make_app(clock=later(20 * 60))
    with late.test_client() as tc:
        signed = signer().sign("GET", "http://localhost/b/k")
        r2 = tc.get("/b/k", headers=dict(signed.headers))
        assert r2.status_code == 403 and b"<Code>RequestTimeTooSkewed</Code>" in r2.data


def test_presigned(served: tuple[str, Any]) -> None:
    base, _ = served
    assert put(f"{base}/b/p", b"presigned").status_code == 200
    url = signer().presign("GET", f"{base}/b/p", expires=60)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"presigned"


@pytest.mark.parametrize("mode", ["streaming", "streaming-trailer", "streaming-unsigned-trailer"])
def test_aws_chunked_with_content_length(served: tuple[str, Any], mode: str) -> None:
    base, app = served
    body = data(300_000)
    checksum = "crc32" if "trailer" in mode else None
    r = put(f"{base}/b/chunked", body, payload=mode, checksum=checksum)
    assert r.status_code == 200, r.text
    seen = app.config["seen"][-1]
    # Werkzeug limits wsgi.input to CONTENT_LENGTH: it must be the decoded length
    assert seen["content_length"] == str(len(body)) and seen["content_encoding"] is None
    assert seen["auth_type"] == mode
    signed = signer().sign("GET", f"{base}/b/chunked")
    assert requests.get(signed.url, headers=dict(signed.headers), timeout=30).content == body


def test_aws_chunked_sent_with_transfer_encoding_chunked(served: tuple[str, Any]) -> None:
    """What the JS SDK does: aws-chunked framing inside HTTP chunked, no Content-Length."""
    base, _ = served
    body = data(200_000)
    signed = signer(checksum="crc32").sign(
        "PUT", f"{base}/b/te", body=body, payload="streaming-unsigned-trailer"
    )
    headers = {k: v for k, v in signed.headers if k.lower() != "content-length"}
    framed = b"".join(signed.body)
    pieces = (framed[i : i + 10_000] for i in range(0, len(framed), 10_000))
    r = requests.put(signed.url, headers=headers, data=pieces, timeout=30)
    assert r.status_code == 200, r.text
    g = signer().sign("GET", f"{base}/b/te")
    assert requests.get(g.url, headers=dict(g.headers), timeout=30).content == body


def test_body_failures_replace_flasks_500(served: tuple[str, Any]) -> None:
    base, _ = served
    body = data(100_000)
    signed = signer().sign("PUT", f"{base}/b/x", body=body)
    r = requests.put(signed.url, headers=dict(signed.headers), data=body[::-1], timeout=30)
    assert r.status_code == 400 and error(r)["Code"] == "XAmzContentSHA256Mismatch"

    chunked = signer().sign("PUT", f"{base}/b/x", body=body, payload="streaming")
    framed = corrupt_chunk(b"".join(chunked.body), 1)
    r = requests.put(chunked.url, headers=dict(chunked.headers), data=framed, timeout=30)
    assert r.status_code == 403 and error(r)["Code"] == "SignatureDoesNotMatch"
    probe = signer().sign("GET", f"{base}/b/x")
    assert requests.get(probe.url, headers=dict(probe.headers), timeout=30).status_code == 404


def test_boto3_against_flask(served: tuple[str, Any]) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    base, _ = served
    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=base,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    body = data(120_000)
    s3.put_object(Bucket="flaskb", Key="k/ü x", Body=body)
    assert s3.get_object(Bucket="flaskb", Key="k/ü x")["Body"].read() == body
    assert s3.head_object(Bucket="flaskb", Key="k/ü x")["ContentLength"] == len(body)
    s3.delete_object(Bucket="flaskb", Key="k/ü x")


def test_verified_input_is_a_readable_stream() -> None:
    stream = VerifiedInput(iter([b"line one\nline", b" two\n", b"", b"three"]))
    assert stream.readable()
    assert stream.readline() == b"line one\n"
    assert stream.read(4) == b"line"
    assert list(stream) == [b" two\n", b"three"]
    assert stream.read() == b""


def test_chunked_without_input_terminated_is_refused() -> None:
    seen: list[Any] = []

    def app(environ: Any, start_response: Any) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [])
        return [b""]

    mw = SigV4Middleware(app, verifier())
    signed = signer().sign("PUT", "http://h.test/b/k", body=b"abc", payload="unsigned")
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/b/k",
        "QUERY_STRING": "",
        "wsgi.input": None,
        "HTTP_TRANSFER_ENCODING": "chunked",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed.headers},
    }
    status: list[str] = []
    out = b"".join(mw(environ, lambda s, h, e=None: status.append(s)))  # type: ignore[misc]
    assert status == ["411 Length Required"] and b"MissingContentLength" in out and not seen
    assert sha(b"") not in out.decode()
