"""Replay cache and shared rate limit: the pure parts, then real Redis (two clients = two nodes)."""

from __future__ import annotations

import asyncio

import pytest

from sigv4kit.credentials import Credentials
from sigv4kit.gateway.ratelimit import MemoryRateLimiter, take
from sigv4kit.gateway.replay import (
    MemoryReplayCache,
    eviction_warning,
    replay_key,
    ttl_ms,
)
from sigv4kit.signer import Signer

STS = "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" + "ab" * 32


# -- pure --------------------------------------------------------------------------------
def test_replay_key_depends_on_key_and_string_to_sign_only() -> None:
    k = replay_key("AKID1", STS)
    assert k == replay_key("AKID1", STS) and k.startswith("sigv4kit:replay:")
    assert k != replay_key("AKID2", STS)
    assert k != replay_key("AKID1", STS + "0")
    # No ambiguity from where the id ends and the string to sign begins.
    assert replay_key("AKID1\nX", "Y") != replay_key("AKID1", "X\nY")
    assert replay_key("A", STS, "p:").startswith("p:")


def test_sigv4a_resignature_has_the_same_replay_key() -> None:
    # ECDSA signatures differ on every signing: the key must not.
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    signer = Signer(creds, region="us-east-1", service="s3", algorithm="sigv4a", region_set=["*"])
    a = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp="20130524T000000Z")
    b = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp="20130524T000000Z")
    assert a.signature != b.signature
    assert replay_key("AKIDEXAMPLE", a.string_to_sign) == replay_key(
        "AKIDEXAMPLE", b.string_to_sign
    )


def test_ttl_ms() -> None:
    assert ttl_ms(1800) == 1_800_000
    assert ttl_ms(0.0001) == 1000  # never shorter than a second
    assert ttl_ms(1.0001) == 1001  # rounded up, never down
    with pytest.raises(ValueError):
        ttl_ms(float("inf"))


def test_eviction_warning() -> None:
    assert eviction_warning("noeviction") is None
    assert eviction_warning(None) is None
    for policy in ("allkeys-lru", "volatile-ttl", "ALLKEYS-LFU"):
        warning = eviction_warning(policy)
        assert warning is not None and "noeviction" in warning


def test_token_bucket_arithmetic() -> None:
    bucket = None
    verdicts = []
    for _ in range(4):
        bucket, ok = take(bucket, 100.0, rate=1.0, burst=3)
        verdicts.append(ok)
    assert verdicts == [True, True, True, False]
    bucket, ok = take(bucket, 100.5, rate=1.0, burst=3)
    assert not ok  # half a token back
    bucket, ok = take(bucket, 101.0, rate=1.0, burst=3)
    assert ok
    bucket, ok = take(bucket, 50.0, rate=1.0, burst=3)  # clock went back: no refill
    assert not ok and bucket[0] == pytest.approx(0.0)
    bucket, _ = take(bucket, 10_000.0, rate=1.0, burst=3, cost=0)
    assert bucket[0] == 3  # never more than the burst


def test_memory_replay_cache_never_evicts_live_entries() -> None:
    now = [0.0]
    cache = MemoryReplayCache(max_entries=2, clock=lambda: now[0])

    async def main() -> None:
        assert await cache.seen("A", "s1", 10) is False
        assert await cache.seen("A", "s1", 10) is True
        assert await cache.seen("A", "s2", 10) is False
        # Full of live entries: "cannot tell" (fail closed), not eviction.
        assert await cache.seen("A", "s3", 10) is None
        assert await cache.seen("A", "s1", 10) is True
        now[0] = 10.5
        assert len(cache) == 0
        assert await cache.seen("A", "s3", 10) is False

    asyncio.run(main())


def test_memory_rate_limiter_per_key() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(rate=2, burst=2, clock=lambda: now[0])

    async def main() -> None:
        assert [await limiter.allow("A") for _ in range(3)] == [True, True, False]
        assert await limiter.allow("B") is True  # each key has its own bucket
        now[0] = 0.5
        assert await limiter.allow("A") is True
        assert await limiter.allow("A") is False

    asyncio.run(main())
    with pytest.raises(ValueError):
        MemoryRateLimiter(rate=0)


# -- real Redis --------------------------------------------------------------------------
redis = pytest.importorskip("redis")


def test_replay_refused_across_two_nodes(redis_url: str) -> None:
    from sigv4kit.gateway.replay import RedisReplayCache

    async def main() -> None:
        node1, node2 = RedisReplayCache(redis_url), RedisReplayCache(redis_url)
        try:
            assert await node1.seen("AKID", STS, 60) is False
            assert await node2.seen("AKID", STS, 60) is True  # the other node refuses it
            assert await node1.seen("AKID", STS, 60) is True
            assert await node2.seen("OTHER", STS, 60) is False
            assert await node2.seen("AKID", STS.replace("ab", "cd"), 60) is False
            # Entries last exactly as long as asked (then the request is too old anyway).
            assert await node1.seen("AKID", "short", 1) is False
            await asyncio.sleep(1.2)
            assert await node2.seen("AKID", "short", 1) is False
            assert node1.stats["replays"] == 1 and node2.stats["replays"] == 1
            assert await node1.check_config() is None  # redis-server's default: noeviction
        finally:
            await node1.aclose()
            await node2.aclose()

    asyncio.run(main())


def test_shared_rate_limit_across_two_nodes(redis_url: str) -> None:
    from sigv4kit.gateway.ratelimit import RedisRateLimiter

    async def main() -> None:
        # A refill slow enough that the test's own run time adds no token.
        node1 = RedisRateLimiter(redis_url, rate=0.01, burst=5)
        node2 = RedisRateLimiter(redis_url, rate=0.01, burst=5)
        try:
            verdicts = []
            for i in range(8):
                verdicts.append(await (node1 if i % 2 else node2).allow("AKID"))
            assert verdicts == [True] * 5 + [False] * 3
            assert await node1.allow("OTHER") is True
            # Refill at Redis's clock: 20 tokens/s refills one within 0.1 s.
            fast1 = RedisRateLimiter(redis_url, rate=20, burst=1, prefix="fast:")
            fast2 = RedisRateLimiter(redis_url, rate=20, burst=1, prefix="fast:")
            assert await fast1.allow("K") is True
            assert await fast2.allow("K") is False
            await asyncio.sleep(0.12)
            assert await fast2.allow("K") is True
            await fast1.aclose()
            await fast2.aclose()
        finally:
            await node1.aclose()
            await node2.aclose()

    asyncio.run(main())


def test_redis_script_matches_the_pure_bucket(redis_url: str) -> None:
    # Redis's clock cannot be set, so compare on a bucket that cannot refill
    # measurably during the test: every verdict must equal take()'s.
    from sigv4kit.gateway.ratelimit import RedisRateLimiter

    async def main() -> None:
        limiter = RedisRateLimiter(redis_url, rate=1e-6, burst=4)
        try:
            bucket = None
            for cost in (1, 2, 2, 1, 0.5, 0.5, 3):
                bucket, want = take(bucket, 0.0, 1e-6, 4, cost)
                assert await limiter.allow("AKID", cost) is want, cost
        finally:
            await limiter.aclose()

    asyncio.run(main())


def test_redis_down_answers_none_and_recovers() -> None:
    from gateway_support import redis_instance
    from sigv4kit.gateway.ratelimit import RedisRateLimiter
    from sigv4kit.gateway.replay import RedisReplayCache

    with redis_instance() as server:

        async def main() -> None:
            cache = RedisReplayCache(server.url(), timeout=0.5)
            limiter = RedisRateLimiter(server.url(), rate=100)
            try:
                assert await cache.seen("AKID", "one", 60) is False
                assert await limiter.allow("AKID") is True
                server.stop()
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                assert await cache.seen("AKID", "two", 60) is None  # cannot tell
                assert await limiter.allow("AKID") is None
                assert loop.time() - t0 < 2.0  # answered promptly, not hung
                assert not await cache.ping()
                # What the gateway answers meanwhile: 503 failing closed (the default),
                # nothing (accepted) failing open; a replay while Redis is up is a 403.
                from sigv4kit.gateway.policy import rate_verdict, replay_verdict

                closed = replay_verdict(await cache.seen("AKID", "two", 60), fail_open=False)
                assert closed is not None and (closed.status, closed.code) == (
                    503,
                    "ServiceUnavailable",
                )
                assert replay_verdict(await cache.seen("AKID", "two", 60), fail_open=True) is None
                assert rate_verdict(await limiter.allow("AKID"), fail_open=True) is None
                limited = rate_verdict(await limiter.allow("AKID"), fail_open=False)
                assert limited is not None and limited.status == 503
                server.start()  # an empty Redis comes back (no persistence)
                assert await cache.seen("AKID", "two", 60) is False
                replay = replay_verdict(await cache.seen("AKID", "two", 60), fail_open=True)
                assert replay is not None and (replay.status, replay.code) == (403, "AccessDenied")
                assert await limiter.allow("AKID") is True  # the script is loaded again
            finally:
                await cache.aclose()
                await limiter.aclose()

        asyncio.run(main())


def test_evicting_redis_is_reported(
    redis_url: str, redis_server: object, caplog: pytest.LogCaptureFixture
) -> None:
    from sigv4kit.gateway.replay import RedisReplayCache

    redis_server.command("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")  # type: ignore[attr-defined]
    try:

        async def main() -> str | None:
            cache = RedisReplayCache(redis_url)
            try:
                return await cache.check_config()
            finally:
                await cache.aclose()

        warning = asyncio.run(main())
        assert warning is not None and "allkeys-lru" in warning

        async def first_use() -> None:
            cache = RedisReplayCache(redis_url)
            try:
                assert await cache.seen("AKID", "x", 10) is False
            finally:
                await cache.aclose()

        with caplog.at_level("WARNING", logger="sigv4kit.gateway"):
            asyncio.run(first_use())
        assert "noeviction" in caplog.text
    finally:
        redis_server.command("CONFIG", "SET", "maxmemory-policy", "noeviction")  # type: ignore[attr-defined]
