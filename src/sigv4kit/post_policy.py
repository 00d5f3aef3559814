"""Browser POST uploads to S3: build and sign a policy, verify a submitted form.

A browser form cannot compute a signature, so the server hands it a *policy*
(a Base64 JSON document of conditions and an expiration) and its signature:

* :func:`presign_post` builds the policy and the form fields as botocore's
  ``generate_presigned_post`` does (so the two agree on the same inputs),
  with SigV4 or SigV4a;
* :func:`verify_post` is the server side (in :mod:`sigv4kit.verify.policy`,
  beside the checks it shares with every other request);
* :class:`MultipartParser` (sans-IO) and :func:`read_post_form` parse the
  ``multipart/form-data`` body with size limits, the file as a stream.

No clock is read: the signer gets ``timestamp``, the verifier ``now``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from .canonical import credential_scope
from .config import ALGORITHM_V4A
from .config import parse_algorithm as _algorithm
from .credentials import Credentials
from .errors import (
    EntityTooLarge,
    EntityTooSmall,
    InvalidPolicyDocument,
    MalformedPOSTRequest,
    MaxPostPreDataLengthExceeded,
    MultipartHeaderTooLong,
    PolicyTooLarge,
    SigningError,
)
from .keys import signing_key
from .payload import read_pieces
from .presigning import amz_datetime
from .timestamps import parse_timestamp
from .verify.policy import MAX_POLICY_BYTES, VerifiedPost, verify_post

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
#: Total size of the form fields before the file (S3 answers
#: ``MaxPostPreDataLengthExceeded`` past its own limit).
MAX_FIELDS_BYTES = 1024 * 1024
#: Size of one part's header block.
MAX_PART_HEADER_BYTES = 16 * 1024
#: Number of parts (fields) before the file.
MAX_PARTS = 1000


# -- building and signing -------------------------------------------------
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
    amz_date = parse_timestamp(timestamp)
    now = amz_datetime(amz_date)
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


# -- multipart/form-data --------------------------------------------------
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
    limited to ``max_header_bytes`` and the number of parts to ``max_parts``
    (the error names the caller's ``parts_option``).
    """

    def __init__(
        self,
        boundary: bytes,
        *,
        max_header_bytes: int = MAX_PART_HEADER_BYTES,
        max_parts: int = MAX_PARTS,
        parts_option: str = "max_parts",
    ) -> None:
        if not boundary:
            raise MalformedPOSTRequest("empty multipart boundary")
        self._dash_boundary = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._buf = bytearray()
        self._state = _PREAMBLE
        self.max_header_bytes = max_header_bytes
        self.max_parts = max_parts
        self._parts_option = parts_option
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
                        f"more than {self.max_parts} form fields ({self._parts_option})",
                        limit=self._parts_option,
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
    reader = FormReader(
        content_type,
        max_fields_bytes=max_fields_bytes,
        max_header_bytes=max_header_bytes,
        max_parts=max_parts,
    )
    it = iter(read_pieces(source, read_size))
    for piece in it:
        if reader.feed(piece):
            f = cast("PartStart", reader.file)
            stream = _file_stream(reader, it, max_file_bytes)
            return PostForm(reader.fields, FilePart(f.name, f.filename, f.content_type, stream))
    reader.end()
    return PostForm(reader.fields, None)


class FormReader:
    """A POST form read as it arrives, for :func:`read_post_form` and the
    Verifier alike: the fields before the ``file`` part (S3 ignores those
    after it), at most ``max_fields_bytes`` of values, then the file's data in
    ``pending`` until ``file_done``.  Errors name the caller's options."""

    def __init__(
        self,
        content_type: str,
        *,
        max_fields_bytes: int = MAX_FIELDS_BYTES,
        max_header_bytes: int = MAX_PART_HEADER_BYTES,
        max_parts: int = MAX_PARTS,
        fields_option: str = "max_fields_bytes",
        parts_option: str = "max_parts",
    ) -> None:
        self._parser = MultipartParser(
            boundary_from_content_type(content_type),
            max_header_bytes=max_header_bytes,
            max_parts=max_parts,
            parts_option=parts_option,
        )
        self.fields: list[tuple[str, str]] = []
        self.file: PartStart | None = None
        self.pending: list[bytes] = []
        self.file_done = False
        self._name = ""
        self._value = bytearray()
        self._total = 0
        self._max = max_fields_bytes
        self._option = fields_option

    def feed(self, data: bytes) -> bool:
        """Take the next piece of the body; True once the file part has started."""
        for e in self._parser.feed(data):
            if self.file is None:
                self._field_event(e)
            elif self.file_done:
                break
            elif isinstance(e, PartData):
                self.pending.append(e.data)
            elif isinstance(e, PartEnd):
                self.file_done = True
        return self.file is not None

    def end(self) -> None:
        """The body ended: a :class:`MalformedPOSTRequest` unless it was complete."""
        self._parser.finish()

    def _field_event(self, e: Event) -> None:
        if isinstance(e, PartStart):
            if e.name.lower() == "file":
                self.file = e
                return
            self._name = e.name
            self._value.clear()
        elif isinstance(e, PartData):
            self._total += len(e.data)
            if self._total > self._max:
                raise MaxPostPreDataLengthExceeded(
                    f"the form fields exceed {self._max} bytes in total ({self._option})",
                    limit=self._option,
                    value=self._max,
                )
            self._value += e.data
        else:
            try:
                self.fields.append((self._name, self._value.decode("utf-8")))
            except UnicodeDecodeError:
                raise MalformedPOSTRequest(f"form field {self._name!r} is not UTF-8") from None


def _file_stream(reader: FormReader, it: Iterator[bytes], limit: int | None) -> Iterator[bytes]:
    size = 0
    while True:
        for data in reader.pending:
            size += len(data)
            if limit is not None and size > limit:
                raise EntityTooLarge(
                    f"Your proposed upload exceeds the maximum allowed size ({limit} bytes)."
                )
            yield data
        reader.pending.clear()
        if reader.file_done:
            return
        piece = next(it, None)
        if piece is None:
            reader.end()
            raise MalformedPOSTRequest("the file part is not terminated by a boundary")
        reader.feed(piece)
