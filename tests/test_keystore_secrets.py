"""Secrets at rest (a stolen database leaks none), the master key's life cycle, key policies."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from sigv4kit.errors import AccessDenied, InvalidMasterKey, KeyStoreError
from sigv4kit.keystore import Grant, KeyPolicy, KeyRecord, open_store
from sigv4kit.keystore._crypto import MasterKey


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY", raising=False)
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY_FILE", raising=False)
    return config


def _files(*paths: Path) -> list[Path]:
    out = []
    for p in paths:
        if p.is_dir():
            out += [Path(root, f) for root, _, files in os.walk(p) for f in files]
        elif p.exists():
            out.append(p)
    return out


def _assert_no_secret(paths: list[Path], records: list[KeyRecord], must_hold: str) -> None:
    """No file holds a secret (as text, half of it, or its raw bytes); one holds ``must_hold``."""
    needles = []
    for r in records:
        secret = r.secret_access_key.encode()
        needles += [secret[:20], secret[20:], base64.b64decode(secret)]
    seen = False
    for path in paths:
        data = path.read_bytes()
        seen = seen or must_hold.encode() in data
        for needle in needles:
            assert needle not in data, f"a secret is readable in {path}"
    assert seen, "the access key id is in none of the files: the wrong files were read"


def test_stolen_sqlite_file_leaks_no_secret(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"

    async def main() -> list[KeyRecord]:
        async with await open_store(f"sqlite://{db}") as store:
            recs = [await store.create(f"user{i}") for i in range(20)]
            for r in recs[:5]:
                await store.delete(r.access_key_id)  # freed pages hold nothing either
            recs.append(await store.rotate(recs[6].access_key_id, 60))
            return recs

    records = asyncio.run(main())
    files = _files(db, Path(f"{db}-wal"), Path(f"{db}-shm"))
    _assert_no_secret(files, records, records[10].access_key_id)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_stolen_postgres_data_directory_leaks_no_secret(
    postgres_url: str, pg_cluster: object
) -> None:
    pytest.importorskip("psycopg")

    async def main() -> tuple[list[KeyRecord], int]:
        async with await open_store(postgres_url, master_key=MasterKey.generate()) as store:
            recs = [await store.create(f"user{i}") for i in range(10)]
            import psycopg

            async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as c:
                await c.execute("CHECKPOINT")
                cur = await c.execute(
                    "SELECT oid FROM pg_database WHERE datname = current_database()"
                )
                row = await cur.fetchone()
                assert row is not None
            return recs, int(row[0])

    records, oid = asyncio.run(main())
    data_dir = Path(pg_cluster.data)  # type: ignore[attr-defined]
    # This database's files and the write-ahead log (where every insert lands first).
    files = _files(data_dir / "base" / str(oid), data_dir / "pg_wal")
    _assert_no_secret(files, records, records[3].access_key_id)


def test_master_key_created_for_a_new_store_then_required(
    tmp_path: Path, _isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite://{tmp_path}/keys.db"

    async def create() -> tuple[KeyRecord, str | None]:
        async with await open_store(url) as store:
            return await store.create("x"), store.master_key_created

    rec, created = asyncio.run(create())
    key_file = _isolated_config / "sigv4kit" / "master.key"
    assert created == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    async def read(**kw: object) -> KeyRecord | None:
        async with await open_store(url, **kw) as store:  # type: ignore[arg-type]
            assert store.master_key_created is None
            return await store.get(rec.access_key_id)

    got = asyncio.run(read())
    assert got is not None and got.secret_access_key == rec.secret_access_key
    # The same key from the environment, from a named file, as hex.
    text = key_file.read_text()
    monkeypatch.setenv("SIGV4KIT_MASTER_KEY", text.strip())
    assert asyncio.run(read()) == got
    monkeypatch.setenv("SIGV4KIT_MASTER_KEY", base64.b64decode(text).hex())
    assert asyncio.run(read()) == got
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY")
    moved = tmp_path / "elsewhere.key"
    key_file.rename(moved)
    # No key at all for an existing store: a plain error naming the key id.
    with pytest.raises(InvalidMasterKey, match=r"SIGV4KIT_MASTER_KEY") as info:
        asyncio.run(read())
    assert MasterKey.parse(text).key_id in str(info.value)
    monkeypatch.setenv("SIGV4KIT_MASTER_KEY_FILE", str(moved))
    assert asyncio.run(read()) == got
    # The wrong key is refused before any secret is touched.
    with pytest.raises(InvalidMasterKey, match="is not the one"):
        asyncio.run(read(master_key=MasterKey.generate()))
    monkeypatch.setenv("SIGV4KIT_MASTER_KEY", "too-short")
    with pytest.raises(InvalidMasterKey, match="32 bytes"):
        asyncio.run(read())
    assert text.strip() not in repr(MasterKey.parse(text))


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    key = MasterKey.generate()

    async def make() -> tuple[KeyRecord, KeyRecord]:
        async with await open_store(f"sqlite://{db}", master_key=key) as store:
            return await store.create("victim"), await store.create("attacker")

    victim, attacker = asyncio.run(make())
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE sigv4kit_keys SET secret = (SELECT secret FROM sigv4kit_keys "
            "WHERE access_key_id = ?) WHERE access_key_id = ?",
            (victim.access_key_id, attacker.access_key_id),
        )

    async def read() -> None:
        async with await open_store(f"sqlite://{db}", master_key=key) as store:
            await store.get(attacker.access_key_id)

    with pytest.raises(InvalidMasterKey, match="tampered"):
        asyncio.run(read())


# -- policies ----------------------------------------------------------------------------
def test_policy_prefixes_and_methods() -> None:
    ro = KeyPolicy.read_only("photos")
    assert ro.allows("GET", "/photos") and ro.allows("head", "/photos/a/b.jpg")
    assert ro.allows("GET", "/photos/a?x-id=GetObject")
    assert not ro.allows("PUT", "/photos/a") and not ro.allows("DELETE", "/photos/a")
    assert not ro.allows("GET", "/photos-private/a") and not ro.allows("GET", "/")
    # Dot segments, raw or encoded, could climb out of the prefix downstream.
    for path in ("/photos/../secret", "/photos/%2e%2e/secret", "/photos/./a", "/photos\\..\\x"):
        assert not ro.allows("GET", path), path
    assert ro.allows("GET", "/photos/a b") and ro.allows("GET", "/photos/100%")
    # The path comes decoded once; decoding again would let other names pass for /photos.
    assert not ro.allows("GET", "/ph%6ftos/a") and not ro.allows("GET", "/photos%2Fx")
    assert KeyPolicy.read_only().allows("GET", "/anything/..")  # no path rule: S3 keys as-is
    with pytest.raises(AccessDenied) as info:
        ro.check("PUT", "/photos/a")
    assert info.value.status == 403 and info.value.code == "AccessDenied"

    star = KeyPolicy.simple(prefixes=["/b/user1-*", "/c/"])
    assert star.allows("PUT", "/b/user1-x") and not star.allows("PUT", "/b/user2-x")
    assert star.allows("GET", "/c/x") and not star.allows("GET", "/c")

    two = KeyPolicy((Grant(frozenset({"GET"})), Grant(frozenset({"PUT"}), ("/uploads",))))
    assert two.allows("GET", "/any") and two.allows("PUT", "/uploads/x")
    assert not two.allows("PUT", "/other")


def test_policy_json_round_trip_and_validation() -> None:
    two = KeyPolicy((Grant(frozenset({"GET"})), Grant(frozenset({"PUT"}), ("/uploads",))))
    assert KeyPolicy.from_json(two.to_json()) == two
    assert KeyPolicy.from_json({"methods": ["get"]}) == KeyPolicy.simple(["GET"])
    assert KeyPolicy.from_json(None) is None
    for bad in ({"grants": "x"}, {"grants": [{"verbs": []}]}, ["GET"]):
        with pytest.raises(KeyStoreError):
            KeyPolicy.from_json(bad)  # type: ignore[arg-type]
    with pytest.raises(KeyStoreError, match="start with '/'"):
        KeyPolicy.simple(prefixes=["photos"])
    with pytest.raises(KeyStoreError, match=r"'\.\.'"):
        KeyPolicy.simple(prefixes=["/a/../b"])
    with pytest.raises(KeyStoreError, match="not one string"):
        Grant(None, "/photos")  # type: ignore[arg-type]
