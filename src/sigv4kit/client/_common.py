"""What the three client adapters share: building the Signer, the payload
mode, and clock-skew correction.

Nothing here imports an HTTP client.

Clock skew
----------
A server that finds the request's ``X-Amz-Date`` too far from its own clock
answers ``RequestTimeTooSkewed`` (S3: 403, 15 minutes) or, for the other
services, a 403 whose message says ``Signature expired`` or ``Signature not
yet current`` (5 minutes).  The adapters then take the server's time from the
response's ``Date`` header (or S3's ``<ServerTime>``), keep the difference
as an offset, re-sign the request once with ``now + offset`` and send it
again.  Later requests through the same adapter are signed with the offset
from the start, as the AWS SDKs do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ..config import check_payload
from ..credentials import Credentials
from ..errors import SigningError
from ..signer import SignedRequest, Signer

__all__ = [
    "STREAMING_MODES",
    "AdapterCore",
    "is_skew_error",
    "server_time",
]

STREAMING_MODES = frozenset({"streaming", "streaming-trailer", "streaming-unsigned-trailer"})

# Markers in an error body that say "your clock is off": S3's code, and the
# messages of the JSON/query services (botocore and the Go SDK match the same).
_SKEW_MARKERS = (
    b"RequestTimeTooSkewed",
    b"Signature expired",
    b"Signature not yet current",
    b"RequestExpired",
)
_SERVER_TIME = re.compile(rb"<ServerTime>([^<]{10,40})</ServerTime>")
# Headers the Signer owns; a request being signed again drops the old ones.
SIGNING_HEADERS = frozenset(
    {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)


def is_skew_error(status: int, body: bytes) -> bool:
    """Whether an error response says the request's time is too far off."""
    if status not in (400, 401, 403):
        return False
    head = body[:8192]
    return any(marker in head for marker in _SKEW_MARKERS)


def server_time(date_header: str | None, body: bytes = b"") -> float | None:
    """The server's clock as POSIX seconds, from ``Date`` or S3's ``<ServerTime>``."""
    if date_header:
        try:
            return parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    m = _SERVER_TIME.search(body[:8192])
    if m:
        text = m.group(1).decode("ascii", "replace").strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            return parsed.timestamp()
    return None


def _build_signer(
    signer_or_credentials: Signer | Credentials | Callable[[], Credentials] | None,
    region: str | None,
    service: str | None,
    options: dict[str, Any],
) -> tuple[Signer, object]:
    if isinstance(signer_or_credentials, Signer):
        if region is not None or service is not None or options:
            raise SigningError(
                "pass either a Signer, or credentials with region=, service= and signer "
                "options -- not both (the Signer already fixes region and service)"
            )
        signer = signer_or_credentials
        # The Signer keeps what it was given; async adapters resolve a provider
        # with aget() instead of calling it on the event loop.
        return signer, signer.credentials_source
    if not service:
        raise SigningError("service is required when no Signer is given, e.g. service='s3'")
    source: object = signer_or_credentials
    if source is None:
        from ..providers import default_provider

        source = default_provider()
    if region is None:
        from ..providers import resolve_region

        region = resolve_region()
        if region is None and options.get("algorithm", "sigv4") == "sigv4":
            raise SigningError(
                "no region: pass region='us-east-1' (or the like), or set AWS_REGION "
                "or a region in the AWS config file"
            )
    signer = Signer(source, region or "", service, **options)  # type: ignore[arg-type]
    return signer, source


class AdapterCore:
    """A Signer plus the adapter's payload mode and learnt clock offset.

    Args:
        signer_or_credentials: a :class:`~sigv4kit.Signer`; or
            ``Credentials``, a provider callable, or ``None`` for the default
            provider chain (then ``service`` is required and ``region`` is
            resolved like the AWS CLI does when omitted).
        payload: the payload mode for requests sent through this adapter
            (default: the Signer's).  ``"signed"`` hashes the body (files are
            hashed in pieces, then rewound), ``"unsigned"`` sends
            ``UNSIGNED-PAYLOAD``, the streaming modes send aws-chunked.
        correct_clock_skew: learn the server's clock from skew errors.
        options: any other :class:`~sigv4kit.Signer` keyword argument.
    """

    def __init__(
        self,
        signer_or_credentials: Signer | Credentials | Callable[[], Credentials] | None = None,
        region: str | None = None,
        service: str | None = None,
        *,
        payload: str | None = None,
        correct_clock_skew: bool = True,
        **options: Any,
    ) -> None:
        self.signer, self._source = _build_signer(signer_or_credentials, region, service, options)
        mode = self.signer.config.payload if payload is None else check_payload(payload)
        self.payload: str = mode
        self.correct_clock_skew = correct_clock_skew
        #: Seconds to add to the local clock (server time - local time).
        self.clock_offset: float = 0.0

    @property
    def streaming(self) -> bool:
        return self.payload in STREAMING_MODES

    @property
    def needs_body_hash(self) -> bool:
        """Only ``"signed"`` needs the body before sending (to hash it)."""
        return self.payload == "signed"

    def timestamp(self) -> float | None:
        offset = self.clock_offset
        return None if offset == 0.0 else time.time() + offset

    def sign(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: object,
        *,
        credentials: Credentials | None = None,
        payload: str | None = None,
    ) -> SignedRequest:
        """Sign with the adapter's mode and clock; ``credentials`` skips the provider."""
        signer = self.signer
        if credentials is not None:
            signer = Signer(credentials, config=signer.config)
        mode = self.payload if payload is None else payload
        drop = SIGNING_HEADERS
        if mode in STREAMING_MODES:
            # The aws-chunked length is known in advance (S3 needs the decoded
            # length anyway), so send a Content-Length rather than HTTP
            # chunking a client chose for a generator of unknown length.
            drop = drop | {"transfer-encoding"}
        return signer.sign(
            method,
            url,
            headers=[(n, v) for n, v in headers if n.lower() not in drop],
            body=body,
            timestamp=self.timestamp(),
            payload=mode,
        )

    async def acredentials(self) -> Credentials:
        """Current credentials without blocking the event loop."""
        from ..providers import aresolve_credentials

        source = self._source
        if isinstance(source, Credentials) or callable(source):
            return await aresolve_credentials(source)
        import asyncio

        return await asyncio.to_thread(self.signer.credentials)

    def learn_skew(self, status: int, date_header: str | None, body: bytes) -> bool:
        """Update the clock offset from a skew error; ``True`` means re-sign and retry."""
        if not self.correct_clock_skew or not is_skew_error(status, body):
            return False
        server = server_time(date_header, body)
        if server is None:
            return False
        self.clock_offset = server - time.time()
        return True
