"""The gateway's plain road (a verified request without a body, nothing to await).

``GatewayService.handle`` builds such a request's upstream request itself:
the kept headers picked by one memoized ``itemgetter`` per sequence of
names, the identity headers and Host from a memo per key record, the
policy flag from the same memo, the key read from the cache's entries
inline.  It must give exactly what the general decision (``_decide`` and
``_outgoing``, every other request's road) gives for the same request:
these tests build many varied requests and compare the two.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from sigv4kit import Credentials, Signer
from sigv4kit.forward import Incoming, Outgoing, Reply
from sigv4kit.forward._metrics import Metrics
from sigv4kit.gateway import rewrite
from sigv4kit.gateway.rewrite import header_picker, identity_headers, plain_headers
from sigv4kit.gateway.service import GatewayOptions, GatewayService
from sigv4kit.keystore import KeyCache, KeyPolicy, KeyRecord, open_store
from sigv4kit.verify.fast import fast_verify

REGION = "us-east-1"
UPSTREAM = "http://127.0.0.1:9"

# Names as clients spell them: dropped ones (hop-by-hop, credentials, Host,
# Expect, the gateway's own), kept ones, and Connection in several cases.
_DROPPED = [
    "Host",
    "host",
    "Authorization",
    "X-Amz-Security-Token",
    "Expect",
    "Keep-Alive",
    "TE",
    "Upgrade",
    "Proxy-Authorization",
    "Trailer",
    "X-Sigv4kit-Principal",
    "x-sigv4kit-access-key-id",
    "X-SIGV4KIT-Other",
]
_KEPT = [
    "Range",
    "Content-Type",
    "X-Amz-Date",
    "x-amz-content-sha256",
    "Content-Encoding",
    "Content-Length",
    "X-Amz-Decoded-Content-Length",
    "If-None-Match",
    "x-custom-1",
    "X-Custom-2",
    "X-Amz-Meta-Colour",
]
_CONNECTION = ["Connection", "connection", "CONNECTION"]


def _random_headers(rng: random.Random) -> list[tuple[str, str]]:
    pool = _DROPPED + _KEPT + (_CONNECTION if rng.random() < 0.3 else [])
    names = rng.sample(pool, rng.randint(0, min(len(pool), 12)))
    out = []
    for name in names:
        if name.lower() == "connection":
            value = rng.choice(["keep-alive", "close", "X-Custom-2, Range", "x-custom-1"])
        else:
            value = f"v{rng.randint(0, 999)}"
        out.append((name, value))
    return out


def test_picker_keeps_what_plain_headers_keeps() -> None:
    rng = random.Random(14)
    identity = identity_headers("AKID", "équipe")
    seen_false = seen_pick = 0
    for _ in range(3000):
        headers = _random_headers(rng)
        names = tuple(n for n, _ in headers)
        expected = plain_headers(list(headers), identity)
        for _ in range(2):  # computed, then from the memo
            pick = rewrite.pickers.get(names)
            if pick is None:
                pick = header_picker(names)
            if any(n.lower() == "connection" for n in names):
                assert pick is False  # its value decides: never memoized as a picker
                seen_false += 1
                continue
            assert pick is not False and pick is not True
            got = [*pick(headers), *identity]
            assert got == expected
            # the kept pairs are the received tuples themselves
            assert all(any(g is h for h in headers) for g in got[:-2])
            seen_pick += 1
    assert seen_false > 100 and seen_pick > 1000


def test_picker_memo_is_bounded_by_what_it_holds() -> None:
    identity = identity_headers("A", "a")
    long_names = tuple(f"X-Long-{i}-" + "n" * 100 for i in range(30))  # > 2 KiB of names
    headers = [(n, "v") for n in long_names]
    pick = header_picker(long_names)
    assert pick is not False and pick is not True
    assert [*pick(headers), *identity] == plain_headers(headers, identity)
    assert long_names not in rewrite.pickers  # correct, not remembered
    many = tuple(f"X-N{i}" for i in range(65))  # more names than it remembers
    header_picker(many)
    assert many not in rewrite.pickers
    assert len(rewrite.pickers) <= rewrite.pickers.limit


class _Gateway:
    """A GatewayService over a memory store's KeyCache, driven without a server."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.store: Any = loop.run_until_complete(open_store("memory://", master_key="44" * 32))
        self.cache = KeyCache(self.store, ttl=60)
        loop.run_until_complete(self.cache.start())
        self.service = GatewayService(GatewayOptions(upstream=UPSTREAM, region=REGION), self.cache)
        self.metrics = Metrics()

    def incoming(self, method: str, target: str, headers: list[tuple[str, str]]) -> Incoming:
        inc = Incoming(method, target, list(headers), None, None, "127.0.0.1", "http")
        inc.state["metrics"] = self.metrics
        return inc

    def handle(self, inc: Incoming) -> Outgoing | Reply:
        return self.loop.run_until_complete(self.service.handle(inc))

    def general(self, inc: Incoming, request_id: str) -> Outgoing | Reply:
        """The same request through ``_decide`` (the road of every other request)."""
        gw = self.service
        gw._hit = None
        ok = fast_verify(gw._fast, (inc.method, inc.target, inc.headers, b"", None))
        if ok is None:  # parameters not memoized yet: the general verifier
            ok = gw._fast.verify(inc.method, inc.target, inc.headers, b"", None)
        assert gw._hit is not None
        return self.loop.run_until_complete(gw._decide(inc, request_id, ok, gw._hit, False))

    def close(self) -> None:
        self.loop.run_until_complete(self.cache.close())
        self.loop.run_until_complete(self.store.close())


def _signed(
    rng: random.Random, akid: str, secret: str, i: int
) -> tuple[str, str, list[tuple[str, str]]]:
    signer = Signer(Credentials(akid, secret), REGION, "s3")
    path = rng.choice(["/photos/", "/docs/", "/photos/sub/"]) + f"k{i}"
    query = rng.choice(["", "?versionId=3", "?a=1&b=2"])
    method = rng.choice(["GET", "GET", "HEAD", "DELETE", "PUT"])
    extra = {}
    for name in rng.sample(_KEPT[:2] + _KEPT[7:] + ["Expect", "X-Sigv4kit-Principal"], 3):
        extra[rng.choice([name, name.lower(), name.upper()])] = f"x{rng.randint(0, 9)}"
    url = f"http://gw.test:8080{path}{query}"
    if rng.random() < 0.25:  # presigned
        target = signer.presign(method, url, extra, expires=300).split("gw.test:8080", 1)[1]
        headers = [("Host", "gw.test:8080"), *extra.items()]
    else:
        signed = signer.sign(method, url, headers=extra)
        target = path + query
        headers = [(n, v) for n, v in signed.headers]
    if rng.random() < 0.2:  # unsigned, hop-by-hop, named by Connection
        headers.append((rng.choice(_CONNECTION), rng.choice(["keep-alive", "x-hop-only"])))
        headers.append(("X-Hop-Only", "hop"))
    rng.shuffle(headers)
    return method, target, headers


def _same(a: Outgoing | Reply, b: Outgoing | Reply) -> None:
    assert type(a) is type(b)
    if isinstance(a, Outgoing):
        assert isinstance(b, Outgoing)
        assert (a.method, a.origin, a.target) == (b.method, b.origin, b.target)
        assert a.headers == b.headers
        assert a.body is None and b.body is None
    else:
        assert isinstance(b, Reply)
        assert (a.status, a.body) == (b.status, b.body)


def _added(before: dict[Any, float], after: dict[Any, float]) -> dict[Any, float]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def test_plain_road_equals_the_general_decision_over_varied_requests() -> None:
    loop = asyncio.new_event_loop()
    gw = _Gateway(loop)
    try:
        reader = KeyPolicy.simple(methods=["GET", "HEAD"], prefixes=["/photos/"])
        keys = [
            loop.run_until_complete(gw.store.create("plain")),
            loop.run_until_complete(gw.store.create("équipe data")),
            loop.run_until_complete(gw.store.create("reader", policy=reader)),
        ]
        rng = random.Random(1414)
        outcomes: dict[str, int] = {}
        for i in range(400):
            key = rng.choice(keys)
            method, target, headers = _signed(rng, key.access_key_id, key.secret_access_key, i)
            gw.handle(gw.incoming(method, target, headers))  # parameters memoized
            before = dict(gw.metrics.counters)
            inc = gw.incoming(method, target, headers)
            got = gw.handle(inc)
            # the plain road took it: the fast road verified with the cached key
            assert gw.service._hit is not None
            middle = dict(gw.metrics.counters)
            ref = gw.incoming(method, target, headers)
            expected = gw.general(ref, inc.log["request_id"])
            _same(got, expected)
            # the same verdict counted by both roads
            assert _added(before, middle) == _added(middle, dict(gw.metrics.counters))
            assert inc.log["access_key_id"] == ref.log["access_key_id"] == key.access_key_id
            assert inc.log["verdict"] == ref.log["verdict"]
            outcomes[inc.log["verdict"]] = outcomes.get(inc.log["verdict"], 0) + 1
        assert outcomes.get("OK", 0) > 200 and outcomes.get("AccessDenied", 0) > 20
    finally:
        gw.close()
        loop.close()


def test_cached_key_checks_every_record_that_may_stop_working() -> None:
    # A record active for good is remembered (no look at its status on the
    # next request); any other record -- disabled, expiring, rotated -- is
    # looked at on every request, and a new record replaces the remembered one.
    loop = asyncio.new_event_loop()
    gw = _Gateway(loop)
    try:
        rec = loop.run_until_complete(gw.store.create("k"))
        signer = Signer(Credentials(rec.access_key_id, rec.secret_access_key), REGION, "s3")

        def get() -> Outgoing | Reply:
            s = signer.sign("GET", "http://gw.test/b/k")
            return gw.handle(gw.incoming("GET", "/b/k", [(n, v) for n, v in s.headers]))

        assert isinstance(get(), Outgoing)
        assert isinstance(get(), Outgoing)
        assert gw.service._usable_record is gw.cache.peek(rec.access_key_id)
        entries, clock = gw.cache.view()
        deadline = clock() + 60
        past = datetime.now(timezone.utc) - timedelta(seconds=1)
        for changed in (
            KeyRecord(rec.access_key_id, rec.secret_access_key, "k", status="inactive"),
            KeyRecord(rec.access_key_id, rec.secret_access_key, "k", expires_at=past),
            KeyRecord(rec.access_key_id, rec.secret_access_key, "k", grace_until=past),
        ):
            entries[rec.access_key_id] = (changed, deadline)
            for _ in range(2):
                answer = get()
                assert isinstance(answer, Reply) and answer.status == 403
                assert b"InvalidAccessKeyId" in answer.body
        future = datetime.now(timezone.utc) + timedelta(hours=1)
        expiring = KeyRecord(rec.access_key_id, rec.secret_access_key, "k", expires_at=future)
        entries[rec.access_key_id] = (expiring, deadline)
        assert isinstance(get(), Outgoing)
        assert gw.service._usable_record is not expiring  # looked at every time
        entries[rec.access_key_id] = (expiring, clock() - 1)  # past the cache's TTL
        answer = get()  # the store is asked again: the stored, active record
        assert isinstance(answer, Outgoing)
        assert gw.cache.peek(rec.access_key_id) == rec
    finally:
        gw.close()
        loop.close()
