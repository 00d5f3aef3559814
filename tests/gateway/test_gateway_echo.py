"""The gateway in front of a plain HTTP app that echoes what it was given.

Every signing mode a client uses reaches the app verified, with the identity
headers added, the client's credentials removed and aws-chunked bodies
decoded; every failure is answered by the gateway and never reaches the app.
"""

from __future__ import annotations

import hashlib
import socket
import time
from typing import Any
from xml.etree import ElementTree

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, Echo, InProcessGateway, aws_cli, header, options

requests = pytest.importorskip("requests")

BODY = bytes(range(256)) * 1000 + b"tail"  # 256004 bytes: several 64 KiB chunks


def _only(echo: Echo, target_prefix: str) -> dict[str, Any]:
    recs = [r for r in echo.seen if r["target"].startswith(target_prefix)]
    assert len(recs) == 1, recs
    return recs[0]


def _clean(rec: dict[str, Any], akid: str, name: str) -> None:
    """The identity the gateway vouches for, and nothing of the client's proof."""
    assert header(rec, "X-Sigv4kit-Access-Key-Id") == [akid]
    assert header(rec, "X-Sigv4kit-Principal") == [name]
    assert header(rec, "Authorization") == []
    assert header(rec, "X-Amz-Security-Token") == []
    assert "X-Amz-Signature" not in rec["target"] and "X-Amz-Credential" not in rec["target"]


@pytest.fixture
def key(gateway: InProcessGateway) -> tuple[str, str]:
    return gateway.create_key("alice")


@pytest.mark.parametrize(
    "payload",
    ["signed", "unsigned", "streaming", "streaming-trailer", "streaming-unsigned-trailer"],
)
@pytest.mark.parametrize("algorithm", ["sigv4", "sigv4a"])
def test_every_signing_mode_reaches_the_app_decoded(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str], payload: str, algorithm: str
) -> None:
    akid, secret = key
    kw: dict[str, Any] = {"algorithm": algorithm}
    if algorithm == "sigv4a":
        kw["region_set"] = ["*"]
    if payload.startswith("streaming-") and "trailer" in payload:
        kw["checksum"] = "crc32c"
    signer = Signer(Credentials(akid, secret), REGION, "s3", payload=payload, **kw)
    echo.clear()
    target = f"/bucket/{payload}-{algorithm}/a%20b%2Bc"
    signed = signer.sign("PUT", gateway.url + target, body=BODY)
    body = b"".join(signed.body) if payload.startswith("streaming") else BODY
    r = requests.put(signed.url, headers=signed.headers.as_dict(), data=body, timeout=30)
    assert r.status_code == 200, r.text
    rec = _only(echo, target)
    assert rec["target"] == target  # the path's bytes as the client sent them
    assert rec["complete"] and rec["length"] == len(BODY)
    assert rec["sha256"] == hashlib.sha256(BODY).hexdigest()  # no chunk framing inside
    assert header(rec, "Content-Length") == [str(len(BODY))]
    _clean(rec, akid, "alice")
    if payload.startswith("streaming"):
        for gone in ("X-Amz-Decoded-Content-Length", "X-Amz-Trailer", "X-Amz-Content-Sha256"):
            assert header(rec, gone) == []
        assert "aws-chunked" not in ",".join(header(rec, "Content-Encoding"))


@pytest.mark.parametrize("algorithm", ["sigv4", "sigv4a"])
def test_presigned_url_parameters_are_removed(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str], algorithm: str
) -> None:
    akid, secret = key
    kw: dict[str, Any] = {"algorithm": algorithm}
    if algorithm == "sigv4a":
        kw["region_set"] = ["*"]
    signer = Signer(Credentials(akid, secret, session_token=None), REGION, "s3", **kw)
    echo.clear()
    target = f"/bucket/p-{algorithm}?versionId=7&x=a%2Fb"
    url = signer.presign("GET", gateway.url + target, expires=300)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text
    rec = _only(echo, f"/bucket/p-{algorithm}")
    assert rec["target"] == f"/bucket/p-{algorithm}?versionId=7&x=a%2Fb"
    _clean(rec, akid, "alice")


def test_boto3_put_get_presign_and_browser_post(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str]
) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    akid, secret = key
    s3 = boto3.client(
        "s3",
        endpoint_url=gateway.url,
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
        region_name=REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )
    echo.clear()
    s3.put_object(Bucket="bkt", Key="boto/obj.bin", Body=BODY)
    rec = _only(echo, "/bkt/boto/obj.bin")
    assert rec["sha256"] == hashlib.sha256(BODY).hexdigest() and rec["complete"]
    _clean(rec, akid, "alice")
    got = s3.get_object(Bucket="bkt", Key="boto/get.txt")["Body"].read()
    assert b"/bkt/boto/get.txt" in got
    url = s3.generate_presigned_url("get_object", {"Bucket": "bkt", "Key": "boto/p.txt"}, 60)
    assert requests.get(url, timeout=10).status_code == 200
    _clean(_only(echo, "/bkt/boto/p.txt"), akid, "alice")
    # A browser POST form, built by botocore, sent as a browser would.
    post = s3.generate_presigned_post(
        "bkt",
        "uploads/${filename}",
        Fields={"acl": "private"},
        Conditions=[{"acl": "private"}, ["starts-with", "$key", "uploads/"]],
    )
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("hello.txt", b"hello post")}, timeout=10
    )
    assert r.status_code == 200, r.text
    (rec,) = [x for x in echo.seen if x["method"] == "POST"]
    assert rec["target"] == "/bkt" and rec["complete"]
    _clean(rec, akid, "alice")
    form = rec["head"]
    assert 'name="key"\r\n\r\nuploads/hello.txt\r\n' in form  # ${filename} resolved
    assert 'name="acl"\r\n\r\nprivate\r\n' in form and "hello post" in form
    for gone in ("policy", "x-amz-signature", "x-amz-credential"):
        assert f'name="{gone}"' not in form.lower()


def test_aws_cli_and_minio(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str], tmp_path: Any
) -> None:
    import subprocess

    akid, secret = key
    echo.clear()
    aws, env = aws_cli(akid, secret)
    src = tmp_path / "obj.bin"
    src.write_bytes(BODY)
    proc = subprocess.run(
        [aws, "--endpoint-url", gateway.url, "s3", "cp", str(src), "s3://bkt/cli/obj"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    rec = _only(echo, "/bkt/cli/obj")
    assert rec["length"] == len(BODY) and rec["sha256"] == hashlib.sha256(BODY).hexdigest()
    _clean(rec, akid, "alice")

    minio = pytest.importorskip("minio")
    import io

    client = minio.Minio(
        gateway.url.removeprefix("http://"),
        access_key=akid,
        secret_key=secret,
        secure=False,
        region=REGION,
    )
    client.put_object("bkt", "minio/obj", io.BytesIO(BODY), len(BODY))
    rec = _only(echo, "/bkt/minio/obj")
    assert rec["length"] == len(BODY) and rec["sha256"] == hashlib.sha256(BODY).hexdigest()
    _clean(rec, akid, "alice")


# -- failures are answered by the gateway -------------------------------------------
def _code(r: Any) -> str:
    return str(r.headers.get("x-amz-error-code", ""))


def test_failures_never_reach_the_app(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str]
) -> None:
    from sigv4kit.client.requests import SigV4Auth
    from sigv4kit.keystore import KeyPolicy

    akid, secret = key
    echo.clear()
    unknown = "SV4KNOSUCHKEY0000000"
    cases = [
        (SigV4Auth(Credentials(akid, secret[::-1]), REGION, "s3"), 403, "SignatureDoesNotMatch"),
        (SigV4Auth(Credentials(unknown, secret), REGION, "s3"), 403, "InvalidAccessKeyId"),
        (
            SigV4Auth(Credentials(akid, secret), "eu-west-1", "s3"),
            400,
            "AuthorizationHeaderMalformed",
        ),
        (None, 403, "AccessDenied"),
    ]
    for auth, status, code in cases:
        r = requests.put(gateway.url + "/bucket/x", data=b"data", auth=auth, timeout=10)
        assert (r.status_code, _code(r)) == (status, code), r.text
        assert r.headers["Content-Type"] == "application/xml" and f"<Code>{code}</Code>" in r.text
    # disabled key, and a read-only policy: refused like S3 refuses them
    gateway.call(gateway.store.set_status, akid, "inactive")
    r = requests.get(gateway.url + "/b/x", auth=SigV4Auth(Credentials(akid, secret), REGION, "s3"))
    assert (r.status_code, _code(r)) == (403, "InvalidAccessKeyId")
    ro_akid, ro_secret = gateway.create_key("reader", policy=KeyPolicy.read_only("public"))
    ro = SigV4Auth(Credentials(ro_akid, ro_secret), REGION, "s3")
    assert requests.put(gateway.url + "/public/x", data=b"x", auth=ro).status_code == 403
    r = requests.get(gateway.url + "/private/x", auth=ro)
    assert (r.status_code, _code(r)) == (403, "AccessDenied")
    assert echo.seen == []
    assert requests.get(gateway.url + "/public/x", auth=ro).status_code == 200
    assert len(echo.seen) == 1


def test_client_cannot_claim_an_identity(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str]
) -> None:
    from sigv4kit.client.requests import SigV4Auth

    akid, secret = key
    echo.clear()
    r = requests.get(
        gateway.url + "/b/spoof",
        headers={"X-Sigv4kit-Principal": "admin", "X-Sigv4kit-Access-Key-Id": "SV4KADMIN"},
        auth=SigV4Auth(Credentials(akid, secret), REGION, "s3"),
        timeout=10,
    )
    assert r.status_code == 200
    _clean(_only(echo, "/b/spoof"), akid, "alice")


def test_body_that_fails_its_hash_is_never_delivered_whole(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str]
) -> None:
    akid, secret = key
    signer = Signer(Credentials(akid, secret), REGION, "s3")
    echo.clear()
    # Signed for one body, sent with another of the same length, in pieces
    # so the first ones are already upstream when the hash fails.
    signed = signer.sign("PUT", gateway.url + "/b/tampered", body=BODY)
    tampered = BODY[:-1] + b"X"

    def pieces() -> Any:
        for i in range(0, len(tampered), 65536):
            yield tampered[i : i + 65536]
            time.sleep(0.05)

    r = requests.put(signed.url, headers=signed.headers.as_dict(), data=pieces(), timeout=30)
    assert (r.status_code, _code(r)) == (400, "XAmzContentSHA256Mismatch")
    (rec,) = echo.wait_for(1, timeout=3)  # the verified pieces went on ...
    assert not rec["complete"] and rec["length"] < len(BODY)  # ... the end never did

    # aws-chunked: a chunk whose signature fails stops the body there.
    chunked = Signer(Credentials(akid, secret), REGION, "s3", payload="streaming")
    s2 = chunked.sign("PUT", gateway.url + "/b/badchunk", body=BODY)
    framed = bytearray(b"".join(s2.body))
    at = framed.rfind(b"tail")
    framed[at] = ord("T")
    r = requests.put(s2.url, headers=s2.headers.as_dict(), data=bytes(framed), timeout=30)
    assert (r.status_code, _code(r)) == (403, "SignatureDoesNotMatch")
    recs = [x for x in echo.seen if x["target"] == "/b/badchunk"]
    assert all(not x["complete"] for x in recs)


def test_client_disconnect_mid_upload_aborts_the_upstream_request(
    gateway: InProcessGateway, echo: Echo, key: tuple[str, str]
) -> None:
    akid, secret = key
    signer = Signer(Credentials(akid, secret), REGION, "s3")
    echo.clear()
    signed = signer.sign("PUT", gateway.url + "/b/gone", body=BODY)
    port = int(gateway.url.rsplit(":", 1)[1])
    head = "".join(f"{k}: {v}\r\n" for k, v in signed.headers)
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(f"PUT /b/gone HTTP/1.1\r\n{head}Content-Length: {len(BODY)}\r\n\r\n".encode())
        c.sendall(BODY[:100000])
        time.sleep(0.3)
        c.sendall(BODY[100000:200000])
        time.sleep(0.3)
    recs = echo.wait_for(1, timeout=5)
    assert recs, "the first verified pieces were forwarded"
    assert [(r["target"], r["complete"]) for r in recs] == [("/b/gone", False)]
    assert recs[0]["length"] < len(BODY)


def test_upstream_down_is_502(echo: Echo) -> None:
    from sigv4kit.client.requests import SigV4Auth

    from .conftest import free_port

    gw = InProcessGateway(options(f"http://127.0.0.1:{free_port()}"))
    try:
        akid, secret = gw.create_key("alice")
        auth = SigV4Auth(Credentials(akid, secret), REGION, "s3")
        r = requests.get(gw.url + "/b/x", auth=auth, timeout=10)
        assert r.status_code == 502 and "unreachable" in r.text
        # S3's XML error document from the gateway itself, not the engine's text.
        assert r.headers["Content-Type"] == "application/xml"
        assert r.headers["x-amz-error-code"] == "BadGateway"
        doc = ElementTree.fromstring(r.content)
        assert doc.findtext("Code") == "BadGateway"
        assert doc.findtext("Resource") == "/b/x"
        assert doc.findtext("RequestId") == r.headers["x-amz-request-id"]
        message = doc.findtext("Message") or ""
        assert "unreachable" in message and "\n" not in message and secret not in r.text
        r = requests.head(gw.url + "/b/x", auth=auth, timeout=10)
        assert r.status_code == 502 and r.headers["x-amz-error-code"] == "BadGateway"
        r = requests.get(gw.url + "/b/x", auth=SigV4Auth(Credentials(akid, "x" * 40), REGION, "s3"))
        assert r.status_code == 403  # verified before the upstream is even tried
    finally:
        gw.close()


def test_upstream_silent_is_504_xml() -> None:
    """An upstream that accepts the request and never answers: S3-style 504 XML."""
    from sigv4kit.client.requests import SigV4Auth

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    gw = InProcessGateway(options(f"http://127.0.0.1:{port}"), forward={"read_timeout": 0.5})
    try:
        akid, secret = gw.create_key("alice")
        auth = SigV4Auth(Credentials(akid, secret), REGION, "s3")
        r = requests.get(gw.url + "/b/slow", auth=auth, timeout=10)
        assert r.status_code == 504
        assert r.headers["x-amz-error-code"] == "GatewayTimeout"
        doc = ElementTree.fromstring(r.content)
        assert doc.findtext("Code") == "GatewayTimeout"
        assert "0.5 s" in (doc.findtext("Message") or "")
        assert doc.findtext("Resource") == "/b/slow"
    finally:
        gw.close()
        silent.close()


def test_admin_metrics_count_verdicts(gateway: InProcessGateway, key: tuple[str, str]) -> None:
    from sigv4kit.client.requests import SigV4Auth

    akid, secret = key
    good = SigV4Auth(Credentials(akid, secret), REGION, "s3")
    bad = SigV4Auth(Credentials(akid, secret[::-1]), REGION, "s3")
    for auth in (good, good, bad):
        requests.get(gateway.url + "/b/m", auth=auth, timeout=10)
    assert requests.get(gateway.admin + "/healthz").status_code == 200
    assert requests.get(gateway.admin + "/readyz").status_code == 200
    text = requests.get(gateway.admin + "/metrics").text
    assert 'sigv4kit_gateway_verdicts_total{code="OK"} 2' in text
    assert 'sigv4kit_gateway_verdicts_total{code="SignatureDoesNotMatch"} 1' in text
    assert "sigv4kit_request_duration_seconds_count 3" in text
    assert secret not in text
