"""The proxy's decisions, as pure functions: which headers are signed, how a
body is paid for, and what an upstream error means.

The header rule
---------------
A header is left out of the signature when something between the proxy and
AWS may legitimately add, change or remove it -- a signature over it would
break for no fault of the client:

* hop-by-hop headers (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``,
  ``TE``, ``Trailer``, ``Upgrade``, ``Proxy-*`` and any header named in
  ``Connection``): they are not forwarded at all;
* ``Expect``: answered by the proxy itself (``100-continue``), not forwarded;
* ``X-Forwarded-*``, ``Forwarded``, ``Via`` and ``X-Amzn-Trace-Id``: load
  balancers and tracing agents append to them; they are forwarded unsigned.

The client's own ``Authorization``, ``X-Amz-Date``, ``X-Amz-Security-Token``,
``X-Amz-Region-Set`` and ``X-Amz-S3session-Token`` are dropped (the proxy
signs), as is any header named by ``--strip``.  Everything else the client
sent is signed, so the upstream sees exactly what was signed.

The payload plan
----------------
See :func:`plan_payload`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..forward import HOP_BY_HOP

__all__ = [
    "DROPPED",
    "S3_SERVICES",
    "classify_error",
    "partition_headers",
    "plan_payload",
]

# Never forwarded: the proxy makes its own.
DROPPED = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-region-set",
        "x-amz-s3session-token",
        "host",
        "expect",
    }
)
# Forwarded but never signed: intermediaries change them.
_UNSIGNED_EXACT = frozenset({"x-amzn-trace-id", "forwarded", "via"})
_UNSIGNED_PREFIX = "x-forwarded-"

# Services whose uploads can stream (UNSIGNED-PAYLOAD, aws-chunked).
S3_SERVICES = frozenset({"s3", "s3express", "s3-object-lambda", "s3-outposts"})


def partition_headers(
    headers: Iterable[tuple[str, str]], strip: Iterable[str] = ()
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(to_sign, unsigned)`` from the client's headers, by the rule above."""
    connection_named: set[str] = set()
    hs = list(headers)
    for n, v in hs:
        if n.lower() == "connection":
            connection_named.update(t.strip().lower() for t in v.split(",") if t.strip())
    drop = DROPPED | HOP_BY_HOP | connection_named | {s.lower() for s in strip}
    to_sign: list[tuple[str, str]] = []
    unsigned: list[tuple[str, str]] = []
    for n, v in hs:
        ln = n.lower()
        if ln in drop:
            continue
        if ln in _UNSIGNED_EXACT or ln.startswith(_UNSIGNED_PREFIX):
            unsigned.append((n, v))
        else:
            to_sign.append((n, v))
    return to_sign, unsigned


# Plans: what to do with a request body.
EMPTY = "empty"  # no body: the hash of ""
UNSIGNED = "unsigned"  # UNSIGNED-PAYLOAD, streamed as is (needs a length)
CHUNKED = "aws-chunked"  # STREAMING-AWS4-HMAC-SHA256-PAYLOAD, streamed (needs a length)
SPOOL = "spool"  # read whole (memory, then a temp file), hashed, signed
PLANS = (EMPTY, UNSIGNED, CHUNKED, SPOOL)


def plan_payload(
    *,
    service: str,
    upstream_tls: bool,
    content_length: int | None,
    has_body: bool,
    forced: str = "auto",
    presign: bool = False,
) -> str:
    """How to sign and send a body.

    * No body: :data:`EMPTY`.
    * ``forced`` (``--payload`` / ``--unsigned-payload``) wins when it can
      work: a streamed plan needs the length up front (S3 rejects uploads
      without one), so a chunked-encoded upload with unknown length is
      spooled instead.
    * S3 and its relatives, automatically: over TLS ``UNSIGNED-PAYLOAD``
      (TLS already protects the bytes; what the AWS SDKs do), over plain
      HTTP the signed ``aws-chunked`` encoding (every chunk signed, nothing
      buffered); with ``--presign``, ``UNSIGNED-PAYLOAD`` (a presigned URL
      cannot carry chunk signatures).
    * Any other service signs the payload hash: spooled.
    """
    if not has_body or content_length == 0:
        return EMPTY
    known = content_length is not None
    if forced not in ("auto", *PLANS):
        raise ValueError(f"payload plan {forced!r} is not one of auto, {', '.join(PLANS)}")
    if forced == CHUNKED and presign:
        forced = UNSIGNED
    if forced in (UNSIGNED, CHUNKED):
        return forced if known else SPOOL
    if forced == SPOOL:
        return SPOOL
    if service in S3_SERVICES and known:
        if presign or upstream_tls:
            return UNSIGNED
        return CHUNKED
    return SPOOL


_CODE = re.compile(rb"<Code>\s*([A-Za-z.]+)\s*</Code>|\"(?:__type|code|Code)\"\s*:\s*\"([^\"]+)\"")
_EXPIRED = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
    }
)


def classify_error(status: int, body: bytes) -> str | None:
    """What an upstream error answer means to the proxy.

    Returns ``"expired-token"`` when the credentials expired (a refresh and
    one retry can fix it), else None.  This is the seam where the proxy
    looks at upstream answers: provider-specific handling (issue 15) adds
    its own outcomes here.
    """
    if status not in (400, 403):
        return None
    for m in _CODE.finditer(body[:65536]):
        code = (m.group(1) or m.group(2) or b"").decode("ascii", "replace")
        code = code.rpartition("#")[2]  # "com.amazon...#ExpiredTokenException"
        if code in _EXPIRED:
            return "expired-token"
    if b"security token included in the request is expired" in body:
        return "expired-token"
    return None
