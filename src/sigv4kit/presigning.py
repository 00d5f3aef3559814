"""Presigned URLs: how long one can live, which headers move into it, and
the presigning half of the Signer (:class:`Presigner`, a mixin of
:class:`~sigv4kit.Signer`), kept here so the CLI, the calculator and the
HTTPie plugin apply the same rules.

* **Expiry.** A URL signed with temporary credentials stops working when they
  expire, whatever ``X-Amz-Expires`` says (boto3 #2392, #3079):
  :func:`fit_expiry` refuses such a URL, naming both times, or shortens it.
* **Hoisting.** The JS (``moveHeadersToQuery``) and Go
  (``AllowedQueryHoisting``) SDKs move ``X-Amz-*`` headers into the query so
  whoever uses the URL need not send them, except those S3 reads from
  headers only (server-side encryption, ACLs, grants, storage class, tagging,
  object lock, metadata, copy source).  :func:`split_hoistable` applies the
  union of both SDKs' rules.
* **Matching** is :func:`sigv4kit.presign_check.check_presigned`'s job.

The signer imports this module, so it stays light (no dataclasses, no typing).
"""

from __future__ import annotations

from . import canonical as _c
from ._memo import Memo
from .config import check_payload
from .errors import PresignOutlivesCredentials, SigningError
from .headers import presign_headers
from .modes import STREAMING_MODES
from .payload import _payload_literal
from .signed import HeaderList, SignedRequest
from .target import ParsedUrl, verbatim_target
from .timestamps import _check_method, _now_amz, parse_timestamp

# datetime is imported where it is used: it costs milliseconds at start-up,
# which a URL without an expiring credential never needs.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from .config import SigningConfig
    from .credentials import Credentials
    from .keys import DayKey

__all__ = [
    "MAX_PRESIGN_EXPIRES",
    "PRESIGN_NAMES",
    "PRESIGN_PARAMS",
    "Presigner",
    "amz_datetime",
    "check_expires",
    "fit_expiry",
    "hoist_into_query",
    "is_hoistable",
    "presign_params",
    "refuse_auth_params",
    "split_hoistable",
    "stamp",
]

MAX_PRESIGN_EXPIRES = 604800  # 7 days: S3 rejects longer presigned URLs
METHODS = {m: m for m in ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS")}

#: The query parameters a presigned URL's authentication adds, as sent; the
#: first six are required.  S3 reads them case-insensitively for recognition,
#: as the verifier does: :data:`PRESIGN_PARAMS` holds them lowercase.
PRESIGN_NAMES = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "X-Amz-Region-Set",
)
PRESIGN_PARAMS = frozenset(name.lower() for name in PRESIGN_NAMES)
# Headers both SDKs keep as headers: S3 reads them from headers only (or, for
# SSE-C, must never see the key in a URL that ends up in logs).
_UNHOISTABLE_PREFIXES = (
    "x-amz-server-side-encryption",
    "x-amz-copy-source",
    "x-amz-grant-",
    "x-amz-object-lock-",
    "x-amz-meta-",
)
_UNHOISTABLE = PRESIGN_PARAMS | {  # the signer sets those itself, never moved
    "x-amz-acl",
    "x-amz-content-sha256",
    "x-amz-metadata-directive",
    "x-amz-mfa",
    "x-amz-storage-class",
    "x-amz-tagging",
    "x-amz-website-redirect-location",
}


def is_hoistable(name: str) -> bool:
    """True when the header ``name`` may move into a presigned URL's query."""
    lname = name.lower()
    return (
        lname.startswith("x-amz-")
        and lname not in _UNHOISTABLE
        and not lname.startswith(_UNHOISTABLE_PREFIXES)
    )


def split_hoistable(
    headers: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(kept_as_headers, moved_to_query)``, order kept within each."""
    kept: list[tuple[str, str]] = []
    moved: list[tuple[str, str]] = []
    for name, value in headers:
        (moved if is_hoistable(name) else kept).append((name, value))
    return kept, moved


def hoist_into_query(headers: object, query: str) -> tuple[list[tuple[str, str]], str]:
    """Move the hoistable headers into the wire ``query`` (appended, URI-encoded);
    returns the headers left to sign as headers and the new query."""
    kept, moved = split_hoistable(_c.header_pairs(headers))  # type: ignore[arg-type]
    if moved:
        extra = "&".join(f"{_c.uri_encode(n)}={_c.uri_encode(v.strip())}" for n, v in moved)
        query = f"{query}&{extra}" if query else extra
    return kept, query


def amz_datetime(amz_date: str) -> datetime:
    from datetime import datetime, timezone

    return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def stamp(when: datetime) -> str:
    from datetime import timezone

    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def fit_expiry(credentials: Credentials, amz_date: str, expires: int, *, cap: bool) -> int:
    """``expires``, or with ``cap`` the seconds left on ``credentials`` when
    they expire before the URL would (else :class:`PresignOutlivesCredentials`,
    naming both times).  Credentials expired at the signing time are refused."""
    expiration = credentials.expiration
    if expiration is None:
        return expires
    from datetime import timedelta

    signed_at = amz_datetime(amz_date)
    url_end = signed_at + timedelta(seconds=expires)
    if expiration >= url_end:
        return expires
    left = int((expiration - signed_at).total_seconds())
    if left < 1:
        raise PresignOutlivesCredentials(
            f"the credentials expired at {stamp(expiration)}, before the signing time "
            f"{stamp(signed_at)}: refresh them and presign again",
            url_expires=url_end,
            credentials_expire=expiration,
        )
    if cap:
        return left
    raise PresignOutlivesCredentials(
        f"the presigned URL would expire at {stamp(url_end)} ({expires} s), but the "
        f"credentials expire at {stamp(expiration)} ({left} s after signing), when the URL "
        "stops working: presign with expires <= "
        f"{left}, use longer-lived credentials, or cap the expiry at the credentials' "
        "lifetime (cap_expires=True, --cap-expires)",
        url_expires=url_end,
        credentials_expire=expiration,
    )


def check_expires(expires: int | timedelta) -> int:
    """``X-Amz-Expires`` in whole seconds, 1 to 604800 (7 days)."""
    if not isinstance(expires, int):
        from datetime import timedelta

        if isinstance(expires, timedelta):
            expires = int(expires.total_seconds())
    if (
        not isinstance(expires, int)
        or isinstance(expires, bool)
        or not 1 <= expires <= MAX_PRESIGN_EXPIRES
    ):
        raise SigningError(
            f"expires must be a whole number of seconds from 1 to {MAX_PRESIGN_EXPIRES} "
            f"(7 days), got {expires!r}"
        )
    return expires


def refuse_auth_params(query: str) -> None:
    """Refuse a wire query that already carries presign parameters: signing
    it again would send two of each."""
    for part in query.split("&"):
        name = part.partition("=")[0]
        if name.lower() in PRESIGN_PARAMS:
            raise SigningError(
                f"the URL already carries the presign parameter {name!r}; pass the "
                "URL without X-Amz-* authentication parameters"
            )


def presign_params(
    c: SigningConfig,
    credentials: Credentials,
    scope: str,
    amz_date: str,
    expires: int,
    signed_headers: str,
) -> list[tuple[str, str]]:
    """The ``X-Amz-*`` query parameters of a presigned URL, URI-encoded,
    without ``X-Amz-Signature``, in sorted (canonical) order, which is also the
    order sent: one joined string serves both the canonical query and the URL.
    """
    params: list[tuple[str, str]] = [
        ("X-Amz-Algorithm", c.algorithm),
        ("X-Amz-Credential", encode_param(f"{credentials.access_key_id}/{scope}")),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
    ]
    if c.is_v4a:
        params.append(("X-Amz-Region-Set", encode_param(",".join(c.region_set))))
    token = credentials.session_token
    if token is not None and c.sign_session_token:
        params.append(("X-Amz-Security-Token", encode_param(token)))
    params.append(("X-Amz-SignedHeaders", encode_param(signed_headers)))
    return params


def query_around_date(params: list[tuple[str, str]], amz_date: str) -> tuple[str, str]:
    """The joined ``X-Amz-*`` query text before and after the X-Amz-Date value:
    all that changes between presigns with the same key, scope, lifetime and
    headers, so the signer keeps these two pieces (a one-slot memo)."""
    text = "&".join([f"{k}={v}" for k, v in params])
    cut = text.index("X-Amz-Date=") + 11
    return text[:cut], text[cut + len(amz_date) :]


_param_memo: Memo[str, str] = Memo(1024)


def encode_param(value: str) -> str:
    """URI-encode a query value; the few values a signer repeats are memoized."""
    got = _param_memo.get(value)
    if got is None:
        got = _param_memo.put(value, _c.uri_encode(value))
    return got


class Presigner:
    """Query-string signing: the presigning half of :class:`~sigv4kit.Signer`,
    which provides the configuration, credentials and memos declared below.
    The presign query memo is its own."""

    __slots__ = ("_query_memo",)
    # (credentials, (date, expires, SignedHeaders), query before the date, after it)
    _query_memo: tuple[object, tuple[str, int, str], str, str]

    if TYPE_CHECKING:
        config: SigningConfig
        _static: Credentials | None
        _urls: Memo[str, ParsedUrl]
        _day: DayKey

        def credentials(self) -> Credentials: ...
        def _url(self, url: str) -> ParsedUrl: ...
        def _new_day(self, creds: Credentials, date8: str) -> DayKey: ...

    def presign(
        self,
        method: str,
        url: str,
        headers: _c.HeaderInput = None,
        expires: int = 3600,
        timestamp: str | datetime | float | None = None,
        *,
        body: object = None,
        payload: str | None = None,
        cap_expires: bool = False,
        hoist: bool = False,
    ) -> str:
        """A presigned URL (query-string authentication).

        Headers given here are signed (``X-Amz-SignedHeaders``) and must be
        sent with the URL.  ``expires`` is in seconds, 1 to 604800 (7 days).
        When the credentials expire before the URL would, this raises
        :class:`~sigv4kit.errors.PresignOutlivesCredentials`; ``cap_expires=True``
        shortens the URL to the credentials' lifetime instead.  ``hoist=True``
        moves ``X-Amz-*`` headers into the query as the JS and Go SDKs do
        (see :mod:`sigv4kit.presigning`), so they need not be sent.
        """
        u = self._urls.get(url) or self._url(url)
        return self._presign(
            method, u, headers, expires, timestamp, body, payload, cap_expires, hoist
        ).url

    def presign_request(
        self,
        method: str,
        url: str,
        headers: _c.HeaderInput = None,
        expires: int | timedelta = 3600,
        timestamp: str | datetime | float | None = None,
        *,
        body: object = None,
        payload: str | None = None,
        cap_expires: bool = False,
        hoist: bool = False,
    ) -> SignedRequest:
        """Like :meth:`presign`, but returns the whole :class:`SignedRequest`."""
        u = self._urls.get(url) or self._url(url)
        return self._presign(
            method, u, headers, expires, timestamp, body, payload, cap_expires, hoist
        )

    def presign_target(
        self,
        method: str,
        target: str,
        headers: _c.HeaderInput,
        expires: int | timedelta = 3600,
        timestamp: str | datetime | float | None = None,
        *,
        body: object = None,
        payload: str | None = None,
        scheme: str = "https",
        cap_expires: bool = False,
        hoist: bool = False,
    ) -> SignedRequest:
        """Presign a request target exactly as given (see ``Signer.sign_target``)."""
        u = verbatim_target(target, headers, scheme, self.config)
        return self._presign(
            method, u, headers, expires, timestamp, body, payload, cap_expires, hoist
        )

    def presign_params(
        self, credentials: Credentials, amz_date: str, expires: int, signed_headers: str
    ) -> list[tuple[str, str]]:
        """The ``X-Amz-*`` query parameters of a presigned URL, URI-encoded,
        without ``X-Amz-Signature``, in the order they are sent (sorted)."""
        scope = self._new_day(credentials, amz_date[:8])[2]
        return presign_params(self.config, credentials, scope, amz_date, expires, signed_headers)

    # The hot path, written for speed as Signer._sign is: memo hits inline.
    def _presign(
        self,
        method: str,
        u: ParsedUrl,
        headers: _c.HeaderInput,
        expires: int | timedelta,
        timestamp: str | datetime | float | None,
        body: object,
        payload: str | None,
        cap_expires: bool = False,
        hoist: bool = False,
    ) -> SignedRequest:
        c = self.config
        if type(expires) is not int or not 1 <= expires <= MAX_PRESIGN_EXPIRES:
            expires = check_expires(expires)
        method = METHODS.get(method) or _check_method(method)
        amz = _now_amz() if timestamp is None else parse_timestamp(timestamp)
        date8 = amz[:8]
        creds = self._static or self.credentials()
        if creds.expiration is not None:
            expires = fit_expiry(creds, amz, expires, cap=cap_expires)
        wquery = u.query
        if wquery and "x-amz-" in wquery.lower():
            refuse_auth_params(wquery)
        if payload is not None:
            mode = check_payload(payload)
        else:
            mode = "unsigned" if c.presign_unsigned_payload else "signed"
        if mode in STREAMING_MODES or mode == "streaming-events":
            raise SigningError("streaming payloads cannot be presigned; use header signing")
        payload_hash = _payload_literal(mode, body)
        if hoist and headers is not None:
            headers, wquery = hoist_into_query(headers, wquery)
        out = HeaderList()
        if headers is None and c.signed_headers is None:
            # The common presign: nothing but host is signed.
            out.append(("Host", u.host))
            items = [("host", u.host)]
            signed_names = "host"
        else:
            items, signed_names = presign_headers(c, u.host, headers, out)

        day = self._day
        if day[0] is not creds or day[1] != date8:
            day = self._new_day(creds, date8)
        scope = day[2]
        if wquery:
            params = presign_params(c, creds, scope, amz, expires, signed_names)
            auth_query = "&".join([f"{k}={v}" for k, v in params])
            cquery = _c.canonical_query(wquery, params)
        else:
            memo = self._query_memo
            if memo[0] is not creds or memo[1] != (date8, expires, signed_names):
                params = presign_params(c, creds, scope, amz, expires, signed_names)
                head, tail = query_around_date(params, amz)
                self._query_memo = memo = (creds, (date8, expires, signed_names), head, tail)
            auth_query = cquery = f"{memo[2]}{amz}{memo[3]}"
        creq = _c.canonical_request(method, u.curi, cquery, items, payload_hash)
        sts = _c.string_to_sign_text(c.algorithm, amz, scope, creq[6])
        signature = day[3](sts.encode())
        token = creds.session_token
        if token is not None and not c.sign_session_token:
            auth_query = f"{auth_query}&X-Amz-Security-Token={_c.uri_encode(token)}"
        auth_query = f"{auth_query}&X-Amz-Signature={signature}"
        url = (
            f"{u.origin}{u.path}?{wquery}&{auth_query}"
            if wquery
            else f"{u.origin}{u.path}?{auth_query}"
        )
        send_body = body.encode("utf-8") if isinstance(body, str) else body
        return SignedRequest(method, url, out, send_body, creq, sts, signature, None, scope, amz, c)
