"""Verifier on browser POST uploads (policy forms).

Forms come from sigv4kit's ``presign_post`` and from botocore's own
``generate_presigned_post``, encoded as a browser (or ``requests``) sends
``multipart/form-data``; the Verifier reads the fields before the file,
checks the policy and streams the file.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sigv4kit import Credentials
from sigv4kit.errors import (
    AccessDenied,
    EntityTooLarge,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidToken,
    SignatureDoesNotMatch,
    SignatureError,
)
from sigv4kit.post_policy import presign_post
from sigv4kit.verifier import Verifier

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BUCKET = "uploads"


def field_part(boundary: str, name: str, value: str) -> bytes:
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
    return (head + value + "\r\n").encode()


def multipart(
    fields: dict[str, str] | list[tuple[str, str]],
    file: bytes,
    filename: str = "photo.jpg",
    after: list[tuple[str, str]] | None = None,
) -> tuple[str, bytes]:
    """A multipart/form-data body as browsers send it (fields, then the file)."""
    boundary = "----WebKitFormBoundary" + os.urandom(8).hex()
    parts = []
    items = fields.items() if isinstance(fields, dict) else fields
    for name, value in items:
        parts.append(field_part(boundary, name, value))
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + file
        + b"\r\n"
    )
    for name, value in after or []:
        parts.append(field_part(boundary, name, value))
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def headers_for(ctype: str, body: bytes, host: str = f"{BUCKET}.s3.amazonaws.com") -> list[Any]:
    return [("Host", host), ("Content-Type", ctype), ("Content-Length", str(len(body)))]


def verifier(**kw: Any) -> Verifier:
    return Verifier({AKID: SECRET}, "us-east-1", "s3", **kw)


def form(algorithm: str = "sigv4", creds: Credentials | None = None, **kw: Any) -> Any:
    return presign_post(
        creds or Credentials(AKID, SECRET),
        BUCKET,
        "user/${filename}",
        region="us-east-1",
        timestamp=NOW,
        algorithm=algorithm,
        **kw,
    )


def pieces(data: bytes, n: int = 777) -> list[bytes]:
    return [data[i : i + n] for i in range(0, len(data), n)]


@pytest.mark.parametrize("algorithm", ["sigv4", "sigv4a"])
def test_post_upload_verifies_and_streams_the_file(algorithm: str) -> None:
    data = os.urandom(50000)
    p = form(algorithm, conditions=[["content-length-range", 1, 100000]])
    ctype, body = multipart(p.fields, data)
    ok = verifier().verify("POST", "/", headers_for(ctype, body), pieces(body), now=NOW)
    assert ok.auth_type == "post"
    assert ok.access_key_id == AKID
    assert ok.form is not None and ok.form["key"] == "user/photo.jpg"
    assert ok.read() == data
    assert ok.algorithm == (
        "AWS4-HMAC-SHA256" if algorithm == "sigv4" else "AWS4-ECDSA-P256-SHA256"
    )


def test_post_path_style_bucket_and_bytes_body() -> None:
    p = form()
    ctype, body = multipart(p.fields, b"hello")
    ok = verifier().verify(
        "POST", f"/{BUCKET}", headers_for(ctype, body, "s3.amazonaws.com"), body, now=NOW
    )
    assert ok.read() == b"hello"


def test_post_botocore_generate_presigned_post() -> None:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )
    post = s3.generate_presigned_post(
        BUCKET,
        "incoming/${filename}",
        Fields={"acl": "private"},
        Conditions=[{"acl": "private"}, ["content-length-range", 0, 1 << 20]],
        ExpiresIn=600,
    )
    ctype, body = multipart(post["fields"], b"data from boto3", filename="a.txt")
    # botocore signed with the real clock: verify at that time.
    ok = verifier().verify("POST", "/", headers_for(ctype, body), body, now=None)
    assert ok.form is not None and ok.form["key"] == "incoming/a.txt"
    assert ok.read() == b"data from boto3"
    # A condition violated: acl changed.
    fields = dict(post["fields"], acl="public-read")
    ctype, body = multipart(fields, b"x")
    with pytest.raises(AccessDenied, match="Policy Condition failed"):
        verifier().verify("POST", "/", headers_for(ctype, body), body)


def test_post_requests_encoder() -> None:
    """The body ``requests`` builds for ``files=`` (what many tools send)."""
    import requests

    p = form()
    req = requests.Request(
        "POST", p.url, data=p.fields, files={"file": ("r.bin", b"\x00\x01\x02")}
    ).prepare()
    assert isinstance(req.body, bytes)
    ok = verifier().verify(
        "POST", "/", headers_for(req.headers["Content-Type"], req.body), req.body, now=NOW
    )
    assert ok.read() == b"\x00\x01\x02"


def test_post_rejections() -> None:
    p = form(conditions=[["content-length-range", 1, 10]])
    v = verifier()
    # Expired policy.
    ctype, body = multipart(p.fields, b"abc")
    with pytest.raises(AccessDenied, match="Policy expired"):
        v.verify("POST", "/", headers_for(ctype, body), body, now=NOW + timedelta(hours=2))
    # Wrong bucket.
    with pytest.raises(AccessDenied, match="Policy Condition failed"):
        v.verify("POST", "/other", headers_for(ctype, body, "s3.amazonaws.com"), body, now=NOW)
    # Tampered signature / policy.
    bad = dict(p.fields, **{"x-amz-signature": "0" * 64})
    ctype2, body2 = multipart(bad, b"abc")
    with pytest.raises(SignatureDoesNotMatch):
        v.verify("POST", "/", headers_for(ctype2, body2), body2, now=NOW)
    # Unknown key.
    other = form(creds=Credentials("AKIDOTHER", SECRET))
    ctype3, body3 = multipart(other.fields, b"abc")
    with pytest.raises(InvalidAccessKeyId):
        v.verify("POST", "/", headers_for(ctype3, body3), body3, now=NOW)
    # An extra field not covered by the policy.
    extra = [*p.fields.items(), ("x-amz-meta-color", "blue")]
    ctype4, body4 = multipart(extra, b"abc")
    with pytest.raises(AccessDenied, match="Extra input fields"):
        v.verify("POST", "/", headers_for(ctype4, body4), body4, now=NOW)
    # No file part.
    boundary = "b0undary"
    only = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{val}\r\n'
            for k, val in p.fields.items()
        )
        + f"--{boundary}--\r\n"
    )
    with pytest.raises(InvalidArgument, match="exactly one file"):
        v.verify(
            "POST",
            "/",
            headers_for(f"multipart/form-data; boundary={boundary}", only.encode()),
            only.encode(),
            now=NOW,
        )


def test_post_file_too_large_never_released_whole() -> None:
    p = form(conditions=[["content-length-range", 1, 1000]])
    ctype, body = multipart(p.fields, b"z" * 5000)
    ok = verifier().verify("POST", "/", headers_for(ctype, body), pieces(body, 300), now=NOW)
    got = bytearray()
    with pytest.raises(EntityTooLarge):
        for piece in ok.body:  # type: ignore[union-attr]
            got += piece
    assert len(got) <= 1000


def test_post_file_too_small() -> None:
    p = form(conditions=[["content-length-range", 10, 1000]])
    ctype, body = multipart(p.fields, b"tiny")
    ok = verifier().verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    with pytest.raises(SignatureError) as exc:
        ok.read()
    assert exc.value.code == "EntityTooSmall"


def test_post_session_token() -> None:
    creds = Credentials(AKID, SECRET, "tok/en+1")
    p = form(creds=creds)
    ctype, body = multipart(p.fields, b"abc")
    v = Verifier({AKID: creds}, "us-east-1", "s3")
    ok = v.verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    assert ok.has_session_token
    other = Verifier({AKID: Credentials(AKID, SECRET, "different")}, "us-east-1", "s3")
    with pytest.raises(InvalidToken):
        other.verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    seen = []
    checked = verifier(token_check=lambda a, t: seen.append(t) or True)
    checked.verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    assert seen == ["tok/en+1"]


def test_post_averify_async_body_and_lookup() -> None:
    p = form()
    data = os.urandom(20000)
    ctype, body = multipart(p.fields, data)

    async def lookup(akid: str) -> str | None:
        return SECRET if akid == AKID else None

    async def run() -> bytes:
        async def stream() -> Any:
            for piece in pieces(body, 1000):
                yield piece

        v = Verifier(lookup, "us-east-1", "s3")
        ok = await v.averify("POST", "/", headers_for(ctype, body), stream(), now=NOW)
        return await ok.aread()

    assert asyncio.run(run()) == data


def test_post_fields_after_file_are_ignored() -> None:
    p = form()
    ctype, body = multipart(p.fields, b"abc", after=[("x-amz-meta-late", "1")])
    ok = verifier().verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    assert ok.read() == b"abc"
    assert ok.form is not None and "x-amz-meta-late" not in ok.form


def test_post_signature_mismatch_debug_fields() -> None:
    p = form()
    bad = dict(p.fields, **{"x-amz-signature": "0" * 64})
    ctype, body = multipart(bad, b"abc")
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verifier().verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    assert exc.value.string_to_sign == p.fields["policy"]
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verifier(include_debug=False).verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    assert exc.value.string_to_sign is None
    # With a session token in the form, the policy (which holds it) is not shown.
    tp = form(creds=Credentials(AKID, SECRET, "secret-token"))
    bad = dict(tp.fields, **{"x-amz-signature": "0" * 64})
    ctype, body = multipart(bad, b"abc")
    with pytest.raises(SignatureDoesNotMatch) as exc:
        verifier().verify("POST", "/", headers_for(ctype, body), body, now=NOW)
    assert exc.value.string_to_sign is None
    assert "secret-token" not in exc.value.to_xml()
