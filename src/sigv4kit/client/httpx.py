"""SigV4 / SigV4a for ``httpx``, sync and async.

::

    import httpx
    from sigv4kit.client.httpx import SigV4Auth

    auth = SigV4Auth(credentials, region="us-east-1", service="s3")
    httpx.Client(auth=auth).get(url)
    await httpx.AsyncClient(auth=auth).put(url, content=async_chunks())

One :meth:`SigV4Auth.auth_flow` generator signs for both clients;
``sync_auth_flow`` and ``async_auth_flow`` wrap it to do the things that
are I/O -- fetching credentials from a provider (awaited with ``aget`` in
async code, never blocking the loop), hashing a file (in a thread, in
async code), and reading the body of a 400/401/403 answer to look for a
clock-skew error.

Bodies
------
``payload="signed"`` must hash the body before sending it: in-memory
content is hashed as is, a seekable file is hashed in pieces and rewound
(never read into memory).  A one-shot stream -- a generator, an async
iterator, a pipe -- would have to be held in memory whole to be hashed and
then sent, so it raises :class:`~sigv4kit.errors.SigningError`: send it with
``payload="unsigned"`` or a streaming mode (aws-chunked, encoded a chunk at
a time from sync or async iterators alike), or give a precomputed SHA-256
as ``payload=``.  Other stream types httpx builds (multipart forms) are
read into memory with httpx's own ``request.read()`` as before.

Telling a file or a generator apart needs the object inside httpx's
``IteratorByteStream`` -- its private ``_stream`` attribute; httpx has no
public way.  Without it, every non-memory body counts as one of "other
stream types" above.

Redirects
---------
A signature covers one URL and method, and httpx's own redirect following
(``follow_redirects=True``) re-sends our headers without asking the auth
again -- ``X-Amz-Security-Token`` included, to any origin (httpx strips
only ``Authorization``).  So:

* keep the client's ``follow_redirects=False`` (httpx's default): this auth
  then follows redirects itself, from httpx's ``response.next_request``,
  signing each hop to the first request's origin (or to an origin allowed
  by ``redirect_hosts``) for its own URL and method, and sending a hop to
  any other origin unsigned -- the caller's headers and body, none of ours,
  for the rest of the chain.  httpx's ``max_redirects`` still applies.
  ``SigV4Auth(follow_redirects=False)`` returns the 3xx instead, with a
  ``next_request`` cleaned of our headers;
* with a client that has ``follow_redirects=True``, register this auth's
  event hooks -- ``event_hooks=auth.event_hooks`` (``Client``) or
  ``auth.async_event_hooks`` (``AsyncClient``): the request hook sees each
  hop httpx built and applies the same rules before it is sent.  Without
  them the flow notices, after the fact, that httpx followed a redirect
  with our headers, and raises :class:`~sigv4kit.errors.SigningError`.

303 (302, and 301 after POST -- httpx decides) becomes a GET without a
body; a hop that keeps the method sends the body again: memory content, or
a seekable file rewound; a one-shot stream raises
:class:`RedirectNotFollowed`.

httpx removes ``.`` and ``..`` segments from URL paths when a request is
built; the adapter signs the path httpx will send and checks, after
setting the signed URL, that httpx sends exactly that.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

import httpx

from ..credentials import Credentials
from ..errors import SigningError
from ..streaming import AwsChunkedBody
from ._common import (
    ERROR_STATUSES,
    REDIRECT_STATUSES,
    STREAMING_MODES,
    Adapter,
    RedirectNotFollowed,
    is_checksum_header,
    same_origin,
)

__all__ = ["RedirectNotFollowed", "SigV4Auth"]

_ERROR_STATUSES = ERROR_STATUSES
# Error answers whose body is read: skew errors, and refusals of a payload mode (501).
_READ_STATUSES = (*_ERROR_STATUSES, 501)
_EXTENSION = "sigv4kit"  # request.extensions key; httpx copies extensions to redirect hops
# Dropped when a redirect turns the request into a bodyless GET.
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding", "x-amz-decoded-content-length"})


class _ChunkedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An aws-chunked body as an httpx stream (sync and async)."""

    def __init__(self, body: AwsChunkedBody) -> None:
        self._body = body
        self._used = False

    def _fresh(self) -> AwsChunkedBody:
        # A transport retry sends the same stream again.
        if self._used:
            self._body = self._body.restart()
        self._used = True
        return self._body

    # The pieces (framing, then data uncopied, as bytes or memoryview) are
    # passed on as they are: h11 and h2 take any bytes-like data.
    def __iter__(self) -> Iterator[bytes]:
        return self._fresh().pieces()  # type: ignore[return-value]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._fresh().apieces():
            yield piece  # type: ignore[misc]


def _inner(stream: object) -> tuple[bool, object]:
    """(found, the object httpx wraps): private ``_stream``, see the module docs."""
    if isinstance(stream, (httpx.SyncByteStream, httpx.AsyncByteStream)) and hasattr(
        stream, "_stream"
    ):
        return True, stream._stream
    return False, None


def _seekable(obj: object) -> bool:
    try:
        return hasattr(obj, "read") and bool(obj.seekable())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


class _Body:
    """The caller's body, classified once so hops and retries can send it again.

    kind: ``"memory"`` (bytes in hand), ``"file"`` (a seekable file, rewound
    to ``position``), ``"iterable"`` (a list or tuple of pieces),
    ``"one-shot"`` (generators, async iterators, pipes) or ``"other"``
    (a stream type we cannot look into).
    """

    def __init__(self, request: httpx.Request) -> None:
        stream = request.stream
        self.stream = stream
        self.data: bytes | None = None
        self.inner: Any = None
        self.position: int | None = None
        self.remaining: int | None = None
        if isinstance(stream, httpx.ByteStream):
            self.kind = "memory"
            self.data = request.read()
            return
        found, inner = _inner(stream)
        if not found:
            self.kind = "other"
        elif _seekable(inner):
            self.kind = "file"
            self.inner = inner
            self.position = int(inner.tell())  # type: ignore[attr-defined]
            self.remaining = int(inner.seek(0, 2)) - self.position  # type: ignore[attr-defined]
            inner.seek(self.position)  # type: ignore[attr-defined]
        elif isinstance(inner, (bytes, bytearray, list, tuple)):
            self.kind = "iterable"
            self.inner = inner
        else:
            self.kind = "one-shot"

    @property
    def replayable(self) -> bool:
        return self.kind in ("memory", "file", "iterable")

    def rewind(self) -> Any:
        if self.kind == "file":
            self.inner.seek(self.position)
        return self.inner

    def for_hash(self) -> object:
        """The body to give the Signer for ``payload="signed"``."""
        if self.kind == "memory":
            return self.data
        if self.kind in ("file", "iterable"):
            return self.rewind()
        raise SigningError(
            "payload='signed' must hash the body before sending it, and this body is a one-shot "
            "stream (a generator, an async iterator or an unseekable file) or a stream type "
            "sigv4kit cannot look into: hashing it would hold all of it in memory. Use "
            "payload='unsigned' (UNSIGNED-PAYLOAD), a streaming "
            "mode (payload='streaming'), a precomputed SHA-256 as payload=, or pass bytes or a "
            "seekable file"
        )

    def for_stream(self) -> object:
        """The body to give the Signer for a streaming mode (read while sending)."""
        if self.kind == "memory":
            return self.data
        if self.kind in ("file", "iterable"):
            return self.rewind()
        return self.stream

    def replay(self) -> httpx.SyncByteStream | httpx.AsyncByteStream:
        """The caller's stream, from its start, for an unsigned hop or mode."""
        if self.kind == "memory":
            return httpx.ByteStream(self.data or b"")
        self.rewind()
        return self.stream


class _State:
    """One call through the auth: kept in ``request.extensions`` for the hooks."""

    def __init__(self, request: httpx.Request, credentials: Credentials | None) -> None:
        self.first_url = str(request.url)
        self.body = _Body(request)
        self.headers = list(request.headers.multi_items())
        if self.body.remaining is not None:
            # httpx sets Content-Length to the file's whole size even when it is
            # positioned past its start; it sends (and we sign) the rest only.
            remaining = str(self.body.remaining)
            self.headers = [
                (n, remaining if n.lower() == "content-length" else v) for n, v in self.headers
            ]
        self.credentials = credentials
        self.body_sha256: str | None = None
        self.chain_signed = True
        self.current = request  # the request that was (or is about to be) sent
        self.current_headers = self.headers  # its unsigned headers
        self.current_has_body = True
        self.current_signed = True
        self.last_response: httpx.Response | None = None
        self.mode: str | None = None  # the payload mode, when not the adapter's


def _hop_headers(
    state: _State, hop: httpx.Request, previous: httpx.Request, has_body: bool
) -> list[tuple[str, str]]:
    """The caller's headers, as httpx adapts them for a redirect hop."""
    cross = not same_origin(str(previous.url), str(hop.url))
    out: list[tuple[str, str]] = []
    for name, value in state.headers:
        low = name.lower()
        if low == "cookie" or (not has_body and low in _BODY_HEADERS):
            continue
        if cross and low == "authorization":
            continue
        if low == "host":
            value = hop.url.netloc.decode("ascii")
        out.append((name, value))
    out.extend(("Cookie", v) for v in hop.headers.get_list("cookie"))
    return out


class SigV4Auth(Adapter, httpx.Auth):
    """``httpx.Auth`` that signs every request with SigV4 or SigV4a.

    Takes the arguments of :class:`sigv4kit.client.requests.SigV4Auth`
    (``redirect_hosts`` included), and:

    Args:
        follow_redirects: follow redirects in the auth flow, signing each
            hop (default ``True``); ``False`` returns the 3xx response.
    """

    def __init__(self, *args: Any, follow_redirects: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.follow_redirects = follow_redirects
        # The wrappers below read bodies themselves (and never a one-shot one).
        self.requires_request_body = False

    @property
    def event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """Hooks for an ``httpx.Client`` that has ``follow_redirects=True``."""
        return {"request": [self._request_hook], "response": [self._response_hook]}

    @property
    def async_event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """Hooks for an ``httpx.AsyncClient`` that has ``follow_redirects=True``."""
        return {"request": [self._arequest_hook], "response": [self._aresponse_hook]}

    # -- signing (no I/O once the body was classified and hashed) ------------------

    def _sign(
        self,
        request: httpx.Request,
        state: _State,
        headers: list[tuple[str, str]],
        has_body: bool,
        *,
        fresh_body: bool,
    ) -> None:
        """Sign ``request`` in place; ``fresh_body`` sends the caller's body from its start."""
        core = self.core
        mode = state.mode or core.payload
        needs_hash = mode == "signed"
        streaming = mode in STREAMING_MODES
        payload: str | None = mode
        body: object = None
        if has_body and needs_hash:
            if state.body_sha256 is not None:
                payload = state.body_sha256  # the same body: do not read a file again
            else:
                body = state.body.for_hash()
        elif has_body and streaming:
            body = state.body.for_stream()
            length = next((v for n, v in headers if n.lower() == "content-length"), None)
            names = {n.lower() for n, _ in headers}
            if (
                not isinstance(body, bytes)
                and length is not None
                and "x-amz-decoded-content-length" not in names
            ):
                # httpx measured the file it will read: that is the decoded length.
                headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
                headers.append(("X-Amz-Decoded-Content-Length", length))
        signed = core.sign(
            request.method,
            str(request.url),
            headers,
            body,
            credentials=state.credentials,
            payload=payload,
        )
        if has_body and needs_hash:
            state.body_sha256 = signed.payload_hash
        url = httpx.URL(signed.url)
        wanted = signed.url.split("://", 1)[1]
        wanted = wanted[wanted.find("/") :] if "/" in wanted else "/"
        if url.raw_path.decode("ascii") != wanted:
            raise SigningError(
                f"httpx would send the request target {url.raw_path.decode('ascii')!r}, "
                f"not the signed {wanted!r}; pass the URL already percent-encoded"
            )
        request.url = url
        request.headers = httpx.Headers(list(signed.headers))
        if streaming:
            request.stream = _ChunkedStream(signed.body)
        elif not has_body:
            request.stream = httpx.ByteStream(b"")
        elif fresh_body:
            request.stream = state.body.replay()

    def _prepare_hop(self, state: _State, hop: httpx.Request, previous: httpx.Request) -> None:
        """Make the redirect request httpx built safe to send, signed or not."""
        has_body = state.current_has_body and hop.method == previous.method
        if has_body and not state.body.replayable:
            response = state.last_response
            raise RedirectNotFollowed(
                f"a redirect asks for the request to be sent again, with its body, to {hop.url}; "
                "the body is a one-shot stream (a generator, an async iterator or an unseekable "
                "file) that was already sent. Pass bytes or a seekable file to let redirects be "
                "followed, or SigV4Auth(follow_redirects=False) to get the redirect response",
                response=response,
                location=str(hop.url),
            )
        headers = _hop_headers(state, hop, previous, has_body)
        trusted = state.chain_signed and self.core.redirects.may_sign(
            state.first_url, str(previous.url), str(hop.url)
        )
        state.current = hop
        state.current_headers = headers
        state.current_has_body = has_body
        state.current_signed = trusted
        if trusted:
            self._sign(hop, state, headers, has_body, fresh_body=True)
            return
        state.chain_signed = False
        hop.headers = httpx.Headers(headers)
        hop.stream = state.body.replay() if has_body else httpx.ByteStream(b"")

    def _unsign(self, state: _State, hop: httpx.Request, previous: httpx.Request) -> None:
        """Clean a ``next_request`` we do not follow: the caller's headers, no signature."""
        has_body = state.current_has_body and hop.method == previous.method
        hop.headers = httpx.Headers(_hop_headers(state, hop, previous, has_body))
        if has_body:
            # Never our aws-chunked stream; a spent one-shot stream makes httpx
            # raise StreamConsumed if this request is sent.
            hop.stream = state.body.replay() if state.body.replayable else state.body.stream

    # -- the shared, I/O-free flow --------------------------------------------

    def _flow(
        self, request: httpx.Request, credentials: Credentials | None
    ) -> Generator[httpx.Request, httpx.Response, None]:
        state = _State(request, credentials)
        if state.body.replayable:
            mode, keep_checksum = self.core.plan_for(str(request.url), state.headers)
            if mode != self.core.payload or not keep_checksum:
                state.mode = mode
                if not keep_checksum:
                    state.headers = [(n, v) for n, v in state.headers if not is_checksum_header(n)]
                    state.current_headers = state.headers
        if (state.mode or self.core.payload) == "signed":
            state.body.for_hash()  # raises for one-shot streams before anything is sent
        request.extensions = {**request.extensions, _EXTENSION: state}
        self._sign(request, state, state.headers, True, fresh_body=False)
        retried = False
        refused = False
        while True:
            response = yield state.current
            state.last_response = response
            if response.request is not state.current:
                raise SigningError(
                    "httpx followed a redirect by itself (the client has follow_redirects=True) "
                    "and re-sent this request's signed headers, X-Amz-Security-Token included, "
                    f"to {response.request.url} without re-signing. Use a client with "
                    "follow_redirects=False (SigV4Auth follows redirects itself, signing each "
                    "hop) or register the auth's hooks: httpx.Client(auth=auth, "
                    "event_hooks=auth.event_hooks) / AsyncClient(..., "
                    "event_hooks=auth.async_event_hooks)"
                )
            status = response.status_code
            hop = response.next_request
            if status in REDIRECT_STATUSES and hop is not None:
                previous = state.current
                if not self.follow_redirects:
                    self._unsign(state, hop, previous)
                    return
                self._prepare_hop(state, hop, previous)
                retried = False
                continue
            if (
                status in _ERROR_STATUSES
                and not retried
                and state.current_signed
                and (state.body.replayable or not state.current_has_body)
            ):
                try:
                    body = response.content
                except httpx.ResponseNotRead:
                    body = b""
                if self.core.learn_skew(status, response.headers.get("date"), body):
                    retried = True
                    self._sign(
                        state.current,
                        state,
                        list(state.current_headers),
                        state.current_has_body,
                        fresh_body=True,
                    )
                    continue
            if (
                status >= 400
                and not refused
                and state.current_signed
                and state.current_has_body
                and state.body.replayable
            ):
                try:
                    body = response.content
                except httpx.ResponseNotRead:
                    body = b""
                mode = state.mode or self.core.payload
                url = str(state.current.url)
                step = self.core.refused(url, mode, status, body, state.current_headers)
                if step is not None:
                    refused = True
                    state.mode = step.payload
                    state.body_sha256 = None if step.payload != "signed" else state.body_sha256
                    if not step.checksum:
                        keep = [(n, v) for n, v in state.current_headers
                                if not is_checksum_header(n)]  # fmt: skip
                        state.current_headers = keep
                        state.headers = [(n, v) for n, v in state.headers
                                         if not is_checksum_header(n)]  # fmt: skip
                    self._sign(
                        state.current,
                        state,
                        list(state.current_headers),
                        True,
                        fresh_body=True,
                    )
                    continue
            return

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign for ``Client`` and ``AsyncClient`` alike (credentials from the Signer)."""
        return self._flow(request, None)

    # -- I/O wrappers -----------------------------------------------------------

    def _must_read(self, request: httpx.Request) -> bool:
        """A body of a stream type we cannot look into, to be hashed: read it (as httpx would)."""
        if not self.core.needs_body_hash or isinstance(request.stream, httpx.ByteStream):
            return False
        return not _inner(request.stream)[0]

    def _hashes_file(self, request: httpx.Request) -> bool:
        return self.core.needs_body_hash and _seekable(_inner(request.stream)[1])

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self._must_read(request):
            request.read()
        flow = self._flow(request, None)
        request = next(flow)
        while True:
            response = yield request
            if response.status_code in _READ_STATUSES:
                response.read()
            try:
                request = flow.send(response)
            except StopIteration:
                break

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._must_read(request):
            await request.aread()
        credentials = await self.core.acredentials()
        flow = self._flow(request, credentials)
        if self._hashes_file(request):
            # Hashing a file reads it: do that in a thread, off the event loop.
            import asyncio

            request = await asyncio.to_thread(next, flow)
        else:
            request = next(flow)
        while True:
            response = yield request
            if response.status_code in _READ_STATUSES:
                await response.aread()
            try:
                request = flow.send(response)
            except StopIteration:
                break

    # -- event hooks, for clients with follow_redirects=True --------------------

    def _request_hook(self, request: httpx.Request) -> None:
        state = request.extensions.get(_EXTENSION)
        if not isinstance(state, _State) or request is state.current:
            return
        # A redirect hop httpx built from the request we sent last.
        self._prepare_hop(state, request, state.current)

    def _response_hook(self, response: httpx.Response) -> None:
        state = response.request.extensions.get(_EXTENSION)
        if isinstance(state, _State):
            state.last_response = response

    async def _arequest_hook(self, request: httpx.Request) -> None:
        self._request_hook(request)

    async def _aresponse_hook(self, response: httpx.Response) -> None:
        self._response_hook(response)
