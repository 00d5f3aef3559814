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

    app = web.Application(client_max_size=1 << 40)
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
