"""Throwaway PostgreSQL and Redis servers on 127.0.0.1 for the key store and gateway tests.

Both come from Debian's packages (tests/deps/apt/gateway.txt).  PostgreSQL
refuses to run as root, so when the tests run as root the cluster belongs to
the ``postgres`` user and every server command goes through ``runuser``.

Fixtures (registered in conftest.py):

* ``pg_cluster`` (session): one cluster; ``postgres_url`` (function) gives
  each test a fresh, empty database on it.
* ``redis_server`` (session); ``redis_url`` (function) flushes it first.
* For fault tests that stop and restart a server, use the context managers
  :func:`postgres_cluster` and :func:`redis_instance` for a private one
  (``.stop()`` / ``.start()``), so the shared servers stay up.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = [
    "PostgresCluster",
    "RedisInstance",
    "free_port",
    "pg_cluster",
    "postgres_cluster",
    "postgres_url",
    "redis_instance",
    "redis_server",
    "redis_url",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> str | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory, trust auth, 127.0.0.1:port."""

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="sigv4kit-pg-")
        os.chmod(self.dir, 0o755)
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self._dbs = itertools.count(1)
        self._run(
            "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )
        self.running = False

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [os.path.join(self.bindir, tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            log = ""
            if os.path.exists(self.log):
                with open(self.log, encoding="utf-8", errors="replace") as f:
                    log = f.read()[-3000:]
            raise RuntimeError(f"{tool} failed: {proc.stdout}{proc.stderr}\n{log}")
        return proc

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30", "-o", options, "start"
        )
        self.running = True
        self._watch()

    def _watch(self) -> None:
        """pg_ctl detaches the server from this process: if pytest is killed
        (a timeout, ^C twice) before cleanup() runs, a small watchdog in its own
        session stops the server and removes the directory once pytest is gone."""
        if getattr(self, "_watchdog", None) is not None:
            return  # a restart (the fault tests): one watchdog per cluster
        stop = [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"]
        if self.as_root:
            stop = ["runuser", "-u", "postgres", "--", *stop]
        script = (
            "import os, shutil, subprocess, sys, time\n"
            "parent, stop, path = int(sys.argv[1]), sys.argv[3:], sys.argv[2]\n"
            "while os.getppid() == parent: time.sleep(1)\n"
            "if os.path.exists(path):\n"
            "    subprocess.run(stop, capture_output=True, timeout=60)\n"
            "    shutil.rmtree(path, ignore_errors=True)\n"
        )
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", script, str(os.getpid()), self.dir, *stop],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: clients are disconnected at once)."""
        if self.running:
            self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop")
            self.running = False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t{os.getpid()}_{next(self._dbs)}"
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            f"CREATE DATABASE {name}",
        )
        return self.url(name)

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            watchdog = getattr(self, "_watchdog", None)
            if watchdog is not None:  # its work is done here
                watchdog.kill()
                watchdog.wait(10)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A private, running cluster, removed afterwards."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


class RedisInstance:
    """redis-server on 127.0.0.1:port, no persistence."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.dir = tempfile.mkdtemp(prefix="sigv4kit-redis-")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary is not None
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--daemonize",
                "no",
                "--logfile",
                os.path.join(self.dir, "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.command("PING") == b"+PONG\r\n":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING within 15 s")

    def command(self, *args: str) -> bytes:
        """One command over a raw socket (no client library needed)."""
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
        )
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(payload)
            return s.recv(65536)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def redis_instance() -> Iterator[RedisInstance]:
    """A private, running redis-server, stopped afterwards."""
    server = RedisInstance()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(pg_cluster: PostgresCluster) -> str:
    """A fresh empty database on the session's cluster."""
    if not pg_cluster.running:
        pg_cluster.start()
    return pg_cluster.create_database()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisInstance]:
    with redis_instance() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisInstance) -> str:
    """The session's redis-server, emptied for this test."""
    if not redis_server.running:
        redis_server.start()
    redis_server.command("FLUSHALL")
    return redis_server.url()
