"""`keys import` translates MinIO and SeaweedFS permissions, never widening them.

The MinIO fixtures have the shape of ``mc admin cluster iam export``
(``iam-assets/users.json``, ``policies.json``, ``user_mappings.json``,
``groups.json``, ``group_mappings.json``; the built-in policies as MinIO
exports them).  Each translated key is checked request by request: what the
IAM policy allows is allowed, and what it does not is refused.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from sigv4kit.errors import KeyStoreError
from sigv4kit.keystore import KeyPolicy
from sigv4kit.keystore.importers import parse, translate_iam


def _statement(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


POLICIES: dict[str, Any] = {
    # MinIO's built-ins, as its export writes them
    "consoleAdmin": _policy(
        {"Effect": "Allow", "Action": ["admin:*"]},
        {"Effect": "Allow", "Action": ["kms:*"]},
        _statement(["s3:*"], ["arn:aws:s3:::*"]),
    ),
    "readonly": _policy(_statement(["s3:GetBucketLocation", "s3:GetObject"], ["arn:aws:s3:::*"])),
    "readwrite": _policy(_statement(["s3:*"], ["arn:aws:s3:::*"])),
    "writeonly": _policy(_statement(["s3:PutObject"], ["arn:aws:s3:::*"])),
    # the documented bucket-and-prefix shape
    "photos-team": _policy(
        _statement(["s3:ListBucket"], ["arn:aws:s3:::photos"]),
        _statement(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], ["arn:aws:s3:::photos/team/*"]
        ),
        _statement(["s3:GetObject"], ["arn:aws:s3:::public/*"]),
    ),
    "lister": _policy(_statement(["s3:ListAllMyBuckets", "s3:ListBucket"], ["arn:aws:s3:::*"])),
    "no-deletes": _policy(
        _statement(["s3:*"], ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]),
        {
            "Sid": "KeepLogs",
            "Effect": "Deny",
            "Action": ["s3:DeleteObject"],
            "Resource": ["arn:aws:s3:::logs/*"],
        },
    ),
    "office-only": _policy(
        _statement(
            ["s3:GetObject"],
            ["arn:aws:s3:::reports/*"],
            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        )
    ),
    "all-but-put": _policy(
        {"Effect": "Allow", "NotAction": ["s3:PutObject"], "Resource": ["arn:aws:s3:::*"]}
    ),
}

USERS = {
    "admin-user": {"secretKey": "admin-secret-0123456789", "status": "enabled"},
    "reader": {"secretKey": "reader-secret-0123456789", "status": "enabled"},
    "photographer": {"secretKey": "photo-secret-0123456789", "status": "enabled"},
    "grouped": {"secretKey": "grouped-secret-0123456789", "status": "disabled"},
    "nobody": {"secretKey": "nobody-secret-0123456789", "status": "enabled"},
}
USER_MAPPINGS = {
    "admin-user": {"version": 0, "policy": "consoleAdmin", "updatedAt": "2024-04-23T21:34:43Z"},
    "reader": {"version": 0, "policy": "readonly", "updatedAt": "2024-04-23T21:34:43Z"},
    "photographer": {"version": 0, "policy": "photos-team,lister", "updatedAt": "2024-04-23Z"},
}
GROUPS = {
    "writers": {"version": 1, "status": "enabled", "members": ["grouped"], "updatedAt": "x"},
    "off": {"version": 1, "status": "disabled", "members": ["grouped"], "updatedAt": "x"},
}
GROUP_MAPPINGS = {
    "writers": {"version": 0, "policy": "writeonly", "updatedAt": "x"},
    "off": {"version": 0, "policy": "readwrite", "updatedAt": "x"},
}


def _export(
    policies: dict[str, Any] | None = None, user_mappings: dict[str, Any] | None = None
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in (
            ("users.json", USERS),
            ("policies.json", POLICIES if policies is None else policies),
            ("user_mappings.json", USER_MAPPINGS if user_mappings is None else user_mappings),
            ("groups.json", GROUPS),
            ("group_mappings.json", GROUP_MAPPINGS),
            ("svcaccts.json", {}),
            ("stsuser_mappings.json", {}),
        ):
            z.writestr(f"iam-assets/{name}", json.dumps(content))
    return buf.getvalue()


def _allows(policy: KeyPolicy | None, method: str, path: str) -> bool:
    return policy is None or policy.allows(method, path)


def test_minio_export_policies_are_translated_exactly() -> None:
    found, notes = parse(_export())
    by_id = {k.access_key_id: k for k in found}
    assert set(by_id) == {"admin-user", "reader", "photographer", "grouped"}
    assert any("'nobody': no policy" in n for n in notes)
    assert by_id["admin-user"].policy is None  # s3:* on arn:aws:s3:::* is everything
    assert by_id["grouped"].status == "inactive"

    reader = by_id["reader"].policy
    assert reader is not None
    assert reader.allows("GET", "/any/object") and reader.allows("HEAD", "/b/k")
    assert not reader.allows("GET", "/any")  # GetObject does not list the bucket
    assert not reader.allows("GET", "/") and not reader.allows("PUT", "/b/k")
    assert any("s3:GetBucketLocation" in n and "left out" in n for n in notes)

    photo = by_id["photographer"].policy
    assert photo is not None
    checks = {
        ("GET", "/photos"): True,  # ListBucket on the bucket
        ("GET", "/photos/"): True,
        ("GET", "/photos/team/a.jpg"): True,
        ("PUT", "/photos/team/new.jpg"): True,
        ("DELETE", "/photos/team/old.jpg"): True,
        ("GET", "/photos/private/x.jpg"): False,  # listing the bucket reads no object
        ("PUT", "/photos/x.jpg"): False,
        ("GET", "/public/a"): True,
        ("PUT", "/public/a"): False,
        ("GET", "/"): True,  # ListAllMyBuckets
        ("GET", "/other"): True,  # lister: ListBucket on every bucket
        ("GET", "/other/k"): False,
        ("DELETE", "/photos"): False,
        ("GET", "/photos/team/../private/x"): False,
    }
    for (method, path), want in checks.items():
        assert photo.allows(method, path) is want, (method, path)

    grouped = by_id["grouped"].policy  # writeonly through an enabled group only
    assert grouped is not None
    assert grouped.allows("PUT", "/b/k") and grouped.allows("POST", "/b/k")
    assert not grouped.allows("GET", "/b/k") and not grouped.allows("PUT", "/b")


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("no-deletes", " statement 2 ('KeepLogs'): Effect 'Deny'"),
        ("office-only", " statement 1: Condition"),
        ("all-but-put", " statement 1: NotAction"),
        ("missing", ": not in policies.json"),
    ],
)
def test_what_cannot_be_expressed_is_refused_by_name(policy: str, said: str) -> None:
    mappings = dict(USER_MAPPINGS, reader={"version": 0, "policy": f"readonly,{policy}"})
    with pytest.raises(KeyStoreError) as err:
        parse(_export(user_mappings=mappings))
    message = str(err.value)
    assert f"user 'reader': policy '{policy}'{said}" in message, message
    assert "nothing was imported" in message and "secret" not in message


def test_translate_iam_statement_shapes() -> None:
    # a single statement object, string Action/Resource, a bare "*" resource
    grants, notes, refusals = translate_iam(
        {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}, "p"
    )
    assert refusals == [] and notes == []
    assert KeyPolicy(tuple(grants)).allows("GET", "/b/k")
    grants, notes, refusals = translate_iam(
        _policy(_statement(["s3:GetObject"], ["arn:aws:s3:::b/2024-??/*"])), "p"
    )
    policy = KeyPolicy(tuple(grants))
    assert policy.allows("GET", "/b/2024-05/x") and not policy.allows("GET", "/b/2024-5/x")
    _, notes, _ = translate_iam(
        _policy(_statement(["s3:GetObject"], ["arn:aws:sqs:us-east-1:1:q"])), "p"
    )
    assert any("not S3 objects or buckets" in n for n in notes)
    assert translate_iam({"nope": 1}, "p")[2] == [
        "p: not an IAM policy document (no Statement list)"
    ]


def test_translated_policies_survive_the_store_json() -> None:
    found, _ = parse(_export())
    for key in found:
        if key.policy is not None:
            again = KeyPolicy.from_json(json.loads(json.dumps(key.policy.to_json())))
            assert again == key.policy


SEAWEED = {
    "identities": [
        {
            "name": "lister",
            "credentials": [{"accessKey": "SWLIST0000000001", "secretKey": "list-secret-000"}],
            "actions": ["List:photos", "List:photos/2024*", "Read:public", "Write:up/user1-*"],
        },
        {
            "name": "everything-in-one",
            "credentials": [{"accessKey": "SWBUCKET00000001", "secretKey": "bucket-secret-0"}],
            "actions": ["Admin:tenant1"],
        },
    ]
}


def test_seaweedfs_list_does_not_read_and_read_does_not_list() -> None:
    found, notes = parse(json.dumps(SEAWEED).encode())
    by_id = {k.access_key_id: k.policy for k in found}
    lister = by_id["SWLIST0000000001"]
    assert lister is not None
    assert lister.allows("GET", "/photos") and not lister.allows("GET", "/photos/secret.jpg")
    assert lister.allows("GET", "/public/a") and not lister.allows("GET", "/public")
    assert lister.allows("PUT", "/up/user1-a") and not lister.allows("PUT", "/up/user2-a")
    assert any("'List:photos/2024*' lists part of a bucket" in n for n in notes)
    tenant = by_id["SWBUCKET00000001"]
    assert tenant is not None
    assert tenant.allows("DELETE", "/tenant1") and tenant.allows("PUT", "/tenant1/a/b")
    assert not tenant.allows("GET", "/tenant10") and not tenant.allows("GET", "/")


def test_cli_import_stores_the_translation_or_nothing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from sigv4kit.cli._commands import cli

    monkeypatch.delenv("SIGV4KIT_MASTER_KEY", raising=False)
    monkeypatch.delenv("SIGV4KIT_MASTER_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "SIGV4KIT_KEYS": f"sqlite://{tmp_path}/k.db",
    }

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["keys", *args], env=env, catch_exceptions=False)

    bad = tmp_path / "bad.zip"
    mappings = dict(USER_MAPPINGS, reader={"version": 0, "policy": "no-deletes"})
    bad.write_bytes(_export(user_mappings=mappings))
    refused = run("import", str(bad))
    assert refused.exit_code != 0 and "'KeepLogs'): Effect 'Deny'" in refused.output
    good = tmp_path / "export.zip"
    good.write_bytes(_export())
    created = run("import", str(good))
    assert created.exit_code == 0, created.output
    listed = run("list", "--json")
    assert {r["access_key_id"] for r in json.loads(listed.stdout)} == {
        "admin-user",
        "reader",
        "photographer",
        "grouped",
    }  # the refused import stored nothing before this one
    shown = json.loads(run("show", "reader", "--json").stdout)
    assert shown["policy"] == {
        "grants": [{"level": "object", "methods": ["GET", "HEAD"], "resources": ["*"]}]
    }
