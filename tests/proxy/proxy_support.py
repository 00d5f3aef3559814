"""Servers and helpers for the forwarding-engine and proxy tests, all on 127.0.0.1.

``upstream``: a small aiohttp application (a real HTTP server in a thread)
that reports what reached it -- the raw request target, the headers, the
body's length and digest -- and can stream large answers, answer slowly, or
drop the connection.  ``run_engine`` starts a :class:`sigv4kit.forward.Engine`
in a thread of its own, so tests drive it with ordinary blocking clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp import web


class LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Upstream:
    port: int
    seen: list[dict[str, Any]] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _upstream_app(state: Upstream) -> web.Application:
    async def record(request: web.Request) -> dict[str, Any]:
        digest = hashlib.sha256()
        n = 0
        try:
            async for chunk in request.content.iter_any():
                digest.update(chunk)
                n += len(chunk)
        except Exception as exc:
            state.aborted.append(type(exc).__name__)
            raise
        info = {
            "method": request.method,
            "target": request.raw_path,
            "headers": [[k, v] for k, v in request.headers.items()],
            "length": n,
            "sha256": digest.hexdigest(),
        }
        state.seen.append(info)
        return info

    async def echo(request: web.Request) -> web.StreamResponse:
        info = await record(request)
        return web.json_response(info)

    async def big(request: web.Request) -> web.StreamResponse:
        await record(request)
        size = int(request.match_info["size"])
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.content_length = size
        await resp.prepare(request)
        block = b"x" * 65536
        left = size
        while left:
            piece = block[: min(left, len(block))]
            await resp.write(piece)
            left -= len(piece)
        await resp.write_eof()
        return resp

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(float(request.query.get("s", "2")))
        return web.Response(text="late")

    async def status(request: web.Request) -> web.StreamResponse:
        await record(request)
        code = int(request.match_info["code"])
        return web.Response(status=code, text=f"<Error><Code>E{code}</Code></Error>")

    async def big_error(request: web.Request) -> web.StreamResponse:
        # chunked (no Content-Length), larger than the engine's 64 KiB peek
        resp = web.StreamResponse(status=500)
        await resp.prepare(request)
        for i in range(20):
            await resp.write(bytes([65 + i]) * 10000)
        await resp.write_eof()
        return resp

    app = web.Application(client_max_size=1 << 40)
    app.router.add_route("GET", "/bigerror", big_error)
    app.router.add_route("GET", r"/big/{size:\d+}", big)
    app.router.add_route("*", r"/status/{code:\d+}", status)
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_raw(port: int, data: bytes, *, read: bool = True, timeout: float = 10) -> bytes:
    """Send raw bytes, return everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                got = s.recv(65536)
            except TimeoutError:
                break
            if not got:
                break
            out += got
        return out


def body_json(raw: bytes) -> Any:
    return json.loads(raw.partition(b"\r\n\r\n")[2])


# -- the proxy as a process ------------------------------------------------------
class ProxyProcess:
    """``sigv4kit proxy ...`` in a subprocess, on free ports; stopped with SIGTERM."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        import os
        import subprocess
        import sys

        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        full_env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT on a hung stop dumps the stacks
        cmd = [sys.executable, "-m", "sigv4kit.cli", "proxy", "--listen", "127.0.0.1:0"]
        cmd += ["--admin", "127.0.0.1:0", *args]
        self.proc = subprocess.Popen(
            cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=full_env
        )
        assert self.proc.stderr is not None
        early: list[str] = []
        line = ""
        while "listening on" not in line:
            line = self.proc.stderr.readline().decode()
            if not line:
                self.stop()
                raise AssertionError("proxy did not start: " + "".join(early))
            early.append(line)
        # "... listening on http://127.0.0.1:PORT -> ..., admin on http://127.0.0.1:APORT"
        self.port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        self.admin_port = int(line.rsplit(":", 1)[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self.stderr_lines: list[str] = early[:-1]
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace"))

    def wait_ready(self, timeout: float = 20) -> None:
        import time

        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.admin + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError("proxy never became ready:\n" + "".join(self.stderr_lines))

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self) -> int:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGABRT)
                self.proc.wait()
                self._reader.join(5)
                raise AssertionError(
                    "the proxy did not stop on SIGTERM:\n" + "".join(self.stderr_lines)[-5000:]
                ) from None
        if hasattr(self, "_reader"):
            self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return int(self.proc.returncode)
