"""One bounded memo, used by every cache of the package.

A :class:`Memo` is a ``dict`` read with the C ``dict.get`` (a hit costs what a
plain dict costs, on hot paths) and filled with ``put``, which empties it
first when it holds ``limit`` entries.  Bounded, because the keys come from
requests, and a client sending endless distinct values must not grow a
server's memory.  Cleared rather than LRU: the working set (a few hosts,
dates, keys, header spellings) is far below the bound, so reaching it means
the keys do not repeat and no eviction order would help, while an LRU would
cost a Python call per read.  (S3 Express sessions, few and expensive to
rebuild, keep an LRU of their own.)  A memo holding secrets or keys is an
instance attribute, never shared through the class.
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
