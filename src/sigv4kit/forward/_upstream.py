"""A lean pooled HTTP/1.1 client for the engine's upstream side.

Why not aiohttp's ``ClientSession``: profiles of the proxy on 1 KiB GETs put
aiohttp's client request path at ~115-127 us CPU per request (URL objects,
header multidicts, tracing hooks, timers, a writer task per request),
about a quarter of the proxy's whole cost.  The engine needs far less: send
a head it already built, in order, byte for byte; stream the answer back
with backpressure; pool connections per origin.  This module does exactly
that on one :class:`asyncio.Protocol` per connection, with ``httptools``
(llhttp, C) parsing the answers.

What it does:

* one idle-connection pool per origin (``scheme, host, port``), LIFO, idle
  connections dropped after ``pool_idle`` seconds, at most ``limit`` open;
* the request head (and a ``bytes`` body) written in one buffer; an
  iterable body written by a task while the answer is awaited (an upstream
  may answer early), ``Content-Length``-framed when the headers carry it,
  chunked otherwise; ``Expect: 100-continue`` waits for the interim answer
  (or one second) before the body;
* answers framed by ``Content-Length``, chunked or connection close; the
  body is buffered up to 64 KiB, then the socket stops being read until the
  consumer catches up;
* a connection goes back to the pool only when its answer was read to the
  end, the request was fully sent and both sides keep it alive; anything
  else (client gone, body unread, errors) closes it.

Errors are this module's own (:class:`UpstreamError` and subclasses), so the
engine maps them to 502/504 without knowing about sockets.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time
from collections.abc import AsyncIterable
from typing import Any, cast

from .._memo import Memo
from ..canonical import DEFAULT_PORTS
from ..errors import UpstreamFailed

try:
    import httptools

    _HAVE_HTTPTOOLS = True
except ImportError:  # pragma: no cover - the engine falls back to aiohttp
    _HAVE_HTTPTOOLS = False

__all__ = [
    "BodyError",
    "BrokeOff",
    "ConnectError",
    "Disconnected",
    "Pool",
    "Response",
    "Timeout",
    "UpstreamError",
    "available",
]

_BUFFER_LIMIT = 65536
_CONTINUE_WAIT = 1.0


def available() -> bool:
    """True when httptools (the C parser this client needs) is installed."""
    return _HAVE_HTTPTOOLS


UpstreamError = UpstreamFailed


def ConnectError(message: str, os_error: OSError | None = None) -> UpstreamFailed:
    """The connection could not be opened (``os_error`` says why)."""
    return UpstreamFailed("connect", message, os_error)


def Disconnected(message: str) -> UpstreamFailed:
    """The connection closed or reset before the answer's head arrived."""
    return UpstreamFailed("disconnect", message)


def Timeout(message: str) -> UpstreamFailed:
    """Connect or read timeout."""
    return UpstreamFailed("timeout", message)


def BrokeOff(message: str) -> UpstreamFailed:
    """The answer's body ended early or was malformed."""
    return UpstreamFailed("broke-off", message)


def BodyError(message: str) -> UpstreamFailed:
    """The request body iterator raised (raise it ``from`` the original)."""
    return UpstreamFailed("body", message)


class _Conn(asyncio.Protocol):
    """One upstream connection; carries at most one exchange at a time."""

    __slots__ = (
        "_write_paused",
        "_write_waiter",
        "closed",
        "idle_since",
        "key",
        "loop",
        "resp",
        "transport",
    )

    def __init__(self, key: tuple[str, str, int], loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.resp: Response | None = None
        self._write_waiter: asyncio.Future[None] | None = None
        self._write_paused = False

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)
        # The head, body pieces and chunk trailers are separate writes: with
        # Nagle's algorithm each small one can wait for the peer's delayed
        # ACK (40 ms).  aiohttp sets this too.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        resp = self.resp
        if resp is None:
            # Bytes nobody asked for: the connection is out of step.
            self.close()
            return
        resp._feed(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        resp = self.resp
        if resp is not None:
            resp._lost(exc)
        w = self._write_waiter
        if w is not None and not w.done():
            w.set_exception(ConnectionResetError("upstream closed the connection"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        w = self._write_waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- helpers ---------------------------------------------------------------
    async def drain(self) -> None:
        if self.closed:
            raise ConnectionResetError("upstream closed the connection")
        if not self._write_paused:
            return
        w = self._write_waiter = self.loop.create_future()
        try:
            await w
        finally:
            self._write_waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Response:
    """The upstream's answer: head parsed, body streamed through :meth:`readany`."""

    def __init__(self, conn: _Conn, pool: Pool, head_only: bool, read_timeout: float) -> None:
        self._conn = conn
        self._pool = pool
        self._head_only = head_only
        self._read_timeout = read_timeout
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = ""
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.content_length: int | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._head_done = False
        self._complete = False
        self._keep_alive = False
        self._exc: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._continue: asyncio.Future[None] | None = None
        self._paused = False
        self._writer: asyncio.Task[None] | None = None
        self._sent = False  # request fully written
        self._finished = False
        self._until_close = False

    # -- httptools callbacks ---------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self.reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # Interim answer: 100 Continue releases the body; others are dropped.
            self.raw_headers = []
            self.reason = ""
            c = self._continue
            if c is not None and not c.done():
                c.set_result(None)
            return
        self.status = status
        for k, v in self.raw_headers:
            if len(k) == 14 and k.lower() == b"content-length":
                try:
                    self.content_length = int(v)
                except ValueError:
                    pass
            elif len(k) == 17 and k.lower() == b"transfer-encoding":
                self.content_length = None
                self._until_close = False
        self._head_done = True
        if self.content_length is None and not self._parser.should_keep_alive():
            self._until_close = True
        if self._head_only:
            # llhttp would wait for a HEAD answer's announced body: stop here
            # and never reuse the connection (its parser is out of step).
            self._complete = True
            self._keep_alive = False
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._head_only:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _BUFFER_LIMIT and not self._paused:
            t = self._conn.transport
            if t is not None:
                self._paused = True
                t.pause_reading()
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def on_message_complete(self) -> None:
        if not self._head_done:
            return  # the end of an interim (1xx) answer
        if not self._head_only:
            self._complete = True
            self._keep_alive = self._parser.should_keep_alive()
        self._wake()

    # -- feeding ---------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        if self._complete:
            # Bytes after the answer: never reuse this connection.
            self._keep_alive = False
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(BrokeOff("upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(BrokeOff(f"malformed answer: {exc}"))

    def _lost(self, exc: Exception | None) -> None:
        if self._complete:
            self._keep_alive = False
            return
        if self._head_done and self._until_close and exc is None:
            self._complete = True
            self._keep_alive = False
            self._wake()
            return
        if not self._head_done:
            err: UpstreamFailed = Disconnected("connection closed before an answer")
        else:
            err = BrokeOff("connection closed mid-answer")
        if exc is not None:
            err.__cause__ = exc
        self._fail(err)

    def _fail(self, exc: BaseException) -> None:
        if self._exc is None:
            self._exc = exc
        self._keep_alive = False
        c = self._continue
        if c is not None and not c.done():
            c.set_result(None)
        self._conn.close()
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def _wait(self) -> None:
        """Wait for the next parser event, at most ``read_timeout`` seconds."""
        loop = self._conn.loop
        w = self._waiter = loop.create_future()
        handle = loop.call_later(self._read_timeout, _expire, w)
        try:
            await w
        finally:
            handle.cancel()
            self._waiter = None

    # -- the consumer's side ---------------------------------------------------
    async def _head(self) -> None:
        while not self._head_done:
            if self._exc is not None:
                raise self._exc
            w = self._writer
            if w is not None and w.done() and not w.cancelled():
                err = w.exception()
                if err is not None:
                    raise err
            await self._wait_head()

    async def _wait_head(self) -> None:
        w = self._writer
        if w is None or w.done():
            await self._wait()
            return
        # Wake on the answer or on a failed body write, whichever is first.
        loop = self._conn.loop
        fut = self._waiter = loop.create_future()
        handle = loop.call_later(self._read_timeout, _expire, fut)
        cb = _wake_on_done(fut)
        w.add_done_callback(cb)
        try:
            await fut
        finally:
            handle.cancel()
            w.remove_done_callback(cb)
            self._waiter = None

    async def readany(self) -> bytes:
        """The next piece of the body; ``b""`` at its end."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= _BUFFER_LIMIT // 2:
                    self._paused = False
                    t = self._conn.transport
                    if t is not None and not self._conn.closed:
                        t.resume_reading()
                return chunk
            if self._complete:
                return b""
            if self._exc is not None:
                raise self._exc
            try:
                await self._wait()
            except TimeoutError:
                raise Timeout("upstream silent mid-answer") from None

    async def read(self) -> bytes:
        """The whole body (callers bound its size first)."""
        parts: list[bytes] = []
        while True:
            chunk = await self.readany()
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    @property
    def content(self) -> Response:
        """Itself: ``resp.content.readany()`` reads as with aiohttp's answers."""
        return self

    @property
    def complete(self) -> bool:
        return self._complete

    def close(self) -> None:
        """End the exchange: pool the connection when it is clean, else close it."""
        if self._finished:
            return
        self._finished = True
        conn = self._conn
        conn.resp = None
        w = self._writer
        reusable = (
            self._complete
            and self._keep_alive
            and self._exc is None
            and not self._chunks
            and self._sent
            and (w is None or w.done())
            and not conn.closed
        )
        if w is not None:
            if w.done():
                if not w.cancelled():
                    w.exception()  # retrieved: a late body failure is not news
            else:
                w.cancel()
        if reusable:
            if self._paused and conn.transport is not None:
                conn.transport.resume_reading()
            self._pool._release(conn)
        else:
            conn.close()
            self._pool._forget(conn)

    release = close


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


def _wake_on_done(fut: asyncio.Future[None]) -> Any:
    def cb(_: object) -> None:
        if not fut.done():
            fut.set_result(None)

    return cb


class Pool:
    """Keep-alive connections per origin, at most ``limit`` open in all."""

    def __init__(
        self,
        *,
        limit: int,
        idle: float,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._limit = limit if limit > 0 else 1 << 30
        self._idle_for = idle
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._origins: Memo[str, tuple[str, str, int]] = Memo(4096)
        self._closed = False
        self._sweeper: asyncio.TimerHandle | None = None

    # -- connections -----------------------------------------------------------
    def _key(self, origin: str) -> tuple[str, str, int]:
        key = self._origins.get(origin)
        if key is None:
            scheme, _, hostport = origin.partition("://")
            scheme = scheme.lower()
            if hostport.startswith("["):
                host, _, rest = hostport[1:].partition("]")
                port_s = rest[1:] if rest.startswith(":") else ""
            else:
                host, _, port_s = hostport.partition(":")
            port = int(port_s) if port_s else DEFAULT_PORTS.get(scheme, 80)
            key = self._origins.put(origin, (scheme, host, port))
        return key

    async def _acquire(self, key: tuple[str, str, int]) -> tuple[_Conn, bool]:
        """A connection for ``key`` and whether it came from the pool."""
        idle = self._idle.get(key)
        if idle:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if conn.closed or now - conn.idle_since > self._idle_for:
                    conn.close()
                    self._open -= 1
                    continue
                return conn, True
        while self._open >= self._limit:
            if not self._drop_one_idle():
                fut = asyncio.get_running_loop().create_future()
                self._waiters.append(fut)
                await fut
        self._open += 1
        try:
            return await self._connect(key), False
        except BaseException:
            self._open -= 1
            self._wake_waiter()
            raise

    def _drop_one_idle(self) -> bool:
        for conns in self._idle.values():
            if conns:
                conns.pop(0).close()
                self._open -= 1
                return True
        return False

    async def _connect(self, key: tuple[str, str, int]) -> _Conn:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        ctx = None
        if scheme == "https":
            ctx = self._ssl if self._ssl is not None else _insecure()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(key, loop),
                    host,
                    port,
                    ssl=ctx,
                    server_hostname=host if ctx is not None else None,
                ),
                self._connect_timeout,
            )
        except (TimeoutError, asyncio.TimeoutError):
            raise Timeout(
                f"could not connect within {self._connect_timeout:g} s (connect timeout)"
            ) from None
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__, exc) from exc
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._idle_for, self._sweep)
        return proto

    def _release(self, conn: _Conn) -> None:
        if self._closed:
            conn.close()
            self._open -= 1
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(conn.key, []).append(conn)
        self._wake_waiter()

    def _forget(self, conn: _Conn) -> None:
        self._open -= 1
        self._wake_waiter()

    def _wake_waiter(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _sweep(self) -> None:
        self._sweeper = None
        now = time.monotonic()
        any_left = False
        for key, conns in list(self._idle.items()):
            keep = []
            for c in conns:
                if c.closed or now - c.idle_since > self._idle_for:
                    c.close()
                    self._open -= 1
                else:
                    keep.append(c)
            if keep:
                self._idle[key] = keep
                any_left = True
            else:
                del self._idle[key]
        if any_left and not self._closed:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self._idle_for, self._sweep)

    async def close(self) -> None:
        """Close the idle connections; busy ones close when their exchange ends."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()

    # -- one exchange ----------------------------------------------------------
    async def request(
        self,
        method: str,
        origin: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterable[bytes] | None,
    ) -> Response:
        """Send one request; return once the answer's head has arrived.

        The caller must :meth:`Response.close` the answer.  Raises
        :class:`ConnectError`, :class:`Disconnected`, :class:`Timeout`,
        :class:`BodyError` or :class:`BrokeOff`.
        """
        key = self._key(origin)
        head_parts = [f"{method} {target} HTTP/1.1\r\n"]
        has_length = False
        expect = False
        for n, v in headers:
            ln = n.lower()
            if ln == "content-length":
                has_length = True
            elif ln == "transfer-encoding":
                continue
            elif ln == "expect" and v.lower() == "100-continue":
                expect = True
            head_parts.append(f"{n}: {v}\r\n")
        iterable = body is not None and not isinstance(body, (bytes, bytearray, memoryview))
        if iterable and not has_length:
            head_parts.append("Transfer-Encoding: chunked\r\n")
        elif body is not None and not iterable and not has_length:
            assert isinstance(body, (bytes, bytearray, memoryview))
            if len(body) or method not in ("GET", "HEAD", "DELETE", "OPTIONS", "TRACE"):
                head_parts.append(f"Content-Length: {len(body)}\r\n")
        head_parts.append("\r\n")
        head = "".join(head_parts).encode("latin-1")
        conn, _reused = await self._acquire(key)
        resp = Response(conn, self, method == "HEAD", self._read_timeout)
        conn.resp = resp
        transport = conn.transport
        assert transport is not None
        if conn.closed:
            resp._lost(None)
        try:
            if not iterable:
                if body:
                    assert isinstance(body, (bytes, bytearray, memoryview))
                    if expect:
                        transport.write(head)
                        await _wait_continue(resp)
                        if not resp._head_done and resp._exc is None:
                            transport.write(bytes(body))
                    else:
                        transport.write(head + bytes(body))
                else:
                    transport.write(head)
                resp._sent = True
            else:
                assert body is not None and not isinstance(body, (bytes, bytearray, memoryview))
                transport.write(head)
                resp._writer = asyncio.ensure_future(
                    _write_body(conn, resp, body, chunked=not has_length, expect=expect)
                )
            try:
                await resp._head()
            except TimeoutError:
                raise Timeout("upstream silent (read timeout)") from None
        except BaseException:
            resp.close()
            raise
        return resp


async def _wait_continue(resp: Response) -> None:
    """Wait for 100 Continue, a final answer or one second, whichever is first."""
    loop = resp._conn.loop
    fut = resp._continue = loop.create_future()
    waiter = resp._waiter = loop.create_future()
    try:
        await asyncio.wait({fut, waiter}, timeout=_CONTINUE_WAIT)
    finally:
        resp._waiter = None
        for f in (fut, waiter):
            if not f.done():
                f.cancel()


async def _write_body(
    conn: _Conn,
    resp: Response,
    body: AsyncIterable[bytes],
    *,
    chunked: bool,
    expect: bool,
) -> None:
    """Send an iterable body; a failure of the iterator itself is a BodyError."""
    if expect:
        await _wait_continue(resp)
        if resp._head_done or resp._exc is not None:
            return  # answered without the body: the connection is not reused
    transport = conn.transport
    assert transport is not None
    it = body.__aiter__()
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            break
        except Exception as exc:
            raise BodyError(f"request body failed: {type(exc).__name__}") from exc
        if not chunk:
            continue
        if conn.closed:
            if resp._head_done:
                return
            raise Disconnected("connection closed while sending the body")
        if chunked:
            transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            transport.write(chunk)
        try:
            await conn.drain()
        except ConnectionError:
            if resp._head_done:
                return
            raise Disconnected("connection closed while sending the body") from None
    if chunked and not conn.closed:
        transport.write(b"0\r\n\r\n")
    resp._sent = True


_INSECURE: ssl.SSLContext | None = None


def _insecure() -> ssl.SSLContext:
    global _INSECURE
    if _INSECURE is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _INSECURE = ctx
    return _INSECURE
