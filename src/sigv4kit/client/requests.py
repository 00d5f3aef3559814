"""SigV4 / SigV4a for ``requests``::

    auth = SigV4Auth(credentials, region="us-east-1", service="s3")   # or SigV4Auth(signer)
    requests.put(url, data=open("big.bin", "rb"), auth=auth)

The auth signs the URL ``requests`` prepared and sets ``prepared.url`` to the
signed wire URL, so the query goes out byte for byte as signed.

``requests`` follows a redirect by copying the prepared request without asking
the auth again: the copy would carry a stale signature, and the session token
to whatever host the redirect names.  So the auth follows redirects itself, in
a response hook, and ``requests`` only sees the final response; hops go
through the session's transport adapter with the same ``timeout``,
``verify``, ``cert``, ``proxies`` and ``stream`` settings, and other response
hooks run once, on the final response.  Rules, and what is not public API
here: ``docs/clients.md``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import FrameType
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.cookies import extract_cookies_to_jar, get_cookie_header
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri

from ._common import (
    ERROR_STATUSES,
    STREAMING_MODES,
    Adapter,
    BodySource,
    RedirectNotFollowed,
    hop_headers,
    redirect_method,
    without_checksums,
)

__all__ = ["RedirectNotFollowed", "SigV4Auth"]

_STATE = "_sigv4kit_state"
_DEFAULT_MAX_REDIRECTS = 30  # requests.models.DEFAULT_REDIRECT_LIMIT
# Headers requests drops when a redirect turns the request into a bodyless GET.
_BODY_HEADERS = frozenset(
    {"content-length", "content-type", "transfer-encoding", "x-amz-decoded-content-length"}
)


@dataclass
class _Chain:
    """One call: the caller's request and what the redirects did to it."""

    first_url: str
    headers: list[tuple[str, str]]
    source: BodySource
    signed: bool = True  # every hop so far went out signed
    body_sha256: str | None = None  # payload hash, kept so hops need not re-read a file
    mode: str | None = None  # the payload mode, once a refusal changed it


@dataclass
class _Hop:
    """What was sent for one hop, kept on its PreparedRequest."""

    method: str
    url: str
    chain: _Chain
    headers: list[tuple[str, str]]  # unsigned headers this hop was built from
    has_body: bool
    signed: bool
    retried: bool = False


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    return [(n, v.decode("latin-1") if isinstance(v, bytes) else v) for n, v in headers.items()]


def _calling_session() -> tuple[bool | None, requests.Session | None]:
    """``allow_redirects`` and the session of the ``Session.send`` running this hook.

    requests pops ``allow_redirects`` in ``Session.send`` before it calls the
    response hooks, so the only place it can be seen is that frame's locals.
    Not an API: if the frame is not found the caller's options decide.
    """
    target = getattr(requests.Session.send, "__code__", None)
    frame: FrameType | None
    try:
        frame = sys._getframe(2)
    except ValueError:  # pragma: no cover - always deep enough inside a hook
        return None, None
    for _ in range(16):
        if frame is None:
            break
        if frame.f_code is target:
            local = frame.f_locals
            allow = local.get("allow_redirects")
            session = local.get("self")
            return (
                allow if isinstance(allow, bool) else None,
                session if isinstance(session, requests.Session) else None,
            )
        frame = frame.f_back
    return None, None


def _location(resp: requests.Response) -> str:
    """The absolute URL a redirect points to, resolved the way requests does."""
    location = resp.headers["location"]
    # http.client decodes headers as latin-1; servers send UTF-8.
    try:
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    if location.startswith("//"):
        location = f"{urlsplit(resp.url).scheme}:{location}"
    location = location.split("#", 1)[0]
    if not urlsplit(location).netloc:
        return urljoin(resp.url, requote_uri(location))
    return requote_uri(location)


class SigV4Auth(Adapter, requests.auth.AuthBase):
    """``requests`` auth that signs every request with SigV4 or SigV4a.

    Takes the arguments of :class:`~sigv4kit.client._common.AdapterCore`, and
    ``follow_redirects`` and ``max_redirects``: used only when the calling
    ``Session.send`` cannot be seen (:func:`_calling_session`); ``None`` means
    follow, at most 30 hops.
    """

    def __init__(
        self,
        *args: Any,
        follow_redirects: bool | None = None,
        max_redirects: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        assert r.url is not None and r.method is not None
        mode, headers = self.core.plan_for(r.url, _header_pairs(r.headers))
        chain = _Chain(r.url, headers, BodySource(r.body), mode=mode)
        self._sign(r, chain, headers, has_body=True)
        r.register_hook("response", self._on_response)
        return r

    # -- signing ----------------------------------------------------------------

    def _sign(
        self,
        r: requests.PreparedRequest,
        chain: _Chain,
        headers: list[tuple[str, str]],
        *,
        has_body: bool,
        sign: bool = True,
    ) -> None:
        """Dress ``r`` for one hop: signed, or (``sign=False``) as the caller made it."""
        assert r.method is not None and r.url is not None
        body = chain.source.rewind() if has_body else None
        sent: list[tuple[str, str]] = headers
        if sign:
            core = self.core
            mode = chain.mode or core.payload
            needs_hash = mode == "signed"
            payload: str | None = mode
            if has_body and needs_hash and chain.body_sha256 is not None:
                payload = chain.body_sha256  # the same body: do not read a file again
            signed = core.sign(r.method, r.url, headers, body, payload=payload)
            if has_body and needs_hash:
                chain.body_sha256 = signed.payload_hash
            r.url = signed.url
            sent = list(signed.headers)
            if mode in STREAMING_MODES:
                # An aws-chunked body goes out as pieces (framing, then the data
                # uncopied); Content-Length is set, so urllib3 sends them one by one.
                body = signed.body.pieces()
        r.headers = CaseInsensitiveDict(sent)
        r.body = body  # type: ignore[assignment]
        setattr(r, _STATE, _Hop(r.method, r.url, chain, headers, has_body, signed=sign))

    # -- the response hook ----------------------------------------------------------

    def _on_response(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        hop = getattr(r.request, _STATE, None)
        if not isinstance(hop, _Hop) or (hop.method, hop.url) != (r.request.method, r.request.url):
            return r  # not a request this auth signed (or one changed since)
        allow, session = _calling_session()
        follow = allow if allow is not None else self.follow_redirects is not False
        if session is not None:
            limit = session.max_redirects
        else:
            limit = self.max_redirects if self.max_redirects is not None else _DEFAULT_MAX_REDIRECTS
        history: list[requests.Response] = []
        resp = r
        while True:
            resp = self._retry(resp, session, history, kwargs)
            if not resp.is_redirect:
                break
            if not follow:
                self._restore_unsigned(resp.request)
                break
            if sum(1 for h in history if h.is_redirect) >= limit:
                _drain(resp)
                raise requests.TooManyRedirects(f"Exceeded {limit} redirects.", response=resp)
            prep = self._next_hop(resp, session)
            _drain(resp)
            history.append(resp)
            resp = self._send(prep, resp, session, kwargs)
        if history:
            resp.history = [*r.history, *history]
        return resp

    def _retry(
        self,
        resp: requests.Response,
        session: requests.Session | None,
        history: list[requests.Response],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        """Sign a hop again and send it once more when its answer says what to
        change (:meth:`AdapterCore.retry`): once per hop, a body that can be resent."""
        hop = getattr(resp.request, _STATE, None)
        if not isinstance(hop, _Hop) or not hop.signed or hop.retried:
            return resp
        if hop.has_body and not hop.chain.source.replayable:
            return resp
        status, url = resp.status_code, resp.request.url
        # Read the body only of answers that can ask for a retry.
        skew = status in ERROR_STATUSES and self.core.correct_clock_skew
        if url is None or not (skew or (hop.has_body and status >= 400)):
            return resp
        chain = hop.chain
        retry = self.core.retry(
            url,
            chain.mode or self.core.payload,
            (status, resp.headers.get("Date"), resp.content),
            hop.headers,
            refusal=hop.has_body,
        )
        if retry is None:
            return resp
        if not retry.skew:
            chain.mode = retry.mode
            if retry.headers is not hop.headers:
                chain.headers = without_checksums(chain.headers)
        resp.close()
        prep = resp.request.copy()
        self._sign(prep, chain, retry.headers, has_body=hop.has_body)
        getattr(prep, _STATE).retried = True
        history.append(resp)
        return self._send(prep, resp, session, kwargs)

    def _next_hop(
        self, resp: requests.Response, session: requests.Session | None
    ) -> requests.PreparedRequest:
        req = resp.request
        hop: _Hop = getattr(req, _STATE)
        chain = hop.chain
        assert req.method is not None and req.url is not None
        url = _location(resp)
        method = redirect_method(req.method, resp.status_code)
        # A 301/302 that keeps the method (a PUT) sends the body again, where
        # plain requests would send it without one.
        has_body = hop.has_body and method == req.method
        if has_body and not chain.source.replayable:
            _drain(resp)
            raise RedirectNotFollowed(
                f"the server answered {resp.status_code} and the request must be sent again, "
                f"with its body, to {url}; the body is a one-shot stream (a generator or an "
                "unseekable file) that was already sent. Pass bytes or a seekable file to let "
                "redirects be followed, or allow_redirects=False to get the redirect response",
                response=resp,
                location=url,
            )
        body_headers = None if has_body else _BODY_HEADERS
        headers = hop_headers(chain.headers, req.url, url, body_headers=body_headers)
        prep = req.copy()
        prep.method = method
        prep.url = url
        cookie = self._cookies_for(prep, req, resp, session)
        if cookie:
            headers.append(("Cookie", cookie))
        if chain.signed and self.core.redirects.may_sign(chain.first_url, req.url, url):
            self._sign(prep, chain, headers, has_body=has_body)
        else:
            chain.signed = False
            self._sign(prep, chain, headers, has_body=has_body, sign=False)
        return prep

    @staticmethod
    def _cookies_for(
        prep: requests.PreparedRequest,
        req: requests.PreparedRequest,
        resp: requests.Response,
        session: requests.Session | None,
    ) -> str | None:
        # The per-request jar requests keeps on the PreparedRequest (private,
        # used by requests' own HTTPDigestAuth); else the session's jar.
        jar = getattr(prep, "_cookies", None)
        if jar is None and session is not None:
            jar = session.cookies
        if jar is None:
            return None
        extract_cookies_to_jar(jar, req, resp.raw)
        prep.headers.pop("Cookie", None)
        return get_cookie_header(jar, prep)

    @staticmethod
    def _send(
        prep: requests.PreparedRequest,
        previous: requests.Response,
        session: requests.Session | None,
        kwargs: dict[str, Any],
    ) -> requests.Response:
        assert prep.url is not None
        adapter: Any = session.get_adapter(prep.url) if session is not None else None
        if adapter is None:
            adapter = previous.connection
        new: requests.Response = adapter.send(prep, **kwargs)
        new.request = prep
        return new

    @staticmethod
    def _restore_unsigned(req: requests.PreparedRequest) -> None:
        """Put a request behind an unfollowed 3xx back to the caller's headers.

        ``response.next`` (and requests' own redirect loop, if it runs) copy
        this request: the copy must not carry our signature or token.
        """
        hop = getattr(req, _STATE, None)
        if not isinstance(hop, _Hop):
            return
        req.headers = CaseInsensitiveDict(hop.headers)
        req.body = hop.chain.source.rewind() if hop.has_body else None  # type: ignore[assignment]
        delattr(req, _STATE)


def _drain(resp: requests.Response) -> None:
    """Read what is left of a response so its connection can be reused, then release it."""
    try:
        resp.content  # noqa: B018
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
        resp.raw.read(decode_content=False)
    except RuntimeError:  # already consumed by a streaming caller
        pass
    resp.close()
