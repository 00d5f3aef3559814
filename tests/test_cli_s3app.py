"""`sigv4kit request` against sigv4kit's own test S3 application (tests/s3app).

The same application the real-client interop tests use: uvicorn on
127.0.0.1 with sigv4kit's ASGI middleware.  Upload and download with progress
on a terminal, a streamed upload, presign then fetch with curl, a wrong secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_cli_request import _run, _run_tty_stderr

sys.path.insert(0, str(Path(__file__).resolve().parent / "interop"))
from s3harness import AK, SK, S3Server, start_s3app, stop_s3app

pytestmark = pytest.mark.interop
SCOPE = ["--region", "us-east-1", "--service", "s3", "--access-key", AK, "--secret-key", SK]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_s3app(tmp_path_factory.mktemp("s3app-cli"))
    try:
        assert (
            _run(["request", "PUT", f"{server.http}/cli-bucket", *SCOPE, "--fail"]).returncode == 0
        )
        yield server
    finally:
        stop_s3app(server)


def test_upload_and_download_with_progress(app: S3Server, tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    url = f"{app.http}/cli-bucket/dir/big file+é.bin"
    code, _, err = _run_tty_stderr(
        ["request", "PUT", url, "--data-file", str(src), *SCOPE, "--fail"]
    )
    assert code == 0, err
    assert "upload" in err and "100%" in err
    dst = tmp_path / "back.bin"
    code, _, err = _run_tty_stderr(["request", "GET", url, "-o", str(dst), *SCOPE, "--fail"])
    assert code == 0, err
    assert "download" in err and "100%" in err
    assert dst.read_bytes() == data


def test_streaming_upload_is_verified_chunk_by_chunk(app: S3Server, tmp_path: Path) -> None:
    data = os.urandom(700_000)
    src = tmp_path / "s.bin"
    src.write_bytes(data)
    url = f"{app.http}/cli-bucket/streamed.bin"
    mark = app.mark()
    proc = _run(["request", "PUT", url, "--data-file", str(src), "--streaming", *SCOPE, "--fail"])
    assert proc.returncode == 0, proc.stderr
    put = app.logged(mark, "PUT", path="/cli-bucket/streamed.bin")
    assert put[-1]["x-amz-content-sha256"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    got = _run(["request", "GET", url, *SCOPE, "--fail"])
    assert got.stdout == data


def test_presign_then_fetch_with_curl(app: S3Server) -> None:
    url = f"{app.http}/cli-bucket/shared.txt"
    assert _run(["request", "PUT", url, "-d", "shared", *SCOPE, "--fail"]).returncode == 0
    proc = _run(["presign", "GET", url, "--expires", "600", *SCOPE])
    assert proc.returncode == 0, proc.stderr
    presigned = proc.stdout.decode().strip()
    fetched = subprocess.run(["curl", "-sS", "--fail", presigned], capture_output=True, timeout=60)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == b"shared"
    tampered = presigned.replace("X-Amz-Expires=600", "X-Amz-Expires=700")
    fetched = subprocess.run(["curl", "-sS", tampered], capture_output=True, timeout=60)
    assert b"<Code>SignatureDoesNotMatch</Code>" in fetched.stdout


def test_wrong_secret_fails_with_a_diagnosis(app: S3Server) -> None:
    bad = [*SCOPE[:-1], SK[:-4] + "XXXX"]
    proc = _run(["request", "GET", f"{app.http}/cli-bucket/shared.txt", *bad, "--fail"])
    assert proc.returncode == 22
    assert b"SignatureDoesNotMatch" in proc.stderr
