"""The AWS CLI (v1, from PyPI): ``aws s3 cp`` of 20 MiB (multipart), ``s3api``, ``s3 presign``."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from s3harness import (
    SK,
    WRONG_SK,
    S3Server,
    client_env,
    codes,
    payload,
    require_tool,
    run,
    sha256_file,
    tool,
)

pytestmark = pytest.mark.interop

CONFIG = """[default]
region = us-east-1
s3 =
    signature_version = s3v4
    addressing_style = path
"""


@pytest.fixture
def aws(tmp_path: Path) -> tuple[str, Path]:
    exe = require_tool(tool("aws"), "the AWS CLI (pip awscli)")
    (tmp_path / "aws-config").write_text(CONFIG)
    return exe, tmp_path


def env_for(tmp: Path, secret: str = SK) -> dict[str, str]:
    env = client_env(tmp, secret)
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_RETRY_MODE"] = "standard"
    return env


def test_awscli_cp_s3api_presign(s3server: S3Server, aws: tuple[str, Path]) -> None:
    exe, tmp = aws
    env = env_for(tmp)
    ep = ["--endpoint-url", s3server.http]
    mark = s3server.mark()
    big = tmp / "big.bin"
    big.write_bytes(payload(20 * 1024 * 1024, seed=20))
    steps = [
        [exe, *ep, "s3", "mb", "s3://awscli-b"],
        [exe, *ep, "s3", "cp", str(big), "s3://awscli-b/dir/big.bin"],
        [exe, *ep, "s3", "cp", "s3://awscli-b/dir/big.bin", str(tmp / "back.bin")],
        [
            exe,
            *ep,
            "s3api",
            "put-object",
            "--bucket",
            "awscli-b",
            "--key",
            "small key.txt",
            "--body",
            str(_write(tmp / "small.txt", b"small body")),
        ],
        [
            exe,
            *ep,
            "s3api",
            "get-object",
            "--bucket",
            "awscli-b",
            "--key",
            "small key.txt",
            str(tmp / "small-back.txt"),
        ],
        [exe, *ep, "s3api", "list-objects-v2", "--bucket", "awscli-b", "--prefix", "dir/"],
        [exe, *ep, "s3", "ls", "s3://awscli-b/dir/"],
    ]
    outputs = []
    for cmd in steps:
        r = run(cmd, env, timeout=180)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
        outputs.append(r.stdout)
    assert sha256_file(tmp / "back.bin") == sha256_file(big)
    assert (tmp / "small-back.txt").read_bytes() == b"small body"
    assert '"Key": "dir/big.bin"' in outputs[5]
    assert "big.bin" in outputs[6]

    r = run([exe, *ep, "s3", "presign", "s3://awscli-b/small key.txt", "--expires-in", "300"], env)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url  # s3v4, not a SigV2 URL
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and got.content == b"small body"

    for cmd in (
        [exe, *ep, "s3api", "delete-object", "--bucket", "awscli-b", "--key", "small key.txt"],
        [exe, *ep, "s3", "rm", "s3://awscli-b/dir/big.bin"],
    ):
        r = run(cmd, env)
        assert r.returncode == 0, (cmd, r.stderr)

    seen = s3server.entries(mark)
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    parts = [e for e in seen if "partNumber=" in e["query"]]
    assert len(parts) == 3  # 20 MiB in 8 MiB parts


def test_awscli_wrong_secret_and_replay(s3server: S3Server, aws: tuple[str, Path]) -> None:
    exe, tmp = aws
    small = _write(tmp / "f.txt", b"data")
    r = run([exe, "--endpoint-url", s3server.http, "s3", "mb", "s3://awscli-neg"], env_for(tmp))
    assert r.returncode == 0, r.stderr
    mark = s3server.mark()
    bad = env_for(tmp, WRONG_SK)
    for cmd in (
        ["s3", "cp", str(small), "s3://awscli-neg/f.txt"],
        ["s3api", "list-objects-v2", "--bucket", "awscli-neg"],
        ["s3api", "get-object", "--bucket", "awscli-neg", "--key", "f.txt", str(tmp / "o")],
    ):
        r = run([exe, "--endpoint-url", s3server.http, *cmd], bad)
        assert r.returncode != 0 and "SignatureDoesNotMatch" in r.stderr, (cmd, r.stderr)
    for cmd in (
        ["s3", "cp", str(small), "s3://awscli-neg/f.txt"],
        ["s3api", "list-objects-v2", "--bucket", "awscli-neg"],
    ):
        r = run([exe, "--endpoint-url", s3server.skew, *cmd], env_for(tmp))
        assert r.returncode != 0 and "RequestTimeTooSkewed" in r.stderr, (cmd, r.stderr)
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
