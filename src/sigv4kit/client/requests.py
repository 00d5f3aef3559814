"""SigV4 / SigV4a for ``requests``.

::

    import requests
    from sigv4kit.client.requests import SigV4Auth

    auth = SigV4Auth(credentials, region="us-east-1", service="s3")   # or SigV4Auth(signer)
    requests.put(url, data=open("big.bin", "rb"), auth=auth)

What it does to a prepared request:

* signs the URL ``requests`` prepared and sets ``prepared.url`` to the
  signed wire URL, so the query goes out byte for byte as signed;
* sets every header of the signed request (``Host``, ``X-Amz-Date``,
  ``X-Amz-Content-SHA256``, ``Authorization``...) and leaves the others as
  they were;
* ``payload="signed"`` hashes the body -- a file in pieces, then rewound;
  ``"unsigned"`` sends ``UNSIGNED-PAYLOAD`` without touching the body; the
  streaming modes replace the body with its aws-chunked encoding, read a
  chunk at a time (``Content-Length`` is exact, so no HTTP chunking).

Redirects and retries: ``requests`` copies a prepared request to follow a
redirect without asking the auth object again.  So, on a 3xx, the request is
put back to its unsigned form (no stale signature or session token travels
to the new location); if the new location then refuses the request (400,
401, 403), it is signed for its own URL and method and sent once more --
the pattern ``requests``' own digest auth uses.  A ``RequestTimeTooSkewed``
answer re-signs once with the server's clock (see
:mod:`sigv4kit.client._common`).  Bodies that cannot be replayed (generators)
are not re-sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict

from ..credentials import Credentials
from ..signer import SignedRequest, Signer
from ._common import AdapterCore

__all__ = ["SigV4Auth"]

_STATE = "_sigv4kit_state"
_RETRIED = "_sigv4kit_retried"


@dataclass(frozen=True)
class _Original:
    """The request as the caller made it, before signing."""

    headers: list[tuple[str, str]]
    body: Any
    position: int | None


def _tell(body: object) -> int | None:
    if body is None or isinstance(body, (bytes, str)):
        return None
    try:
        if body.seekable():  # type: ignore[attr-defined]
            return int(body.tell())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    return [(n, v.decode("latin-1") if isinstance(v, bytes) else v) for n, v in headers.items()]


def _replayable(original: _Original) -> bool:
    body = original.body
    return body is None or isinstance(body, (bytes, str)) or original.position is not None


class SigV4Auth(requests.auth.AuthBase):
    """``requests`` auth that signs every request with SigV4 or SigV4a.

    Args:
        signer_or_credentials: a :class:`~sigv4kit.Signer`, or
            ``Credentials`` / a provider callable / ``None`` (the default
            chain) together with ``region`` and ``service``.
        region, service: the scope, when no Signer is given.
        payload: ``"signed"`` (default), ``"unsigned"``, ``"streaming"``,
            ``"streaming-trailer"``, ``"streaming-unsigned-trailer"`` or a
            precomputed SHA-256 hex.
        correct_clock_skew: re-sign once with the server's clock on
            ``RequestTimeTooSkewed`` and keep the offset (default ``True``).
        options: other :class:`~sigv4kit.Signer` keyword arguments.
    """

    def __init__(
        self,
        signer_or_credentials: Signer | Credentials | Any = None,
        region: str | None = None,
        service: str | None = None,
        *,
        payload: str | None = None,
        correct_clock_skew: bool = True,
        **options: Any,
    ) -> None:
        self.core = AdapterCore(
            signer_or_credentials,
            region,
            service,
            payload=payload,
            correct_clock_skew=correct_clock_skew,
            **options,
        )

    @property
    def signer(self) -> Signer:
        return self.core.signer

    def __repr__(self) -> str:
        return f"SigV4Auth({self.core.signer!r}, payload={self.core.payload!r})"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        original = _Original(_header_pairs(r.headers), r.body, _tell(r.body))
        self._sign(r, original)
        r.register_hook("response", self._on_response)
        return r

    def _sign(self, r: requests.PreparedRequest, original: _Original) -> SignedRequest:
        body = original.body
        if original.position is not None:
            body.seek(original.position)
        assert r.method is not None and r.url is not None
        signed = self.core.sign(r.method, r.url, original.headers, body)
        r.url = signed.url
        headers: CaseInsensitiveDict[str | bytes] = CaseInsensitiveDict()
        for name, value in signed.headers:
            headers[name] = value
        r.headers = headers
        if self.core.streaming:
            r.body = signed.body
        setattr(r, _STATE, (r.method, r.url, original))
        return signed

    def _on_response(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        req = r.request
        state = getattr(req, _STATE, None)
        if r.is_redirect:
            if state is not None:
                # requests copies this request for the next hop: make sure
                # the copy carries the caller's headers and body, unsigned.
                _, _, original = state
                req.headers = CaseInsensitiveDict(dict(original.headers))
                req.body = original.body
                if original.position is not None:
                    original.body.seek(original.position)
            return r
        if r.status_code not in (400, 401, 403) or getattr(req, _RETRIED, False):
            return r
        assert req.method is not None and req.url is not None
        if state is None or state[:2] != (req.method, req.url):
            # A redirect hop requests made from our request: sign it for its URL.
            original = _Original(_header_pairs(req.headers), req.body, _tell(req.body))
        elif self.core.learn_skew(r.status_code, r.headers.get("Date"), r.content):
            original = state[2]
        else:
            return r
        if not _replayable(original):
            return r
        r.content  # noqa: B018 -- read the error so the connection can be reused
        r.close()
        prep = req.copy()
        setattr(prep, _RETRIED, True)
        self._sign(prep, original)
        if prep._cookies is not None:
            extract_cookies_to_jar(prep._cookies, req, r.raw)
            prep.prepare_cookies(prep._cookies)
        if r.connection is None:  # pragma: no cover - responses from adapters always have one
            return r
        new = r.connection.send(prep, **kwargs)
        new.history.append(r)
        new.request = prep
        return new
