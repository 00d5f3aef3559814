"""Counters and a latency histogram, rendered in the Prometheus text format.

Pure bookkeeping: a worker updates its :class:`Metrics`; with several
workers each one sends :meth:`Metrics.snapshot` to the supervisor, which
adds them up (:meth:`Metrics.merge`) and serves the sum, so ``/metrics``
describes the whole proxy whichever worker answered the requests.  Label
values are status codes and fixed reason words: never a path, a key id or
anything a client chose.
"""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["BUCKETS", "Metrics", "describe"]

#: A counter's name and its label pairs (sorted by label name).
CounterKey = tuple[str, tuple[tuple[str, str], ...]]

# Seconds; the usual Prometheus client defaults, plus finer steps near 1 ms
# where a proxy on the same host spends its time.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_HELP = {
    "sigv4kit_requests_total": ("counter", "Requests answered, by status sent to the client."),
    "sigv4kit_upstream_responses_total": ("counter", "Upstream answers, by upstream status."),
    "sigv4kit_upstream_errors_total": (
        "counter",
        "Upstream failures (no answer), by reason: connect, timeout, disconnect.",
    ),
    "sigv4kit_signing_failures_total": ("counter", "Requests refused because signing failed."),
    "sigv4kit_retries_total": ("counter", "Requests sent upstream a second time, by reason."),
    "sigv4kit_request_bytes_total": ("counter", "Body bytes received from clients."),
    "sigv4kit_response_bytes_total": ("counter", "Body bytes sent to clients."),
    "sigv4kit_in_flight_requests": ("gauge", "Requests being handled now."),
    "sigv4kit_request_duration_seconds": (
        "histogram",
        "Time from request received to response end.",
    ),
}


def describe(name: str, kind: str, text: str) -> None:
    """Register a service's own metric (``counter`` or ``gauge``) so ``render`` shows it.

    A service counts with ``metrics.inc(name, **labels)``; names it never
    registered are not rendered.
    """
    if kind not in ("counter", "gauge"):
        raise ValueError("kind must be 'counter' or 'gauge'")
    _HELP.setdefault(name, (kind, text))


class Metrics:
    """One worker's counters (or the sum of several workers')."""

    __slots__ = ("buckets", "counters", "duration_count", "duration_sum", "in_flight")

    def __init__(self) -> None:
        # (name, label pairs) -> value
        self.counters: dict[CounterKey, float] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.duration_sum = 0.0
        self.duration_count = 0
        self.in_flight = 0

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        # Called several times per request: skip the sort when it is moot.
        items = tuple(labels.items())
        key = (name, items if len(items) < 2 else tuple(sorted(items)))
        counters = self.counters
        counters[key] = counters.get(key, 0) + amount

    @staticmethod
    def key(name: str, **labels: str) -> CounterKey:
        """The key of counter ``name`` with ``labels``, for :meth:`add` (what ``inc`` builds)."""
        return (name, tuple(sorted(labels.items())))

    def add(self, key: CounterKey, amount: float = 1) -> None:
        """``inc`` for a key built once (:meth:`key`): a per-request counter without
        building its labels each time."""
        counters = self.counters
        counters[key] = counters.get(key, 0) + amount

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.duration_sum += seconds
        self.duration_count += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy (what a worker sends its supervisor)."""
        return {
            "counters": [[n, [list(p) for p in ls], v] for (n, ls), v in self.counters.items()],
            "buckets": list(self.buckets),
            "sum": self.duration_sum,
            "count": self.duration_count,
            "in_flight": self.in_flight,
        }

    def merge(self, snap: dict[str, Any]) -> None:
        """Add a snapshot into these counters."""
        for name, labels, value in snap["counters"]:
            key = (name, tuple((str(a), str(b)) for a, b in labels))
            self.counters[key] = self.counters.get(key, 0) + value
        for i, v in enumerate(snap["buckets"]):
            self.buckets[i] += v
        self.duration_sum += snap["sum"]
        self.duration_count += snap["count"]
        self.in_flight += snap["in_flight"]

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        out: list[str] = []
        by_name: dict[str, list[tuple[tuple[tuple[str, str], ...], float]]] = {}
        for (name, labels), value in sorted(self.counters.items()):
            by_name.setdefault(name, []).append((labels, value))
        for name, (kind, text) in _HELP.items():
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} {kind}")
            if name == "sigv4kit_in_flight_requests":
                out.append(f"{name} {self.in_flight}")
            elif kind == "histogram":
                running = 0
                for bound, n in zip(BUCKETS, self.buckets, strict=False):
                    running += n
                    out.append(f'{name}_bucket{{le="{bound}"}} {running}')
                running += self.buckets[-1]
                out.append(f'{name}_bucket{{le="+Inf"}} {running}')
                out.append(f"{name}_sum {self.duration_sum:.6f}")
                out.append(f"{name}_count {self.duration_count}")
            else:
                rows = by_name.get(name) or [((), 0)]
                for labels, value in rows:
                    lab = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    num = int(value) if float(value).is_integer() else value
                    out.append(f"{name}{{{lab}}} {num}" if lab else f"{name} {num}")
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
