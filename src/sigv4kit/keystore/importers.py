"""Key pairs from elsewhere: AWS credentials files, SeaweedFS and MinIO identities.  Pure.

Each parser returns the keys and notes (what was skipped and why); nothing
is written until the caller hands the keys to ``KeyStore.import_keys``.

* AWS shared credentials file (``~/.aws/credentials``): one key per profile
  with ``aws_access_key_id`` and ``aws_secret_access_key``; the profile name
  becomes the key's name.  Profiles with a session token are temporary
  credentials and are skipped.
* SeaweedFS ``s3.json`` (``{"identities": [{"name", "credentials":
  [{"accessKey", "secretKey"}], "actions": [...]}]}``): actions become a
  policy.  ``Admin`` allows everything, ``Read`` and ``List`` allow GET and
  HEAD, ``Write`` allows PUT, POST and DELETE; ``Action:bucket`` (or
  ``Action:bucket/prefix*``) limits the action to that bucket or prefix.
  Other actions (``Tagging``, ``ReadAcp``...) cannot be expressed as methods
  and paths without granting more, so they are left out and noted.
* MinIO ``mc admin cluster iam export``: the zip, or its
  ``iam-assets/users.json`` (``{"accessKey": {"secretKey", "status"}}``).
  MinIO policies are not translated: pass a policy to apply to all of them
  (the CLI's ``--allow-method`` / ``--allow-prefix`` / ``--read-only``).
"""

from __future__ import annotations

import configparser
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from ..errors import KeyStoreError
from ._model import ACTIVE, INACTIVE, ImportedKey, KeyPolicy

__all__ = ["detect_format", "from_aws_credentials", "from_minio", "from_seaweedfs", "parse"]

Result = tuple[list[ImportedKey], list[str]]

_SEAWEED_METHODS: dict[str, frozenset[str] | None] = {
    "admin": None,
    "read": frozenset({"GET", "HEAD"}),
    "list": frozenset({"GET", "HEAD"}),
    "write": frozenset({"PUT", "POST", "DELETE"}),
}


def from_aws_credentials(text: str) -> Result:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise KeyStoreError(f"not an AWS credentials file: {exc.message}") from None
    keys, notes = [], []
    for section in parser.sections():
        s = parser[section]
        akid = s.get("aws_access_key_id", "").strip()
        secret = s.get("aws_secret_access_key", "").strip()
        if not akid or not secret:
            notes.append(
                f"profile {section!r}: no aws_access_key_id/aws_secret_access_key, skipped"
            )
            continue
        if s.get("aws_session_token") or s.get("aws_security_token"):
            notes.append(f"profile {section!r}: temporary credentials (session token), skipped")
            continue
        name = section[len("profile ") :] if section.startswith("profile ") else section
        keys.append(ImportedKey(akid, secret, name))
    return keys, notes


def _seaweed_grant(action: str) -> tuple[frozenset[str] | None, str | None] | None:
    verb, _, resource = action.partition(":")
    verb = verb.strip().lower()
    if verb not in _SEAWEED_METHODS:
        return None
    prefix = None
    if resource:
        resource = resource.strip().lstrip("/")
        prefix = "/" + resource
    return _SEAWEED_METHODS[verb], prefix


def from_seaweedfs(data: Mapping[str, Any]) -> Result:
    identities = data.get("identities")
    if not isinstance(identities, list):
        raise KeyStoreError("not a SeaweedFS identity file: no 'identities' list")
    from ._model import Grant

    keys, notes = [], []
    for ident in identities:
        if not isinstance(ident, Mapping):
            continue
        name = str(ident.get("name", ""))
        creds = ident.get("credentials") or []
        if not creds:
            notes.append(f"identity {name!r}: no credentials (anonymous), skipped")
            continue
        grants: list[Grant] = []
        for action in ident.get("actions") or []:
            grant = _seaweed_grant(str(action))
            if grant is None:
                notes.append(
                    f"identity {name!r}: action {action!r} has no method/path form, left out"
                )
                continue
            methods, prefix = grant
            grants.append(Grant(methods, (prefix,) if prefix else None))
        if not grants:
            notes.append(f"identity {name!r}: no action it can be given, skipped")
            continue
        policy = None if any(g == Grant() for g in grants) else KeyPolicy(tuple(grants))
        for cred in creds:
            akid, secret = cred.get("accessKey"), cred.get("secretKey")
            if not akid or not secret:
                notes.append(
                    f"identity {name!r}: a credential without accessKey/secretKey, skipped"
                )
                continue
            keys.append(ImportedKey(str(akid), str(secret), name, policy=policy))
    return keys, notes


def from_minio(data: Mapping[str, Any]) -> Result:
    keys, notes = [], []
    for akid, info in data.items():
        if not isinstance(info, Mapping) or not info.get("secretKey"):
            notes.append(f"user {akid!r}: no secretKey, skipped")
            continue
        status = INACTIVE if str(info.get("status", "enabled")) == "disabled" else ACTIVE
        if info.get("policy"):
            notes.append(f"user {akid!r}: MinIO policy {info['policy']!r} not translated")
        keys.append(ImportedKey(str(akid), str(info["secretKey"]), str(akid), status))
    return keys, notes


def detect_format(data: bytes) -> str:
    """``minio`` (zip or users.json), ``seaweedfs`` or ``aws``, from the content."""
    if data[:4] == b"PK\x03\x04":
        return "minio"
    try:
        parsed = json.loads(data)
    except ValueError:
        return "aws"
    if isinstance(parsed, Mapping) and "identities" in parsed:
        return "seaweedfs"
    return "minio"


def parse(data: bytes, fmt: str = "auto") -> Result:
    """Keys and notes from a file's bytes; ``fmt``: auto, aws, seaweedfs or minio."""
    if fmt == "auto":
        fmt = detect_format(data)
    if fmt == "aws":
        return from_aws_credentials(data.decode("utf-8", "replace"))
    if fmt == "minio" and data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if n.endswith("users.json")]
            if not names:
                raise KeyStoreError("the MinIO IAM export has no iam-assets/users.json")
            data = z.read(names[0])
    if fmt in ("minio", "seaweedfs"):
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise KeyStoreError(f"not a {fmt} JSON file: {exc}") from None
        if not isinstance(parsed, Mapping):
            raise KeyStoreError(f"not a {fmt} identity file: expected a JSON object")
        return from_seaweedfs(parsed) if fmt == "seaweedfs" else from_minio(parsed)
    raise KeyStoreError(f"unknown import format {fmt!r}: use auto, aws, seaweedfs or minio")
