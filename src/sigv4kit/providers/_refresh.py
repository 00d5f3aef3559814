"""Refresh expiring credentials ahead of expiry, once, however many callers.

Two thresholds, as botocore and the AWS SDKs use them: from the *advisory*
one (default 15 minutes before expiry) one caller tries to refresh while the
others keep the current credentials, and a failure is logged; from the
*mandatory* one (10 minutes) callers wait for the refresh and a failure is
raised.  For short lifetimes the windows shrink to half and a quarter of the
lifetime, so a 60-second token is not refreshed on every call.

Concurrency: one ``threading.Lock`` makes threads share one fetch.  Async
callers first queue on a per-event-loop ``asyncio.Lock`` (so a thousand tasks
start one fetch, not a thousand threads), then run the blocking fetch in a
worker thread that takes the same ``threading.Lock``: threads and tasks,
on any number of loops, still share one fetch and the loop never blocks.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..credentials import Credentials
from ..errors import CredentialsError
from ._base import Provider

if TYPE_CHECKING:
    import asyncio

__all__ = ["RefreshingProvider"]

_log = logging.getLogger("sigv4kit.providers")

_FRESH, _ADVISORY, _MANDATORY = 0, 1, 2


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class _Cached:
    """Credentials with the instants at which they become due for refresh."""

    credentials: Credentials
    advisory_at: datetime | None
    mandatory_at: datetime | None

    def state(self, now: datetime) -> int:
        if self.mandatory_at is not None and now >= self.mandatory_at:
            return _MANDATORY
        if self.advisory_at is not None and now >= self.advisory_at:
            return _ADVISORY
        return _FRESH


class RefreshingProvider(Provider):
    """Cache credentials from ``fetch`` and refresh them before they expire.

    Args:
        fetch: blocking zero-argument function returning new ``Credentials``;
            credentials without ``expiration`` are cached for good.
        afetch: optional coroutine function used by :meth:`aget` instead of
            running ``fetch`` in a thread (it does not share the thread lock,
            so a sync and an async caller may then fetch at the same time).
        advisory_refresh / mandatory_refresh: the two windows before expiry.
        clock: returns an aware "now"; tests pass a fake one.
        name: used in log lines and ``describe()``.
    """

    def __init__(
        self,
        fetch: Callable[[], Credentials],
        *,
        afetch: Callable[[], Awaitable[Credentials]] | None = None,
        advisory_refresh: timedelta = timedelta(minutes=15),
        mandatory_refresh: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] | None = None,
        name: str | None = None,
    ) -> None:
        if mandatory_refresh > advisory_refresh:
            raise ValueError("mandatory_refresh must not be longer than advisory_refresh")
        self._fetch = fetch
        self._afetch = afetch
        self._advisory = advisory_refresh
        self._mandatory = mandatory_refresh
        self._clock = clock or _utcnow
        self._name: str = name or str(getattr(fetch, "__name__", type(self).__name__))
        self._cached: _Cached | None = None
        self._lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_locks_guard = threading.Lock()

    def describe(self) -> str:
        return self._name

    def _state(self) -> tuple[_Cached | None, int]:
        cached = self._cached
        if cached is None:
            return None, _MANDATORY
        return cached, cached.state(self._clock())

    def _install(self, credentials: object) -> _Cached:
        if not isinstance(credentials, Credentials):
            raise CredentialsError(
                f"credential source {self._name!r} returned {type(credentials).__name__}, "
                "expected sigv4kit.Credentials"
            )
        now = self._clock()
        expiration = credentials.expiration
        if expiration is None:
            cached = _Cached(credentials, None, None)
        else:
            if expiration <= now:
                raise CredentialsError(
                    f"credential source {self._name!r} returned credentials that expired at "
                    f"{expiration.isoformat()} (now {now.isoformat()}); check the source "
                    "and the system clock"
                )
            lifetime = expiration - now
            cached = _Cached(
                credentials,
                expiration - min(self._advisory, lifetime / 2),
                expiration - min(self._mandatory, lifetime / 4),
            )
        self._cached = cached
        return cached

    def _failed(self, exc: Exception, state: int, cached: _Cached | None) -> Credentials:
        """After a failed refresh: raise when the credentials are due, else log and keep them."""
        if state == _MANDATORY or cached is None:
            raise exc
        _log.warning(
            "advisory refresh of %s failed (%s); using credentials valid until %s",
            self._name,
            type(exc).__name__,
            cached.credentials.expiration,
        )
        return cached.credentials

    def __call__(self) -> Credentials:
        cached, state = self._state()
        if state == _FRESH and cached is not None:
            return cached.credentials
        advisory = state == _ADVISORY and cached is not None
        if not self._lock.acquire(blocking=not advisory):
            assert cached is not None  # somebody else is refreshing: these are still good
            return cached.credentials
        try:
            cached, state = self._state()
            if cached is not None and (state == _FRESH or (state == _ADVISORY and not advisory)):
                return cached.credentials
            try:
                return self._install(self._fetch()).credentials
            except Exception as exc:
                return self._failed(exc, state, cached)
        finally:
            self._lock.release()

    def _loop_lock(self) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        with self._loop_locks_guard:
            return self._loop_locks.setdefault(loop, asyncio.Lock())

    async def aget(self) -> Credentials:
        import asyncio

        cached, state = self._state()
        if state == _FRESH and cached is not None:
            return cached.credentials
        lock = self._loop_lock()
        if state == _ADVISORY and cached is not None and lock.locked():
            return cached.credentials
        async with lock:
            cached, state = self._state()
            if state == _FRESH and cached is not None:
                return cached.credentials
            if self._afetch is not None:
                try:
                    return self._install(await self._afetch()).credentials
                except Exception as exc:
                    return self._failed(exc, state, cached)
            return await asyncio.to_thread(self)
