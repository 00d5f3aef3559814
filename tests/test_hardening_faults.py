"""Faulty clients against the ASGI middleware under uvicorn (raw sockets).

A client that disconnects in the middle of an upload, sends its chunks
slowly, sends a truncated final chunk, or lies in the (signed)
``X-Amz-Decoded-Content-Length`` must never make the application see
unverified or partial data as a complete body:

* the application records every body it reads to the end (``complete``), and
  every read that failed; a faulty request must never be ``complete``, and
  whatever data it was handed must be a prefix of what the client signed;
* after each fault the server holds nothing for the connection: no open
  connection, no running request task, no more file descriptors than before.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from fuzz.common import NOW, REGION, SECRET, signer
from sigv4kit.keys import signing_key
from sigv4kit.streaming import ChunkEncoder

uvicorn = pytest.importorskip("uvicorn")


@dataclass
class Seen:
    path: str
    data: bytearray = field(default_factory=bytearray)
    complete: bool = False
    error: str | None = None
    ended: bool = False


class RecordingApp:
    """Reads the body to the end, then answers 200; records what it saw."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        rec = Seen(scope["raw_path"].decode())
        with self.lock:
            self.seen.append(rec)
        try:
            while True:
                m = await receive()
                if m["type"] == "http.disconnect":
                    rec.error = "disconnect"
                    return
                rec.data += m.get("body", b"")
                if not m.get("more_body"):
                    break
            rec.complete = True
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"6")],
                }
            )
            await send({"type": "http.response.body", "body": b"stored"})
        except Exception as exc:
            rec.error = type(exc).__name__
            raise
        finally:
            rec.ended = True


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Any, RecordingApp, int]]:
    from sigv4kit.server.asgi import SigV4Middleware
    from sigv4kit.verifier import Verifier

    app = RecordingApp()
    mw = SigV4Middleware(app, Verifier({"AKIDEXAMPLE": SECRET}, REGION, "s3"), clock=lambda: NOW)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(
        mw, lifespan="off", log_level="error", access_log=False, http="h11", ws="none"
    )
    srv = uvicorn.Server(config)
    t = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    for _ in range(500):
        if srv.started:
            break
        time.sleep(0.01)
    yield srv, app, sock.getsockname()[1]
    srv.should_exit = True
    t.join(10)
    sock.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(srv: Any, before_fds: int, timeout: float = 5.0) -> None:
    """The server let go of every connection and task, and of any file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not srv.server_state.connections and not srv.server_state.tasks and _fds() <= before_fds:
            return
        time.sleep(0.02)
    raise AssertionError(
        f"resources held: {len(srv.server_state.connections)} connections, "
        f"{len(srv.server_state.tasks)} tasks, {_fds() - before_fds} extra fds"
    )


def head(method: str, path: str, headers: list[tuple[str, str]], length: int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"]
    lines += [f"{n}: {v}" for n, v in headers if n.lower() != "content-length"]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def reply(conn: socket.socket, timeout: float = 5.0) -> bytes:
    conn.settimeout(timeout)
    out = b""
    try:
        while True:
            piece = conn.recv(65536)
            if not piece:
                break
            out += piece
            if b"\r\n\r\n" in out:
                headers, _, rest = out.partition(b"\r\n\r\n")
                for line in headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        if len(rest) >= int(line.split(b":")[1]):
                            return out
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def last(app: RecordingApp, path: str, timeout: float = 5.0) -> Seen:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.lock:
            found = [s for s in app.seen if s.path == path]
        if found and found[-1].ended:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError(f"the application never finished {path}")


def streamed(path: str, data: bytes, port: int, mode: str = "streaming") -> tuple[Any, bytes]:
    s = signer(
        payload=mode, chunk_size=8192, checksum=None if mode == "streaming" else "crc32c"
    ).sign("PUT", f"http://127.0.0.1:{port}{path}", body=data, timestamp=NOW)
    return s, b"".join(s.body)


DATA = bytes(range(256)) * 160  # 40960 bytes: five 8 KiB chunks


# ---------------------------------------------------------------------------
# Disconnect mid-upload
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sha256", "streaming", "streaming-unsigned-trailer"])
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.99])
def test_disconnect_mid_upload(server: Any, kind: str, fraction: float) -> None:
    srv, app, port = server
    path = f"/disconnect/{kind}/{int(fraction * 100)}"
    if kind == "sha256":
        s = signer().sign("PUT", f"http://127.0.0.1:{port}{path}", body=DATA, timestamp=NOW)
        body = DATA
    else:
        s, body = streamed(path, DATA, port, kind)
    before = _fds()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(body)))
    conn.sendall(body[: int(len(body) * fraction)])
    time.sleep(0.1)
    conn.close()
    seen = last(app, path)
    assert not seen.complete, "a partial body was delivered as complete"
    assert DATA.startswith(bytes(seen.data)) and len(seen.data) < len(DATA)
    settle(srv, before)


# ---------------------------------------------------------------------------
# Slow chunks
# ---------------------------------------------------------------------------
def test_slow_chunks_are_released_only_once_verified(server: Any) -> None:
    """A body dribbled in small pieces: the app gets it as it comes, each
    piece only once its chunk verified, and the whole body once complete."""
    srv, app, port = server
    path = "/slow/chunks"
    s, body = streamed(path, DATA, port)
    before = _fds()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(body)))
    progress = []
    for i in range(0, len(body), 997):
        conn.sendall(body[i : i + 997])
        time.sleep(0.005)
        with app.lock:
            cur = [x for x in app.seen if x.path == path]
        if cur:
            progress.append(len(cur[-1].data))
    answer = reply(conn)
    conn.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    seen = last(app, path)
    assert seen.complete and bytes(seen.data) == DATA
    # Streamed, not buffered: the app had data before the body ended, and
    # never more than the verified chunks (multiples of 8 KiB) before the end.
    assert any(0 < p < len(DATA) for p in progress)
    assert all(p % 8192 == 0 for p in progress if p < len(DATA))
    settle(srv, before)


def test_stalled_client_then_gone(server: Any) -> None:
    """A client that stops sending mid-chunk and later vanishes: the app is
    left waiting (nothing unverified is handed over), then ends."""
    srv, app, port = server
    path = "/slow/stall"
    s, body = streamed(path, DATA, port)
    before = _fds()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(body)))
    conn.sendall(body[:12000])  # the first chunk and part of the second
    time.sleep(0.5)
    with app.lock:
        cur = [x for x in app.seen if x.path == path]
    assert cur and len(cur[-1].data) <= 8192 and not cur[-1].ended
    conn.close()
    seen = last(app, path)
    assert not seen.complete and bytes(seen.data) == DATA[: len(seen.data)]
    settle(srv, before)


# ---------------------------------------------------------------------------
# Truncated final chunk
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["streaming", "streaming-trailer", "streaming-unsigned-trailer"])
@pytest.mark.parametrize("cut", [1, 2, 10, 60])
def test_truncated_final_chunk(server: Any, mode: str, cut: int) -> None:
    """The body ends early but its Content-Length says so (a proxy or client
    that cut it): the server delivers everything; the application's last
    read fails and the answer is S3's error, not 200."""
    srv, app, port = server
    path = f"/truncated/{mode}/{cut}"
    s, body = streamed(path, DATA, port, mode)
    short = body[:-cut]
    before = _fds()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(short)) + short)
    answer = reply(conn)
    conn.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"IncompleteBody" in answer or b"MalformedTrailer" in answer, answer[:600]
    seen = last(app, path)
    assert not seen.complete and seen.error is not None
    assert len(seen.data) < len(DATA) and DATA.startswith(bytes(seen.data))
    settle(srv, before)


# ---------------------------------------------------------------------------
# Lying about X-Amz-Decoded-Content-Length
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("actual", [len(DATA) - 1, len(DATA) + 1, len(DATA) // 2, len(DATA) * 2])
def test_lying_decoded_content_length(server: Any, actual: int) -> None:
    """The client signs a decoded length and sends another amount of
    correctly chunk-signed data: never a complete body."""
    srv, app, port = server
    path = f"/lying/{actual}"
    s = signer(payload="streaming", chunk_size=8192).sign(
        "PUT", f"http://127.0.0.1:{port}{path}", body=DATA, timestamp=NOW
    )
    key = signing_key(SECRET, "20130524", REGION, "s3")
    enc = ChunkEncoder(
        "streaming",
        seed_signature=s.signature,
        amz_date=s.amz_date,
        scope=s.credential_scope,
        sign=key.hexdigest,
        chunk_size=8192,
    )
    payload = (DATA * 3)[:actual]
    body = enc.send(payload) + enc.finish()
    before = _fds()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(body)) + body)
    answer = reply(conn)
    conn.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"IncompleteBody" in answer
    seen = last(app, path)
    assert not seen.complete
    assert len(seen.data) <= len(DATA) and payload.startswith(bytes(seen.data))
    settle(srv, before)


def test_lying_content_length_short_then_close(server: Any) -> None:
    """Content-Length promises more than is sent; the client then closes."""
    srv, app, port = server
    path = "/lying/content-length"
    s = signer().sign("PUT", f"http://127.0.0.1:{port}{path}", body=DATA, timestamp=NOW)
    before = _fds()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(DATA) + 100) + DATA)
    time.sleep(0.2)
    conn.close()
    seen = last(app, path)
    assert not seen.complete
    settle(srv, before)


def test_server_still_serves_after_the_faults(server: Any) -> None:
    _, app, port = server
    path = "/after/faults"
    s, body = streamed(path, DATA, port)
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head("PUT", path, list(s.headers), len(body)) + body)
    answer = reply(conn)
    conn.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert bytes(last(app, path).data) == DATA
