"""``sigv4kit diagnose``: each kind of signing mistake, named correctly.

Every error body here is real: a client makes a mistake (signs the path
with the wrong encoding, leaves a header untrimmed, ...), or the request is
changed on its way, and sigv4kit's Verifier -- the server -- rejects it; the
body is that error's ``to_xml()``, exactly what an S3-compatible server
sends.  Where a server answers in another format (the JSON message of
non-S3 AWS services, a scope mismatch found by comparing strings to sign),
the body is built from ``SignatureDoesNotMatch(...)`` with what the server
computed.  ``diagnose`` then gets the error and the client's view and must
name the one right cause.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sigv4kit import Credentials, Signer
from sigv4kit.cli._commands import cli
from sigv4kit.diagnose import diagnose, parse_error_body
from sigv4kit.errors import SignatureDoesNotMatch, SignatureError
from sigv4kit.verifier import Verifier

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDS = Credentials(AKID, SECRET)
WHEN = "20150830T123600Z"
NOW = datetime(2015, 8, 30, 12, 37, tzinfo=timezone.utc)


@dataclass
class Case:
    error_xml: str
    client_cr: str
    client_sts: str
    raw_sent: bytes  # the request as the client sent it


def _runner() -> CliRunner:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    return CliRunner(env=env)


def _raw(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    rest = url.partition("://")[2]
    target = rest[rest.index("/") :] if "/" in rest else "/"
    lines = [f"{method} {target} HTTP/1.1", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _server_error(
    verifier: Verifier,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    now: datetime = NOW,
) -> SignatureError:
    # A server receives the origin form (path?query): a proxy that rewrites
    # Host sends it on, and an absolute target naming another host than the
    # Host header is refused before any signature check (issue 18).
    target = "/" + url.partition("://")[2].partition("/")[2] if "://" in url else url
    with pytest.raises(SignatureError) as info:
        ok = verifier.verify(method, target, headers, body, now=now)
        ok.read()
    return info.value


def _with_signature(signer: Signer, signed: Any, cr: str) -> tuple[str, str, list[tuple[str, str]]]:
    """A client whose canonicalization produced ``cr``: sign that, send the request."""
    sts, sig = signer.sign_canonical_request(cr, signed.amz_date)
    auth = signed.authorization.rpartition("Signature=")[0] + f"Signature={sig}"
    headers = [(n, auth if n == "Authorization" else v) for n, v in signed.headers]
    return sts, sig, headers


def _client_mistake(
    service: str,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    mutate: Any,
    *,
    sent_headers: Any = None,
) -> Case:
    signer = Signer(CREDS, "us-east-1", service)
    signed = signer.sign(method, url, headers, body=body, timestamp=WHEN)
    cr = mutate(signed.canonical_request)
    sts, _, send_headers = _with_signature(signer, signed, cr)
    if sent_headers is not None:
        send_headers = sent_headers(send_headers)
    verifier = Verifier({AKID: SECRET}, "us-east-1", service)
    err = _server_error(verifier, method, signed.url, send_headers, body)
    assert isinstance(err, SignatureDoesNotMatch)
    return Case(err.to_xml(), cr, sts, _raw(method, signed.url, send_headers, body))


def _changed_in_transit(
    service: str,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    change: Any,
    sent_body: bytes | None = None,
    creds: Credentials = CREDS,
    verifier_creds: Any = None,
) -> Case:
    signer = Signer(creds, "us-east-1", service)
    signed = signer.sign(method, url, headers, body=body, timestamp=WHEN)
    sent = change(list(signed.headers))
    verifier = Verifier(verifier_creds or {AKID: SECRET}, "us-east-1", service)
    err = _server_error(
        verifier, method, signed.url, sent, body if sent_body is None else sent_body
    )
    return Case(
        err.to_xml(),
        signed.canonical_request,
        signed.string_to_sign,
        _raw(method, signed.url, list(signed.headers), body),
    )


def _diagnose(tmp_path: Path, case: Case, *, how: str = "texts") -> dict[str, Any]:
    err = tmp_path / "error.xml"
    err.write_text(case.error_xml)
    args = ["diagnose", str(err), "--json"]
    if how == "texts":
        (tmp_path / "creq.txt").write_text(case.client_cr)
        (tmp_path / "sts.txt").write_text(case.client_sts)
        args += ["--canonical-request", str(tmp_path / "creq.txt")]
        args += ["--string-to-sign", str(tmp_path / "sts.txt")]
    elif how == "request":
        (tmp_path / "sent.txt").write_bytes(case.raw_sent)
        args += ["--request", str(tmp_path / "sent.txt")]
    result = _runner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code in (0, 3), result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def _ids(data: dict[str, Any]) -> list[str]:
    return [c["id"] for c in data["causes"]]


# --------------------------------------------------------------------------
# One test per cause
# --------------------------------------------------------------------------
def test_path_encoding_double_encoded_for_s3(tmp_path: Path) -> None:
    # The client double-encodes the S3 key (as for other services).
    case = _client_mistake(
        "s3", "GET", "https://bucket.s3.amazonaws.com/my file.txt", [], b"",
        lambda cr: cr.replace("\n/my%20file.txt\n", "\n/my%2520file.txt\n"),
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["path-encoding"]
    assert "once more than the server" in data["causes"][0]["detail"]
    diff = data["canonical_request_diff"]
    assert ["-", "canonical URI", "/my%2520file.txt"] in diff
    assert ["+", "canonical URI", "/my%20file.txt"] in diff


def test_path_encoding_single_encoded_for_other_services(tmp_path: Path) -> None:
    case = _client_mistake(
        "execute-api", "GET", "https://api.example.com/documents and settings/", [], b"",
        lambda cr: cr.replace("/documents%2520and%2520settings/", "/documents%20and%20settings/"),
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["path-encoding"]
    assert "double-encode" in data["causes"][0]["detail"]


def test_query_order(tmp_path: Path) -> None:
    case = _client_mistake(
        "s3", "GET", "https://bucket.s3.amazonaws.com/?prefix=J&max-keys=2", [], b"",
        lambda cr: cr.replace("\nmax-keys=2&prefix=J\n", "\nprefix=J&max-keys=2\n"),
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["query-encoding"]
    assert "order" in data["causes"][0]["detail"]


def test_query_encoding_plus_for_space(tmp_path: Path) -> None:
    case = _client_mistake(
        "s3", "GET", "https://bucket.s3.amazonaws.com/?prefix=a%20b", [], b"",
        lambda cr: cr.replace("\nprefix=a%20b\n", "\nprefix=a+b\n"),
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["query-encoding"]
    assert "encoded differently" in data["causes"][0]["detail"]


def test_header_whitespace(tmp_path: Path) -> None:
    case = _client_mistake(
        "s3", "GET", "https://bucket.s3.amazonaws.com/k", [("X-Amz-Meta-Note", "a   b")], b"",
        lambda cr: cr.replace("x-amz-meta-note:a b\n", "x-amz-meta-note:a   b\n"),
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["header-whitespace"]
    assert "x-amz-meta-note" in data["causes"][0]["detail"]


def test_header_changed_in_transit(tmp_path: Path) -> None:
    def proxy(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, "text/plain; charset=utf-8" if n == "Content-Type" else v) for n, v in headers]

    case = _changed_in_transit(
        "s3", "PUT", "https://bucket.s3.amazonaws.com/k", [("Content-Type", "text/plain")],
        b"hello", change=proxy,
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["header-changed"]
    assert "content-type" in data["causes"][0]["detail"]
    assert "charset=utf-8" in data["causes"][0]["detail"]
    by_request = _diagnose(tmp_path, case, how="request")
    assert _ids(by_request) == ["header-changed"]


def test_host_changed_by_a_proxy(tmp_path: Path) -> None:
    def proxy(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, "internal:8080" if n == "Host" else v) for n, v in headers]

    case = _changed_in_transit(
        "s3", "GET", "https://bucket.s3.amazonaws.com/k", [], b"", change=proxy
    )
    assert _ids(_diagnose(tmp_path, case)) == ["header-changed"]


def test_payload_hash_non_s3(tmp_path: Path) -> None:
    # The client hashed the JSON before a library re-serialized it.
    case = _changed_in_transit(
        "execute-api", "POST", "https://api.example.com/items",
        [("Content-Type", "application/json")], b'{"a": 1}',
        change=lambda h: h, sent_body=b'{"a":1}',
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["payload-hash"]
    assert hashlib.sha256(b'{"a":1}').hexdigest() in data["causes"][0]["detail"]


def test_payload_hash_s3_content_sha256_mismatch(tmp_path: Path) -> None:
    case = _changed_in_transit(
        "s3", "PUT", "https://bucket.s3.amazonaws.com/k", [], b"hello",
        change=lambda h: h, sent_body=b"hello\n",
    )  # fmt: skip
    data = _diagnose(tmp_path, case)
    assert data["code"] == "XAmzContentSHA256Mismatch"
    assert _ids(data) == ["payload-hash"]


def test_wrong_region_from_the_verifier(tmp_path: Path) -> None:
    signer = Signer(CREDS, "us-west-2", "s3")
    signed = signer.sign("GET", "https://bucket.s3.amazonaws.com/k", timestamp=WHEN)
    err = _server_error(
        Verifier({AKID: SECRET}, "us-east-1", "s3"), "GET", signed.url, list(signed.headers), b""
    )
    case = Case(err.to_xml(), signed.canonical_request, signed.string_to_sign, b"")
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["wrong-region"]
    assert "'us-east-1'" in data["causes"][0]["detail"]


def test_wrong_region_and_service_from_strings_to_sign(tmp_path: Path) -> None:
    for (region, service), cause in (
        (("eu-west-1", "s3"), "wrong-region"),
        (("us-east-1", "s3-object-lambda"), "wrong-service"),
    ):
        client = Signer(CREDS, region, service)
        c = client.sign(
            "GET", "https://bucket.s3.amazonaws.com/k", timestamp=WHEN, payload="unsigned"
        )
        server = Signer(CREDS, "us-east-1", "s3").sign(
            "GET", "https://bucket.s3.amazonaws.com/k", timestamp=WHEN, payload="unsigned"
        )
        body = SignatureDoesNotMatch(
            canonical_request=server.canonical_request,
            string_to_sign=server.string_to_sign,
            signature_provided=c.signature,
            access_key_id=AKID,
        ).to_xml()
        case = Case(body, c.canonical_request, c.string_to_sign, b"")
        data = _diagnose(tmp_path, case)
        assert _ids(data) == [cause], (cause, data["causes"])


def test_clock_skew(tmp_path: Path) -> None:
    signer = Signer(CREDS, "us-east-1", "s3")
    signed = signer.sign("GET", "https://bucket.s3.amazonaws.com/k", timestamp=WHEN)
    later = datetime(2015, 8, 30, 13, 36, tzinfo=timezone.utc)
    err = _server_error(
        Verifier({AKID: SECRET}, "us-east-1", "s3"),
        "GET", signed.url, list(signed.headers), b"", now=later,
    )  # fmt: skip
    assert err.code == "RequestTimeTooSkewed"
    data = _diagnose(tmp_path, Case(err.to_xml(), "", "", b""), how="none")
    assert _ids(data) == ["clock-skew"]
    assert WHEN in data["causes"][0]["detail"]


def test_session_token_swapped_after_signing(tmp_path: Path) -> None:
    creds = Credentials(AKID, SECRET, "token-A")

    def refreshed(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, "token-B" if n == "X-Amz-Security-Token" else v) for n, v in headers]

    case = _changed_in_transit(
        "s3", "GET", "https://bucket.s3.amazonaws.com/k", [], b"",
        change=refreshed, creds=creds, verifier_creds={AKID: Credentials(AKID, SECRET, "token-B")},
    )  # fmt: skip
    assert "token-B" not in case.error_xml  # the verifier hides the token
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["session-token"]


def test_session_token_invalid_code(tmp_path: Path) -> None:
    from sigv4kit.errors import InvalidToken

    data = _diagnose(tmp_path, Case(InvalidToken().to_xml(), "", "", b""), how="none")
    assert _ids(data) == ["session-token"]


def test_wrong_secret_key(tmp_path: Path) -> None:
    client = Signer(Credentials(AKID, SECRET + "x"), "us-east-1", "s3")
    signed = client.sign("GET", "https://bucket.s3.amazonaws.com/k", timestamp=WHEN)
    err = _server_error(
        Verifier({AKID: SECRET}, "us-east-1", "s3"), "GET", signed.url, list(signed.headers), b""
    )
    case = Case(err.to_xml(), signed.canonical_request, signed.string_to_sign, b"")
    data = _diagnose(tmp_path, case)
    assert _ids(data) == ["secret-key"]


# --------------------------------------------------------------------------
# Formats and ways to give the client's view
# --------------------------------------------------------------------------
def test_non_s3_json_message_and_re_signing(tmp_path: Path) -> None:
    """DynamoDB-style JSON error; the client view re-signed from METHOD URL and flags."""
    url = "https://dynamodb.us-east-1.amazonaws.com/"
    headers = [("Content-Type", "application/x-amz-json-1.0"),
               ("X-Amz-Target", "DynamoDB_20120810.ListTables")]  # fmt: skip
    server = Signer(CREDS, "us-east-1", "dynamodb").sign(
        "POST", url, [*headers[:1], ("X-Amz-Target", "DynamoDB_20120810.ListTables ")],
        body=b"{}", timestamp=WHEN,
    )  # fmt: skip
    server_cr = server.canonical_request.replace(
        "x-amz-target:DynamoDB_20120810.ListTables", "x-amz-target:DynamoDB_20120810.ListTable"
    )
    server_sts = (
        server.string_to_sign.rpartition("\n")[0]
        + "\n"
        + hashlib.sha256(server_cr.encode()).hexdigest()
    )
    message = (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        f"details.\n\nThe Canonical String for this request should have been\n'{server_cr}'\n\n"
        f"The String-to-Sign should have been\n'{server_sts}'\n"
    )
    body = json.dumps({"__type": "com.amazon.coral.service#InvalidSignatureException",
                       "message": message})  # fmt: skip
    parsed = parse_error_body(body)
    assert parsed.code == "InvalidSignatureException"
    assert parsed.canonical_request == server_cr
    assert parsed.string_to_sign == server_sts
    err = tmp_path / "error.json"
    err.write_text(body)
    args = ["diagnose", str(err), "POST", url, "-d", "{}", "--json",
            "--access-key", AKID, "--secret-key", SECRET]  # fmt: skip
    for n, v in headers:
        args += ["-H", f"{n}: {v}"]
    result = _runner().invoke(cli, args, catch_exceptions=False)
    data = json.loads(result.output)
    assert _ids(data) == ["header-changed"]
    assert "x-amz-target" in data["causes"][0]["detail"]


def test_readable_output_names_the_cause(tmp_path: Path) -> None:
    case = _client_mistake(
        "s3", "GET", "https://bucket.s3.amazonaws.com/?prefix=J&max-keys=2", [], b"",
        lambda cr: cr.replace("\nmax-keys=2&prefix=J\n", "\nprefix=J&max-keys=2\n"),
    )  # fmt: skip
    (tmp_path / "e.xml").write_text(case.error_xml)
    (tmp_path / "c.txt").write_text(case.client_cr)
    out = (
        _runner()
        .invoke(
            cli,
            ["diagnose", str(tmp_path / "e.xml"), "--canonical-request", str(tmp_path / "c.txt")],
        )
        .output
    )
    assert "Likely cause: Query encoding or order" in out
    assert re.search(r"^  - canonical query +prefix=J&max-keys=2$", out, re.M)
    assert re.search(r"^  \+ canonical query +max-keys=2&prefix=J$", out, re.M)
    assert "SignatureDoesNotMatch" in out


def test_no_cause_exit_status_and_hint() -> None:
    d = diagnose(parse_error_body("<Error><Code>SignatureDoesNotMatch</Code></Error>"))
    assert d.causes == []
    assert d.notes
    result = _runner().invoke(cli, ["diagnose", "-"], input="<Error><Code>X</Code></Error>")
    assert result.exit_code == 3
