"""Virtual-hosted addressing through the gateway (``--domain``).

A client that signs for ``bucket.<domain>`` sends ``/key`` with that Host.
The gateway verifies the request as it was signed, then forwards it under
the upstream's own Host, so the bucket moves into the path: the upstream
gets ``/bucket/key``, and the key's policy is checked on that path.  In
re-sign mode the re-signed request is path-style.

Names under ``localhost`` are resolved to 127.0.0.1 in this process (the
system resolver here does not), so boto3 really sends ``bucket.localhost``.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import REGION, Echo, InProcessGateway, header, options

requests = pytest.importorskip("requests")
boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

from client.conftest import CREDS, SeaweedFS  # noqa: E402

BODY = b"virtual-hosted " * 5000


@pytest.fixture
def localhost_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """``*.localhost`` -> 127.0.0.1, as RFC 6761 says and systemd-resolved does."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _client(url: str, akid: str, secret: str, style: str = "virtual") -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
        region_name=REGION,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": style}, retries={"max_attempts": 1}
        ),
    )


@pytest.fixture
def vhost_gateway(echo: Echo) -> Iterator[InProcessGateway]:
    gw = InProcessGateway(options(echo.url, domains=("localhost",)))
    try:
        yield gw
    finally:
        gw.close()


def test_path_style_rewrite_rules() -> None:
    from sigv4kit.gateway.rewrite import path_style

    d = ("gw.example",)
    assert path_style("/k/a%20b?x=1", "photos.gw.example:8080", d) == "/photos/k/a%20b?x=1"
    assert path_style("/?list-type=2", "Photos.GW.example", d) == "/photos?list-type=2"
    assert path_style("/", "my.dotted.bucket.gw.example", d) == "/my.dotted.bucket"
    # the domain itself, other names, addresses, no domain: already path-style
    for host in ("gw.example", "gw.example:80", "xgw.example", "127.0.0.1:9", "[::1]:9", None):
        assert path_style("/b/k", host, d) == "/b/k"
    assert path_style("/k", "photos.gw.example", ()) == "/k"


def test_boto3_virtual_hosted_reaches_the_right_bucket(
    vhost_gateway: InProcessGateway, echo: Echo, localhost_names: None
) -> None:
    from sigv4kit.keystore import KeyPolicy

    akid, secret = vhost_gateway.create_key("vera", policy=KeyPolicy.simple(None, ["/photos"]))
    port = vhost_gateway.engine.port
    s3 = _client(f"http://localhost:{port}", akid, secret)
    echo.clear()
    s3.put_object(Bucket="photos", Key="a b.txt", Body=BODY)
    rec = echo.wait_for(1)[-1]
    assert rec["target"] == "/photos/a%20b.txt"  # the bucket, from the Host, in the path
    assert header(rec, "Host") == [f"127.0.0.1:{echo.port}"]
    assert rec["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert header(rec, "X-Sigv4kit-Access-Key-Id") == [akid]
    # the bucket itself (a listing; the echo answers JSON, so read it raw)
    listing = s3.generate_presigned_url("list_objects_v2", {"Bucket": "photos"}, 60)
    assert listing.startswith(f"http://photos.localhost:{port}/?list-type=2")
    r = requests.get(listing, timeout=30)
    assert r.status_code == 200 and r.json()["target"].startswith("/photos?list-type=2")
    # a presigned virtual-hosted URL: verified for its Host, forwarded path-style
    echo.clear()
    url = s3.generate_presigned_url("get_object", {"Bucket": "photos", "Key": "a b.txt"}, 60)
    assert url.startswith(f"http://photos.localhost:{port}/")
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["target"] == "/photos/a%20b.txt"
    # the policy is checked on the path-style path: another bucket is refused
    echo.clear()
    with pytest.raises(Exception, match="AccessDenied"):
        s3.put_object(Bucket="other", Key="photos/x", Body=b"x")
    assert echo.seen == []
    # path-style clients are unchanged
    path = _client(f"http://localhost:{port}", akid, secret, "path")
    path.put_object(Bucket="photos", Key="p.txt", Body=b"p")
    assert echo.wait_for(1)[-1]["target"] == "/photos/p.txt"


def test_without_domain_the_request_is_forwarded_as_received(
    gateway: InProcessGateway, echo: Echo, localhost_names: None
) -> None:
    akid, secret = gateway.create_key("walt")
    s3 = _client(f"http://localhost:{gateway.engine.port}", akid, secret)
    echo.clear()
    s3.put_object(Bucket="photos", Key="k", Body=b"x")
    assert echo.wait_for(1)[-1]["target"] == "/k"  # why --domain exists


def test_virtual_hosted_through_the_resigning_gateway(
    seaweedfs: SeaweedFS, localhost_names: None
) -> None:
    from sigv4kit.client.requests import SigV4Auth

    gw = InProcessGateway(
        options(seaweedfs.endpoint, resign=True, upstream_credentials=CREDS, domains=("localhost",))
    )
    try:
        akid, secret = gw.create_key("xena")
        s3 = _client(f"http://localhost:{gw.engine.port}", akid, secret)
        b = seaweedfs.bucket
        s3.put_object(Bucket=b, Key="vhost/a b.bin", Body=BODY)
        direct = requests.get(
            seaweedfs.url("vhost/a%20b.bin"), auth=SigV4Auth(CREDS, REGION, "s3"), timeout=30
        )
        assert direct.status_code == 200 and direct.content == BODY
        assert s3.get_object(Bucket=b, Key="vhost/a b.bin")["Body"].read() == BODY
        listed = s3.list_objects_v2(Bucket=b, Prefix="vhost/")
        assert [o["Key"] for o in listed["Contents"]] == ["vhost/a b.bin"]
        url = s3.generate_presigned_url("get_object", {"Bucket": b, "Key": "vhost/a b.bin"}, 60)
        r = requests.get(url, timeout=30)
        assert r.status_code == 200 and r.content == BODY
    finally:
        gw.close()
