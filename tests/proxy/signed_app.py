"""A verifying, non-S3 service for the proxy tests: sigv4kit's own
``SigV4Middleware`` (service ``execute-api``, so double URI encoding and a
payload hash the verifier computes from the body) in front of a tiny ASGI
app, served by uvicorn on 127.0.0.1 in a thread.

Routes (after verification):
* ``POST /json``: answers ``{"received": <the JSON>, "akid": ..., "token": ...}``;
* ``GET /events``: an ``application/vnd.amazon.eventstream`` answer whose
  first message is sent at once and whose second waits until the test sets
  ``release``: a proxy that buffered answers would never show the first;
* ``GET /expiring``: 403 ``ExpiredTokenException`` while the session token
  is one listed in ``expired``, else 200.
Keys: any access key id starting ``AKIDPROXY`` with secret ``secret-<akid>``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sigv4kit.eventstream import HeaderValue, Message, encode_message
from sigv4kit.server.asgi import SigV4Middleware
from sigv4kit.verifier import Verifier

SERVICE = "execute-api"
REGION = "us-east-1"


def secret_for(akid: str) -> str | None:
    return f"secret-{akid}" if akid.startswith("AKIDPROXY") else None


@dataclass
class SignedApp:
    port: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        verified = scope.get("sigv4kit")
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        token = headers.get("x-amz-security-token")
        self.seen.append(
            {
                "path": scope["path"],
                "akid": getattr(verified, "access_key_id", None),
                "token": token,
                "headers": headers,
            }
        )
        path = scope["path"]
        if path == "/json":
            answer = json.dumps(
                {"received": json.loads(body), "akid": verified.access_key_id, "token": token}
            ).encode()
            await _send(send, 200, [(b"content-type", b"application/json")], answer)
        elif path == "/events":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/vnd.amazon.eventstream")],
                }
            )
            for i in range(2):
                if i == 1:
                    await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 10)
                m = Message(
                    headers=[(":event-type", HeaderValue.string("Chunk"))],
                    payload=f"event {i}".encode(),
                )
                await send(
                    {"type": "http.response.body", "body": encode_message(m), "more_body": True}
                )
            await send({"type": "http.response.body", "body": b""})
        elif path == "/expiring":
            if token in self.expired:
                doc = json.dumps(
                    {
                        "__type": "ExpiredTokenException",
                        "message": "The security token included in the request is expired",
                    }
                ).encode()
                await _send(send, 403, [(b"content-type", b"application/json")], doc)
            else:
                await _send(send, 200, [], b"fresh")
        else:
            await _send(send, 404, [], b"no such route")


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class ExpressApp:
    """A directory-bucket endpoint: CreateSession, then session-signed requests only."""

    port: int = 0
    sessions: dict[str, str] = field(default_factory=dict)  # session akid -> token
    created: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        while (await receive()).get("more_body"):
            pass
        akid = scope["sigv4kit"].access_key_id
        self.seen.append({"akid": akid, "headers": headers, "path": scope["path"]})
        if scope["query_string"] == b"session":
            if akid.startswith("AKIDPROXYSESS"):
                await _send(send, 403, [], b"sessions are created with base credentials")
                return
            self.created += 1
            sess = f"AKIDPROXYSESS{self.created:04d}"
            token = f"sess-{self.created}"
            self.sessions[sess] = token
            exp = datetime.now(timezone.utc) + timedelta(minutes=5)
            doc = (
                '<?xml version="1.0" encoding="UTF-8"?><CreateSessionResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Credentials>'
                f"<SessionToken>{token}</SessionToken>"
                f"<SecretAccessKey>secret-{sess}</SecretAccessKey>"
                f"<AccessKeyId>{sess}</AccessKeyId>"
                f"<Expiration>{exp.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
                "</Credentials></CreateSessionResult>"
            ).encode()
            await _send(send, 200, [(b"content-type", b"application/xml")], doc)
            return
        ok = (
            self.sessions.get(akid) is not None
            and headers.get("x-amz-s3session-token") == self.sessions[akid]
            and "x-amz-security-token" not in headers
        )
        if not ok:
            await _send(send, 403, [], b"AccessDenied: not a session-signed request")
            return
        await _send(send, 200, [], json.dumps({"akid": akid, "path": scope["path"]}).encode())


class Running:
    def __init__(self, state: SignedApp | ExpressApp, service: str = SERVICE) -> None:
        import uvicorn

        verifier = Verifier(credentials=secret_for, region=REGION, service=service)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        state.port = sock.getsockname()[1]
        config = uvicorn.Config(
            SigV4Middleware(state.app, verifier),
            lifespan="off",
            log_level="warning",
            access_log=False,
            http="h11",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        self.sock = sock

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
