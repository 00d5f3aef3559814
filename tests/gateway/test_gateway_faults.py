"""Faults: PostgreSQL stopped, Redis down (fail closed and fail open)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, Echo, InProcessGateway, options

requests = pytest.importorskip("requests")
pytest.importorskip("psycopg")
pytest.importorskip("redis")
from gateway_support import postgres_cluster, redis_instance  # noqa: E402

MASTER_KEY = "33" * 32
TTL = 6.0  # the key cache's TTL in the PostgreSQL outage test


def _get(node: InProcessGateway, creds: Credentials, path: str) -> Any:
    s = Signer(creds, REGION, "s3").sign("GET", node.url + path)
    return requests.get(s.url, headers=s.headers.as_dict(), timeout=15)


def _code(r: Any) -> str:
    return str(r.headers.get("x-amz-error-code", "OK" if r.status_code == 200 else "?"))


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_postgres_stopped_cached_keys_work_unknown_keys_503_then_recovery(echo: Echo) -> None:
    with postgres_cluster() as pg:
        url = pg.create_database()
        node = InProcessGateway(
            options(echo.url, key_cache_ttl=TTL), keys_url=url, master_key=MASTER_KEY
        )
        try:
            akid, secret = node.create_key("judy")
            cached = Credentials(akid, secret)
            assert _get(node, cached, "/warm").status_code == 200
            t_warm = time.monotonic()
            pg.stop()
            # cached: still accepted (until the TTL runs out)
            r = _get(node, cached, "/cached")
            assert time.monotonic() - t_warm < TTL, "the machine is too slow for this TTL"
            assert r.status_code == 200, r.text
            # unknown to this node: 503 ServiceUnavailable, never 403
            r = _get(node, Credentials("SV4KUNKNOWNKEY000000", "s" * 40), "/unknown")
            assert (r.status_code, _code(r)) == (503, "ServiceUnavailable"), r.text
            assert "key store" in r.text
            # past the TTL even the cached key cannot be vouched for: 503, not 403
            _wait(lambda: time.monotonic() - t_warm > TTL + 0.5, 2 * TTL, "ttl")
            r = _get(node, cached, "/expired-cache")
            assert (r.status_code, _code(r)) == (503, "ServiceUnavailable")
            pg.start()
            _wait(lambda: _get(node, cached, "/back").status_code == 200, 20, "no recovery")
            fresh = Credentials(*node.create_key("kim"))
            assert _get(node, fresh, "/fresh").status_code == 200
        finally:
            node.close()


def test_readyz_follows_the_store(echo: Echo, tmp_path: Any) -> None:
    from .conftest import start_cli_gateway

    with postgres_cluster() as pg:
        import os

        url = pg.create_database()
        env = dict(os.environ, SIGV4KIT_MASTER_KEY=MASTER_KEY)
        gw = start_cli_gateway(
            ["--upstream", echo.url, "--keys", url, "--admin", "127.0.0.1:0"],
            tmp_path / "gw.log",
            env=env,
        )
        try:
            assert gw.admin is not None
            admin = gw.admin
            _wait(lambda: requests.get(admin + "/readyz").status_code == 200, 10, "ready")
            pg.stop()
            _wait(lambda: requests.get(admin + "/readyz").status_code == 503, 10, "not ready")
            assert requests.get(admin + "/healthz").status_code == 200  # alive, just not ready
            pg.start()
            _wait(lambda: requests.get(admin + "/readyz").status_code == 200, 20, "ready again")
        finally:
            gw.stop()


@pytest.mark.parametrize("fail_open", [False, True])
def test_redis_down(echo: Echo, fail_open: bool) -> None:
    with redis_instance() as redis:
        node = InProcessGateway(
            options(echo.url, replay_url=redis.url(), fail_open=fail_open, rate_limit=100.0)
        )
        try:
            creds = Credentials(*node.create_key("leo"))
            assert _get(node, creds, "/up").status_code == 200
            redis.stop()
            r = _get(node, creds, "/down")
            if fail_open:
                assert r.status_code == 200
            else:
                assert (r.status_code, _code(r)) == (503, "ServiceUnavailable"), r.text
            redis.start()
            _wait(lambda: _get(node, creds, "/again").status_code == 200, 10, "redis back")
            # and replays are refused again once Redis is back
            s = Signer(creds, REGION, "s3").sign("GET", node.url + "/once")
            assert requests.get(s.url, headers=s.headers.as_dict()).status_code == 200
            r = requests.get(s.url, headers=s.headers.as_dict())
            assert (r.status_code, _code(r)) == (403, "AccessDenied")
        finally:
            node.close()
