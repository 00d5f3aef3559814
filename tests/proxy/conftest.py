"""Fixtures for tests/proxy: an upstream server and engines, each in a loop thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp import web
from proxy_support import LoopThread, Upstream, _upstream_app

from sigv4kit.forward import Engine, ForwardConfig, Service


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="module")
def upstream(loop_thread: LoopThread) -> Iterator[Upstream]:
    state = Upstream(0)

    async def start() -> web.AppRunner:
        runner = web.AppRunner(_upstream_app(state), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state.port = runner.addresses[0][1]
        return runner

    runner = loop_thread.run(start())
    yield state
    loop_thread.run(runner.cleanup())


@pytest.fixture
def run_engine(loop_thread: LoopThread) -> Iterator[Callable[..., Engine]]:
    """``run_engine(service, **config) -> Engine``, stopped after the test."""
    started: list[Engine] = []

    def start(service: Service, **config: Any) -> Engine:
        config.setdefault("port", 0)
        engine = Engine(ForwardConfig(**config), service)
        loop_thread.run(engine.start())
        started.append(engine)
        return engine

    yield start
    for engine in started:
        loop_thread.run(engine.stop())
