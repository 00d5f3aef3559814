"""The Signer: header signing and presigned URLs.

``Signer.sign`` wires the pure stages together::

    URL --wire form--> canonical request --sha256--> string to sign --key--> signature

and returns a :class:`SignedRequest` that shows every stage and says what to
send: the URL is made wire-valid *before* it is canonicalized, so the request
sent is the request signed.  Each stage lives in the module named after it
(:mod:`~sigv4kit.target`, :mod:`~sigv4kit.headers`, :mod:`~sigv4kit.canonical`,
:mod:`~sigv4kit.keys`, :mod:`~sigv4kit.presigning`, :mod:`~sigv4kit.streaming`);
this one wires them and keeps the per-signer memos.  The hot path is the cost
users pay per request: plain functions, memo hits checked inline.
"""

from __future__ import annotations

# Not collections.abc, which costs milliseconds at start-up (see canonical).
from _collections_abc import Callable, Collection

from . import canonical as _c
from ._memo import Memo
from .config import SigningConfig, check_payload, is_sha256_hex
from .credentials import Credentials
from .errors import SigningError
from .headers import ADDED, NOTHING, assemble, controlled, included
from .keys import signature_function
from .modes import PAYLOAD_LITERALS as _PAYLOAD_LITERALS
from .modes import STREAMING_EVENTS_PAYLOAD as _EVENTS
from .modes import STREAMING_MODES as _STREAMING_MODES
from .modes import UNSIGNED_PAYLOAD as _UNSIGNED
from .payload import _payload_literal
from .presigning import MAX_PRESIGN_EXPIRES, METHODS, Presigner
from .signed import HeaderList, SignedRequest
from .target import ParsedUrl, url_target, verbatim_target
from .timestamps import _check_method, _now_amz, format_amz_date, parse_timestamp

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, TypedDict

    from typing_extensions import Unpack

    from .keys import DayKey

    class SignerOptions(TypedDict, total=False):
        """The keyword options of :class:`Signer` (see its docstring)."""

        algorithm: str
        region_set: Collection[str] | None
        double_uri_encode: bool | None
        normalize_path: bool | None
        content_sha256_header: bool | None
        sign_session_token: bool
        signed_headers: Collection[str] | None
        skipped_headers: Collection[str] | None
        payload: str
        checksum: str | None
        chunk_size: int


__all__ = [
    "MAX_PRESIGN_EXPIRES",
    "HeaderList",
    "SignedRequest",
    "Signer",
    "format_amz_date",
    "parse_timestamp",
]

_canonical_request = _c.canonical_request
_string_to_sign = _c.string_to_sign_text
# Payload modes beyond hashing a body: see _special_payload.
_SPECIAL_MODES = _STREAMING_MODES | {"streaming-events"}
_NO_DAY: DayKey = (None, "", "", str)
_NO_QUERY: tuple[object, tuple[str, int, str], str, str] = (None, ("", 0, ""), "", "")


def _special_payload(
    c: SigningConfig,
    mode: str,
    payload: str | None,
    user_sha: str | None,
    headers: list[tuple[str, str]],
    body: object,
) -> tuple[str, Any]:
    """``(payload hash, streaming plan or None)`` beyond a plain body hash:
    a caller-set ``X-Amz-Content-SHA256``, an aws-chunked upload (its plan
    rewrites the headers and encodes the body), an event stream."""
    if user_sha is not None and payload is None and mode == "signed":
        # Like curl and the JS SDK: a caller-set X-Amz-Content-SHA256 says
        # what the payload hash is.
        if user_sha == _UNSIGNED:
            mode = "unsigned"
        elif is_sha256_hex(user_sha):
            mode = user_sha
        elif user_sha in _PAYLOAD_LITERALS:
            return user_sha, None  # a body the caller encodes (or encoded) itself
        else:
            raise SigningError(
                f"X-Amz-Content-SHA256 header {user_sha!r} is neither a SHA-256 hex digest, "
                "UNSIGNED-PAYLOAD nor a STREAMING-* value; to have sigv4kit encode a "
                "streaming upload use payload='streaming' (or a trailer mode)"
            )
    if mode in _STREAMING_MODES:
        from .streaming import prepare_streaming  # type: ignore[import-not-found,unused-ignore]

        plan = prepare_streaming(
            mode,
            body,
            headers=headers,
            algorithm=c.algorithm,
            chunk_size=c.chunk_size,
            checksum=c.checksum,
        )
        return plan.payload_hash, plan
    if mode == "streaming-events":
        # Event streams (Transcribe, Lex...): the body is a chain of signed
        # messages seeded by this signature; see sigv4kit.eventstream.
        if c.is_v4a:
            raise SigningError(
                "event streams are signed with SigV4 only (no SDK defines SigV4a for them)"
            )
        return _EVENTS, None
    return _payload_literal(mode, body), None


CredentialSource = Credentials | Callable[[], Credentials]


class Signer(Presigner):
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
        "_controlled",
        "_credentials",
        "_day",
        "_skip",
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
        config: SigningConfig | None = None,
        **options: Unpack[SignerOptions],
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
        self._urls: Memo[str, ParsedUrl] = Memo(512)
        self._day = _NO_DAY
        self._query_memo = _NO_QUERY
        if config is None:
            # The options and their defaults are SigningConfig.for_service's.
            config = SigningConfig.for_service(region, service, **options)
        self.config = c = config
        self._controlled = controlled(c)
        # The skip list applied while the headers are assembled; when the
        # caller names the headers to sign, or skips one the signer adds
        # (unusual), the signed set is filtered afterwards instead.
        fast = c.signed_headers is None and c.skipped_headers.isdisjoint(ADDED)
        self._skip = c.skipped_headers if fast else None

    def __repr__(self) -> str:
        c = self.config
        where = ",".join(c.region_set) if c.is_v4a else c.region
        return f"Signer(region={where!r}, service={c.service!r}, algorithm={c.algorithm!r})"

    # -- credentials, and the day's scope and key ----------------------------
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

    def _new_day(self, creds: Credentials, date8: str) -> DayKey:
        """``(credentials, date, credential scope, signature function)``: a
        one-slot memo, checked inline by the hot paths, renewed here when the
        day or the credentials change."""
        c = self.config
        scope = _c.credential_scope(date8, None if c.is_v4a else c.region, c.service)
        self._day = day = (creds, date8, scope, signature_function(c, creds, date8))
        return day

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
        u = self._urls.get(url) or self._url(url)
        return self._sign(method, u, headers, body, timestamp, payload)

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
        u = verbatim_target(target, headers, scheme, self.config)
        return self._sign(method, u, headers, body, timestamp, payload)

    def _url(self, url: str) -> ParsedUrl:
        """The wire and canonical forms of a URL, memoized per signer (callers
        look the memo up inline): a pure function of the URL and the settings."""
        u = self._urls.get(url)
        if u is None:
            u = self._urls.put(url, url_target(url, self.config))
        return u

    # The hot path (each extra call is ~1-2% of a signature); it reads top to
    # bottom as the stages of the canonical road.
    def _sign(
        self,
        method: str,
        u: ParsedUrl,
        headers: _c.HeaderInput,
        body: object,
        timestamp: str | datetime | float | None,
        payload: str | None,
    ) -> SignedRequest:
        c = self.config
        method = METHODS.get(method) or _check_method(method)
        amz = _now_amz() if timestamp is None else parse_timestamp(timestamp)
        creds = self._static or self.credentials()
        token = creds.session_token
        controlled = self._controlled[token is not None]
        skip = self._skip
        triples = _c.lowered_pairs(headers)
        out = HeaderList()
        items: list[tuple[str, str]] = []
        has_host, user_sha = assemble(triples, controlled, skip or NOTHING, out, items)

        mode = c.payload if payload is None else check_payload(payload)
        plan: Any = None
        if user_sha is None and mode not in _SPECIAL_MODES:
            payload_hash = _payload_literal(mode, body)
            send_sha = c.content_sha256_header
        else:
            send_sha = True
            pairs = [(n, v) for n, _, v in triples]
            payload_hash, plan = _special_payload(c, mode, payload, user_sha, pairs, body)
            if plan is not None:  # an aws-chunked upload: its own headers
                out.clear()
                items.clear()
                if plan.unsigned or skip is None:
                    skip = None
                triples = _c.lowered_pairs(plan.headers)
                has_host = assemble(triples, controlled, skip or NOTHING, out, items)[0]
        if not has_host:
            out.insert(0, ("Host", u.host))
            items.append(("host", u.host))
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
        if skip is None:  # filtered here, not while assembling (see __init__)
            if c.signed_headers is not None:
                include = included(c, items, token, send_sha)
                items = [it for it in items if it[0] in include]
            else:
                drop = c.skipped_headers | plan.unsigned if plan else c.skipped_headers
                items = [it for it in items if it[0] not in drop]

        creq = _canonical_request(method, u.curi, u.cquery, items, payload_hash)
        date8 = amz[:8]
        day = self._day
        if day[0] is not creds or day[1] != date8:
            day = self._new_day(creds, date8)
        scope = day[2]
        sts = _string_to_sign(c.algorithm, amz, scope, creq[6])
        signature = day[3](sts.encode())
        auth = (
            f"{c.algorithm} Credential={creds.access_key_id}/{scope}, "
            f"SignedHeaders={creq[4]}, Signature={signature}"
        )
        out.append(("Authorization", auth))
        if token is not None and not c.sign_session_token:
            out.append(("X-Amz-Security-Token", token))

        send_body: Any = body
        if plan is not None:
            send_body = plan.encode(
                seed_signature=signature, amz_date=amz, scope=scope, sign=day[3]
            )
        elif isinstance(body, str):
            send_body = body.encode("utf-8")
        return SignedRequest(
            method, u.url, out, send_body, creq, sts, signature, auth, scope, amz, c
        )

    def sign_canonical_request(
        self, canonical_request: str, amz_date: str, credentials: Credentials | None = None
    ) -> tuple[str, str]:
        """``(string_to_sign, signature)`` for a canonical request built elsewhere
        (:func:`sigv4kit.canonical.canonical_request_for_target`): the second
        half of signing, for raw targets, verification and the calculator."""
        creds = credentials or self.credentials()
        _, _, scope, sign = self._new_day(creds, amz_date[:8])
        sts = _string_to_sign(self.config.algorithm, amz_date, scope, canonical_request)
        return sts, sign(sts.encode())
