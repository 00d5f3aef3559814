"""``sigv4kit sign`` and ``sigv4kit presign``: AWS's published examples through the command.

Each example is run in-process (click's CliRunner) and as a real subprocess
of the installed console script, so the entry point, argument parsing,
credential lookup and output are all exercised.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sigv4kit.cli import INSTALL_HINT
from sigv4kit.cli._commands import cli
from suite import V4_SUITE, VECTORS

EXAMPLES = {
    e["name"]: e for e in json.loads((VECTORS / "s3-examples.json").read_text())["examples"]
}
RANGE = EXAMPLES["get-object-range"]
PRESIGNED = EXAMPLES["presigned-get-object"]
S3_AKID = RANGE["credentials"]["access_key_id"]
S3_SECRET = RANGE["credentials"]["secret_access_key"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SIGN_RANGE = [
    "sign",
    "GET",
    "https://examplebucket.s3.amazonaws.com/test.txt",
    "-H",
    "Range: bytes=0-9",
    "--region",
    "us-east-1",
    "--service",
    "s3",
    "--timestamp",
    "20130524T000000Z",
]
PRESIGN_EXAMPLE = [
    "presign",
    "GET",
    "https://examplebucket.s3.amazonaws.com/test.txt",
    "--expires",
    "86400",
    "--region",
    "us-east-1",
    "--service",
    "s3",
    "--timestamp",
    "20130524T000000Z",
]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment with no AWS settings but ``extra`` (and no profile files)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


S3_ENV = {"AWS_ACCESS_KEY_ID": S3_AKID, "AWS_SECRET_ACCESS_KEY": S3_SECRET}


def _runner(**env: str) -> CliRunner:
    e: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    e.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    e.update(env)
    return CliRunner(env=e)


def _invoke(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    color: bool = False,
) -> Any:
    result = _runner(**(env if env is not None else S3_ENV)).invoke(
        cli, args, input=input, color=color, catch_exceptions=False
    )
    return result


def _script() -> list[str]:
    exe = Path(sys.executable).with_name("sigv4kit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sigv4kit")
    return [found] if found else [sys.executable, "-m", "sigv4kit.cli"]


def _run(
    args: list[str], env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_script(), *args],
        env=_clean_env(**(env if env is not None else S3_ENV)),
        capture_output=True,
        text=True,
        timeout=60,
        **kw,
    )


# --------------------------------------------------------------------------
# sign: the S3 GET with Range example
# --------------------------------------------------------------------------
def _check_range_json(out: dict[str, Any]) -> None:
    assert out["canonical_request"] == RANGE["expected_canonical_request"]
    assert out["string_to_sign"] == RANGE["expected_string_to_sign"]
    assert out["signature"] == RANGE["expected_signature"]
    assert out["signature"].startswith("f0e8bdb8")
    # AWS prints the header without spaces after the commas; both forms are valid.
    assert out["authorization"].replace(", ", ",") == RANGE["expected_authorization"]
    sent = {n.lower(): v for n, v in out["headers"]}
    for name, value in RANGE["headers"]:
        assert sent[name.lower()] == value
    assert sent["authorization"] == out["authorization"]
    assert all(isinstance(p, list) and len(p) == 2 for p in out["headers"])


def test_sign_json_reproduces_s3_get_range_in_process() -> None:
    result = _invoke([*SIGN_RANGE, "--json"])
    assert result.exit_code == 0, result.output
    _check_range_json(json.loads(result.output))


def test_sign_json_reproduces_s3_get_range_subprocess() -> None:
    proc = _run([*SIGN_RANGE, "--json"])
    assert proc.returncode == 0, proc.stderr
    _check_range_json(json.loads(proc.stdout))


def test_sign_credentials_from_flags_and_profile_file(tmp_path: Path) -> None:
    flags = ["--access-key", S3_AKID, "--secret-key", S3_SECRET]
    result = _invoke([*SIGN_RANGE, *flags, "--json"], env={})
    assert json.loads(result.output)["signature"] == RANGE["expected_signature"]

    creds = tmp_path / "credentials"
    creds.write_text(
        f"[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n"
        f"[docs]\naws_access_key_id = {S3_AKID}\naws_secret_access_key = {S3_SECRET}\n"
    )
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    result = _invoke([*SIGN_RANGE, "--profile", "docs", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["signature"] == RANGE["expected_signature"]
    proc = _run([*SIGN_RANGE, "--json"], env={**env, "AWS_PROFILE": "docs"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["signature"] == RANGE["expected_signature"]
    # The environment wins over the default profile, as in the AWS CLI.
    result = _invoke([*SIGN_RANGE, "--json"], env={**env, **S3_ENV})
    assert json.loads(result.output)["signature"] == RANGE["expected_signature"]
    result = _invoke([*SIGN_RANGE, "--json"], env=env)
    assert json.loads(result.output)["signature"] != RANGE["expected_signature"]


def test_sign_session_token_from_env_is_signed() -> None:
    env = {**S3_ENV, "AWS_SESSION_TOKEN": "tok/en+1"}
    out = json.loads(_invoke([*SIGN_RANGE, "--json"], env=env).output)
    # The headers to send carry the token; the canonical request shown hides it...
    assert ["X-Amz-Security-Token", "tok/en+1"] in out["headers"]
    assert "tok/en+1" not in out["canonical_request"]
    assert "x-amz-security-token:" in out["canonical_request"]
    assert out["signature"] != RANGE["expected_signature"]
    # ...unless asked; the signature is the same either way.
    shown = json.loads(_invoke([*SIGN_RANGE, "--json", "--show-token"], env=env).output)
    assert "x-amz-security-token:tok/en+1\n" in shown["canonical_request"]
    assert shown["signature"] == out["signature"]


def test_sign_readable_sections_plain_when_piped_coloured_on_terminal() -> None:
    proc = _run(SIGN_RANGE)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert not ANSI.search(text)
    for title in (
        "Canonical request",
        "String to sign",
        "Signature",
        "Authorization header",
        "Headers to send",
    ):
        assert f"\n{title}\n" in f"\n{text}"
    assert RANGE["expected_signature"] in text
    assert "  range:bytes=0-9" in text
    coloured = _invoke(SIGN_RANGE, color=True).output
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == _invoke(SIGN_RANGE).output


def test_sign_data_and_data_file_streamed(tmp_path: Path) -> None:
    body = b'{"TableName": "t"}'
    base = [
        "sign",
        "POST",
        "https://dynamodb.us-east-1.amazonaws.com/",
        "--region",
        "us-east-1",
        "--service",
        "dynamodb",
        "--timestamp",
        "20150830T123600Z",
        "--json",
    ]
    a = json.loads(_invoke([*base, "-d", body.decode()]).output)
    f = tmp_path / "body.json"
    f.write_bytes(body)
    b = json.loads(_invoke([*base, "--data-file", str(f)]).output)
    c = json.loads(_invoke([*base, "-d", f"@{f}"]).output)
    d = json.loads(_invoke([*base, "--data-file", "-"], input=body).output)
    want = hashlib.sha256(body).hexdigest()
    assert a["payload_hash"] == b["payload_hash"] == c["payload_hash"] == d["payload_hash"] == want
    assert a["signature"] == b["signature"] == c["signature"] == d["signature"]
    assert a["canonical_request"].endswith("\n" + want)


def test_sign_data_file_is_never_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    size = 48 << 20
    with big.open("wb") as fh:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            fh.write(block)
    h = hashlib.sha256()
    with big.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    args = [
        "sign",
        "PUT",
        "https://b.s3.amazonaws.com/big",
        "--data-file",
        str(big),
        "--region",
        "us-east-1",
        "--service",
        "s3",
        "--json",
    ]
    tracemalloc.start()
    try:
        result = _invoke(args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["payload_hash"] == h.hexdigest()
    assert peak < 8 << 20, f"peak {peak} bytes: the file was read whole"


def test_sign_sigv4a_json() -> None:
    from sigv4kit.v4a import public_key_for, verify_v4a

    result = _invoke(
        [
            "sign",
            "GET",
            "https://example.amazonaws.com/",
            "--service",
            "s3",
            "--sigv4a",
            "--region-set",
            "us-east-1,us-west-2",
            "--json",
            "--timestamp",
            "20130524T000000Z",
        ]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["algorithm"] == "AWS4-ECDSA-P256-SHA256"
    assert ["X-Amz-Region-Set", "us-east-1,us-west-2"] in out["headers"]
    assert out["credential_scope"] == "20130524/s3/aws4_request"
    assert verify_v4a(public_key_for(S3_AKID, S3_SECRET), out["string_to_sign"], out["signature"])


# --------------------------------------------------------------------------
# presign: the S3 presigned URL example
# --------------------------------------------------------------------------
def test_presign_reproduces_s3_presigned_url_in_process() -> None:
    result = _invoke(PRESIGN_EXAMPLE)
    assert result.exit_code == 0, result.output
    assert result.output == PRESIGNED["expected_url"] + "\n"


def test_presign_reproduces_s3_presigned_url_subprocess() -> None:
    proc = _run(PRESIGN_EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == PRESIGNED["expected_url"]
    assert "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404" in proc.stdout


def test_presign_json_and_expiry_bounds() -> None:
    out = json.loads(_invoke([*PRESIGN_EXAMPLE, "--json"]).output)
    assert out["url"] == PRESIGNED["expected_url"]
    assert out["expires"] == 86400
    bad = _invoke([*PRESIGN_EXAMPLE[:4], "604801", *PRESIGN_EXAMPLE[5:]])
    assert bad.exit_code == 2
    assert "604800" in bad.output


# --------------------------------------------------------------------------
# The aws-c-auth suite's get-vanilla, header and query signing
# --------------------------------------------------------------------------
def test_get_vanilla_header_and_query() -> None:
    case = V4_SUITE / "get-vanilla"
    ctx = json.loads((case / "context.json").read_text())
    env = {
        "AWS_ACCESS_KEY_ID": ctx["credentials"]["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": ctx["credentials"]["secret_access_key"],
    }
    common = [
        "--region",
        ctx["region"],
        "--service",
        ctx["service"],
        "--timestamp",
        ctx["timestamp"],
    ]
    result = _invoke(["sign", "GET", "https://example.amazonaws.com/", *common, "--json"], env=env)
    out = json.loads(result.output)
    assert out["canonical_request"] == (case / "header-canonical-request.txt").read_text()
    assert out["string_to_sign"] == (case / "header-string-to-sign.txt").read_text()
    assert out["signature"] == (case / "header-signature.txt").read_text().strip()
    proc = _run(
        [
            "presign",
            "GET",
            "https://example.amazonaws.com/",
            "--expires",
            str(ctx["expiration_in_seconds"]),
            *common,
            "--json",
        ],
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    q = json.loads(proc.stdout)
    assert q["canonical_request"] == (case / "query-canonical-request.txt").read_text()
    assert q["string_to_sign"] == (case / "query-string-to-sign.txt").read_text()
    assert q["signature"] == (case / "query-signature.txt").read_text().strip()
    assert q["url"].endswith("&X-Amz-Signature=" + q["signature"])


# --------------------------------------------------------------------------
# Errors and the missing-click hint
# --------------------------------------------------------------------------
def test_errors_are_one_line_messages() -> None:
    missing = _invoke(["sign", "GET", "https://example.amazonaws.com/", "--service", "iam"])
    assert missing.exit_code == 2
    assert "pass --region" in missing.output and "example.amazonaws.com" in missing.output
    bad_ts = _invoke([*SIGN_RANGE[:-1], "yesterday"])
    assert bad_ts.exit_code == 1
    assert "cannot parse timestamp 'yesterday'" in bad_ts.output
    assert "Traceback" not in bad_ts.output
    bad_h = _invoke([*SIGN_RANGE, "-H", "no colon"])
    assert bad_h.exit_code == 2
    assert "'Name: value'" in bad_h.output
    nocreds = _invoke(SIGN_RANGE, env={})
    assert nocreds.exit_code == 1
    assert "AWS_ACCESS_KEY_ID" in nocreds.output
    half = _invoke([*SIGN_RANGE, "--access-key", S3_AKID], env={})
    assert half.exit_code == 1
    assert "--secret-key is missing" in half.output


def test_secret_never_printed() -> None:
    for args in ([*SIGN_RANGE], [*SIGN_RANGE, "--json"], [*PRESIGN_EXAMPLE, "--json"]):
        assert S3_SECRET not in _invoke(args).output


def test_missing_click_prints_install_hint(tmp_path: Path) -> None:
    # A 'click' that cannot be imported, first on the path: as if not installed.
    blocker = tmp_path / "click"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('No module named click')\n")
    env = _clean_env(**S3_ENV)
    env["PYTHONPATH"] = str(tmp_path)
    proc = subprocess.run(
        [*_script(), *SIGN_RANGE], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == INSTALL_HINT + "\n"
    assert "pip install 'sigv4kit[cli]'" in proc.stderr


def test_help_has_examples_for_every_command() -> None:
    assert isinstance(cli.commands, dict)
    for name in cli.commands:
        out = _invoke([name, "--help"]).output
        assert "Examples:" in out, name
        assert "sigv4kit " + name in out or name == "completion", name


def test_completion_script() -> None:
    out = _invoke(["completion", "bash"]).output
    assert "_SIGV4KIT_COMPLETE" in out
    env = {"_SIGV4KIT_COMPLETE": "bash_complete", "COMP_WORDS": "sigv4kit pre", "COMP_CWORD": "1"}
    proc = _run([], env={**S3_ENV, **env})
    assert "presign" in proc.stdout
