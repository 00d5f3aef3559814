"""``sigv4kit proxy`` in front of a verifying non-S3 service (``execute-api``).

The service is sigv4kit's ``SigV4Middleware`` under uvicorn on 127.0.0.1
(tests/proxy/signed_app.py): it verifies every signature, payload hash
included, so a 200 means the proxy signed what it sent.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("uvicorn")
import requests
from proxy_support import ProxyProcess
from signed_app import Running, SignedApp

AKID = "AKIDPROXY0001"


def _env(**extra: str) -> dict[str, str]:
    env = {
        "AWS_ACCESS_KEY_ID": AKID,
        "AWS_SECRET_ACCESS_KEY": f"secret-{AKID}",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def app() -> Iterator[SignedApp]:
    state = SignedApp()
    running = Running(state)
    yield state
    running.stop()


def _proxy(app: SignedApp, *args: str, env: dict[str, str] | None = None) -> ProxyProcess:
    p = ProxyProcess(
        ["--upstream", app.origin, "--region", "us-east-1", "--service", "execute-api", *args],
        env=env if env is not None else _env(),
    )
    p.wait_ready()
    return p


@pytest.fixture(scope="module")
def proxy(app: SignedApp) -> Iterator[ProxyProcess]:
    p = _proxy(app, "--spool-memory", "65536", "--max-body", str(8 << 20))
    yield p
    assert p.stop() == 0


def test_json_post_signed_with_body_hash(app: SignedApp, proxy: ProxyProcess) -> None:
    doc = {"query": "up{job='x'}", "n": [1, 2, 3], "ü": "€"}
    r = requests.post(proxy.base + "/json", json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["received"] == doc and r.json()["akid"] == AKID
    # Above --spool-memory: hashed through a temporary file, still verified.
    big = {"blob": "x" * 300_000}
    r = requests.post(proxy.base + "/json", data=iter([json.dumps(big).encode()]))
    assert r.status_code == 200, r.text
    assert r.json()["received"] == big


def test_body_over_max_body_is_413(app: SignedApp, proxy: ProxyProcess) -> None:
    before = len(app.seen)
    r = requests.post(proxy.base + "/json", data=b"x" * (9 << 20))
    assert r.status_code == 413 and "--max-body" in r.text
    # chunked (no length announced): refused while spooling
    r = requests.post(proxy.base + "/json", data=iter([b"x" * (1 << 20)] * 9))
    assert r.status_code == 413
    assert len(app.seen) == before


def test_event_stream_answer_streams_through(app: SignedApp, proxy: ProxyProcess) -> None:
    app.release.clear()
    with requests.get(proxy.base + "/events", stream=True, timeout=20) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/vnd.amazon.eventstream"
        raw = r.raw
        prelude = raw.read(4)
        (total,) = struct.unpack(">I", prelude)
        first = prelude + raw.read(total - 4)
        # The second message is only sent once we saw the first.
        assert b"event 0" in first
        app.release.set()
        rest = raw.read()
    assert b"event 1" in rest


def test_headers_added_stripped_and_unsigned(app: SignedApp) -> None:
    p = _proxy(app, "--add-header", "X-Team: blue", "--strip", "X-Drop-Me")
    try:
        r = requests.post(
            p.base + "/json",
            json={"a": 1},
            headers={
                "X-Drop-Me": "1",
                "X-Forwarded-For": "10.0.0.1",
                "X-Amzn-Trace-Id": "Root=1-abc",
                "Authorization": "Basic Z3JhZmFuYTpzZWNyZXQ=",
            },
        )
        assert r.status_code == 200, r.text
        seen = app.seen[-1]["headers"]
        assert seen["x-team"] == "blue"
        assert "x-drop-me" not in seen
        assert seen["x-forwarded-for"] == "10.0.0.1"
        signed = seen["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        assert "x-team" in signed
        assert "x-forwarded-for" not in signed and "x-amzn-trace-id" not in signed
        assert seen["authorization"].startswith("AWS4-HMAC-SHA256 ")
    finally:
        p.stop()


def test_sigv4a(app: SignedApp) -> None:
    p = _proxy(app, "--sigv4a", "--region-set", "us-east-1,us-west-2")
    try:
        r = requests.post(p.base + "/json", json={"v4a": True})
        assert r.status_code == 200, r.text
        seen = app.seen[-1]["headers"]
        assert seen["authorization"].startswith("AWS4-ECDSA-P256-SHA256 ")
        assert seen["x-amz-region-set"] == "us-east-1,us-west-2"
    finally:
        p.stop()


def test_presign(app: SignedApp) -> None:
    p = _proxy(app, "--presign")
    try:
        r = requests.post(p.base + "/json?x=1", json={"presigned": True})
        assert r.status_code == 200, r.text
        assert "authorization" not in app.seen[-1]["headers"]
    finally:
        p.stop()


def _process_profile(tmp_path: Path, lifetime: int) -> dict[str, str]:
    """A profile whose credential_process hands out a new key and token each run."""
    counter = tmp_path / "n"
    counter.write_text("0")
    script = tmp_path / "creds.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, datetime, pathlib
            p = pathlib.Path({str(counter)!r})
            n = int(p.read_text()) + 1
            p.write_text(str(n))
            akid = "AKIDPROXY%04d" % n
            exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds={lifetime})
            print(json.dumps({{"Version": 1, "AccessKeyId": akid,
                              "SecretAccessKey": "secret-" + akid,
                              "SessionToken": "tok-%d" % n,
                              "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}}))
            """
        )
    )
    config = tmp_path / "config"
    config.write_text(f"[profile rot]\ncredential_process = {sys.executable} {script}\n")
    return {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PROFILE": "rot",
    }


def test_credentials_refreshed_while_running(app: SignedApp, tmp_path: Path) -> None:
    p = _proxy(app, "--profile", "rot", env=_process_profile(tmp_path, lifetime=4))
    try:
        akids: list[Any] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            r = requests.post(p.base + "/json", json={"t": time.monotonic()})
            assert r.status_code == 200, r.text
            akids.append(r.json()["akid"])
            time.sleep(0.4)
        assert len(set(akids)) >= 2, akids
        assert akids == sorted(akids)  # only ever forward
    finally:
        p.stop()


def test_expired_token_refreshes_and_retries_once(app: SignedApp, tmp_path: Path) -> None:
    p = _proxy(app, "--profile", "rot", env=_process_profile(tmp_path, lifetime=3600))
    try:
        app.expired = {"tok-1"}
        r = requests.get(p.base + "/expiring")
        assert r.status_code == 200 and r.text == "fresh"
        tokens = [s["token"] for s in app.seen if s["path"] == "/expiring"]
        assert tokens[-2:] == ["tok-1", "tok-2"]
        # Twice expired: the retry's answer is forwarded, no loop.
        app.expired = {"tok-2", "tok-3"}
        r = requests.get(p.base + "/expiring")
        assert r.status_code == 403 and "ExpiredTokenException" in r.text
    finally:
        app.expired = set()
        p.stop()


def test_unknown_host_names_the_flags() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "sigv4kit.cli", "proxy", "--upstream", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=dict(os.environ, **_env()),
        timeout=60,
    )
    assert out.returncode != 0
    assert "--region" in out.stderr and "--service" in out.stderr
