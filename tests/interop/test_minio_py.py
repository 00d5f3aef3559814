"""minio-py: objects, multipart, presigned URLs and POST policy; over http and TLS."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from s3harness import AK, SK, WRONG_SK, S3Server, codes, payload, sha256_file

minio = pytest.importorskip("minio")

pytestmark = pytest.mark.interop


def client(endpoint: str, secret: str = SK, cert: Path | None = None) -> Any:
    import urllib3

    u = urlsplit(endpoint)
    http = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED" if cert else "CERT_NONE",
        ca_certs=str(cert) if cert else None,
        retries=urllib3.Retry(total=0),
    )
    return minio.Minio(
        u.netloc,
        access_key=AK,
        secret_key=secret,
        secure=u.scheme == "https",
        region="us-east-1",
        http_client=http,
    )


def test_minio_py_objects_multipart_presign(s3server: S3Server, tmp_path: Path) -> None:
    mark = s3server.mark()
    mc = client(s3server.http)
    mc.make_bucket("minio-py")
    data = payload(150_000, seed=30)
    mc.put_object(
        "minio-py", "a/b c.bin", io.BytesIO(data), len(data), metadata={"x-amz-meta-k": "v"}
    )
    with mc.get_object("minio-py", "a/b c.bin") as r:
        assert r.read() == data
    assert mc.stat_object("minio-py", "a/b c.bin").size == len(data)
    big = tmp_path / "big.bin"
    big.write_bytes(payload(6 * 1024 * 1024, seed=31))
    mc.fput_object("minio-py", "big.bin", str(big), part_size=5 * 1024 * 1024)
    mc.fget_object("minio-py", "big.bin", str(tmp_path / "back.bin"))
    assert sha256_file(tmp_path / "back.bin") == sha256_file(big)
    names = [o.object_name for o in mc.list_objects("minio-py", recursive=True)]
    assert names == ["a/b c.bin", "big.bin"]

    put_url = mc.presigned_put_object("minio-py", "pre.txt", expires=timedelta(minutes=5))
    assert requests.put(put_url, data=b"via presigned put", timeout=30).status_code == 200
    get_url = mc.presigned_get_object("minio-py", "pre.txt", expires=timedelta(minutes=5))
    r = requests.get(get_url, timeout=30)
    assert r.status_code == 200 and r.content == b"via presigned put"

    expiry = datetime.now(timezone.utc) + timedelta(minutes=5)
    policy = minio.datatypes.PostPolicy("minio-py", expiry)
    policy.add_starts_with_condition("key", "form/")
    policy.add_content_length_range_condition(1, 1024)
    fields = mc.presigned_post_policy(policy)
    r = requests.post(
        f"{s3server.http}/minio-py",
        data={"key": "form/f.txt", **fields},
        files={"file": ("f.txt", b"posted")},
        timeout=30,
    )
    assert r.status_code == 204, r.text
    with mc.get_object("minio-py", "form/f.txt") as r2:
        assert r2.read() == b"posted"

    for name in ("a/b c.bin", "big.bin", "pre.txt", "form/f.txt"):
        mc.remove_object("minio-py", name)
    seen = s3server.entries(mark)
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    assert sum(1 for e in seen if "partNumber=" in e["query"]) == 2


def test_minio_py_over_tls_sends_unsigned_payload(s3server: S3Server) -> None:
    mark = s3server.mark()
    mc = client(s3server.https, cert=s3server.cert)
    mc.make_bucket("minio-py-tls")
    data = payload(70_000, seed=32)
    mc.put_object("minio-py-tls", "t.bin", io.BytesIO(data), len(data))
    with mc.get_object("minio-py-tls", "t.bin") as r:
        assert r.read() == data
    puts = [
        e for e in s3server.entries(mark) if e["method"] == "PUT" and e["path"].endswith("t.bin")
    ]
    assert puts[0]["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD" and puts[0]["status"] == 200


def test_minio_py_wrong_secret_and_replay(s3server: S3Server) -> None:
    client(s3server.http).make_bucket("minio-py-neg")
    mark = s3server.mark()
    for endpoint, secret, want in (
        (s3server.http, WRONG_SK, "SignatureDoesNotMatch"),
        (s3server.skew, SK, "RequestTimeTooSkewed"),
    ):
        mc = client(endpoint, secret)
        for call in (
            lambda mc=mc: mc.put_object("minio-py-neg", "k", io.BytesIO(b"x"), 1),
            lambda mc=mc: list(mc.list_objects("minio-py-neg")),
            lambda mc=mc: mc.get_object("minio-py-neg", "k"),
        ):
            with pytest.raises(minio.error.S3Error) as info:
                call()
            assert info.value.code == want
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}
