"""One Signer and one Verifier shared by 32 threads and by asyncio tasks.

Every result is checked against a single-threaded reference: SigV4
signatures byte for byte, SigV4a by verification, and every verdict of a
mixed stream of valid and tampered requests.  The thread switch interval is
cut to a microsecond while the threads run, so that the shared caches (the
signing-key cache, the verifier's parsed-header, target and key memos, all
cleared when full) are interleaved as badly as the interpreter allows; the
inputs span several keys, days and over a thousand distinct targets to make
those caches fill, clear and refill under contention.

Throughput with 1 and with 32 threads is measured and printed: on the GIL
the aggregate cannot grow, but it must not collapse either (a lock convoy
would show as a large drop).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fuzz.common import HOST, REGION, SECRET, scaled
from sigv4kit import Credentials, Signer
from sigv4kit.errors import SignatureError
from sigv4kit.verifier import Verifier

THREADS = 32
KEYS = {f"AKIDTHREAD{i:02d}": f"{SECRET[:-2]}{i:02d}" for i in range(4)}
DAYS = [
    datetime(2013, 5, 24, 23, 59, 0, tzinfo=timezone.utc) + timedelta(minutes=m)
    for m in (0, 1, 2, 3)
]  # two of them on the next day


@contextmanager
def busy_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def main(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=main, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def _requests(count: int) -> list[tuple[str, str, list[tuple[str, str]], bytes, datetime]]:
    out = []
    for i in range(count):
        path = f"/bucket/obj-{i}/{'a%20b' if i % 3 == 0 else 'k'}"
        headers = [("X-Amz-Meta-N", str(i)), ("Content-Type", "text/plain")]
        out.append((["GET", "PUT"][i % 2], path, headers, b"x" * (i % 50), DAYS[i % 4]))
    return out


def test_shared_signer_matches_the_single_threaded_reference() -> None:
    """32 threads sign with 4 shared signers (one per key); every SigV4
    signature equals the one computed alone, every SigV4a one verifies."""
    reqs = _requests(scaled(1200, 6000))
    signers = {k: Signer(Credentials(k, s), REGION, "s3") for k, s in KEYS.items()}
    signers_a = {
        k: Signer(Credentials(k, s), REGION, "s3", algorithm="sigv4a", region_set=["*"])
        for k, s in KEYS.items()
    }
    akids = list(KEYS)

    def sign(i: int, a: bool = False) -> Any:
        method, path, headers, body, when = reqs[i]
        s = (signers_a if a else signers)[akids[i % 4]]
        return s.sign(method, f"https://{HOST}{path}", headers, body=body, timestamp=when)

    expected = [sign(i).authorization for i in range(len(reqs))]
    expected_presign = [
        signers[akids[i % 4]].presign(
            "GET", f"https://{HOST}{reqs[i][1]}", expires=60, timestamp=reqs[i][4]
        )
        for i in range(len(reqs))
    ]
    wrong: list[str] = []
    v = Verifier(KEYS, REGION, "s3", max_skew=86400 * 365 * 50)

    def work(t: int) -> None:
        for i in range(t, len(reqs), THREADS):
            if sign(i).authorization != expected[i]:
                wrong.append(f"sigv4 {i}")
            if (
                signers[akids[i % 4]].presign(
                    "GET", f"https://{HOST}{reqs[i][1]}", expires=60, timestamp=reqs[i][4]
                )
                != expected_presign[i]
            ):
                wrong.append(f"presign {i}")
            if i % 16 == 0:
                sa = sign(i, a=True)
                ok = v.verify(
                    sa.method,
                    sa.url.split(HOST, 1)[1],
                    list(sa.headers),
                    reqs[i][3],
                    now=reqs[i][4],
                )
                if ok.access_key_id != akids[i % 4]:
                    wrong.append(f"sigv4a {i}")

    with busy_switching():
        errors = run_threads(THREADS, work)
    assert not errors, errors[:3]
    assert not wrong, wrong[:10]


def _verdict_cases(
    count: int,
) -> list[tuple[str, str, list[tuple[str, str]], bytes, datetime, bool]]:
    """Signed requests, half of them tampered (each its own way)."""
    signers = {k: Signer(Credentials(k, s), REGION, "s3") for k, s in KEYS.items()}
    akids = list(KEYS)
    out = []
    for i, (method, path, headers, body, when) in enumerate(_requests(count)):
        s = signers[akids[i % 4]].sign(
            method, f"https://{HOST}{path}", headers, body=body, timestamp=when
        )
        target = s.url.split(HOST, 1)[1]
        h = list(s.headers)
        good = i % 2 == 0
        if not good:
            kind = (i // 2) % 5
            if kind == 0:
                body = body + b"!"
            elif kind == 1:
                target = target + "x"
            elif kind == 2:
                h = [(n, v + "1" if n == "X-Amz-Meta-N" else v) for n, v in h]
            elif kind == 3:
                h = [
                    (n, v.replace(akids[i % 4], akids[(i + 1) % 4]) if n == "Authorization" else v)
                    for n, v in h
                ]
            else:
                when = when + timedelta(hours=1)
        out.append((method, target, h, body, when, good))
    return out


def test_shared_verifier_gives_every_verdict_right() -> None:
    cases = _verdict_cases(scaled(1600, 8000))
    # Caches of 1024 entries: more than that many targets make them clear
    # while other threads read them.
    v = Verifier(KEYS, REGION, "s3")
    wrong: list[str] = []

    def check(i: int) -> None:
        method, target, headers, body, when, good = cases[i]
        try:
            ok = v.verify(method, target, headers, [body], now=when)
            got = ok.read() == body
        except SignatureError:
            got = False
        if got != good:
            wrong.append(f"case {i}: expected {'accept' if good else 'reject'}")

    for i in range(0, len(cases), 7):  # the reference, single-threaded
        check(i)
    assert not wrong, wrong[:10]

    def work(t: int) -> None:
        for i in range(t, len(cases), THREADS):
            check(i)

    with busy_switching():
        errors = run_threads(THREADS, work)
    assert not errors, errors[:3]
    assert not wrong, wrong[:10]


def test_asyncio_tasks_share_one_verifier_and_one_signer() -> None:
    """Hundreds of tasks interleaved at every await: an async credential
    lookup, async bodies, streaming uploads."""
    cases = _verdict_cases(scaled(400, 3000))
    lookups = 0

    async def lookup(akid: str) -> str | None:
        nonlocal lookups
        lookups += 1
        await asyncio.sleep(0)
        return KEYS.get(akid)

    v = Verifier(lookup, REGION, "s3")
    streamer = Signer(
        Credentials(*next(iter(KEYS.items()))),
        REGION,
        "s3",
        payload="streaming-trailer",
        checksum="crc32c",
        chunk_size=8192,
    )

    async def body_of(data: bytes) -> Any:
        for i in range(0, len(data), 7):
            await asyncio.sleep(0)
            yield data[i : i + 7]

    async def one(i: int) -> str | None:
        method, target, headers, body, when, good = cases[i]
        try:
            ok = await v.averify(method, target, headers, body_of(body), now=when)
            got = await ok.aread() == body
        except SignatureError:
            got = False
        return None if got == good else f"case {i}"

    async def stream(i: int) -> str | None:
        data = bytes([i % 256]) * (9000 + i)
        s = streamer.sign("PUT", f"https://{HOST}/up/{i}", body=data, timestamp=DAYS[0])
        enc = b"".join(s.body)
        ok = await v.averify("PUT", f"/up/{i}", list(s.headers), body_of(enc), now=DAYS[0])
        return None if await ok.aread() == data else f"stream {i}"

    async def main() -> list[str | None]:
        tasks = [one(i) for i in range(len(cases))]
        tasks += [stream(i) for i in range(scaled(24, 200))]
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert not [r for r in results if r], [r for r in results if r][:10]
    assert lookups >= len(cases) // 2


def _throughput(n_threads: int, op: Callable[[int], None], seconds: float) -> float:
    """Operations per second, all threads together."""
    counts = [0] * n_threads
    stop = time.perf_counter() + seconds

    def work(t: int) -> None:
        k = 0
        while time.perf_counter() < stop:
            for _ in range(20):
                op(k)
                k += 1
        counts[t] = k

    errors = run_threads(n_threads, work)
    assert not errors, errors[:3]
    return sum(counts) / seconds


@pytest.mark.parametrize("what", ["sign", "verify"])
def test_throughput_1_vs_32_threads(what: str) -> None:
    """No lock contention worth measuring: the hot paths take no lock, so 32
    threads together do about what one does (the GIL serializes them)."""
    signer = Signer(Credentials("AKIDTHREAD00", KEYS["AKIDTHREAD00"]), REGION, "s3")
    v = Verifier(KEYS, REGION, "s3")
    when = DAYS[0]
    signed = [signer.sign("GET", f"https://{HOST}/o/{i}", timestamp=when) for i in range(64)]
    targets = [s.url.split(HOST, 1)[1] for s in signed]
    headers = [list(s.headers) for s in signed]

    def op(k: int) -> None:
        if what == "sign":
            signer.sign("GET", f"https://{HOST}/o/{k % 64}", timestamp=when)
        else:
            v.verify("GET", targets[k % 64], headers[k % 64], b"", now=when)

    seconds = 1.5 if scaled(0, 1) == 0 else 5.0
    one = _throughput(1, op, seconds)
    many = _throughput(THREADS, op, seconds)
    print(
        f"{what}: 1 thread {one:,.0f}/s; {THREADS} threads {many:,.0f}/s in all "
        f"({many / THREADS:,.0f}/s per thread); aggregate ratio {many / one:.2f}"
    )
    assert many >= 0.5 * one, f"{THREADS} threads: {many:.0f}/s vs 1 thread {one:.0f}/s"
