"""An ASGI wrapper that writes one JSON line per request: how it was signed and how it ended.

It sits *outside* the signature middleware, so it sees rejected requests
too.  The interop tests read the log to prove that each client really used
the signing mode the table in ``docs/interop.md`` claims for it (for
example that minio-go sent signed chunks without ``Content-Encoding``), and
that each rejection carried the expected S3 error code.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import MutableMapping
from typing import Any, TextIO

from .app import Receive, Scope, Send

_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_KEEP = (
    "x-amz-content-sha256",
    "content-encoding",
    "transfer-encoding",
    "x-amz-trailer",
    "x-amz-decoded-content-length",
    "expect",
    "content-md5",
    "content-type",
    "user-agent",
    "x-amz-checksum-crc32",
    "x-amz-sdk-checksum-algorithm",
)


def auth_info(headers: dict[str, str], query: str) -> dict[str, Any]:
    """Which of the four ways the request carried its signature, and its quirks."""
    auth = headers.get("authorization")
    out: dict[str, Any] = {}
    if auth is not None:
        out["auth"] = "header"
        out["algorithm"] = auth.split(" ", 1)[0]
        rest = auth.split(" ", 1)[1] if " " in auth else ""
        out["comma_space"] = ", " in rest
        m = re.search(r"SignedHeaders=([^,\s]+)", rest)
        out["signed_headers"] = m[1].split(";") if m else []
    elif "X-Amz-Signature=" in query:
        out["auth"] = "query"
        m = re.search(r"X-Amz-SignedHeaders=([^&]+)", query)
        out["signed_headers"] = m[1].replace("%3B", ";").split(";") if m else []
    elif "Signature=" in query:
        out["auth"] = "query-v2"
    elif headers.get("content-type", "").startswith("multipart/form-data"):
        out["auth"] = "post"
    else:
        out["auth"] = "none"
    return out


class Recorder:
    def __init__(self, app: Any, log: TextIO, server: str) -> None:
        self.app = app
        self.log = log
        self.server = server
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            name = k.decode("latin-1").lower()
            value = v.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        query = scope.get("query_string", b"").decode("latin-1")
        entry: dict[str, Any] = {
            "server": self.server,
            "method": scope["method"],
            "path": scope["path"],
            "query": query,
            **auth_info(headers, query),
            **{k: headers[k] for k in _KEEP if k in headers},
        }
        error = bytearray()

        async def recording_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            elif message["type"] == "http.response.body" and entry.get("status", 200) >= 400:
                if len(error) < 65536:
                    error.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            m = _CODE.search(bytes(error))
            if m:
                entry["code"] = m[1].decode()
            with self.lock:
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()
