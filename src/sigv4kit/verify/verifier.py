"""The Verifier: settings, ``verify`` and ``averify``, the signature check."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from .. import canonical as _c
from .._memo import Memo
from ..config import service_defaults
from ..errors import SignatureDoesNotMatch, SigningError
from ._common import (
    _REDACTED,
    MAX_AUTH_LENGTH,
    MAX_HEADER_LENGTH,
    MAX_QUERY_LENGTH,
    MAX_SIGNED_HEADERS,
    CredentialLookup,
    TokenCheck,
    _canonical_request,
    _positive,
    _string_to_sign,
)
from .auth import Params, QueryParams, _Auth
from .checks import _accepted_algorithms, _skew_seconds
from .fast import fast_verify
from .flow import drive_async, drive_sync, verification
from .keys import _Key, signature_ok
from .result import VerifiedRequest


class Verifier:
    """Verifies SigV4 and SigV4a requests for one region and service.

    Args:
        credentials: a mapping from access key id to the secret (str), a
            :class:`~sigv4kit.Credentials` (its session token, if any, must be
            the one the request carries), a SigV4a public key (see
            :func:`sigv4kit.v4a.load_public_key`) or a ``(secret, token)``
            pair; or a callable ``lookup(access_key_id)`` returning one of
            these or None (unknown key).  An async callable needs
            :meth:`averify`.
        region, service: what requests must be scoped to.  SigV4a requests
            must name ``region`` (or ``*``) in their region set.
        double_uri_encode, normalize_path, plus_in_path_is_space: None takes
            the service's defaults (:data:`sigv4kit.config.SERVICE_DEFAULTS`).
        max_skew: the allowed clock difference (seconds or timedelta); None
            takes the service default (S3: 15 minutes, others: 5 minutes).
        token_check: ``check(access_key_id, token)`` for requests that carry
            a session token; return False (or raise ``InvalidToken`` /
            ``ExpiredToken``) to reject.  May be async with :meth:`averify`.
        include_debug: put the canonical request and string to sign on
            ``SignatureDoesNotMatch`` (S3 does; turn off to reveal nothing).
        show_token: leave the session token in the debug canonical request
            (it is redacted by default).
        require_content_sha256: reject header-signed requests that lack
            ``x-amz-content-sha256`` (S3 does).  Default False: the body is
            hashed instead, as MinIO and non-S3 services do.
        algorithms: the accepted algorithms (``"sigv4"``, ``"sigv4a"``).
        max_auth_length: longest ``Authorization`` header accepted
            (:class:`AuthorizationHeaderTooLong`).
        max_query_length: longest query string of a presigned request
            (:class:`QueryTooLong`).
        max_signed_headers: most names accepted in SignedHeaders
            (:class:`TooManySignedHeaders`, :class:`TooManySignedHeadersInQuery`).
        max_header_length: longest header, name and value
            (:class:`RequestHeaderTooLong`), checked before anything else.
        max_chunk_size, max_chunk_header_length, max_chunks: the aws-chunked
            decoder's limits (:class:`~sigv4kit.streaming.ChunkTooLargeError`,
            :class:`~sigv4kit.streaming.ChunkLineTooLongError`,
            :class:`~sigv4kit.streaming.TooManyChunksError`).
        max_policy_bytes, max_form_bytes, max_form_parts: browser POST limits:
            the Base64 policy (:class:`~sigv4kit.post_policy.PolicyTooLarge`),
            the fields before the file and their number
            (:class:`~sigv4kit.post_policy.MaxPostPreDataLengthExceeded`).
        post_bucket: ``bucket(target, host)`` for browser POST forms; by
            default the first path segment, else the first label of Host.
    """

    __slots__ = (
        "_algorithms",
        "_async_lookup",
        "_auth_cache",
        "_fast_slot",
        "_lookup",
        "_mapping",
        "_params_cache",
        "_query_cache",
        "_targets",
        "_value_memo",
        "double_uri_encode",
        "include_debug",
        "max_auth_length",
        "max_chunk_header_length",
        "max_chunk_size",
        "max_chunks",
        "max_form_bytes",
        "max_form_parts",
        "max_header_length",
        "max_policy_bytes",
        "max_query_length",
        "max_signed_headers",
        "max_skew",
        "normalize_path",
        "plus_in_path_is_space",
        "post_bucket",
        "presign_unsigned_payload",
        "region",
        "require_content_sha256",
        "service",
        "show_token",
        "token_check",
    )

    def __init__(
        self,
        credentials: CredentialLookup,
        region: str = "",
        service: str = "",
        *,
        double_uri_encode: bool | None = None,
        normalize_path: bool | None = None,
        plus_in_path_is_space: bool | None = None,
        max_skew: float | timedelta | None = None,
        token_check: TokenCheck | None = None,
        include_debug: bool = True,
        show_token: bool = False,
        require_content_sha256: bool = False,
        algorithms: Iterable[str] = ("sigv4", "sigv4a"),
        max_auth_length: int = MAX_AUTH_LENGTH,
        max_signed_headers: int = MAX_SIGNED_HEADERS,
        post_bucket: Callable[[str, str], str] | None = None,
        max_query_length: int = MAX_QUERY_LENGTH,
        max_header_length: int = MAX_HEADER_LENGTH,
        max_chunk_size: int = 16 * 1024 * 1024,
        max_chunk_header_length: int = 4096,
        max_chunks: int = 1 << 20,
        max_policy_bytes: int = 64 * 1024,
        max_form_bytes: int = 1024 * 1024,
        max_form_parts: int = 1000,
    ) -> None:
        if not isinstance(region, str) or not region:
            raise SigningError("region must be a non-empty string, e.g. 'us-east-1'")
        if not isinstance(service, str) or not service:
            raise SigningError("service must be a non-empty string, e.g. 's3'")
        if isinstance(credentials, Mapping):
            self._mapping: Mapping[str, Any] | None = credentials
            self._lookup: Callable[[str], Any] | None = None
            self._async_lookup = False
        elif callable(credentials):
            self._mapping = None
            self._lookup = credentials
            self._async_lookup = inspect.iscoroutinefunction(credentials) or (
                inspect.iscoroutinefunction(getattr(credentials, "__call__", None))  # noqa: B004
            )
        else:
            raise SigningError(
                "credentials must be a mapping of access key id -> secret or a callable lookup"
            )
        d = service_defaults(service)
        self.region = region
        self.service = service
        self.double_uri_encode = (
            d.double_uri_encode if double_uri_encode is None else bool(double_uri_encode)
        )
        self.normalize_path = d.normalize_path if normalize_path is None else bool(normalize_path)
        self.plus_in_path_is_space = (
            d.plus_in_path_is_space if plus_in_path_is_space is None else plus_in_path_is_space
        )
        self.presign_unsigned_payload = d.presign_unsigned_payload
        self.max_skew = _skew_seconds(max_skew, d.max_skew_seconds)
        self.token_check = token_check
        self.include_debug = include_debug
        self.show_token = show_token
        self.require_content_sha256 = require_content_sha256
        self._algorithms = _accepted_algorithms(algorithms)
        # Memos of what was parsed, per instance: what a text parses to
        # depends on this verifier's settings (region, service, algorithms,
        # limits), so a class-level memo would be wrong for other instances.
        self._targets: Memo[str, tuple[str, str]] = Memo(1024)
        self._params_cache: Memo[tuple[str, str, str, str], Params] = Memo(1024)
        self._auth_cache: Memo[str, Params] = Memo(1024)
        self._query_cache: Memo[str, QueryParams] = Memo(1024)
        self._value_memo: tuple[Any, str, _Key] | None = None
        # The fast road's key and the day's HMAC pad states, for one looked-up
        # value and params: (value, params, key, inner, outer).  Empty, it
        # holds a value no lookup hands the fast road (None), so it is never None.
        self._fast_slot: tuple[Any, ...] = (None,) * 5
        self.max_auth_length = _positive("max_auth_length", max_auth_length)
        self.max_signed_headers = _positive("max_signed_headers", max_signed_headers)
        self.max_query_length = _positive("max_query_length", max_query_length)
        self.max_header_length = _positive("max_header_length", max_header_length)
        self.max_chunk_size = _positive("max_chunk_size", max_chunk_size)
        self.max_chunk_header_length = _positive("max_chunk_header_length", max_chunk_header_length)
        self.max_chunks = _positive("max_chunks", max_chunks)
        self.max_policy_bytes = _positive("max_policy_bytes", max_policy_bytes)
        self.max_form_bytes = _positive("max_form_bytes", max_form_bytes)
        self.max_form_parts = _positive("max_form_parts", max_form_parts)
        self.post_bucket = post_bucket

    def __repr__(self) -> str:
        return (
            f"Verifier(region={self.region!r}, service={self.service!r}, "
            f"max_skew={self.max_skew:g})"
        )

    # -- public API ---------------------------------------------------------
    def verify(
        self,
        method: str,
        target: str,
        headers: object,
        body: object = None,
        now: datetime | float | None = None,
    ) -> VerifiedRequest:
        """Verify a request, or raise a :class:`~sigv4kit.errors.SignatureError`.

        Args:
            method: the request method as received.
            target: the request target as received (``/path?query``,
                verbatim) or an absolute URL.
            headers: a mapping or a list of ``(name, value)`` pairs (str or
                bytes); repeated names allowed.
            body: bytes, str, a binary file, an iterable of bytes, or None.
                Streams are never read whole; see ``VerifiedRequest.body``.
            now: the server's current time (aware datetime); None reads the
                clock.
        """
        received = (method, target, headers, body, now)
        ok = fast_verify(self, received)
        if ok is not None:
            return ok
        if self._async_lookup:
            raise SigningError(
                "the credential lookup is async; call 'await verifier.averify(...)' instead"
            )
        return drive_sync(self, verification(self, received, True))

    async def averify(
        self,
        method: str,
        target: str,
        headers: object,
        body: object = None,
        now: datetime | float | None = None,
    ) -> VerifiedRequest:
        """Like :meth:`verify`; the lookup and token check may be async, and
        ``body`` may be an async iterable (``ok.body`` is then async too)."""
        received = (method, target, headers, body, now)
        ok = fast_verify(self, received)
        if ok is not None:
            return ok
        flow = verification(self, received, False)
        return await drive_async(self, flow)

    def _canonical_target(self, target: str) -> tuple[str, str]:
        """``(canonical URI, canonical query)`` of a received target, memoized:
        a pure function of the target and this verifier's settings."""
        hit = self._targets.get(target)
        if hit is not None:
            return hit
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        curi = _c.canonical_uri(
            path,
            double_encode=self.double_uri_encode,
            normalize=self.normalize_path,
            plus_is_space=self.plus_in_path_is_space,
        )
        return self._targets.put(target, (curi, _c.canonical_query(query) if query else ""))

    def _check_signature(
        self, auth: _Auth, key: _Key, cquery: str, payload_hash: str
    ) -> tuple[str, str, bool]:
        """Rebuild the canonical request with :mod:`sigv4kit.canonical` (the
        functions the Signer uses) and check the signature."""
        # No value validation here: a value a signer refuses (a control
        # character) simply cannot produce a matching signature.
        creq = _canonical_request(
            auth.method,
            auth.curi,
            cquery,
            auth.pairs,
            payload_hash,
            signed=auth.signed_headers_text,
            names=auth.signed_headers,
            index=auth.hmap,
        )
        text = creq[6]
        sts = _string_to_sign(auth.algorithm, auth.amz_date, auth.scope_text, text)
        if creq[4] != auth.signed_headers_text:
            # The client listed names unsorted, in upper case or twice: its
            # canonical request cannot be this one.
            return text, sts, False
        ok = signature_ok(
            auth.algorithm, auth.access_key_id, key, auth.scope, sts.encode(), auth.signature
        )
        return text, sts, ok

    def _mismatch(self, auth: _Auth, creq: str, sts: str) -> SignatureDoesNotMatch:
        if not self.include_debug:
            return SignatureDoesNotMatch(access_key_id=auth.access_key_id)
        token = auth.token
        if token is not None and not self.show_token:
            creq = creq.replace(token, _REDACTED)
            creq = creq.replace(quote(token.encode("utf-8", "surrogatepass"), safe=""), _REDACTED)
        # Debug text goes into XML and logs: no lone surrogates.
        creq = creq.encode("utf-8", "replace").decode("utf-8")
        return SignatureDoesNotMatch(
            canonical_request=creq,
            string_to_sign=sts,
            signature_provided=auth.signature,
            access_key_id=auth.access_key_id,
        )
