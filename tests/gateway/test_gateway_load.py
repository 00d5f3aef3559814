"""Load through two gateway processes (PostgreSQL keys, Redis replays): every verdict checked.

A client sends a random mix of requests, each with a known right answer --
verified (200, and the upstream saw the identity), wrong secret, unknown
key, denied by policy, a replay of an accepted request, a body that does not
match its hash -- alternately to two nodes, and counts wrong verdicts.  The
nodes' resident memory (whole process trees) is sampled after a warm-up and
at the end.  The short run is part of CI; the long one is marked slow.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sigv4kit import Credentials, Signer

from .conftest import REGION, CliGateway, Echo, start_cli_gateway

aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("psycopg")
pytest.importorskip("redis")

MASTER_KEY = "55" * 32
KINDS = ("ok", "ok", "ok", "put", "wrong", "unknown", "denied", "replay", "tampered")
EXPECT = {
    "ok": (200, "OK"),
    "put": (200, "OK"),
    "wrong": (403, "SignatureDoesNotMatch"),
    "unknown": (403, "InvalidAccessKeyId"),
    "denied": (403, "AccessDenied"),
    "replay": (403, "AccessDenied"),
    "tampered": (400, "XAmzContentSHA256Mismatch"),
}


def _rss(pid: int) -> int:
    """Resident bytes of a process and its children (workers)."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            continue
    return total


async def _load(
    urls: list[str],
    keys: dict[str, tuple[str, str]],
    n: int,
    tag: str,
    concurrency: int = 16,
) -> tuple[Counter[str], list[str]]:
    rnd = random.Random(1234)
    full = Signer(Credentials(*keys["full"]), REGION, "s3")
    reader = Signer(Credentials(*keys["reader"]), REGION, "s3")
    wrong = Signer(Credentials(keys["full"][0], "w" * 40), REGION, "s3")
    ghost = Signer(Credentials("SV4KGHOSTGHOSTGHOST0", "g" * 40), REGION, "s3")
    accepted: list[tuple[str, list[tuple[str, str]]]] = []
    tally: Counter[str] = Counter()
    wrong_verdicts: list[str] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, session: Any) -> None:
        async with sem:  # choose and sign inside: replays then have accepted requests to use
            kind = rnd.choice(KINDS)
            url = urls[i % len(urls)]
            body = b""
            if kind == "replay" and accepted:
                target, headers = rnd.choice(accepted)
                method = "GET"
                dest = urls[(i + 1) % len(urls)] + target  # mostly the other node
            else:
                if kind == "replay":
                    kind = "ok"
                # unique per run: two runs in one second would sign the same
                # string for the same path, and the second would be a replay
                path = f"/load/{tag}/{i}"
                signer = {"wrong": wrong, "unknown": ghost, "denied": reader}.get(kind, full)
                method = "PUT" if kind in ("put", "tampered", "denied") else "GET"
                body = os.urandom(rnd.choice((0, 100, 5000))) if method == "PUT" else b""
                signed = signer.sign(method, url + path, body=body)
                headers = [(k, v) for k, v in signed.headers]
                if kind == "tampered":
                    body = body + b"!"
                dest, target = url + path, path
            async with session.request(
                method, dest, headers=headers, data=body, skip_auto_headers=["Content-Type"]
            ) as r:
                await r.read()
                code = r.headers.get("x-amz-error-code", "OK" if r.status == 200 else "?")
                got = (r.status, code)
        tally[kind] += 1
        if got != EXPECT[kind]:
            wrong_verdicts.append(f"{kind} -> {got}")
        elif kind == "ok":
            accepted.append((target, headers))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(i, session) for i in range(n)))
    return tally, wrong_verdicts


def _run(n: int, echo: Echo, postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    from sigv4kit.keystore import KeyPolicy, open_store

    async def make() -> dict[str, tuple[str, str]]:
        store = await open_store(postgres_url, master_key=MASTER_KEY)
        try:
            full = await store.create("loader")
            reader = await store.create("reader", policy=KeyPolicy.read_only())
            return {
                "full": (full.access_key_id, full.secret_access_key),
                "reader": (reader.access_key_id, reader.secret_access_key),
            }
        finally:
            await store.close()

    keys = asyncio.run(make())
    env = dict(os.environ, SIGV4KIT_MASTER_KEY=MASTER_KEY)
    nodes: list[CliGateway] = []
    try:
        for i in range(2):
            nodes.append(
                start_cli_gateway(
                    ["--upstream", echo.url, "--keys", postgres_url, "--replay-cache", redis_url],
                    tmp_path / f"node{i}.log",
                    env=env,
                )
            )
        urls = [g.url for g in nodes]
        asyncio.run(_load(urls, keys, 300, "warm-up"))  # pools, caches, allocator
        base = sum(_rss(g.proc.pid) for g in nodes)
        echo.clear()
        t0 = time.monotonic()
        tally, wrong = asyncio.run(_load(urls, keys, n, "main"))
        elapsed = time.monotonic() - t0
        grown = sum(_rss(g.proc.pid) for g in nodes) - base
        print(
            f"\nload: {n} requests through 2 nodes in {elapsed:.1f} s "
            f"({n / elapsed:.0f}/s), verdicts {dict(tally)}, wrong verdicts {len(wrong)}, "
            f"memory growth {grown / 2**20:+.1f} MiB (base {base / 2**20:.0f} MiB)"
        )
        assert wrong == [], wrong[:20]
        assert sum(tally.values()) == n
        # every accepted request reached the upstream with its identity; nothing else did
        seen = echo.wait_for(tally["ok"] + tally["put"], timeout=5)
        assert all(r["complete"] for r in seen if r["method"] == "GET")
        forwarded = [r for r in seen if r["complete"]]
        assert len(forwarded) == tally["ok"] + tally["put"]
        for r in forwarded:
            assert ["X-Sigv4kit-Principal", "loader"] in r["headers"]
        assert grown < 24 * 2**20, f"memory grew by {grown / 2**20:.1f} MiB"
    finally:
        for g in nodes:
            g.stop()


def test_load_two_nodes_short(
    echo: Echo, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    _run(800, echo, postgres_url, redis_url, tmp_path)


@pytest.mark.slow
def test_load_two_nodes_long(echo: Echo, postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    _run(30000, echo, postgres_url, redis_url, tmp_path)
