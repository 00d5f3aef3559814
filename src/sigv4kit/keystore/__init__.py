"""Access keys for a verifying gateway: one async interface, three backends.

The interface (all methods are coroutines unless marked)::

    store = await open_store("sqlite:///var/lib/sigv4kit/keys.db")  # or postgresql://, memory://
    rec = await store.create("alice", policy=KeyPolicy.read_only("photos"), expires_at=None)
    rec.access_key_id, rec.secret_access_key        # the secret is shown to the caller once
    await store.get(akid)        -> KeyRecord | None  (any status)
    await store.list()           -> list[KeyRecord]
    await store.set_status(akid, "inactive" | "active") -> KeyRecord
    await store.delete(akid)
    await store.rotate(akid, grace=3600) -> KeyRecord   (new key; old one works until grace ends)
    await store.import_keys([ImportedKey(akid, secret, name)], replace=False)
    async for change in store.watch(): ...     # KeyChange(akid | None, kind), every node's changes
    await store.ping()                          # raises StoreUnavailable (for /readyz)
    await store.close()                         # or: async with store: ...

    cache = KeyCache(store, ttl=60)             # one per node (process); async with cache: ...
    await cache.get(akid)   -> KeyRecord | None  (raises StoreUnavailable: answer 503, not 403)
    await cache.lookup(akid) -> str | None       (a Verifier credential lookup: usable keys only)
    cache.peek(akid)        -> KeyRecord | None  (sync, no I/O: the fresh cached record)

A :class:`KeyRecord` is frozen: ``access_key_id``, ``secret_access_key``
(never in its repr), ``name``, ``status`` (``active``/``inactive``),
``created_at``, ``expires_at``, ``policy`` (:class:`KeyPolicy`, None = allow
all), ``v4a_public_key`` (SEC1 point bytes; ``public_key()`` loads it),
``grace_until`` and ``replaced_by`` (set on a rotated key).
``record.usable(now)`` is the verdict a verifier needs (active, not
expired, grace not over); ``record.allows(method, path)`` is the policy's
(AccessDenied when False, as S3 does).

Store URLs: ``sqlite:///absolute/path.db`` (embedded default; several
processes on one machine may share the file), ``postgresql://user[:pw]@host:
port/dbname`` (several nodes; changes are pushed with LISTEN/NOTIFY) and
``memory://[NAME]`` (tests).  Secrets are encrypted at rest with AES-GCM
under a master key (:mod:`sigv4kit.keystore._crypto` says where it comes
from); the memory backend keeps them in plain process memory.

Errors (all in :mod:`sigv4kit.errors`): ``StoreUnavailable`` (503),
``KeyNotFound``, ``KeyExists``, ``InvalidMasterKey``, ``KeyStoreError``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import KeyStoreError
from ._base import KeyStore
from ._cache import KeyCache
from ._model import Grant, ImportedKey, KeyChange, KeyPolicy, KeyRecord

if TYPE_CHECKING:
    from ._crypto import MasterKey

__all__ = [
    "Grant",
    "ImportedKey",
    "KeyCache",
    "KeyChange",
    "KeyPolicy",
    "KeyRecord",
    "KeyStore",
    "open_store",
    "redact_url",
]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and errors)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, hostpart = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{hostpart}" if ":" in userinfo else url


async def open_store(
    url: str | None = None,
    *,
    master_key: MasterKey | str | bytes | None = None,
    **options: Any,
) -> KeyStore:
    """Open (and on first use create) the store at ``url`` (default ``$SIGV4KIT_KEYS``).

    ``master_key`` overrides the environment (see :mod:`._crypto`); other
    keyword options go to the backend (e.g. ``poll_interval`` for SQLite,
    ``connect_timeout`` for PostgreSQL).
    """
    if url is None:
        url = os.environ.get("SIGV4KIT_KEYS", "")
        if not url:
            raise KeyStoreError(
                "no key store given: pass --store (or set $SIGV4KIT_KEYS) to "
                "sqlite:///absolute/path.db or postgresql://user@host:port/dbname"
            )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        from .memory import MemoryKeyStore

        return MemoryKeyStore(url.split("://", 1)[1] or None)
    if scheme == "sqlite":
        from .sqlite import SQLiteKeyStore

        path = url.split("://", 1)[1]
        if not path.startswith("/"):
            raise KeyStoreError(
                "a SQLite store URL names an absolute path: sqlite:///absolute/path.db, "
                f"got {url!r}"
            )
        return await SQLiteKeyStore.open(path, master_key=master_key, **options)
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresKeyStore

        return await PostgresKeyStore.open(url, master_key=master_key, **options)
    raise KeyStoreError(
        f"unknown key store URL {redact_url(url)!r}: use sqlite:///absolute/path.db, "
        "postgresql://user[:pw]@host:port/dbname or memory://"
    )
