"""The four adapters against sigv4kit's own test S3 application (tests/s3app).

The same application the real-client interop tests use: uvicorn on
127.0.0.1, sigv4kit's ASGI middleware in front, and a request log recording
how each request was signed.  Together with the SeaweedFS tests this shows
each adapter against two strict verifiers, one of them not ours.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CREDS, REGION, WRONG, Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from s3harness import S3Server, start_s3app, stop_s3app

pytestmark = pytest.mark.interop

# What each payload mode must put in x-amz-content-sha256 on the wire.
MODES = {
    "signed": None,  # a SHA-256 hex digest
    "unsigned": "UNSIGNED-PAYLOAD",
    "streaming": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "streaming-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "streaming-unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
}
KEY = "dir/space and+plus é ~!$&'()*,;=:@.bin"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_s3app(tmp_path_factory.mktemp("s3app-adapters"))
    try:
        yield server
    finally:
        stop_s3app(server)


def _bucket(app: S3Server, client: Client) -> str:
    name = f"adapters-{client.name.replace('_', '-')}"
    r = client.send("PUT", f"{app.http}/{name}")
    assert r.status in (200, 409), r.text()
    return name


def _client(cls: type[Client], creds: object = CREDS, **kwargs: object) -> Client:
    return cls((creds,), {"region": REGION, "service": "s3", **kwargs})


@pytest.mark.parametrize("mode", sorted(MODES))
def test_put_get_each_payload_mode(
    client_cls: type[Client], app: S3Server, mode: str, tmp_path: Path
) -> None:
    client = _client(client_cls, payload=mode)
    bucket = _bucket(app, client)
    data = os.urandom(300_000)
    path = tmp_path / "body.bin"
    path.write_bytes(data)
    url = f"{app.http}/{bucket}/{urllib.parse.quote(KEY, safe='/')}-{mode}"
    mark = app.mark()
    with path.open("rb") as f:
        # httpx's AsyncClient takes no sync file objects (httpx's rule); bytes there.
        body = data if client.name == "httpx-async" and mode in ("signed", "unsigned") else f
        r = client.send("PUT", url, body=body)
    assert r.status == 200, r.text()
    put = app.logged(mark, "PUT", path=urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    assert put and put[-1]["status"] == 200
    sha = put[-1].get("x-amz-content-sha256")
    if MODES[mode] is None:
        assert sha == hashlib.sha256(data).hexdigest()
    else:
        assert sha == MODES[mode]
    got = _client(client_cls).send("GET", url)
    assert got.status == 200 and got.body == data


def test_list_with_query_and_wrong_secret(client_cls: type[Client], app: S3Server) -> None:
    client = _client(client_cls)
    bucket = _bucket(app, client)
    for i in range(3):
        assert client.send("PUT", f"{app.http}/{bucket}/list/é {i}", body=b"x").status == 200
    r = client.send(
        "GET",
        f"{app.http}/{bucket}",
        params={"list-type": "2", "prefix": "list/é ", "max-keys": "2"},
    )
    assert r.status == 200, r.text()
    assert r.text().count("<Key>") == 2
    bad = _client(client_cls, WRONG).send("GET", f"{app.http}/{bucket}/list/é 0")
    assert bad.status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in bad.text()


def test_replayed_outside_the_window_is_refused(client_cls: type[Client], app: S3Server) -> None:
    # The skew listener's clock runs 20 minutes ahead; with skew correction off
    # the request is a replay outside S3's window.
    client = _client(client_cls, correct_clock_skew=False)
    r = client.send("GET", f"{app.skew}/")
    assert r.status == 403
    assert "<Code>RequestTimeTooSkewed</Code>" in r.text()


def test_clock_skew_is_corrected(client_cls: type[Client], app: S3Server) -> None:
    client = _client(client_cls)
    r = client.send("GET", f"{app.skew}/")
    assert r.status == 200, r.text()
