"""``sigv4kit explain`` on every case of the official aws-c-auth v4 suite.

Header signing goes through the raw request file (``explain -f
request.txt``), which is what a server sees, so the three raw-target cases
(raw spaces, UTF-8) are explained as the suite expects.  Query signing goes
through ``explain METHOD URL --presign``.  The suite's own signed requests
are fed back to ``explain -f`` and must be recognised as matching.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from click.testing import CliRunner

from sigv4kit.cli._commands import cli
from suite import V4_SUITE, SuiteCase, is_raw_target, suite_cases

CASES = suite_cases(V4_SUITE)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _runner() -> CliRunner:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    return CliRunner(env=env)


def _flags(case: SuiteCase, *, kind: str) -> list[str]:
    ctx: dict[str, Any] = case.context  # type: ignore[assignment]
    c = ctx["credentials"]
    flags = [
        "--region", ctx["region"],
        "--service", ctx["service"],
        "--timestamp", ctx["timestamp"],
        "--access-key", c["access_key_id"],
        "--secret-key", c["secret_access_key"],
    ]  # fmt: skip
    if c.get("token"):
        flags += ["--session-token", c["token"]]
    if not ctx["normalize"]:
        flags.append("--no-normalize-path")
    if ctx.get("sign_body") and kind == "header":
        flags.append("--content-sha256")
    if ctx.get("omit_session_token"):
        flags.append("--unsigned-session-token")
    return flags


def _explain(args: list[str]) -> dict[str, Any]:
    result = _runner().invoke(cli, ["explain", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_suite_size() -> None:
    assert len(CASES) == 38


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_explain_raw_request_header_signing(case: SuiteCase) -> None:
    out = _explain(["-f", str(case.folder / "request.txt"), *_flags(case, kind="header"),
                    "--show-token"])  # fmt: skip
    assert out["canonical_request"] == case.expected("header", "canonical-request")
    assert out["string_to_sign"] == case.expected("header", "string-to-sign")
    assert out["signature"] == case.expected("header", "signature").strip()
    parts = out["string_to_sign_parts"]
    assert [
        parts["algorithm"],
        parts["request_date"],
        parts["credential_scope"],
        parts["canonical_request_sha256"],
    ] == out["string_to_sign"].split("\n")
    crp = out["canonical_request_parts"]
    rebuilt = "\n".join(
        [crp["method"], crp["canonical_uri"], crp["canonical_query"], *crp["canonical_headers"],
         "", crp["signed_headers"], crp["payload_hash"]]
    )  # fmt: skip
    assert rebuilt == out["canonical_request"]
    assert out["scope"] == {
        "date": "20150830",
        "region": "us-east-1",
        "service": "service",
        "terminator": "aws4_request",
    }
    assert out["key_chain"][2] == 'kRegion  = HMAC-SHA256(kDate, "us-east-1")'


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_explain_recognises_the_suites_signed_request(case: SuiteCase) -> None:
    signed = case.folder / "header-signed-request.txt"
    flags = [f for f in _flags(case, kind="header") if f not in ("--region", "--service")]
    # Region and service come from the request's own credential scope.
    flags = flags[4:]
    out = _explain(["-f", str(signed), *flags, "--show-token"])
    assert out["signature_matches"] is True, out["signature"]
    assert out["provided_signature"] == case.expected("header", "signature").strip()


NON_RAW = [c for c in CASES if not is_raw_target(c.request)]


@pytest.mark.parametrize("case", NON_RAW, ids=[c.name for c in NON_RAW])
def test_explain_presigned_query_signing(case: SuiteCase) -> None:
    req = case.request
    url = f"https://{req.header('host')}{req.target}"
    args = [req.method, url, "--presign", "--expires", "3600", *_flags(case, kind="query"),
            "--show-token"]  # fmt: skip
    for name, value in req.headers:
        args += ["-H", f"{name}: {value}"]
    if req.body:
        args += ["-d", req.body.decode()]
    out = _explain(args)
    assert out["canonical_request"] == case.expected("query", "canonical-request")
    assert out["string_to_sign"] == case.expected("query", "string-to-sign")
    assert out["signature"] == case.expected("query", "signature").strip()
    assert out["presigned"] is True


def test_explain_text_has_every_section_and_hides_the_token() -> None:
    case = next(c for c in CASES if c.name == "get-vanilla-with-session-token")
    token = case.context["credentials"]["token"]  # type: ignore[index]
    args = ["explain", "-f", str(case.folder / "request.txt"), *_flags(case, kind="header")]
    text = _runner().invoke(cli, args, catch_exceptions=False).output
    assert not ANSI.search(text)
    for title in (
        "Canonical request, part by part",
        "String to sign, part by part",
        "Credential scope",
        "Signing key chain (names only, never key material)",
        "Signature",
        "Headers to send",
    ):
        assert f"\n{title}\n" in f"\n{text}", title
    assert "SHA-256 of canonical request" in text
    assert token not in text
    assert "<session token hidden; --show-token prints it>" in text
    assert case.context["credentials"]["secret_access_key"] not in text  # type: ignore[index]
    assert case.expected("header", "signature").strip() in text
    shown = _runner().invoke(cli, [*args, "--show-token"], catch_exceptions=False).output
    assert token in shown
    as_json = _runner().invoke(cli, [*args, "--json"], catch_exceptions=False).output
    assert token not in as_json
    assert json.loads(as_json)["session_token_redacted"] is True


def test_explain_stdin_and_inline_errors() -> None:
    case = next(c for c in CASES if c.name == "get-vanilla")
    raw = (case.folder / "request.txt").read_bytes()
    result = _runner().invoke(
        cli, ["explain", "-f", "-", *_flags(case, kind="header"), "--json"], input=raw
    )
    assert json.loads(result.output)["signature"] == case.expected("header", "signature").strip()
    no_host = _runner().invoke(
        cli, ["explain", "-f", "-", *_flags(case, kind="header")], input=b"GET / HTTP/1.1\n\n"
    )
    assert no_host.exit_code == 1
    assert "no Host header" in no_host.output
    both = _runner().invoke(cli, ["explain", "GET", "https://a/", "-f", "-"], input=raw)
    assert both.exit_code == 2


def test_explain_infers_scope_and_says_so() -> None:
    result = CliRunner().invoke(
        cli,
        ["explain", "GET", "https://sqs.eu-central-1.amazonaws.com/?Action=ListQueues",
         "--access-key", "AKIDEXAMPLE", "--secret-key", "s", "--timestamp", "20150830T123600Z"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "inferred service sqs and region eu-central-1" in result.output
    assert "20150830/eu-central-1/sqs/aws4_request" in result.output
