"""S3 Express One Zone sessions, against a verifying directory-bucket endpoint on 127.0.0.1.

The endpoint (tests/proxy/signed_app.py ``ExpressApp`` behind sigv4kit's
``SigV4Middleware``, service ``s3express``) hands out session credentials
on ``GET /<bucket>?session`` signed with base credentials, and accepts data
requests only when signed with a session key and carrying that session's
``x-amz-s3session-token`` (and no ``X-Amz-Security-Token``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("uvicorn")
import requests
from proxy_support import ProxyProcess
from signed_app import ExpressApp, Running

from sigv4kit import Credentials
from sigv4kit.s3express import S3ExpressSigner, SessionCache, bucket_of, parse_create_session

BUCKET = "data--use1-az4--x-s3"
BASE = Credentials("AKIDPROXY0001", "secret-AKIDPROXY0001", "base-token")


@pytest.fixture(scope="module")
def express() -> Iterator[ExpressApp]:
    state = ExpressApp()
    running = Running(state, service="s3express")
    yield state
    running.stop()


def test_bucket_of() -> None:
    host = f"{BUCKET}.s3express-use1-az4.us-east-1.amazonaws.com"
    assert bucket_of(host, "/key") == (BUCKET, True)
    assert bucket_of("127.0.0.1:9000", f"/{BUCKET}/k") == (BUCKET, False)
    assert bucket_of("s3express-control.us-east-1.amazonaws.com", "/") is None


def test_session_cache_renews_a_minute_early() -> None:
    cache = SessionCache(max_size=2)
    now = datetime.now(timezone.utc)
    c = Credentials("A", "s", "t", expiration=now + timedelta(seconds=90))
    cache.put(("o", "b", "k"), c)
    assert cache.get(("o", "b", "k"), now) is c
    assert cache.get(("o", "b", "k"), now + timedelta(seconds=31)) is None
    for i in range(3):
        cache.put(("o", f"b{i}", "k"), c)
    assert cache.get(("o", "b", "k"), now) is None  # evicted (LRU, 2 entries)


def test_parse_create_session_names_missing_fields() -> None:
    with pytest.raises(Exception, match="SessionToken"):
        parse_create_session(b"<CreateSessionResult><Credentials/></CreateSessionResult>")


def test_signer_with_requests_adapter(express: ExpressApp) -> None:
    from sigv4kit.client.requests import SigV4Auth

    signer = S3ExpressSigner(BASE, "us-east-1")
    auth = SigV4Auth(signer)
    before = express.created
    for key in ("a.txt", "b.txt"):
        r = requests.get(f"{express.origin}/{BUCKET}/{key}", auth=auth)
        assert r.status_code == 200, r.text
        assert r.json()["akid"].startswith("AKIDPROXYSESS")
    assert express.created == before + 1  # one CreateSession, then the cache
    create = [s for s in express.seen if s["akid"] == BASE.access_key_id][-1]
    assert create["headers"]["x-amz-security-token"] == "base-token"
    data = express.seen[-1]["headers"]
    assert "x-amz-s3session-token" in data["authorization"]
    assert "x-amz-security-token" not in data


def test_proxy_uses_sessions(express: ExpressApp) -> None:
    p = ProxyProcess(
        ["--upstream", express.origin, "--region", "us-east-1", "--service", "s3express"],
        env={
            "AWS_ACCESS_KEY_ID": BASE.access_key_id,
            "AWS_SECRET_ACCESS_KEY": BASE.secret_access_key,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        },
    )
    try:
        p.wait_ready()
        before = express.created
        for key in ("x", "y", "z"):
            r = requests.get(f"{p.base}/{BUCKET}/{key}")
            assert r.status_code == 200, r.text
        assert express.created == before + 1
    finally:
        assert p.stop() == 0
