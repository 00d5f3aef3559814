"""Clock-skew correction against a non-S3 style service whose clock is 2 hours ahead.

The service verifies with sigv4kit's Verifier at *its* time and answers a
skewed request the way API Gateway and the JSON/query services do: 403 with
"Signature expired: ... is now earlier than ..." and its own ``Date``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sigv4kit.client._common import is_skew_error, server_time
from sigv4kit.errors import RequestTimeTooSkewed, SignatureError
from sigv4kit.verifier import Verifier

from .conftest import ACCESS_KEY, CREDS, REGION, SECRET_KEY, WRONG, Client

AHEAD = 7200.0


class _Service(BaseHTTPRequestHandler):
    verifier = Verifier(credentials={ACCESS_KEY: SECRET_KEY}, region=REGION, service="execute-api")
    attempts: list[str] = []  # noqa: RUF012 -- reset per test

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        now = time.time() + AHEAD
        type(self).attempts.append(self.headers.get("X-Amz-Date", ""))
        try:
            self.verifier.verify(
                self.command,
                self.path,
                list(self.headers.items()),
                body,
                now=datetime.fromtimestamp(now, timezone.utc),
            )
        except RequestTimeTooSkewed:
            status, doc = (
                403,
                {
                    "message": f"Signature expired: {self.headers.get('X-Amz-Date')} is now "
                    "earlier than the allowed window (- 5 min.)"
                },
            )
        except SignatureError as exc:
            status, doc = exc.status, {"message": exc.code}
        else:
            status, doc = 200, {"echo": body.decode()}
        data = json.dumps(doc).encode()
        self.send_response(status)  # its Date comes from date_time_string()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() + AHEAD, usegmt=True)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    _Service.attempts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_skew_learnt_from_date_and_kept(client_cls: type[Client], service: str) -> None:
    client = client_cls((CREDS,), {"region": REGION, "service": "execute-api"})
    first = client.send("POST", f"{service}/items?q=a%20b", body=b'{"n": 1}')
    assert first.status == 200, first.text()
    assert json.loads(first.body) == {"echo": '{"n": 1}'}
    assert len(_Service.attempts) == 2  # refused once, re-signed once
    assert abs(client.auth.core.clock_offset - AHEAD) < 5
    second = client.send("GET", f"{service}/items")
    assert second.status == 200
    assert len(_Service.attempts) == 3  # the offset is kept: no second refusal


def test_no_retry_without_skew(client_cls: type[Client], service: str) -> None:
    client = client_cls((WRONG,), {"region": REGION, "service": "execute-api"})
    client_ok = client_cls((CREDS,), {"region": REGION, "service": "execute-api"})
    client_ok.send("GET", f"{service}/warm")  # learns the offset
    client.send("GET", f"{service}/warm")
    _Service.attempts.clear()
    client.auth.core.clock_offset = client_ok.auth.core.clock_offset
    refused = client.send("GET", f"{service}/items")
    assert refused.status == 403 and b"SignatureDoesNotMatch" in refused.body
    assert len(_Service.attempts) == 1


def test_skew_correction_can_be_turned_off(client_cls: type[Client], service: str) -> None:
    kwargs = {"region": REGION, "service": "execute-api", "correct_clock_skew": False}
    client = client_cls((CREDS,), kwargs)
    refused = client.send("GET", f"{service}/items")
    assert refused.status == 403 and b"Signature expired" in refused.body
    assert len(_Service.attempts) == 1


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, b"<Error><Code>RequestTimeTooSkewed</Code></Error>", True),
        (403, b'{"message":"Signature not yet current: 20300101T000000Z is still later"}', True),
        (400, b"<Code>RequestExpired</Code>", True),
        (403, b"<Code>SignatureDoesNotMatch</Code>", False),
        (500, b"RequestTimeTooSkewed", False),
    ],
)
def test_is_skew_error(status: int, body: bytes, expected: bool) -> None:
    assert is_skew_error(status, body) is expected


def test_server_time_sources() -> None:
    assert (
        server_time("Tue, 24 Nov 2026 03:30:33 GMT")
        == datetime(2026, 11, 24, 3, 30, 33, tzinfo=timezone.utc).timestamp()
    )
    body = b"<Error><ServerTime>2026-11-24T03:30:33Z</ServerTime></Error>"
    assert server_time(None, body) == server_time("Tue, 24 Nov 2026 03:30:33 GMT")
    assert server_time("garbage", b"") is None
