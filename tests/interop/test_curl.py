"""curl ``--aws-sigv4``: signs only host and x-amz-date, and sends the hash only if told to."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from s3harness import AK, SK, WRONG_SK, S3Server, codes, payload, require_tool, run

pytestmark = pytest.mark.interop

EMPTY = hashlib.sha256(b"").hexdigest()


def curl(exe: str, secret: str = SK) -> list[str]:
    return [
        exe,
        "-sS",
        "--aws-sigv4",
        "aws:amz:us-east-1:s3",
        "--user",
        f"{AK}:{secret}",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
    ]


# S3 wants x-amz-content-sha256 on every request; curl sends it only when told.
NO_BODY = ["-H", f"x-amz-content-sha256: {EMPTY}"]


def status_body(out: str) -> tuple[int, str]:
    body, _, code = out.rpartition("\n")
    return int(code), body


@pytest.fixture
def exe() -> str:
    return require_tool(shutil.which("curl"), "curl (apt curl)")


def test_curl_put_get_list_delete(s3server: S3Server, exe: str, tmp_path: Path) -> None:
    ep = s3server.http
    big = tmp_path / "big.bin"
    big.write_bytes(payload(2 * 1024 * 1024, seed=60))  # > 1 MiB: curl sends Expect: 100-continue
    small = tmp_path / "small.txt"
    small.write_bytes(b"curl body")
    small_sha = hashlib.sha256(small.read_bytes()).hexdigest()
    base = curl(exe)
    mark = s3server.mark()
    for args, want in (
        ([*NO_BODY, "-X", "PUT", f"{ep}/curl-b"], 200),
        # UNSIGNED-PAYLOAD upload, with an unsigned "Expect: 100-continue"
        (
            [
                "-H",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "-T",
                str(big),
                f"{ep}/curl-b/big.bin",
            ],
            200,
        ),
        # signed payload: curl signs the hash we give it
        (["-H", f"x-amz-content-sha256: {small_sha}", "-T", str(small), f"{ep}/curl-b/s.txt"], 200),
        ([*NO_BODY, f"{ep}/curl-b/s.txt"], 200),
        ([*NO_BODY, f"{ep}/curl-b?list-type=2"], 200),
    ):
        r = run([*base, *args], timeout=60)
        status, body = status_body(r.stdout)
        assert status == want, (args, r.stdout[-500:], r.stderr)
        if args[-1] == f"{ep}/curl-b/s.txt" and "-T" not in args:
            assert body == "curl body"
        if "list-type=2" in args[-1]:
            assert "<Key>big.bin</Key>" in body and "<Key>s.txt</Key>" in body
    r = run(
        [
            exe,
            "-sS",
            "-o",
            str(tmp_path / "back.bin"),
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
            "--user",
            f"{AK}:{SK}",
            *NO_BODY,
            f"{ep}/curl-b/big.bin",
        ],
        timeout=60,
    )
    assert r.returncode == 0 and (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    r = run([*base, *NO_BODY, "-X", "DELETE", f"{ep}/curl-b/big.bin"])
    assert status_body(r.stdout)[0] == 204

    seen = s3server.entries(mark)
    assert all(e["status"] < 300 for e in seen), [e for e in seen if e["status"] >= 300]
    assert all(
        set(e["signed_headers"]) <= {"host", "x-amz-date", "x-amz-content-sha256"} for e in seen
    ), [e["signed_headers"] for e in seen]
    up = next(e for e in seen if e["path"] == "/curl-b/big.bin" and e["method"] == "PUT")
    assert up["expect"] == "100-continue" and up["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"


def test_curl_wrong_secret_and_replay(s3server: S3Server, exe: str, tmp_path: Path) -> None:
    r = run([*curl(exe), *NO_BODY, "-X", "PUT", f"{s3server.http}/curl-neg"])
    assert status_body(r.stdout)[0] == 200
    f = tmp_path / "f.txt"
    f.write_bytes(b"data")
    mark = s3server.mark()
    for endpoint, secret, want in (
        (s3server.http, WRONG_SK, "SignatureDoesNotMatch"),
        (s3server.skew, SK, "RequestTimeTooSkewed"),
    ):
        for args in (
            [*NO_BODY, f"{endpoint}/curl-neg?list-type=2"],
            [
                "-H",
                "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "-T",
                str(f),
                f"{endpoint}/curl-neg/f",
            ],
        ):
            status, body = status_body(run([*curl(exe, secret), *args]).stdout)
            assert status == 403 and f"<Code>{want}</Code>" in body, (args, body)
    assert codes(s3server.entries(mark)) == {"SignatureDoesNotMatch", "RequestTimeTooSkewed"}
