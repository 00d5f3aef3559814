"""What SigV4Middleware costs a server: in-process and under a load generator.

Usage: python benchmarks/bench_middleware.py [--duration 3] [--rounds 3] [--connections 8]
                                             [--loadgen auto|wrk|python] [--json out.json]

Two measurements, each of a trivial application (it answers ``200 ok``)
with and without ``sigv4kit.server.asgi.SigV4Middleware`` in front:

1. **in-process**: the application called directly, ``await app(scope,
   receive, send)`` for a header-signed S3 GET (and the WSGI middleware the
   same way), best of several rounds: the middleware's own cost in µs, free
   of network noise;
2. **under load**: uvicorn (one process, h11) on 127.0.0.1 serving the app,
   driven by ``wrk`` (Debian package ``wrk``) or, if it is missing, a bounded
   Python keep-alive load generator, for ``--duration`` seconds per
   configuration.  Every request carries the same header-signed GET (signed
   once at start; a server accepts a replay within the 15-minute skew
   window, and the middleware verifies it in full every time).  A run with
   non-2xx answers is reported as a failure, so the numbers are for
   requests that really verified; a forged signature is checked to get 403
   first.  Both servers stay up and the runs alternate, best of ``--rounds``.

The machine is shared and noisy: compare the two rows of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sigv4kit import Credentials, Signer
from sigv4kit.server.asgi import SigV4Middleware
from sigv4kit.server.wsgi import SigV4Middleware as WSGIMiddleware
from sigv4kit.verifier import Verifier

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
PATH = "/examplebucket/photos/2024/test.txt"


def verifier() -> Verifier:
    return Verifier({AK: SK}, region="us-east-1", service="s3")


async def trivial(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def trivial_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def signed_headers(host: str) -> list[tuple[str, str]]:
    signed = Signer(Credentials(AK, SK), "us-east-1", "s3").sign(
        "GET", f"http://{host}{PATH}", headers={"Range": "bytes=0-9"}
    )
    return [(k, v) for k, v in signed.headers]


# --------------------------------------------------------------------------
# 1. in-process
# --------------------------------------------------------------------------
def in_process(rounds: int = 15, batch: int = 2000) -> dict[str, float]:
    headers = signed_headers("s3.test")
    scope = {
        "type": "http",
        "method": "GET",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("s3.test", 80),
    }
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: Any) -> None:
        pass

    wrapped = SigV4Middleware(trivial, verifier())

    async def loop(app: Any) -> float:
        best = float("inf")
        for _ in range(rounds):
            gc.disable()
            t0 = time.perf_counter()
            for _ in range(batch):
                await app(scope, receive, send)
            best = min(best, (time.perf_counter() - t0) / batch)
            gc.enable()
        return best * 1e6

    async def both() -> tuple[float, float]:
        return await loop(trivial), await loop(wrapped)

    bare_us, mw_us = asyncio.run(both())

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "REQUEST_URI": PATH,
        "SERVER_NAME": "s3.test",
        "SERVER_PORT": "80",
        "wsgi.input": None,
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers},
    }
    wsgi = WSGIMiddleware(trivial_wsgi, verifier())

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    def wloop(app: Callable[..., Any]) -> float:
        best = float("inf")
        for _ in range(rounds):
            gc.disable()
            t0 = time.perf_counter()
            for _ in range(batch):
                for _piece in app(dict(environ), start_response):
                    pass
            best = min(best, (time.perf_counter() - t0) / batch)
            gc.enable()
        return best * 1e6

    status: list[str] = []
    list(wsgi(dict(environ), lambda s, h, e=None: status.append(s)))
    assert status == ["200 OK"], status
    return {
        "asgi_bare_us": bare_us,
        "asgi_middleware_us": mw_us,
        "wsgi_bare_us": wloop(trivial_wsgi),
        "wsgi_middleware_us": wloop(wsgi),
    }


# --------------------------------------------------------------------------
# 2. under load
# --------------------------------------------------------------------------
def serve(kind: str) -> None:
    """Child process: uvicorn on a free 127.0.0.1 port; prints it; runs until stdin closes."""
    import uvicorn

    app = trivial if kind == "bare" else SigV4Middleware(trivial, verifier())
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say
    # so, and without it keep-alive answers wait on delayed ACKs (40 ms each).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    config = uvicorn.Config(
        app, lifespan="off", log_level="error", access_log=False, http="h11", ws="none"
    )
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    while not server.started:
        time.sleep(0.01)
    print(sock.getsockname()[1], flush=True)
    sys.stdin.read()
    server.should_exit = True
    t.join(10)


def run_wrk(
    port: int, headers: list[tuple[str, str]], duration: float, conns: int
) -> dict[str, Any]:
    seconds = max(1, round(duration))  # wrk takes whole seconds
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency"]
    for k, v in headers:
        if k.lower() != "host":
            cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{PATH}"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        assert m, out
        return float(m[1]) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m[2]]

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(bad[1]) if bad else 0,
        "socket_errors": errors[0] if errors else "",
    }


def run_python(
    port: int, headers: list[tuple[str, str]], duration: float, conns: int
) -> dict[str, Any]:
    """A bounded keep-alive load generator: ``conns`` threads for ``duration`` seconds."""
    hdrs = {k: v for k, v in headers if k.lower() != "host"}
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + duration

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        nbad = 0
        while (t0 := time.perf_counter()) < stop:
            conn.request("GET", PATH, headers=hdrs)
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t0)
            nbad += r.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            bad[0] += nbad

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
        "non_2xx": bad[0],
        "socket_errors": "",
    }


class Served:
    """One uvicorn child process serving the bare or the wrapped app."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.headers = signed_headers(f"127.0.0.1:{self.port}")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", PATH, headers={k: v for k, v in self.headers if k.lower() != "host"})
        assert c.getresponse().status == 200
        c.close()
        if kind == "sigv4":  # prove it verifies: a wrong signature is refused
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            forged = {k: v for k, v in self.headers if k.lower() != "host"}
            forged["Authorization"] = forged["Authorization"][:-4] + "0000"
            c.request("GET", PATH, headers=forged)
            assert c.getresponse().status == 403
            c.close()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def under_load(loadgen: str, duration: float, conns: int, rounds: int) -> dict[str, Any]:
    """Both servers up at once; runs alternate between them so noise hits both."""
    gen = run_wrk if loadgen == "wrk" else run_python
    servers = [Served("bare"), Served("sigv4")]
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "sigv4": []}
    try:
        for s in servers:
            gen(s.port, s.headers, 1.0, conns)  # warm-up
        for _ in range(rounds):
            for s in servers:
                r = gen(s.port, s.headers, duration, conns)
                if r["non_2xx"]:
                    raise SystemExit(f"{s.kind}: {r['non_2xx']} requests were not answered 200")
                runs[s.kind].append(r)
    finally:
        for s in servers:
            s.close()
    return {
        kind: max(rs, key=lambda r: r["rps"]) | {"all_rps": [r["rps"] for r in rs]}
        for kind, rs in runs.items()
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=3.0, help="seconds per load run")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3, help="alternating load runs per app")
    p.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--json", type=Path)
    p.add_argument("--serve", choices=["bare", "sigv4"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve)
        return
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"

    inproc = in_process()
    print(
        f"# SigV4Middleware overhead ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores)\n"
    )
    print("In-process, header-signed S3 GET, trivial app, best of 15 rounds:\n")
    print("| stack | bare app µs | with middleware µs | overhead µs |")
    print("|---|---|---|---|")
    for kind in ("asgi", "wsgi"):
        bare, mw = inproc[f"{kind}_bare_us"], inproc[f"{kind}_middleware_us"]
        print(f"| {kind.upper()} | {bare:.2f} | {mw:.2f} | {mw - bare:.2f} |")

    load = under_load(loadgen, args.duration, args.connections, args.rounds)
    print(
        f"\nUnder load: uvicorn (1 process, h11) on 127.0.0.1, {loadgen}, "
        f"{args.connections} connections, best of {args.rounds} alternating "
        f"{args.duration:g} s runs:\n"
    )
    print("| app | requests/s (best) | all runs | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for kind, label in (("bare", "trivial ASGI app"), ("sigv4", "+ SigV4Middleware")):
        r = load[kind]
        runs = ", ".join(f"{x:.0f}" for x in r["all_rps"])
        print(f"| {label} | {r['rps']:.0f} | {runs} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    ratio = load["sigv4"]["rps"] / load["bare"]["rps"]
    per_req_us = (1 / load["sigv4"]["rps"] - 1 / load["bare"]["rps"]) * 1e6
    print(
        f"\nthroughput with middleware: {ratio:.2f}x of bare "
        f"({per_req_us:.0f} µs more server time per request)"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"in_process": inproc, "load": load, "loadgen": loadgen}, indent=2)
        )


if __name__ == "__main__":
    main()
