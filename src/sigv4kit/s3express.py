"""S3 Express One Zone: session credentials for directory buckets.

Directory buckets (names ending ``--x-s3``, service ``s3express``) are not
signed with the caller's credentials directly.  The caller first signs a
``CreateSession`` call (``GET /?session`` on the bucket, SigV4, service
``s3express``); S3 answers with short-lived *session* credentials (about
five minutes).  Data requests are then signed with the session's key pair,
and the session token travels in ``x-amz-s3session-token`` (signed) --
never in ``X-Amz-Security-Token``.  This is what botocore's
``S3ExpressAuth`` and ``S3ExpressIdentityCache`` do; like them, sessions
are cached per bucket and base key (at most 100) and renewed one minute
before they expire.

* :class:`S3ExpressSigner` -- a :class:`~sigv4kit.Signer` for
  ``s3express`` that does all of this on ``sign()``/``sign_target()``, so it
  drops into the client adapters (``SigV4Auth(S3ExpressSigner(...))``);
* :func:`bucket_of`, :func:`create_session_url`, :func:`parse_create_session`
  and :class:`SessionCache` -- the sans-IO parts, for other I/O stacks (the
  proxy uses them).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from ._memo import Memo
from .credentials import Credentials
from .errors import CredentialsError
from .signer import SignedRequest, Signer

__all__ = [
    "DIRECTORY_BUCKET_SUFFIX",
    "SESSION_TOKEN_HEADER",
    "S3ExpressSigner",
    "SessionCache",
    "bucket_of",
    "create_session_url",
    "parse_create_session",
]

SESSION_TOKEN_HEADER = "x-amz-s3session-token"
DIRECTORY_BUCKET_SUFFIX = "--x-s3"
REFRESH_BEFORE = timedelta(minutes=1)
MAX_SESSIONS = 100


def bucket_of(host: str, path: str) -> tuple[str, bool] | None:
    """``(bucket, virtual_hosted)`` of a directory-bucket request, or None.

    Virtual-hosted (``bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2
    .amazonaws.com``) is how AWS serves directory buckets; a path-style
    bucket (``/bucket--x-s3/key``, first path segment) is accepted for
    endpoints that route by path.
    """
    label = host.split(".", 1)[0].lower()
    if label.endswith(DIRECTORY_BUCKET_SUFFIX):
        return label, True
    first = path.lstrip("/").split("/", 1)[0]
    if first.endswith(DIRECTORY_BUCKET_SUFFIX):
        return first, False
    return None


def create_session_url(origin: str, bucket: str, virtual_hosted: bool) -> str:
    """The ``CreateSession`` URL for ``bucket`` at ``origin`` (``scheme://host[:port]``)."""
    return f"{origin}/?session" if virtual_hosted else f"{origin}/{bucket}?session"


def parse_create_session(body: bytes) -> Credentials:
    """Session credentials from a ``CreateSessionResult`` document."""
    from .providers._sources import credentials_from_xml

    return credentials_from_xml(body, "CreateSession")


class SessionCache:
    """Session credentials by (endpoint, bucket, base access key); LRU, thread-safe.

    An LRU, not the package's clear-at-the-bound :class:`~sigv4kit._memo.Memo`:
    each entry costs a CreateSession round trip to rebuild, so reaching the
    bound must evict the coldest session, not make every bucket call
    CreateSession again at once.
    """

    def __init__(self, max_size: int = MAX_SESSIONS, refresh_before: timedelta = REFRESH_BEFORE):
        self._items: OrderedDict[tuple[str, str, str], Credentials] = OrderedDict()
        self._max = max_size
        self._margin = refresh_before
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str, str], now: datetime | None = None) -> Credentials | None:
        """The cached session when it is good for at least another minute."""
        creds = self._items.get(key)
        if creds is None:
            return None
        now = now or datetime.now(timezone.utc)
        if creds.expiration is not None and creds.expiration - self._margin <= now:
            return None
        self._items.move_to_end(key)
        return creds

    def put(self, key: tuple[str, str, str], creds: Credentials) -> None:
        self._items[key] = creds
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)


Fetch = Callable[[str, list[tuple[str, str]]], bytes]


def _urllib_fetch(url: str, headers: list[tuple[str, str]]) -> bytes:
    req = urllib.request.Request(url, method="GET")
    for n, v in headers:
        if n.lower() != "host":
            req.add_header(n, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:2000].decode("utf-8", "replace")
        raise CredentialsError(
            f"CreateSession at {url} failed with HTTP {exc.code}: {detail.strip()[:300]}"
        ) from None
    except OSError as exc:
        raise CredentialsError(f"CreateSession: cannot reach {url}: {exc}") from None


class S3ExpressSigner(Signer):
    """A Signer for directory buckets: CreateSession, cached, then session-signed.

    Args:
        credentials, region: as for :class:`~sigv4kit.Signer` (the service is
            ``s3express``); these base credentials sign ``CreateSession``.
        fetch: ``(url, headers) -> body`` performing the signed GET
            (default: urllib, blocking).
        cache: share one :class:`SessionCache` between signers.
        other keyword arguments: Signer options.

    Requests whose URL names no directory bucket (control-plane calls such
    as ``ListDirectoryBuckets``) are signed with the base credentials.
    """

    __slots__ = ("_cache", "_fetch", "_inner")

    def __init__(
        self,
        credentials: Credentials | Callable[[], Credentials],
        region: str,
        service: str = "s3express",
        *,
        fetch: Fetch | None = None,
        cache: SessionCache | None = None,
        **options: Any,
    ) -> None:
        super().__init__(credentials, region, service, **options)
        self._fetch = fetch or _urllib_fetch
        self._cache = cache or SessionCache()
        self._inner: Memo[str, Signer] = Memo(MAX_SESSIONS)

    def session(self, origin: str, bucket: str, virtual_hosted: bool) -> Credentials:
        """Session credentials for ``bucket`` (cached; CreateSession when needed)."""
        base = self.credentials()
        key = (origin, bucket, base.access_key_id)
        got = self._cache.get(key)
        if got is not None:
            return got
        with self._cache.lock:
            got = self._cache.get(key)
            if got is not None:
                return got
            url = create_session_url(origin, bucket, virtual_hosted)
            signed = Signer(base, config=self.config).sign("GET", url)
            creds = parse_create_session(self._fetch(signed.url, list(signed.headers)))
            self._cache.put(key, creds)
            return creds

    def cached_session(self, origin: str, bucket: str) -> Credentials | None:
        """The cached session, without any I/O (None when CreateSession is due)."""
        return self._cache.get((origin, bucket, self.credentials().access_key_id))

    def _session_signer(self, creds: Credentials) -> Signer:
        inner = self._inner.get(creds.access_key_id)
        if inner is None or inner.credentials() is not creds:
            # The token goes in x-amz-s3session-token, so the key pair signs
            # without one (no X-Amz-Security-Token).
            bare = Credentials(creds.access_key_id, creds.secret_access_key)
            inner = self._inner.put(creds.access_key_id, Signer(bare, config=self.config))
        return inner

    @staticmethod
    def _with_token(headers: Any, token: str) -> list[tuple[str, str]]:
        from .canonical import header_pairs

        out = [(n, v) for n, v in header_pairs(headers) if n.lower() != SESSION_TOKEN_HEADER]
        out.append((SESSION_TOKEN_HEADER, token))
        return out

    def sign(
        self,
        method: str,
        url: str,
        headers: Any = None,
        body: object = None,
        timestamp: str | datetime | float | None = None,
        *,
        payload: str | None = None,
    ) -> SignedRequest:
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        found = bucket_of(host, "/" + path if slash else "/")
        if found is None or "?session" in url:
            return super().sign(method, url, headers, body, timestamp, payload=payload)
        creds = self.session(f"{scheme}://{host}", found[0], found[1])
        return self._session_signer(creds).sign(
            method,
            url,
            self._with_token(headers, creds.session_token or ""),
            body,
            timestamp,
            payload=payload,
        )

    def sign_target(
        self,
        method: str,
        target: str,
        headers: Any,
        body: object = None,
        timestamp: str | datetime | float | None = None,
        *,
        payload: str | None = None,
        scheme: str = "https",
    ) -> SignedRequest:
        from .canonical import header_pairs

        pairs = header_pairs(headers)
        host = next((v.strip() for n, v in pairs if n.lower() == "host"), "")
        found = bucket_of(host, target.partition("?")[0])
        if found is None:
            return super().sign_target(
                method, target, pairs, body, timestamp, payload=payload, scheme=scheme
            )
        creds = self.session(f"{scheme}://{host}", found[0], found[1])
        return self._session_signer(creds).sign_target(
            method,
            target,
            self._with_token(pairs, creds.session_token or ""),
            body,
            timestamp,
            payload=payload,
            scheme=scheme,
        )
