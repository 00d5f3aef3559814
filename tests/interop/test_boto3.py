"""boto3 (and s3transfer) against the test application: http, TLS, presigned URLs, POST."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from s3harness import AK, SK, WRONG_SK, S3Server, codes, payload

boto3 = pytest.importorskip("boto3")
requests = pytest.importorskip("requests")

from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

pytestmark = pytest.mark.interop


def client(endpoint: str, secret: str = SK, verify: Any = None, **s3: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AK,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        verify=verify,
        config=Config(
            s3={"addressing_style": "path", **s3},
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version="s3v4",
        ),
    )


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def test_boto3_objects_listing_and_multipart(s3server: S3Server) -> None:
    mark = s3server.mark()
    s3 = client(s3server.http)
    s3.create_bucket(Bucket="boto3-http")
    data = payload(300_000)
    s3.put_object(Bucket="boto3-http", Key="dir/a b+c é.bin", Body=data, Metadata={"k": "v"})
    s3.put_object(Bucket="boto3-http", Key="dir/sub/x", Body=b"x")
    s3.put_object(Bucket="boto3-http", Key="top", Body=b"")
    got = s3.get_object(Bucket="boto3-http", Key="dir/a b+c é.bin")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"k": "v"}
    assert s3.head_object(Bucket="boto3-http", Key="top")["ContentLength"] == 0
    ranged = s3.get_object(Bucket="boto3-http", Key="dir/a b+c é.bin", Range="bytes=10-19")
    assert ranged["Body"].read() == data[10:20]

    listing = s3.list_objects_v2(Bucket="boto3-http", Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in listing["Contents"]] == ["dir/a b+c é.bin"]
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["dir/sub/"]
    paged = s3.get_paginator("list_objects_v2").paginate(
        Bucket="boto3-http", PaginationConfig={"PageSize": 1}
    )
    assert [o["Key"] for page in paged for o in page["Contents"]] == [
        "dir/a b+c é.bin",
        "dir/sub/x",
        "top",
    ]

    # Multipart by hand: create, two parts, complete; and an aborted one.
    up = s3.create_multipart_upload(Bucket="boto3-http", Key="mp")
    parts = []
    chunks = [payload(200_000, seed=2), payload(1000, seed=3)]
    for number, chunk in enumerate(chunks, 1):
        r = s3.upload_part(
            Bucket="boto3-http", Key="mp", UploadId=up["UploadId"], PartNumber=number, Body=chunk
        )
        parts.append({"PartNumber": number, "ETag": r["ETag"]})
    s3.complete_multipart_upload(
        Bucket="boto3-http", Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket="boto3-http", Key="mp")["Body"].read() == b"".join(chunks)
    doomed = s3.create_multipart_upload(Bucket="boto3-http", Key="doomed")
    s3.abort_multipart_upload(Bucket="boto3-http", Key="doomed", UploadId=doomed["UploadId"])

    for key in ("dir/a b+c é.bin", "dir/sub/x", "top", "mp"):
        s3.delete_object(Bucket="boto3-http", Key=key)
    assert s3.list_objects_v2(Bucket="boto3-http")["KeyCount"] == 0

    seen = s3server.entries(mark)
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    puts = [e for e in seen if e["method"] == "PUT" and e["path"].startswith("/boto3-http/")]
    assert any(
        e.get("x-amz-content-sha256", "").isalnum() and len(e["x-amz-content-sha256"]) == 64
        for e in puts
    )
    assert any(e.get("expect") == "100-continue" for e in puts)


def test_boto3_upload_file_multipart_with_transfer_manager(
    s3server: S3Server, tmp_path: Path
) -> None:
    from boto3.s3.transfer import TransferConfig

    s3 = client(s3server.http)
    s3.create_bucket(Bucket="boto3-transfer")
    src = tmp_path / "big.bin"
    data = payload(6 * 1024 * 1024, seed=4)
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    mark = s3server.mark()
    s3.upload_file(str(src), "boto3-transfer", "big.bin", Config=cfg)
    dst = tmp_path / "back.bin"
    s3.download_file("boto3-transfer", "big.bin", str(dst), Config=cfg)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    seen = s3server.entries(mark)
    assert sum(1 for e in seen if "partNumber=" in e["query"]) == 2
    assert all(e["status"] < 300 for e in seen)


def test_boto3_presigned_get_and_put(s3server: S3Server) -> None:
    s3 = client(s3server.http)
    s3.create_bucket(Bucket="boto3-presign")
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "boto3-presign", "Key": "p/q r.txt"}, ExpiresIn=300
    )
    assert "X-Amz-Signature=" in put_url
    r = requests.put(put_url, data=b"presigned body", timeout=30)
    assert r.status_code == 200, r.text
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "boto3-presign", "Key": "p/q r.txt"}, ExpiresIn=300
    )
    r = requests.get(get_url, timeout=30)
    assert r.status_code == 200 and r.content == b"presigned body"
    # The signature covers the path: the same URL for another key is refused.
    other = get_url.replace("q%20r.txt", "q%20s.txt")
    r = requests.get(other, timeout=30)
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text


def test_boto3_presigned_post_form(s3server: S3Server) -> None:
    s3 = client(s3server.http)
    s3.create_bucket(Bucket="boto3-post")
    post = s3.generate_presigned_post(
        "boto3-post",
        "uploads/${filename}",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}, ["starts-with", "$key", "uploads/"]],
        ExpiresIn=300,
    )
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("hello.txt", b"form body")}, timeout=30
    )
    assert r.status_code == 201, r.text
    assert "<Key>uploads/hello.txt</Key>" in r.text
    got = s3.get_object(Bucket="boto3-post", Key="uploads/hello.txt")["Body"].read()
    assert got == b"form body"

    bad = client(s3server.http, secret=WRONG_SK).generate_presigned_post(
        "boto3-post", "uploads/${filename}", ExpiresIn=300
    )
    r = requests.post(
        bad["url"], data=bad["fields"], files={"file": ("evil.txt", b"nope")}, timeout=30
    )
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text


def test_boto3_over_tls_streams_unsigned_payload_trailer(s3server: S3Server) -> None:
    mark = s3server.mark()
    s3 = client(s3server.https, verify=str(s3server.cert))
    s3.create_bucket(Bucket="boto3-tls")
    data = payload(200_000, seed=5)
    s3.put_object(Bucket="boto3-tls", Key="t.bin", Body=data)
    assert s3.get_object(Bucket="boto3-tls", Key="t.bin")["Body"].read() == data
    up = s3.create_multipart_upload(Bucket="boto3-tls", Key="mp")
    part = s3.upload_part(
        Bucket="boto3-tls", Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=data
    )
    s3.complete_multipart_upload(
        Bucket="boto3-tls",
        Key="mp",
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="boto3-tls")["Contents"]] == ["mp", "t.bin"]
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "boto3-tls", "Key": "mp"}, ExpiresIn=60
    )
    got = requests.get(url, verify=str(s3server.cert), timeout=30)
    assert got.status_code == 200 and got.content == data
    for key in ("t.bin", "mp"):
        s3.delete_object(Bucket="boto3-tls", Key=key)
    # The http listener's line of the previous test's last request can land after the mark.
    seen = [e for e in s3server.entries(mark) if e["server"] == "https"]
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    uploads = [e for e in seen if e["method"] == "PUT" and e["path"] != "/boto3-tls"]
    assert len(uploads) == 2  # PutObject and UploadPart
    for e in uploads:
        assert e["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", e
        assert e["x-amz-trailer"] == "x-amz-checksum-crc32"

    bad = client(s3server.https, secret=WRONG_SK, verify=str(s3server.cert))
    assert error_code(lambda: bad.put_object(Bucket="boto3-tls", Key="u", Body=data)) == (
        "SignatureDoesNotMatch"
    )


def test_boto3_wrong_secret_is_refused(s3server: S3Server) -> None:
    client(s3server.http).create_bucket(Bucket="boto3-neg")
    bad = client(s3server.http, secret=WRONG_SK)
    mark = s3server.mark()
    calls = {
        "put": lambda: bad.put_object(Bucket="boto3-neg", Key="k", Body=b"data"),
        "get": lambda: bad.get_object(Bucket="boto3-neg", Key="k"),
        "list": lambda: bad.list_objects_v2(Bucket="boto3-neg"),
        "delete": lambda: bad.delete_object(Bucket="boto3-neg", Key="k"),
        "multipart": lambda: bad.create_multipart_upload(Bucket="boto3-neg", Key="k"),
        "buckets": lambda: bad.list_buckets(),
    }
    for name, call in calls.items():
        assert error_code(call) == "SignatureDoesNotMatch", name
    url = bad.generate_presigned_url(
        "get_object", Params={"Bucket": "boto3-neg", "Key": "k"}, ExpiresIn=60
    )
    r = requests.get(url, timeout=30)
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text
    # S3's debug fields come back so the client can compare.
    assert "<CanonicalRequest>" in r.text and "<StringToSign>" in r.text
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch"}


def test_boto3_replayed_after_skew_window(s3server: S3Server) -> None:
    client(s3server.http).create_bucket(Bucket="boto3-skew")
    late = client(s3server.skew)
    assert error_code(lambda: late.put_object(Bucket="boto3-skew", Key="k", Body=b"x")) == (
        "RequestTimeTooSkewed"
    )
    assert error_code(lambda: late.list_objects_v2(Bucket="boto3-skew")) == "RequestTimeTooSkewed"
    # A presigned URL is bound by its expiry, not the skew window: 10 minutes
    # of validity seen 20 minutes later has expired.
    url = late.generate_presigned_url(
        "get_object", Params={"Bucket": "boto3-skew", "Key": "k"}, ExpiresIn=600
    )
    r = requests.get(url, timeout=30)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    assert "Request has expired" in r.text
