"""KeyCache: TTL, negative entries, single flight; and against a real PostgreSQL: revocation
delay between two nodes, and what happens while the store is down."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest

from sigv4kit.errors import StoreUnavailable
from sigv4kit.keystore import KeyCache, KeyRecord, open_store
from sigv4kit.keystore._crypto import MasterKey
from sigv4kit.keystore.memory import MemoryKeyStore

MASTER = MasterKey.generate()


class CountingStore(MemoryKeyStore):
    """The memory backend, counting the reads that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def _get(self, access_key_id: str) -> KeyRecord | None:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        return await super()._get(access_key_id)


def test_ttl_negative_entries_and_peek() -> None:
    now = [0.0]

    async def main() -> None:
        store = CountingStore()
        rec = await store.create("a")
        cache = KeyCache(store, ttl=10, negative_ttl=2, follow=False, clock=lambda: now[0])
        assert cache.peek(rec.access_key_id) is None
        assert await cache.lookup(rec.access_key_id) == rec.secret_access_key
        assert await cache.lookup(rec.access_key_id) == rec.secret_access_key
        assert store.reads == 1 and cache.peek(rec.access_key_id) == rec
        # Without a feed only the TTL notices a change.
        await store.set_status(rec.access_key_id, "inactive")
        now[0] = 9.9
        assert await cache.lookup(rec.access_key_id) == rec.secret_access_key
        now[0] = 10.0
        assert cache.peek(rec.access_key_id) is None
        assert await cache.lookup(rec.access_key_id) is None
        assert store.reads == 2
        # Unknown ids are remembered for the negative TTL.
        assert await cache.get("NOPE") is None
        assert await cache.get("NOPE") is None
        assert store.reads == 3
        now[0] = 12.0
        assert await cache.get("NOPE") is None
        assert store.reads == 4
        assert cache.stats["hits"] == 3 and cache.stats["misses"] == 4

    asyncio.run(main())


def test_one_read_for_many_waiters_and_no_stale_result_after_invalidation() -> None:
    async def main() -> None:
        store = CountingStore()
        rec = await store.create("a")
        cache = KeyCache(store, ttl=60, follow=False)
        store.gate = asyncio.Event()
        waiters = [asyncio.ensure_future(cache.get(rec.access_key_id)) for _ in range(50)]
        await asyncio.sleep(0.01)
        cache.invalidate(rec.access_key_id)  # a change arrives while the read is under way
        store.gate.set()
        results = await asyncio.gather(*waiters)
        assert store.reads == 1 and all(r == rec for r in results)
        # The answer read before the change was not kept.
        assert cache.peek(rec.access_key_id) is None
        store.gate = None
        # A caller that gives up does not cancel the read the others wait for.
        store.gate = asyncio.Event()
        impatient = asyncio.ensure_future(cache.get(rec.access_key_id))
        patient = asyncio.ensure_future(cache.get(rec.access_key_id))
        await asyncio.sleep(0.01)
        impatient.cancel()
        store.gate.set()
        assert await patient == rec

    asyncio.run(main())


def test_bounded_memory() -> None:
    async def main() -> None:
        store = CountingStore()
        cache = KeyCache(store, ttl=60, follow=False, max_entries=100)
        for i in range(1000):
            assert await cache.get(f"FLOOD{i}") is None
        assert len(cache._entries) <= 100

    asyncio.run(main())


# -- real PostgreSQL -----------------------------------------------------------------------
pytest.importorskip("psycopg")


async def _wait_for(predicate: object, timeout: float = 5.0) -> float:
    """Seconds until ``await predicate()`` is true (polling every millisecond)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if await predicate():  # type: ignore[operator]
            return time.perf_counter() - t0
        await asyncio.sleep(0.001)
    raise AssertionError(f"not true within {timeout} s")


def _propagation(url: str, rounds: int) -> list[float]:
    async def main() -> list[float]:
        node1 = await open_store(url, master_key=MASTER)
        node2 = await open_store(url, master_key=MASTER)
        delays = []
        try:
            async with KeyCache(node1, ttl=3600) as cache1, KeyCache(node2, ttl=3600) as cache2:
                assert await cache1.wait_connected(5) and await cache2.wait_connected(5)
                for _ in range(rounds):
                    # Created on node 1, usable on node 2 (and cached there).
                    rec = await node1.create("propagation")
                    assert await cache2.lookup(rec.access_key_id) == rec.secret_access_key
                    # Revoked on node 1: how long until node 2 refuses it?
                    t0 = time.perf_counter()
                    await node1.set_status(rec.access_key_id, "inactive")
                    while await cache2.lookup(rec.access_key_id) is not None:
                        if time.perf_counter() - t0 > 5:
                            raise AssertionError("revocation did not reach node 2 within 5 s")
                        await asyncio.sleep(0.0005)
                    delays.append(time.perf_counter() - t0)
        finally:
            await node1.close()
            await node2.close()
        return delays

    return asyncio.run(main())


def test_revocation_reaches_the_other_node_within_one_second(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    delays = _propagation(postgres_url, 20)
    report = (
        f"PostgreSQL LISTEN/NOTIFY revocation delay over {len(delays)} revocations: "
        f"median {statistics.median(delays) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
    )
    with capsys.disabled():
        print("\n" + report)
    assert max(delays) < 1.0, report


def test_sqlite_revocation_reaches_another_process_view(tmp_path: Path) -> None:
    # SQLite's feed polls (0.25 s by default): slower than NOTIFY, well inside the 1 s target.
    delays = _propagation(f"sqlite://{tmp_path}/keys.db", 3)
    assert max(delays) < 1.0, delays


def test_store_down_cached_keys_until_ttl_unknown_keys_unavailable_then_recovery() -> None:
    from gateway_support import postgres_cluster

    now = [0.0]
    with postgres_cluster() as pg:
        url = pg.create_database()

        async def main() -> None:
            admin = await open_store(url, master_key=MASTER, connect_timeout=1)
            node = await open_store(url, master_key=MASTER, connect_timeout=1)
            known = await admin.create("cached")
            unknown = await admin.create("not cached")
            cache = KeyCache(node, ttl=30, clock=lambda: now[0])
            async with cache:
                assert await cache.wait_connected(5)
                assert await cache.lookup(known.access_key_id) == known.secret_access_key
                await asyncio.to_thread(pg.stop)
                # Cached keys keep working...
                assert await cache.lookup(known.access_key_id) == known.secret_access_key
                # ...unknown ones are "unavailable" (503), never "unknown" (403), and fast.
                t0 = time.perf_counter()
                with pytest.raises(StoreUnavailable) as info:
                    await cache.lookup(unknown.access_key_id)
                assert time.perf_counter() - t0 < 3.0
                assert info.value.status == 503 and info.value.code == "ServiceUnavailable"
                with pytest.raises(StoreUnavailable):
                    await node.ping()
                await asyncio.sleep(0.2)
                assert not cache.connected
                # ...until their TTL: then they are unavailable too.
                now[0] = 30.0
                with pytest.raises(StoreUnavailable):
                    await cache.lookup(known.access_key_id)
                assert cache.stats["unavailable"] == 2
                # The store comes back: the feed reconnects, everything works again.
                await asyncio.to_thread(pg.start)
                assert await cache.wait_connected(10)
                assert await cache.lookup(unknown.access_key_id) == unknown.secret_access_key
                assert await cache.lookup(known.access_key_id) == known.secret_access_key
                await node.ping()
                # And the feed pushes changes again.
                await admin.delete(known.access_key_id)
                await _wait_for(lambda: _is_none(cache, known.access_key_id))
            await admin.close()
            await node.close()

        asyncio.run(main())


async def _is_none(cache: KeyCache, akid: str) -> bool:
    return await cache.lookup(akid) is None


def test_postgres_pool_runs_queries_side_by_side_and_survives_cancellation(
    postgres_url: str,
) -> None:
    async def main() -> None:
        store = await open_store(postgres_url, master_key=MASTER, pool_size=3)
        try:
            recs = [await store.create(f"k{i}") for i in range(10)]
            got = await asyncio.gather(*(store.get(r.access_key_id) for r in recs * 5))
            assert got == recs * 5
            assert 1 <= len(store._idle) <= 3  # type: ignore[attr-defined]
            # A caller that gives up mid-query leaves no half-used connection behind.
            slow = asyncio.ensure_future(store.list())
            await asyncio.sleep(0)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            assert await store.get(recs[0].access_key_id) == recs[0]
            assert len(await store.list()) == 10
        finally:
            await store.close()
        assert store._idle == []  # type: ignore[attr-defined]

    asyncio.run(main())


def test_a_late_created_notification_keeps_a_cached_record() -> None:
    async def main() -> None:
        store = CountingStore()
        async with KeyCache(store, ttl=60) as cache:
            assert cache.connected  # start() waits for the feed
            assert await cache.get("AKIAIMPORTED0000007") is None  # cached as unknown
            from sigv4kit.keystore import ImportedKey

            await store.import_keys([ImportedKey("AKIAIMPORTED0000007", "x" * 40)])
            await asyncio.sleep(0)  # the feed delivers "created": the negative entry goes
            rec = await cache.get("AKIAIMPORTED0000007")
            assert rec is not None and store.reads == 2
            # The same notification again (as if it came late): the record stays cached.
            cache._changed(rec.access_key_id, "created")
            assert cache.peek(rec.access_key_id) == rec
            # An update or a delete drops it.
            cache._changed(rec.access_key_id, "updated")
            assert cache.peek(rec.access_key_id) is None

    asyncio.run(main())
