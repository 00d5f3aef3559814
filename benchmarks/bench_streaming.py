"""Signed aws-chunked streaming: throughput against hashlib.sha256, and memory.

Run: ``python benchmarks/bench_streaming.py [--size-mib 256] [--memory-gib 1]``

1. Throughput: STREAMING-AWS4-HMAC-SHA256-PAYLOAD over an in-memory payload
   (64 KiB chunks, the default) against ``hashlib.sha256`` of the same data.
   Every chunk must be hashed once, so SHA-256 is the ceiling; the goal is at
   least 85 % of it.  Rounds alternate (ours, sha256, ours, ...) and the best
   of each is kept, so load from other processes hits both sides alike.
2. Memory: a file of ``--memory-gib`` GiB streamed through
   ``Signer.sign(..., payload="streaming")``: peak traced allocations
   (tracemalloc) and the growth of peak RSS (ru_maxrss, measured in a fresh
   child process so the throughput data does not count).  Goal: < 16 MiB.

Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

from sigv4kit import Credentials, Signer
from sigv4kit.keys import signing_key
from sigv4kit.streaming import prepare_streaming

MIB = 1 << 20
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def throughput(size_mib: int, rounds: int) -> float:
    block = random.Random(0).randbytes(MIB)
    data = b"".join(block[i:] + block[:i] for i in range(size_mib))  # no two chunks alike
    key = signing_key(CREDS.secret_access_key, "20130524", "us-east-1", "s3")

    def ours(chunk_size: int = 65536) -> float:
        plan = prepare_streaming("streaming", data, chunk_size=chunk_size)
        body = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=key.hexdigest)
        t = time.perf_counter()
        n = 0
        for piece in body:
            n += len(piece)
        dt = time.perf_counter() - t
        assert n == plan.content_length
        return dt

    def sha() -> float:
        t = time.perf_counter()
        hashlib.sha256(data).digest()
        return time.perf_counter() - t

    best_ours = best_sha = float("inf")
    for _ in range(rounds):
        best_ours = min(best_ours, ours())
        best_sha = min(best_sha, sha())
    big = min(ours(1 << 20) for _ in range(2))
    mb = len(data) / 1e6
    ratio = best_sha / best_ours
    print(f"payload                     {size_mib} MiB in memory, best of {rounds}")
    print(f"hashlib.sha256              {mb / best_sha:8.0f} MB/s")
    print(f"sigv4kit streaming, 64 KiB  {mb / best_ours:8.0f} MB/s  ({ratio:.1%} of sha256)")
    print(f"sigv4kit streaming, 1 MiB   {mb / big:8.0f} MB/s  ({best_sha / big:.1%} of sha256)")
    return ratio


def _memory_child(path: str) -> None:
    """Runs in a fresh interpreter: stream ``path`` and report peak memory."""
    signer = Signer(CREDS, region="us-east-1", service="s3")
    with open(path, "rb") as f:
        signed = signer.sign(
            "PUT",
            "https://bucket.s3.amazonaws.com/big",
            body=f,
            timestamp=DATE,
            payload="streaming",
        )
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        t = time.perf_counter()
        n = 0
        for piece in signed.body:
            n += len(piece)
        dt = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert n == len(signed.body)
    print(f"{peak} {(rss1 - rss0) * 1024} {n} {dt}")


def memory(gib: float) -> tuple[int, int]:
    size = int(gib * 1024) * MIB
    block = random.Random(1).randbytes(MIB)
    with tempfile.NamedTemporaryFile(prefix="sigv4kit-bench-", delete=False) as f:
        path = f.name
        for _ in range(size // MIB):
            f.write(block)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", path],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    finally:
        os.unlink(path)
    peak, rss, n, dt = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    print(
        f"file upload                 {size / 2**30:.2f} GiB -> {n} encoded bytes "
        f"in {dt:.2f} s ({size / dt / 1e6:.0f} MB/s, disk read included)"
    )
    print(f"peak traced allocations     {peak / MIB:8.2f} MiB")
    print(f"peak RSS growth             {rss / MIB:8.2f} MiB")
    return peak, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--memory-gib", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child)
        return 0
    ok = True
    ratio = throughput(args.size_mib, args.rounds)
    if ratio < 0.85:
        print("FAIL: streaming throughput below 85 % of hashlib.sha256")
        ok = False
    peak, rss = memory(args.memory_gib)
    if max(peak, rss) >= 16 * MIB:
        print("FAIL: peak memory growth is 16 MiB or more")
        ok = False
    print("OK" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
