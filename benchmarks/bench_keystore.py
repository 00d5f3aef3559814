"""Key store: what a lookup costs, and how long a revocation takes to reach another node.

Side by side in one run on one machine (read ratios, not absolute numbers):

* lookup cost per call: a plain dict (the floor), ``KeyCache.get`` on a hit
  (what the gateway pays per request), and the uncached store reads the cache
  saves: SQLite and PostgreSQL ``store.get``;
* revocation delay: a key cached on node 2 is disabled on node 1; the time until
  node 2 refuses it, for PostgreSQL (LISTEN/NOTIFY) and SQLite (polled feed).

Starts a throwaway PostgreSQL cluster with tests/gateway_support.py (Debian's
``postgresql`` package, tests/deps/apt/gateway.txt); needs the ``gateway`` extra.

    python benchmarks/bench_keystore.py [--rounds 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from sigv4kit.keystore import KeyCache, KeyStore, open_store  # noqa: E402
from sigv4kit.keystore._crypto import MasterKey  # noqa: E402

MASTER = MasterKey.generate()


async def per_call(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    """Microseconds per call, best of three batches."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            await fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


async def lookups(url: str, label: str) -> dict[str, float]:
    async with await open_store(url, master_key=MASTER) as store:
        rec = await store.create("bench")
        akid = rec.access_key_id
        table = {akid: rec}

        async def plain() -> Any:
            return table.get(akid)

        out = {"dict.get (floor)": await per_call(plain, 20000)}
        async with KeyCache(store, ttl=3600) as cache:
            await cache.get(akid)
            out["KeyCache.get, hit"] = await per_call(lambda: cache.get(akid), 20000)
        out[f"{label} store.get (uncached)"] = await per_call(lambda: store.get(akid), 300)
        return out


async def revocation(url: str, rounds: int) -> list[float]:
    node1: KeyStore = await open_store(url, master_key=MASTER)
    node2: KeyStore = await open_store(url, master_key=MASTER)
    delays = []
    try:
        async with KeyCache(node2, ttl=3600) as cache:
            assert await cache.wait_connected(10)
            for _ in range(rounds):
                rec = await node1.create("revoke-me")
                assert await cache.lookup(rec.access_key_id) is not None
                t0 = time.perf_counter()
                await node1.set_status(rec.access_key_id, "inactive")
                while await cache.lookup(rec.access_key_id) is not None:
                    await asyncio.sleep(0.0005)
                delays.append(time.perf_counter() - t0)
    finally:
        await node1.close()
        await node2.close()
    return delays


def summary(delays: list[float]) -> dict[str, float]:
    ms = sorted(d * 1000 for d in delays)
    return {
        "median_ms": statistics.median(ms),
        "p90_ms": ms[int(len(ms) * 0.9) - 1],
        "max_ms": ms[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="revocations per store")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()

    from gateway_support import postgres_cluster

    results: dict[str, Any] = {}
    with postgres_cluster() as pg, tempfile.TemporaryDirectory() as tmp:
        pg_url = pg.create_database()
        sqlite_url = f"sqlite://{tmp}/keys.db"
        costs = asyncio.run(lookups(sqlite_url, "SQLite"))
        costs.update(
            {k: v for k, v in asyncio.run(lookups(pg_url, "PostgreSQL")).items() if "store" in k}
        )
        results["lookup_us"] = costs
        results["revocation"] = {
            "PostgreSQL LISTEN/NOTIFY": summary(asyncio.run(revocation(pg_url, args.rounds))),
            "SQLite (polled every 0.25 s)": summary(
                asyncio.run(revocation(sqlite_url, max(5, args.rounds // 5)))
            ),
        }

    print("\nLookup cost (µs per call, best of 3)")
    print("| lookup | µs | x dict |")
    print("|---|---:|---:|")
    floor = results["lookup_us"]["dict.get (floor)"]
    for name, us in results["lookup_us"].items():
        print(f"| {name} | {us:.2f} | {us / floor:.1f} |")
    print("\nRevocation: disabled on node 1 until refused by node 2's cache")
    print("| store | median | p90 | max |")
    print("|---|---:|---:|---:|")
    for name, s in results["revocation"].items():
        print(f"| {name} | {s['median_ms']:.1f} ms | {s['p90_ms']:.1f} ms | {s['max_ms']:.1f} ms |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
