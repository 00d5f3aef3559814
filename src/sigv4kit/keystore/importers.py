"""Key pairs from elsewhere: AWS credentials files, SeaweedFS and MinIO identities.  Pure.

Each parser returns the keys and notes (what was skipped and why); nothing
is written until the caller hands the keys to ``KeyStore.import_keys``.

* AWS shared credentials file (``~/.aws/credentials``): one key per profile
  with ``aws_access_key_id`` and ``aws_secret_access_key``; the profile name
  becomes the key's name.  Profiles with a session token are temporary
  credentials and are skipped.
* SeaweedFS ``s3.json`` (``{"identities": [{"name", "credentials":
  [{"accessKey", "secretKey"}], "actions": [...]}]}``): actions become a
  policy.  ``Admin`` allows everything, ``Read`` GET and HEAD on objects,
  ``List`` GET and HEAD on the bucket (the listing, not the objects),
  ``Write`` PUT, POST and DELETE on objects; ``Action:bucket`` (or
  ``Action:bucket/prefix*``) limits the action to that bucket or prefix.
  Other actions (``Tagging``, ``ReadAcp``..., a listing limited to a prefix)
  cannot be expressed as methods and paths without granting more, so they
  are left out and noted: the key gets less, never more.
* MinIO ``mc admin cluster iam export``: the zip (``iam-assets/users.json``,
  ``policies.json``, ``user_mappings.json``, ``groups.json``,
  ``group_mappings.json``).  Each user's policies -- its own and its enabled
  groups' -- are translated statement by statement (:func:`translate_iam`):
  ``s3:GetObject``, ``s3:PutObject``, ``s3:DeleteObject`` on objects,
  ``s3:ListBucket`` on buckets, ``s3:ListAllMyBuckets`` and ``s3:*``, with
  ``Resource`` patterns (``arn:aws:s3:::photos/2024/*``) kept as IAM reads
  them.  Other allowed actions are left out and noted (less access, never
  more).  What cannot be left out without granting *more* -- a ``Deny``, a
  ``Condition``, ``NotAction``, ``NotResource``, a ``Principal`` -- is refused:
  the import stops and names the user, the policy and the statement.  A user
  with no policy has no access in MinIO and is skipped.  Service accounts
  are not imported.  A bare ``users.json`` holds no policies: its keys get
  the policy given on the command line (``--allow-method`` / ``--allow-prefix``
  / ``--read-only``), and a policy name it mentions is noted, not translated.

Paths and query strings: the gateway's policies are methods and paths, so
a subresource (``?acl``, ``?tagging``) follows its method -- GET on an object
also reads its tags, as ``keys create --read-only`` does.
"""

from __future__ import annotations

import configparser
import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from ..errors import KeyStoreError
from ._model import ACTIVE, INACTIVE, Grant, ImportedKey, KeyPolicy

__all__ = [
    "detect_format",
    "from_aws_credentials",
    "from_minio",
    "from_minio_export",
    "from_seaweedfs",
    "parse",
    "translate_iam",
]

Result = tuple[list[ImportedKey], list[str]]

_READ = frozenset({"GET", "HEAD"})
_WRITE = frozenset({"PUT", "POST"})
#: SeaweedFS action -> (level, methods); None: everything.
_SEAWEED: dict[str, tuple[str, frozenset[str]] | None] = {
    "admin": None,
    "read": ("object", _READ),
    "list": ("bucket", _READ),
    "write": ("object", _WRITE | {"DELETE"}),
}
#: IAM action -> (level, methods) for the actions a method and a path express.
_IAM: dict[str, tuple[str, frozenset[str]]] = {
    "s3:getobject": ("object", _READ),
    "s3:putobject": ("object", _WRITE),
    "s3:deleteobject": ("object", frozenset({"DELETE"})),
    "s3:listbucket": ("bucket", _READ),
    "s3:listallmybuckets": ("service", frozenset({"GET"})),
}
_ARN = "arn:aws:s3:::"


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


def _seaweed_grant(action: str) -> Grant | str:
    """The grant for one SeaweedFS action, or why there is none."""
    verb, _, resource = action.partition(":")
    verb = verb.strip().lower()
    if verb not in _SEAWEED:
        return "has no method/path form"
    resource = resource.strip().lstrip("/")
    got = _SEAWEED[verb]
    if got is None:  # Admin: everything, on the bucket (or prefix) named
        return Grant() if not resource else Grant(resources=_below(resource))
    level, methods = got
    if not resource:
        return Grant(methods, resources=("*",), level=level)
    if level == "bucket":
        if "/" in resource.rstrip("/"):
            return "lists part of a bucket only, which a policy of paths cannot say"
        return Grant(methods, resources=(resource.rstrip("/"),), level=level)
    return Grant(methods, resources=_below(resource), level=level)


def _below(resource: str) -> tuple[str, ...]:
    # "bucket" or "bucket/dir": itself and what lies below; "bucket/user1-*": as given.
    if resource.endswith("*"):
        return (resource,)
    resource = resource.rstrip("/")
    return (resource, resource + "/*")


def from_seaweedfs(data: Mapping[str, Any]) -> Result:
    identities = data.get("identities")
    if not isinstance(identities, list):
        raise KeyStoreError("not a SeaweedFS identity file: no 'identities' list")

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
            if isinstance(grant, str):
                notes.append(f"identity {name!r}: action {action!r} {grant}, left out")
                continue
            grants.append(grant)
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
    """A bare ``users.json``: the keys, their state; no policies (see the module doc)."""
    keys, notes = [], []
    for akid, info in data.items():
        if not isinstance(info, Mapping) or not info.get("secretKey"):
            notes.append(f"user {akid!r}: no secretKey, skipped")
            continue
        status = INACTIVE if str(info.get("status", "enabled")) == "disabled" else ACTIVE
        if info.get("policy"):
            notes.append(
                f"user {akid!r}: MinIO policy {info['policy']!r} not translated (import the "
                "`mc admin cluster iam export` zip to translate it)"
            )
        keys.append(ImportedKey(str(akid), str(info["secretKey"]), str(akid), status))
    return keys, notes


_EXPRESSIBLE = frozenset({"Sid", "Effect", "Action", "Resource"})


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def translate_iam(doc: Any, where: str) -> tuple[list[Grant], list[str], list[str]]:
    """An IAM policy document as grants: ``(grants, notes, refusals)``.

    ``notes`` name what was left out (less access than the policy gives);
    ``refusals`` name the statements that cannot be expressed without
    giving *more* (Deny, Condition, NotAction, NotResource, Principal).
    ``where`` names the policy in both (``user 'u': policy 'p'``).
    """
    grants: list[Grant] = []
    notes: list[str] = []
    refusals: list[str] = []
    statements = doc.get("Statement") if isinstance(doc, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return [], [], [f"{where}: not an IAM policy document (no Statement list)"]
    for i, st in enumerate(statements, 1):
        sid = st.get("Sid") if isinstance(st, Mapping) else None
        label = f"{where} statement {i}" + (f" ({sid!r})" if sid else "")
        if not isinstance(st, Mapping):
            refusals.append(f"{label}: not a JSON object")
            continue
        extra = sorted(set(st) - _EXPRESSIBLE)
        effect = str(st.get("Effect", ""))
        if effect != "Allow" or extra:
            what = ", ".join(([f"Effect {effect!r}"] if effect != "Allow" else []) + extra)
            refusals.append(f"{label}: {what} cannot be expressed as methods and paths")
            continue
        patterns, other = [], []
        for r in _listed(st.get("Resource")):
            if r == "*" or r.startswith(_ARN):
                patterns.append("*" if r == "*" else r[len(_ARN) :])
            else:
                other.append(r)
        if other:
            notes.append(f"{label}: resources {other} are not S3 objects or buckets, left out")
        for action in _listed(st.get("Action")):
            a = action.lower()
            if a in ("s3:*", "*"):
                if "*" in patterns:
                    grants.append(Grant())
                elif patterns:
                    grants.append(Grant(resources=tuple(patterns)))
                continue
            if a not in _IAM:
                notes.append(f"{label}: action {action!r} has no method/path form, left out")
                continue
            level, methods = _IAM[a]
            if level == "service":
                if "*" in patterns:
                    grants.append(Grant(methods, level=level))
            elif patterns:
                grants.append(Grant(methods, resources=tuple(patterns), level=level))
    return grants, notes, refusals


def _json_member(files: Mapping[str, bytes], name: str) -> dict[str, Any]:
    raw = files.get(name)
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise KeyStoreError(f"the MinIO IAM export's {name} is not JSON: {exc}") from None
    return parsed if isinstance(parsed, dict) else {}


def _names(mapping: Any) -> list[str]:
    # user_mappings.json / group_mappings.json: {"policy": "a,b"}
    policy = mapping.get("policy", "") if isinstance(mapping, Mapping) else ""
    return [p.strip() for p in str(policy).split(",") if p.strip()]


def from_minio_export(files: Mapping[str, bytes]) -> Result:
    """The keys of ``mc admin cluster iam export`` with their policies translated.

    ``files`` maps the export's file names (``users.json``, ``policies.json``
    ...) to their bytes.  Raises KeyStoreError naming every statement that
    cannot be translated without widening access: nothing is imported then.
    """
    users = _json_member(files, "users.json")
    if "policies.json" not in files or (
        "user_mappings.json" not in files and "group_mappings.json" not in files
    ):
        return from_minio(users)  # no policies to translate: as a bare users.json
    policies = _json_member(files, "policies.json")
    user_map = _json_member(files, "user_mappings.json")
    group_map = _json_member(files, "group_mappings.json")
    groups = _json_member(files, "groups.json")
    keys, notes = from_minio(users)
    out: list[ImportedKey] = []
    refusals: list[str] = []
    for key in keys:
        names = _names(user_map.get(key.access_key_id))
        for group, info in groups.items():
            if (
                isinstance(info, Mapping)
                and info.get("status", "enabled") != "disabled"
                and key.access_key_id in (info.get("members") or [])
            ):
                names += [n for n in _names(group_map.get(group)) if n not in names]
        if not names:
            notes.append(f"user {key.access_key_id!r}: no policy (no access in MinIO), skipped")
            continue
        grants: list[Grant] = []
        for name in names:
            where = f"user {key.access_key_id!r}: policy {name!r}"
            if name not in policies:
                refusals.append(f"{where}: not in policies.json")
                continue
            got, more, refused = translate_iam(policies[name], where)
            grants += got
            notes += more
            refusals += refused
        if not grants:
            notes.append(f"user {key.access_key_id!r}: no S3 access it can be given, skipped")
            continue
        policy = None if Grant() in grants else KeyPolicy(tuple(dict.fromkeys(grants)))
        out.append(
            ImportedKey(key.access_key_id, key.secret_access_key, key.name, key.status, policy)
        )
    if refusals:
        raise KeyStoreError(
            "MinIO policies that cannot be translated without giving more access; nothing "
            "was imported. Rewrite or detach these statements in MinIO, or import users.json "
            "alone with --allow-method/--allow-prefix/--read-only:\n  " + "\n  ".join(refusals)
        )
    return out, notes


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
            files = {n.rpartition("/")[2]: z.read(n) for n in z.namelist() if n.endswith(".json")}
        if "users.json" not in files:
            raise KeyStoreError("the MinIO IAM export has no iam-assets/users.json")
        return from_minio_export(files)
    if fmt in ("minio", "seaweedfs"):
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise KeyStoreError(f"not a {fmt} JSON file: {exc}") from None
        if not isinstance(parsed, Mapping):
            raise KeyStoreError(f"not a {fmt} identity file: expected a JSON object")
        return from_seaweedfs(parsed) if fmt == "seaweedfs" else from_minio(parsed)
    raise KeyStoreError(f"unknown import format {fmt!r}: use auto, aws, seaweedfs or minio")
