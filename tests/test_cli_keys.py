"""`sigv4kit keys`: create prints the secret once, list/show never, the rest round-trips."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sigv4kit.cli._commands import cli
from sigv4kit.cli._keys import parse_duration
from sigv4kit.keystore import open_store
from sigv4kit.keystore.importers import parse


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY", raising=False)
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # for in-process reads
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "SIGV4KIT_KEYS": f"sqlite://{tmp_path}/keys.db",
    }


def keys(env: dict[str, str], *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, ["keys", *args], env=env, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result


def test_create_prints_the_secret_exactly_once_and_never_again(env: dict[str, str]) -> None:
    first = keys(env, "create", "--name", "alice")
    assert "Created a new master key" in first.stderr  # a new store
    akid = first.stdout.split("Access key id:")[1].split()[0]
    secret = first.stdout.split("Secret access key:")[1].split()[0]
    assert first.stdout.count(secret) == 1 and "shown only this once" in first.stderr

    made = json.loads(keys(env, "create", "--name", "bob", "--json").stdout)
    assert set(made) == {"access_key_id", "secret_access_key", "name"}
    assert made["name"] == "bob" and len(made["secret_access_key"]) == 40

    listed = keys(env, "list")
    shown = keys(env, "show", akid)
    as_json = keys(env, "list", "--json")
    for r in (listed, shown, as_json):
        assert secret not in r.output and made["secret_access_key"] not in r.output
    assert akid in listed.stdout and "alice" in listed.stdout
    rows = json.loads(as_json.stdout)
    assert [r["name"] for r in rows] == ["alice", "bob"]
    assert "Created a new master key" not in listed.stderr  # only when the store is new

    # The stored secret is the printed one.
    async def stored() -> str | None:
        async with await open_store(env["SIGV4KIT_KEYS"]) as store:
            rec = await store.get(akid)
            return rec.secret_access_key if rec else None

    assert asyncio.run(stored()) == secret


def test_disable_enable_rotate_delete(env: dict[str, str]) -> None:
    made = json.loads(keys(env, "create", "--name", "carol", "--json").stdout)
    akid = made["access_key_id"]
    assert keys(env, "disable", akid).stdout.strip() == f"{akid}: inactive"
    assert json.loads(keys(env, "show", akid, "--json").stdout)["state"] == "inactive"
    assert keys(env, "enable", akid).stdout.strip() == f"{akid}: active"
    rotated = json.loads(keys(env, "rotate", akid, "--grace", "1h", "--json").stdout)
    assert rotated["name"] == "carol" and rotated["access_key_id"] != akid
    old = json.loads(keys(env, "show", akid, "--json").stdout)
    assert old["replaced_by"] == rotated["access_key_id"] and old["state"] == "active"
    assert old["grace_until"] is not None
    keys(env, "delete", akid)
    missing = keys(env, "show", akid, ok=False)
    assert f"no key {akid}" in missing.stderr and "Traceback" not in missing.output
    assert f"no key {akid}" in keys(env, "disable", akid, ok=False).stderr


def test_create_with_policy_and_expiry(env: dict[str, str]) -> None:
    made = json.loads(
        keys(
            env,
            "create",
            "--name",
            "r",
            "--read-only",
            "--allow-prefix",
            "/photos",
            "--expires",
            "30d",
            "--json",
        ).stdout
    )
    shown = json.loads(keys(env, "show", made["access_key_id"], "--json").stdout)
    assert shown["policy"] == {"grants": [{"methods": ["GET", "HEAD"], "prefixes": ["/photos"]}]}
    assert shown["expires_at"] is not None
    assert "GET,HEAD /photos" in keys(env, "list").stdout
    bad = keys(env, "create", "--allow-prefix", "photos", ok=False)
    assert "must start with '/'" in bad.stderr
    assert "duration" in keys(env, "create", "--expires", "soon", ok=False).stderr


def test_store_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env)
    del env["SIGV4KIT_KEYS"]
    assert "SIGV4KIT_KEYS" in keys(env, "list", ok=False).stderr
    r = keys(env, "--store", "postgresql://u:hunter2@127.0.0.1:1/x", "list", ok=False)
    assert "cannot be reached" in r.stderr and "hunter2" not in r.output
    assert "Traceback" not in r.output


def test_duration() -> None:
    assert parse_duration("90").total_seconds() == 90
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("2w").days == 14
    with pytest.raises(Exception, match="duration"):
        parse_duration("1x")


# -- import --------------------------------------------------------------------------------
AWS = """
[default]
aws_access_key_id = AKIAIMPORTDEFAULT01
aws_secret_access_key = default-secret-0123456789abcdefghijklmn
[profile ci]
aws_access_key_id = AKIAIMPORTCI000001
aws_secret_access_key = ci-secret-0123456789abcdefghijklmnopqrs
[temporary]
aws_access_key_id = ASIATEMPORARY00001
aws_secret_access_key = temp-secret
aws_session_token = token
[empty]
region = us-east-1
"""

SEAWEED = {
    "identities": [
        {"name": "anonymous", "actions": ["Read"]},
        {
            "name": "admin",
            "credentials": [{"accessKey": "SWADMIN00000000001", "secretKey": "admin-secret-000"}],
            "actions": ["Admin", "Read", "Write"],
        },
        {
            "name": "reader",
            "credentials": [{"accessKey": "SWREADER000000001", "secretKey": "reader-secret-00"}],
            "actions": ["Read:photos", "List:photos", "Write:uploads/user1-*", "Tagging"],
        },
    ]
}

MINIO = {
    "minio-user1": {"secretKey": "minio-secret-1-0123456789", "status": "enabled"},
    "minio-user2": {"secretKey": "minio-secret-2-0123456789", "status": "disabled", "policy": "rw"},
}


def test_importers_pure() -> None:
    found, notes = parse(AWS.encode())
    assert [(k.access_key_id, k.name) for k in found] == [
        ("AKIAIMPORTDEFAULT01", "default"),
        ("AKIAIMPORTCI000001", "ci"),
    ]
    assert any("temporary" in n for n in notes) and any("empty" in n for n in notes)

    found, notes = parse(json.dumps(SEAWEED).encode())
    by_id = {k.access_key_id: k for k in found}
    assert set(by_id) == {"SWADMIN00000000001", "SWREADER000000001"}
    assert by_id["SWADMIN00000000001"].policy is None  # Admin: everything
    reader = by_id["SWREADER000000001"].policy
    assert reader is not None
    assert reader.allows("GET", "/photos/a") and not reader.allows("PUT", "/photos/a")
    assert reader.allows("PUT", "/uploads/user1-x") and not reader.allows("PUT", "/uploads/u2")
    assert not reader.allows("GET", "/other")
    assert any("Tagging" in n for n in notes) and any("anonymous" in n for n in notes)

    found, notes = parse(json.dumps(MINIO).encode())
    assert [(k.access_key_id, k.status) for k in found] == [
        ("minio-user1", "active"),
        ("minio-user2", "inactive"),
    ]
    assert any("'rw' not translated" in n for n in notes)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("iam-assets/users.json", json.dumps(MINIO))
        z.writestr("iam-assets/policies.json", "{}")
    assert [k.access_key_id for k in parse(buf.getvalue())[0]] == ["minio-user1", "minio-user2"]


def test_import_command(env: dict[str, str], tmp_path: Path) -> None:
    aws = tmp_path / "credentials"
    aws.write_text(AWS)
    out = keys(env, "import", str(aws), "--read-only")
    assert "AKIAIMPORTDEFAULT01  default" in out.stdout and "temporary" in out.stderr
    assert "default-secret" not in out.output
    shown = json.loads(keys(env, "show", "AKIAIMPORTCI000001", "--json").stdout)
    assert shown["policy"]["grants"][0]["methods"] == ["GET", "HEAD"]
    # Again: all refused (they exist) unless --replace.
    assert "already exists" in keys(env, "import", str(aws), ok=False).stderr
    keys(env, "import", str(aws), "--replace")
    assert json.loads(keys(env, "show", "AKIAIMPORTCI000001", "--json").stdout)["policy"] is None

    sw = tmp_path / "s3.json"
    sw.write_text(json.dumps(SEAWEED))
    imported = json.loads(keys(env, "import", str(sw), "--json").stdout)
    assert {k["access_key_id"] for k in imported} == {"SWADMIN00000000001", "SWREADER000000001"}

    mz = tmp_path / "export.zip"
    with zipfile.ZipFile(mz, "w") as z:
        z.writestr("iam-assets/users.json", json.dumps(MINIO))
    keys(env, "import", str(mz))
    assert json.loads(keys(env, "show", "minio-user2", "--json").stdout)["state"] == "inactive"
    nothing = tmp_path / "nothing"
    nothing.write_text("[x]\nregion = y\n")
    assert "no key pairs" in keys(env, "import", str(nothing), ok=False).stderr


def test_keys_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "SIGV4KIT_KEYS": postgres_url}
    made = json.loads(keys(env, "create", "--name", "pg", "--json").stdout)
    assert made["access_key_id"] in keys(env, "list").stdout
    keys(env, "disable", made["access_key_id"])
    assert "inactive" in keys(env, "show", made["access_key_id"]).stdout
