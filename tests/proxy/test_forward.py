"""The forwarding engine against a real upstream server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
import requests
from proxy_support import Upstream, body_json, free_port, http_raw

from sigv4kit.forward import (
    Engine,
    Incoming,
    Outgoing,
    Reply,
    Service,
    UpstreamAnswer,
    end_to_end,
)


class PassThrough(Service):
    """Forwards everything to one origin, unchanged but for hop-by-hop headers."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.retry_on: int | None = None

    async def handle(self, req: Incoming) -> Outgoing | Reply:
        if req.path == "/refuse":
            return Reply.text(403, "refused by the service")
        headers = end_to_end(req.headers)
        req.log["note"] = "pass"
        if req.content_length is not None and req.content_length <= 65536:
            # Small bodies are read whole: replayable, so retried after a
            # connection failure.
            body = b"".join([c async for c in req.body])
            return Outgoing(req.method, self.origin, req.target, headers, body=body)
        return Outgoing(req.method, self.origin, req.target, headers, body=req.body)

    async def on_response(
        self, req: Incoming, sent: Outgoing, answer: UpstreamAnswer
    ) -> Outgoing | None:
        if self.retry_on == answer.status:
            assert b"<Code>E" in answer.body
            return Outgoing("GET", sent.origin, "/after-retry", [("Host", "x")])
        return None


Start = Callable[..., Engine]


def test_get_streams_verbatim_target_and_headers(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    target = "/b/a%2Fb+c%20d~%E2%82%AC?z=1&a=2&a=1&empty&x=%2B"
    raw = http_raw(
        engine.port,
        f"GET {target} HTTP/1.1\r\nHost: h.example\r\nX-Custom: v\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert raw.startswith(b"HTTP/1.1 200")
    got = body_json(raw)
    assert got["target"] == target
    names = [k.lower() for k, _ in got["headers"]]
    assert ("Host", "h.example") in [tuple(h) for h in got["headers"]]
    # Nothing added on the way: no Accept-Encoding, User-Agent, Accept.
    assert "accept-encoding" not in names and "user-agent" not in names
    assert "connection" not in names or dict(got["headers"]).get("Connection") != "close"


def test_large_download_streams(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    size = 8 * 1024 * 1024 + 3
    with requests.get(f"http://127.0.0.1:{engine.port}/big/{size}", stream=True) as r:
        assert r.status_code == 200
        assert r.headers["Content-Length"] == str(size)
        n = sum(len(c) for c in r.iter_content(65536))
    assert n == size


def test_chunked_upload_and_content_length_upload(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    data = [bytes([i]) * 70000 for i in range(5)]
    whole = b"".join(data)
    r = requests.put(f"http://127.0.0.1:{engine.port}/up", data=iter(data))
    assert r.status_code == 200
    assert r.json()["length"] == len(whole)
    assert r.json()["sha256"] == hashlib.sha256(whole).hexdigest()
    r = requests.put(f"http://127.0.0.1:{engine.port}/up2", data=whole)
    assert r.json()["length"] == len(whole)
    assert ["Content-Length", str(len(whole))] in r.json()["headers"]


def test_expect_100_continue(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    with socket.create_connection(("127.0.0.1", engine.port), timeout=5) as s:
        s.sendall(
            b"PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(b"hello")
        rest = s.recv(65536)
    assert rest.startswith(b"HTTP/1.1 200")


def test_reply_answers_without_upstream(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    before = len(upstream.seen)
    r = requests.get(f"http://127.0.0.1:{engine.port}/refuse")
    assert r.status_code == 403 and r.text == "refused by the service\n"
    assert len(upstream.seen) == before


def test_refusal_with_unread_body_closes_connection(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    raw = http_raw(
        engine.port, b"PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc"
    )
    head = raw.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 403") and b"connection: close" in head


def test_upstream_down_is_502_with_reason(run_engine: Start) -> None:
    port = free_port()
    engine = run_engine(PassThrough(f"http://127.0.0.1:{port}"))
    r = requests.get(f"http://127.0.0.1:{engine.port}/x")
    assert r.status_code == 502
    assert r.text.count("\n") == 1
    assert f"127.0.0.1:{port}" in r.text and "unreachable" in r.text
    assert engine.metrics.counters[("sigv4kit_upstream_errors_total", (("reason", "connect"),))]


def _flaky_server(answers: list[bytes]) -> tuple[int, list[bytes], threading.Thread]:
    """Accepts one connection per answer; b"" = close without answering."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    got: list[bytes] = []

    def run() -> None:
        for answer in answers:
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(5)
                data = conn.recv(65536)
                got.append(data)
                if answer:
                    conn.sendall(answer)
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], got, t


_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def test_idempotent_request_retried_once_after_connection_failure(run_engine: Start) -> None:
    port, got, t = _flaky_server([b"", _OK])
    engine = run_engine(PassThrough(f"http://127.0.0.1:{port}"))
    r = requests.put(f"http://127.0.0.1:{engine.port}/k", data=b"replayable")
    assert r.status_code == 200 and r.text == "ok"
    t.join(5)
    assert len(got) == 2
    assert engine.metrics.counters[("sigv4kit_retries_total", (("reason", "connection"),))] == 1


def test_post_not_retried(run_engine: Start) -> None:
    port, got, t = _flaky_server([b"", _OK])
    engine = run_engine(PassThrough(f"http://127.0.0.1:{port}"))
    r = requests.post(f"http://127.0.0.1:{engine.port}/k", data=b"once")
    assert r.status_code == 502
    assert "unreachable" in r.text
    assert len(got) == 1
    # unblock the helper thread
    socket.create_connection(("127.0.0.1", port)).close()
    t.join(5)


def test_read_timeout_is_504(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin), read_timeout=0.3)
    r = requests.get(f"http://127.0.0.1:{engine.port}/slow?s=2")
    assert r.status_code == 504
    assert "0.3 s" in r.text


def test_on_response_retry_seam(upstream: Upstream, run_engine: Start) -> None:
    service = PassThrough(upstream.origin)
    service.retry_on = 403
    engine = run_engine(service)
    r = requests.get(f"http://127.0.0.1:{engine.port}/status/403")
    assert r.status_code == 200 and r.json()["target"] == "/after-retry"
    # Other errors are forwarded intact, body included.
    r = requests.get(f"http://127.0.0.1:{engine.port}/status/404")
    assert r.status_code == 404 and r.text == "<Error><Code>E404</Code></Error>"


def test_large_chunked_error_reaches_client_whole(upstream: Upstream, run_engine: Start) -> None:
    service = PassThrough(upstream.origin)
    service.retry_on = 403  # hooked: 500s are peeked, then forwarded
    engine = run_engine(service)
    r = requests.get(f"http://127.0.0.1:{engine.port}/bigerror")
    assert r.status_code == 500
    assert r.content == b"".join(bytes([65 + i]) * 10000 for i in range(20))


def test_client_disconnect_mid_body_aborts_upstream(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    before = len(upstream.aborted)
    with socket.create_connection(("127.0.0.1", engine.port), timeout=5) as s:
        s.sendall(b"PUT /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        s.sendall(b"a" * 100000)
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while len(upstream.aborted) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(upstream.aborted) > before, "the upstream request was not aborted"
    # The engine still serves.
    assert requests.get(f"http://127.0.0.1:{engine.port}/still").status_code == 200
    while engine.metrics.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.metrics.in_flight == 0


def test_client_disconnect_mid_download_releases(upstream: Upstream, run_engine: Start) -> None:
    engine = run_engine(PassThrough(upstream.origin))
    with socket.create_connection(("127.0.0.1", engine.port), timeout=5) as s:
        s.sendall(b"GET /big/100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(65536)
    deadline = time.monotonic() + 10
    while engine.metrics.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.metrics.in_flight == 0
    assert requests.get(f"http://127.0.0.1:{engine.port}/after").status_code == 200


def test_admin_endpoints_and_access_log(
    upstream: Upstream, run_engine: Start, tmp_path: Path
) -> None:
    log = tmp_path / "access.jsonl"
    engine = run_engine(PassThrough(upstream.origin), admin_port=0, access_log=str(log))
    base = f"http://127.0.0.1:{engine.admin_port}"
    assert requests.get(base + "/healthz").status_code == 200
    assert requests.get(base + "/readyz").status_code == 200
    requests.get(
        f"http://127.0.0.1:{engine.port}/k?X-Amz-Signature=abc123&X-Amz-Security-Token=tok&a=1"
    )
    text = requests.get(base + "/metrics").text
    assert "# TYPE sigv4kit_requests_total counter" in text
    assert 'sigv4kit_requests_total{status="200"}' in text
    assert "sigv4kit_request_duration_seconds_bucket" in text
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert line.startswith("sigv4kit_"), line
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    entry: dict[str, Any] = lines[-1]
    assert entry["status"] == 200 and entry["method"] == "GET" and entry["note"] == "pass"
    assert "abc123" not in log.read_text() and "tok&" not in log.read_text()
    assert "X-Amz-Signature=REDACTED" in entry["target"]


async def _agen(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for c in chunks:
        yield c


def _wait_ready(admin: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{admin}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError("the engine never became ready")


def test_workers_share_port_and_sigterm_drains(upstream: Upstream) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("forward_app.py")), upstream.origin, "2"],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        _, port, admin = proc.stdout.readline().decode().split()
        _wait_ready(int(admin))
        base = f"http://127.0.0.1:{port}"
        for _ in range(20):
            assert requests.get(base + "/w", headers={"Connection": "close"}).status_code == 200
        # Counted by both workers, summed by the supervisor within a second.
        time.sleep(1.3)
        text = requests.get(f"http://127.0.0.1:{admin}/metrics").text
        assert 'sigv4kit_requests_total{status="200"} 20' in text
        result: dict[str, Any] = {}

        def slow() -> None:
            r = requests.get(base + "/slow?s=1.5")
            result["status"], result["text"] = r.status_code, r.text

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        t.join(10)
        assert result == {"status": 200, "text": "late"}
        assert proc.wait(15) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(base + "/after", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
