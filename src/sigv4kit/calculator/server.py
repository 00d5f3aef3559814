"""A tiny stdlib HTTP server for the calculator, on 127.0.0.1 only.

Three defences keep the secret on this machine and out of other hands:

* it listens on the loopback interface only;
* the JSON endpoint wants a random per-run token that only the served page
  knows, and a ``Host`` of 127.0.0.1/localhost, so another web page in the
  same browser (cross-site requests, DNS rebinding) cannot drive it;
* it logs nothing (``log_message`` is silenced) and writes nothing to disk;
  request bodies live in memory for one computation.
"""

from __future__ import annotations

import json
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from ._compute import compute

__all__ = ["CalculatorServer", "serve"]

MAX_BODY = 1 << 20
_LOOPBACK = "127.0.0.1"


def _page(token: str) -> bytes:
    html = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
    return html.replace("__SIGV4KIT_TOKEN__", token).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: CalculatorServer
    server_version = "sigv4kit-calculator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: a request line or body could carry a secret."""

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").lower()
        port = self.server.server_address[1]
        return host in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'",
        )
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if not self._host_ok():
            self._send(HTTPStatus.FORBIDDEN, b"forbidden host\n", "text/plain")
            return
        if self.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        elif self.path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def do_POST(self) -> None:
        if not self._host_ok() or self.path != "/api/compute":
            self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain")
            return
        token = self.headers.get("X-Calculator-Token") or ""
        if not secrets.compare_digest(token.encode(), self.server.token.encode()):
            self._send(HTTPStatus.FORBIDDEN, b"bad token\n", "text/plain")
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"json only\n", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"bad length\n", "text/plain")
            return
        try:
            form = json.loads(self.rfile.read(length))
        except ValueError:
            form = None
        if not isinstance(form, dict):
            self._send(HTTPStatus.BAD_REQUEST, b"expected a JSON object\n", "text/plain")
            return
        try:
            result = compute(form)
        except Exception as exc:
            result = {
                "ok": False,
                "errors": [{"field": "general", "message": f"{type(exc).__name__}: {exc}"}],
            }
        body = json.dumps(result).encode("utf-8")
        self._send(HTTPStatus.OK, body, "application/json")


class CalculatorServer(ThreadingHTTPServer):
    """The calculator on a free (or given) port of 127.0.0.1."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__((_LOOPBACK, port), _Handler)
        self.token = secrets.token_urlsafe(24)
        self.page = _page(self.token)

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.server_address[1]}/"

    def start(self) -> threading.Thread:
        """Serve in a daemon thread (for tests and embedding)."""
        t = threading.Thread(target=self.serve_forever, name="sigv4kit-calculator", daemon=True)
        t.start()
        return t


def serve(port: int = 0, *, open_browser: bool = True, announce: Any = print) -> None:
    """Run until interrupted; print the URL and open it unless told not to."""
    server = CalculatorServer(port)
    announce(f"sigv4kit calculator: {server.url}  (Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        threading.Timer(0.2, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
