"""An ASGI wrapper that refuses chosen signing modes, as some S3-compatible stores do.

Cloudflare R2 answered ``x-amz-checksum-crc32`` with 501 "not implemented",
Backblaze B2 with "Unsupported header", others refuse aws-chunked.  To test
the probe's "no" verdicts and every fallback path against a real server, the
test app can refuse any capability the probe names.  The set is read from a
file on every request (one name per line), so a test switches refusals
without restarting the server.  It sits outside the signature middleware:
a refused request is answered before it is verified, as those stores do.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from .app import Receive, Scope, Send

_MODES = {
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": "streaming",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": "streaming-trailer",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER": "streaming-unsigned-trailer",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD": "streaming",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER": "streaming-trailer",
    "UNSIGNED-PAYLOAD": "unsigned-payload",
}


def capabilities_used(method: str, headers: dict[str, str], query: str) -> set[str]:
    """The probe's capability names this request exercises."""
    used: set[str] = set()
    mode = _MODES.get(headers.get("x-amz-content-sha256", ""))
    if mode is not None:
        used.add(mode)
    for name in headers:
        if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-algorithm":
            used.add("checksum-" + name.removeprefix("x-amz-checksum-"))
    for name in headers.get("x-amz-trailer", "").split(","):
        if name.strip().startswith("x-amz-checksum-"):
            used.add("checksum-" + name.strip().removeprefix("x-amz-checksum-"))
    if "content-md5" in headers:
        used.add("content-md5")
    if headers.get("authorization", "").startswith("AWS4-ECDSA-P256-SHA256"):
        used.add("sigv4a")
    if "X-Amz-Signature=" in query:
        used.add("presign-put" if method == "PUT" else "presign-get")
        if "X-Amz-Algorithm=AWS4-ECDSA" in query:
            used.add("sigv4a")
    if method == "POST" and headers.get("content-type", "").startswith("multipart/form-data"):
        used.add("post-policy")
    return used


_MESSAGES = {
    "streaming": "aws-chunked encoding (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) is not implemented",
    "streaming-trailer": "aws-chunked with trailers is not supported",
    "streaming-unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER is not implemented",
    "unsigned-payload": "UNSIGNED-PAYLOAD is not supported; x-amz-content-sha256 must be a hash",
    "content-md5": "Content-MD5 is not implemented",
    "sigv4a": "AWS4-ECDSA-P256-SHA256 is not implemented",
    "presign-get": "query-string authentication is not implemented",
    "presign-put": "query-string authentication is not implemented",
    "post-policy": "POST object is not implemented",
}


class Refuser:
    def __init__(self, app: Any, path: Path) -> None:
        self.app = app
        self.path = path

    def refused(self) -> set[str]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return set()
        return {line.strip() for line in text.splitlines() if line.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        hit = sorted(capabilities_used(scope["method"], headers, query) & self.refused())
        if not hit:
            return await self.app(scope, receive, send)
        # Read the body first, as the stores that refuse do before answering:
        # a client still sending would otherwise see a reset, not the answer.
        more = True
        while more:
            msg = await receive()
            more = msg.get("more_body", False) and msg["type"] == "http.request"
        name = hit[0]
        if name.startswith("checksum-"):
            header = "x-amz-checksum-" + name.removeprefix("checksum-")
            message = f"Header '{header}' with value is not implemented"
        else:
            message = _MESSAGES[name]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>'
            f"<Message>{message}</Message><RequestId>{secrets.token_hex(8)}</RequestId></Error>"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 501,
                "headers": [
                    (b"content-type", b"application/xml"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
