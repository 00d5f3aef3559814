"""Two sigv4kit checkouts side by side in ONE process: is a change faster or slower?

Usage:
    git worktree add --detach /tmp/sigv4kit-base <commit>
    python benchmarks/bench_sign_ab.py /tmp/sigv4kit-base/src [--pairs 300] [--batch 200]

The baseline is imported first from the given ``src`` directory, its signers
built and warmed up (so every lazy import it makes resolves to its own
modules), then its modules are set aside and the working tree's sigv4kit is
imported.  Both then sign bench_sign.py's cases a-d in alternating batches
(CPU time of this thread, collector off), so a loaded machine slows both
alike; each pair gives a ratio new/base, reported as the median with the
10th-90th percentiles, beside botocore's time from the same run.  Every
pair of signers must agree on the signature at a fixed time first.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_sign import AK, AMZ, CASES, SK, impl_botocore


def load(src: str | None) -> Any:
    """Import sigv4kit from ``src`` (None: the normal path) as a fresh copy."""
    for name in [k for k in sys.modules if k == "sigv4kit" or k.startswith("sigv4kit.")]:
        del sys.modules[name]
    if src:
        sys.path.insert(0, src)
    try:
        mod = importlib.import_module("sigv4kit")
        importlib.import_module("sigv4kit.signer")
    finally:
        if src:
            sys.path.remove(src)
    return mod


def signer_case(mod: Any, case: dict[str, Any]) -> tuple[Callable[[], Any], str]:
    """A zero-argument signing call for ``case``, warmed up, and its signature at AMZ."""
    signer = mod.Signer(mod.Credentials(AK, SK), "us-east-1", case["service"])
    m, u, h, b = case["method"], case["url"], case["headers"], case["body"]
    if case.get("presign"):
        check = signer.presign_request(m, u, expires=3600, timestamp=AMZ).signature

        def call() -> Any:
            return signer.presign(m, u, expires=3600)
    else:
        check = signer.sign(m, u, h, b, timestamp=AMZ).signature

        def call() -> Any:
            return signer.sign(m, u, h, b)

    for _ in range(200):
        call()
    return call, check


def cpu_us(call: Callable[[], Any], n: int) -> float:
    t0 = time.thread_time()
    for _ in range(n):
        call()
    return (time.thread_time() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline_src", help="the src/ directory of the baseline checkout")
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    base_mod = load(args.baseline_src)
    base = {name: signer_case(base_mod, case) for name, case in CASES.items()}
    new_mod = load(None)
    new = {name: signer_case(new_mod, case) for name, case in CASES.items()}
    print(f"baseline: {Path(base_mod.__file__).parent}\nnew:      {Path(new_mod.__file__).parent}")
    print(f"{args.pairs} alternating pairs of {args.batch} calls; CPU us per call (median)\n")
    print("| case | base | new | new/base median [p10-p90] | base/botocore | new/botocore |")
    print("|---|---|---|---|---|---|")
    for name, case in CASES.items():
        if base[name][1] != new[name][1]:
            raise SystemExit(f"{name}: the two checkouts disagree on the signature")
        b_call, n_call = base[name][0], new[name][0]
        tb: list[float] = []
        tn: list[float] = []
        ratios: list[float] = []
        gc.disable()
        try:
            for i in range(args.pairs):
                if i % 2:
                    x = cpu_us(b_call, args.batch)
                    y = cpu_us(n_call, args.batch)
                else:
                    y = cpu_us(n_call, args.batch)
                    x = cpu_us(b_call, args.batch)
                tb.append(x)
                tn.append(y)
                ratios.append(y / x)
        finally:
            gc.enable()
        peer = impl_botocore(case)
        assert peer is not None
        prepare, sign, _ = peer
        peer_us = []
        for _ in range(5):
            reqs = prepare(200)
            t0 = time.thread_time()
            for r in reqs:
                sign(r)
            peer_us.append((time.thread_time() - t0) / len(reqs) * 1e6)
        ratios.sort()
        p10, p90 = ratios[len(ratios) // 10], ratios[(len(ratios) * 9) // 10]
        mb, mn, mp = statistics.median(tb), statistics.median(tn), statistics.median(peer_us)
        print(
            f"| {name} | {mb:.2f} | {mn:.2f} | {statistics.median(ratios):.3f} "
            f"[{p10:.3f}-{p90:.3f}] | {mb / mp:.3f} | {mn / mp:.3f} |"
        )


if __name__ == "__main__":
    main()
