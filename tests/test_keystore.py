"""One contract for every KeyStore backend: memory, SQLite and PostgreSQL (real servers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sigv4kit.errors import KeyExists, KeyNotFound, KeyStoreError, StoreUnavailable
from sigv4kit.keystore import (
    ImportedKey,
    KeyCache,
    KeyChange,
    KeyPolicy,
    KeyRecord,
    KeyStore,
    open_store,
)
from sigv4kit.keystore._crypto import MasterKey

MASTER = MasterKey.generate()
BACKENDS = ["memory", "sqlite", "postgres"]


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never read or write the user's ~/.config/sigv4kit/master.key.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY", raising=False)
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY_FILE", raising=False)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield f"memory://contract-{id(request)}"
    elif request.param == "sqlite":
        yield f"sqlite://{tmp_path}/keys.db"
    else:
        yield request.getfixturevalue("postgres_url")


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def opened(url: str) -> KeyStore:
    return await open_store(url, master_key=MASTER)


async def _next(it: AsyncIterator[KeyChange], timeout: float = 5.0) -> KeyChange:
    return await asyncio.wait_for(it.__anext__(), timeout)


def test_create_get_list_and_no_secret_in_repr(store_url: str) -> None:
    async def main() -> None:
        async with await opened(store_url) as store:
            rec = await store.create("alice")
            assert rec.access_key_id.startswith("SV4K") and len(rec.access_key_id) == 20
            assert len(rec.secret_access_key) == 40
            assert rec.secret_access_key not in repr(rec)
            assert rec.secret_access_key not in repr(await store.list())
            got = await store.get(rec.access_key_id)
            assert got == rec
            assert got is not None and got.usable() and got.name == "alice"
            assert await store.get("SV4KNOSUCHKEY0000000") is None
            assert await store.get("") is None
            other = await store.create("bob")
            assert [r.access_key_id for r in await store.list()] == [
                rec.access_key_id,
                other.access_key_id,
            ]
            await store.ping()

    run(main())


def test_v4a_public_key_is_stored_at_creation(store_url: str) -> None:
    from sigv4kit.v4a import public_key_for, sign_v4a, verify_v4a

    async def main() -> None:
        async with await opened(store_url) as store:
            rec = await store.create("v4a")
            got = await store.get(rec.access_key_id)
            assert got is not None and len(got.v4a_public_key) == 65
            want = public_key_for(rec.access_key_id, rec.secret_access_key).public_numbers()
            assert got.public_key().public_numbers() == want
            sig = sign_v4a(rec.access_key_id, rec.secret_access_key, "string to sign")
            assert verify_v4a(got.public_key(), "string to sign", sig)

    run(main())


def test_status_delete_and_missing_keys(store_url: str) -> None:
    async def main() -> None:
        async with await opened(store_url) as store:
            rec = await store.create("carol")
            off = await store.set_status(rec.access_key_id, "inactive")
            assert off.status == "inactive" and not off.usable() and off.state() == "inactive"
            got = await store.get(rec.access_key_id)
            assert got is not None and not got.usable()
            on = await store.set_status(rec.access_key_id, "active")
            assert on.usable()
            with pytest.raises(KeyStoreError, match="'active' or 'inactive'"):
                await store.set_status(rec.access_key_id, "paused")
            await store.delete(rec.access_key_id)
            assert await store.get(rec.access_key_id) is None
            with pytest.raises(KeyNotFound):
                await store.delete(rec.access_key_id)
            with pytest.raises(KeyNotFound):
                await store.set_status(rec.access_key_id, "active")
            with pytest.raises(KeyNotFound):
                await store.rotate(rec.access_key_id, 10)

    run(main())


def test_expiry_policy_and_rotation(store_url: str) -> None:
    async def main() -> None:
        async with await opened(store_url) as store:
            soon = datetime.now(timezone.utc) + timedelta(hours=1)
            policy = KeyPolicy.read_only("photos")
            rec = await store.create("dave", policy=policy, expires_at=soon)
            got = await store.get(rec.access_key_id)
            assert got is not None and got.policy == policy and got.expires_at == soon
            assert got.allows("GET", "/photos/cat.jpg") and not got.allows("PUT", "/photos/x")
            assert got.state(soon + timedelta(seconds=1)) == "expired"

            new = await store.rotate(rec.access_key_id, grace=timedelta(minutes=5))
            assert new.access_key_id != rec.access_key_id and new.name == "dave"
            assert new.policy == policy and new.expires_at == soon and new.usable()
            old = await store.get(rec.access_key_id)
            assert old is not None and old.replaced_by == new.access_key_id
            assert old.grace_until is not None
            assert old.usable()  # inside the grace period
            assert old.state(old.grace_until) == "rotated"
            # Rotating again never extends the grace period; grace 0 ends it now.
            newer = await store.rotate(rec.access_key_id, grace=0)
            old = await store.get(rec.access_key_id)
            assert old is not None and not old.usable() and old.replaced_by == newer.access_key_id
            assert len(await store.list()) == 3

    run(main())


def test_import_keys(store_url: str) -> None:
    async def main() -> None:
        async with await opened(store_url) as store:
            keys = [
                ImportedKey("AKIAIMPORTED0000001", "secret-one-" + "x" * 29, "one"),
                ImportedKey("AKIAIMPORTED0000002", "secret-two-" + "y" * 29, "two", "inactive"),
            ]
            done = await store.import_keys(keys)
            assert [r.access_key_id for r in done] == ["AKIAIMPORTED0000001", "AKIAIMPORTED0000002"]
            one = await store.get("AKIAIMPORTED0000001")
            assert one is not None and one.secret_access_key == keys[0].secret_access_key
            two = await store.get("AKIAIMPORTED0000002")
            assert two is not None and two.status == "inactive"
            clash = [ImportedKey("AKIAIMPORTED0000003", "s" * 40), keys[0]]
            with pytest.raises(KeyExists):
                await store.import_keys(clash)
            assert await store.get("AKIAIMPORTED0000003") is None  # all or none
            changed = ImportedKey("AKIAIMPORTED0000001", "a-new-secret-" + "z" * 27, "uno")
            await store.import_keys([changed], replace=True)
            one = await store.get("AKIAIMPORTED0000001")
            assert one is not None and one.name == "uno"
            assert one.secret_access_key == changed.secret_access_key

    run(main())


def test_change_feed_sees_every_change(store_url: str) -> None:
    async def main() -> None:
        async with await opened(store_url) as writer, await opened(store_url) as reader:
            feed = reader.watch()
            assert await _next(feed) == KeyChange(None, "resync")
            rec = await writer.create("eve")
            assert await _next(feed) == KeyChange(rec.access_key_id, "created")
            await writer.set_status(rec.access_key_id, "inactive")
            assert await _next(feed) == KeyChange(rec.access_key_id, "updated")
            await writer.delete(rec.access_key_id)
            assert await _next(feed) == KeyChange(rec.access_key_id, "deleted")
            await feed.aclose()  # type: ignore[attr-defined]

    run(main())


def test_cache_follows_revocation(store_url: str) -> None:
    async def main() -> None:
        async with await opened(store_url) as a, await opened(store_url) as b:
            rec = await a.create("frank")
            async with KeyCache(b, ttl=3600) as cache:
                assert await cache.wait_connected(5)
                assert await cache.lookup(rec.access_key_id) == rec.secret_access_key
                assert cache.peek(rec.access_key_id) == rec
                await a.set_status(rec.access_key_id, "inactive")
                for _ in range(500):
                    if await cache.lookup(rec.access_key_id) is None:
                        break
                    await asyncio.sleep(0.01)
                assert await cache.lookup(rec.access_key_id) is None
                # An unknown key is remembered as unknown until it is created.
                assert await cache.get("AKIAIMPORTED0000009") is None
                await a.import_keys([ImportedKey("AKIAIMPORTED0000009", "n" * 40)])
                for _ in range(500):
                    if await cache.get("AKIAIMPORTED0000009") is not None:
                        break
                    await asyncio.sleep(0.01)
                assert await cache.lookup("AKIAIMPORTED0000009") == "n" * 40

    run(main())


def test_open_store_rejects_bad_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGV4KIT_KEYS", raising=False)
    with pytest.raises(KeyStoreError, match=r"\$SIGV4KIT_KEYS"):
        run(open_store())
    with pytest.raises(KeyStoreError, match="absolute path"):
        run(open_store("sqlite://relative.db"))
    with pytest.raises(KeyStoreError, match=r"mysql://u:\*\*\*@h/db") as info:
        run(open_store("mysql://u:hunter2@h/db"))
    assert "hunter2" not in str(info.value)
    with pytest.raises(KeyStoreError, match="does not exist"):
        run(open_store(f"sqlite://{tmp_path}/missing/keys.db", master_key=MASTER))


def test_record_validation() -> None:
    with pytest.raises(KeyStoreError, match="timezone-aware"):
        KeyRecord("AKID", "s" * 40, expires_at=datetime(2030, 1, 1))
    with pytest.raises(KeyStoreError, match="empty"):
        KeyRecord("AKID", "")
    # What a gateway answers when the store is down: 503, not 403.
    exc = StoreUnavailable()
    assert (exc.status, exc.code) == (503, "ServiceUnavailable")
    assert isinstance(exc, KeyStoreError)
