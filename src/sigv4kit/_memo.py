"""One bounded memo, used by every cache of the package.

A :class:`Memo` is a ``dict`` with a bound: read it with ``memo.get(key)``
(the C ``dict.get``, so a hit costs what a plain dict costs, which matters on
the hot paths that memoize header names, query parameters, signing keys and
credential scopes), and fill it with ``memo.put(key, value)``, which
empties the memo first when it holds ``limit`` entries.

Why a bound: the keys come from requests (header names, access key ids,
Authorization prefixes, host names), so a client that sends endless distinct
values must not grow a server's memory without end.

Why clear rather than LRU: the working set of these memos is small and
stable (a few hosts, dates, access keys, header spellings) and far below
the bound; reaching the bound means the keys are not repeating, and then no
eviction order would keep the hit rate.  Clearing is O(1) amortized, keeps
reads at plain ``dict.get`` speed (an LRU must reorder on every hit, a
Python-level call per read) and refills within a few requests.  A cache
whose entries are expensive to rebuild and whose keys are few but
long-lived (S3 Express sessions, see :mod:`sigv4kit.s3express`) is better
served by an LRU and keeps its own.

Per-instance memos (the Verifier's credential memo) are attributes of the
instance, never class attributes: a memo holding secrets or keys must not be
shared between objects configured with different credential stores.
"""

from __future__ import annotations

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    _K = TypeVar("_K")
    _V = TypeVar("_V")

__all__ = ["Memo"]


class Memo(dict["_K", "_V"]):
    """A dict of at most ``limit`` entries: read with ``get``, fill with ``put``.

    Writing ``memo[key] = value`` directly bypasses the bound; don't.
    """

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a memo needs a positive limit, got {limit!r}")
        super().__init__()
        self.limit = limit

    def put(self, key: _K, value: _V) -> _V:
        """Remember ``value`` under ``key`` (emptying the memo when full); returns ``value``."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value

    def __repr__(self) -> str:
        # Never the contents: memos hold signing keys and secrets.
        return f"Memo({len(self)}/{self.limit} entries)"

    def __reduce__(self) -> tuple[type[Memo[_K, _V]], tuple[int]]:
        # A copy or an unpickled memo starts empty with the same bound (dict's
        # own pickling would lose the bound, and a memo is only a speed-up).
        return (type(self), (self.limit,))
