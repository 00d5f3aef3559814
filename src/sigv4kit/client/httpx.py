"""SigV4 / SigV4a for ``httpx``, sync and async::

    auth = SigV4Auth(credentials, region="us-east-1", service="s3")
    httpx.Client(auth=auth).get(url)
    await httpx.AsyncClient(auth=auth).put(url, content=async_chunks())

One generator (``SigV4Auth._flow``) signs for both clients; the thin
``sync_auth_flow`` and ``async_auth_flow`` drivers do its I/O: fetching
credentials (``aget``, never blocking the loop), hashing a file (in a thread,
in async code) and reading the body of an error answer.

httpx's own redirect following re-sends our headers, the session token
included, without asking the auth again.  So with the client's
``follow_redirects=False`` (httpx's default) this auth follows redirects
itself, signing each hop that may be signed; a client with
``follow_redirects=True`` needs ``auth.event_hooks`` (``auth.async_event_hooks``
for ``AsyncClient``), which apply the same rules to each hop httpx builds.
See ``docs/clients.md``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

import httpx

from ..credentials import Credentials
from ..errors import SigningError
from ..payload import is_seekable
from ..streaming import AwsChunkedBody
from ._common import (
    ERROR_STATUSES,
    REDIRECT_STATUSES,
    STREAMING_MODES,
    Adapter,
    RedirectNotFollowed,
    hop_headers,
    without_checksums,
)

__all__ = ["RedirectNotFollowed", "SigV4Auth"]

# Error answers whose body is read: skew errors, and refusals of a payload mode (501).
_READ_STATUSES = (*ERROR_STATUSES, 501)
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
    """(found, the object httpx wraps), to tell a file from a generator.

    httpx has no public way: this reads the private ``_stream``; without it,
    every body that is not in memory is read with httpx's ``request.read()``.
    """
    if isinstance(stream, (httpx.SyncByteStream, httpx.AsyncByteStream)) and hasattr(
        stream, "_stream"
    ):
        return True, stream._stream
    return False, None


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
        elif is_seekable(inner):
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

    def for_signer(self, hashing: bool) -> object:
        """The body to give the Signer: to hash (``"signed"``) or to encode while sending."""
        if self.kind == "memory":
            return self.data
        if self.kind in ("file", "iterable"):
            return self.rewind()
        if not hashing:
            return self.stream
        raise SigningError(
            "payload='signed' must hash the body before sending it, and this body is a one-shot "
            "stream (a generator, an async iterator or an unseekable file) or a stream type "
            "sigv4kit cannot look into: hashing it would hold all of it in memory. Use "
            "payload='unsigned' (UNSIGNED-PAYLOAD), a streaming "
            "mode (payload='streaming'), a precomputed SHA-256 as payload=, or pass bytes or a "
            "seekable file"
        )

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
    headers = hop_headers(
        state.headers,
        str(previous.url),
        str(hop.url),
        body_headers=None if has_body else _BODY_HEADERS,
        host=hop.url.netloc.decode("ascii"),
    )
    return headers + [("Cookie", v) for v in hop.headers.get_list("cookie")]


class SigV4Auth(Adapter, httpx.Auth):
    """``httpx.Auth`` that signs every request with SigV4 or SigV4a.

    Takes the arguments of :class:`~sigv4kit.client._common.AdapterCore`, and
    ``follow_redirects``: follow redirects in the auth flow, signing each hop
    (default ``True``); ``False`` returns the 3xx response.
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
                body = state.body.for_signer(True)
        elif has_body and streaming:
            body = state.body.for_signer(False)
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
        # httpx may rewrite a path (it drops "." and ".." segments): send exactly what was signed.
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
            mode, state.headers = self.core.plan_for(str(request.url), state.headers)
            state.current_headers = state.headers
            if mode != self.core.payload:
                state.mode = mode
        if (state.mode or self.core.payload) == "signed":
            state.body.for_signer(True)  # raises for one-shot streams before anything is sent
        request.extensions = {**request.extensions, _EXTENSION: state}
        self._sign(request, state, state.headers, True, fresh_body=False)
        skew = refusal = True  # a skew retry once per hop, a mode change once per call
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
                skew = True
                continue
            has_body = state.current_has_body
            if status < 400 or not state.current_signed or (has_body and not state.body.replayable):
                return
            try:
                body = response.content
            except httpx.ResponseNotRead:
                body = b""
            retry = self.core.retry(
                str(state.current.url),
                state.mode or self.core.payload,
                (status, response.headers.get("date"), body),
                state.current_headers,
                skew=skew,
                refusal=refusal and has_body,
            )
            if retry is None:
                return
            if retry.skew:
                skew = False
            else:
                refusal = False
                state.mode = retry.mode
                if retry.headers is not state.current_headers:
                    state.headers = without_checksums(state.headers)
            state.current_headers = retry.headers
            self._sign(state.current, state, list(retry.headers), has_body, fresh_body=True)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign for ``Client`` and ``AsyncClient`` alike (credentials from the Signer)."""
        return self._flow(request, None)

    # -- I/O wrappers -----------------------------------------------------------

    def _must_read(self, request: httpx.Request) -> bool:
        """A body of a stream type we cannot look into, to be hashed: read it (as httpx would)."""
        if self.core.payload != "signed" or isinstance(request.stream, httpx.ByteStream):
            return False
        return not _inner(request.stream)[0]

    def _hashes_file(self, request: httpx.Request) -> bool:
        return self.core.payload == "signed" and is_seekable(_inner(request.stream)[1])

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
