"""An in-process key store, for tests and single-process experiments.

Nothing is persisted and secrets are held in plain memory.  Stores opened
with the same name (``memory://NAME``) in one process share their keys and
their change feed, which lets a test run two "nodes" without a database;
``memory://`` alone is a fresh, private store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from ..errors import KeyExists, KeyNotFound
from ._base import KeyStore
from ._model import KeyChange, KeyRecord

__all__ = ["MemoryKeyStore"]


class _Shared:
    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.watchers: set[asyncio.Queue[KeyChange]] = set()

    def publish(self, access_key_id: str, kind: str) -> None:
        change = KeyChange(access_key_id, kind)
        for q in self.watchers:
            q.put_nowait(change)


_NAMED: dict[str, _Shared] = {}


class MemoryKeyStore(KeyStore):
    """Keys in a dict; ``name`` shares them with other stores of the same name."""

    def __init__(self, name: str | None = None) -> None:
        if name:
            self._shared = _NAMED.setdefault(name, _Shared())
        else:
            self._shared = _Shared()
        self.url = f"memory://{name or ''}"
        self._closed = False

    async def _get(self, access_key_id: str) -> KeyRecord | None:
        return self._shared.keys.get(access_key_id)

    async def _list(self) -> list[KeyRecord]:
        return sorted(self._shared.keys.values(), key=lambda r: (r.created_at, r.access_key_id))

    async def _insert(self, records: list[KeyRecord], *, replace: bool) -> None:
        keys = self._shared.keys
        if not replace:
            for r in records:
                if r.access_key_id in keys:
                    raise KeyExists(f"key {r.access_key_id} already exists in {self.url}")
        for r in records:
            kind = "updated" if r.access_key_id in keys else "created"
            keys[r.access_key_id] = r
            self._shared.publish(r.access_key_id, kind)

    async def _update(self, access_key_id: str, **changes: Any) -> KeyRecord:
        old = self._shared.keys.get(access_key_id)
        if old is None:
            raise KeyNotFound(f"no key {access_key_id} in {self.url}")
        new = old.replace(**changes)
        self._shared.keys[access_key_id] = new
        self._shared.publish(access_key_id, "updated")
        return new

    async def _delete(self, access_key_id: str) -> None:
        if self._shared.keys.pop(access_key_id, None) is None:
            raise KeyNotFound(f"no key {access_key_id} in {self.url}")
        self._shared.publish(access_key_id, "deleted")

    async def _rotate(self, old_id: str, new: KeyRecord, grace_until: datetime) -> None:
        old = self._shared.keys.get(old_id)
        if old is None:
            raise KeyNotFound(f"no key {old_id} in {self.url}")
        await self._insert([new], replace=False)
        await self._update(old_id, grace_until=grace_until, replaced_by=new.access_key_id)

    async def watch(self) -> AsyncIterator[KeyChange]:
        q: asyncio.Queue[KeyChange] = asyncio.Queue()
        self._shared.watchers.add(q)
        try:
            yield KeyChange(None, "resync")
            while True:
                yield await q.get()
        finally:
            self._shared.watchers.discard(q)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._closed = True
