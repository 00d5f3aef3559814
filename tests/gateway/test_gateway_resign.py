"""Re-sign mode: each person has a gateway key; SeaweedFS only knows the gateway's.

Clients sign with keys from the gateway's store; the gateway verifies them,
then signs the forwarded request again with SeaweedFS's credentials.  Every
upload is read back from SeaweedFS *directly* and compared byte for byte,
so chunk framing inside a stored object cannot go unnoticed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, InProcessGateway, aws_cli, options

requests = pytest.importorskip("requests")
from client.conftest import CREDS, SeaweedFS  # noqa: E402

BODY = bytes(range(256)) * 600 + b"end"  # 153603 bytes: three chunks of 64 KiB


def _direct(seaweedfs: SeaweedFS, key: str) -> bytes:
    """The object as SeaweedFS stores it, read without the gateway."""
    from sigv4kit.client.requests import SigV4Auth

    r = requests.get(seaweedfs.url(key), auth=SigV4Auth(CREDS, REGION, "s3"), timeout=30)
    assert r.status_code == 200, r.text
    return bytes(r.content)


@pytest.fixture(params=["streaming", "unsigned"])
def resigning(request: Any, seaweedfs: SeaweedFS) -> Iterator[InProcessGateway]:
    gw = InProcessGateway(
        options(
            seaweedfs.endpoint,
            resign=True,
            upstream_credentials=CREDS,
            upstream_payload=request.param,
        )
    )
    try:
        yield gw
    finally:
        gw.close()


@pytest.mark.parametrize(
    "payload",
    ["signed", "unsigned", "streaming", "streaming-trailer", "streaming-unsigned-trailer"],
)
@pytest.mark.parametrize("algorithm", ["sigv4", "sigv4a"])
def test_uploads_in_every_mode_are_stored_exactly(
    resigning: InProcessGateway, seaweedfs: SeaweedFS, payload: str, algorithm: str
) -> None:
    akid, secret = resigning.create_key("carol")
    kw: dict[str, Any] = {"algorithm": algorithm}
    if algorithm == "sigv4a":
        kw["region_set"] = ["*"]
    if "trailer" in payload:
        kw["checksum"] = "crc32"
    signer = Signer(Credentials(akid, secret), REGION, "s3", payload=payload, **kw)
    key = f"resign/{resigning.options.upstream_payload}/{payload}-{algorithm}/a b+c.bin"
    url = f"{resigning.url}/{seaweedfs.bucket}/{key}"
    signed = signer.sign("PUT", url, body=BODY)
    body = b"".join(signed.body) if payload.startswith("streaming") else BODY
    r = requests.put(signed.url, headers=signed.headers.as_dict(), data=body, timeout=30)
    assert r.status_code == 200, r.text
    stored = _direct(seaweedfs, key)
    assert len(stored) == len(BODY)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(BODY).hexdigest()
    # ... and reading it back through the gateway, with the client's own key
    got = signer.sign("GET", url, payload="unsigned")
    r = requests.get(got.url, headers=got.headers.as_dict(), timeout=30)
    assert r.status_code == 200 and r.content == BODY


def test_boto3_presign_and_post_through_the_resigning_gateway(
    resigning: InProcessGateway, seaweedfs: SeaweedFS
) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    akid, secret = resigning.create_key("dave")
    s3 = boto3.client(
        "s3",
        endpoint_url=resigning.url,
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
        region_name=REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )
    b = seaweedfs.bucket
    s3.put_object(Bucket=b, Key="boto/resign.bin", Body=BODY)
    assert _direct(seaweedfs, "boto/resign.bin") == BODY
    assert s3.get_object(Bucket=b, Key="boto/resign.bin")["Body"].read() == BODY
    listed = s3.list_objects_v2(Bucket=b, Prefix="boto/")
    assert [o["Key"] for o in listed["Contents"]] == ["boto/resign.bin"]
    url = s3.generate_presigned_url("get_object", {"Bucket": b, "Key": "boto/resign.bin"}, 60)
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == BODY
    post = s3.generate_presigned_post(b, "posted/${filename}")
    r = requests.post(
        post["url"], data=post["fields"], files={"file": ("f.txt", b"posted body")}, timeout=30
    )
    assert r.status_code in (200, 204), r.text
    assert _direct(seaweedfs, "posted/f.txt") == b"posted body"
    # a wrong signature never reaches SeaweedFS: the gateway answers
    bad = boto3.client(
        "s3",
        endpoint_url=resigning.url,
        aws_access_key_id=akid,
        aws_secret_access_key=secret[::-1],
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        bad.get_object(Bucket=b, Key="boto/resign.bin")


def test_aws_cli_and_minio_through_the_resigning_gateway(
    resigning: InProcessGateway, seaweedfs: SeaweedFS, tmp_path: Any
) -> None:
    import subprocess

    akid, secret = resigning.create_key("erin")
    b = seaweedfs.bucket
    aws, env = aws_cli(akid, secret)
    src, back = tmp_path / "up.bin", tmp_path / "down.bin"
    src.write_bytes(BODY)
    for args in (
        ["s3", "cp", str(src), f"s3://{b}/cli/obj.bin"],
        ["s3", "cp", f"s3://{b}/cli/obj.bin", str(back)],
    ):
        proc = subprocess.run(
            [aws, "--endpoint-url", resigning.url, *args],
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert _direct(seaweedfs, "cli/obj.bin") == BODY
    assert back.read_bytes() == BODY

    minio = pytest.importorskip("minio")
    import io

    client = minio.Minio(
        resigning.url.removeprefix("http://"),
        access_key=akid,
        secret_key=secret,
        secure=False,
        region=REGION,
    )
    client.put_object(b, "minio/obj.bin", io.BytesIO(BODY), len(BODY))
    assert _direct(seaweedfs, "minio/obj.bin") == BODY
    resp = client.get_object(b, "minio/obj.bin")
    try:
        assert resp.read() == BODY
    finally:
        resp.close()
        resp.release_conn()
