"""The store for several gateway nodes: PostgreSQL through psycopg 3 (async).

Every node keeps its own :class:`~sigv4kit.keystore.KeyCache`; a trigger on
the keys table sends ``NOTIFY sigv4kit_keys, '<kind>:<access key id>'`` on
every insert, update and delete, whoever makes it (this code, ``psql``, a
migration), and each node's ``watch()`` holds a ``LISTEN`` connection that
turns those into cache invalidations.  Notifications are delivered at
commit, so a revocation reaches every node within one round trip.

A ``watch()`` connection that sees nothing for ``keepalive`` seconds runs
``SELECT 1``, so a silently dead connection is noticed (and the cache falls
back to its TTL) instead of trusting a feed that no longer speaks.

Queries run on a small pool of connections (``pool_size``, 4 by default),
opened on demand and dropped when broken: the cache in front sends the store
only its misses, so a few connections per node suffice.  A store that
cannot be reached raises :class:`~sigv4kit.errors.StoreUnavailable`
within ``connect_timeout`` / ``query_timeout`` seconds, never hangs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InvalidMasterKey, KeyExists, KeyNotFound, KeyStoreError, StoreUnavailable
from ._base import KeyStore
from ._crypto import MasterKey
from ._model import KeyChange, KeyRecord
from ._sql import COLUMN_LIST, from_row, to_row

if TYPE_CHECKING:
    import psycopg

    _Conn = psycopg.AsyncConnection[tuple[Any, ...]]

__all__ = ["CHANNEL", "PostgresKeyStore"]

T = TypeVar("T")
CHANNEL = "sigv4kit_keys"
_LOCK_ID = 7_245_190_131  # pg_advisory_xact_lock: one node creates the schema at a time

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS sigv4kit_meta (name text PRIMARY KEY, value text NOT NULL)",
    """CREATE TABLE IF NOT EXISTS sigv4kit_keys (
        access_key_id text PRIMARY KEY,
        secret bytea NOT NULL,
        name text NOT NULL DEFAULT '',
        status text NOT NULL CHECK (status IN ('active', 'inactive')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        policy text,
        v4a_public_key bytea NOT NULL,
        grace_until timestamptz,
        replaced_by text
    )""",
    f"""CREATE OR REPLACE FUNCTION sigv4kit_keys_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('{CHANNEL}', 'deleted:' || OLD.access_key_id);
            ELSIF TG_OP = 'INSERT' THEN
                PERFORM pg_notify('{CHANNEL}', 'created:' || NEW.access_key_id);
            ELSE
                PERFORM pg_notify('{CHANNEL}', 'updated:' || NEW.access_key_id);
            END IF;
            RETURN NULL;
        END $$""",
    "DROP TRIGGER IF EXISTS sigv4kit_keys_notify ON sigv4kit_keys",
    """CREATE TRIGGER sigv4kit_keys_notify AFTER INSERT OR UPDATE OR DELETE ON sigv4kit_keys
        FOR EACH ROW EXECUTE FUNCTION sigv4kit_keys_notify()""",
]


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    assert isinstance(value, datetime)
    return value.astimezone(timezone.utc)


def _same(value: datetime | None) -> datetime | None:
    return value


class PostgresKeyStore(KeyStore):
    """Keys in PostgreSQL; open with :meth:`open` (or ``open_store``)."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 3.0,
        query_timeout: float = 5.0,
        keepalive: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        from . import redact_url

        self._dsn = url
        self.url = redact_url(url)
        self.connect_timeout = connect_timeout
        self.query_timeout = query_timeout
        self.keepalive = keepalive
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(max(1, pool_size))
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        master_key: MasterKey | str | bytes | None = None,
        **options: Any,
    ) -> PostgresKeyStore:
        """Connect, create the schema if needed and check the master key."""
        self = cls(url, **options)
        await self._unseal(
            master_key,
            lambda: self._query(self._init_schema, idempotent=True),
            lambda key: self._query(lambda conn: self._set_key_id(conn, key)),
        )
        return self

    # -- plumbing -------------------------------------------------------------------
    async def _connect(self) -> _Conn:
        import psycopg

        try:
            return await asyncio.wait_for(
                psycopg.AsyncConnection.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=max(2, int(self.connect_timeout + 0.999)),
                ),
                self.connect_timeout + 1,
            )
        except (psycopg.OperationalError, asyncio.TimeoutError, OSError) as exc:
            raise StoreUnavailable(
                f"the key store {self.url} cannot be reached: {_first_line(exc)}"
            ) from None
        except psycopg.Error as exc:
            raise KeyStoreError(f"the key store {self.url}: {_first_line(exc)}") from None

    async def _query(self, fn: Callable[[_Conn], Awaitable[T]], *, idempotent: bool = False) -> T:
        """Run ``fn`` on a pooled connection (at most ``pool_size`` at once).

        A connection that was fine when last used may have been cut since (a
        server restart); an idempotent ``fn`` is then tried once more on a
        fresh connection instead of failing the first request after recovery.
        A connection whose statement was interrupted (timeout, cancellation,
        a broken line) is closed, never reused.
        """
        import psycopg

        if self._closed:
            raise KeyStoreError(f"{self.url} is closed")
        async with self._slots:
            for attempt in (1, 2):
                conn = None
                while self._idle and conn is None:
                    candidate = self._idle.pop()
                    if candidate.closed or candidate.broken:
                        await _close_quietly(candidate)
                    else:
                        conn = candidate
                reused = conn is not None
                if conn is None:
                    conn = await self._connect()
                keep = False
                try:
                    result = await asyncio.wait_for(fn(conn), self.query_timeout)
                    keep = True
                    return result
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    # AdminShutdown: the server said goodbye before our statement
                    # (a restart), so it never ran and any statement may be retried.
                    shutdown = isinstance(exc, psycopg.errors.AdminShutdown)
                    if reused and (idempotent or shutdown) and attempt == 1:
                        continue
                    raise StoreUnavailable(
                        f"the key store {self.url} cannot be used: {_first_line(exc)}"
                    ) from None
                except asyncio.TimeoutError:
                    raise StoreUnavailable(
                        f"the key store {self.url} did not answer within {self.query_timeout} s"
                    ) from None
                except psycopg.errors.UniqueViolation:
                    keep = True  # rolled back; the connection is fine
                    raise KeyExists(
                        f"an access key id to insert already exists in {self.url}"
                    ) from None
                except psycopg.Error as exc:
                    keep = not conn.broken
                    raise KeyStoreError(f"the key store {self.url}: {_first_line(exc)}") from None
                finally:
                    if keep and not self._closed and not conn.broken:
                        self._idle.append(conn)
                    else:
                        await _close_quietly(conn)
            raise AssertionError("unreachable")

    async def _init_schema(self, conn: _Conn) -> str | None:
        cur = await conn.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'sigv4kit_keys_notify' AND NOT tgisinternal"
        )
        if await cur.fetchone() is None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                for statement in _SCHEMA:
                    await conn.execute(statement)
        cur = await conn.execute("SELECT value FROM sigv4kit_meta WHERE name = 'master_key_id'")
        row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def _set_key_id(self, conn: _Conn, key: MasterKey | None) -> None:
        assert key is not None
        await conn.execute(
            "INSERT INTO sigv4kit_meta (name, value) VALUES ('master_key_id', %s) "
            "ON CONFLICT (name) DO NOTHING",
            (key.key_id,),
        )
        cur = await conn.execute("SELECT value FROM sigv4kit_meta WHERE name = 'master_key_id'")
        row = await cur.fetchone()
        if row is None or row[0] != key.key_id:
            raise InvalidMasterKey(
                f"{self.url} was just created by another node with master key "
                f"{row[0] if row else '?'}; use that key"
            )

    def _record(self, row: tuple[Any, ...]) -> KeyRecord:
        assert self._key is not None
        return from_row(row, self._key, _utc)

    def _row(self, record: KeyRecord) -> tuple[Any, ...]:
        assert self._key is not None
        return to_row(record, self._key, _same)

    # -- primitives -------------------------------------------------------------------
    async def _get(self, access_key_id: str) -> KeyRecord | None:
        async def get(conn: _Conn) -> tuple[Any, ...] | None:
            cur = await conn.execute(
                f"SELECT {COLUMN_LIST} FROM sigv4kit_keys WHERE access_key_id = %s",
                (access_key_id,),
            )
            return await cur.fetchone()

        row = await self._query(get, idempotent=True)
        return None if row is None else self._record(row)

    async def _list(self) -> list[KeyRecord]:
        async def rows(conn: _Conn) -> list[tuple[Any, ...]]:
            cur = await conn.execute(
                f"SELECT {COLUMN_LIST} FROM sigv4kit_keys ORDER BY created_at, access_key_id"
            )
            return await cur.fetchall()

        return [self._record(r) for r in await self._query(rows, idempotent=True)]

    async def _insert_rows(
        self,
        conn: _Conn,
        records: list[KeyRecord],
        replace: bool,
    ) -> None:
        sql = f"INSERT INTO sigv4kit_keys ({COLUMN_LIST}) VALUES ({', '.join(['%s'] * 10)})"
        if replace:
            sql += " ON CONFLICT (access_key_id) DO UPDATE SET " + ", ".join(
                f"{c} = excluded.{c}" for c in COLUMN_LIST.split(", ")[1:]
            )
        for r in records:
            await conn.execute(sql, self._row(r))

    async def _insert(self, records: list[KeyRecord], *, replace: bool) -> None:
        async def insert(conn: _Conn) -> None:
            async with conn.transaction():
                await self._insert_rows(conn, records, replace)

        await self._query(insert)

    async def _update(self, access_key_id: str, **changes: Any) -> KeyRecord:
        async def update(conn: _Conn) -> tuple[Any, ...] | None:
            sets = ", ".join(f"{name} = %s" for name in changes)
            cur = await conn.execute(
                f"UPDATE sigv4kit_keys SET {sets} WHERE access_key_id = %s RETURNING {COLUMN_LIST}",
                (*changes.values(), access_key_id),
            )
            return await cur.fetchone()

        row = await self._query(update, idempotent=True)
        if row is None:
            raise KeyNotFound(f"no key {access_key_id} in {self.url}")
        return self._record(row)

    async def _delete(self, access_key_id: str) -> None:
        async def delete(conn: _Conn) -> int:
            cur = await conn.execute(
                "DELETE FROM sigv4kit_keys WHERE access_key_id = %s", (access_key_id,)
            )
            return cur.rowcount

        if await self._query(delete) == 0:
            raise KeyNotFound(f"no key {access_key_id} in {self.url}")

    async def _rotate(self, old_id: str, new: KeyRecord, grace_until: datetime) -> None:
        async def rotate(conn: _Conn) -> bool:
            async with conn.transaction():
                cur = await conn.execute(
                    "UPDATE sigv4kit_keys SET grace_until = %s, replaced_by = %s "
                    "WHERE access_key_id = %s",
                    (grace_until, new.access_key_id, old_id),
                )
                if cur.rowcount == 0:
                    return False
                await self._insert_rows(conn, [new], False)
            return True

        if not await self._query(rotate):
            raise KeyNotFound(f"no key {old_id} in {self.url}")

    # -- feed, health, close -------------------------------------------------------------
    async def watch(self) -> AsyncIterator[KeyChange]:
        import psycopg

        if self._closed:
            raise KeyStoreError(f"{self.url} is closed")
        conn = await self._connect()
        try:
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error as exc:
                raise StoreUnavailable(f"cannot LISTEN on {self.url}: {_first_line(exc)}") from None
            yield KeyChange(None, "resync")
            while True:
                try:
                    async for note in conn.notifies(timeout=self.keepalive):
                        kind, _, akid = note.payload.partition(":")
                        yield KeyChange(akid, kind)
                    # Quiet for `keepalive` seconds: make sure the line is still there.
                    await asyncio.wait_for(conn.execute("SELECT 1"), self.query_timeout)
                except (psycopg.Error, asyncio.TimeoutError) as exc:
                    raise StoreUnavailable(
                        f"the change feed of {self.url} was lost: {_first_line(exc)}"
                    ) from None
        finally:
            await _close_quietly(conn)

    async def ping(self) -> None:
        async def ping(conn: _Conn) -> None:
            await conn.execute("SELECT 1")

        await self._query(ping, idempotent=True)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)


async def _close_quietly(conn: _Conn) -> None:
    try:
        await conn.close()
    except Exception:  # closing a broken connection: nothing left to do
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
