"""Slow clients: a request head that trickles in (slowloris) is cut at its deadline.

Raw sockets, so the bytes go out exactly as slowly as the test says: the
request line and headers a few bytes at a time, never idle for long, must
still be finished within ``head_timeout`` of the first byte (or of the
connection's start), else ``408`` and the connection closes.  A head that
arrives in time is served, also on a kept-alive connection, and so is a
request whose body takes longer than the head deadline.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, Echo, InProcessGateway, options

HEAD_TIMEOUT = 1.0


@pytest.fixture
def strict(echo: Echo) -> Iterator[InProcessGateway]:
    gw = InProcessGateway(options(echo.url), forward={"head_timeout": HEAD_TIMEOUT})
    try:
        yield gw
    finally:
        gw.close()


def _connect(gw: InProcessGateway) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", gw.engine.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _trickle(s: socket.socket, data: bytes, every: float, limit: float) -> float:
    """Send ``data`` a byte at a time; seconds until the server closed (or ``limit``)."""
    t0 = time.monotonic()
    for i in range(len(data)):
        try:
            s.sendall(data[i : i + 1])
        except OSError:  # reset: the server closed
            return time.monotonic() - t0
        time.sleep(every)
        if time.monotonic() - t0 > limit:
            break
    return time.monotonic() - t0


def _read_all(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except OSError:
        pass
    return out


def _signed_head(gw: InProcessGateway, akid: str, secret: str, path: str) -> bytes:
    signed = Signer(Credentials(akid, secret), REGION, "s3").sign(
        "GET", f"{gw.url}{path}", payload="unsigned"
    )
    lines = [f"GET {path} HTTP/1.1"] + [f"{n}: {v}" for n, v in signed.headers.as_dict().items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_trickled_headers_are_cut_at_the_deadline(strict: InProcessGateway, echo: Echo) -> None:
    akid, secret = strict.create_key("slow")
    head = _signed_head(strict, akid, secret, "/b/slowloris")
    echo.clear()
    s = _connect(strict)
    # one byte every 50 ms: never idle for long, but the head takes ~25 s in all
    elapsed = _trickle(s, head, 0.05, limit=HEAD_TIMEOUT * 4)
    answer = _read_all(s)
    s.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT * 4, elapsed
    assert echo.seen == []  # nothing reached the upstream


def test_a_silent_connection_is_closed_at_the_deadline(strict: InProcessGateway) -> None:
    s = _connect(strict)
    t0 = time.monotonic()
    answer = _read_all(s)
    elapsed = time.monotonic() - t0
    s.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT * 4, elapsed


def test_heads_in_time_are_served_also_when_kept_alive(
    strict: InProcessGateway, echo: Echo
) -> None:
    akid, secret = strict.create_key("fast")
    s = _connect(strict)
    for i in range(3):  # the deadline starts again with each request's first byte
        head = _signed_head(strict, akid, secret, f"/b/kept-{i}")
        s.sendall(head[:10])
        time.sleep(HEAD_TIMEOUT * 0.6)  # idle between requests and inside the head
        s.sendall(head[10:])
        data = s.recv(65536)
        assert data.startswith(b"HTTP/1.1 200 "), data[:300]
        while b"/b/kept-" + str(i).encode() not in data:  # the rest of the JSON echo
            data += s.recv(65536)
        time.sleep(HEAD_TIMEOUT * 0.6)
    # a second head on the kept-alive connection that trickles is cut too
    head = _signed_head(strict, akid, secret, "/b/kept-slow")
    _trickle(s, head, 0.05, limit=HEAD_TIMEOUT * 4)
    assert _read_all(s).startswith(b"HTTP/1.1 408 ")
    s.close()


def test_a_body_slower_than_the_head_deadline_is_not_cut(
    strict: InProcessGateway, echo: Echo
) -> None:
    akid, secret = strict.create_key("uploader")
    body = b"x" * 40
    signed = Signer(Credentials(akid, secret), REGION, "s3").sign(
        "PUT", f"{strict.url}/b/slow-body", body=body
    )
    lines = ["PUT /b/slow-body HTTP/1.1", f"Content-Length: {len(body)}"]
    lines += [f"{n}: {v}" for n, v in signed.headers.as_dict().items()]
    s = _connect(strict)
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    elapsed = _trickle(s, body, 0.05, limit=30)  # 2 s of body > the 1 s head deadline
    answer = s.recv(65536)
    s.close()
    assert elapsed > HEAD_TIMEOUT * 1.5
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert [r["length"] for r in echo.seen if r["target"] == "/b/slow-body"] == [40]
