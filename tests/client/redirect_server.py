"""A verifying, redirecting, recording HTTP server on 127.0.0.1 for the redirect tests.

Every request is recorded (method, target, headers, raw body) before it is
answered, so a test can see exactly what each hop carried.  Routes:

* ``/same/<status>/<rest>``: ``<status>`` to ``/<rest>`` on this server (a
  relative ``Location``); ``/sameabs/...`` the same with an absolute one;
* ``/to/<port>/<status>/<rest>``: ``<status>`` to
  ``http://127.0.0.1:<port>/<rest>`` -- another origin;
* ``/cookie/<status>/<rest>``: like ``/same`` and sets a cookie;
* ``/loop``: 302 to itself, forever;
* ``/public/...``: answered 200 without any check (think of a presigned or
  public object on another host);
* anything else: 200 with a JSON echo if the signature holds, else the
  error's status and code.

Every request that carries ``Authorization`` is verified with
:class:`sigv4kit.verifier.Verifier` (header signatures and aws-chunked chunk
signatures), redirects included, and the record says whether it held.

The query string of a redirect route is carried over to the ``Location``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sigv4kit.errors import SignatureError, SigV4Error
from sigv4kit.verifier import Verifier

SIGNING_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


@dataclass
class Record:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    verified: bool = False
    decoded: bytes = b""
    error: str = ""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def has(self, name: str) -> bool:
        return self.header(name) is not None

    def ours(self) -> list[str]:
        """The signing / aws-chunked headers this request carried."""
        names = {n.lower() for n, _ in self.headers}
        found = [h for h in SIGNING_HEADERS if h in names]
        found += [h for h in ("x-amz-decoded-content-length", "x-amz-trailer") if h in names]
        if "aws-chunked" in (self.header("content-encoding") or ""):
            found.append("content-encoding: aws-chunked")
        return found


@dataclass
class Server:
    name: str
    base: str
    port: int
    records: list[Record] = field(default_factory=list)

    def clear(self) -> None:
        self.records.clear()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        parts = []
        while True:
            line = handler.rfile.readline()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _make_handler(server: Server, verifier: Verifier) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(
            self, status: int, doc: Any = None, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(doc).encode() if doc is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _answer(self) -> None:
            body = _read_body(self)
            record = Record(self.command, self.path, list(self.headers.items()), body)
            server.records.append(record)
            checked: Exception | None = None
            if record.has("authorization"):
                try:
                    ok = verifier.verify(self.command, self.path, record.headers, body)
                    record.decoded = ok.read()
                    record.verified = True
                except (SignatureError, SigV4Error) as exc:
                    checked = exc
                    record.error = getattr(exc, "code", type(exc).__name__)
            else:
                checked = SignatureError("no Authorization header")
                record.error = "AccessDenied"
            path, _, query = self.path.partition("?")
            suffix = "?" + query if query else ""
            parts = path.lstrip("/").split("/")
            if parts[0] in ("same", "sameabs", "cookie") and len(parts) >= 3:
                status = int(parts[1])
                location = "/" + "/".join(parts[2:]) + suffix
                if parts[0] == "sameabs":
                    location = server.base + location
                extra = {"Location": location}
                if parts[0] == "cookie":
                    extra["Set-Cookie"] = "hop=yes; Path=/"
                self._send(status, None, extra)
                return
            if parts[0] == "to" and len(parts) >= 4:
                location = f"http://127.0.0.1:{parts[1]}/" + "/".join(parts[3:]) + suffix
                self._send(int(parts[2]), None, {"Location": location})
                return
            if parts[0] == "loop":
                self._send(302, None, {"Location": "/loop"})
                return
            if parts[0] == "public":
                self._send(200, {"public": True, "method": self.command, "len": len(body)})
                return
            if checked is not None:
                self._send(getattr(checked, "status", 403), {"error": record.error})
                return
            self._send(
                200,
                {
                    "method": self.command,
                    "len": len(record.decoded),
                    "sha256": hashlib.sha256(record.decoded).hexdigest(),
                    "cookie": self.headers.get("Cookie"),
                },
            )

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(name: str, verifier: Verifier) -> Iterator[Server]:
    """A server on a free port of 127.0.0.1, stopped when the block ends."""
    holder = Server(name, "", 0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(holder, verifier))
    httpd.daemon_threads = True
    holder.port = httpd.server_address[1]
    holder.base = f"http://127.0.0.1:{holder.port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
