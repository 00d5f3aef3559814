"""A per-node cache of key records in front of a KeyStore.

Why a cache: a gateway looks a key up on every request, and a round trip to
PostgreSQL per request would cost more than the verification itself.  Why it
stays correct: the cache follows the store's change feed (PostgreSQL
``LISTEN/NOTIFY``; SQLite and memory have feeds of their own), and every
change drops the entry it names, so a revoked key is refused on every node
as soon as the notification arrives (milliseconds; see docs/keys.md for the
measured delay).  The TTL is the fallback for notifications that never come
(a feed that is down or silently cut): no entry is trusted longer than that.

When the store cannot be reached, cached keys keep working until their TTL
runs out; keys the cache does not hold (or holds past their TTL) raise
:class:`~sigv4kit.errors.StoreUnavailable`, which a gateway answers with 503
rather than 403: the client did nothing wrong and may retry.

Unknown keys are cached too (for ``negative_ttl``), so a flood of made-up
access key ids costs the store one query per id and interval, not one per
request; a ``created`` notification drops the negative entry at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from ..errors import StoreUnavailable
from ._base import Closing, KeyStore
from ._model import KeyRecord

__all__ = ["KeyCache"]

log = logging.getLogger("sigv4kit.keystore")


class KeyCache(Closing):
    """Cached, change-following lookups for one node.

    Args:
        store: the KeyStore to read through.
        ttl: seconds a fetched record is trusted without a notification.
        negative_ttl: seconds an unknown key id is remembered as unknown
            (default: ``min(ttl, 5)``).
        max_entries: bound on memory; the cache is emptied when it is full.
        follow: follow the store's change feed (``watch()``); without it only
            the TTL expires entries.
        clock: monotonic seconds (tests pass their own).

    Use ``async with KeyCache(store) as cache`` (or ``await cache.start()``
    and ``await cache.close()``).
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        ttl: float = 60.0,
        negative_ttl: float | None = None,
        max_entries: int = 100_000,
        follow: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.store = store
        self.ttl = float(ttl)
        self.negative_ttl = float(min(ttl, 5.0) if negative_ttl is None else negative_ttl)
        self.max_entries = max_entries
        self._follow_feed = follow
        self._clock = clock
        self._entries: dict[str, tuple[KeyRecord | None, float]] = {}
        self._inflight: dict[str, asyncio.Task[KeyRecord | None]] = {}
        self._generation = 0
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        #: Counters for metrics: hits, misses, invalidations, unavailable.
        self.stats = {"hits": 0, "misses": 0, "invalidations": 0, "unavailable": 0}

    # -- life cycle ---------------------------------------------------------------
    async def start(self, timeout: float = 5.0) -> None:
        """Start following the change feed and wait (up to ``timeout`` s) until it is live.

        Waiting matters: the feed's first ``resync`` empties the cache, so a
        key cached before it would be fetched again, or, if the store went
        down meanwhile, not be available at all.
        """
        if self._follow_feed and self._task is None:
            self._task = asyncio.create_task(self._follow(), name="sigv4kit-keycache-feed")
            await self.wait_connected(timeout)

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until the change feed is subscribed; False on timeout."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    @property
    def connected(self) -> bool:
        """Whether the change feed is live (changes arrive by push, not by TTL)."""
        return self._connected.is_set()

    async def close(self) -> None:
        """Stop following the feed (the store is left open: its owner closes it)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        for t in list(self._inflight.values()):
            t.cancel()
        self._connected.clear()

    async def __aenter__(self) -> KeyCache:
        await self.start()
        return self

    # -- lookups --------------------------------------------------------------------
    def peek(self, access_key_id: str) -> KeyRecord | None:
        """The cached record if it is fresh, else None; never does I/O."""
        entry = self._entries.get(access_key_id)
        if entry is not None and self._clock() < entry[1]:
            return entry[0]
        return None

    def view(self) -> tuple[dict[str, tuple[KeyRecord | None, float]], Callable[[], float]]:
        """The entries and the clock :meth:`peek` reads, for a caller that reads
        them inline (the gateway, on every request, without a call):
        ``entries.get(id)`` is ``(record or None, deadline)``, fresh while
        ``clock() < deadline``.  The dict is the cache's own, emptied in place,
        never replaced; the caller only reads it."""
        return self._entries, self._clock

    async def get(self, access_key_id: str) -> KeyRecord | None:
        """The record (any status) or None for an unknown key.

        Raises StoreUnavailable when the answer is not cached (or is past its
        TTL) and the store cannot be reached.
        """
        entry = self._entries.get(access_key_id)
        if entry is not None and self._clock() < entry[1]:
            self.stats["hits"] += 1
            return entry[0]
        self.stats["misses"] += 1
        task = self._inflight.get(access_key_id)
        if task is None:
            # One fetch per key however many requests wait for it; a task of
            # its own, so a caller that gives up does not cancel the others.
            task = asyncio.ensure_future(self._fetch(access_key_id, self._generation))
            self._inflight[access_key_id] = task
            task.add_done_callback(functools.partial(self._fetched, access_key_id))
        try:
            return await asyncio.shield(task)
        except StoreUnavailable:
            self.stats["unavailable"] += 1
            raise

    async def lookup(self, access_key_id: str) -> str | None:
        """A ``Verifier`` credential lookup: the secret of a usable key, else None.

        Inactive, expired and rotated-out keys look unknown to the verifier
        (S3 answers InvalidAccessKeyId for them too).
        """
        record = await self.get(access_key_id)
        if record is None or not record.usable():
            return None
        return record.secret_access_key

    def invalidate(self, access_key_id: str | None = None) -> None:
        """Forget one key (or everything); fetches under way are not cached."""
        self._generation += 1
        self.stats["invalidations"] += 1
        if access_key_id is None:
            self._entries.clear()
        else:
            self._entries.pop(access_key_id, None)

    # -- internals --------------------------------------------------------------------
    def _changed(self, access_key_id: str | None, kind: str) -> None:
        if kind != "created" or access_key_id is None:
            self.invalidate(access_key_id)
            return
        # A creation can only make a cached "unknown" wrong.  A record this node
        # already holds was read after the insert (its notification just came
        # late), so it stays: dropping it would cost a read, or the key itself
        # if the store went down meanwhile.  Reads under way are not cached.
        self._generation += 1
        self.stats["invalidations"] += 1
        entry = self._entries.get(access_key_id)
        if entry is not None and entry[0] is None:
            del self._entries[access_key_id]

    async def _fetch(self, access_key_id: str, generation: int) -> KeyRecord | None:
        record = await self.store.get(access_key_id)
        if generation == self._generation:
            # Nothing changed while we asked: the answer is current.
            ttl = self.ttl if record is not None else self.negative_ttl
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[access_key_id] = (record, self._clock() + ttl)
        return record

    def _fetched(self, access_key_id: str, task: asyncio.Task[Any]) -> None:
        if self._inflight.get(access_key_id) is task:
            del self._inflight[access_key_id]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise

    async def _follow(self) -> None:
        delay = 0.05
        while True:
            try:
                async for change in self.store.watch():
                    if change.kind == "resync":
                        # (Re)subscribed: anything cached meanwhile may be stale.
                        self.invalidate()
                        self._connected.set()
                        delay = 0.05
                    else:
                        self._changed(change.access_key_id, change.kind)
                return  # the store closed its feed
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:
                if self._connected.is_set():
                    log.warning("key store change feed lost (%s); TTL %.0fs applies", exc, self.ttl)
            except Exception:
                log.exception("key store change feed failed; retrying")
            self._connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
