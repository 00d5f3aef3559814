"""Browser POST uploads to S3: build and sign a policy, verify a submitted form.

A browser form cannot compute a signature, so the server hands it a
*policy* (a JSON document of conditions and an expiration, Base64-encoded)
and the signature of that Base64 text.  S3 checks the signature, then checks
that every form field satisfies the policy and that every form field is
named by a condition.  This module does both halves:

* :func:`presign_post` builds the policy and the form fields, the way
  botocore's ``generate_presigned_post`` does (same field names, same
  policy layout, so the two agree on the same inputs), with SigV4 or SigV4a;
* :func:`verify_post` is the server side: signature, expiration, every
  condition, coverage of every field, duplicate fields and duplicate policy
  keys;
* :class:`MultipartParser` (sans-IO) and :func:`read_post_form` parse the
  ``multipart/form-data`` body with size limits and hand back the fields and
  the file as a stream, never buffering the file.

No clock is read: the signer gets ``timestamp``, the verifier ``now``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .canonical import credential_scope
from .config import ALGORITHM_V4, ALGORITHM_V4A
from .config import parse_algorithm as _algorithm
from .credentials import Credentials
from .errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidPolicyDocument,
    MalformedPOSTRequest,
    MaxPostPreDataLengthExceeded,
    MultipartHeaderTooLong,
    PolicyTooLarge,
    SignatureDoesNotMatch,
    SigningError,
)
from .keys import signing_key

__all__ = [
    "MAX_FIELDS_BYTES",
    "MAX_PARTS",
    "MAX_PART_HEADER_BYTES",
    "MAX_POLICY_BYTES",
    "EntityTooSmall",
    "FilePart",
    "InvalidPolicyDocument",
    "MalformedPOSTRequest",
    "MaxPostPreDataLengthExceeded",
    "MultipartHeaderTooLong",
    "MultipartParser",
    "PolicyTooLarge",
    "PostForm",
    "PresignedPost",
    "VerifiedPost",
    "presign_post",
    "read_post_form",
    "sign_policy",
    "verify_post",
]

_ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
# Fields S3 does not require a condition for.
_EXEMPT = frozenset({"x-amz-signature", "file", "policy"})
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_EXPIRATION = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_TOKEN_FIELD = "x-amz-security-token"
_REDACTED = "<redacted>"

#: Largest Base64 policy accepted by :func:`verify_post` (its signature is
#: checked first, so only a key holder can make the server decode one).
MAX_POLICY_BYTES = 64 * 1024
#: Total size of the form fields before the file (S3 answers
#: ``MaxPostPreDataLengthExceeded`` past its own limit).
MAX_FIELDS_BYTES = 1024 * 1024
#: Size of one part's header block.
MAX_PART_HEADER_BYTES = 16 * 1024
#: Number of parts (fields) before the file.
MAX_PARTS = 1000


# --------------------------------------------------------------------------
# Building and signing
# --------------------------------------------------------------------------
def _as_datetime(timestamp: str | datetime) -> datetime:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise SigningError("timestamp must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return timestamp.astimezone(timezone.utc)
    if isinstance(timestamp, str) and _AMZ_DATE.fullmatch(timestamp):
        return datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    raise SigningError(
        f"timestamp must be an aware datetime or an amz-date like '20151229T000000Z', "
        f"got {timestamp!r}"
    )


def sign_policy(
    policy_b64: str,
    credentials: Credentials,
    *,
    date: str,
    region: str,
    service: str = "s3",
    algorithm: str = "sigv4",
) -> str:
    """The hex signature of a Base64 policy: the policy text *is* the string to sign."""
    if not isinstance(policy_b64, str) or not policy_b64.isascii():
        raise SigningError("policy_b64 must be the Base64 text of the policy (ASCII)")
    if _algorithm(algorithm) == ALGORITHM_V4A:
        from .v4a import sign_v4a

        return sign_v4a(
            credentials.access_key_id, credentials.secret_access_key, policy_b64.encode("ascii")
        )
    key = signing_key(credentials.secret_access_key, date, region, service)
    return key.hexdigest(policy_b64.encode("ascii"))


@dataclass(frozen=True)
class PresignedPost:
    """What a browser form needs: where to POST and the hidden fields.

    ``fields`` go into the form in order, before the ``file`` input (S3
    ignores fields after the file).  ``policy`` is the JSON text signed.
    """

    url: str
    # Both hold the session token, if any: kept out of the repr.
    fields: dict[str, str] = field(repr=False)
    policy: str = field(repr=False)
    expiration: datetime

    def as_dict(self) -> dict[str, Any]:
        """``{"url": ..., "fields": {...}}``, the shape botocore returns."""
        return {"url": self.url, "fields": dict(self.fields)}


def _default_url(bucket: str, endpoint_url: str | None) -> str:
    # botocore's choice: S3's global endpoint, virtual-hosted; path style for
    # a dotted bucket (its name would break the TLS wildcard certificate).
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{bucket}"
    if "." in bucket:
        return f"https://s3.amazonaws.com/{bucket}"
    return f"https://{bucket}.s3.amazonaws.com/"


def presign_post(
    credentials: Credentials,
    bucket: str,
    key: str,
    *,
    region: str,
    timestamp: str | datetime,
    expires_in: int = 3600,
    fields: Mapping[str, str] | None = None,
    conditions: Sequence[Mapping[str, Any] | Sequence[Any]] | None = None,
    service: str = "s3",
    algorithm: str = "sigv4",
    region_set: Sequence[str] | None = None,
    url: str | None = None,
    endpoint_url: str | None = None,
) -> PresignedPost:
    """Build and sign a POST policy for ``key`` in ``bucket``.

    Like botocore's ``generate_presigned_post``: ``fields`` are extra form
    fields (``acl``, ``Content-Type``, ``success_action_status``,
    ``x-amz-meta-*``...), ``conditions`` the extra policy conditions
    (``{"acl": "public-read"}``, ``["starts-with", "$Content-Type", "image/"]``,
    ``["content-length-range", 1, 10485760]``); a field you add needs a
    condition too, or S3 (and :func:`verify_post`) rejects the form.  The
    bucket and key conditions are added for you; a key ending in
    ``${filename}`` gets a ``starts-with`` condition on the part before it.
    """
    alg = _algorithm(algorithm)
    if not isinstance(bucket, str) or not bucket or "/" in bucket:
        raise SigningError(f"bucket must be a bucket name, got {bucket!r}")
    if not isinstance(key, str) or not key:
        raise SigningError("key must be a non-empty string (it may end in ${filename})")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise SigningError("expires_in must be a positive number of seconds")
    now = _as_datetime(timestamp)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    expiration = now + timedelta(seconds=expires_in)

    out: dict[str, str] = dict(fields or {})
    conds: list[Any] = [dict(c) if isinstance(c, Mapping) else list(c) for c in conditions or ()]
    conds.append({"bucket": bucket})
    if key.endswith("${filename}"):
        conds.append(["starts-with", "$key", key[: -len("${filename}")]])
    else:
        conds.append({"key": key})
    out["key"] = key

    if alg == ALGORITHM_V4A:
        rs = list(region_set) if region_set else [region]
    elif region_set:
        raise SigningError("region_set is only used with algorithm='sigv4a'")
    scope = credential_scope(date, None if alg == ALGORITHM_V4A else region, service)
    credential = f"{credentials.access_key_id}/{scope}"
    auth: list[tuple[str, str]] = [
        ("x-amz-algorithm", alg),
        ("x-amz-credential", credential),
        ("x-amz-date", amz_date),
    ]
    if alg == ALGORITHM_V4A:
        auth.append(("x-amz-region-set", ",".join(rs)))
    if credentials.session_token is not None:
        auth.append(("x-amz-security-token", credentials.session_token))
    for name, value in auth:
        out[name] = value
        conds.append({name: value})

    policy = json.dumps({"expiration": expiration.strftime(_ISO8601), "conditions": conds})
    policy_b64 = base64.b64encode(policy.encode("utf-8")).decode("ascii")
    out["policy"] = policy_b64
    out["x-amz-signature"] = sign_policy(
        policy_b64, credentials, date=date, region=region, service=service, algorithm=alg
    )
    return PresignedPost(
        url=url or _default_url(bucket, endpoint_url),
        fields=out,
        policy=policy,
        expiration=expiration,
    )


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------
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
    items = list(form.items()) if isinstance(form, Mapping) else list(form)
    fields: dict[str, str] = {}
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise SigningError("POST form field names and values must be str")
        lname = name.lower()
        if lname in fields:
            raise InvalidArgument(f"POST form field {name!r} appears more than once")
        fields[lname] = value
    for required in (
        "key",
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    ):
        if required not in fields:
            raise InvalidArgument(f"Bucket POST must contain a field named '{required}'.")

    alg = fields["x-amz-algorithm"]
    if alg not in (ALGORITHM_V4, ALGORITHM_V4A):
        raise InvalidArgument(
            f"x-amz-algorithm {alg!r} is not supported; use {ALGORITHM_V4} or {ALGORITHM_V4A}"
        )
    cred = fields["x-amz-credential"].split("/")
    expected_parts = 5 if alg == ALGORITHM_V4 else 4
    if len(cred) != expected_parts or cred[-1] != "aws4_request" or not all(cred):
        shape = "AKID/YYYYMMDD/REGION/SERVICE" if alg == ALGORITHM_V4 else "AKID/YYYYMMDD/SERVICE"
        raise InvalidArgument(
            f"x-amz-credential {fields['x-amz-credential']!r} is malformed; expecting "
            f"'{shape}/aws4_request'"
        )
    akid, date = cred[0], cred[1]
    if cred[-2] != service:
        raise InvalidArgument(f"x-amz-credential names service {cred[-2]!r}; expecting {service!r}")
    if alg == ALGORITHM_V4 and cred[2] != region:
        raise InvalidArgument(
            f"x-amz-credential names region {cred[2]!r}; this endpoint expects {region!r}"
        )
    if alg == ALGORITHM_V4A:
        rs = [r.strip() for r in fields.get("x-amz-region-set", "").split(",") if r.strip()]
        if not any(r == "*" or r == region or _region_glob(r, region) for r in rs):
            raise InvalidArgument(
                f"x-amz-region-set {fields.get('x-amz-region-set')!r} does not include {region!r}"
            )
    amz_date = fields["x-amz-date"]
    if not _AMZ_DATE.fullmatch(amz_date) or amz_date[:8] != date:
        raise InvalidArgument(
            f"x-amz-date {amz_date!r} must be YYYYMMDDTHHMMSSZ on the credential's date {date}"
        )

    policy_b64 = fields["policy"]
    if len(policy_b64) > max_policy_bytes:
        raise PolicyTooLarge(
            f"Invalid Policy: the policy is longer than {max_policy_bytes} bytes "
            "(max_policy_bytes)",
            value=max_policy_bytes,
        )
    secret = credentials(akid) if callable(credentials) else credentials.get(akid)
    if not secret:
        raise InvalidAccessKeyId(access_key_id=akid)
    provided = fields["x-amz-signature"]
    if alg == ALGORITHM_V4:
        expected = signing_key(secret, date, region, service).hexdigest(
            policy_b64.encode("ascii", "replace")
        )
        ok = hmac.compare_digest(expected.encode(), provided.encode("ascii", "replace"))
    else:
        from .v4a import public_key_for, verify_v4a

        ok = verify_v4a(
            public_key_for(akid, secret), policy_b64.encode("ascii", "replace"), provided
        )
    if not ok:
        raise SignatureDoesNotMatch(
            string_to_sign=policy_b64, signature_provided=provided, access_key_id=akid
        )

    doc = _decode_policy(policy_b64)
    expiration = _parse_expiration(doc["expiration"])
    if now >= expiration:
        raise AccessDenied("Invalid according to Policy: Policy expired.")

    token = fields.get(_TOKEN_FIELD)
    covered: set[str] = set()
    length_range: tuple[int, int] | None = None
    for cond in doc["conditions"]:
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

    extra = [
        n for n in fields if n not in covered and n not in _EXEMPT and not n.startswith("x-ignore-")
    ]
    if extra:
        raise AccessDenied("Invalid according to Policy: Extra input fields: " + ", ".join(extra))

    key = fields["key"]
    if filename is not None:
        key = key.replace("${filename}", filename)
    result = VerifiedPost(
        access_key_id=akid,
        algorithm=alg,
        scope="/".join(cred[1:]),
        key=key,
        fields=fields,
        policy=doc,
        expiration=expiration,
        content_length_range=length_range,
        session_token=fields.get("x-amz-security-token"),
    )
    if file_size is not None:
        result.check_content_length(file_size)
    return result


def _region_glob(pattern: str, region: str) -> bool:
    if "*" not in pattern:
        return False
    rx = ".*".join(re.escape(p) for p in pattern.split("*"))
    return re.fullmatch(rx, region) is not None


# --------------------------------------------------------------------------
# multipart/form-data
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class PartStart:
    name: str
    filename: str | None
    content_type: str | None
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd

_PREAMBLE, _HEADERS, _BODY, _AFTER, _END = range(5)
_PARAM = re.compile(r';\s*([A-Za-z0-9_\-*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


def boundary_from_content_type(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type header value."""
    main, _, rest = content_type.partition(";")
    if main.strip().lower() != "multipart/form-data":
        raise MalformedPOSTRequest(f"Content-Type {main.strip()!r} is not multipart/form-data")
    params = _params(";" + rest)
    b = params.get("boundary")
    if not b or len(b) > 200:
        raise MalformedPOSTRequest("multipart/form-data Content-Type has no valid boundary")
    return b.encode("latin-1")


def _params(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _PARAM.finditer(text):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[m.group(1).lower()] = v
    return out


class MultipartParser:
    """Sans-IO ``multipart/form-data`` parser: bytes in, events out.

    Events: :class:`PartStart` (name, filename, content type), then
    :class:`PartData` pieces, then :class:`PartEnd`, per part.  Part bodies
    are streamed (only a boundary's length is held back); part headers are
    limited to ``max_header_bytes`` and the number of parts to ``max_parts``.
    """

    def __init__(
        self,
        boundary: bytes,
        *,
        max_header_bytes: int = MAX_PART_HEADER_BYTES,
        max_parts: int = MAX_PARTS,
    ) -> None:
        if not boundary:
            raise MalformedPOSTRequest("empty multipart boundary")
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._buf = bytearray()
        self._state = _PREAMBLE
        self.max_header_bytes = max_header_bytes
        self.max_parts = max_parts
        self.parts = 0

    @property
    def done(self) -> bool:
        return self._state == _END

    def feed(self, data: bytes) -> list[Event]:
        self._buf += data
        events: list[Event] = []
        while True:
            st = self._state
            buf = self._buf
            if st == _PREAMBLE:
                # The body starts with --boundary (possibly after a preamble).
                i = buf.find(self._dash_boundary)
                if i < 0 or len(buf) < i + len(self._dash_boundary) + 2:
                    if len(buf) > self.max_header_bytes + len(self._dash_boundary):
                        raise MalformedPOSTRequest("no multipart boundary at the start of the body")
                    return events
                if i and not buf[:i].endswith(b"\r\n"):
                    raise MalformedPOSTRequest("junk before the first multipart boundary")
                del buf[: i + len(self._dash_boundary)]
                self._state = _AFTER
            elif st == _AFTER:
                if len(buf) < 2:
                    return events
                if buf[:2] == b"--":
                    self._state = _END
                    buf.clear()
                    return events
                if buf[:2] != b"\r\n":
                    raise MalformedPOSTRequest("a multipart boundary is not followed by CRLF")
                del buf[:2]
                self._state = _HEADERS
            elif st == _HEADERS:
                i = buf.find(b"\r\n\r\n", 0, self.max_header_bytes + 4)
                if i < 0:
                    if len(buf) > self.max_header_bytes + 3:
                        raise self._header_too_long()
                    return events
                if i > self.max_header_bytes:
                    raise self._header_too_long()
                raw = bytes(buf[:i])
                del buf[: i + 4]
                self.parts += 1
                if self.parts > self.max_parts:
                    raise MaxPostPreDataLengthExceeded(
                        f"more than {self.max_parts} form fields (max_parts)",
                        limit="max_parts",
                        value=self.max_parts,
                    )
                events.append(self._part_start(raw))
                self._state = _BODY
            elif st == _BODY:
                i = buf.find(self._delimiter)
                if i < 0:
                    keep = len(self._delimiter) - 1
                    if len(buf) > keep:
                        events.append(PartData(bytes(buf[: len(buf) - keep])))
                        del buf[: len(buf) - keep]
                    return events
                if i:
                    events.append(PartData(bytes(buf[:i])))
                del buf[: i + len(self._delimiter)]
                events.append(PartEnd())
                self._state = _AFTER
            else:  # _END: the epilogue is ignored
                buf.clear()
                return events

    def _header_too_long(self) -> MultipartHeaderTooLong:
        return MultipartHeaderTooLong(
            f"multipart part headers are too long (over {self.max_header_bytes} bytes, "
            "max_header_bytes)",
            value=self.max_header_bytes,
        )

    def finish(self) -> None:
        if self._state != _END:
            raise MalformedPOSTRequest("the multipart body ended before its closing boundary")

    def _part_start(self, raw: bytes) -> PartStart:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPOSTRequest("multipart part headers are not UTF-8") from None
        headers: list[tuple[str, str]] = []
        for line in text.split("\r\n"):
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise MalformedPOSTRequest(f"malformed multipart header line {line[:80]!r}")
            headers.append((name.strip().lower(), value.strip()))
        hd = dict(headers)
        disp = hd.get("content-disposition", "")
        kind, _, rest = disp.partition(";")
        if kind.strip().lower() != "form-data":
            raise MalformedPOSTRequest("a multipart part has no 'Content-Disposition: form-data'")
        params = _params(";" + rest)
        if "name" not in params:
            raise MalformedPOSTRequest("a multipart part has no field name")
        return PartStart(params["name"], params.get("filename"), hd.get("content-type"), headers)


@dataclass
class FilePart:
    """The ``file`` part of a POST form, its content as a stream of bytes."""

    name: str
    filename: str | None
    content_type: str | None
    stream: Iterator[bytes]

    def __iter__(self) -> Iterator[bytes]:
        return self.stream


@dataclass
class PostForm:
    fields: list[tuple[str, str]]
    file: FilePart | None


def read_post_form(
    source: Iterable[bytes] | Any,
    content_type: str,
    *,
    read_size: int = 65536,
    max_fields_bytes: int = MAX_FIELDS_BYTES,
    max_header_bytes: int = MAX_PART_HEADER_BYTES,
    max_parts: int = MAX_PARTS,
    max_file_bytes: int | None = None,
) -> PostForm:
    """Parse a POST upload body: the fields before the file, and the file as a stream.

    ``source`` is a binary file or an iterable of bytes.  Fields (everything
    before the part named ``file``) are read into memory up to
    ``max_fields_bytes`` in total; the file is not read until its
    :attr:`FilePart.stream` is iterated, and fields after the file are
    ignored, as S3 does.  ``max_file_bytes`` stops an oversized file early
    (:class:`~sigv4kit.errors.EntityTooLarge`).
    """
    parser = MultipartParser(
        boundary_from_content_type(content_type),
        max_header_bytes=max_header_bytes,
        max_parts=max_parts,
    )
    if hasattr(source, "read"):
        read = source.read

        def chunks() -> Iterator[bytes]:
            while True:
                piece = read(read_size)
                if not piece:
                    return
                yield piece

        it: Iterator[bytes] = chunks()
    else:
        it = iter(source)

    def events() -> Iterator[Event]:
        for piece in it:
            yield from parser.feed(piece)
        parser.finish()

    ev = events()
    fields: list[tuple[str, str]] = []
    total = 0
    current: PartStart | None = None
    value = bytearray()
    for e in ev:
        if isinstance(e, PartStart):
            if e.name.lower() == "file":
                return PostForm(
                    fields,
                    FilePart(e.name, e.filename, e.content_type, _file_stream(ev, max_file_bytes)),
                )
            current = e
            value.clear()
        elif isinstance(e, PartData):
            total += len(e.data)
            if total > max_fields_bytes:
                raise MaxPostPreDataLengthExceeded(
                    f"the form fields exceed {max_fields_bytes} bytes in total (max_fields_bytes)",
                    limit="max_fields_bytes",
                    value=max_fields_bytes,
                )
            value += e.data
        else:
            assert current is not None
            try:
                fields.append((current.name, value.decode("utf-8")))
            except UnicodeDecodeError:
                raise MalformedPOSTRequest(f"form field {current.name!r} is not UTF-8") from None
    return PostForm(fields, None)


def _file_stream(ev: Iterator[Event], limit: int | None) -> Iterator[bytes]:
    size = 0
    for e in ev:
        if isinstance(e, PartData):
            size += len(e.data)
            if limit is not None and size > limit:
                raise EntityTooLarge(
                    f"Your proposed upload exceeds the maximum allowed size ({limit} bytes)."
                )
            yield e.data
        elif isinstance(e, PartEnd):
            return
    raise MalformedPOSTRequest("the file part is not terminated by a boundary")
