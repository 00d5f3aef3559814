"""The engine's lean upstream client (sigv4kit.forward._upstream) against a real server.

The engine tests (test_forward.py) cover what clients of the proxy see; these
pin the pool's own promises: connections reused only after a clean, complete
exchange, every body framing, and errors of the right class.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable

import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("httptools")

import requests
from proxy_support import LoopThread, Upstream, free_port

from sigv4kit.errors import UpstreamFailed
from sigv4kit.forward import Engine
from sigv4kit.forward import _upstream as up


def _pool(**kw: float) -> up.Pool:
    return up.Pool(
        limit=int(kw.get("limit", 8)),
        idle=kw.get("idle", 30.0),
        ssl_context=None,
        connect_timeout=5.0,
        read_timeout=kw.get("read_timeout", 5.0),
    )


async def _get(pool: up.Pool, origin: str, target: str, method: str = "GET") -> up.Response:
    return await pool.request(method, origin, target, [("Host", "x")], None)


def test_connection_reused_only_after_a_complete_answer(
    upstream: Upstream, loop_thread: LoopThread
) -> None:
    async def go() -> tuple[int, int, int, int]:
        pool = _pool()
        r = await _get(pool, upstream.origin, "/a")
        assert r.status == 200 and json.loads(await r.read())["target"] == "/a"
        r.close()
        first = pool._open
        r = await _get(pool, upstream.origin, "/b")
        await r.read()
        r.close()
        second = pool._open
        # A body left unread: the connection is closed, not pooled.
        r = await _get(pool, upstream.origin, f"/big/{1 << 20}")
        assert r.content_length == 1 << 20
        assert await r.readany()
        r.close()
        third = pool._open
        idle = sum(len(c) for c in pool._idle.values())
        await pool.close()
        return first, second, third, idle

    assert loop_thread.run(go()) == (1, 1, 0, 0)


def test_chunked_answer_head_and_error_status(upstream: Upstream, loop_thread: LoopThread) -> None:
    async def go() -> None:
        pool = _pool()
        r = await _get(pool, upstream.origin, "/bigerror")
        assert r.status == 500 and r.content_length is None
        body = await r.read()
        assert body == b"".join(bytes([65 + i]) * 10000 for i in range(20))
        r.close()
        assert pool._open == 1  # a chunked answer read to its end is reusable
        # A HEAD answer announces a body it does not carry.
        r = await _get(pool, upstream.origin, "/h", method="HEAD")
        assert r.status == 200 and r.content_length
        assert await r.read() == b""
        r.close()
        r = await _get(pool, upstream.origin, "/status/404")
        assert r.status == 404
        await r.read()
        r.close()
        await pool.close()

    loop_thread.run(go())


def test_request_bodies_bytes_chunked_and_sized(
    upstream: Upstream, loop_thread: LoopThread
) -> None:
    parts = [bytes([i]) * 70000 for i in range(4)]
    whole = b"".join(parts)

    async def gen() -> AsyncIterator[bytes]:
        for p in parts:
            yield p

    async def go() -> list[dict[str, object]]:
        pool = _pool()
        got = []
        for headers, body in (
            ([("Host", "x")], whole),
            ([("Host", "x")], gen()),
            ([("Host", "x"), ("Content-Length", str(len(whole)))], gen()),
        ):
            r = await pool.request("PUT", upstream.origin, "/up", headers, body)
            got.append(json.loads(await r.read()))
            r.close()
        await pool.close()
        return got

    for info in loop_thread.run(go()):
        assert info["length"] == len(whole)
        assert info["sha256"] == hashlib.sha256(whole).hexdigest()


def test_errors_have_their_classes(upstream: Upstream, loop_thread: LoopThread) -> None:
    class Boom(Exception):
        pass

    async def bad() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise Boom("spool failed")

    async def go() -> None:
        pool = _pool(read_timeout=0.3)
        with pytest.raises(UpstreamFailed) as info:
            await _get(pool, f"http://127.0.0.1:{free_port()}", "/")
        assert info.value.kind == "connect" and info.value.os_error is not None
        with pytest.raises(UpstreamFailed) as info:
            r = await pool.request("PUT", upstream.origin, "/up", [("Host", "x")], bad())
            await r.read()
        assert info.value.kind == "body" and isinstance(info.value.__cause__, Boom)
        with pytest.raises(UpstreamFailed) as info:
            await _get(pool, upstream.origin, "/slow")
        assert info.value.kind == "timeout"
        assert pool._open == 0
        await pool.close()

    loop_thread.run(go())


def test_aiohttp_client_still_selectable(
    upstream: Upstream, run_engine: Callable[..., Engine]
) -> None:
    from test_forward import PassThrough

    engine = run_engine(PassThrough(upstream.origin), upstream_client="aiohttp")
    assert engine._session is not None and engine._pool is None
    r = requests.get(f"http://127.0.0.1:{engine.port}/via-aiohttp")
    assert r.status_code == 200 and r.json()["target"] == "/via-aiohttp"
