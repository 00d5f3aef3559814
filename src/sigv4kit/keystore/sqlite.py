"""The embedded default: one SQLite file, via the standard library's ``sqlite3``.

Why ``sqlite3`` on a thread rather than aiosqlite: aiosqlite is itself a
thread running ``sqlite3``; a one-thread executor owned by the store gives
the same non-blocking behaviour without a dependency, and keeps the
connection on one thread as ``sqlite3`` wants.

Several processes (``gateway --workers N``) may share the file: it runs in
WAL mode with a busy timeout.  The change feed is a ``sigv4kit_changes``
table filled by triggers (so every writer, even the ``sqlite3`` shell, is
seen); ``watch()`` polls it every ``poll_interval`` seconds, a cheap indexed
query.  The file is created mode 0600 and holds no secret in clear: each is
sealed with AES-GCM under the master key.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, TypeVar

from ..errors import KeyExists, KeyNotFound, KeyStoreError, StoreUnavailable
from ._base import KeyStore
from ._crypto import MasterKey
from ._model import KeyChange, KeyRecord
from ._sql import COLUMN_LIST, from_row, to_row

__all__ = ["SQLiteKeyStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sigv4kit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sigv4kit_keys (
    access_key_id TEXT PRIMARY KEY,
    secret BLOB NOT NULL,              -- AES-GCM sealed, see _crypto.py
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at INTEGER NOT NULL,       -- microseconds since the epoch, UTC
    expires_at INTEGER,
    policy TEXT,                       -- JSON, see KeyPolicy.to_json
    v4a_public_key BLOB NOT NULL,      -- SEC1 uncompressed point
    grace_until INTEGER,
    replaced_by TEXT
);
CREATE TABLE IF NOT EXISTS sigv4kit_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    access_key_id TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS sigv4kit_keys_created AFTER INSERT ON sigv4kit_keys BEGIN
    INSERT INTO sigv4kit_changes (access_key_id, kind) VALUES (NEW.access_key_id, 'created');
END;
CREATE TRIGGER IF NOT EXISTS sigv4kit_keys_updated AFTER UPDATE ON sigv4kit_keys BEGIN
    INSERT INTO sigv4kit_changes (access_key_id, kind) VALUES (NEW.access_key_id, 'updated');
END;
CREATE TRIGGER IF NOT EXISTS sigv4kit_keys_deleted AFTER DELETE ON sigv4kit_keys BEGIN
    INSERT INTO sigv4kit_changes (access_key_id, kind) VALUES (OLD.access_key_id, 'deleted');
END;
"""


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the BEGIN IMMEDIATE that guards the schema.
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


#: Change-log rows kept; a watcher further behind than this resyncs.
_KEEP_CHANGES = 10_000


def _to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(value: Any) -> datetime | None:
    if value is None:
        return None
    from datetime import timedelta

    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value))


class SQLiteKeyStore(KeyStore):
    """Keys in one SQLite file; open with :meth:`open` (or ``open_store``)."""

    def __init__(self, path: str, *, poll_interval: float = 0.25) -> None:
        self.path = path
        self.url = "sqlite://" + path
        self.poll_interval = poll_interval
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sigv4kit-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        master_key: MasterKey | str | bytes | None = None,
        poll_interval: float = 0.25,
    ) -> SQLiteKeyStore:
        """Open the file, creating it, its schema and (when new) a master key."""
        self = cls(path, poll_interval=poll_interval)
        await self._unseal(
            master_key,
            lambda: self._run(self._connect),
            lambda key: self._run(self._set_key_id, key.key_id),
        )
        return self

    # -- plumbing ---------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise KeyStoreError(f"{self.url} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"the key store {self.url} cannot be used: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise KeyStoreError(f"the key store {self.url} is damaged: {exc}") from None

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _connect(self) -> str | None:
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            raise KeyStoreError(f"the directory of {self.url} does not exist: create {directory}")
        # Created owner-only before SQLite opens it (its -wal/-shm copy the mode).
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        self._conn = conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(_SCHEMA):
                conn.execute(statement)
            row = conn.execute(
                "SELECT value FROM sigv4kit_meta WHERE name = 'master_key_id'"
            ).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return None if row is None else str(row[0])

    def _set_key_id(self, key_id: str) -> None:
        db = self._db()
        db.execute(
            "INSERT OR IGNORE INTO sigv4kit_meta (name, value) VALUES ('master_key_id', ?)",
            (key_id,),
        )
        row = db.execute("SELECT value FROM sigv4kit_meta WHERE name = 'master_key_id'").fetchone()
        if row[0] != key_id:  # another process created the store first, with its own key
            from ..errors import InvalidMasterKey

            raise InvalidMasterKey(
                f"{self.url} was just created by another process with master key {row[0]}; "
                "use that key"
            )

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[KeyRecord]:
        assert self._key is not None
        return [from_row(r, self._key, _from_us) for r in self._db().execute(sql, args)]

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute(
                "DELETE FROM sigv4kit_changes WHERE seq <= "
                "(SELECT max(seq) FROM sigv4kit_changes) - ?",
                (_KEEP_CHANGES,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return result

    # -- primitives ----------------------------------------------------------------
    async def _get(self, access_key_id: str) -> KeyRecord | None:
        rows = await self._run(
            self._rows,
            f"SELECT {COLUMN_LIST} FROM sigv4kit_keys WHERE access_key_id = ?",
            (access_key_id,),
        )
        return rows[0] if rows else None

    async def _list(self) -> list[KeyRecord]:
        return await self._run(
            self._rows,
            f"SELECT {COLUMN_LIST} FROM sigv4kit_keys ORDER BY created_at, access_key_id",
        )

    def _insert_rows(self, db: sqlite3.Connection, records: list[KeyRecord], replace: bool) -> None:
        assert self._key is not None
        for r in records:
            row = to_row(r, self._key, _to_us)
            if replace:
                db.execute(
                    f"INSERT INTO sigv4kit_keys ({COLUMN_LIST}) VALUES (?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (access_key_id) DO UPDATE SET secret = excluded.secret, "
                    "name = excluded.name, status = excluded.status, "
                    "created_at = excluded.created_at, expires_at = excluded.expires_at, "
                    "policy = excluded.policy, v4a_public_key = excluded.v4a_public_key, "
                    "grace_until = excluded.grace_until, replaced_by = excluded.replaced_by",
                    row,
                )
                continue
            try:
                db.execute(
                    f"INSERT INTO sigv4kit_keys ({COLUMN_LIST}) VALUES (?,?,?,?,?,?,?,?,?,?)", row
                )
            except sqlite3.IntegrityError:
                raise KeyExists(f"key {r.access_key_id} already exists in {self.url}") from None

    async def _insert(self, records: list[KeyRecord], *, replace: bool) -> None:
        await self._run(self._write, lambda db: self._insert_rows(db, records, replace))

    async def _update(self, access_key_id: str, **changes: Any) -> KeyRecord:
        def update(db: sqlite3.Connection) -> None:
            sets = ", ".join(f"{name} = ?" for name in changes)
            values = [_to_us(v) if isinstance(v, datetime) else v for v in changes.values()]
            cur = db.execute(
                f"UPDATE sigv4kit_keys SET {sets} WHERE access_key_id = ?",
                (*values, access_key_id),
            )
            if cur.rowcount == 0:
                raise KeyNotFound(f"no key {access_key_id} in {self.url}")

        await self._run(self._write, update)
        record = await self._get(access_key_id)
        if record is None:
            raise KeyNotFound(f"no key {access_key_id} in {self.url}")
        return record

    async def _delete(self, access_key_id: str) -> None:
        def delete(db: sqlite3.Connection) -> None:
            cur = db.execute("DELETE FROM sigv4kit_keys WHERE access_key_id = ?", (access_key_id,))
            if cur.rowcount == 0:
                raise KeyNotFound(f"no key {access_key_id} in {self.url}")

        await self._run(self._write, delete)

    async def _rotate(self, old_id: str, new: KeyRecord, grace_until: datetime) -> None:
        def rotate(db: sqlite3.Connection) -> None:
            cur = db.execute(
                "UPDATE sigv4kit_keys SET grace_until = ?, replaced_by = ? WHERE access_key_id = ?",
                (_to_us(grace_until), new.access_key_id, old_id),
            )
            if cur.rowcount == 0:
                raise KeyNotFound(f"no key {old_id} in {self.url}")
            self._insert_rows(db, [new], False)

        await self._run(self._write, rotate)

    # -- feed, health, close ---------------------------------------------------------
    def _changes_since(self, seq: int | None) -> tuple[int, list[tuple[int, str, str]], bool]:
        db = self._db()
        lo, hi = db.execute("SELECT min(seq), max(seq) FROM sigv4kit_changes").fetchone()
        if seq is None:
            return (hi or 0), [], False
        if hi is None or hi <= seq:
            return seq, [], False
        gap = lo is not None and lo > seq + 1
        rows = db.execute(
            "SELECT seq, access_key_id, kind FROM sigv4kit_changes WHERE seq > ? ORDER BY seq",
            (seq,),
        ).fetchall()
        return hi, rows, gap

    async def watch(self) -> AsyncIterator[KeyChange]:
        seq, _, _ = await self._run(self._changes_since, None)
        yield KeyChange(None, "resync")
        while not self._closed:
            await asyncio.sleep(self.poll_interval)
            seq, rows, gap = await self._run(self._changes_since, seq)
            if gap:
                yield KeyChange(None, "resync")
                continue
            for _, akid, kind in rows:
                yield KeyChange(akid, kind)

    async def ping(self) -> None:
        await self._run(lambda: self._db().execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=False)
