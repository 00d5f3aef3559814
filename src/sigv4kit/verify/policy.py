"""Browser POST policies, the server side: signature, expiration, conditions.

A browser form cannot sign, so S3 checks the *policy* it was handed: its
signature (the Base64 text *is* the string to sign), its expiration, every
form field against its condition, every field named by a condition, and
``content-length-range``.  The credential, the SigV4a region set and the
signature go through the checks of every other request
(:func:`.auth.parse_credential`, :func:`.checks.region_set`,
:func:`.keys.signature_ok`); only the words of the errors are POST's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..config import ALGORITHM_V4, ALGORITHM_V4A
from ..errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidPolicyDocument,
    PolicyTooLarge,
    SignatureDoesNotMatch,
    SignatureError,
    SigningError,
)
from ._common import _REDACTED, Scope
from .auth import parse_credential
from .checks import _amz_epoch, region_set
from .keys import _Key, signature_ok

__all__ = ["MAX_POLICY_BYTES", "VerifiedPost", "verify_post"]

#: Largest Base64 policy accepted by :func:`verify_post` (its signature is
#: checked first, so only a key holder can make the server decode one).
MAX_POLICY_BYTES = 64 * 1024
# Fields S3 does not require a condition for.
_EXEMPT = frozenset({"x-amz-signature", "file", "policy"})
_REQUIRED = (
    "key",
    "policy",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-signature",
)
_EXPIRATION = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_TOKEN_FIELD = "x-amz-security-token"


@dataclass(frozen=True)
class VerifiedPost:
    """A form that passed :func:`verify_post`.

    ``key`` has ``${filename}`` replaced when a filename was given;
    ``fields`` maps lowercase field names to values.  If the policy has a
    ``content-length-range`` and the file size was not known at
    verification, call :meth:`check_content_length` once it is.
    """

    access_key_id: str
    algorithm: str
    scope: str
    key: str
    fields: dict[str, str]
    policy: dict[str, Any]
    expiration: datetime
    content_length_range: tuple[int, int] | None = None
    session_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # fields and policy carry the session token: names only.
        return (
            f"VerifiedPost(access_key_id={self.access_key_id!r}, algorithm={self.algorithm!r}, "
            f"scope={self.scope!r}, key={self.key!r}, fields={sorted(self.fields)!r}, "
            f"expiration={self.expiration.isoformat()!r}, "
            f"content_length_range={self.content_length_range!r})"
        )

    def check_content_length(self, size: int) -> None:
        rng = self.content_length_range
        if rng is None:
            return
        if size > rng[1]:
            raise EntityTooLarge(
                f"Your proposed upload exceeds the maximum allowed size ({size} > {rng[1]} "
                "bytes, content-length-range of the policy)."
            )
        if size < rng[0]:
            raise EntityTooSmall(
                f"Your proposed upload is smaller than the minimum allowed size ({size} < "
                f"{rng[0]} bytes, content-length-range of the policy)."
            )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise InvalidPolicyDocument(f"Invalid Policy: the policy has key {k!r} more than once")
        out[k] = v
    return out


def _parse_expiration(text: object) -> datetime:
    m = _EXPIRATION.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise InvalidPolicyDocument(
            f"Invalid Policy: Invalid 'expiration' value: {text!r} (expected ISO 8601 UTC, "
            "e.g. 2015-12-30T12:00:00.000Z)"
        )
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or "0"
    try:
        return datetime(y, mo, d, h, mi, s, int(frac.ljust(6, "0")[:6]), tzinfo=timezone.utc)
    except ValueError:
        raise InvalidPolicyDocument(
            f"Invalid Policy: Invalid 'expiration' value: {text!r}"
        ) from None


def _decode_policy(policy_b64: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(policy_b64.encode("ascii"), validate=True)
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except InvalidPolicyDocument:
        raise
    except RecursionError:
        # json nests by recursion: "[[[[..." deep enough exhausts the stack.
        raise InvalidPolicyDocument("Invalid Policy: the policy is nested too deeply") from None
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidPolicyDocument(
            "Invalid Policy: the policy field is not Base64-encoded JSON"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("conditions"), list):
        raise InvalidPolicyDocument("Invalid Policy: a policy needs a 'conditions' list")
    if "expiration" not in doc:
        raise InvalidPolicyDocument("Invalid Policy: a policy needs an 'expiration'")
    return doc


def _show(cond: object, token: str | None) -> str:
    """A condition for an error message: short, and without the session token
    (messages end up in logs; the token must not)."""
    try:
        text = json.dumps(cond)
    except (TypeError, ValueError, RecursionError):
        text = "<condition>"
    if token:
        text = text.replace(json.dumps(token)[1:-1], _REDACTED).replace(token, _REDACTED)
    return text if len(text) <= 300 else text[:300] + "..."


def _cond_failed(cond: object, token: str | None) -> AccessDenied:
    return AccessDenied(
        f"Invalid according to Policy: Policy Condition failed: {_show(cond, token)}"
    )


def _field_name(ref: object, cond: object, token: str | None) -> str:
    if not isinstance(ref, str) or not ref.startswith("$") or len(ref) < 2:
        raise InvalidPolicyDocument(
            f"Invalid Policy: condition {_show(cond, token)} must name a field as '$name'"
        )
    return ref[1:].lower()


def verify_post(
    form: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    bucket: str,
    credentials: Mapping[str, str] | Callable[[str], str | None],
    region: str,
    now: datetime,
    service: str = "s3",
    filename: str | None = None,
    file_size: int | None = None,
    max_policy_bytes: int = MAX_POLICY_BYTES,
) -> VerifiedPost:
    """Check a submitted POST form against its signed policy, as S3 does.

    ``form`` holds the form fields (not the file), as received; field names
    are case-insensitive and must not repeat.  ``credentials`` maps an
    access key id to its secret (or is a lookup callable returning ``None``
    for unknown keys); SigV4a forms verify with the public key derived from
    that secret.  ``now`` is the current time (aware).  ``file_size``, when
    known, is checked against ``content-length-range``.  A policy longer than
    ``max_policy_bytes`` is refused (:class:`PolicyTooLarge`) before it is
    hashed or decoded.
    """

    if now.tzinfo is None:
        raise SigningError("now must be a timezone-aware datetime")
    fields = _form_fields(form)
    alg, akid, scope = _post_scope(fields, region, service)
    policy_b64 = fields["policy"]
    if len(policy_b64) > max_policy_bytes:
        raise PolicyTooLarge(
            f"Invalid Policy: the policy is longer than {max_policy_bytes} bytes "
            "(max_policy_bytes)",
            value=max_policy_bytes,
        )
    value = credentials(akid) if callable(credentials) else credentials.get(akid)
    if not value:
        raise InvalidAccessKeyId(access_key_id=akid)
    # The Verifier passes its memoized key (a SigV4a public key is derived once).
    stored = value if isinstance(value, _Key) else _Key(value, None, None)
    provided = fields["x-amz-signature"]
    message = policy_b64.encode("ascii", "replace")
    if not signature_ok(alg, akid, stored, scope, message, provided):
        raise SignatureDoesNotMatch(
            string_to_sign=policy_b64, signature_provided=provided, access_key_id=akid
        )

    doc = _decode_policy(policy_b64)
    expiration = _parse_expiration(doc["expiration"])
    if now >= expiration:
        raise AccessDenied("Invalid according to Policy: Policy expired.")
    covered, length_range = _conditions(doc["conditions"], fields, bucket)
    extra = [
        n for n in fields if n not in covered and n not in _EXEMPT and not n.startswith("x-ignore-")
    ]
    if extra:
        raise AccessDenied("Invalid according to Policy: Extra input fields: " + ", ".join(extra))

    key = fields["key"]
    if filename is not None:
        key = key.replace("${filename}", filename)
    token = fields.get(_TOKEN_FIELD)
    result = VerifiedPost(akid, alg, str(scope), key, fields, doc, expiration, length_range, token)
    if file_size is not None:
        result.check_content_length(file_size)
    return result


def _form_fields(form: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """The fields by lowercase name: each once, the required ones present."""
    items = list(form.items()) if isinstance(form, Mapping) else list(form)
    fields: dict[str, str] = {}
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise SigningError("POST form field names and values must be str")
        lname = name.lower()
        if lname in fields:
            raise InvalidArgument(f"POST form field {name!r} appears more than once")
        fields[lname] = value
    for required in _REQUIRED:
        if required not in fields:
            raise InvalidArgument(f"Bucket POST must contain a field named '{required}'.")
    return fields


def _post_scope(fields: dict[str, str], region: str, service: str) -> tuple[str, str, Scope]:
    """``(algorithm, access key id, scope)`` of a form, checked as every
    request's credential, region set and date are."""
    alg = fields["x-amz-algorithm"]
    if alg not in (ALGORITHM_V4, ALGORITHM_V4A):
        raise InvalidArgument(
            f"x-amz-algorithm {alg!r} is not supported; use {ALGORITHM_V4} or {ALGORITHM_V4A}"
        )
    credential = fields["x-amz-credential"]

    def malformed(detail: str, _region: str | None) -> SignatureError:
        return InvalidArgument(f"x-amz-credential {credential!r} is invalid: {detail}")

    akid, scope = parse_credential(credential, alg, region, service, malformed)
    if alg == ALGORITHM_V4A:
        text = fields.get("x-amz-region-set", "")
        regions, included = region_set(text, region)
        if not included:
            raise InvalidArgument(f"x-amz-region-set {text!r} does not include {region!r}")
        scope = Scope(scope.date, None, scope.service, regions)
    amz_date = fields["x-amz-date"]
    if _amz_epoch(amz_date) is None or amz_date[:8] != scope.date:
        raise InvalidArgument(
            f"x-amz-date {amz_date!r} must be YYYYMMDDTHHMMSSZ on the credential's date "
            f"{scope.date}"
        )
    return alg, akid, scope


def _conditions(
    conditions: list[Any], fields: dict[str, str], bucket: str
) -> tuple[set[str], tuple[int, int] | None]:
    """Check every condition: ``(the fields they name, content-length-range)``."""
    token = fields.get(_TOKEN_FIELD)
    covered: set[str] = set()
    length_range: tuple[int, int] | None = None
    for cond in conditions:
        if isinstance(cond, dict):
            if not cond:
                raise InvalidPolicyDocument("Invalid Policy: empty condition object")
            for name, value in cond.items():
                lname = name.lower()
                if not isinstance(value, str):
                    raise InvalidPolicyDocument(
                        f"Invalid Policy: condition value for {name!r} must be a string"
                    )
                actual = bucket if lname == "bucket" else fields.get(lname)
                if actual != value:
                    raise _cond_failed(["eq", f"${name}", value], token)
                covered.add(lname)
        elif isinstance(cond, list) and cond and isinstance(cond[0], str):
            op = cond[0].lower()
            if op == "content-length-range":
                if len(cond) != 3 or not all(
                    isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in cond[1:]
                ):
                    raise InvalidPolicyDocument(
                        f"Invalid Policy: {_show(cond, token)} needs two non-negative integers"
                    )
                if length_range is not None:
                    raise InvalidPolicyDocument(
                        "Invalid Policy: content-length-range given more than once"
                    )
                length_range = (cond[1], cond[2])
                continue
            if op not in ("eq", "starts-with") or len(cond) != 3 or not isinstance(cond[2], str):
                raise InvalidPolicyDocument(
                    f"Invalid Policy: unknown or malformed condition {_show(cond, token)}"
                )
            lname = _field_name(cond[1], cond, token)
            actual = bucket if lname == "bucket" else fields.get(lname)
            if actual is None:
                raise _cond_failed(cond, token)
            if op == "eq" and actual != cond[2]:
                raise _cond_failed(cond, token)
            if op == "starts-with" and not actual.startswith(cond[2]):
                raise _cond_failed(cond, token)
            covered.add(lname)
        else:
            raise InvalidPolicyDocument(f"Invalid Policy: malformed condition {_show(cond, token)}")
    return covered, length_range
