"""Two gateway nodes sharing PostgreSQL (keys) and Redis (replays, rate limits).

Each node has its own key store connection, its own LISTEN connection and
its own cache, as separate machines would; they share nothing in process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, Echo, InProcessGateway, options

requests = pytest.importorskip("requests")
pytest.importorskip("psycopg")
pytest.importorskip("redis")

MASTER_KEY = "22" * 32


def _node(echo: Echo, pg: str, redis: str | None, **kw: Any) -> InProcessGateway:
    return InProcessGateway(
        options(echo.url, replay_url=redis, **kw), keys_url=pg, master_key=MASTER_KEY
    )


@pytest.fixture
def nodes(echo: Echo, postgres_url: str, redis_url: str) -> Iterator[list[InProcessGateway]]:
    made: list[InProcessGateway] = []
    try:
        for _ in range(2):
            made.append(_node(echo, postgres_url, redis_url, rate_limit=20.0, rate_burst=20.0))
        yield made
    finally:
        for n in made:
            n.close()


def _get(node: InProcessGateway, creds: Credentials, path: str) -> Any:
    s = Signer(creds, REGION, "s3").sign("GET", node.url + path)
    return requests.get(s.url, headers=s.headers.as_dict(), timeout=10)


def _code(r: Any) -> str:
    return str(r.headers.get("x-amz-error-code", "OK" if r.status_code == 200 else "?"))


def test_key_created_on_one_node_works_on_the_other(nodes: list[InProcessGateway]) -> None:
    a, b = nodes
    ghost = Credentials("SV4KNOTCREATEDYET000", "s" * 40)
    assert _code(_get(b, ghost, "/x")) == "InvalidAccessKeyId"  # b now caches "unknown"
    akid, secret = a.create_key("erin")
    creds = Credentials(akid, secret)
    deadline = time.monotonic() + 2
    while _get(b, creds, "/x").status_code != 200:  # a "created" notification lands on b
        assert time.monotonic() < deadline, "b never learnt of the new key"
        time.sleep(0.02)
    assert _get(a, creds, "/x").status_code == 200


def test_revocation_on_one_node_reaches_the_other_within_a_second(
    nodes: list[InProcessGateway], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = nodes
    akid, secret = a.create_key("frank")
    creds = Credentials(akid, secret)
    assert _get(b, creds, "/warm").status_code == 200  # cached on b
    delays = []
    for _ in range(3):
        a.call(a.store.set_status, akid, "inactive")
        t0 = time.monotonic()
        while _code(_get(b, creds, "/r")) != "InvalidAccessKeyId":
            assert time.monotonic() - t0 < 1.0, "revocation took more than 1 s"
        delays.append(time.monotonic() - t0)
        a.call(a.store.set_status, akid, "active")
        while _get(b, creds, "/r").status_code != 200:
            assert time.monotonic() - t0 < 3.0
    with capsys.disabled():
        print(f"\nrevocation delay a -> b: {', '.join(f'{d * 1000:.0f} ms' for d in delays)}")
    assert max(delays) < 1.0


def test_a_request_accepted_by_one_node_is_a_replay_on_the_other(
    nodes: list[InProcessGateway], echo: Echo
) -> None:
    a, b = nodes
    akid, secret = a.create_key("grace")
    for algorithm in ("sigv4", "sigv4a"):
        kw: dict[str, Any] = {"algorithm": algorithm}
        if algorithm == "sigv4a":
            kw["region_set"] = ["*"]
        signer = Signer(Credentials(akid, secret), REGION, "s3", **kw)
        signed = signer.sign("GET", a.url + f"/replay/{algorithm}")
        first = requests.get(signed.url, headers=signed.headers.as_dict(), timeout=10)
        assert first.status_code == 200
        # The very same request to the other node, as a load balancer in front
        # of both would deliver it (same Host, which is signed).
        headers = signed.headers.as_dict()
        assert "Host" in headers or "host" in headers
        again = requests.get(b.url + f"/replay/{algorithm}", headers=headers, timeout=10)
        assert (again.status_code, _code(again)) == (403, "AccessDenied"), again.text
        assert "already used" in again.text


def test_rate_limit_is_shared(echo: Echo, postgres_url: str, redis_url: str) -> None:
    a = _node(echo, postgres_url, redis_url, rate_limit=1.0, rate_burst=6.0)
    b = _node(echo, postgres_url, redis_url, rate_limit=1.0, rate_burst=6.0)
    try:
        akid, secret = a.create_key("heidi")
        creds = Credentials(akid, secret)
        codes = [_code(_get(n, creds, f"/rl/{i}")) for i, n in enumerate([a, b] * 6)]
        assert codes.count("OK") in (6, 7), codes  # one bucket of 6 (+1 refilled at most)
        assert codes.count("SlowDown") == 12 - codes.count("OK")
        other = a.create_key("ivan")  # buckets are per key
        assert _get(b, Credentials(*other), "/rl/other").status_code == 200
    finally:
        a.close()
        b.close()
