"""Proxy operations: --role-arn against moto's STS, the TLS listener.

Workers and SIGTERM draining are covered on the engine (test_forward.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")
import requests
from proxy_support import ProxyProcess, Upstream

ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDPROXYBASE",
    "AWS_SECRET_ACCESS_KEY": "secret-AKIDPROXYBASE",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_sts() -> Iterator[str]:
    pytest.importorskip("moto.server")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_role_arn_signs_with_assumed_role(moto_sts: str, upstream: Upstream) -> None:
    role = "arn:aws:iam::123456789012:role/proxy-test"
    p = ProxyProcess(
        [
            "--upstream",
            upstream.origin,
            "--region",
            "us-east-1",
            "--service",
            "execute-api",
            "--role-arn",
            role,
            "--sts-endpoint",
            moto_sts,
        ],
        env=ENV,
    )
    try:
        p.wait_ready()
        r = requests.get(p.base + "/role-check")
        assert r.status_code == 200, r.text
        headers = {k.lower(): v for k, v in r.json()["headers"]}
        auth = headers["authorization"]
        akid = auth.split("Credential=")[1].split("/")[0]
        # moto hands out temporary keys ("ASIA..."), never the base key.
        assert akid.startswith("ASIA") and akid != ENV["AWS_ACCESS_KEY_ID"]
        assert headers["x-amz-security-token"]
        assert "x-amz-security-token" in auth
    finally:
        assert p.stop() == 0


def test_role_arn_failure_keeps_proxy_unready(upstream: Upstream) -> None:
    dead = _free_port()
    p = ProxyProcess(
        [
            "--upstream",
            upstream.origin,
            "--region",
            "us-east-1",
            "--service",
            "execute-api",
            "--role-arn",
            "arn:aws:iam::123456789012:role/x",
            "--sts-endpoint",
            f"http://127.0.0.1:{dead}",
        ],
        env=ENV,
    )
    try:
        time.sleep(1)
        assert requests.get(p.admin + "/healthz").status_code == 200
        assert requests.get(p.admin + "/readyz").status_code == 503
        r = requests.get(p.base + "/x")
        assert r.status_code == 500 and "credentials" in r.text
        assert "secret-AKIDPROXYBASE" not in r.text
    finally:
        p.stop()


def test_tls_listener(upstream: Upstream, tmp_path: Path) -> None:
    from s3app.certs import make_self_signed

    cert, key = make_self_signed(tmp_path)
    p = ProxyProcess(
        [
            "--upstream",
            upstream.origin,
            "--region",
            "us-east-1",
            "--service",
            "execute-api",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        env=ENV,
    )
    try:
        p.wait_ready()
        r = requests.get(f"https://127.0.0.1:{p.port}/over-tls", verify=str(cert))
        assert r.status_code == 200
        assert r.json()["target"] == "/over-tls"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{p.port}/plain", timeout=5)
    finally:
        assert p.stop() == 0
