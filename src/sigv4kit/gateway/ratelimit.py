"""Per-key rate limits shared by every gateway node: a token bucket in Redis.

Each access key has a bucket of ``burst`` tokens refilled at ``rate``
tokens per second; a request takes one, and a request that finds the bucket
empty is refused (the gateway answers 503 SlowDown, which every SDK retries
with back-off).  The bucket lives in Redis and is updated by one Lua script,
so the check and the update are atomic across nodes, and the refill uses
Redis's clock (``TIME``), so nodes with skewed clocks still share one
bucket fairly.

:func:`take` is the same arithmetic in Python, pure, for the in-process
limiter and for tests that hold the script to it.  ``allow()`` answers True
(a token was taken), False (over the limit) or None (Redis could not be
asked; the gateway's ``policy.rate_verdict`` decides what that means).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

__all__ = ["LUA_TOKEN_BUCKET", "MemoryRateLimiter", "RedisRateLimiter", "take"]

log = logging.getLogger("sigv4kit.gateway")

DEFAULT_PREFIX = "sigv4kit:rate:"

#: A bucket: (tokens, last refill time in seconds).
Bucket = tuple[float, float]
#: ``limits(access_key_id) -> (rate, burst)`` overrides the defaults per key; None keeps them.
Limits = Callable[[str], "tuple[float, float] | None"]


def take(
    bucket: Bucket | None, now: float, rate: float, burst: float, cost: float = 1.0
) -> tuple[Bucket, bool]:
    """Refill ``bucket`` up to ``now`` and try to take ``cost`` tokens.

    A missing bucket starts full.  Time that runs backwards refills nothing.
    Returns the new bucket and whether the tokens were taken.
    """
    if bucket is None:
        tokens, stamp = burst, now
    else:
        tokens, stamp = bucket
    tokens = min(burst, tokens + max(0.0, now - stamp) * rate)
    if tokens >= cost:
        return (tokens - cost, now), True
    return (tokens, now), False


def _check(rate: float, burst: float) -> None:
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"a rate limit must be a positive number of requests per second: {rate}")
    if not (burst >= 1 and math.isfinite(burst)):
        raise ValueError(f"a burst must be at least 1 request: {burst}")


# The same steps as take(), with Redis's clock.  Numbers go back as strings:
# Redis would truncate a Lua number reply to an integer.
LUA_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens = burst
  stamp = now
end
local elapsed = now - stamp
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'stamp', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, string.format('%.6f', tokens)}
"""


class _Limiter:
    """The default rate and burst, and the per-key overrides, of either limiter."""

    def __init__(self, rate: float, burst: float | None, limits: Limits | None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        _check(self.rate, self.burst)
        self.limits = limits

    def _rates(self, access_key_id: str) -> tuple[float, float]:
        if self.limits is not None:
            override = self.limits(access_key_id)
            if override is not None:
                _check(*override)
                return override
        return self.rate, self.burst


class RedisRateLimiter(_Limiter):
    """Token buckets in Redis, one per access key, shared by all nodes.

    Args:
        url: ``redis://host:port/db``.
        rate: tokens (requests) per second; burst: bucket size (default: rate,
            at least 1).
        limits: optional per-key ``(rate, burst)`` overrides.
        timeout: seconds to wait for Redis before answering None.
    """

    def __init__(
        self,
        url: str,
        *,
        rate: float,
        burst: float | None = None,
        limits: Limits | None = None,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 0.5,
    ) -> None:
        from .replay import redis_client

        super().__init__(rate, burst, limits)
        self.prefix = prefix
        self._redis: Any = redis_client(url, timeout)
        # register_script: EVALSHA, and EVAL again after a restart empties the script cache.
        self._script: Any = self._redis.register_script(LUA_TOKEN_BUCKET)
        self.stats = {"allowed": 0, "limited": 0, "unavailable": 0}

    async def allow(self, access_key_id: str, cost: float = 1.0) -> bool | None:
        """Take ``cost`` tokens from the key's bucket: True, False (over the limit) or None."""
        from redis.exceptions import RedisError

        rate, burst = self._rates(access_key_id)
        try:
            reply = await self._script(
                keys=[self.prefix + access_key_id], args=[repr(rate), repr(burst), repr(cost)]
            )
        except (RedisError, OSError) as exc:
            self.stats["unavailable"] += 1
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            return None
        allowed = int(reply[0]) == 1
        self.stats["allowed" if allowed else "limited"] += 1
        return allowed

    async def aclose(self) -> None:
        await self._redis.aclose()


class MemoryRateLimiter(_Limiter):
    """The same buckets in this process only (one node, or tests)."""

    def __init__(
        self,
        *,
        rate: float,
        burst: float | None = None,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        super().__init__(rate, burst, limits)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, Bucket] = {}

    async def allow(self, access_key_id: str, cost: float = 1.0) -> bool | None:
        rate, burst = self._rates(access_key_id)
        if len(self._buckets) >= self._max_keys and access_key_id not in self._buckets:
            # Forgetting a bucket refills it: only full (idle) ones may go.
            now = self._clock()
            self._buckets = {
                k: b for k, b in self._buckets.items() if take(b, now, rate, burst, 0)[0][0] < burst
            }
        bucket, ok = take(self._buckets.get(access_key_id), self._clock(), rate, burst, cost)
        self._buckets[access_key_id] = bucket
        return ok

    async def aclose(self) -> None:
        self._buckets.clear()
