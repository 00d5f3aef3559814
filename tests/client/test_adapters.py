"""The four adapters against SeaweedFS, which verifies every signature strictly.

Every test runs for requests, httpx (sync), httpx (async) and aiohttp.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigv4kit import Signer
from sigv4kit.errors import SigningError
from sigv4kit.providers import RefreshingProvider

from .conftest import CREDS, REGION, WRONG, Client, SeaweedFS

pytestmark = pytest.mark.interop

MODES = ["signed", "unsigned", "streaming", "streaming-trailer", "streaming-unsigned-trailer"]
BIG = 50 * 1024 * 1024

# Object keys full of reserved, sub-delim and non-ASCII characters.  SeaweedFS
# (like a filer) refuses keys with "//" or "/./", so those are left out.
KEYS = [
    "plain.txt",
    "space and+plus.txt",
    "libstdc++-docs.rpm",
    "reserved !$&'()*,;=:@ chars",
    "percent%41not-an-escape",
    "hash#and?question",
    "unicodé/日本語/ключ",
    "tilde~dash-under_dot.",
    "brackets[1]{2}|^`",
]


def _quoted(key: str) -> str:
    return urllib.parse.quote(key, safe="/")


def _client(cls: type[Client], **kwargs: object) -> Client:
    return cls((CREDS,), {"region": REGION, "service": "s3", **kwargs})


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("big") / "50MiB.bin"
    h = hashlib.sha256()
    with path.open("wb") as f:
        block = os.urandom(1 << 20)
        for i in range(BIG >> 20):
            piece = bytes([i]) + block[1:]
            h.update(piece)
            f.write(piece)
    return path, h.hexdigest()


@pytest.mark.parametrize("key", KEYS)
def test_put_get_list_tricky_keys(client_cls: type[Client], seaweedfs: SeaweedFS, key: str) -> None:
    client = _client(client_cls)
    key = f"{client.name}/{key}"
    body = f"content of {key}".encode()
    put = client.send("PUT", seaweedfs.url(_quoted(key)), body=body)
    assert put.status == 200, put.text()
    got = client.send("GET", seaweedfs.url(_quoted(key)))
    assert (got.status, got.body) == (200, body), got.text()
    # The key the server stored is exactly the key we meant: list it back
    # with a prefix that is itself full of reserved characters.
    query = urllib.parse.urlencode(
        {"list-type": "2", "prefix": key, "encoding-type": "url"}, quote_via=urllib.parse.quote
    )
    listing = client.send("GET", seaweedfs.url(query=query))
    assert listing.status == 200, listing.text()
    assert f"<Key>{urllib.parse.quote(key, safe='/')}</Key>" in listing.text() or (
        f"<Key>{urllib.parse.quote_plus(key, safe='/')}</Key>" in listing.text()
    ), listing.text()


def test_query_values_and_repeated_keys(client_cls: type[Client], seaweedfs: SeaweedFS) -> None:
    client = _client(client_cls)
    key = f"{client.name}/query-target.txt"
    assert client.send("PUT", seaweedfs.url(key), body=b"q").status == 200
    disposition = "attachment; filename=\"ü x+y=z&w.txt\"; a='b'"
    query = (
        "response-content-disposition="
        + urllib.parse.quote(disposition, safe="")
        + "&response-content-type=text%2Fplain%3B%20charset%3Dutf-8"
        + "&x-id=GetObject&z=2&a=3&a=1&a=&a=2&empty&sp=a%20b&plus=1%2B1&tilde=~x"
    )
    got = client.send("GET", seaweedfs.url(key, query))
    assert got.status == 200, got.text()
    assert got.body == b"q"
    headers = {k.lower(): v for k, v in got.headers.items()}
    # The server decoded our query exactly as we meant it.
    assert headers["content-type"] == "text/plain; charset=utf-8"
    raw = headers["content-disposition"]
    assert raw.encode("latin-1", "replace").decode("utf-8", "replace") == disposition or (
        raw == disposition
    )


def test_params_with_spaces_and_pluses(client_cls: type[Client], seaweedfs: SeaweedFS) -> None:
    """Query built by the client library itself (``params=``), not by us."""
    client = _client(client_cls)
    key = f"{client.name}/params a+b.txt"
    assert client.send("PUT", seaweedfs.url(_quoted(key)), body=b"p").status == 200
    listing = client.send(
        "GET", seaweedfs.url(), params={"list-type": "2", "prefix": f"{client.name}/params a+b"}
    )
    assert listing.status == 200, listing.text()
    assert "<KeyCount>1</KeyCount>" in listing.text()


def test_headers_signed_and_unsigned(client_cls: type[Client], seaweedfs: SeaweedFS) -> None:
    client = _client(client_cls)
    key = f"{client.name}/meta.txt"
    headers = {
        "x-amz-meta-note": "a   b    c",
        "x-amz-meta-unicode": "plain",
        "Content-Type": "text/x-sigv4kit",
        "User-Agent": "sigv4kit-test/1 (not signed)",
    }
    put = client.send("PUT", seaweedfs.url(key), body=b"m", headers=headers)
    assert put.status == 200, put.text()
    head = client.send("HEAD", seaweedfs.url(key))
    got = {k.lower(): v for k, v in head.headers.items()}
    assert got["x-amz-meta-note"].split() == ["a", "b", "c"]
    assert got["content-type"] == "text/x-sigv4kit"


@pytest.mark.parametrize("mode", MODES)
def test_put_50mib_file_bounded_memory(
    client_cls: type[Client], seaweedfs: SeaweedFS, big_file: tuple[Path, str], mode: str
) -> None:
    path, digest = big_file
    client = _client(client_cls, payload=mode)
    key = f"{client.name}/big-{mode}.bin"
    with path.open("rb") as f:
        body: object = f
        if client.is_async and client.name == "httpx-async":
            body = _file_chunks(f)  # httpx.AsyncClient takes async iterables, not files
        headers = {"X-Amz-Decoded-Content-Length": str(BIG)} if not hasattr(body, "read") else {}
        if mode == "signed" and not hasattr(body, "read"):
            # A one-shot async stream would have to be held whole to be hashed:
            # refused before a byte is read (payload="unsigned" or a streaming
            # mode upload it in bounded memory, as the other cases show).
            with pytest.raises(SigningError, match="one-shot"):
                client.send("PUT", seaweedfs.url(key), body=body, headers=headers)
            assert f.tell() == 0
            return
        tracemalloc.start()
        try:
            put = client.send("PUT", seaweedfs.url(key), body=body, headers=headers)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert put.status == 200, put.text()
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 50 MiB PUT"
    got = client.send("GET", seaweedfs.url(key), sha256=True)
    assert got.status == 200
    assert got.body.decode() == digest


def _file_chunks(f: object) -> Iterator[bytes]:
    while True:
        piece = f.read(1 << 16)  # type: ignore[attr-defined]
        if not piece:
            return
        yield piece


@pytest.mark.parametrize("mode", ["unsigned", "streaming", "streaming-trailer"])
def test_generator_uploads(client_cls: type[Client], seaweedfs: SeaweedFS, mode: str) -> None:
    data = os.urandom(300_000)
    client = _client(client_cls, payload=mode)
    key = f"{client.name}/gen-{mode}.bin"
    body = (data[i : i + 50_000] for i in range(0, len(data), 50_000))
    headers = {"X-Amz-Decoded-Content-Length": str(len(data))} if "streaming" in mode else {}
    put = client.send("PUT", seaweedfs.url(key), body=body, headers=headers)
    assert put.status == 200, put.text()
    assert client.send("GET", seaweedfs.url(key)).body == data


@pytest.mark.parametrize("mode", ["signed", "unsigned", "streaming", "streaming-unsigned-trailer"])
def test_wrong_secret_is_rejected(
    client_cls: type[Client], seaweedfs: SeaweedFS, mode: str
) -> None:
    client = client_cls((WRONG,), {"region": REGION, "service": "s3", "payload": mode})
    key = f"{client.name}/wrong-{mode}.txt"
    put = client.send("PUT", seaweedfs.url(key), body=b"x" * 100_000)
    if mode == "streaming-unsigned-trailer":
        # Only the seed signature protects this mode: still a header signature.
        assert put.status == 403
    else:
        assert put.status == 403
    assert "SignatureDoesNotMatch" in put.text()
    get = client.send("GET", seaweedfs.url("plain.txt"))
    assert get.status == 403 and "SignatureDoesNotMatch" in get.text()


@pytest.mark.parametrize("mode", ["signed", "streaming"])
def test_redirects_are_signed_for_their_target(
    client_cls: type[Client], seaweedfs: SeaweedFS, redirector: type, mode: str
) -> None:
    """A redirect to SeaweedFS on another origin: signed only when allow-listed."""
    base = redirector.base  # type: ignore[attr-defined]
    client = _client(client_cls, payload=mode, redirect_hosts=[seaweedfs.endpoint])
    key = f"{client.name}/redirected a+b {mode}.txt"
    put = client.send("PUT", f"{base}/{seaweedfs.bucket}/{_quoted(key)}", body=b"r" * 70_000)
    assert put.status == 200, put.text()
    assert put.history == 1
    redirector.status = 302
    got = client.send("GET", f"{base}/{seaweedfs.bucket}/{_quoted(key)}?x=1&x=0")
    assert got.status == 200, got.text()
    assert got.body == b"r" * 70_000
    assert got.history == 1
    assert len(redirector.seen) == 2  # type: ignore[attr-defined]
    # Not allow-listed: the hop reaches SeaweedFS unsigned, and it refuses it.
    plain = _client(client_cls, payload=mode)
    refused = plain.send("GET", f"{base}/{seaweedfs.bucket}/{_quoted(key)}")
    assert refused.status == 403 and "AccessDenied" in refused.text(), refused.text()
    assert refused.history == 1


@pytest.mark.parametrize("mode", ["signed", "streaming"])
def test_clock_skew_is_learnt_and_kept(
    client_cls: type[Client], seaweedfs: SeaweedFS, mode: str
) -> None:
    # A local clock one hour slow: SeaweedFS answers RequestTimeTooSkewed.
    plain = _client(client_cls, payload=mode, correct_clock_skew=False)
    plain.auth = None
    plain.send("GET", seaweedfs.url("warm-up"))  # builds plain.auth
    plain.auth.core.clock_offset = -3600.0
    failed = plain.send("PUT", seaweedfs.url(f"{plain.name}/skew.txt"), body=b"s" * 20_000)
    assert failed.status == 403 and "RequestTimeTooSkewed" in failed.text()

    client = _client(client_cls, payload=mode)
    client.send("GET", seaweedfs.url("warm-up"))
    client.auth.core.clock_offset = -3600.0
    put = client.send("PUT", seaweedfs.url(f"{client.name}/skew.txt"), body=b"s" * 20_000)
    assert put.status == 200, put.text()
    offset = client.auth.core.clock_offset
    assert abs(offset) < 5, offset  # learnt from the server's Date: our clock is right
    # Later requests use the learnt offset from the start.
    assert client.send("GET", seaweedfs.url(f"{client.name}/skew.txt")).body == b"s" * 20_000


def test_signer_and_refreshing_provider(client_cls: type[Client], seaweedfs: SeaweedFS) -> None:
    calls = []

    def fetch() -> object:
        calls.append(1)
        return CREDS

    provider = RefreshingProvider(fetch)  # type: ignore[arg-type]
    client = client_cls((Signer(provider, REGION, "s3"),), {})
    for i in range(3):
        key = f"{client.name}/provider-{i}.txt"
        assert client.send("PUT", seaweedfs.url(key), body=b"p").status == 200
    assert len(calls) == 1
