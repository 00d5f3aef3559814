"""Running the engine: one process, or a supervisor with N worker processes.

With ``workers > 1`` the supervisor reserves the port (a bound socket that
never listens, so the kernel hands it no connections), forks the workers,
and each worker opens its own listening socket on that port with
``SO_REUSEPORT``: the kernel spreads connections over them, no accept lock
and no file-descriptor passing.  Workers send their metrics to the
supervisor once a second over a pipe; the supervisor serves the admin
listener with the sum, and is ready once every worker says it is.  SIGTERM
(or SIGINT) to the supervisor goes to every worker; each stops accepting,
finishes the requests in flight (``drain_timeout``) and exits.  A worker that
dies otherwise is started again.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from ._engine import Engine, ForwardConfig, new_event_loop, start_admin
from ._metrics import Metrics
from ._model import Service

__all__ = ["serve"]

_log = logging.getLogger("sigv4kit.forward")

ServiceFactory = Callable[[], Service]


def _listen_socket(host: str, port: int, *, reuseport: bool, listen: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(1024)
    sock.setblocking(False)
    return sock


def serve(
    config: ForwardConfig,
    factory: ServiceFactory,
    *,
    on_listening: Callable[[int, int], None] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status.

    ``factory`` builds the service inside each worker process (after the
    fork), so nothing a service holds -- event-loop objects, connections --
    is shared between processes.  ``on_listening(port, admin_port)`` is
    called once the listener is open (in the supervisor when there are
    workers).
    """
    if config.workers <= 1:
        return _run_worker(config, factory, None, None, on_listening, admin=True)
    return _supervise(config, factory, on_listening)


def _run_worker(
    config: ForwardConfig,
    factory: ServiceFactory,
    sock: socket.socket | None,
    report_fd: int | None,
    on_listening: Callable[[int, int], None] | None,
    *,
    admin: bool,
) -> int:
    """One worker: its own event loop, engine and service, until SIGTERM/SIGINT."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        engine = Engine(config, factory(), admin=admin)
        await engine.start(sock)
        # Everything alive now (modules, the service, its key cache, the pool)
        # lives as long as the worker: moved out of the collector's sight, a
        # collection no longer walks the whole heap, which measurably costs
        # each request that allocates (benchmarks/bench_gateway.py).
        gc.freeze()
        if on_listening is not None:
            on_listening(engine.port, engine.admin_port)
        reporter = None
        if report_fd is not None:
            reporter = asyncio.create_task(_report(engine, report_fd, stop))
        await stop.wait()
        await engine.stop()
        if reporter is not None:
            await reporter
        return 0

    loop = new_event_loop(config.event_loop)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


async def _report(engine: Engine, fd: int, stop: asyncio.Event) -> None:
    """Send this worker's metrics to the supervisor every second (and at exit)."""
    out = os.fdopen(fd, "w", buffering=1)

    def send() -> None:
        snap = engine.metrics.snapshot()
        snap["ready"] = engine.service.ready()
        snap["pid"] = os.getpid()
        try:
            out.write(json.dumps(snap) + "\n")
        except OSError:
            pass

    while not stop.is_set():
        send()
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    # Wait for the drain (engine.stop) to finish before the last report.
    await asyncio.sleep(0)
    send()


class _Supervisor:
    def __init__(self, config: ForwardConfig, factory: ServiceFactory) -> None:
        self.config = config
        self.factory = factory
        self.children: dict[int, int] = {}  # pid -> read fd
        self.latest: dict[int, dict[str, Any]] = {}
        # The event loop keeps only weak references to tasks: without these,
        # a garbage collection can destroy a reader mid-wait, and /readyz
        # and /metrics stop hearing from that worker.
        self.readers: set[asyncio.Task[None]] = set()
        self.retired = Metrics()
        self.stopping = False
        self.port = 0

    def spawn(self, port: int) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(r)
                for fd in list(self.children.values()):
                    os.close(fd)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                sock = _listen_socket(self.config.host, port, reuseport=True, listen=True)
                code = _run_worker(self.config, self.factory, sock, w, None, admin=False)
            except BaseException:
                _log.exception("worker failed")
            finally:
                os._exit(code)
        os.close(w)
        self.children[pid] = r
        task = asyncio.get_running_loop().create_task(self.read_reports(pid, r))
        self.readers.add(task)
        task.add_done_callback(self.readers.discard)

    async def read_reports(self, pid: int, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    self.latest[pid] = json.loads(line)
                except ValueError:
                    continue
        finally:
            transport.close()
            last = self.latest.pop(pid, None)
            if last is not None:
                last["in_flight"] = 0
                self.retired.merge(last)

    def state(self) -> tuple[bool, str]:
        total = Metrics()
        total.merge(self.retired.snapshot())
        for snap in list(self.latest.values()):
            total.merge(snap)
        ready = (
            not self.stopping
            and len(self.latest) >= len(self.children) > 0
            and all(s.get("ready") for s in self.latest.values())
        )
        return ready, total.render()


def _supervise(
    config: ForwardConfig,
    factory: ServiceFactory,
    on_listening: Callable[[int, int], None] | None,
) -> int:
    reserve = _listen_socket(config.host, config.port, reuseport=True, listen=False)
    port = reserve.getsockname()[1]
    sup = _Supervisor(config, factory)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> int:
        done = asyncio.Event()

        def reap() -> None:
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                sup.children.pop(pid, None)
                if not sup.stopping:
                    _log.warning("worker %d exited (status %d); starting another", pid, status)
                    time.sleep(0.2)
                    sup.spawn(port)
            if sup.stopping and not sup.children:
                done.set()

        def terminate() -> None:
            if sup.stopping:
                return
            sup.stopping = True
            for pid in list(sup.children):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            if not sup.children:
                done.set()

        loop.add_signal_handler(signal.SIGCHLD, reap)
        loop.add_signal_handler(signal.SIGTERM, terminate)
        loop.add_signal_handler(signal.SIGINT, terminate)
        for _ in range(config.workers):
            sup.spawn(port)
        admin_port = 0
        admin = None
        if config.admin_port is not None:
            admin = await start_admin(config.admin_host, config.admin_port, sup.state)
            admin_port = admin[1].sockets[0].getsockname()[1]
        if on_listening is not None:
            on_listening(port, admin_port)
        await done.wait()
        if admin is not None:
            admin[1].close()
            await admin[0].shutdown(1)
        return 0

    try:
        return loop.run_until_complete(main())
    finally:
        reserve.close()
        loop.close()
        sys.stdout.flush()
