"""The key store's values: records, policies, changes.  Pure: no I/O here.

A :class:`KeyRecord` is what every backend stores and every node caches.  It
is immutable, so a cached record can be handed to many concurrent requests;
its secret never appears in its ``repr`` (records get logged, printed in
tracebacks and shown by debuggers).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote

from ..errors import AccessDenied, KeyStoreError

__all__ = [
    "ACTIVE",
    "INACTIVE",
    "Grant",
    "ImportedKey",
    "KeyChange",
    "KeyPolicy",
    "KeyRecord",
    "new_access_key_id",
    "new_secret_access_key",
    "utcnow",
]

ACTIVE: Literal["active"] = "active"
INACTIVE: Literal["inactive"] = "inactive"
Status = Literal["active", "inactive"]
_STATUSES = (ACTIVE, INACTIVE)

#: Access key ids look like AWS's (20 characters of A-Z and 2-7), with a
#: prefix of their own so an operator can tell a gateway key from an AWS key.
ACCESS_KEY_PREFIX = "SV4K"


def utcnow() -> datetime:
    """Now, timezone-aware, truncated to microseconds (what every backend stores)."""
    return datetime.now(timezone.utc)


def new_access_key_id() -> str:
    """A fresh access key id: ``SV4K`` + 16 random base32 characters (80 bits)."""
    return ACCESS_KEY_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def new_secret_access_key() -> str:
    """A fresh secret: 40 base64 characters (240 bits), AWS's length and alphabet."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def check_status(status: str) -> Status:
    if status not in _STATUSES:
        raise KeyStoreError(f"status must be 'active' or 'inactive', got {status!r}")
    return status


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise KeyStoreError(f"{what} must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return value


# --------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------
def _bad_path(path: str) -> bool:
    # A prefix check on a path that a later hop normalizes is a bypass:
    # "/public/../private" starts with "/public/".  S3 keys may contain such
    # segments literally, but a restricted key has no business sending them.
    if "\\" in path or "\x00" in path:
        return True
    return any(seg in (".", "..") for seg in path.split("/"))


#: What a path names, for a grant with a ``level``: ``/`` the service (the
#: bucket list), ``/bucket`` or ``/bucket/`` a bucket, ``/bucket/key`` an object.
LEVELS = ("service", "bucket", "object")


def resource_of(path: str) -> tuple[str, str]:
    """``(level, resource)`` of a path-style path: ``("object", "b/k")``, ``("bucket", "b")``..."""
    rest = path[1:] if path[:1] == "/" else path
    if not rest:
        return "service", ""
    bucket, _, key = rest.partition("/")
    return ("object", rest) if key else ("bucket", bucket)


@lru_cache(maxsize=1024)
def _pattern(glob: str) -> re.Pattern[str]:
    # IAM's resource matching: * is any run of characters (/ included), ? one.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body, re.DOTALL)


@dataclass(frozen=True)
class Grant:
    """One permission: these methods on paths under these prefixes.

    ``methods`` None means every method; ``prefixes`` None means every path.
    A prefix ending in ``/`` or ``*`` matches by plain string prefix (``*``
    is dropped: ``/photos/user1-*``); any other prefix matches the path
    itself or what lies below it as a path segment, so ``/photos`` allows
    ``/photos`` and ``/photos/a`` but not ``/photos-private``.

    ``resources`` and ``level`` say it the way IAM policies do (what
    ``keys import`` translates MinIO and SeaweedFS permissions into):
    ``level`` limits the grant to paths naming the service (``/``), a bucket
    (``/b``) or an object (``/b/key``), and ``resources`` are patterns over
    ``bucket`` or ``bucket/key`` in which ``*`` matches any characters and
    ``?`` one, as in ``arn:aws:s3:::photos/2024/*``.  So ``s3:ListBucket``
    on a bucket does not also read its objects, and ``s3:GetObject`` on
    ``photos/*`` does not list the bucket.
    """

    methods: frozenset[str] | None = None
    prefixes: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        if self.methods is not None:
            object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        if self.prefixes is not None:
            if isinstance(self.prefixes, str):
                raise KeyStoreError("prefixes must be a sequence of paths, not one string")
            prefixes = tuple(self.prefixes)
            for p in prefixes:
                if not p.startswith("/"):
                    raise KeyStoreError(f"a path prefix must start with '/', got {p!r}")
                if _bad_path(p.rstrip("*")):
                    raise KeyStoreError(f"a path prefix may not contain '.' or '..': {p!r}")
            object.__setattr__(self, "prefixes", prefixes)
        if self.resources is not None:
            if isinstance(self.resources, str):
                raise KeyStoreError("resources must be a sequence of patterns, not one string")
            object.__setattr__(self, "resources", tuple(self.resources))
        if self.level is not None and self.level not in LEVELS:
            raise KeyStoreError(
                f"a grant's level is one of {', '.join(LEVELS)}, got {self.level!r}"
            )

    @property
    def restricts_paths(self) -> bool:
        return self.prefixes is not None or self.resources is not None or self.level is not None

    def allows(self, method: str, path: str) -> bool:
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.level is not None or self.resources is not None:
            level, resource = resource_of(path)
            if self.level is not None and level != self.level:
                return False
            if self.resources is not None and not any(
                _pattern(r).fullmatch(resource) for r in self.resources
            ):
                return False
        if self.prefixes is None:
            return True
        for prefix in self.prefixes:
            if prefix.endswith("*"):
                if path.startswith(prefix[:-1]):
                    return True
            elif prefix.endswith("/"):
                if path.startswith(prefix):
                    return True
            elif path == prefix or path.startswith(prefix + "/"):
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.methods is not None:
            out["methods"] = sorted(self.methods)
        if self.prefixes is not None:
            out["prefixes"] = list(self.prefixes)
        if self.resources is not None:
            out["resources"] = list(self.resources)
        if self.level is not None:
            out["level"] = self.level
        return out

    @classmethod
    def from_json(cls, g: Any) -> Grant:
        if not isinstance(g, Mapping) or set(g) - _GRANT_FIELDS:
            raise KeyStoreError(
                "each grant is an object with optional 'methods', 'prefixes' and 'resources' "
                "lists and a 'level'"
            )
        listed = {k: (tuple(g[k]) if g.get(k) is not None else None) for k in _GRANT_FIELDS}
        return cls(
            frozenset(listed["methods"]) if listed["methods"] is not None else None,
            listed["prefixes"],
            listed["resources"],
            g.get("level"),
        )


_GRANT_FIELDS = frozenset({"methods", "prefixes", "resources", "level"})


@dataclass(frozen=True)
class KeyPolicy:
    """What a key may do: a request is allowed when any grant allows it.

    ``path`` is the request path percent-decoded once, as the upstream will
    read it (the gateway's ``policy_path``), path-style for S3
    (``/bucket/key``; a virtual-hosted request's bucket comes from its Host
    and must be put in front by the caller).  Prefixes are matched against it as given, never
    decoded again: a second decoding would let ``/ph%256Ftos`` pass for
    ``/photos``.  Paths with ``.`` or ``..`` segments, as given or decoded
    once more, are refused when any grant restricts paths (a raw path that
    was not decoded is then still safe, only stricter).  A key with no policy
    (``None``) may do everything.
    """

    grants: tuple[Grant, ...] = (Grant(),)

    @classmethod
    def simple(
        cls, methods: Iterable[str] | None = None, prefixes: Iterable[str] | None = None
    ) -> KeyPolicy:
        """One grant: ``methods`` on ``prefixes`` (None: all)."""
        return cls(
            (
                Grant(
                    frozenset(methods) if methods is not None else None,
                    tuple(prefixes) if prefixes is not None else None,
                ),
            )
        )

    @classmethod
    def read_only(cls, bucket: str | None = None) -> KeyPolicy:
        """GET and HEAD, on one bucket (path-style ``/bucket``) or everywhere."""
        return cls.simple({"GET", "HEAD"}, None if bucket is None else ["/" + bucket.strip("/")])

    def allows(self, method: str, path: str) -> bool:
        """Whether the key may send ``method`` to ``path`` (the query is ignored)."""
        path = path.split("?", 1)[0]
        if any(g.restricts_paths for g in self.grants):
            if _bad_path(path) or ("%" in path and _bad_path(unquote(path))):
                return False
        return any(g.allows(method, path) for g in self.grants)

    def check(self, method: str, path: str) -> None:
        """Raise :class:`~sigv4kit.errors.AccessDenied` (403, as S3 does) unless allowed."""
        if not self.allows(method, path):
            raise AccessDenied()

    def to_json(self) -> dict[str, Any]:
        return {"grants": [g.to_json() for g in self.grants]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> KeyPolicy | None:
        """Parse ``{"grants": [{"methods": [...], "prefixes": [...]}]}`` (or one grant's keys)."""
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise KeyStoreError("a key policy must be a JSON object")
        raw = data.get("grants")
        grants = raw if raw is not None else [data]
        if not isinstance(grants, list):
            raise KeyStoreError("a key policy's 'grants' must be a list")
        out = [Grant.from_json(g) for g in grants]
        return cls(tuple(out))


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyRecord:
    """One access key, as stored.

    ``v4a_public_key`` is the SigV4a public key (SEC1 uncompressed point,
    65 bytes), derived once when the key is created so a verifier never
    derives it per request.  ``grace_until`` is set on a rotated key: it
    keeps working until then (``replaced_by`` names its successor).
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    name: str = ""
    status: Status = ACTIVE
    created_at: datetime = field(default_factory=utcnow)
    expires_at: datetime | None = None
    policy: KeyPolicy | None = None
    v4a_public_key: bytes = field(default=b"", repr=False)
    grace_until: datetime | None = None
    replaced_by: str | None = None
    _loaded_public_key: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_status(self.status)
        _aware(self.created_at, "created_at")
        _aware(self.expires_at, "expires_at")
        _aware(self.grace_until, "grace_until")
        if not self.access_key_id or not self.access_key_id.isascii():
            raise KeyStoreError("an access key id must be non-empty ASCII")
        if not self.secret_access_key:
            raise KeyStoreError(f"key {self.access_key_id}: the secret may not be empty")
        if not self.v4a_public_key:
            from ..v4a import public_key_for

            pub = public_key_for(self.access_key_id, self.secret_access_key)
            from cryptography.hazmat.primitives import serialization

            point = pub.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            object.__setattr__(self, "v4a_public_key", point)
            object.__setattr__(self, "_loaded_public_key", pub)

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``inactive``, ``expired`` or ``rotated`` (grace over) at ``now``."""
        if self.status != ACTIVE:
            return INACTIVE
        now = now or utcnow()
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        if self.grace_until is not None and now >= self.grace_until:
            return "rotated"
        return ACTIVE

    def usable(self, now: datetime | None = None) -> bool:
        """Whether requests signed with this key are accepted at ``now``."""
        return self.state(now) == ACTIVE

    def allows(self, method: str, path: str) -> bool:
        """The policy's verdict (no policy: everything is allowed)."""
        return self.policy is None or self.policy.allows(method, path)

    def public_key(self) -> Any:
        """The SigV4a public key as a ``cryptography`` object (loaded once)."""
        pub = self._loaded_public_key
        if pub is None:
            from ..v4a import load_public_key

            pub = load_public_key(self.v4a_public_key)
            object.__setattr__(self, "_loaded_public_key", pub)
        return pub

    def replace(self, **changes: Any) -> KeyRecord:
        return replace(self, **changes)

    def to_json(self, *, include_secret: bool = False) -> dict[str, Any]:
        """A JSON-ready description; the secret only when asked for."""
        out: dict[str, Any] = {
            "access_key_id": self.access_key_id,
            "name": self.name,
            "status": self.status,
            "state": self.state(),
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "grace_until": self.grace_until.isoformat() if self.grace_until else None,
            "replaced_by": self.replaced_by,
            "policy": self.policy.to_json() if self.policy else None,
        }
        if include_secret:
            out["secret_access_key"] = self.secret_access_key
        return out


@dataclass(frozen=True)
class ImportedKey:
    """A key pair brought in from elsewhere (AWS credentials file, SeaweedFS, MinIO)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    name: str = ""
    status: Status = ACTIVE
    policy: KeyPolicy | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class KeyChange:
    """One event of a store's change feed.

    ``kind`` is ``created``, ``updated``, ``deleted`` or ``resync``; a
    ``resync`` (``access_key_id`` None) says changes may have been missed
    (the feed just (re)connected): a cache drops everything it holds.
    """

    access_key_id: str | None
    kind: str


def grace_deadline(grace: timedelta | float, now: datetime | None = None) -> datetime:
    if not isinstance(grace, timedelta):
        grace = timedelta(seconds=float(grace))
    if grace < timedelta(0):
        raise KeyStoreError("a rotation grace period may not be negative")
    return (now or utcnow()) + grace
