"""Redirects through the four adapters, against two real servers on 127.0.0.1.

Server ``a`` verifies every signed request with sigv4kit's Verifier and
redirects within itself (same origin) or to server ``b`` (another port:
another origin); ``b`` records what it received.  The credentials carry a
session token, so a leak of ``X-Amz-Security-Token`` would show.

What must hold, for requests, httpx (sync and async) and aiohttp:

* every same-origin hop is signed again for its own URL and method, with
  the body again for 307/308 (bytes, a rewound file), none after a 303;
* a hop to another origin carries none of our headers, unless that origin
  is allow-listed, and nothing later in that chain is signed;
* a one-shot body is not sent twice: the adapter stops with a clear error;
* the client library's "do not follow" settings are honoured.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigv4kit import Credentials
from sigv4kit.client._common import RedirectNotFollowed, redirect_method
from sigv4kit.errors import SigningError
from sigv4kit.verifier import Verifier

from .conftest import ACCESS_KEY, CLIENTS, REGION, SECRET_KEY, Client
from .redirect_server import Record, Server, serve

TOKEN = "FQoGZXIvYXdzEXAMPLE-session-token//value+with/slashes="
CREDS = Credentials(ACCESS_KEY, SECRET_KEY, session_token=TOKEN)
MODES = ["signed", "unsigned", "streaming"]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    verifier = Verifier(credentials={ACCESS_KEY: SECRET_KEY}, region=REGION, service="s3")
    with serve("a", verifier) as a, serve("b", verifier) as b:
        yield a, b


@pytest.fixture
def ab(servers: tuple[Server, Server]) -> tuple[Server, Server]:
    for s in servers:
        s.clear()
    return servers


def _client(cls: type[Client], **kwargs: Any) -> Client:
    return cls((CREDS,), {"region": REGION, "service": "s3", **kwargs})


def _method_after(client: str, method: str, status: int) -> str:
    """The method of the next hop, as each client library decides it."""
    if client == "aiohttp":  # aiohttp turns only 303, and POST after 301/302, into GET
        if status == 303 and method != "HEAD":
            return "GET"
        return "GET" if status in (301, 302) and method == "POST" else method
    return redirect_method(method, status)


def _assert_clean(record: Record) -> None:
    assert record.ours() == [], f"{record.method} {record.target} carried {record.ours()}"
    assert TOKEN not in repr(record.headers)


# -- same origin ------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("mode", MODES)
def test_same_origin_hops_are_signed_again(
    client_cls: type[Client], ab: tuple[Server, Server], mode: str, status: int
) -> None:
    a, _ = ab
    client = _client(client_cls, payload=mode)
    data = os.urandom(70_000)
    target = "/obj%20a/b%2Bc/%E2%82%AC?x=1&y=a%20b&x=0"
    res = client.send("PUT", f"{a.base}/same/{status}{target}", body=data)
    assert res.status == 200, res.text()
    assert res.history == 1
    first, last = a.records
    assert first.verified and first.method == "PUT" and first.decoded == data
    method = _method_after(client.name, "PUT", status)
    assert last.verified, last.error
    assert (last.method, last.target) == (method, target)
    assert last.decoded == (data if method == "PUT" else b"")
    assert last.header("x-amz-security-token") == TOKEN
    assert json.loads(res.body)["len"] == len(last.decoded)


@pytest.mark.parametrize("mode", MODES)
def test_absolute_same_origin_location_and_get(
    client_cls: type[Client], ab: tuple[Server, Server], mode: str
) -> None:
    a, b = ab
    client = _client(client_cls, payload=mode)
    res = client.send("GET", f"{a.base}/sameabs/302/same/301/final?q=a%20b")
    assert res.status == 200, res.text()
    assert res.history == 2
    assert [r.target for r in a.records] == [
        "/sameabs/302/same/301/final?q=a%20b",
        "/same/301/final?q=a%20b",
        "/final?q=a%20b",
    ]
    assert all(r.verified for r in a.records)
    assert b.records == []


@pytest.mark.parametrize("status", [307, 303])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["requests", "httpx", "aiohttp"])  # AsyncClient takes no files
def test_file_body_is_rewound_for_each_hop(
    name: str, ab: tuple[Server, Server], tmp_path: Path, mode: str, status: int
) -> None:
    client_cls = CLIENTS[name]
    a, _ = ab
    data = os.urandom(200_000)
    path = tmp_path / "body.bin"
    path.write_bytes(b"HEADER" + data)
    client = _client(client_cls, payload=mode)
    with path.open("rb") as f:
        f.seek(6)  # the body starts where the file is positioned
        res = client.send("PUT", f"{a.base}/same/{status}/file.bin", body=f)
    assert res.status == 200, res.text()
    first, last = a.records
    assert first.verified and first.decoded == data
    assert last.verified, last.error
    assert last.decoded == (data if status == 307 else b"")


def _chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 25_000):
        yield data[i : i + 25_000]


@pytest.mark.parametrize("mode", ["unsigned", "streaming"])
def test_one_shot_body_is_not_sent_twice(
    client_cls: type[Client], ab: tuple[Server, Server], mode: str
) -> None:
    import aiohttp

    a, b = ab
    data = os.urandom(60_000)
    headers = {"X-Amz-Decoded-Content-Length": str(len(data))} if mode == "streaming" else {}
    client = _client(client_cls, payload=mode)
    expected: type[Exception] = RedirectNotFollowed
    if client.name == "aiohttp":
        expected = aiohttp.ClientPayloadError  # aiohttp's own check, before any hop
    with pytest.raises(expected, match="body"):
        client.send("PUT", f"{a.base}/same/307/x", body=_chunks(data), headers=headers)
    assert len(a.records) == 1 and a.records[0].decoded == data
    # A 303 drops the body: nothing to send twice, so it is followed.
    a.clear()
    res = client.send("PUT", f"{a.base}/same/303/x", body=_chunks(data), headers=headers)
    assert res.status == 200, res.text()
    assert [(r.method, r.verified) for r in a.records] == [("PUT", True), ("GET", True)]
    assert b.records == []


def test_redirect_not_followed_names_the_response(ab: tuple[Server, Server]) -> None:
    import requests

    from sigv4kit.client.requests import SigV4Auth

    a, _ = ab
    with pytest.raises(RedirectNotFollowed) as info:
        requests.put(
            f"{a.base}/same/308/x",
            data=_chunks(b"z" * 1000),
            auth=SigV4Auth(CREDS, REGION, "s3", payload="unsigned"),
            timeout=10,
        )
    assert info.value.location == f"{a.base}/x"
    assert info.value.response.status_code == 308
    assert isinstance(info.value, SigningError)


# -- other origins ----------------------------------------------------------------


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("mode", MODES)
def test_cross_origin_hop_carries_none_of_our_headers(
    client_cls: type[Client], ab: tuple[Server, Server], mode: str, status: int
) -> None:
    a, b = ab
    data = os.urandom(30_000)
    client = _client(client_cls, payload=mode)
    res = client.send(
        "PUT",
        f"{a.base}/to/{b.port}/{status}/public/obj",
        body=data,
        headers={"X-Amz-Meta-Mine": "kept", "Content-Type": "text/x-mine"},
    )
    assert res.status == 200, res.text()
    assert a.records[0].verified
    (hop,) = b.records
    _assert_clean(hop)
    assert hop.header("x-amz-meta-mine") == "kept"  # the caller's own headers travel
    assert hop.method == _method_after(client.name, "PUT", status)
    if hop.method == "PUT":
        assert hop.body == data  # the caller's body, not its aws-chunked encoding
        assert hop.header("content-type") == "text/x-mine"


@pytest.mark.parametrize(
    "allow",
    ["127.0.0.1", "origin", "callable"],
)
@pytest.mark.parametrize("mode", ["signed", "streaming"])
def test_allow_listed_origin_is_signed(
    client_cls: type[Client], ab: tuple[Server, Server], mode: str, allow: str
) -> None:
    a, b = ab
    seen: list[tuple[str, str]] = []

    def check(src: str, dst: str) -> bool:
        seen.append((src, dst))
        return dst.startswith(b.base + "/")

    hosts: Any = {"127.0.0.1": ["127.0.0.1"], "origin": [b.base], "callable": check}[allow]
    client = _client(client_cls, payload=mode, redirect_hosts=hosts)
    data = os.urandom(40_000)
    res = client.send("PUT", f"{a.base}/to/{b.port}/307/obj?v=1", body=data)
    assert res.status == 200, res.text()
    (hop,) = b.records
    assert hop.verified, hop.error
    assert hop.decoded == data and hop.header("x-amz-security-token") == TOKEN
    if allow == "callable":
        assert seen == [(f"{a.base}/to/{b.port}/307/obj?v=1", f"{b.base}/obj?v=1")]


def test_allow_list_names_origins_exactly(
    client_cls: type[Client], ab: tuple[Server, Server]
) -> None:
    a, b = ab
    client = _client(client_cls, redirect_hosts=["http://127.0.0.1:1", "*.127.0.0.1", "localhost"])
    res = client.send("GET", f"{a.base}/to/{b.port}/302/obj")
    assert res.status == 403  # b refuses the unsigned request
    (hop,) = b.records
    _assert_clean(hop)


def test_chain_stays_unsigned_after_leaving(
    client_cls: type[Client], ab: tuple[Server, Server]
) -> None:
    """a -> b (unsigned) -> back to a: b chose that last hop, so it is not signed."""
    a, b = ab
    client = _client(client_cls)
    res = client.send("GET", f"{a.base}/to/{b.port}/302/to/{a.port}/302/secret")
    assert res.status == 403, res.text()
    assert res.history == 2
    first, last = a.records
    assert first.verified
    assert last.target == "/secret"
    _assert_clean(last)
    _assert_clean(b.records[0])


def test_cookies_set_by_a_redirect_reach_the_next_hop(
    client_cls: type[Client], ab: tuple[Server, Server]
) -> None:
    a, _ = ab
    if client_cls.name == "aiohttp":
        # aiohttp's default cookie jar ignores cookies from IP addresses.
        import aiohttp

        from sigv4kit.client.aiohttp import SigV4Middleware

        async def go() -> int:
            jar = aiohttp.CookieJar(unsafe=True)
            mw = SigV4Middleware(CREDS, REGION, "s3")
            async with aiohttp.ClientSession(middlewares=(mw,), cookie_jar=jar) as s:
                async with s.get(f"{a.base}/cookie/302/landing") as r:
                    return r.status

        status = asyncio.run(go())
    else:
        status = _client(client_cls).send("GET", f"{a.base}/cookie/302/landing").status
    assert status == 200
    last = a.records[-1]
    assert last.verified and last.header("cookie") == "hop=yes"


def test_redirect_loop_stops(client_cls: type[Client], ab: tuple[Server, Server]) -> None:
    import aiohttp
    import httpx
    import requests

    errors = {
        "requests": requests.TooManyRedirects,
        "httpx": httpx.TooManyRedirects,
        "httpx-async": httpx.TooManyRedirects,
        "aiohttp": aiohttp.TooManyRedirects,
    }
    a, _ = ab
    with pytest.raises(errors[client_cls.name]):
        _client(client_cls).send("GET", f"{a.base}/loop")
    assert 5 < len(a.records) <= 31
    assert all(r.verified for r in a.records)


# -- the client library says "do not follow" --------------------------------------


def test_requests_allow_redirects_false(ab: tuple[Server, Server]) -> None:
    import requests

    from sigv4kit.client.requests import SigV4Auth

    a, b = ab
    auth = SigV4Auth(CREDS, REGION, "s3")
    with requests.Session() as s:
        r = s.put(f"{a.base}/to/{b.port}/307/x", data=b"d", auth=auth, allow_redirects=False)
        assert r.status_code == 307 and r.history == []
        assert r.next is not None
        assert not any(
            h.lower() in ("authorization", "x-amz-security-token") for h in r.next.headers
        )
        head = s.head(f"{a.base}/same/302/x", auth=auth)  # requests.head does not follow
        assert head.status_code == 302
        s.max_redirects = 2
        with pytest.raises(requests.TooManyRedirects):
            s.get(f"{a.base}/loop", auth=auth)
    assert len(a.records) == 1 + 1 + 3
    assert b.records == []


def test_requests_follow_setting_when_the_session_cannot_be_seen(
    ab: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom Session.send hides allow_redirects: the auth's own options decide."""
    import requests

    from sigv4kit.client import requests as adapter

    monkeypatch.setattr(adapter, "_calling_session", lambda: (None, None))
    a, _ = ab
    r = requests.get(f"{a.base}/cookie/307/x", auth=adapter.SigV4Auth(CREDS, REGION, "s3"))
    assert r.status_code == 200 and len(r.history) == 1
    assert a.records[-1].verified and a.records[-1].header("cookie") == "hop=yes"
    auth = adapter.SigV4Auth(CREDS, REGION, "s3", follow_redirects=False)
    r = requests.get(f"{a.base}/same/307/x", auth=auth, allow_redirects=False)
    assert r.status_code == 307
    auth = adapter.SigV4Auth(CREDS, REGION, "s3", max_redirects=3)
    with pytest.raises(requests.TooManyRedirects):
        requests.get(f"{a.base}/loop", auth=auth)


def test_requests_cookie_jar_fallback(
    ab: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the private PreparedRequest._cookies the session's jar is used."""
    import requests

    from sigv4kit.client.requests import SigV4Auth

    original = requests.PreparedRequest.copy

    def copy(self: requests.PreparedRequest) -> requests.PreparedRequest:
        p = original(self)
        del p._cookies  # type: ignore[attr-defined]
        return p

    monkeypatch.setattr(requests.PreparedRequest, "copy", copy)
    a, _ = ab
    with requests.Session() as s:
        r = s.get(f"{a.base}/cookie/302/landing", auth=SigV4Auth(CREDS, REGION, "s3"))
    assert r.status_code == 200, r.text
    assert a.records[-1].verified and a.records[-1].header("cookie") == "hop=yes"


def test_httpx_auth_returns_redirect_when_asked(ab: tuple[Server, Server]) -> None:
    import httpx

    from sigv4kit.client.httpx import SigV4Auth

    a, b = ab
    auth = SigV4Auth(CREDS, REGION, "s3", follow_redirects=False, payload="streaming")
    with httpx.Client(auth=auth) as c:
        r = c.put(f"{a.base}/to/{b.port}/307/x", content=b"d" * 100)
    assert r.status_code == 307 and a.records[0].verified
    nxt = r.next_request
    assert nxt is not None
    assert not [h for h in nxt.headers if h.lower().startswith("x-amz") or h == "authorization"]
    assert nxt.read() == b"d" * 100  # the caller's body, not aws-chunked
    assert b.records == []


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("mode", ["signed", "streaming"])
def test_httpx_follow_redirects_true_with_hooks(
    ab: tuple[Server, Server], is_async: bool, mode: str
) -> None:
    import httpx

    from sigv4kit.client.httpx import SigV4Auth

    a, b = ab
    data = os.urandom(50_000)
    auth = SigV4Auth(CREDS, REGION, "s3", payload=mode)

    def run_sync() -> list[httpx.Response]:
        with httpx.Client(auth=auth, follow_redirects=True, event_hooks=auth.event_hooks) as c:
            return [
                c.put(f"{a.base}/same/307/same/303/obj", content=data),
                c.put(f"{a.base}/to/{b.port}/308/public/o", content=data),
            ]

    async def run_async() -> list[httpx.Response]:
        hooks = auth.async_event_hooks
        async with httpx.AsyncClient(auth=auth, follow_redirects=True, event_hooks=hooks) as c:
            return [
                await c.put(f"{a.base}/same/307/same/303/obj", content=data),
                await c.put(f"{a.base}/to/{b.port}/308/public/o", content=data),
            ]

    same, cross = asyncio.run(run_async()) if is_async else run_sync()
    assert same.status_code == 200 and len(same.history) == 2
    assert [(r.method, r.verified, len(r.decoded)) for r in a.records[:3]] == [
        ("PUT", True, len(data)),
        ("PUT", True, len(data)),
        ("GET", True, 0),
    ]
    assert cross.status_code == 200 and a.records[3].verified
    (hop,) = b.records
    _assert_clean(hop)
    assert hop.body == data


@pytest.mark.parametrize("is_async", [False, True])
def test_httpx_follow_redirects_true_without_hooks_raises(
    ab: tuple[Server, Server], is_async: bool
) -> None:
    import httpx

    from sigv4kit.client.httpx import SigV4Auth

    a, _ = ab
    auth = SigV4Auth(CREDS, REGION, "s3")

    async def run_async() -> None:
        async with httpx.AsyncClient(auth=auth, follow_redirects=True) as c:
            await c.get(f"{a.base}/same/302/x")

    with pytest.raises(SigningError, match="follow_redirects=True"):
        if is_async:
            asyncio.run(run_async())
        else:
            with httpx.Client(auth=auth, follow_redirects=True) as c:
                c.get(f"{a.base}/same/302/x")
    # Without re-signing, the hop's old signature does not hold for its URL.
    assert [r.verified for r in a.records] == [True, False]
    # Without redirects the same client is fine.
    with httpx.Client(auth=auth, follow_redirects=True) as c:
        assert c.get(f"{a.base}/plain").status_code == 200


def test_aiohttp_allow_redirects_false_then_manual_follow(ab: tuple[Server, Server]) -> None:
    """A request the caller makes to a Location is theirs: signed, in the same task."""
    import aiohttp

    from sigv4kit.client.aiohttp import SigV4Middleware

    a, b = ab
    mw = SigV4Middleware(CREDS, REGION, "s3")

    async def go() -> tuple[int, int, int]:
        async with aiohttp.ClientSession(middlewares=(mw,)) as s:
            async with s.get(f"{a.base}/to/{b.port}/302/obj", allow_redirects=False) as r:
                location = r.headers["Location"]
                first = r.status
            async with s.get(location) as r2:
                second = r2.status
            async with s.head(f"{a.base}/same/302/x") as r3:  # head: no redirects by default
                third = r3.status
        return first, second, third

    assert asyncio.run(go()) == (302, 200, 302)
    assert b.records[0].verified


@pytest.mark.parametrize("mode", ["signed", "streaming"])
def test_aiohttp_without_private_attributes(
    ab: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Hops matched by URL (no ClientRequest._timer), bodies set through public API."""
    import aiohttp

    from sigv4kit.client import aiohttp as adapter

    monkeypatch.setattr(adapter, "_call_marker", lambda req: None)
    monkeypatch.setattr(adapter, "_PRIVATE_BODY", False)
    a, b = ab
    data = os.urandom(90_000)
    mw = adapter.SigV4Middleware(CREDS, REGION, "s3", payload=mode)

    async def go() -> list[int]:
        async with aiohttp.ClientSession(middlewares=(mw,)) as s:
            out = []
            for url in (f"{a.base}/same/307/obj", f"{a.base}/to/{b.port}/307/public/p"):
                async with s.put(url, data=data) as r:
                    out.append(r.status)
            return out

    assert asyncio.run(go()) == [200, 200]
    assert [(r.verified, r.decoded == data) for r in a.records] == [(True, True)] * 3
    (hop,) = b.records
    _assert_clean(hop)
    assert hop.body == data


# -- payload="signed" never buffers a one-shot body --------------------------------


def test_signed_one_shot_bodies_are_refused(ab: tuple[Server, Server], tmp_path: Path) -> None:
    import aiohttp
    import httpx
    import requests

    from sigv4kit.client.aiohttp import SigV4Middleware
    from sigv4kit.client.httpx import SigV4Auth as HttpxAuth
    from sigv4kit.client.requests import SigV4Auth

    a, _ = ab
    url = f"{a.base}/obj"
    pulled: list[int] = []

    def gen() -> Iterator[bytes]:
        pulled.append(1)
        yield b"x" * 1000

    async def agen() -> Any:
        pulled.append(1)
        yield b"x" * 1000

    def pipe() -> Any:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, b"piped")
        os.close(write_fd)
        return os.fdopen(read_fd, "rb")

    auth = SigV4Auth(CREDS, REGION, "s3")
    with pipe() as p:
        for body in (gen(), p):
            with pytest.raises(SigningError, match=r"one-shot|non-seekable"):
                requests.put(url, data=body, auth=auth, timeout=10)
        assert p.read() == b"piped"  # nobody consumed it
    hauth = HttpxAuth(CREDS, REGION, "s3")
    with httpx.Client(auth=hauth) as c, pipe() as p:
        for body in (gen(), p):
            with pytest.raises(SigningError, match="one-shot"):
                c.put(url, content=body)
        assert p.read() == b"piped"

    async def async_clients() -> None:
        async with httpx.AsyncClient(auth=hauth) as c:
            with pytest.raises(SigningError, match="one-shot"):
                await c.put(url, content=agen())
        mw = SigV4Middleware(CREDS, REGION, "s3")
        async with aiohttp.ClientSession(middlewares=(mw,)) as s:
            for body in (agen(), pipe()):
                with pytest.raises(SigningError, match="one-shot"):
                    await s.put(url, data=body)

    asyncio.run(async_clients())
    assert pulled == []  # no generator was started
    assert a.records == []  # nothing was sent


def test_httpx_without_private_stream_attribute(
    ab: tuple[Server, Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx without IteratorByteStream._stream: bodies are read into memory, still right."""
    import httpx

    from sigv4kit.client import httpx as adapter

    monkeypatch.setattr(adapter, "_inner", lambda stream: (False, None))
    a, _ = ab
    data = os.urandom(30_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    # signed: read into memory (so a 307 can send it again); streaming: one-shot.
    for mode, route in (("signed", "/same/307/f"), ("streaming", "/f")):
        auth = adapter.SigV4Auth(CREDS, REGION, "s3", payload=mode)
        with httpx.Client(auth=auth) as c, path.open("rb") as f:
            r = c.put(f"{a.base}{route}", content=f)
            assert r.status_code == 200, r.text
    assert [(r.verified, r.decoded == data) for r in a.records] == [(True, True)] * 3
