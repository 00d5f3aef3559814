"""The ASGI middleware under load: uvicorn on 127.0.0.1 and wrk.

The server runs in its own process (one uvicorn worker) with an application
that reads the whole body and answers ``200`` with the request path.  wrk
(one thread, 16 connections) cycles through a fixed mix of pre-signed
requests, half valid and half not (wrong signature, changed body, unsigned
``x-amz-*`` header, stale date, malformed ``Authorization``, no signature,
an expired presigned URL), over header signing, presigned URLs, signed and
unsigned payloads and aws-chunked uploads.  Each path says what the verdict
must be (``/ok/...`` or ``/bad/...``); the answer carries the path back (the
application's body, or ``<Resource>`` of S3's error document), so wrk's Lua
checks every single response: zero wrong verdicts allowed.

Memory: the server's RSS after a warm-up run and after the measured run
must not grow.  Throughput is printed next to the same application without
the middleware.  The whole test stays under ~20 s (longer with
``HARDENING_PROFILE=release``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fuzz.common import AKID, NOW, RELEASE, SECRET, signer

SERVER = r"""
import sys, asyncio, socket
from datetime import datetime, timezone
import uvicorn
from sigv4kit.server.asgi import SigV4Middleware
from sigv4kit.verifier import Verifier

mode = sys.argv[1]
NOW = datetime(2013, 5, 24, tzinfo=timezone.utc)

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while True:
        m = await receive()
        if not m.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": scope["raw_path"]})

if mode == "mw":
    app = SigV4Middleware(app, Verifier({sys.argv[2]: sys.argv[3]}, "us-east-1", "s3"),
                          clock=lambda: NOW)
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                        http="h11", ws="none", timeout_keep_alive=30)
uvicorn.Server(config).run(sockets=[sock])
"""

LUA = r"""
local reqs = {%REQUESTS%}
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0; good = 0; bad = 0; unknown = 0; first_wrong = ""
end

function request()
  counter = counter + 1
  return reqs[(counter %% #reqs) + 1]
end

function response(status, headers, body)
  if string.find(body, "/ok/", 1, true) then
    if status == 200 then good = good + 1 else
      wrong = wrong + 1
      if first_wrong == "" then first_wrong = status .. " " .. string.sub(body, 1, 300) end
    end
  elseif string.find(body, "/bad/", 1, true) then
    if status >= 400 and status < 500 then bad = bad + 1 else
      wrong = wrong + 1
      if first_wrong == "" then first_wrong = status .. " " .. string.sub(body, 1, 300) end
    end
  else
    unknown = unknown + 1
    if first_wrong == "" then first_wrong = status .. " " .. string.sub(body, 1, 300) end
  end
end

function done(summary, latency, requests)
  local w, g, b, u, fw = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    w = w + t:get("wrong"); g = g + t:get("good"); b = b + t:get("bad")
    u = u + t:get("unknown")
    if fw == "" then fw = t:get("first_wrong") end
  end
  io.write(string.format("RESULT %d %d %d %d %d\n", w, g, b, u, summary.requests))
  io.write("FIRST " .. fw .. "\n")
end
"""


def _lua_str(data: str | bytes) -> str:
    raw = data.encode("latin-1") if isinstance(data, str) else data
    return '"' + "".join(f"\\{b:03d}" for b in raw) + '"'


def _wrk_request(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> str:
    table = ", ".join(f"[{_lua_str(n)}] = {_lua_str(v)}" for n, v in headers)
    b = _lua_str(body) if body else "nil"
    return f"wrk.format({_lua_str(method)}, {_lua_str(path)}, {{{table}}}, {b})"


def request_mix(port: int) -> list[tuple[str, str, list[tuple[str, str]], bytes]]:
    host = f"127.0.0.1:{port}"
    out: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
    plain = signer()
    streaming = signer(payload="streaming", chunk_size=8192)
    for i in range(40):
        body = bytes([i]) * (100 + i * 37)
        # Valid: header-signed GET and PUT, unsigned payload, presigned, aws-chunked.
        s = plain.sign("GET", f"http://{host}/ok/get/{i}", timestamp=NOW)
        out.append(("GET", s.url.split(host, 1)[1], list(s.headers), b""))
        s = plain.sign("PUT", f"http://{host}/ok/put/{i}", body=body, timestamp=NOW)
        out.append(("PUT", s.url.split(host, 1)[1], list(s.headers), body))
        s = plain.sign(
            "PUT", f"http://{host}/ok/unsigned/{i}", body=body, timestamp=NOW, payload="unsigned"
        )
        out.append(("PUT", s.url.split(host, 1)[1], list(s.headers), body))
        url = plain.presign("GET", f"http://{host}/ok/presigned/{i}", expires=3600, timestamp=NOW)
        out.append(("GET", url.split(host, 1)[1], [], b""))
        data = bytes([i]) * 9000
        s = streaming.sign("PUT", f"http://{host}/ok/chunked/{i}", body=data, timestamp=NOW)
        enc = b"".join(s.body)
        out.append(
            (
                "PUT",
                s.url.split(host, 1)[1],
                [(n, v) for n, v in s.headers if n.lower() != "content-length"],
                enc,
            )
        )
        # Invalid, each its own way.
        s = plain.sign("GET", f"http://{host}/bad/sig/{i}", timestamp=NOW)
        h = [
            (n, v[:-1] + ("0" if v[-1] != "0" else "1") if n == "Authorization" else v)
            for n, v in s.headers
        ]
        out.append(("GET", s.url.split(host, 1)[1], h, b""))
        s = plain.sign("PUT", f"http://{host}/bad/body/{i}", body=body, timestamp=NOW)
        out.append(
            ("PUT", s.url.split(host, 1)[1], list(s.headers), body[:-1] + bytes([body[-1] ^ 1]))
        )
        s = plain.sign("GET", f"http://{host}/bad/unsigned-amz/{i}", timestamp=NOW)
        out.append(("GET", s.url.split(host, 1)[1], [*s.headers, ("x-amz-meta-x", "1")], b""))
        s = plain.sign("GET", f"http://{host}/bad/stale/{i}", timestamp="20130523T230000Z")
        out.append(("GET", s.url.split(host, 1)[1], list(s.headers), b""))
        out.append(
            (
                "GET",
                f"/bad/malformed/{i}",
                [
                    ("Authorization", "AWS4-HMAC-SHA256 Credential=x"),
                    ("X-Amz-Date", "20130524T000000Z"),
                ],
                b"",
            )
        )
        out.append(("GET", f"/bad/anonymous/{i}", [], b""))
        url = plain.presign(
            "GET", f"http://{host}/bad/expired/{i}", expires=60, timestamp="20130523T000000Z"
        )
        out.append(("GET", url.split(host, 1)[1], [], b""))
        s2 = streaming.sign("PUT", f"http://{host}/bad/chunked/{i}", body=data, timestamp=NOW)
        enc2 = bytearray(b"".join(s2.body))
        enc2[len(enc2) // 2] ^= 1
        out.append(
            (
                "PUT",
                s2.url.split(host, 1)[1],
                [(n, v) for n, v in s2.headers if n.lower() != "content-length"],
                bytes(enc2),
            )
        )
    # Exactly one "Host" (wrk.format adds its own only when there is none).
    return [
        (m, p, [("Host", host), *((n, v) for n, v in h if n.lower() != "host")], b)
        for m, p, h, b in out
    ]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Server:
    def __init__(self, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, mode, AKID, SECRET],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=10)  # recorded for the secrets guard
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture
def wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        pytest.fail("wrk is not installed (tests/deps/apt/hardening.txt lists it)")
    return path


def run_wrk(wrk: str, port: int, script: Path, seconds: int) -> tuple[dict[str, Any], str]:
    out = subprocess.run(
        [
            wrk,
            "-t1",
            "-c16",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    assert out.returncode == 0, out.stderr
    m = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$", out.stdout, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    errors = re.search(r"Socket errors: (.*)$", out.stdout, re.M)
    assert m is not None and rps is not None, out.stdout
    wrong, good, bad, unknown, total = map(int, m.groups())
    first = re.search(r"^FIRST (.*)$", out.stdout, re.M)
    return {
        "wrong": wrong,
        "good": good,
        "bad": bad,
        "unknown": unknown,
        "total": total,
        "rps": float(rps.group(1)),
        "socket_errors": errors.group(1) if errors else "",
        "first_wrong": first.group(1) if first else "",
    }, out.stdout


@pytest.fixture
def servers() -> Iterator[dict[str, Server]]:
    made: dict[str, Server] = {}
    try:
        made["mw"] = Server("mw")
        made["plain"] = Server("plain")
        yield made
    finally:
        for s in made.values():
            err = s.stop()
            assert "Traceback" not in err, err[-3000:]


def test_middleware_under_load(wrk: str, servers: dict[str, Server], tmp_path: Path) -> None:
    mw, plain = servers["mw"], servers["plain"]
    mix = request_mix(mw.port)
    script = tmp_path / "mix.lua"
    script.write_text(
        LUA.replace(
            "%REQUESTS%", ",\n".join(_wrk_request(m, p, h, b) for m, p, h, b in mix)
        ).replace("%%", "%")
    )

    warm, measured = (2, 6) if not RELEASE else (10, 60)
    first, _ = run_wrk(wrk, mw.port, script, warm)
    rss_warm = _rss_kb(mw.proc.pid)
    result, log = run_wrk(wrk, mw.port, script, measured)
    rss_end = _rss_kb(mw.proc.pid)
    base, _ = run_wrk(wrk, plain.port, script, measured // 2)
    print(log)
    print(
        json.dumps(
            {
                "middleware_rps": result["rps"],
                "plain_rps": base["rps"],
                "ratio": round(result["rps"] / base["rps"], 3),
                "requests_checked": result["good"] + result["bad"],
                "wrong": result["wrong"],
                "rss_warm_kb": rss_warm,
                "rss_end_kb": rss_end,
            }
        )
    )
    for r in (first, result):
        assert r["wrong"] == 0 and r["unknown"] == 0, r["first_wrong"]
        assert r["good"] > 0 and r["bad"] > 0
    assert result["good"] + result["bad"] >= 1000, result
    # The plain app answers 200 to everything: its "/bad/" answers count as
    # wrong there, which shows the check has teeth.
    assert base["wrong"] > 0 and base["good"] > 0
    growth = rss_end - rss_warm
    assert growth < 8 * 1024, f"server RSS grew {growth} KiB over {result['total']} requests"


def test_load_mix_is_what_the_checker_expects() -> None:
    """The request mix, verified in-process: every /ok/ verifies, every /bad/ fails."""
    from sigv4kit.errors import SignatureError
    from sigv4kit.verifier import Verifier

    v = Verifier({AKID: SECRET}, "us-east-1", "s3")
    for method, path, headers, body in request_mix(8080):
        try:
            ok = v.verify(method, path, headers, [body] if body else b"", now=NOW)
            ok.read()
            accepted = True
        except SignatureError:
            accepted = False
        assert accepted is path.startswith("/ok/"), path


@pytest.fixture(autouse=True)
def _no_proxy() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in ("http_proxy", "HTTP_PROXY") if k in os.environ}
    yield
    os.environ.update(saved)
