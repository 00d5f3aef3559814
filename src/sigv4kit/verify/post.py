"""Browser POST (policy) uploads: reading the form and checking the policy."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any, cast
from urllib.parse import unquote

from ..config import ALGORITHM_V4A
from ..errors import (
    AccessDenied,
    InvalidArgument,
    InvalidToken,
    MalformedPOSTRequest,
    SignatureDoesNotMatch,
    SigningError,
)
from ..post_policy import FormReader
from ._common import UNSIGNED_PAYLOAD, Scope, _compare
from .auth import _Auth
from .checks import _now_epoch, region_set
from .flow import LOOKUP, READ, TOKEN, Flow
from .keys import _Key, _key, _token_result
from .payload import _Check
from .policy import VerifiedPost, verify_post
from .result import VerifiedRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .verifier import Verifier


def _access_key_id(form: FormReader) -> str:
    for name, value in form.fields:
        if name.lower() == "x-amz-credential":
            return value.partition("/")[0]
    raise InvalidArgument(
        "Bucket POST must contain a field named 'x-amz-credential'.",
        details={"ArgumentName": "x-amz-credential", "ArgumentValue": ""},
    )


class _FileCheck(_Check):
    """feed/finish over the rest of a POST body: yields the file's data,
    holding back the last piece until its size is within the policy."""

    __slots__ = ("_held", "_post", "_reader", "_size")

    def __init__(self, reader: FormReader, post: Any) -> None:
        self._reader = reader
        self._post = post
        self._held = b""
        self._size = 0

    def _take(self) -> bytes:
        pending = self._reader.pending
        if not pending:
            return b""
        data = b"".join(pending)
        pending.clear()
        self._size += len(data)
        rng = self._post.content_length_range
        if rng is not None and self._size > rng[1]:
            self._post.check_content_length(self._size)
        out, self._held = self._held, data
        return out

    def feed(self, data: bytes) -> bytes:
        if not self._reader.file_done:
            self._reader.feed(data)
        return self._take()

    def finish(self) -> bytes:
        out = self._take()
        if not self._reader.file_done:
            raise MalformedPOSTRequest("the file part is not terminated by a boundary")
        self._post.check_content_length(self._size)
        rest = self._held
        self._held = b""
        return out + rest


# -- browser POST (policy) ------------------------------------------------
def _post_flow(vr: Verifier, state: _Auth, now: datetime | float | None, sync: bool) -> Flow:
    """A browser POST: read the fields before the file, then the same key,
    token and result steps as every request (see :mod:`.flow`)."""
    content_type = state.hmap.get("content-type", "")
    form = FormReader(
        content_type,
        max_fields_bytes=vr.max_form_bytes,
        max_parts=vr.max_form_parts,
        fields_option="max_form_bytes",
        parts_option="max_form_parts",
    )
    asource = state.async_source
    if asource is not None and sync:
        raise SigningError("an async body needs 'await verifier.averify(...)'")
    source = iter((state.body_bytes,)) if state.body_bytes is not None else state.source
    while True:
        if asource is not None:
            piece = yield (READ, asource)
        else:
            piece = next(cast("Iterator[bytes]", source), None)
        if piece is None:
            form.end()
            break
        if form.feed(piece):
            break
    akid = _access_key_id(form)
    key = _key(vr, akid, (yield (LOOKUP, akid)))
    post = _check_post(vr, state, key, form, now)
    if post.session_token is not None and vr.token_check is not None:
        _token_result((yield (TOKEN, (akid, post.session_token))))
    check = _FileCheck(form, post)
    if asource is not None:
        return _post_result(post, check.arun(asource))
    return _post_result(post, check.run(cast("Iterator[bytes]", source)))


def _check_post(
    vr: Verifier, state: _Auth, key: _Key, form: FormReader, now: datetime | float | None
) -> VerifiedPost:
    if key.secret is None:
        raise AccessDenied(
            "Only a SigV4a public key is stored for this access key; browser POST "
            "policies are verified with the secret."
        )
    if form.file is None:
        raise InvalidArgument(
            "POST requires exactly one file upload per request.",
            details={"ArgumentName": "file", "ArgumentValue": "0"},
        )
    now_dt = datetime.fromtimestamp(
        time.time() if now is None else _now_epoch(now), tz=timezone.utc
    )
    try:
        post = verify_post(
            form.fields,
            credentials=cast("Any", lambda _akid: key),
            bucket=_post_bucket(vr, state),
            region=vr.region,
            now=now_dt,
            service=vr.service,
            filename=form.file.filename,
            max_policy_bytes=vr.max_policy_bytes,
        )
    except SignatureDoesNotMatch as exc:
        # The string to sign of a POST is the Base64 policy, which holds
        # the session token when there is one: shown only if allowed.
        has_token = any(n.lower() == "x-amz-security-token" for n, _ in form.fields)
        if not vr.include_debug or (has_token and not vr.show_token):
            raise SignatureDoesNotMatch(access_key_id=exc.access_key_id) from None
        raise
    if key.token is not None:
        token = post.session_token
        if token is None or not _compare(
            key.token.encode(), token.encode("utf-8", "surrogatepass")
        ):
            raise InvalidToken()
    return post


def _post_bucket(vr: Verifier, state: _Auth) -> str:
    """The bucket a POST form is for: the first path segment (path-style
    ``/bucket``), else the first label of Host (virtual-hosted style)."""
    if vr.post_bucket is not None:
        return vr.post_bucket(state.target, state.hmap.get("host", ""))
    path = state.target.partition("?")[0]
    first = path.lstrip("/").partition("/")[0]
    if first:
        return unquote(first)
    host = state.hmap.get("host", "")
    return host.partition(":")[0].partition(".")[0]


def _post_result(
    post: VerifiedPost, body: Iterator[bytes] | AsyncIterator[bytes]
) -> VerifiedRequest:
    fields = dict(post.fields)
    fields["key"] = post.key
    date, _, rest = post.scope.partition("/")
    parts = rest.split("/")
    if post.algorithm == ALGORITHM_V4A:
        scope = Scope(date, None, parts[-2], region_set(fields.get("x-amz-region-set", ""), "")[0])
    else:
        scope = Scope(date, parts[0], parts[-2])
    return VerifiedRequest(
        post.access_key_id,
        post.algorithm,
        "post",
        scope,
        (),
        fields.get("x-amz-date", ""),
        UNSIGNED_PAYLOAD,
        post.session_token is not None,
        body,
        fields.get("x-amz-signature", ""),
        fields,
        None,
        (),
        fields.get("policy", ""),
    )
