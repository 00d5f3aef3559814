"""What a successful verification returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import SigningError
from ._common import Scope


@dataclass(slots=True)
class VerifiedRequest:
    """Who signed what, and the verified body.

    Attributes:
        access_key_id: the signer's access key id.
        algorithm: ``AWS4-HMAC-SHA256`` or ``AWS4-ECDSA-P256-SHA256``.
        auth_type: ``"header"``, ``"presigned"``, ``"post"``, ``"streaming"``,
            ``"streaming-trailer"`` or ``"streaming-unsigned-trailer"``.
        scope: the credential scope.
        signed_headers: the lowercase names of the signed headers.
        amz_date: the request time as ``YYYYMMDDTHHMMSSZ``.
        payload_hash: the payload hash of the canonical request
            (a SHA-256, ``UNSIGNED-PAYLOAD`` or a ``STREAMING-...`` value).
        has_session_token: the request carried a session token (checked).
        body: the verified, decoded body: an iterator of bytes (an async
            iterator when an async body was given to ``averify``).  Iterate
            it to the end: the last piece is released only after the payload
            hash (or the final chunk signature) has been checked, otherwise
            a :class:`~sigv4kit.errors.SignatureError` is raised.
        form: the POST form fields (``auth_type == "post"``), else None.
        expires: the presigned URL's lifetime in seconds, else None.
        trailers: the verified trailing headers of an aws-chunked body
            (e.g. ``x-amz-checksum-crc32``), filled in once ``body`` was
            read to the end.
        string_to_sign: the exact text whose signature was verified (for a
            browser POST, the Base64 policy).  A replay cache keys on
            ``(access_key_id, string_to_sign)``, never on ``signature``: a
            SigV4a (ECDSA) signature has a second valid form ``(r, n-s)``,
            and two signatures of one request differ.  It may hold the session
            token (POST policies), so it is left out of the repr.
    """

    access_key_id: str
    algorithm: str
    auth_type: str
    scope: Scope
    signed_headers: tuple[str, ...]
    amz_date: str
    payload_hash: str
    has_session_token: bool
    body: Iterator[bytes] | AsyncIterator[bytes]
    signature: str = field(repr=False, default="")
    form: dict[str, str] | None = None
    expires: int | None = None
    trailers: Sequence[tuple[str, str]] = ()
    string_to_sign: str = field(repr=False, default="")

    @property
    def request_time(self) -> datetime:
        return datetime.strptime(self.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)

    def read(self) -> bytes:
        """The whole verified body (for small bodies; raises on failure)."""
        if not isinstance(self.body, Iterator):
            raise SigningError("the body is asynchronous; use 'await ok.aread()'")
        return b"".join(self.body)

    async def aread(self) -> bytes:
        """The whole verified body, for a sync or an async body."""
        if isinstance(self.body, Iterator):
            return b"".join(self.body)
        return b"".join([piece async for piece in self.body])
