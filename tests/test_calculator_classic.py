"""Calculator parity with the classic online "AWS Signature V4 Calculator" page.

That page asks for the canonical headers as ``name:value`` lines, ``host:``
and ``x-amz-date:`` among them, and for the signed headers separated by
semicolons.  Its examples are typed here exactly that way, in both of
sigv4kit's input modes (a request, and the canonical inputs verbatim), first
through ``compute()`` and then into the page in Chromium:

* Example 1, AWS's documented IAM ``ListUsers`` request (its published
  signature ``5d672d79...``);
* Example 2, ``POST /v1/items`` to execute-api with signed headers
  ``content-type;host;x-amz-date`` and ``x-amz-date:20260125T110000Z``,
  checked against a signature computed here with ``hmac`` from the
  canonical request text (independent of sigv4kit).

Also: the signing time comes from the ``x-amz-date`` line (a note says so
when the timestamp field disagrees), commas work like semicolons, and a
presigned URL that would outlive its credentials is refused on the page as
by the CLI.  A screenshot of the canonical-inputs mode goes to
``test-artifacts/`` and, with ``SIGV4KIT_UPDATE_DOCS=1``, to ``docs/``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from typing import Any

import pytest

from sigv4kit.calculator import compute
from test_calculator import ROOT, _shot, browser, page, server  # noqa: F401

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

# Example 1: AWS's documented IAM request (General Reference, "Signature Version 4 examples").
EX1_HEADERS = (
    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
    "host:iam.amazonaws.com\n"
    "x-amz-date:20150830T123600Z"
)
EX1 = {
    "access_key": AKID,
    "secret_key": SECRET,
    "region": "us-east-1",
    "service": "iam",
    "method": "GET",
    "url": "/?Action=ListUsers&Version=2010-05-08",
    "headers": EX1_HEADERS,
    "signed_headers": "content-type;host;x-amz-date",
}
EX1_CANONICAL = {
    **{k: v for k, v in EX1.items() if k not in ("url", "headers")},
    "input_mode": "canonical",
    "canonical_uri": "/",
    "canonical_query": "Action=ListUsers&Version=2010-05-08",
    "canonical_headers": EX1_HEADERS,
}
EX1_SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

# Example 2: POST /v1/items to API Gateway.
EX2_HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"
EX2_BODY = '{"name":"widget","qty":2}'
EX2_HEADERS = f"content-type:application/json\nhost:{EX2_HOST}\nx-amz-date:20260125T110000Z"
EX2 = {
    "access_key": AKID,
    "secret_key": SECRET,
    "region": "us-east-1",
    "service": "execute-api",
    "method": "POST",
    "url": "/v1/items",
    "headers": EX2_HEADERS,
    "signed_headers": "content-type;host;x-amz-date",
    "payload": EX2_BODY,
}
EX2_CANONICAL = {
    **{k: v for k, v in EX2.items() if k not in ("url", "headers")},
    "input_mode": "canonical",
    "canonical_uri": "/v1/items",
    "canonical_query": "",
    "canonical_headers": EX2_HEADERS,
}


def _reference_signature(canonical_request: str, amz_date: str, region: str, service: str) -> str:
    """SigV4 from the text of a canonical request, written out from AWS's description."""
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"
    key = ("AWS4" + SECRET).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


EX2_CANONICAL_REQUEST = (
    f"POST\n/v1/items\n\n{EX2_HEADERS}\n\ncontent-type;host;x-amz-date\n"
    + hashlib.sha256(EX2_BODY.encode()).hexdigest()
)
EX2_SIGNATURE = _reference_signature(
    EX2_CANONICAL_REQUEST, "20260125T110000Z", "us-east-1", "execute-api"
)


# --------------------------------------------------------------------------
# compute()
# --------------------------------------------------------------------------
@pytest.mark.parametrize("form", [EX1, EX1_CANONICAL], ids=["request", "canonical-inputs"])
def test_example_1_iam_list_users(form: dict[str, str]) -> None:
    out = compute(form)
    assert out["ok"], out
    assert out["result"]["signature"] == EX1_SIGNATURE
    assert out["result"]["amz_date"] == "20150830T123600Z"  # from the x-amz-date line


@pytest.mark.parametrize("form", [EX2, EX2_CANONICAL], ids=["request", "canonical-inputs"])
def test_example_2_execute_api_post(form: dict[str, str]) -> None:
    out = compute(form)
    assert out["ok"], out
    r = out["result"]
    assert r["canonical_request"] == EX2_CANONICAL_REQUEST
    assert r["signature"] == EX2_SIGNATURE
    assert r["authorization"].endswith(
        "SignedHeaders=content-type;host;x-amz-date, Signature=" + EX2_SIGNATURE
    )


def test_commas_work_like_semicolons() -> None:
    for form in (EX2, EX2_CANONICAL):
        out = compute({**form, "signed_headers": "content-type, host, x-amz-date"})
        assert out["result"]["signature"] == EX2_SIGNATURE


def test_x_amz_date_line_wins_over_the_timestamp_field_with_a_note() -> None:
    for form in (EX2, EX2_CANONICAL):
        out = compute({**form, "timestamp": "20260101T000000Z"})
        assert out["result"]["signature"] == EX2_SIGNATURE
        assert any("20260101T000000Z" in n and "20260125T110000Z" in n for n in out["notes"]), out[
            "notes"
        ]
        same = compute({**form, "timestamp": "2026-01-25T11:00:00Z"})
        assert not any("disagree" in n or "says" in n for n in same["notes"])


def test_canonical_inputs_are_signed_verbatim_with_notes() -> None:
    # Not canonical form: an uppercase name and untrimmed spaces are signed as typed.
    odd = EX2_HEADERS.replace("content-type:application/json", "Content-Type:  application/json")
    out = compute(
        {
            **EX2_CANONICAL,
            "canonical_headers": odd,
            "signed_headers": "Content-Type;host;x-amz-date",
        }
    )
    assert out["ok"], out
    assert "Content-Type:  application/json\n" in out["result"]["canonical_request"]
    assert out["result"]["signature"] != EX2_SIGNATURE
    assert any("lowercase" in n for n in out["notes"])
    assert any("spaces" in n for n in out["notes"])
    missing = compute({**EX2_CANONICAL, "signed_headers": "content-type;host;x-amz-date;range"})
    assert missing["ok"] is False
    assert missing["errors"][0]["field"] == "signed_headers"
    assert "range" in missing["errors"][0]["message"]
    no_time = compute(
        {**EX2_CANONICAL, "canonical_headers": f"host:{EX2_HOST}", "signed_headers": "host"}
    )
    assert no_time["errors"][0]["field"] == "timestamp"


def test_presign_refuses_a_url_outliving_the_credentials() -> None:
    form = {
        "access_key": AKID,
        "secret_key": SECRET,
        "session_token": "token",
        "region": "us-east-1",
        "service": "s3",
        "method": "GET",
        "url": "https://examplebucket.s3.amazonaws.com/test.txt",
        "timestamp": "20130524T000000Z",
        "mode": "presign",
        "expires": "3600",
        "expiration": "20130524T001000Z",
    }
    out = compute(form)
    assert out["ok"] is False
    err = out["errors"][0]
    assert err["field"] == "expires"
    assert "2013-05-24 01:00:00Z" in err["message"] and "2013-05-24 00:10:00Z" in err["message"]
    capped = compute({**form, "cap_expires": "1"})
    assert capped["ok"], capped
    assert "X-Amz-Expires=600&" in capped["result"]["url"]
    unlimited = compute({**form, "expiration": ""})
    assert "X-Amz-Expires=3600&" in unlimited["result"]["url"]


# --------------------------------------------------------------------------
# The page in Chromium, typed as the classic page instructs
# --------------------------------------------------------------------------
def _type(pg: Any, form: dict[str, str]) -> None:
    if form.get("input_mode"):
        pg.select_option("#input_mode", form["input_mode"])
    for field, value in form.items():
        if field == "input_mode":
            continue
        if field in ("method", "algorithm", "mode"):
            pg.select_option(f"#{field}", value)
        elif field in ("unsigned_payload", "cap_expires", "show_token"):
            pg.set_checked(f"#{field}", value == "1")
        else:
            pg.fill(f"#{field}", value)


def test_page_example_1_both_modes(page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page.fill("#timestamp", "")
    _type(page, EX1)
    expect(page.locator("#out-signature")).to_have_text(EX1_SIGNATURE)
    expect(page.locator("#notes")).to_contain_text("taken from the x-amz-date line")
    page.select_option("#input_mode", "canonical")
    assert page.locator("#url").is_hidden() and page.locator("#canonical_headers").is_visible()
    _type(page, EX1_CANONICAL)
    expect(page.locator("#out-signature")).to_have_text(EX1_SIGNATURE)
    _shot(page, "calculator-classic-example-1.png")


def test_page_example_2_canonical_inputs(page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    _type(page, EX2_CANONICAL)
    expect(page.locator("#out-signature")).to_have_text(EX2_SIGNATURE)
    assert page.locator("#out-creq").text_content() == EX2_CANONICAL_REQUEST
    auth = page.locator("#out-authorization").text_content()
    assert "SignedHeaders=content-type;host;x-amz-date" in auth
    # A timestamp field that disagrees: the x-amz-date line wins, and the page says so.
    page.fill("#timestamp", "20260101T000000Z")
    expect(page.locator("#notes")).to_contain_text("the x-amz-date line says 20260125T110000Z")
    expect(page.locator("#out-signature")).to_have_text(EX2_SIGNATURE)
    path = _shot(page, "calculator-canonical-inputs.png")
    if os.environ.get("SIGV4KIT_UPDATE_DOCS") == "1":
        shutil.copyfile(path, ROOT / "docs" / "calculator-canonical-inputs.png")
    # The same example in the request mode, with commas instead of semicolons.
    page.fill("#timestamp", "")
    page.select_option("#input_mode", "request")
    _type(page, {**EX2, "signed_headers": "content-type,host,x-amz-date"})
    expect(page.locator("#out-signature")).to_have_text(EX2_SIGNATURE)
    expect(page.locator("#err-signed_headers")).to_be_empty()


def test_page_refuses_a_presigned_url_outliving_the_credentials(page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    _type(
        page,
        {
            "access_key": AKID,
            "secret_key": SECRET,
            "session_token": "token",
            "region": "us-east-1",
            "service": "s3",
            "url": "https://examplebucket.s3.amazonaws.com/test.txt",
            "timestamp": "20130524T000000Z",
            "mode": "presign",
            "expires": "3600",
            "expiration": "20130524T001000Z",
        },
    )
    expect(page.locator("#err-expires")).to_contain_text("credentials expire at 2013-05-24 00:10")
    page.set_checked("#cap_expires", True)
    expect(page.locator("#out-url")).to_contain_text("X-Amz-Expires=600&")
