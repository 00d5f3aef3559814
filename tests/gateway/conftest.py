"""Real servers for the gateway tests, all on 127.0.0.1.

* ``echo``: a plain HTTP application (aiohttp) that answers every request
  with a JSON description of what it received -- method, target, headers,
  body length and SHA-256 -- and records it, including requests whose body
  never ended (``complete: False``), so a test can tell an aborted upload
  from a truncated one that looked whole.
* :class:`InProcessGateway`: the gateway's engine and service in a thread
  of this process (fast; used for most behaviour tests).
* :func:`start_cli_gateway`: ``sigv4kit gateway`` as a real subprocess
  (flags, workers, SIGTERM drain, admin listener).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

aiohttp = pytest.importorskip("aiohttp")
from aiohttp import web  # noqa: E402

REGION = "us-east-1"
SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopThread:
    """An asyncio loop in a daemon thread; ``run(coro)`` waits for a result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


# -- the echo upstream --------------------------------------------------------------
@dataclass
class Echo:
    url: str
    port: int
    seen: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0

    def clear(self) -> None:
        self.seen.clear()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.seen)


def _echo_app(echo: Echo) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        h = hashlib.sha256()
        n = 0
        complete = True
        head = bytearray()
        try:
            async for piece in request.content.iter_any():
                h.update(piece)
                n += len(piece)
                if len(head) < 4096:
                    head += piece[: 4096 - len(head)]
            if request.content_length is not None and n != request.content_length:
                complete = False
        except BaseException as exc:  # the sender broke off: an aborted request
            complete = False
            if isinstance(exc, asyncio.CancelledError):
                echo.seen.append(_record(request, n, h, complete, head))
                raise
        record = _record(request, n, h, complete, head)
        echo.seen.append(record)
        if echo.delay:
            await asyncio.sleep(echo.delay)
        if not complete:
            return web.Response(status=400, text="incomplete")
        if request.method in ("GET", "HEAD"):
            return web.json_response(record)
        # S3 clients read a 200 with a body they cannot parse as an error
        # (botocore does for PutObject): writes get an empty answer.
        return web.Response(status=200, headers={"ETag": f'"{record["sha256"][:32]}"'})

    app = web.Application(client_max_size=1 << 40)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _record(request: web.Request, n: int, h: Any, complete: bool, head: bytes) -> dict[str, Any]:
    return {
        "method": request.method,
        "target": request.raw_path,
        "headers": [[k, v] for k, v in request.headers.items()],
        "length": n,
        "sha256": h.hexdigest(),
        "complete": complete,
        "head": bytes(head).decode("latin-1"),
    }


@pytest.fixture(scope="session")
def echo() -> Iterator[Echo]:
    lt = LoopThread()
    port = free_port()
    e = Echo(f"http://127.0.0.1:{port}", port)

    async def start() -> web.AppRunner:
        runner = web.AppRunner(_echo_app(e), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = lt.run(start())
    try:
        yield e
    finally:
        lt.run(runner.cleanup())
        lt.close()


def header(record: dict[str, Any], name: str) -> list[str]:
    """Every value of header ``name`` in an echo record."""
    return [v for k, v in record["headers"] if k.lower() == name.lower()]


# -- the gateway, in process ---------------------------------------------------------
class InProcessGateway:
    """A gateway engine + service running in a loop thread of the test process."""

    def __init__(
        self,
        options: Any,
        *,
        keys_url: str = "memory://",
        master_key: str | None = None,
        forward: dict[str, Any] | None = None,
        **service_kw: Any,
    ) -> None:
        from sigv4kit.forward import Engine, ForwardConfig
        from sigv4kit.gateway.service import GatewayService
        from sigv4kit.keystore import KeyCache, open_store

        self.lt = LoopThread()
        self.options = options

        async def start() -> Any:
            self.store = await open_store(keys_url, master_key=master_key)
            self.cache = KeyCache(self.store, ttl=options.key_cache_ttl)
            await self.cache.start()
            await self.cache.wait_connected(5)
            self.service = GatewayService(options, keys=self.cache, **service_kw)
            config = ForwardConfig(port=0, admin_port=0, drain_timeout=3, **(forward or {}))
            engine = Engine(config, self.service)
            await engine.start()
            return engine

        self.engine = self.lt.run(start())
        self.url = f"http://127.0.0.1:{self.engine.port}"
        self.admin = f"http://127.0.0.1:{self.engine.admin_port}"

    def create_key(self, name: str = "tester", **kw: Any) -> tuple[str, str]:
        rec = self.lt.run(self.store.create(name, **kw))
        return rec.access_key_id, rec.secret_access_key

    def call(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
        return self.lt.run(fn(*args))

    def close(self) -> None:
        async def stop() -> None:
            await self.engine.stop()
            await self.cache.close()
            await self.store.close()

        try:
            self.lt.run(stop())
        finally:
            self.lt.close()


def aws_cli(akid: str, secret: str) -> tuple[str, dict[str, str]]:
    """The AWS CLI and an environment holding only this key (skips when it is not installed)."""
    import shutil

    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=akid,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return aws, env


def options(upstream: str, **kw: Any) -> Any:
    from sigv4kit.gateway.service import GatewayOptions

    return GatewayOptions(upstream=upstream, region=REGION, **kw)


@pytest.fixture
def gateway(echo: Echo) -> Iterator[InProcessGateway]:
    gw = InProcessGateway(options(echo.url))
    try:
        yield gw
    finally:
        gw.close()


# -- the gateway as a subprocess -----------------------------------------------------
@dataclass
class CliGateway:
    proc: subprocess.Popen[bytes]
    url: str
    admin: str | None
    log: Path
    out: Any = None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.out is not None:
            self.out.close()
        return self.proc.returncode


def start_cli_gateway(
    args: list[str], log: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> CliGateway:
    """``sigv4kit gateway ARGS`` (without --listen: a free port is chosen)."""
    port = free_port()
    full = [sys.executable, "-m", "sigv4kit.cli", "gateway", "--listen", f"127.0.0.1:{port}"]
    full += args
    e = dict(os.environ if env is None else env)
    e["PYTHONPATH"] = SRC + os.pathsep + e.get("PYTHONPATH", "")
    out = log.open("wb")
    proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=e)
    deadline = time.monotonic() + timeout
    info: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out.close()
            raise AssertionError(f"gateway exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"listen"' in line:
                info = json.loads(line)
        if info is not None:
            break
        time.sleep(0.05)
    if info is None:
        proc.kill()
        proc.wait(10)
        out.close()
        raise AssertionError(f"gateway did not start:\n{log.read_text()[-3000:]}")
    admin = f"http://{info['admin']}" if "admin" in info else None
    return CliGateway(proc, f"http://{info['listen']}", admin, log, out)


from client.conftest import seaweedfs  # noqa: E402,F401  (SeaweedFS for the re-sign tests)
