"""Helpers shared by the middleware tests (tests/test_server_*.py)."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sigv4kit import Credentials, Signer
from sigv4kit.verifier import Verifier

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WRONG = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEYX"
REGION = "us-east-1"


def verifier(**kw: Any) -> Verifier:
    return Verifier(credentials={AK: SK}, region=REGION, service="s3", **kw)


def signer(secret: str = SK, **kw: Any) -> Signer:
    return Signer(Credentials(AK, secret), REGION, "s3", **kw)


def later(seconds: float) -> Any:
    """A clock that runs ``seconds`` ahead: requests look replayed that much later."""
    return lambda: datetime.now(timezone.utc) + timedelta(seconds=seconds)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_BLOCK = bytes((i * 31 + (i >> 8)) & 0xFF for i in range(65536))


def data(size: int) -> bytes:
    return (_BLOCK * (size // len(_BLOCK) + 1))[:size]


def corrupt_chunk(body: bytes, index: int) -> bytes:
    """Flip one data byte inside the ``index``-th aws-chunked chunk."""
    pos = 0
    for _ in range(index):
        header_end = body.index(b"\r\n", pos)
        size = int(body[pos:header_end].split(b";")[0], 16)
        pos = header_end + 2 + size + 2
    header_end = body.index(b"\r\n", pos)
    at = header_end + 2 + 10
    return body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]


@contextmanager
def serve_in_thread(server: Any, sock: socket.socket) -> Iterator[None]:
    """Run a uvicorn ``Server`` on ``sock`` in a thread for the block."""
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        yield
    finally:
        server.should_exit = True
        t.join(10)


def listening_socket() -> socket.socket:
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only then (no 40 ms delayed-ACK stalls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock
