"""The Signer: header signing and presigned URLs.

``Signer.sign`` wires the pure stages together::

    URL --wire form--> canonical request --sha256--> string to sign --key--> signature

and returns a :class:`SignedRequest` that shows every stage and says exactly
what to send.  The request you send is the request that was signed: the
URL is made wire-valid *before* it is canonicalized, and ``signed.url`` is
that wire URL.

The hot path is written for speed (this is the cost users pay per request):
plain functions, no per-request dataclasses, one regex per part only when a
fast check says it is needed, and a signing key whose HMAC pad states are
cached (see :mod:`sigv4kit.keys`).
"""

from __future__ import annotations

import re

# collections.abc would import the collections package (milliseconds at
# start-up); it re-exports _collections_abc, which every interpreter has
# loaded already (os imports it).
from _collections_abc import Callable, Collection, Iterable

from . import canonical as _c
from ._memo import Memo
from .canonical import ParsedUrl as _ParsedUrl
from .canonical import encode_param as _encode_param
from .config import SigningConfig, check_payload
from .credentials import Credentials
from .errors import SigningError
from .keys import signing_key
from .modes import PAYLOAD_LITERALS as _PAYLOAD_LITERALS
from .modes import STREAMING_EVENTS_PAYLOAD as _EVENTS
from .modes import STREAMING_MODES as _STREAMING_MODES
from .modes import UNSIGNED_PAYLOAD as _UNSIGNED
from .payload import _payload_literal
from .presigning import fit_expiry, hoist_into_query
from .signed import HeaderList, SignedRequest
from .timestamps import _check_method, _now_amz, format_amz_date, parse_timestamp

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime, timedelta
    from typing import Any

__all__ = ["HeaderList", "SignedRequest", "Signer", "format_amz_date", "parse_timestamp"]

_canonical_request = _c.canonical_request
_string_to_sign = _c.string_to_sign_text
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PRESIGN_PARAMS = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-region-set",
    }
)
MAX_PRESIGN_EXPIRES = 604800  # 7 days: S3 rejects longer presigned URLs


_METHODS = {m: m for m in ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS")}
_URL_MEMO_SIZE = 512
# https or http, a lowercase DNS name without port or user info, a path and a
# query of unreserved characters only (plus '/' in the path and '=' '&' in the
# query): already wire-valid, and the path already canonical (normalization
# aside, checked by the caller).
_SIMPLE_URL = re.compile(
    r"(https?)://([a-z0-9](?:[a-z0-9\-.]*[a-z0-9])?)(/[A-Za-z0-9\-._~/]*)?"
    r"(?:\?((?:[A-Za-z0-9\-._~]+=[A-Za-z0-9\-._~]*&)*[A-Za-z0-9\-._~]+=[A-Za-z0-9\-._~]*))?\Z"
)
_CONTROLLED: dict[tuple[bool, bool, bool], frozenset[str]] = {}


def _controlled(token: bool, send_sha: bool, v4a: bool) -> frozenset[str]:
    """Headers the signer sets itself; a caller's copies are replaced."""
    key = (token, send_sha, v4a)
    got = _CONTROLLED.get(key)
    if got is None:
        names = {"authorization", "x-amz-date"}
        if token:
            names.add("x-amz-security-token")
        if send_sha:
            names.add("x-amz-content-sha256")
        if v4a:
            names.add("x-amz-region-set")
        got = _CONTROLLED[key] = frozenset(names)
    return got


# --------------------------------------------------------------------------
# Signer
# --------------------------------------------------------------------------
CredentialSource = Credentials | Callable[[], Credentials]


class Signer:
    """Signs requests for one region (or region set) and service.

    Args:
        credentials: a :class:`Credentials`, or a zero-argument callable that
            returns one (a provider; it is called for every request, so it
            can refresh expiring credentials).
        region, service: the credential scope, e.g. ``"us-east-1"``, ``"s3"``.
        algorithm: ``"sigv4"`` (default) or ``"sigv4a"``.
        region_set: SigV4a only: the regions the signature is valid in, e.g.
            ``["us-east-1", "us-west-2"]`` or ``["*"]`` (default: ``[region]``).
        double_uri_encode, normalize_path, content_sha256_header: ``None``
            takes the service's default from :data:`sigv4kit.config.SERVICE_DEFAULTS`.
        sign_session_token: ``False`` adds ``X-Amz-Security-Token`` after
            signing (some services, e.g. IoT websockets, want it unsigned).
        signed_headers: sign exactly these header names (plus the ones the
            protocol requires) instead of every header but the skip list.
        payload: ``"signed"``, ``"unsigned"``, a streaming mode
            (``"streaming"``, ``"streaming-trailer"``,
            ``"streaming-unsigned-trailer"``, ``"streaming-events"``), or a
            64-hex precomputed SHA-256; can also be given per call.
        checksum, chunk_size: for the streaming payload modes.
    """

    __slots__ = (
        "_credentials",
        "_key",
        "_query_memo",
        "_scope_memo",
        "_static",
        "_urls",
        "config",
    )

    def __init__(
        self,
        credentials: CredentialSource,
        region: str = "",
        service: str = "",
        *,
        algorithm: str = "sigv4",
        region_set: Collection[str] | None = None,
        double_uri_encode: bool | None = None,
        normalize_path: bool | None = None,
        content_sha256_header: bool | None = None,
        sign_session_token: bool = True,
        signed_headers: Collection[str] | None = None,
        skipped_headers: Collection[str] | None = None,
        payload: str = "signed",
        checksum: str | None = None,
        chunk_size: int = 65536,
        config: SigningConfig | None = None,
    ) -> None:
        if isinstance(credentials, Credentials):
            self._static: Credentials | None = credentials
        elif callable(credentials):
            self._static = None
        else:
            raise SigningError(
                "credentials must be a sigv4kit.Credentials or a callable returning one"
            )
        self._credentials = credentials
        self._urls: Memo[str, _ParsedUrl] = Memo(_URL_MEMO_SIZE)
        self._key: tuple[Credentials, str, Callable[[bytes], str]] | None = None
        self._scope_memo: tuple[str, str] = ("", "")
        self._query_memo: tuple[object, tuple[str, int, str], str, str] = (
            None,
            ("", 0, ""),
            "",
            "",
        )
        if config is not None:
            self.config = config
        else:
            self.config = SigningConfig.for_service(
                region,
                service,
                algorithm=algorithm,
                region_set=region_set,
                double_uri_encode=double_uri_encode,
                normalize_path=normalize_path,
                content_sha256_header=content_sha256_header,
                sign_session_token=sign_session_token,
                signed_headers=signed_headers,
                skipped_headers=skipped_headers,
                payload=payload,
                checksum=checksum,
                chunk_size=chunk_size,
            )

    def __repr__(self) -> str:
        c = self.config
        where = ",".join(c.region_set) if c.is_v4a else c.region
        return f"Signer(region={where!r}, service={c.service!r}, algorithm={c.algorithm!r})"

    # -- credentials --------------------------------------------------------
    @property
    def credentials_source(self) -> CredentialSource:
        """What the signer was given: a :class:`Credentials` or a provider.

        Async adapters use it to call a provider's ``aget()`` instead of
        blocking the event loop.
        """
        return self._credentials

    def credentials(self) -> Credentials:
        """The credentials the next signature will use."""
        if self._static is not None:
            return self._static
        provider: Callable[[], Credentials] = self._credentials  # type: ignore[assignment]
        creds = provider()
        if not isinstance(creds, Credentials):
            raise SigningError("the credentials provider did not return a sigv4kit.Credentials")
        return creds

    # -- signing primitives -------------------------------------------------
    def _scope(self, date8: str) -> str:
        cached = self._scope_memo
        if cached[0] == date8:
            return cached[1]
        c = self.config
        scope = _c.credential_scope(date8, None if c.is_v4a else c.region, c.service)
        self._scope_memo = (date8, scope)
        return scope

    def _signature_fn(self, creds: Credentials, date8: str) -> Callable[[bytes], str]:
        """string-to-sign bytes -> hex signature, for this key and day."""
        c = self.config
        k = self._key
        if k is not None and k[1] == date8 and k[0] is creds:
            return k[2]
        if c.is_v4a:
            from .v4a import sign_v4a

            akid, secret = creds.access_key_id, creds.secret_access_key

            def sign(sts: bytes) -> str:
                return sign_v4a(akid, secret, sts)

            # The SigV4a key does not depend on the day, but the memo slot
            # is shared with SigV4 and keyed on it; a new day re-creates this
            # closure only (the private key itself is cached in v4a).
            self._key = (creds, date8, sign)
            return sign
        fn = signing_key(creds.secret_access_key, date8, c.region, c.service).hexdigest
        self._key = (creds, date8, fn)
        return fn

    # -- header signing -----------------------------------------------------
    def sign(
        self,
        method: str,
        url: str,
        headers: _c.HeaderInput = None,
        body: object = None,
        timestamp: str | datetime | float | None = None,
        *,
        payload: str | None = None,
    ) -> SignedRequest:
        """Sign a request with the ``Authorization`` header.

        Args:
            method: the HTTP method.
            url: an absolute URL; it is made wire-valid first (see
                ``signed.url``).
            headers: a mapping or a list of ``(name, value)`` pairs.
            body: bytes, str, a binary file, an iterable of bytes, or None.
                Files and iterables are hashed in pieces, never read whole;
                a seekable file is put back where it was.
            timestamp: None (now), an amz-date or ISO 8601 string, an aware
                datetime, or POSIX seconds.
            payload: overrides the signer's payload mode for this call.
        """
        return self._sign(method, self._url(url), headers, body, timestamp, payload)

    def sign_target(
        self,
        method: str,
        target: str,
        headers: _c.HeaderInput,
        body: object = None,
        timestamp: str | datetime | float | None = None,
        *,
        payload: str | None = None,
        scheme: str = "https",
    ) -> SignedRequest:
        """Sign a request target exactly as given, without making it wire-valid.

        The verbatim route: ``target`` (``/path?query``, raw spaces and UTF-8
        allowed) is canonicalized byte for byte, as a server canonicalizes
        what it received.  Use it to reproduce a request read from a file or a
        capture; to *send* a request, prefer :meth:`sign`, whose URL is
        always sendable.  The host comes from the ``Host`` header.
        """
        u = self._target(target, headers, scheme)
        return self._sign(method, u, headers, body, timestamp, payload)

    def _target(self, target: str, headers: _c.HeaderInput, scheme: str) -> _ParsedUrl:
        """The canonical forms of a request target taken verbatim."""
        c = self.config
        host = None
        for name, value in _c.header_pairs(headers):
            if name.lower() == "host":
                host = value.strip()
        if not host:
            raise SigningError("a request target needs a Host header to be signed")
        if not target.isascii():
            _c._check_utf8("request target", target)
        path, _, query = target.partition("?")
        return _ParsedUrl(
            f"{scheme}://{host}",
            host,
            path,
            query,
            _c.canonical_uri(
                path,
                double_encode=c.double_uri_encode,
                normalize=c.normalize_path,
                plus_is_space=c.plus_in_path_is_space,
            ),
            _c.canonical_query(query) if query else "",
        )

    # The hot path: one function on purpose (each extra call is ~2% of a
    # signature); it reads top to bottom as the stages of the canonical road.
    def _sign(
        self,
        method: str,
        u: _ParsedUrl,
        headers: _c.HeaderInput,
        body: object,
        timestamp: str | datetime | float | None,
        payload: str | None,
    ) -> SignedRequest:
        c = self.config
        method = _METHODS.get(method) or _check_method(method)
        amz = _now_amz() if timestamp is None else parse_timestamp(timestamp)
        creds = self._static or self.credentials()
        triples = _c.lowered_pairs(headers)

        mode = c.payload if payload is None else check_payload(payload)
        user_sha: str | None = None
        has_host = False
        for _, ln, value in triples:
            if ln == "host":
                has_host = True
            elif ln == "x-amz-content-sha256":
                user_sha = value.strip()
        literal: str | None = None
        if user_sha is not None and payload is None and mode == "signed":
            # Like curl and the JS SDK: a caller-set X-Amz-Content-SHA256
            # says what the payload hash is.
            if user_sha == _UNSIGNED:
                mode = "unsigned"
            elif _HEX64.fullmatch(user_sha):
                mode = user_sha
            elif user_sha in _PAYLOAD_LITERALS:
                # A body the caller encodes (or already encoded) itself.
                literal = user_sha
            else:
                raise SigningError(
                    f"X-Amz-Content-SHA256 header {user_sha!r} is neither a SHA-256 hex digest, "
                    "UNSIGNED-PAYLOAD nor a STREAMING-* value; to have sigv4kit encode a "
                    "streaming upload use payload='streaming' (or a trailer mode)"
                )

        skip = c.skipped_headers
        plan: Any = None
        if literal is not None:
            payload_hash = literal
            send_sha = True
        elif mode in _STREAMING_MODES:
            from .streaming import prepare_streaming  # type: ignore[import-not-found,unused-ignore]

            plan = prepare_streaming(
                mode,
                body,
                headers=[(n, v) for n, _, v in triples],
                algorithm=c.algorithm,
                chunk_size=c.chunk_size,
                checksum=c.checksum,
            )
            payload_hash = plan.payload_hash
            triples = _c.lowered_pairs(plan.headers)
            if plan.unsigned:
                skip = skip | plan.unsigned
            send_sha = True
        elif mode == "streaming-events":
            # Event streams (Transcribe, Lex...): the body is a chain of signed
            # messages seeded by this signature; see sigv4kit.eventstream.
            if c.is_v4a:
                raise SigningError(
                    "event streams are signed with SigV4 only (no SDK defines SigV4a for them)"
                )
            payload_hash = _EVENTS
            send_sha = True
        else:
            payload_hash = _payload_literal(mode, body)
            send_sha = c.content_sha256_header or user_sha is not None

        token = creds.session_token
        controlled = _controlled(token is not None, send_sha, c.is_v4a)
        out = HeaderList()
        items: list[tuple[str, str]] = []
        if not has_host:
            out.append(("Host", u.host))
            items.append(("host", u.host))
        for name, ln, value in triples:
            if ln not in controlled:
                out.append((name, value))
                items.append((ln, value))
        out.append(("X-Amz-Date", amz))
        items.append(("x-amz-date", amz))
        if c.is_v4a:
            rs = ",".join(c.region_set)
            out.append(("X-Amz-Region-Set", rs))
            items.append(("x-amz-region-set", rs))
        if token is not None and c.sign_session_token:
            out.append(("X-Amz-Security-Token", token))
            items.append(("x-amz-security-token", token))
        if send_sha:
            out.append(("X-Amz-Content-SHA256", payload_hash))
            items.append(("x-amz-content-sha256", payload_hash))

        if c.signed_headers is None:
            items = [it for it in items if it[0] not in skip]
        else:
            include = self._include(items, token, send_sha) or frozenset()
            items = [it for it in items if it[0] in include]
        creq = _canonical_request(method, u.curi, u.cquery, items, payload_hash)
        signed_names = creq[4]
        date8 = amz[:8]
        scope = self._scope(date8)
        sts = _string_to_sign(c.algorithm, amz, scope, creq[6])
        sign = self._signature_fn(creds, date8)
        signature = sign(sts.encode())
        auth = (
            f"{c.algorithm} Credential={creds.access_key_id}/{scope}, "
            f"SignedHeaders={signed_names}, Signature={signature}"
        )
        out.append(("Authorization", auth))
        if token is not None and not c.sign_session_token:
            out.append(("X-Amz-Security-Token", token))

        send_body: Any = body
        if plan is not None:
            send_body = plan.encode(seed_signature=signature, amz_date=amz, scope=scope, sign=sign)
        elif isinstance(body, str):
            send_body = body.encode("utf-8")

        return SignedRequest(
            method,
            u.url,
            out,
            send_body,
            creq,
            sts,
            signature,
            auth,
            scope,
            payload_hash,
            amz,
            c.algorithm,
            c.region,
            c.service,
            c.region_set,
        )

    def _url(self, url: str) -> _ParsedUrl:
        """The wire and canonical forms of a URL, memoized per signer.

        Canonicalizing a URL is a pure function of the URL and this signer's
        settings, so the result is kept in a small bounded dict (CPython's
        ``urlsplit`` keeps a similar cache).  Cleared when full rather than
        LRU-managed, so a hit costs one dict lookup.
        """
        u = self._urls.get(url)
        if u is None:
            c = self.config
            m = _SIMPLE_URL.match(url)
            path = (m[3] or "/") if m is not None else ""
            if m is not None and not (c.normalize_path and ("//" in path or "/." in path)):
                # Most URLs: lowercase host, default port, plain path and
                # query.  They are wire-valid and their path is canonical as
                # it stands; one regex replaces the general parse.
                query = m[4] or ""
                u = _ParsedUrl(
                    f"{m[1]}://{m[2]}",
                    m[2],
                    path,
                    query,
                    path,
                    # _SIMPLE_URL admitted the query only in canonical form.
                    _c.sort_canonical_query(query) if query else "",
                )
                return self._urls.put(url, u)
            scheme, netloc, host, wpath, wquery = _c.split_url(
                url, plus_is_space=c.plus_in_path_is_space
            )
            u = _ParsedUrl(
                f"{scheme}://{netloc}",
                host,
                wpath,
                wquery,
                _c.canonical_uri(
                    wpath,
                    double_encode=c.double_uri_encode,
                    normalize=c.normalize_path,
                    plus_is_space=c.plus_in_path_is_space,
                ),
                _c.canonical_query(wquery) if wquery else "",
            )
            self._urls.put(url, u)
        return u

    def _include(
        self, out: Iterable[tuple[str, str]], token: str | None, send_sha: bool
    ) -> frozenset[str] | None:
        """The exact header names to sign when the caller listed them."""
        wanted = self.config.signed_headers
        if wanted is None:
            return None
        present = {n.lower() for n, _ in out}
        missing = sorted(wanted - present)
        if missing:
            raise SigningError(
                f"signed_headers names {', '.join(missing)} but the request has no such "
                "header; add the header or remove it from signed_headers"
            )
        required = {"host", "x-amz-date"}
        if token is not None and self.config.sign_session_token:
            required.add("x-amz-security-token")
        if send_sha:
            required.add("x-amz-content-sha256")
        if self.config.is_v4a:
            required.add("x-amz-region-set")
        return wanted | required

    def sign_canonical_request(
        self, canonical_request: str, amz_date: str, credentials: Credentials | None = None
    ) -> tuple[str, str]:
        """``(string_to_sign, signature)`` for a canonical request built elsewhere.

        This is the second half of signing, for canonical requests made by
        :func:`sigv4kit.canonical.canonical_request_for_target` (raw request
        targets, verification, the calculator).
        """
        c = self.config
        creds = credentials or self.credentials()
        date8 = amz_date[:8]
        scope = self._scope(date8)
        sts = _string_to_sign(c.algorithm, amz_date, scope, canonical_request)
        return sts, self._signature_fn(creds, date8)(sts.encode())

    def presign_params(
        self, credentials: Credentials, amz_date: str, expires: int, signed_headers: str
    ) -> list[tuple[str, str]]:
        """The ``X-Amz-*`` query parameters of a presigned URL, URI-encoded,
        without ``X-Amz-Signature``, in the order they are sent (sorted)."""
        c = self.config
        scope = self._scope(amz_date[:8])
        # Built in sorted (canonical) order, which is also the order sent:
        # then one joined string serves both the canonical query and the URL.
        params: list[tuple[str, str]] = [
            ("X-Amz-Algorithm", c.algorithm),
            ("X-Amz-Credential", _encode_param(f"{credentials.access_key_id}/{scope}")),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires)),
        ]
        if c.is_v4a:
            params.append(("X-Amz-Region-Set", _encode_param(",".join(c.region_set))))
        token = credentials.session_token
        if token is not None and c.sign_session_token:
            params.append(("X-Amz-Security-Token", _encode_param(token)))
        params.append(("X-Amz-SignedHeaders", _encode_param(signed_headers)))
        return params

    # -- presigned URLs -----------------------------------------------------
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
        return self.presign_request(
            method,
            url,
            headers,
            expires,
            timestamp,
            body=body,
            payload=payload,
            cap_expires=cap_expires,
            hoist=hoist,
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
        u = self._url(url)
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
        """Presign a request target exactly as given (see :meth:`sign_target`)."""
        u = self._target(target, headers, scheme)
        return self._presign(
            method, u, headers, expires, timestamp, body, payload, cap_expires, hoist
        )

    # Presigning's hot path, one function for the same reason as _sign.
    def _presign(
        self,
        method: str,
        u: _ParsedUrl,
        headers: _c.HeaderInput,
        expires: int | timedelta,
        timestamp: str | datetime | float | None,
        body: object,
        payload: str | None,
        cap_expires: bool = False,
        hoist: bool = False,
    ) -> SignedRequest:
        c = self.config
        if not isinstance(expires, int):
            # datetime is not imported at start-up; a timedelta argument
            # means the caller has imported it already.
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
        method = _METHODS.get(method) or _check_method(method)
        amz = _now_amz() if timestamp is None else parse_timestamp(timestamp)
        date8 = amz[:8]
        creds = self._static or self.credentials()
        if creds.expiration is not None:
            expires = fit_expiry(creds, amz, expires, cap=cap_expires)
        wquery = u.query
        if wquery and "x-amz-" in wquery.lower():
            for part in wquery.split("&"):
                name = part.partition("=")[0]
                if name.lower() in _PRESIGN_PARAMS:
                    raise SigningError(
                        f"the URL already carries the presign parameter {name!r}; pass the "
                        "URL without X-Amz-* authentication parameters"
                    )
        if payload is not None:
            mode = check_payload(payload)
        else:
            mode = "unsigned" if c.presign_unsigned_payload else "signed"
        if mode in _STREAMING_MODES or mode == "streaming-events":
            raise SigningError("streaming payloads cannot be presigned; use header signing")
        payload_hash = _payload_literal(mode, body)
        if hoist and headers is not None:
            headers, wquery = hoist_into_query(headers, wquery)

        out = HeaderList()
        items: list[tuple[str, str]]
        if headers is None and c.signed_headers is None:
            # The common presign: nothing but host is signed.
            out.append(("Host", u.host))
            items = [("host", u.host)]
            signed_names = "host"
        else:
            triples = _c.lowered_pairs(headers)
            items = []
            if not any(t[1] == "host" for t in triples):
                out.append(("Host", u.host))
                items.append(("host", u.host))
            for name, ln, value in triples:
                if ln != "authorization" and ln != "x-amz-date":
                    out.append((name, value))
                    items.append((ln, value))
            include = self._include(items, None, False)
            if include is not None:
                items = [it for it in items if it[0] in include]
            else:
                skip = c.skipped_headers
                items = [it for it in items if it[0] not in skip]
            signed_names = ";".join(sorted({n for n, _ in items}))

        scope = self._scope(date8)
        token = creds.session_token
        if wquery:
            params = self.presign_params(creds, amz, expires, signed_names)
            auth_query = "&".join([f"{k}={v}" for k, v in params])
            cquery = _c.canonical_query(wquery, params)
        else:
            # The X-Amz-* parameters change only with X-Amz-Date between two
            # presigns of the same key, scope, lifetime and headers: keep the
            # text around it (a one-slot memo, as for the scope and the key).
            memo = self._query_memo
            if memo[0] is creds and memo[1] == (date8, expires, signed_names):
                head, tail = memo[2], memo[3]
            else:
                params = self.presign_params(creds, amz, expires, signed_names)
                text = "&".join([f"{k}={v}" for k, v in params])
                cut = text.index("X-Amz-Date=") + 11
                head, tail = text[:cut], text[cut + len(amz) :]
                self._query_memo = (creds, (date8, expires, signed_names), head, tail)
            auth_query = cquery = f"{head}{amz}{tail}"
        creq = _canonical_request(method, u.curi, cquery, items, payload_hash)
        sts = _string_to_sign(c.algorithm, amz, scope, creq[6])
        signature = self._signature_fn(creds, date8)(sts.encode())
        if token is not None and not c.sign_session_token:
            auth_query = f"{auth_query}&X-Amz-Security-Token={_c.uri_encode(token)}"
        auth_query = f"{auth_query}&X-Amz-Signature={signature}"
        full_query = f"{wquery}&{auth_query}" if wquery else auth_query
        wire_url = f"{u.origin}{u.path}?{full_query}"
        send_body = body.encode("utf-8") if isinstance(body, str) else body
        return SignedRequest(
            method,
            wire_url,
            out,
            send_body,
            creq,
            sts,
            signature,
            None,
            scope,
            payload_hash,
            amz,
            c.algorithm,
            c.region,
            c.service,
            c.region_set,
        )
