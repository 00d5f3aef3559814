"""What the hardening tests share: credentials, signers, request builders, profiles.

The keys are the test suite's own (``conftest.TEST_SECRETS`` /
``TEST_TOKENS``) and the dates are ones the secrets guard derives keys
for, so a leak of any of them in any hardening test fails that test.

``HARDENING_PROFILE=release`` scales every bounded run (examples, mutations,
load duration) up for release checks; the default keeps the whole hardening
run within a few minutes on two cores.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from sigv4kit import Credentials, Signer
from sigv4kit.verifier import Verifier

PROFILE = os.environ.get("HARDENING_PROFILE", "default").strip().lower() or "default"
RELEASE = PROFILE == "release"

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
OTHER_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp"
REGION = "us-east-1"
SERVICE = "s3"
NOW = datetime(2013, 5, 24, tzinfo=timezone.utc)
AMZ_NOW = "20130524T000000Z"
HOST = "examplebucket.s3.amazonaws.com"
URL = f"https://{HOST}/photos/2013/May/key.txt"


def scaled(default: int, release: int) -> int:
    """A count for the current profile."""
    return release if RELEASE else default


def creds(token: bool = False) -> Credentials:
    return Credentials(AKID, SECRET, TOKEN if token else None)


def signer(
    algorithm: str = "sigv4", *, token: bool = False, service: str = SERVICE, **kw: Any
) -> Signer:
    if algorithm == "sigv4a":
        kw.setdefault("region_set", [REGION])
    return Signer(creds(token), REGION, service, algorithm=algorithm, **kw)


def verifier(*, token: bool = False, **kw: Any) -> Verifier:
    value: Any = Credentials(AKID, SECRET, TOKEN) if token else SECRET
    kw.setdefault("region", REGION)
    kw.setdefault("service", SERVICE)
    return Verifier({AKID: value}, **kw)


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


class CountingBody:
    """An iterable body of ``total`` bytes (``fill`` repeated) that counts
    how much was taken from it in ``consumed``."""

    def __init__(self, total: int, piece: int = 1 << 16, fill: bytes = b"\0") -> None:
        self.total = total
        self.piece = piece
        self.consumed = 0
        self._block = fill * piece

    def __iter__(self) -> Iterator[bytes]:
        while self.consumed < self.total:
            n = min(self.piece, self.total - self.consumed)
            self.consumed += n
            yield self._block if n == self.piece else self._block[:n]


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs (noise on a shared box only adds).

    The collector is off while a run is timed, as ``timeit`` does: late in a
    full test run the heap holds every earlier test's objects, and one full
    collection triggered by the run's own allocations then costs time that
    grows with that heap, not with the input, which made a linear parser
    look quadratic (seen once in CI: 0.017 s at n, 0.30 s at 4n).
    """
    best = float("inf")
    enabled = gc.isenabled()
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        finally:
            if enabled:
                gc.enable()
    return best


def assert_linear(make: Callable[[int], Callable[[], object]], n: int, *, budget: float) -> None:
    """``make(n)`` builds a run over an input of size ``n``: the run at 4n
    must cost well under 16x (quadratic) the run at n, and stay in budget."""
    small = best_time(make(n))
    large = best_time(make(4 * n), repeat=3)
    assert large < budget, f"{large:.2f}s for size {4 * n} exceeds {budget}s"
    # Linear is 4x; allow noise, refuse anything near quadratic.
    floor = 0.02
    assert large <= 9 * max(small, floor), (
        f"superlinear: size {n}: {small:.4f}s, size {4 * n}: {large:.4f}s"
    )
