"""Re-sign mode: how the body of a verified request is signed again upstream.

The gateway verified the client's signature with the client's key; in
``--resign`` mode it then signs the forwarded request with the *upstream's*
credentials.  The payload part of that new signature is decided here, from
what the client sent and what the upstream accepts, without any I/O:

==============================  ==============================================
client's payload                upstream payload
==============================  ==============================================
a SHA-256 (header or presign)   the same SHA-256: known before the body, so
                                the body still streams, and the upstream
                                checks it a second time
``UNSIGNED-PAYLOAD``            ``UNSIGNED-PAYLOAD``
aws-chunked (any of the three   decoded by the gateway (every chunk signature
modes)                          checked), then either re-encoded as signed
                                aws-chunked (``streaming``; ``streaming-
                                trailer`` with the client's checksum when it
                                sent one) or sent plain as ``UNSIGNED-
                                PAYLOAD`` with ``Content-Length`` = the
                                decoded length
browser POST                    a new POST form, policy signed upstream
==============================  ==============================================

``auto`` picks ``unsigned`` for an https upstream (TLS protects the body, and
every S3 implementation accepts it) and ``streaming`` over plain http, where
only chunk signatures protect the body; the operator overrides with
``--upstream-payload``.  Either way the chunk framing the *client* sent never
reaches the upstream as data: the gateway forwards decoded bytes, and the
framing the upstream sees is the one the gateway's signer wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import CHECKSUM_HEADERS
from ..errors import CannotResign as PlanError

__all__ = ["PAYLOAD_MODES", "PayloadPlan", "PlanError", "payload_plan"]

PAYLOAD_MODES = ("auto", "unsigned", "streaming")
_HEX = frozenset("0123456789abcdef")
_CHECKSUMS = {header: name for name, header in CHECKSUM_HEADERS.items()}


@dataclass(frozen=True, slots=True)
class PayloadPlan:
    """How to sign the forwarded body.

    Attributes:
        payload: the Signer's ``payload`` argument: a 64-hex SHA-256,
            ``"unsigned"``, ``"streaming"``, ``"streaming-trailer"``, or
            ``"post"`` (rebuild the form).
        length: the length of the body as the *data* (decoded), or None when
            unknown (sent chunked).
        checksum: the trailing checksum algorithm for ``streaming-trailer``.
    """

    payload: str
    length: int | None
    checksum: str | None = None

    @property
    def streaming(self) -> bool:
        return self.payload.startswith("streaming")


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    for n, v in headers:
        if n.lower() == name:
            return v.strip()
    return None


def _length(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise PlanError(f"{what} must be a decimal number of bytes, got {value!r}")
    return int(value)


def payload_plan(
    *,
    auth_type: str,
    payload_hash: str,
    headers: Iterable[tuple[str, str]],
    upstream_scheme: str,
    mode: str = "auto",
) -> PayloadPlan:
    """Decide how the upstream request's payload is signed.

    Args:
        auth_type, payload_hash: from the :class:`~sigv4kit.verifier.VerifiedRequest`.
        headers: the request's headers as received.
        upstream_scheme: ``"http"`` or ``"https"``.
        mode: ``"auto"``, ``"unsigned"`` or ``"streaming"`` (what to do with
            an aws-chunked upload; other bodies keep their kind).
    """
    if mode not in PAYLOAD_MODES:
        raise PlanError(f"upstream payload mode must be one of {', '.join(PAYLOAD_MODES)}")
    hs = list(headers)
    if auth_type == "post":
        return PayloadPlan("post", None)
    if payload_hash.startswith("STREAMING-") and not payload_hash.endswith("-EVENTS"):
        decoded = _length(
            _header(hs, "x-amz-decoded-content-length"), "X-Amz-Decoded-Content-Length"
        )
        if decoded is None:
            raise PlanError(
                "an aws-chunked upload needs X-Amz-Decoded-Content-Length to be re-signed"
            )
        if mode == "auto":
            mode = "unsigned" if upstream_scheme == "https" else "streaming"
        if mode == "unsigned":
            return PayloadPlan("unsigned", decoded)
        trailer = (_header(hs, "x-amz-trailer") or "").lower()
        checksum = _CHECKSUMS.get(trailer)
        if checksum is not None:
            return PayloadPlan("streaming-trailer", decoded, checksum)
        return PayloadPlan("streaming", decoded)
    length = _length(_header(hs, "content-length"), "Content-Length")
    if payload_hash == "UNSIGNED-PAYLOAD":
        return PayloadPlan("unsigned", length)
    if len(payload_hash) == 64 and set(payload_hash.lower()) <= _HEX:
        return PayloadPlan(payload_hash.lower(), length)
    raise PlanError(f"cannot re-sign a request whose payload hash is {payload_hash!r}")
