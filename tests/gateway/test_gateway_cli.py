"""``sigv4kit gateway`` as operators run it: a process, workers, admin, logs, signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, CliGateway, Echo, header, start_cli_gateway

requests = pytest.importorskip("requests")

MASTER_KEY = "11" * 32  # a test master key (hex); the store encrypts secrets with it


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A SQLite key store with one key; returns (url, env) with the key in env."""
    from sigv4kit.keystore import open_store

    url = f"sqlite:///{tmp_path / 'keys.db'}"
    env = dict(os.environ, SIGV4KIT_MASTER_KEY=MASTER_KEY)

    async def make() -> Any:
        s = await open_store(url, master_key=MASTER_KEY)
        try:
            return await s.create("ops-team")
        finally:
            await s.close()

    rec = asyncio.run(make())
    env["TEST_AKID"], env["TEST_SECRET"] = rec.access_key_id, rec.secret_access_key
    return url, env


@pytest.fixture
def cli_gateway(
    echo: Echo, store: tuple[str, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[CliGateway, Signer]]:
    url, env = store
    access = tmp_path / "access.log"
    gw = start_cli_gateway(
        [
            *("--upstream", echo.url, "--keys", url, "--admin", "127.0.0.1:0", "--workers", "2"),
            *("--access-log", str(access), "--client-timeout", "1", "--drain-timeout", "10"),
        ],
        tmp_path / "gateway.log",
        env=env,
    )
    signer = Signer(Credentials(env["TEST_AKID"], env["TEST_SECRET"]), REGION, "s3")
    try:
        deadline = time.monotonic() + 20
        assert gw.admin is not None
        while requests.get(gw.admin + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "not ready"
            time.sleep(0.1)
        yield gw, signer
    finally:
        gw.stop()


def _get(gw: CliGateway, signer: Signer, path: str) -> Any:
    s = signer.sign("GET", gw.url + path)
    return requests.get(s.url, headers=s.headers.as_dict(), timeout=30)


def test_workers_admin_metrics_and_access_log(
    cli_gateway: tuple[CliGateway, Signer], echo: Echo, store: tuple[str, dict[str, str]]
) -> None:
    gw, signer = cli_gateway
    _, env = store
    echo.clear()
    for i in range(6):
        assert _get(gw, signer, f"/b/ok{i}").status_code == 200
    wrong = Signer(Credentials(env["TEST_AKID"], "x" * 40), REGION, "s3")
    for _ in range(3):
        assert _get(gw, wrong, "/b/no").status_code == 403
    assert all(header(r, "X-Sigv4kit-Principal") == ["ops-team"] for r in echo.seen)
    time.sleep(1.5)  # workers report to the supervisor once a second
    assert gw.admin is not None
    text = requests.get(gw.admin + "/metrics", timeout=5).text
    assert 'sigv4kit_gateway_verdicts_total{code="OK"} 6' in text
    assert 'sigv4kit_gateway_verdicts_total{code="SignatureDoesNotMatch"} 3' in text
    lines = [json.loads(x) for x in Path(gw.log.parent / "access.log").read_text().splitlines()]
    assert len(lines) == 9
    for line in lines:
        assert line["access_key_id"] == env["TEST_AKID"] and len(line["request_id"]) == 16
        assert line["verdict"] in ("OK", "SignatureDoesNotMatch")
    raw = (gw.log.parent / "access.log").read_text() + gw.log.read_text()
    assert env["TEST_SECRET"] not in raw and MASTER_KEY not in raw
    assert "Signature=" not in raw  # no Authorization header content


def test_sigterm_drains_requests_in_flight(
    cli_gateway: tuple[CliGateway, Signer], echo: Echo
) -> None:
    gw, signer = cli_gateway
    echo.delay = 1.5
    result: dict[str, Any] = {}

    def slow() -> None:
        result["r"] = _get(gw, signer, "/b/slow")

    try:
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)  # the request is at the upstream now
        gw.proc.send_signal(signal.SIGTERM)
        t.join(20)
    finally:
        echo.delay = 0.0
    assert result["r"].status_code == 200
    assert gw.proc.wait(20) == 0
    with pytest.raises(requests.ConnectionError):
        _get(gw, signer, "/b/after")


def test_slow_client_gets_request_timeout(
    cli_gateway: tuple[CliGateway, Signer], echo: Echo
) -> None:
    gw, signer = cli_gateway
    echo.clear()
    body = b"z" * 200_000
    signed = signer.sign("PUT", gw.url + "/b/slowloris", body=body)
    host, port = gw.url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in signed.headers)
    with socket.create_connection((host, int(port))) as c:
        c.sendall(
            f"PUT /b/slowloris HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
        )
        c.sendall(body[:70_000])
        c.settimeout(10)
        t0 = time.monotonic()
        answer = c.recv(65536)
        waited = time.monotonic() - t0
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"<Code>RequestTimeout</Code>" in answer
    assert waited < 5
    for rec in echo.seen:
        assert not rec["complete"]


def test_cli_errors_name_the_fix(tmp_path: Path) -> None:
    import subprocess
    import sys

    from .conftest import SRC

    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("SIGV4KIT_KEYS", None)
    base = [sys.executable, "-m", "sigv4kit.cli", "gateway", "--listen", "127.0.0.1:0"]
    out = subprocess.run(
        [*base, "--upstream", "http://127.0.0.1:1"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 2 and "--keys" in out.stderr and "SIGV4KIT_KEYS" in out.stderr
    out = subprocess.run(
        [*base, "--upstream", "ftp://x", "--keys", f"sqlite:///{tmp_path}/k.db"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 2 and "http(s)://host[:port]" in out.stderr
    out = subprocess.run(
        [*base, "--upstream", "http://h", "--keys", "memory://", "--rate-limit", "5"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 2 and "--replay-cache" in out.stderr
