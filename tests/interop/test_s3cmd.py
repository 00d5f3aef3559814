"""s3cmd (Debian): signed SHA-256 payloads, multipart, no space after the Authorization commas."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from s3harness import AK, SK, WRONG_SK, S3Server, codes, payload, require_tool, run

pytestmark = pytest.mark.interop


def s3cmd(exe: str, endpoint: str, secret: str = SK) -> list[str]:
    hostport = endpoint.split("://", 1)[1]
    return [
        exe,
        f"--access_key={AK}",
        f"--secret_key={secret}",
        f"--host={hostport}",
        f"--host-bucket={hostport}",
        "--no-ssl",
        "--region=us-east-1",
        "-c",
        "/dev/null",
        "--no-check-md5",
    ]


@pytest.fixture
def exe() -> str:
    return require_tool(shutil.which("s3cmd"), "s3cmd (apt s3cmd)")


def test_s3cmd_put_get_multipart_ls(s3server: S3Server, exe: str, tmp_path: Path) -> None:
    base = s3cmd(exe, s3server.http)
    small = tmp_path / "small.bin"
    small.write_bytes(payload(40_000, seed=50))
    big = tmp_path / "big.bin"
    big.write_bytes(payload(6 * 1024 * 1024, seed=51))
    mark = s3server.mark()
    for args in (
        ["mb", "s3://s3cmd-b"],
        ["put", str(small), "s3://s3cmd-b/dir/small.bin"],
        ["put", "--multipart-chunk-size-mb=5", str(big), "s3://s3cmd-b/big.bin"],
        ["get", "s3://s3cmd-b/big.bin", str(tmp_path / "back.bin")],
        ["get", "s3://s3cmd-b/dir/small.bin", str(tmp_path / "small-back.bin")],
        ["ls", "-r", "s3://s3cmd-b"],
        ["del", "s3://s3cmd-b/big.bin"],
    ):
        r = run([*base, *args], timeout=120)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    assert (tmp_path / "small-back.bin").read_bytes() == small.read_bytes()
    seen = s3server.entries(mark)
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    signed = [e for e in seen if e["auth"] == "header"]
    assert signed and all(e["comma_space"] is False for e in signed)
    put = next(e for e in seen if e["method"] == "PUT" and e["path"] == "/s3cmd-b/dir/small.bin")
    assert len(put["x-amz-content-sha256"]) == 64
    assert sum(1 for e in seen if "partNumber=" in e["query"]) == 2


def test_s3cmd_wrong_secret_and_replay(s3server: S3Server, exe: str, tmp_path: Path) -> None:
    assert run([*s3cmd(exe, s3server.http), "mb", "s3://s3cmd-neg"]).returncode == 0
    f = tmp_path / "f.txt"
    f.write_bytes(b"data")
    mark = s3server.mark()
    for endpoint, secret, want in (
        (s3server.http, WRONG_SK, "SignatureDoesNotMatch"),
        (s3server.skew, SK, "RequestTimeTooSkewed"),
    ):
        for args in (["ls", "s3://s3cmd-neg"], ["put", str(f), "s3://s3cmd-neg/f.txt"]):
            r = run([*s3cmd(exe, endpoint, secret), *args])
            assert r.returncode != 0 and want in r.stdout + r.stderr, (args, r.stdout, r.stderr)
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}
