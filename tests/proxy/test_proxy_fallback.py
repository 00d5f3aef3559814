"""The proxy's mode fallback (issue 15) in front of the test S3 app refusing a mode.

The app answers 501 NotImplemented to a refused mode, as R2 and B2 answer
aws-chunked and checksum headers.  A client that cannot sign PUTs through
the proxy (plain ``requests``): with a replayable body the proxy retries once
in the next mode the endpoint's profile allows, the object read back is the
bytes sent, the app's log shows the refused attempt then the accepted one,
and the next upload goes straight to the remembered mode.  A streamed body
cannot be sent twice: its refusal passes through and the next upload uses
the remembered mode.  ``--no-fallback`` passes refusals through.
"""

from __future__ import annotations

import base64
import os
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
import requests
from proxy_support import ProxyProcess

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from s3harness import AK, SK, S3Server, refusing_s3app

BUCKET = "proxy-fallback"
DATA = os.urandom(150_000)
CRC32 = base64.b64encode(zlib.crc32(DATA).to_bytes(4, "big")).decode()
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Server, Path, Path]]:
    base = tmp_path_factory.mktemp("s3app-proxy-fallback")
    with refusing_s3app(base) as (server, refuse):
        yield server, refuse, base


def _proxy(server: S3Server, base: Path, *flags: str) -> ProxyProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=AK,
        AWS_SECRET_ACCESS_KEY=SK,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        SIGV4KIT_PROFILES=str(base / "no-profiles.toml"),
    )
    args = ["--upstream", server.http, "--region", "us-east-1", "--service", "s3"]
    p = ProxyProcess([*args, "--access-log", "-", *flags], env=env)
    p.wait_ready()
    # over plain http the proxy sends uploads as signed aws-chunked
    assert requests.put(f"{p.base}/{BUCKET}", timeout=10).status_code == 200
    return p


@pytest.fixture(params=["streaming"])
def refusing(
    app: tuple[S3Server, Path, Path], request: pytest.FixtureRequest
) -> Iterator[tuple[S3Server, Path]]:
    """The app refusing the capability in ``request.param``, then nothing."""
    server, refuse, base = app
    refuse.write_text(request.param)
    try:
        yield server, base
    finally:
        refuse.write_text("")


def _puts(server: S3Server, mark: int, key: str, n: int) -> list[dict[str, Any]]:
    """The app's log lines for PUTs of ``key`` since ``mark``, waiting for ``n``."""
    deadline = time.monotonic() + 5
    while True:
        got = [
            e
            for e in server.entries(mark)
            if e["method"] == "PUT" and e["path"] == f"/{BUCKET}/{key}"
        ]
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def _sha(entry: dict[str, Any]) -> str:
    sha = str(entry.get("x-amz-content-sha256"))
    return "hex" if len(sha) == 64 and sha != STREAMING else sha


def _put(p: ProxyProcess, key: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(f"{p.base}/{BUCKET}/{key}", data=DATA, headers=headers, timeout=30)


def _metric(p: ProxyProcess, name: str) -> str:
    text = requests.get(p.admin + "/metrics", timeout=10).text
    return "\n".join(line for line in text.splitlines() if line.startswith(name))


def test_refused_aws_chunked_retried_once_as_signed_then_remembered(
    refusing: tuple[S3Server, Path],
) -> None:
    server, base = refusing
    p = _proxy(server, base)
    try:
        key = f"chunked-{uuid.uuid4().hex}"
        mark = server.mark()
        r = _put(p, key)
        assert r.status_code == 200, r.text
        puts = _puts(server, mark, key, 2)
        assert [(e["status"], _sha(e)) for e in puts] == [(501, STREAMING), (200, "hex")]
        got = requests.get(f"{p.base}/{BUCKET}/{key}", timeout=30)
        assert got.status_code == 200 and got.content == DATA  # no chunk framing stored
        # the next upload goes straight to the remembered mode
        key2 = key + "-again"
        mark = server.mark()
        assert _put(p, key2).status_code == 200
        puts = _puts(server, mark, key2, 1)
        time.sleep(0.2)
        puts = _puts(server, mark, key2, 1)
        assert [(e["status"], _sha(e)) for e in puts] == [(200, "hex")]
        log = "".join(p.stderr_lines)
        assert "refused streaming" in log and "retrying once with signed" in log, log
        assert '"fallback":"streaming -> signed"' in log, log
        assert '"remembered_mode":"signed"' in log, log
        metric = _metric(p, "sigv4kit_proxy_fallbacks_total")
        assert 'refused="streaming"' in metric and 'chosen="signed"' in metric, metric
        assert metric.rstrip().endswith(" 1"), metric
    finally:
        p.stop()


@pytest.mark.parametrize("refusing", ["checksum-crc32"], indirect=True)
def test_refused_checksum_header_retried_without_it(refusing: tuple[S3Server, Path]) -> None:
    server, base = refusing
    p = _proxy(server, base)
    try:
        key = f"crc-{uuid.uuid4().hex}"
        mark = server.mark()
        r = _put(p, key, {"x-amz-checksum-crc32": CRC32})
        assert r.status_code == 200, r.text
        puts = _puts(server, mark, key, 2)
        assert [e["status"] for e in puts] == [501, 200], puts
        assert [_sha(e) for e in puts] == [STREAMING, STREAMING]  # same mode, no checksum
        assert "x-amz-checksum-crc32" in puts[0] and "x-amz-checksum-crc32" not in puts[1]
        got = requests.get(f"{p.base}/{BUCKET}/{key}", timeout=30)
        assert got.content == DATA
        key2 = key + "-again"
        mark = server.mark()
        assert _put(p, key2, {"x-amz-checksum-crc32": CRC32}).status_code == 200
        time.sleep(0.2)
        puts = _puts(server, mark, key2, 1)
        assert [e["status"] for e in puts] == [200] and "x-amz-checksum-crc32" not in puts[0]
        assert "without the checksum" in "".join(p.stderr_lines)
    finally:
        p.stop()


def test_streamed_body_refusal_passes_through_then_remembered(
    refusing: tuple[S3Server, Path],
) -> None:
    server, base = refusing
    # bodies above --spool-memory stream and cannot be sent twice
    p = _proxy(server, base, "--spool-memory", "65536")
    try:
        key = f"big-{uuid.uuid4().hex}"
        mark = server.mark()
        r = _put(p, key)
        assert r.status_code == 501 and "NotImplemented" in r.text
        assert [e["status"] for e in _puts(server, mark, key, 1)] == [501]
        mark = server.mark()
        assert _put(p, key).status_code == 200
        time.sleep(0.2)
        puts = _puts(server, mark, key, 1)
        assert [(e["status"], _sha(e)) for e in puts] == [(200, "hex")]
        assert requests.get(f"{p.base}/{BUCKET}/{key}", timeout=30).content == DATA
        assert "cannot be sent again" in "".join(p.stderr_lines)
    finally:
        p.stop()


def test_no_fallback_passes_refusal_through(refusing: tuple[S3Server, Path]) -> None:
    server, base = refusing
    p = _proxy(server, base, "--no-fallback")
    try:
        key = f"nofb-{uuid.uuid4().hex}"
        for _ in range(2):
            mark = server.mark()
            r = _put(p, key)
            assert r.status_code == 501 and "NotImplemented" in r.text
            time.sleep(0.2)
            puts = _puts(server, mark, key, 1)
            assert [(e["status"], _sha(e)) for e in puts] == [(501, STREAMING)]
        log = "".join(p.stderr_lines)
        assert '"fallback":' not in log and "refused" not in log, log
    finally:
        p.stop()
