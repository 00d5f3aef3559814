"""The KeyStore interface and the logic every backend shares.

Backends implement a handful of primitives (``_get``, ``_list``,
``_insert``, ``_update``, ``_delete``, ``_rotate``, ``watch``, ``ping``,
``close``); the public methods here validate arguments, generate keys and
turn rotation into one primitive call, so all backends behave the same and
one contract test covers them all.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from ..errors import KeyExists, KeyNotFound, KeyStoreError
from ._crypto import MasterKey, resolve_master_key
from ._model import (
    ImportedKey,
    KeyChange,
    KeyPolicy,
    KeyRecord,
    Status,
    check_status,
    grace_deadline,
    new_access_key_id,
    new_secret_access_key,
    utcnow,
)

__all__ = ["KeyStore"]


class Closing:
    """``async with x:`` closes ``x`` on the way out (key stores, the key cache)."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class KeyStore(Closing, abc.ABC):
    """An async store of access keys; see :mod:`sigv4kit.keystore`."""

    #: The store's URL with any password removed (safe to log).
    url: str = ""
    #: Where a master key was created when this store was new (tell the operator), else None.
    master_key_created: str | None = None
    _key: MasterKey | None = None

    # -- the public interface -------------------------------------------------
    async def get(self, access_key_id: str) -> KeyRecord | None:
        """The record (whatever its status), or None when the key does not exist."""
        if not access_key_id:
            return None
        return await self._get(access_key_id)

    async def create(
        self,
        name: str = "",
        *,
        policy: KeyPolicy | None = None,
        expires_at: datetime | None = None,
    ) -> KeyRecord:
        """A new active key with a fresh id and secret (the only time the secret is shown)."""
        for _ in range(5):
            record = KeyRecord(
                new_access_key_id(),
                new_secret_access_key(),
                name=name,
                created_at=utcnow(),
                expires_at=expires_at,
                policy=policy,
            )
            try:
                await self._insert([record], replace=False)
            except KeyExists:  # 80 random bits: never, but cheap to handle
                continue
            return record
        raise KeyStoreError("could not allocate a unique access key id")

    async def list(self) -> builtins.list[KeyRecord]:
        """Every key, ordered by creation time."""
        return await self._list()

    async def set_status(self, access_key_id: str, status: Status | str) -> KeyRecord:
        """Enable (``active``) or disable (``inactive``) a key; raises KeyNotFound."""
        return await self._update(access_key_id, status=check_status(status))

    async def delete(self, access_key_id: str) -> None:
        """Remove a key for good; raises KeyNotFound."""
        await self._delete(access_key_id)

    async def rotate(self, access_key_id: str, grace: timedelta | float = 0) -> KeyRecord:
        """A new key with the old one's name, policy and expiry.

        The old key keeps working for ``grace`` (seconds or a timedelta) and
        then stops (its state becomes ``rotated``); grace 0 stops it now.
        """
        old = await self._get(access_key_id)
        if old is None:
            raise KeyNotFound(f"no key {access_key_id} in {self.url}")
        new = KeyRecord(
            new_access_key_id(),
            new_secret_access_key(),
            name=old.name,
            created_at=utcnow(),
            expires_at=old.expires_at,
            policy=old.policy,
        )
        deadline = grace_deadline(grace)
        if old.grace_until is not None and old.grace_until < deadline:
            deadline = old.grace_until  # rotating again never extends a grace period
        await self._rotate(access_key_id, new, deadline)
        return new

    async def import_keys(
        self, keys: Iterable[ImportedKey | KeyRecord], *, replace: bool = False
    ) -> builtins.list[KeyRecord]:
        """Store given key pairs (all or none).

        An id that already exists raises :class:`KeyExists` unless
        ``replace`` is true.
        """
        now = utcnow()
        records = []
        for k in keys:
            if isinstance(k, KeyRecord):
                records.append(k)
                continue
            records.append(
                KeyRecord(
                    k.access_key_id,
                    k.secret_access_key,
                    name=k.name,
                    status=k.status,
                    created_at=now,
                    expires_at=k.expires_at,
                    policy=k.policy,
                )
            )
        ids = [r.access_key_id for r in records]
        if len(set(ids)) != len(ids):
            raise KeyStoreError("the imported keys repeat an access key id")
        if records:
            await self._insert(records, replace=replace)
        return records

    @abc.abstractmethod
    def watch(self) -> AsyncIterator[KeyChange]:
        """Every change to the store, from this node and every other one.

        The iterator first yields ``KeyChange(None, "resync")`` once it is
        subscribed, then one change per created, updated or deleted key.  It
        raises :class:`~sigv4kit.errors.StoreUnavailable` when the feed is
        lost; call ``watch()`` again to resubscribe (a new ``resync`` follows).
        """

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return when the store answers; raise StoreUnavailable otherwise (``/readyz``)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads; the store is unusable afterwards."""

    async def __aenter__(self) -> KeyStore:
        return self

    async def _unseal(
        self,
        given: MasterKey | str | bytes | None,
        read_id: Callable[[], Awaitable[str | None]],
        save_id: Callable[[MasterKey], Awaitable[Any]],
    ) -> None:
        """Finish opening: the master key to seal with -- ``given`` (or the
        environment's) -- checked against the id the store was sealed with
        (``read_id``), recorded (``save_id``) when the store is new.  On any
        failure the store is closed again, so nothing leaks."""
        try:
            stored_id = await read_id()
            key, created = resolve_master_key(given, stored_id, store=self.url)
            if stored_id is None:
                await save_id(key)
            if created:
                self.master_key_created = key.source
            self._key = key
        except BaseException:
            await self.close()
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- backend primitives ------------------------------------------------------
    @abc.abstractmethod
    async def _get(self, access_key_id: str) -> KeyRecord | None: ...

    @abc.abstractmethod
    async def _list(self) -> builtins.list[KeyRecord]: ...

    @abc.abstractmethod
    async def _insert(self, records: builtins.list[KeyRecord], *, replace: bool) -> None:
        """Insert all records atomically; raise KeyExists on a taken id unless ``replace``."""

    @abc.abstractmethod
    async def _update(self, access_key_id: str, **changes: Any) -> KeyRecord:
        """Change ``status`` (the only mutable field); raise KeyNotFound."""

    @abc.abstractmethod
    async def _delete(self, access_key_id: str) -> None: ...

    @abc.abstractmethod
    async def _rotate(self, old_id: str, new: KeyRecord, grace_until: datetime) -> None:
        """Atomically insert ``new`` and give ``old_id`` its grace deadline and successor."""
