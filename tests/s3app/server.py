"""Run the test S3 application behind ``SigV4Middleware`` under uvicorn.

One process serves three listeners on 127.0.0.1, each on a free port and in
its own thread (uvicorn only captures signals in the main thread):

* ``http``  -- the normal server;
* ``https`` -- the same, over TLS with a self-signed certificate, because
  clients sign differently over TLS;
* ``skew``  -- the same storage, but its verifier's clock runs ``--skew``
  seconds ahead, so every request it gets looks like one replayed that much
  later and must be refused with ``RequestTimeTooSkewed``.

The ports are printed as one JSON line on stdout.  The process exits when
its standard input closes, so a test session that dies cannot leave it
running.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .app import S3App
from .recorder import Recorder


def build_stack(
    app: Any,
    *,
    access_key: str,
    secret_key: str,
    skew: float = 0.0,
    refuse_file: Path | None = None,
) -> Any:
    from sigv4kit.server.asgi import SigV4Middleware
    from sigv4kit.verifier import Verifier

    verifier = Verifier(credentials={access_key: secret_key}, region="us-east-1", service="s3")
    if not skew:
        stack = SigV4Middleware(app, verifier)
    else:
        ahead = timedelta(seconds=skew)
        stack = SigV4Middleware(app, verifier, clock=lambda: datetime.now(timezone.utc) + ahead)
    if refuse_file is not None:
        from .refuse import Refuser

        return Refuser(stack, refuse_file)
    return stack


def _listen() -> socket.socket:
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only then (no 40 ms delayed-ACK stalls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    p = argparse.ArgumentParser(prog="python -m s3app")
    p.add_argument("--root", required=True, type=Path)
    p.add_argument("--log", required=True, type=Path)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--cert", type=Path)
    p.add_argument("--key", type=Path)
    p.add_argument("--skew", type=float, default=1200.0)
    p.add_argument(
        "--refuse-file",
        type=Path,
        help="capabilities to refuse with 501 NotImplemented, one per line (read per request)",
    )
    args = p.parse_args(argv)

    s3 = S3App(args.root)
    log = args.log.open("a", encoding="utf-8")
    plans: list[tuple[str, Any, dict[str, Any]]] = [
        (
            "http",
            build_stack(
                s3,
                access_key=args.access_key,
                secret_key=args.secret_key,
                refuse_file=args.refuse_file,
            ),
            {},
        ),
        (
            "skew",
            build_stack(s3, access_key=args.access_key, secret_key=args.secret_key, skew=args.skew),
            {},
        ),
    ]
    if args.cert:
        tls = {"ssl_certfile": str(args.cert), "ssl_keyfile": str(args.key)}
        plans.append(
            ("https", build_stack(s3, access_key=args.access_key, secret_key=args.secret_key), tls)
        )
    servers: list[uvicorn.Server] = []
    threads: list[threading.Thread] = []
    ports: dict[str, int] = {}
    for name, stack, extra in plans:
        sock = _listen()
        ports[name] = sock.getsockname()[1]
        config = uvicorn.Config(
            Recorder(stack, log, name),
            lifespan="off",
            log_level="warning",
            access_log=False,
            http="h11",
            timeout_keep_alive=30,
            **extra,
        )
        server = uvicorn.Server(config)
        servers.append(server)
        t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        t.start()
        threads.append(t)
    for server in servers:
        while not server.started:
            threading.Event().wait(0.02)
    print(json.dumps(ports), flush=True)
    sys.stdin.read()  # until the test session closes our stdin
    for server in servers:
        server.should_exit = True
    for t in threads:
        t.join(10)
