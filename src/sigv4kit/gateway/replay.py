"""Replay protection shared by every gateway node: Redis ``SET NX PX``.

A signed request stays valid for the whole skew window (15 minutes for S3),
so a captured request can be sent again and again, by anyone, until then.
The replay cache remembers every accepted request for as long as it could
be accepted, and the second use is refused (the gateway answers 403
AccessDenied).

What is remembered: the access key id and the **string to sign**, hashed,
not the signature.  SigV4a signatures are ECDSA: non-deterministic (the
client can sign the same request again and get other bytes) and malleable
(``(r, s)`` and ``(r, n - s)`` both verify), so a cache keyed on signature
text would let a replayed SigV4a request through with its signature
re-encoded.  The string to sign is what was verified; it holds the request
time, the scope and the canonical request's hash, so two genuinely
different requests never share one.

Why not an in-process LRU (see nucleus PR #2375, "close the HMAC replay
window with a nonce and a fail-closed cache"): an LRU evicts its oldest
entry to make room, so an attacker floods it with fresh requests, pushes a
captured one out while its timestamp is still inside the window, and
replays it: the eviction boundary is the attack.  The same holds for Redis
with an evicting ``maxmemory-policy`` (``allkeys-lru``, ``volatile-ttl``,
...): run the replay cache's Redis with ``noeviction``, so a full Redis
refuses writes (and the gateway fails closed) instead of forgetting;
:class:`RedisReplayCache` logs a warning on first use when the policy evicts.
:class:`MemoryReplayCache` follows the same rule: when full, it answers
"cannot tell" rather than evicting an entry that is still live.

The verdict (a replay -> 403; unreachable -> 503 unless the operator chose
to fail open) is the gateway's pure ``policy.replay_verdict``; this module
answers ``seen()`` with True (replay), False (first use) or None (the cache
could not be asked).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "DEFAULT_PREFIX",
    "MemoryReplayCache",
    "RedisReplayCache",
    "eviction_warning",
    "replay_key",
    "ttl_ms",
]

log = logging.getLogger("sigv4kit.gateway")

DEFAULT_PREFIX = "sigv4kit:replay:"
_EVICTING = frozenset(
    {
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    }
)


# -- pure ------------------------------------------------------------------------------
def replay_key(access_key_id: str, string_to_sign: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The cache key of one accepted request: prefix + SHA-256(akid, string to sign).

    Hashed so every entry has the same small size, whatever the scope and
    canonical request look like; the id is length-prefixed so no (id, text)
    pair can collide with another by moving the boundary between them.
    """
    akid = access_key_id.encode("utf-8")
    digest = hashlib.sha256(b"%d:" % len(akid) + akid + string_to_sign.encode("utf-8")).hexdigest()
    return prefix + digest


def ttl_ms(ttl: float) -> int:
    """How long an entry lives, in whole milliseconds, rounded up (at least one second)."""
    if not math.isfinite(ttl):
        raise ValueError("a replay TTL must be a finite number of seconds")
    return max(1000, math.ceil(ttl * 1000))


def eviction_warning(policy: str | None) -> str | None:
    """A warning when a Redis ``maxmemory-policy`` may evict live replay entries."""
    if policy is not None and policy.lower() in _EVICTING:
        return (
            f"the replay cache's Redis has maxmemory-policy {policy}: under memory pressure it "
            "evicts entries whose requests are still valid, and those requests can then be "
            "replayed; set maxmemory-policy noeviction (a full Redis then fails closed)"
        )
    return None


# -- Redis -----------------------------------------------------------------------------
def redis_client(url: str, timeout: float) -> Any:
    """An asyncio Redis client that answers within ``timeout`` (replay cache, rate limit).

    One retry: a pooled connection Redis closed (a restart) fails once and
    is replaced; a Redis that is down is reported at once, so the gateway
    can answer 503 (or fail open) instead of hanging.
    """
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


class RedisReplayCache:
    """The replay cache in Redis, shared by every node that uses the same URL.

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS).
        prefix: key prefix, so one Redis can serve several gateways.
        timeout: seconds to wait for Redis before answering "cannot tell".
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 0.5) -> None:
        self.prefix = prefix
        self._redis: Any = redis_client(url, timeout)
        #: Counters for metrics.
        self.stats = {"accepted": 0, "replays": 0, "unavailable": 0}
        self._config_checked = False

    async def seen(self, access_key_id: str, string_to_sign: str, ttl: float) -> bool | None:
        """Remember the request; True if it was seen before, None if Redis cannot be asked."""
        from redis.exceptions import RedisError

        key = replay_key(access_key_id, string_to_sign, self.prefix)
        try:
            created = await self._redis.set(key, b"1", nx=True, px=ttl_ms(ttl))
        except (RedisError, OSError) as exc:
            self.stats["unavailable"] += 1
            log.warning("replay cache unavailable: %s", type(exc).__name__)
            return None
        if not self._config_checked:
            # Once, on first use: an evicting Redis silently reopens the hole.
            self._config_checked = True
            warning = await self.check_config()
            if warning:
                log.warning("%s", warning)
        if created:
            self.stats["accepted"] += 1
            return False
        self.stats["replays"] += 1
        return True

    async def check_config(self) -> str | None:
        """A warning when Redis may evict live entries (None when fine or not readable)."""
        from redis.exceptions import RedisError

        try:
            reply = await self._redis.config_get("maxmemory-policy")
        except (RedisError, OSError):  # CONFIG may be disabled (managed Redis)
            return None
        value = reply.get("maxmemory-policy") or reply.get(b"maxmemory-policy")
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        return eviction_warning(value)

    async def ping(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()


# -- in process ----------------------------------------------------------------------
class MemoryReplayCache:
    """A single-node replay cache with exact expiry and no eviction of live entries.

    When ``max_entries`` live entries are held, ``seen()`` answers None
    (cannot tell: the gateway fails closed unless told otherwise) instead of
    forgetting one that is still valid.
    """

    def __init__(
        self, *, max_entries: int = 1_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def _expire(self, now: float) -> None:
        heap, expiry = self._heap, self._expiry
        while heap and heap[0][0] <= now:
            when, key = heapq.heappop(heap)
            if expiry.get(key) == when:
                del expiry[key]

    async def seen(self, access_key_id: str, string_to_sign: str, ttl: float) -> bool | None:
        now = self._clock()
        self._expire(now)
        key = replay_key(access_key_id, string_to_sign, "")
        if key in self._expiry:
            return True
        if len(self._expiry) >= self.max_entries:
            return None
        when = now + ttl_ms(ttl) / 1000
        self._expiry[key] = when
        heapq.heappush(self._heap, (when, key))
        return False

    def __len__(self) -> int:
        self._expire(self._clock())
        return len(self._expiry)

    async def aclose(self) -> None:
        self._expiry.clear()
        self._heap.clear()
