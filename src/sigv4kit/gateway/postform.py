"""Browser POST uploads through the gateway: the form, rebuilt.

The verifier reads a POST form's fields, checks its policy and signature,
and releases the *file* as the verified body.  The form the upstream gets
is rebuilt from those pieces: the plain fields (``key`` with ``${filename}``
already resolved, ``Content-Type``, ``acl``, ``x-amz-meta-*`` ...) without
the client's proof (policy, signature, credential, date, token), then the
file part, streamed.  In re-sign mode a new policy, signed with the
upstream credentials, is added, whose conditions pin every field to the
value the gateway verified.

The multipart framing is written here (RFC 7578); its length is unknown in
advance, so the upstream request is sent with chunked transfer encoding.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..credentials import Credentials
    from ..verifier import VerifiedRequest

__all__ = ["AUTH_FIELDS", "multipart", "plain_fields", "rebuild_form", "resign_form"]

#: Form fields that carry the client's authorization: never forwarded.
AUTH_FIELDS = frozenset(
    {
        "policy",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-algorithm",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-region-set",
        "awsaccesskeyid",
        "signature",
        "file",
    }
)
Header = tuple[str, str]


def plain_fields(form: Mapping[str, str]) -> list[tuple[str, str]]:
    """The verified form's fields without the authorization ones; ``key`` first."""
    out = [(n, v) for n, v in form.items() if n.lower() not in AUTH_FIELDS and n != "key"]
    if "key" in form:
        out.insert(0, ("key", form["key"]))
    return out


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


async def multipart(
    fields: Iterable[tuple[str, str]],
    filename: str,
    file_type: str,
    data: Any,
    boundary: str,
) -> AsyncIterator[bytes]:
    """A multipart/form-data body: ``fields``, then the file part from ``data``."""
    b = boundary.encode("ascii")
    head = bytearray()
    for name, value in fields:
        head += b"--" + b + b"\r\n"
        head += f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
        head += value.encode("utf-8") + b"\r\n"
    head += b"--" + b + b"\r\n"
    head += (
        f'Content-Disposition: form-data; name="file"; filename="{_quote(filename)}"\r\n'
        f"Content-Type: {file_type}\r\n\r\n"
    ).encode()
    yield bytes(head)
    if data is not None:
        if hasattr(data, "__aiter__"):
            async for piece in data:
                yield piece
        else:
            for piece in data:
                yield piece
    yield b"\r\n--" + b + b"--\r\n"


def _replace_type(headers: list[Header], boundary: str) -> list[Header]:
    out = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
    out.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
    return out


def _file_name(form: Mapping[str, str]) -> str:
    key = form.get("key", "file")
    return key.rsplit("/", 1)[-1] or "file"


def rebuild_form(
    headers: list[Header], ok: VerifiedRequest, fields: list[tuple[str, str]] | None = None
) -> tuple[list[Header], AsyncIterator[bytes]]:
    """Headers and body of the POST sent upstream without re-signing."""
    form = ok.form or {}
    boundary = "sigv4kit-" + os.urandom(12).hex()
    body = multipart(
        plain_fields(form) if fields is None else fields,
        _file_name(form),
        "application/octet-stream",
        ok.body,
        boundary,
    )
    return _replace_type(headers, boundary), body


def resign_form(
    headers: list[Header],
    ok: VerifiedRequest,
    creds: Credentials,
    region: str,
    service: str,
    bucket: str,
) -> tuple[list[Header], AsyncIterator[bytes]]:
    """Headers and body of the POST sent upstream with a policy signed for it."""
    from ..post_policy import presign_post

    form = ok.form or {}
    fields = plain_fields(form)
    extra = {n: v for n, v in fields if n != "key"}
    post = presign_post(
        creds,
        bucket,
        form["key"],
        region=region,
        service=service,
        timestamp=datetime.now(timezone.utc),
        expires_in=3600,
        fields=extra,
        conditions=[{n: v} for n, v in extra.items()],
    )
    return rebuild_form(headers, ok, list(post.fields.items()))
