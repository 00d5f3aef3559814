"""minio-go (Debian's golang-github-minio-minio-go-v7-dev) through a small Go program.

Over plain http minio-go signs every upload chunk by chunk
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, 64 KiB chunks) and sends the
aws-chunked body *without* ``Content-Encoding: aws-chunked``; its
Authorization header has no space after the commas.  The verifier must take
all three.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from s3harness import AK, SK, WRONG_SK, S3Server, codes, require_tool, run

pytestmark = pytest.mark.interop

SOURCE = Path(__file__).parent / "mgclient"


@pytest.fixture(scope="session")
def mgclient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    go = require_tool(shutil.which("go"), "Go (apt golang-go)")
    gopath = "/usr/share/gocode"
    require_tool(
        gopath if Path(gopath, "src/github.com/minio/minio-go/v7").is_dir() else None,
        "minio-go (apt golang-github-minio-minio-go-v7-dev)",
    )
    out = tmp_path_factory.mktemp("go") / "mgclient"
    env = dict(os.environ, GO111MODULE="off", GOPATH=gopath, GOFLAGS="")
    env.setdefault("GOCACHE", str(Path.home() / ".cache" / "go-build"))
    r = run([go, "build", "-o", str(out), "."], env, timeout=300, cwd=SOURCE)
    assert r.returncode == 0, r.stderr
    yield str(out)


def host(endpoint: str) -> str:
    return endpoint.split("://", 1)[1]


def test_minio_go_signed_streaming_chunks(s3server: S3Server, mgclient: str) -> None:
    mark = s3server.mark()
    for key, size in (("small.bin", 300_000), ("big.bin", 17 * 1024 * 1024)):
        r = run([mgclient, host(s3server.http), AK, SK, "minio-go", key, str(size)], timeout=180)
        assert r.returncode == 0 and r.stdout.startswith("ok "), (r.stdout, r.stderr)
    _, listed, digest, url = r.stdout.split()
    assert listed == "2"
    got = requests.get(url, timeout=60)  # minio-go's presigned URL
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == digest

    seen = s3server.entries(mark)
    # HEAD on the bucket before it exists is BucketExists' 404
    failed = [e for e in seen if e["status"] >= 300 and (e["method"], e["status"]) != ("HEAD", 404)]
    assert not failed
    uploads = [
        e
        for e in seen
        if e["method"] == "PUT" and e["path"] in ("/minio-go/small.bin", "/minio-go/big.bin")
    ]
    assert uploads
    for e in uploads:
        assert e["x-amz-content-sha256"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", e
        assert "content-encoding" not in e, e
        assert e["comma_space"] is False
        assert "x-amz-decoded-content-length" in e["signed_headers"]
    # the 17 MiB object went up as a multipart upload, each part chunk-signed
    assert sum(1 for e in uploads if "partNumber=" in e["query"]) == 2


def test_minio_go_wrong_secret_and_replay(s3server: S3Server, mgclient: str) -> None:
    r = run([mgclient, host(s3server.http), AK, SK, "minio-go-neg", "seed", "1"])
    assert r.returncode == 0, r.stdout
    mark = s3server.mark()
    for endpoint, secret, want in (
        (s3server.http, WRONG_SK, "SignatureDoesNotMatch"),
        (s3server.skew, SK, "RequestTimeTooSkewed"),
    ):
        r = run([mgclient, host(endpoint), AK, secret, "minio-go-neg", "k", "100000", "put"])
        assert r.returncode == 1 and r.stdout.startswith(f"error {want} "), r.stdout
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}
