"""Every fallback path of ``sigv4kit request``, once, against the test app refusing that mode.

The app answers 501 NotImplemented to the refused mode (as R2 and B2 answer
checksums and aws-chunked); ``request`` must retry once in the next mode the
profile allows, say so on stderr, store the right bytes, keep the refused
answer out of its output, and remember the choice for the endpoint.  The
app's request log shows what was actually sent each time.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from probe_direct import Direct

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from s3harness import AK, SK, S3Server, refusing_s3app

from sigv4kit import Credentials, Signer
from sigv4kit.probe.runner import send

pytestmark = pytest.mark.interop
CREDS = Credentials(AK, SK)
BUCKET = "fallback-app"
DATA = os.urandom(150_000)
CRC32 = base64.b64encode(zlib.crc32(DATA).to_bytes(4, "big")).decode()

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Server, Path, Path]]:
    base = tmp_path_factory.mktemp("s3app-fallback")
    with refusing_s3app(base) as (server, refuse):
        s = Signer(CREDS, "us-east-1", "s3").sign("PUT", f"{server.http}/{BUCKET}", body=b"")
        assert send("PUT", s.url, s.headers).status == 200
        (base / "body.bin").write_bytes(DATA)
        yield server, refuse, base


def _request(base: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=AK,
        AWS_SECRET_ACCESS_KEY=SK,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        XDG_CACHE_HOME=str(base / "cache"),
        SIGV4KIT_PROFILES=str(base / "no-profiles.toml"),
    )
    cmd = [sys.executable, "-m", "sigv4kit.cli", "request", "PUT", url]
    cmd += ["--region", "us-east-1", "--service", "s3", "--data-file", str(base / "body.bin")]
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=120)


# (refused capability, request flags, first x-amz-content-sha256, the retry's, checksum kept)
CASES = [
    ("streaming-unsigned-trailer", ["--payload-mode", "streaming-unsigned-trailer"],
     UNSIGNED_TRAILER, TRAILER, True),
    ("streaming-trailer", ["--payload-mode", "streaming-trailer"], TRAILER, STREAMING, False),
    ("streaming", ["--streaming"], STREAMING, "hex", False),
    ("checksum-crc32", ["-H", f"x-amz-checksum-crc32: {CRC32}"], "hex", "hex", False),
    ("unsigned-payload", ["--unsigned-payload"], "UNSIGNED-PAYLOAD", "hex", False),
]  # fmt: skip


def _puts(server: S3Server, mark: int, n: int, key: str = "") -> list[dict[str, Any]]:
    """PUTs of objects (under ``key``) logged since ``mark``, waiting for ``n`` of them.

    A line is written as a request ends, so an earlier request's line (the
    fixture's bucket creation) can land after ``mark``: only object PUTs count.
    """
    import time

    deadline = time.monotonic() + 5
    prefix = f"/{BUCKET}/{key}"
    while True:
        puts = [
            e
            for e in server.entries(mark)
            if e["method"] == "PUT" and str(e["path"]).startswith(prefix)
        ]
        if len(puts) >= n or time.monotonic() > deadline:
            return puts
        time.sleep(0.02)


def _kind(sha: str | None) -> str:
    return "hex" if sha and len(sha) == 64 else str(sha)


@pytest.mark.parametrize(("refused", "flags", "first", "retry", "trailer"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_fallback_path(
    app: tuple[S3Server, Path, Path],
    refused: str,
    flags: list[str],
    first: str,
    retry: str,
    trailer: bool,
) -> None:
    server, refuse, base = app
    refuse.write_text(refused)
    key = f"fb-{refused}"
    mark = server.mark()
    try:
        proc = _request(base, f"{server.http}/{BUCKET}/{key}", *flags)
    finally:
        refuse.write_text("")
    assert proc.returncode == 0, proc.stderr
    assert ("refused" in proc.stderr and "retrying with" in proc.stderr) or (
        "sending without the checksum" in proc.stderr
    ), proc.stderr
    assert "NotImplemented" not in proc.stdout  # the refused answer is not the output
    puts = _puts(server, mark, 2, key)
    assert [e["status"] for e in puts] == [501, 200], puts
    assert _kind(puts[0].get("x-amz-content-sha256")) == first
    assert _kind(puts[1].get("x-amz-content-sha256")) == retry
    if refused == "checksum-crc32":
        assert "x-amz-checksum-crc32" not in puts[1]
    assert ("x-amz-trailer" in puts[1]) is trailer
    d = Direct(server.http, BUCKET, CREDS, "us-east-1")
    got = d.send("GET", d.url(key))
    assert got.status_code == 200 and got.content == DATA


def test_the_choice_is_remembered_per_endpoint(app: tuple[S3Server, Path, Path]) -> None:
    server, refuse, base = app
    refuse.write_text("streaming")
    try:
        _request(base, f"{server.http}/{BUCKET}/m1", "--streaming")
        mark = server.mark()
        proc = _request(base, f"{server.http}/{BUCKET}/m2", "--streaming")
    finally:
        refuse.write_text("")
    assert proc.returncode == 0, proc.stderr
    assert "it refused streaming before" in proc.stderr
    puts = _puts(server, mark, 1, "m2")
    assert [(e["status"], _kind(e.get("x-amz-content-sha256"))) for e in puts] == [(200, "hex")]


def test_signature_errors_are_not_retried(app: tuple[S3Server, Path, Path]) -> None:
    server, _, base = app
    mark = server.mark()
    env_bad = {"AWS_SECRET_ACCESS_KEY": "wrong-secret-key-00000000000000000000000"}
    proc = subprocess.run(
        [sys.executable, "-m", "sigv4kit.cli", "request", "PUT", f"{server.http}/{BUCKET}/bad",
         "--region", "us-east-1", "--service", "s3", "--streaming",
         "--data-file", str(base / "body.bin")],
        env={**os.environ, "AWS_ACCESS_KEY_ID": AK, **env_bad,
             "XDG_CACHE_HOME": str(base / "cache2")},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "retrying" not in proc.stderr
    puts = _puts(server, mark, 1, "bad")
    assert [e["status"] for e in puts] == [403]


# The requests adapter: the same paths, each once, with the mode remembered per auth object.
ADAPTER_CASES = [
    ("streaming-unsigned-trailer", "streaming-unsigned-trailer", [], UNSIGNED_TRAILER, TRAILER),
    ("streaming-trailer", "streaming-trailer", [], TRAILER, STREAMING),
    ("streaming", "streaming", [], STREAMING, "hex"),
    ("checksum-crc32", "signed", [("x-amz-checksum-crc32", CRC32)], "hex", "hex"),
    ("unsigned-payload", "unsigned", [], "UNSIGNED-PAYLOAD", "hex"),
]


def _put_with(client: str, auth_args: dict[str, object]) -> object:
    """A function (url, data, headers) -> (status, [history statuses]) for one adapter."""
    if client == "requests":
        import requests

        from sigv4kit.client.requests import SigV4Auth as RAuth

        rauth = RAuth(CREDS, "us-east-1", "s3", **auth_args)

        def put_r(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, list[int]]:
            r = requests.put(url, data=data, headers=headers, auth=rauth, timeout=60)
            return r.status_code, [h.status_code for h in r.history]

        return put_r
    if client == "aiohttp":
        import asyncio

        import aiohttp

        from sigv4kit.client.aiohttp import SigV4Middleware

        mw = SigV4Middleware(CREDS, "us-east-1", "s3", **auth_args)

        def put_aio(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, list[int]]:
            async def go() -> tuple[int, list[int]]:
                async with aiohttp.ClientSession(middlewares=(mw,)) as c:
                    async with c.put(url, data=data, headers=headers) as r:
                        await r.read()
                        return r.status, [h.status for h in r.history]

            return asyncio.run(go())

        return put_aio
    import httpx

    from sigv4kit.client.httpx import SigV4Auth as HAuth

    hauth = HAuth(CREDS, "us-east-1", "s3", **auth_args)
    if client == "httpx":

        def put_h(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, list[int]]:
            with httpx.Client(auth=hauth, timeout=60) as c:
                r = c.put(url, content=data, headers=headers)
            return r.status_code, [h.status_code for h in r.history]

        return put_h

    def put_a(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, list[int]]:
        import asyncio

        async def go() -> tuple[int, list[int]]:
            async with httpx.AsyncClient(auth=hauth, timeout=60) as c:
                r = await c.put(url, content=data, headers=headers)
            return r.status_code, [h.status_code for h in r.history]

        return asyncio.run(go())

    return put_a


@pytest.mark.parametrize("client", ["requests", "httpx", "httpx-async", "aiohttp"])
@pytest.mark.parametrize(("refused", "mode", "headers", "first", "retry"), ADAPTER_CASES,
                         ids=[c[0] for c in ADAPTER_CASES])  # fmt: skip
def test_adapter_fallback(
    app: tuple[S3Server, Path, Path],
    caplog: pytest.LogCaptureFixture,
    client: str,
    refused: str,
    mode: str,
    headers: list[tuple[str, str]],
    first: str,
    retry: str,
) -> None:
    server, refuse, _ = app
    put: Any = _put_with(client, {"payload": mode})
    refuse.write_text(refused)
    mark = server.mark()
    key = f"ad-{client}-{refused}"
    try:
        url = f"{server.http}/{BUCKET}/{key}"
        status, history = put(url, DATA, dict(headers))
        # aiohttp's middleware chain keeps no history of a retry; the app's log has it.
        assert (status, history) == (200, [] if client == "aiohttp" else [501])
        # The next upload to this endpoint goes straight to the mode that worked.
        assert put(url + "-2", DATA, dict(headers)) == (200, [])
    finally:
        refuse.write_text("")
    puts = _puts(server, mark, 3, key)
    assert [(e["status"], _kind(e.get("x-amz-content-sha256"))) for e in puts] == [
        (501, first),
        (200, retry),
        (200, retry),
    ]
    assert f"refused {mode}" in caplog.text and "retrying once with" in caplog.text
    d = Direct(server.http, BUCKET, CREDS, "us-east-1")
    for k in (key, f"{key}-2"):
        got = d.send("GET", d.url(k))
        assert got.status_code == 200 and got.content == DATA


def test_requests_adapter_does_not_retry_one_shot_bodies(app: tuple[S3Server, Path, Path]) -> None:
    import requests

    from sigv4kit.client.requests import SigV4Auth

    server, refuse, _ = app
    refuse.write_text("streaming")
    try:
        r = requests.put(
            f"{server.http}/{BUCKET}/gen",
            data=iter([DATA[:1000], DATA[1000:2000]]),
            headers={"X-Amz-Decoded-Content-Length": "2000"},
            auth=SigV4Auth(CREDS, "us-east-1", "s3", payload="streaming"),
            timeout=60,
        )
    finally:
        refuse.write_text("")
    assert r.status_code == 501 and not r.history
