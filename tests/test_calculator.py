"""The local calculator: the computation, the loopback server, and the page in Chromium.

The end-to-end tests drive Debian's chromium with Playwright (never a
downloaded browser): they type AWS's documented examples into the form and
read back the published signatures, switch to SigV4a and verify the shown
signature with sigv4kit, and paste a real ``SignatureDoesNotMatch`` body
(made by the Verifier) to see the cause named.  Screenshots go to
``test-artifacts/``; with ``SIGV4KIT_UPDATE_DOCS=1`` one is also written to
``docs/calculator.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.calculator import CalculatorServer, compute
from sigv4kit.errors import SignatureError
from suite import VECTORS

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
EXAMPLES = {
    e["name"]: e for e in json.loads((VECTORS / "s3-examples.json").read_text())["examples"]
}
RANGE = EXAMPLES["get-object-range"]
PRESIGNED = EXAMPLES["presigned-get-object"]
AKID = RANGE["credentials"]["access_key_id"]
SECRET = RANGE["credentials"]["secret_access_key"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

RANGE_FORM = {
    "access_key": AKID,
    "secret_key": SECRET,
    "region": "us-east-1",
    "service": "s3",
    "method": "GET",
    "url": "https://examplebucket.s3.amazonaws.com/test.txt",
    "headers": "Range: bytes=0-9",
    "timestamp": "20130524T000000Z",
}


# --------------------------------------------------------------------------
# compute(): the page's one computation, without a browser
# --------------------------------------------------------------------------
def test_compute_s3_examples() -> None:
    out = compute(RANGE_FORM)
    assert out["ok"], out
    r = out["result"]
    assert r["signature"] == RANGE["expected_signature"]
    assert r["canonical_request"] == RANGE["expected_canonical_request"]
    assert r["string_to_sign"] == RANGE["expected_string_to_sign"]
    assert "curl https://examplebucket.s3.amazonaws.com/test.txt" in r["curl"]
    assert "-H 'Range: bytes=0-9'" in r["curl"]
    pre = compute({**RANGE_FORM, "headers": "", "mode": "presign", "expires": "86400"})
    assert pre["result"]["url"] == PRESIGNED["expected_url"]
    assert pre["result"]["authorization"] is None
    # A path plus a Host header works like the full URL.
    host_and_range = "Host: examplebucket.s3.amazonaws.com\nRange: bytes=0-9"
    path = compute({**RANGE_FORM, "url": "/test.txt", "headers": host_and_range})
    assert path["result"]["signature"] == RANGE["expected_signature"]


def test_compute_curl_command_really_sends_the_signed_request() -> None:
    out = compute({**RANGE_FORM, "method": "PUT", "payload": "it's here"})
    curl = out["result"]["curl"]
    assert "-X PUT" in curl
    assert "--data-binary 'it'\"'\"'s here'" in curl


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"url": "/test.txt"}, "headers", "missing host"),
        ({"timestamp": "yesterday"}, "timestamp", "malformed timestamp"),
        ({"timestamp": "20130532T000000Z"}, "timestamp", "malformed timestamp"),
        ({"signed_headers": "host,x-custom"}, "signed_headers", "x-custom is not present"),
        ({"headers": "Range bytes=0-9"}, "headers", "line 1: write headers as 'Name: value'"),
        ({"url": "examplebucket.s3.amazonaws.com/x"}, "url", "needs a scheme"),
        ({"access_key": ""}, "access_key", "enter an access key id"),
        ({"secret_key": ""}, "secret_key", "enter the secret"),
        ({"region": ""}, "region", "enter the region"),
        ({"mode": "presign", "expires": "604801"}, "expires", "604800"),
        ({"method": "GET /"}, "method", "not an HTTP method"),
    ],
)
def test_compute_inline_errors(change: dict[str, str], field: str, text: str) -> None:
    out = compute({**RANGE_FORM, **change})
    assert out["ok"] is False
    assert out["errors"][0]["field"] == field
    assert text in out["errors"][0]["message"]
    assert SECRET not in json.dumps(out)


def test_compute_runs_the_diagnosis() -> None:
    body = _error_body_range_changed()
    out = compute({**RANGE_FORM, "error_body": body})
    ids = [c["id"] for c in out["diagnosis"]["causes"]]
    assert ids == ["header-changed"]


def _error_body_range_changed() -> str:
    """What a server answers when a proxy changed the Range the client signed."""
    from sigv4kit.verifier import Verifier

    signed = Signer(Credentials(AKID, SECRET), "us-east-1", "s3").sign(
        "GET", RANGE_FORM["url"], [("Range", "bytes=0-9")], timestamp="20130524T000000Z"
    )
    received = [(n, "bytes=0-99" if n == "Range" else v) for n, v in signed.headers]
    verifier = Verifier({AKID: SECRET}, "us-east-1", "s3")
    with pytest.raises(SignatureError) as info:
        verifier.verify(
            "GET", "/test.txt", received, b"", now=datetime(2013, 5, 24, 0, 1, tzinfo=timezone.utc)
        )
    return info.value.to_xml()


# --------------------------------------------------------------------------
# The loopback server
# --------------------------------------------------------------------------
@pytest.fixture()
def server() -> Iterator[CalculatorServer]:
    srv = CalculatorServer()
    srv.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _post(srv: CalculatorServer, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    req = urllib.request.Request(srv.url + "api/compute", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def test_server_binds_loopback_and_guards_the_endpoint(
    server: CalculatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    assert server.server_address[0] == "127.0.0.1"
    with urllib.request.urlopen(server.url, timeout=10) as resp:
        page = resp.read().decode()
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert server.token in page
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://fonts" not in page
    body = json.dumps(RANGE_FORM).encode()
    good = {"Content-Type": "application/json", "X-Calculator-Token": server.token}
    status, data = _post(server, body, good)
    assert status == 200
    assert json.loads(data)["result"]["signature"] == RANGE["expected_signature"]
    # Another page in the browser cannot drive it: no token, or a foreign Host.
    assert _post(server, body, {"Content-Type": "application/json"})[0] == 403
    assert _post(server, body, {**good, "X-Calculator-Token": "guess"})[0] == 403
    assert _post(server, body, {**good, "Host": "evil.example:80"})[0] == 403
    assert _post(server, body, {**good, "Content-Type": "text/plain"})[0] == 415
    # Nothing was logged: no request lines, no bodies, no secret.
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_calculator_command_prints_the_url(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("sigv4kit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sigv4kit.cli"]
    with subprocess.Popen(
        [*cmd, "calculator", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("sigv4kit calculator: http://127.0.0.1:")
            url = line.split()[2]
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert b"sigv4kit calculator" in resp.read()
        finally:
            proc.terminate()
            proc.wait(10)
        assert proc.stderr is not None
        assert proc.stderr.read() == ""
    assert list(tmp_path.iterdir()) == []  # nothing written to disk


# --------------------------------------------------------------------------
# End to end in headless Chromium
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, server: CalculatorServer) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    pg = ctx.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(server.url)
    pg.requests = requests
    yield pg
    # Offline and private: the page talked to nothing but our loopback server.
    assert requests and all(u.startswith(server.url) for u in requests), requests
    ctx.close()


def _fill(page: Any, form: dict[str, str]) -> None:
    for field, value in form.items():
        if field in ("method", "algorithm", "mode"):
            page.select_option(f"#{field}", value)
        else:
            page.fill(f"#{field}", value)


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_page_reproduces_s3_get_with_range(page: Any) -> None:
    from playwright.sync_api import expect

    _fill(page, RANGE_FORM)
    expect(page.locator("#out-signature")).to_have_text(RANGE["expected_signature"])
    assert page.locator("#out-sts").text_content() == RANGE["expected_string_to_sign"]
    assert page.locator("#out-creq").text_content() == RANGE["expected_canonical_request"]
    auth = page.locator("#out-authorization").text_content()
    assert auth.replace(", ", ",") == RANGE["expected_authorization"]
    # The string to sign is broken down by part, each in its own colour.
    parts = page.locator("#out-sts span")
    assert parts.count() == 4
    colours = {parts.nth(i).evaluate("e => getComputedStyle(e).color") for i in range(4)}
    assert len(colours) == 4
    assert "kSigning" in page.locator("#out-keychain").text_content()
    assert SECRET not in page.locator("main > div:nth-child(2)").text_content()
    _shot(page, "calculator-s3-get-range.png")


def test_page_reproduces_presigned_url(page: Any) -> None:
    from playwright.sync_api import expect

    _fill(page, {**RANGE_FORM, "headers": "", "mode": "presign", "expires": "86400"})
    expect(page.locator("#out-url")).to_have_text(PRESIGNED["expected_url"])
    assert page.locator("#box-authorization").is_hidden()
    assert page.locator("#out-curl").text_content().startswith("curl '" + PRESIGNED["expected_url"])
    _shot(page, "calculator-presigned-url.png")


def test_page_sigv4a_signature_verifies(page: Any) -> None:
    from playwright.sync_api import expect

    from sigv4kit.v4a import public_key_for, verify_v4a

    _fill(page, RANGE_FORM)
    expect(page.locator("#out-signature")).to_have_text(RANGE["expected_signature"])
    page.select_option("#algorithm", "sigv4a")
    page.fill("#region_set", "us-east-1,us-west-2")
    expect(page.locator("#out-sts")).to_contain_text("AWS4-ECDSA-P256-SHA256")
    expect(page.locator("#out-headers")).to_contain_text("X-Amz-Region-Set: us-east-1,us-west-2")
    sts = page.locator("#out-sts").text_content()
    sig = page.locator("#out-signature").text_content()
    assert sts.split("\n")[2] == "20130524/s3/aws4_request"
    key = public_key_for(AKID, SECRET)
    assert verify_v4a(key, sts, sig)
    assert not verify_v4a(key, sts.replace("20130524T", "20130525T"), sig)
    assert not verify_v4a(public_key_for(AKID, SECRET + "x"), sts, sig)
    _shot(page, "calculator-sigv4a.png")


def test_page_diagnoses_a_pasted_error(page: Any) -> None:
    from playwright.sync_api import expect

    _fill(page, RANGE_FORM)
    expect(page.locator("#out-signature")).to_have_text(RANGE["expected_signature"])
    page.fill("#error_body", _error_body_range_changed())
    page.click("#diagnose")
    cause = page.locator('.cause[data-cause="header-changed"]')
    expect(cause).to_be_visible()
    expect(cause).to_contain_text("Likely cause: A header changed in transit")
    expect(cause).to_contain_text("bytes=0-99")
    expect(page.locator("#diagnosis pre.diff").first).to_contain_text("+ range:bytes=0-99")
    path = _shot(page, "calculator-diagnosis.png")
    if os.environ.get("SIGV4KIT_UPDATE_DOCS") == "1":
        shutil.copyfile(path, ROOT / "docs" / "calculator.png")


def test_page_shows_inline_errors(page: Any) -> None:
    from playwright.sync_api import expect

    _fill(page, {**RANGE_FORM, "url": "/test.txt"})
    expect(page.locator("#err-headers")).to_contain_text("missing host")
    expect(page.locator("#headers")).to_have_class("invalid")
    page.fill("#url", RANGE_FORM["url"])
    page.fill("#timestamp", "2013-05-24 noon")
    expect(page.locator("#err-timestamp")).to_contain_text("malformed timestamp")
    expect(page.locator("#err-headers")).to_be_empty()
    page.fill("#timestamp", RANGE_FORM["timestamp"])
    page.fill("#signed_headers", "host,range,x-missing")
    expect(page.locator("#err-signed_headers")).to_contain_text("x-missing is not present")
    _shot(page, "calculator-inline-error.png")


def test_session_token_hidden_in_the_canonical_request_unless_asked() -> None:
    from sigv4kit.calculator import compute

    form = {
        "access_key": "AKIAIOSFODNN7EXAMPLE",
        "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "session_token": "TOKEN/abc+def",
        "region": "us-east-1",
        "service": "s3",
        "method": "GET",
        "url": "https://examplebucket.s3.amazonaws.com/test.txt",
        "timestamp": "20130524T000000Z",
    }
    hidden = compute(form)["result"]
    assert "TOKEN/abc+def" not in hidden["canonical_request"]
    assert ["X-Amz-Security-Token", "TOKEN/abc+def"] in hidden["headers"]
    assert "TOKEN/abc+def" in hidden["curl"]
    shown = compute({**form, "show_token": "1"})["result"]
    assert "x-amz-security-token:TOKEN/abc+def" in shown["canonical_request"]
    assert shown["signature"] == hidden["signature"]
