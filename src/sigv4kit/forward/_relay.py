"""The upstream side of the engine: send an :class:`Outgoing`, stream the answer back.

The upstream client is :mod:`._upstream` (asyncio protocol + httptools'
llhttp parser) by default: it costs about half the CPU per small request of
aiohttp's ``ClientSession``, which stays selectable
(``ForwardConfig(upstream_client="aiohttp")``) and is used when httptools is
missing.

Failures, and what the client sees:
* upstream unreachable / refused / reset before answering: 502 with a
  one-line reason (after one retry when the request is idempotent and its
  body replayable, :attr:`Outgoing.replayable`);
* upstream silent for ``read_timeout`` (or connect over ``connect_timeout``):
  504;
* the outgoing body raised (the gateway's verifier found a bad chunk, say):
  the service's :meth:`Service.on_body_error` answers, the upstream request
  is aborted;
* client gone mid-body: the upstream request is aborted and its connection
  closed, not returned to the pool;
* upstream gone mid-answer: the client connection is closed, so the client
  sees a truncated body, never a silently short one.

The engine adds no header of its own upstream (with the aiohttp client, its
automatic ``Accept``, ``Accept-Encoding``, ``User-Agent`` and
``Content-Type`` are suppressed) because the service signs exactly what it
hands over, and it never decompresses either body.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from aiohttp import (
    ClientConnectionError,
    ClientConnectorError,
    ClientOSError,
    ClientPayloadError,
    ClientResponse,
    ClientSession,
    ClientTimeout,
    DummyCookieJar,
    ServerDisconnectedError,
    ServerTimeoutError,
    TCPConnector,
    web,
)
from multidict import CIMultiDict
from yarl import URL

from ..errors import ClientDisconnected as _ClientGone
from ..errors import UpstreamFailed
from . import _upstream as _up
from ._listener import reply as _reply
from ._metrics import Metrics
from ._model import IDEMPOTENT_METHODS, Incoming, Outgoing, Reply, Service, UpstreamAnswer

if TYPE_CHECKING:
    from ._engine import ForwardConfig

__all__ = ["Relay"]

_log = logging.getLogger("sigv4kit.forward")

# aiohttp's client adds these unless told not to; the service decides.
_SKIP_AUTO = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
# Answers to copy back to the client: everything end-to-end.  Content-Length
# is kept (aiohttp then frames by length instead of chunking).
_RESPONSE_DROP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_PEEK_LIMIT = 65536
# What reading an upstream answer's body raises when the upstream broke off.
_BROKE_OFF = (
    ClientPayloadError,
    ClientConnectionError,
    asyncio.TimeoutError,
    UpstreamFailed,
)

Answer = tuple[web.StreamResponse, int, int | None, str]
"""The response for the client, its status, the upstream's status (None: no
answer from the upstream) and the failure's reason ("" when none)."""


class Relay:
    """One worker's upstream connections and the exchange of one request with them."""

    def __init__(self, config: ForwardConfig, service: Service, metrics: Metrics) -> None:
        self.config = config
        self.service = service
        self.metrics = metrics
        self.session: ClientSession | None = None
        self.pool: _up.Pool | None = None
        self._hooked = type(service).on_response is not Service.on_response

    def open(self) -> None:
        """The upstream pool (the lean client, or aiohttp's when asked or without httptools)."""
        c = self.config
        if c.upstream_client not in ("lean", "aiohttp"):
            raise ValueError(
                f"upstream_client {c.upstream_client!r} is not one of 'lean', 'aiohttp'"
            )
        if c.upstream_client == "lean" and _up.available():
            up_ssl = self._upstream_ssl()
            self.pool = _up.Pool(
                limit=c.pool_limit,
                idle=c.pool_idle,
                ssl_context=up_ssl if isinstance(up_ssl, ssl.SSLContext) else None,
                connect_timeout=c.connect_timeout,
                read_timeout=c.read_timeout,
            )
        else:
            self.session = self._aiohttp_session()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.pool is not None:
            await self.pool.close()

    def _upstream_ssl(self) -> ssl.SSLContext | bool:
        c = self.config
        if not c.upstream_verify:
            return False
        ctx = ssl.create_default_context(cafile=c.upstream_ca)
        return ctx

    def _aiohttp_session(self) -> ClientSession:
        c = self.config
        session = ClientSession(
            connector=TCPConnector(
                limit=c.pool_limit,
                limit_per_host=0,
                keepalive_timeout=c.pool_idle,
                ssl=self._upstream_ssl(),
                ttl_dns_cache=60,
            ),
            timeout=ClientTimeout(
                total=None,
                connect=None,
                sock_connect=c.connect_timeout,
                sock_read=c.read_timeout,
            ),
            auto_decompress=False,
            cookie_jar=DummyCookieJar(),
            skip_auto_headers=_SKIP_AUTO,
            trust_env=False,
            requote_redirect_url=False,
        )
        # aiohttp retries idempotent requests after a dropped pooled
        # connection by itself; the engine does it (counted, and only for
        # replayable bodies), so aiohttp's is turned off.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def _send(
        self, out: Outgoing, body: bytes | AsyncIterable[bytes] | None
    ) -> ClientResponse | _up.Response:
        if self.pool is not None:
            return await self.pool.request(out.method, out.origin, out.target, out.headers, body)
        assert self.session is not None
        return await self.session.request(
            out.method,
            URL(out.url, encoded=True),
            headers=CIMultiDict(
                [(n, v) for n, v in out.headers if n.lower() != "transfer-encoding"]
            ),
            data=body,
            allow_redirects=False,
            skip_auto_headers=_SKIP_AUTO,
        )

    async def forward(
        self, request: web.BaseRequest, inc: Incoming, out: Outgoing, counter: list[int]
    ) -> Answer:
        """Send ``out`` (once more where that is safe) and stream the answer to the client.

        ``counter[1]`` counts the bytes sent back.  A connection failure on
        an idempotent request with a replayable body is retried once; an
        upstream error answer goes to ``Service.on_response``, which may
        send a new request instead, once.
        """
        m = self.metrics
        hook_used = False
        conn_retried = False
        body = out.body
        while True:
            may_retry = not conn_retried and out.method in IDEMPOTENT_METHODS and out.replayable
            try:
                resp = await self._send(out, body)
            except (
                _ClientGone,
                UpstreamFailed,
                ClientConnectionError,
                asyncio.TimeoutError,
            ) as exc:
                failure = self._send_failed(inc, out, exc, may_retry)
                if failure is not None:
                    return failure
                conn_retried = True
                m.inc("sigv4kit_retries_total", reason="connection")
                body = out.body if out.reopen is None else out.reopen()
                continue
            upstream_status = resp.status
            m.inc("sigv4kit_upstream_responses_total", status=str(upstream_status))
            prefix = b""
            if upstream_status >= 400 and self._hooked and not hook_used:
                peeked, prefix = await _peek(resp, inc.method)
                answer = UpstreamAnswer(upstream_status, _resp_headers(resp), peeked or b"")
                try:
                    again = await self.service.on_response(inc, out, answer)
                except Exception:
                    _log.exception("on_response failed")
                    again = None
                if again is not None:
                    hook_used = True
                    resp.close()  # unread rest: not reusable
                    m.inc("sigv4kit_retries_total", reason="response")
                    out = again
                    body = out.body
                    continue
                if peeked is not None:
                    counter[1] += len(peeked)
                    r = web.Response(status=upstream_status, reason=resp.reason, body=peeked)
                    _copy_headers(resp, r, keep_length=False)
                    resp.release()
                    return r, upstream_status, upstream_status, ""
            try:
                r2 = await self._stream_back(request, resp, counter, prefix, _where(out))
            finally:
                resp.close()
            return r2, upstream_status, upstream_status, ""

    def _send_failed(
        self, inc: Incoming, out: Outgoing, exc: BaseException, may_retry: bool
    ) -> Answer | None:
        """The answer for a request that got no upstream answer; None = send it again."""
        if isinstance(exc, _ClientGone):
            return _gone(str(exc))
        if isinstance(exc, UpstreamFailed):  # the lean client says which kind
            kind = exc.kind
            if kind == "body" and isinstance(exc.__cause__, _ClientGone):
                return _gone()
            if kind == "timeout":
                return self._timed_out(out)
            if kind in ("connect", "disconnect") and may_retry:
                return None
        elif isinstance(exc, (ServerTimeoutError, asyncio.TimeoutError)):
            return self._timed_out(out)
        elif isinstance(exc.__cause__, _ClientGone) or isinstance(exc.__context__, _ClientGone):
            return _gone()
        lean_not_body = isinstance(exc, UpstreamFailed) and exc.kind != "body"
        failed = None if lean_not_body else self._body_failed(inc, exc)
        if failed is not None:
            return failed
        if isinstance(exc, (ClientConnectorError, ServerDisconnectedError, ClientOSError)):
            if may_retry:
                return None
            kind = "connect" if isinstance(exc, ClientConnectorError) else "disconnect"
        elif isinstance(exc, UpstreamFailed) and exc.kind == "connect":
            kind = "connect"
        else:
            kind = "disconnect"
        if isinstance(exc, UpstreamFailed) and exc.kind == "body":
            reason = f"sigv4kit: upstream {_where(out)} unreachable: {exc}"
        else:
            reason = _reason(exc, out)
        self.metrics.inc("sigv4kit_upstream_errors_total", reason=kind)
        return _reply(Reply.text(502, reason)), 502, None, reason

    def _timed_out(self, out: Outgoing) -> Answer:
        reason = (
            f"sigv4kit: upstream {_where(out)} did not answer within "
            f"{self.config.read_timeout:g} s (read timeout)"
        )
        self.metrics.inc("sigv4kit_upstream_errors_total", reason="timeout")
        return _reply(Reply.text(504, reason)), 504, None, reason

    def _body_failed(self, inc: Incoming, exc: BaseException) -> Answer | None:
        """The service's answer when the outgoing body itself raised (see on_body_error)."""
        cause = _body_cause(exc)
        if cause is None:
            return None
        try:
            reply = self.service.on_body_error(inc, cause)
        except Exception:
            _log.exception("on_body_error failed")
            return None
        if reply is None:
            return None
        return _reply(reply), reply.status, None, f"body failed: {type(cause).__name__}"

    async def _stream_back(
        self,
        request: web.BaseRequest,
        resp: ClientResponse | _up.Response,
        counter: list[int],
        prefix: bytes = b"",
        where: str = "",
    ) -> web.StreamResponse:
        length = resp.content_length
        if length is not None and length <= _PEEK_LIMIT and request.method != "HEAD":
            # Small answers: one read, one write (the 1 KiB GET fast path).
            try:
                data = await resp.read()
            except _BROKE_OFF:
                # Headers not sent yet: an honest 502 is still possible.
                return _reply(Reply.text(502, f"sigv4kit: upstream {where} broke off"))
            r = web.Response(status=resp.status, reason=resp.reason, body=data)
            _copy_headers(resp, r, keep_length=False)
            counter[1] += len(data)
            return r
        sr = web.StreamResponse(status=resp.status, reason=resp.reason)
        _copy_headers(resp, sr, keep_length=True)
        writer = await sr.prepare(request)
        if request.method == "HEAD" or resp.status in (204, 304):
            await sr.write_eof()
            return sr
        # aiohttp holds the status line and headers back until the first body
        # write; a large answer's headers go now, so the client's time to
        # first byte is the upstream's, not the upstream's plus one read.
        send_headers = getattr(writer, "send_headers", None)
        if send_headers is not None and not prefix:
            send_headers()
        content = resp.content
        try:
            if prefix:
                counter[1] += len(prefix)
                await sr.write(prefix)
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                counter[1] += len(chunk)
                await sr.write(chunk)
        except _BROKE_OFF:
            # Upstream broke off mid-answer: close the client connection so
            # it sees a short body as an error, not as the whole object.
            sr.force_close()
            if request.transport is not None:
                request.transport.close()
            return sr
        except (ConnectionError, RuntimeError):
            # Client gone: resp.close() in the caller drops the upstream
            # connection instead of pooling a half-read one.
            return sr
        await sr.write_eof()
        return sr


def _gone(text: str = "client disconnected") -> Answer:
    return _reply(Reply.text(400, text)), 499, None, "client disconnected"


def _body_cause(exc: BaseException) -> BaseException | None:
    """The exception the outgoing body raised, if that is why sending failed.

    aiohttp wraps it (``ClientConnectionError: Failed to send bytes ...``)
    with the original as cause or context; network errors and client
    disconnects are not body failures.
    """
    seen = 0
    cur: BaseException | None = exc.__cause__ or exc.__context__
    while cur is not None and seen < 8:
        if isinstance(cur, _ClientGone):
            return None
        if not isinstance(cur, (OSError, ClientConnectionError, asyncio.TimeoutError)):
            return cur
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return None


def _where(out: Outgoing) -> str:
    return out.origin.partition("://")[2] or out.origin


def _reason(exc: BaseException, out: Outgoing) -> str:
    detail = ""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        detail = os_error.strerror
    elif isinstance(exc, ServerDisconnectedError) or (
        isinstance(exc, UpstreamFailed) and exc.kind == "disconnect"
    ):
        detail = "connection closed before an answer"
    else:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"sigv4kit: upstream {_where(out)} unreachable: {detail}"


async def _peek(resp: ClientResponse | _up.Response, method: str) -> tuple[bytes | None, bytes]:
    """``(whole body, b"")`` when the error body is at most 64 KiB, else ``(None, prefix)``.

    A chunked answer is read up to the limit; past it, the bytes already
    read (``prefix``) are sent to the client ahead of the rest.
    """
    length = resp.content_length
    if method == "HEAD" or resp.status in (204, 304):
        return None, b""
    if length is not None and length > _PEEK_LIMIT:
        return None, b""
    try:
        if length is not None:
            return await resp.read(), b""
        parts: list[bytes] = []
        held = 0
        while held <= _PEEK_LIMIT:
            chunk = await resp.content.readany()
            if not chunk:
                return b"".join(parts), b""
            parts.append(chunk)
            held += len(chunk)
    except _BROKE_OFF:
        return b"", b""
    return None, b"".join(parts)


def _resp_headers(resp: ClientResponse | _up.Response) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers]


def _copy_headers(
    resp: ClientResponse | _up.Response, r: web.StreamResponse, *, keep_length: bool
) -> None:
    h = r.headers
    for k, v in resp.raw_headers:
        name = k.decode("latin-1")
        ln = name.lower()
        if ln in _RESPONSE_DROP or (not keep_length and ln == "content-length"):
            continue
        h.add(name, v.decode("latin-1"))
