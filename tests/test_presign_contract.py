"""The presign contract: expiry-safe presigning, header hoisting, ``presign --check``.

Pure tests (no server): the Verifier stands in for S3's presigned-URL check,
and one end-to-end test fetches hoisted and checked URLs from the test S3 app.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from sigv4kit import Credentials, Signer, Verifier
from sigv4kit.cli._commands import cli
from sigv4kit.errors import PresignOutlivesCredentials, SignatureError, SigningError
from sigv4kit.presign_check import check_presigned
from sigv4kit.presigning import fit_expiry, is_hoistable, split_hoistable

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
T0 = "20130524T000000Z"
T0_DT = datetime(2013, 5, 24, tzinfo=timezone.utc)
URL = "https://examplebucket.s3.amazonaws.com/test.txt"


def _creds(lifetime: timedelta | None, token: str | None = "tok") -> Credentials:
    return Credentials(AK, SK, token, expiration=None if lifetime is None else T0_DT + lifetime)


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


# --------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------
def test_presign_refuses_a_url_that_outlives_its_credentials() -> None:
    signer = Signer(_creds(timedelta(minutes=10)), "us-east-1", "s3")
    with pytest.raises(PresignOutlivesCredentials) as info:
        signer.presign("GET", URL, expires=3600, timestamp=T0)
    err = info.value
    assert isinstance(err, SigningError)
    # Both times are named, in the message and as values.
    assert "2013-05-24 01:00:00Z" in str(err) and "2013-05-24 00:10:00Z" in str(err)
    assert err.url_expires == T0_DT + timedelta(hours=1)
    assert err.credentials_expire == T0_DT + timedelta(minutes=10)
    assert "cap" in str(err)
    assert SK not in str(err)


def test_cap_expires_ends_the_url_with_the_credentials() -> None:
    creds = _creds(timedelta(minutes=10))
    signer = Signer(creds, "us-east-1", "s3")
    url = signer.presign("GET", URL, expires=3600, timestamp=T0, cap_expires=True)
    assert _query(url)["X-Amz-Expires"] == "600"
    # The capped URL verifies within the credentials' lifetime and not after.
    v = Verifier({AK: creds}, "us-east-1", "s3")
    target = url.split("amazonaws.com", 1)[1]
    headers = [("Host", "examplebucket.s3.amazonaws.com")]
    v.verify("GET", target, headers, b"", now=T0_DT + timedelta(minutes=9)).read()
    with pytest.raises(SignatureError, match=r"(?i)expired"):
        v.verify("GET", target, headers, b"", now=T0_DT + timedelta(minutes=11)).read()


def test_a_url_within_the_credentials_lifetime_is_unchanged() -> None:
    limited = Signer(_creds(timedelta(hours=2)), "us-east-1", "s3")
    unlimited = Signer(_creds(None), "us-east-1", "s3")
    a = limited.presign("GET", URL, expires=3600, timestamp=T0)
    b = unlimited.presign("GET", URL, expires=3600, timestamp=T0)
    assert a == b
    assert _query(a)["X-Amz-Expires"] == "3600"


def test_credentials_without_expiry_presign_for_seven_days() -> None:
    signer = Signer(_creds(None, token=None), "us-east-1", "s3")
    url = signer.presign("GET", URL, expires=604800, timestamp=T0)
    assert _query(url)["X-Amz-Expires"] == "604800"
    assert fit_expiry(_creds(None), T0, 604800, cap=False) == 604800


def test_credentials_already_expired_are_refused_even_with_cap() -> None:
    with pytest.raises(PresignOutlivesCredentials, match="expired at 2013-05-23"):
        fit_expiry(_creds(timedelta(hours=-1)), T0, 60, cap=True)


def test_cli_says_the_same() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": AK,
        "AWS_SECRET_ACCESS_KEY": SK,
        "AWS_SESSION_TOKEN": "tok",
        "AWS_CREDENTIAL_EXPIRATION": (T0_DT + timedelta(minutes=10)).isoformat(),
    }
    args = ["presign", "GET", URL, "--expires", "3600", "--region", "us-east-1"]
    args += ["--service", "s3", "--timestamp", T0]
    runner = CliRunner()
    refused = runner.invoke(cli, args, env=env)
    assert refused.exit_code == 1
    assert "2013-05-24 01:00:00Z" in refused.output and "2013-05-24 00:10:00Z" in refused.output
    capped = runner.invoke(cli, [*args, "--cap-expires", "--json"], env=env)
    assert capped.exit_code == 0, capped.output
    out = json.loads(capped.output)
    assert out["expires"] == 600
    assert _query(out["url"])["X-Amz-Expires"] == "600"


# --------------------------------------------------------------------------
# Hoisting
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "hoistable"),
    [
        ("X-Amz-Checksum-Algorithm", True),
        ("x-amz-request-payer", True),
        ("x-amz-expected-bucket-owner", True),
        ("x-amz-server-side-encryption", False),
        ("x-amz-server-side-encryption-customer-key", False),
        ("x-amz-server-side-encryption-aws-kms-key-id", False),
        ("x-amz-acl", False),
        ("x-amz-grant-read", False),
        ("x-amz-meta-colour", False),
        ("x-amz-storage-class", False),
        ("x-amz-tagging", False),
        ("x-amz-object-lock-mode", False),
        ("x-amz-content-sha256", False),
        ("x-amz-date", False),
        ("x-amz-security-token", False),
        ("Content-Type", False),
        ("Range", False),
    ],
)
def test_which_headers_may_move_into_the_query(name: str, hoistable: bool) -> None:
    assert is_hoistable(name) is hoistable


def test_hoisted_url_verifies_without_the_hoisted_headers() -> None:
    creds = _creds(None, token=None)
    signer = Signer(creds, "us-east-1", "s3")
    headers = [
        ("x-amz-request-payer", "requester"),
        ("x-amz-server-side-encryption", "AES256"),
        ("Content-Type", "text/plain"),
    ]
    kept, moved = split_hoistable(headers)
    assert moved == [("x-amz-request-payer", "requester")]
    signed = signer.presign_request("PUT", URL, headers, expires=60, timestamp=T0, hoist=True)
    q = _query(signed.url)
    assert q["x-amz-request-payer"] == "requester"
    assert q["X-Amz-SignedHeaders"] == "content-type;host;x-amz-server-side-encryption"
    send = [("Host", "examplebucket.s3.amazonaws.com"), *kept]
    target = signed.url.split("amazonaws.com", 1)[1]
    v = Verifier({AK: creds}, "us-east-1", "s3")
    v.verify("PUT", target, send, b"", now=T0_DT).read()
    # Without hoisting, every header is signed as a header (the default).
    plain = signer.presign_request("PUT", URL, headers, expires=60, timestamp=T0)
    assert "x-amz-request-payer" in _query(plain.url)["X-Amz-SignedHeaders"]
    assert "x-amz-request-payer" not in dict(_query(plain.url))


# --------------------------------------------------------------------------
# presign --check
# --------------------------------------------------------------------------
def _presigned_put() -> str:
    signer = Signer(_creds(None, token=None), "us-east-1", "s3")
    return signer.presign(
        "PUT", URL, [("Content-Type", "text/plain"), ("x-amz-meta-a", "1")], 600, T0
    )


def test_check_without_the_secret_finds_missing_and_unsigned_headers() -> None:
    url = _presigned_put()
    now = T0_DT + timedelta(minutes=1)
    fine = check_presigned(url, "PUT", [("Content-Type", "x"), ("x-amz-meta-a", "1")], now=now)
    assert fine.ok is None and not fine.problems
    assert fine.must_send == ["content-type", "x-amz-meta-a"]
    missing = check_presigned(url, "PUT", [("x-amz-meta-a", "1")], now=now)
    assert missing.ok is False
    assert any("content-type" in p and "will not send" in p for p in missing.problems)
    extra = check_presigned(
        url,
        "PUT",
        [("Content-Type", "x"), ("x-amz-meta-a", "1"), ("x-amz-acl", "private")],
        now=now,
    )
    assert extra.ok is False and any("x-amz-acl" in p for p in extra.problems)
    late = check_presigned(
        url, "PUT", [("Content-Type", "x"), ("x-amz-meta-a", "1")], now=now + timedelta(hours=1)
    )
    assert late.ok is False and any("expired at 2013-05-24 00:10:00Z" in p for p in late.problems)


def test_check_with_the_secret_names_the_method_and_value_mismatch() -> None:
    url = _presigned_put()
    now = T0_DT + timedelta(minutes=1)
    creds = _creds(None, token=None)
    good = [("Content-Type", "text/plain"), ("x-amz-meta-a", "1")]
    assert check_presigned(url, "PUT", good, now=now, credentials=creds).ok is True
    wrong_method = check_presigned(url, "GET", good, now=now, credentials=creds)
    assert wrong_method.ok is False
    assert any("presigned for PUT" in p for p in wrong_method.problems)
    wrong_value = [("Content-Type", "text/html"), ("x-amz-meta-a", "1")]
    bad = check_presigned(url, "PUT", wrong_value, now=now, credentials=creds)
    assert bad.ok is False and any("SignatureDoesNotMatch" in p for p in bad.problems)


def test_check_from_the_cli() -> None:
    url = _presigned_put()
    runner = CliRunner()
    env = {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK}
    base = ["presign", "PUT", "--check", url, "--now", "20130524T000100Z"]
    ok = runner.invoke(
        cli, [*base, "-H", "Content-Type: text/plain", "-H", "x-amz-meta-a: 1"], env=env
    )
    assert ok.exit_code == 0 and "WILL MATCH" in ok.output
    bad = runner.invoke(cli, [*base, "-H", "x-amz-meta-a: 1", "--json"], env=env)
    assert bad.exit_code == 1
    assert json.loads(bad.output)["ok"] is False


def test_request_presign_says_the_same() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": AK,
        "AWS_SECRET_ACCESS_KEY": SK,
        "AWS_SESSION_TOKEN": "tok",
        "AWS_CREDENTIAL_EXPIRATION": (T0_DT + timedelta(minutes=10)).isoformat(),
    }
    args = ["request", "GET", URL, "--presign", "--expires", "3600", "--timestamp", T0]
    runner = CliRunner()
    refused = runner.invoke(cli, args, env=env)
    assert refused.exit_code == 1 and "2013-05-24 00:10:00Z" in refused.output
    capped = runner.invoke(cli, [*args, "--cap-expires"], env=env)
    assert capped.exit_code == 0, capped.output
    assert _query(capped.output.strip())["X-Amz-Expires"] == "600"


def test_explain_presign_says_the_same() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": AK,
        "AWS_SECRET_ACCESS_KEY": SK,
        "AWS_SESSION_TOKEN": "tok",
        "AWS_CREDENTIAL_EXPIRATION": (T0_DT + timedelta(minutes=10)).isoformat(),
    }
    args = ["explain", "GET", URL, "--presign", "--expires", "3600", "--timestamp", T0, "--json"]
    runner = CliRunner()
    refused = runner.invoke(cli, args, env=env)
    assert refused.exit_code == 1 and "2013-05-24 00:10:00Z" in refused.output
    capped = runner.invoke(cli, [*args, "--cap-expires"], env=env)
    assert capped.exit_code == 0, capped.output
    assert _query(json.loads(capped.output)["url"])["X-Amz-Expires"] == "600"
