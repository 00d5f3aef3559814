"""What the three client adapters share: building the Signer, the payload
mode, redirect rules and clock-skew correction.  Nothing here imports an HTTP client.

A server that finds ``X-Amz-Date`` too far from its clock answers
``RequestTimeTooSkewed`` (or "Signature expired" / "not yet current"): the
adapters keep the difference to the server's time as an offset, re-sign once
and sign later requests with it from the start, as the AWS SDKs do.

A signature covers one method and one URL, and credentials must not follow a
redirect to someone else: hops to the first request's origin (or one
:class:`RedirectPolicy` allows) are signed again, others go out unsigned, and
a chain stays unsigned once a hop was (``docs/clients.md`` has the rules).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .._memo import Memo
from ..canonical import DEFAULT_PORTS
from ..config import check_payload
from ..credentials import Credentials
from ..errors import RedirectNotFollowed as RedirectNotFollowed
from ..errors import SigningError
from ..modes import STREAMING_MODES as STREAMING_MODES
from ..signer import SignedRequest, Signer

__all__ = [
    "ERROR_STATUSES",
    "REDIRECT_STATUSES",
    "STREAMING_MODES",
    "Adapter",
    "AdapterCore",
    "BodySource",
    "RedirectHosts",
    "RedirectNotFollowed",
    "RedirectPolicy",
    "Retry",
    "hop_headers",
    "host_of",
    "is_checksum_header",
    "is_skew_error",
    "origin",
    "redirect_method",
    "same_origin",
    "server_time",
    "without_checksums",
]


# Markers in an error body that say "your clock is off": S3's code, and the
# messages of the JSON/query services (botocore and the Go SDK match the same).
_SKEW_MARKERS = (
    b"RequestTimeTooSkewed",
    b"Signature expired",
    b"Signature not yet current",
    b"RequestExpired",
)
_SERVER_TIME = re.compile(rb"<ServerTime>([^<]{10,40})</ServerTime>")
# Headers the Signer owns; a request being signed again drops the old ones.
SIGNING_HEADERS = frozenset(
    {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Answers that may carry S3's RequestTimeTooSkewed (the clock-skew retry reads them).
ERROR_STATUSES = (400, 401, 403)

#: ``redirect_hosts``: host names, ``*.suffix`` patterns and origins, or a
#: callable ``(from_url, to_url) -> bool``.
RedirectHosts = Collection[str] | Callable[[str, str], bool] | None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # never equal to a real port
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def host_of(url: str) -> str:
    """The ``host[:port]`` of ``url``, without userinfo: what its Host header says."""
    return url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def hop_headers(
    headers: Iterable[tuple[str, str]],
    from_url: str,
    to_url: str,
    *,
    body_headers: Collection[str] | None,
    host: str | None = None,
) -> list[tuple[str, str]]:
    """The caller's headers as the HTTP library adapts them for a redirect hop.

    No cookies (the caller adds the jar's for the new URL), none of
    ``body_headers`` (a hop without a body, else None), no ``Authorization``
    to another origin, and ``Host`` set to ``host`` (None drops it).
    """
    cross = not same_origin(from_url, to_url)
    out: list[tuple[str, str]] = []
    for name, value in headers:
        low = name.lower()
        if low == "cookie" or (cross and low == "authorization"):
            continue
        if body_headers is not None and low in body_headers:
            continue
        if low == "host":
            if host is None:
                continue
            value = host
        out.append((name, value))
    return out


class RedirectPolicy:
    """Which redirect targets may receive a signed request.

    The first request's origin, and what ``redirect_hosts`` adds: a host (on
    any port) or ``*.domain`` (its subdomains), neither from https down to
    http; exactly one ``scheme://host[:port]``; or a callable
    ``(from_url, to_url) -> bool`` that decides alone.
    """

    def __init__(self, redirect_hosts: RedirectHosts = None) -> None:
        self._check = redirect_hosts if callable(redirect_hosts) else None
        self._hosts: set[str] = set()
        self._suffixes: list[str] = []
        self._origins: set[tuple[str, str, int | None]] = set()
        if redirect_hosts is None or callable(redirect_hosts):
            return
        if isinstance(redirect_hosts, (str, bytes)):
            raise SigningError(
                "redirect_hosts takes a list of hosts, not one string: "
                f"use redirect_hosts=[{redirect_hosts!r}]"
            )
        for entry in redirect_hosts:
            if not isinstance(entry, str) or not entry.strip():
                raise SigningError(f"redirect_hosts entries must be host names, got {entry!r}")
            text = entry.strip().lower()
            if "://" in text:
                parts = urlsplit(text)
                if parts.path not in ("", "/") or parts.query or not parts.hostname:
                    raise SigningError(
                        f"redirect_hosts entry {entry!r}: an origin is scheme://host[:port], "
                        "without a path"
                    )
                self._origins.add(origin(text))
            elif text.startswith("*."):
                self._suffixes.append(text[1:])
            else:
                if "/" in text or "*" in text:
                    raise SigningError(
                        f"redirect_hosts entry {entry!r}: use a host name, '*.domain' or "
                        "scheme://host[:port]"
                    )
                self._hosts.add(text.strip("[]"))

    def __repr__(self) -> str:
        if self._check is not None:
            return f"RedirectPolicy({self._check!r})"
        entries = sorted(self._hosts) + ["*" + s for s in self._suffixes]
        entries += [f"{s}://{h}:{p}" for s, h, p in sorted(self._origins, key=str)]
        return f"RedirectPolicy({entries!r})"

    def may_sign(self, first_url: str, from_url: str, to_url: str) -> bool:
        """Whether a hop from ``from_url`` to ``to_url`` may be signed."""
        target = origin(to_url)
        if target == origin(first_url):
            return True
        if self._check is not None:
            return bool(self._check(from_url, to_url))
        if target in self._origins:
            return True
        scheme, host, _ = target
        if origin(first_url)[0] == "https" and scheme != "https":
            return False
        return host in self._hosts or any(
            host.endswith(suffix) and len(host) > len(suffix) for suffix in self._suffixes
        )


def redirect_method(method: str, status: int) -> str:
    """The method of the next hop, as requests and httpx choose it."""
    if status in (302, 303) and method != "HEAD":
        return "GET"
    if status == 301 and method == "POST":
        return "GET"
    return method


class BodySource:
    """The caller's body, kept so a redirect or retry can send it again.

    In-memory bodies and lists are reused and a seekable file is rewound to
    where it was when first signed; anything else is one-shot.
    """

    __slots__ = ("body", "position", "replayable")

    def __init__(self, body: object) -> None:
        self.body = body
        self.position: int | None = None
        self.replayable = body is None or isinstance(
            body, (bytes, bytearray, memoryview, str, list, tuple)
        )
        if self.replayable:
            return
        try:
            if body.seekable():  # type: ignore[attr-defined]
                self.position = int(body.tell())  # type: ignore[attr-defined]
                self.replayable = True
        except (AttributeError, OSError, ValueError):
            self.position = None

    def rewind(self) -> object:
        """The body, ready to be read from its start again."""
        if self.position is not None:
            self.body.seek(self.position)  # type: ignore[attr-defined]
        return self.body


def is_skew_error(status: int, body: bytes) -> bool:
    """Whether an error response says the request's time is too far off."""
    if status not in ERROR_STATUSES:
        return False
    head = body[:8192]
    return any(marker in head for marker in _SKEW_MARKERS)


def server_time(date_header: str | None, body: bytes = b"") -> float | None:
    """The server's clock as POSIX seconds: S3's ``<ServerTime>``, else ``Date``.

    ``<ServerTime>`` is the clock that judged the request; a ``Date`` header
    may have been set by a proxy or CDN in front of it, so it comes second.
    """
    m = _SERVER_TIME.search(body[:8192])
    if m:
        text = m.group(1).decode("ascii", "replace").strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.timestamp()
    if date_header:
        try:
            return parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return None


def _build_signer(
    signer_or_credentials: Signer | Credentials | Callable[[], Credentials] | None,
    region: str | None,
    service: str | None,
    options: dict[str, Any],
) -> tuple[Signer | None, object]:
    if isinstance(signer_or_credentials, Signer):
        if region is not None or service is not None or options:
            raise SigningError(
                "pass either a Signer, or credentials with region=, service= and signer "
                "options -- not both (the Signer already fixes region and service)"
            )
        signer = signer_or_credentials
        # The Signer keeps what it was given; async adapters resolve a provider
        # with aget() instead of calling it on the event loop.
        return signer, signer.credentials_source
    source: object = signer_or_credentials
    if source is None:
        from ..providers import default_provider

        source = default_provider()
    if not service:
        return None, source  # region and service come from each request's host
    if region is None:
        from ..providers import resolve_region

        region = resolve_region()
        if region is None and options.get("algorithm", "sigv4") == "sigv4":
            raise SigningError(
                "no region: pass region='us-east-1' (or the like), or set AWS_REGION "
                "or a region in the AWS config file"
            )
    signer = Signer(source, region or "", service, **options)  # type: ignore[arg-type]
    return signer, source


def is_checksum_header(name: str) -> bool:
    """An ``x-amz-checksum-<algorithm>`` value header (not ``-algorithm``)."""
    n = name.lower()
    return n.startswith("x-amz-checksum-") and n != "x-amz-checksum-algorithm"


def without_checksums(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` without the checksum value headers (a server refused them)."""
    return [(n, v) for n, v in headers if not is_checksum_header(n)]


def _has_checksum(mode: str, headers: Iterable[tuple[str, str]]) -> bool:
    trailer = mode in ("streaming-trailer", "streaming-unsigned-trailer")
    return trailer or any(is_checksum_header(n) for n, _ in headers)


class Retry(NamedTuple):
    """How to sign a request again: after a clock-skew error (``skew``), or in another mode."""

    skew: bool
    mode: str
    headers: list[tuple[str, str]]


def _memory_key(endpoint: str, mode: str, checksum: bool) -> str:
    return f"{endpoint} {mode}{'+checksum' if checksum else ''}"


class AdapterCore:
    """A Signer plus the adapter's payload mode, redirect policy and learnt clock offset.

    Args:
        signer_or_credentials: a :class:`~sigv4kit.Signer`; or ``Credentials``,
            a provider, or ``None`` for the default chain.  With ``service``,
            a missing ``region`` is resolved as the AWS CLI does.  Without it,
            each request is signed for the scope its host implies
            (:func:`sigv4kit.endpoints.infer`; SigV4a for Multi-Region Access
            Points), ``region`` overriding the region; a host that says
            nothing is refused with a :class:`SigningError`.
        payload: the mode for requests sent through it (default: the Signer's;
            ``docs/clients.md`` tells what each mode does to which body).
        correct_clock_skew: learn the server's clock from skew errors.
        redirect_hosts: other origins redirects may be signed for
            (:class:`RedirectPolicy`); by default only the first request's.
        fallback: for S3, retry once a request whose payload mode or checksum
            header the server refuses, in the next mode the endpoint's profile
            allows, and keep using it there (:mod:`sigv4kit.probe.fallback`).
        options: any other :class:`~sigv4kit.Signer` keyword argument.
    """

    def __init__(
        self,
        signer_or_credentials: Signer | Credentials | Callable[[], Credentials] | None = None,
        region: str | None = None,
        service: str | None = None,
        *,
        payload: str | None = None,
        correct_clock_skew: bool = True,
        redirect_hosts: RedirectHosts = None,
        fallback: bool = True,
        **options: Any,
    ) -> None:
        self.fallback = fallback
        self._modes: Any = None  # sigv4kit.probe.ModeMemory, made on the first refusal
        self._profiles: dict[str, Any] = {}
        self._signer, self._source = _build_signer(signer_or_credentials, region, service, options)
        self._region, self._options = region, options
        self._auto = self._signer is None
        self._by_host: Memo[str, Signer] = Memo(256)
        self.redirects = RedirectPolicy(redirect_hosts)
        if payload is None:
            mode = self._signer.config.payload if self._signer else options.get("payload", "signed")
        else:
            mode = check_payload(payload)
        self.payload: str = mode
        self.correct_clock_skew = correct_clock_skew
        #: Seconds to add to the local clock (server time - local time).
        self.clock_offset: float = 0.0

    @property
    def signer(self) -> Signer:
        """The Signer; without a service given, the one of the latest host signed for."""
        if self._signer is None:
            raise SigningError(
                "no request signed yet: region and service come from each request's host "
                "(sigv4kit.endpoints.infer); pass service= (and region=) to fix them"
            )
        return self._signer

    def signer_for(self, url: str) -> Signer:
        """The Signer for ``url``: the fixed one, or one for the scope its host implies."""
        if not self._auto:
            assert self._signer is not None
            return self._signer
        host = host_of(url)
        signer = self._by_host.get(host)
        if signer is None:
            from ..endpoints import infer

            found = infer(host)
            if found is None:
                raise SigningError(
                    f"cannot tell the region and service from the host {host!r}; "
                    "pass region= and service= (e.g. region='us-east-1', service='s3')"
                )
            options = dict(self._options)
            if found.algorithm == "sigv4a" and "algorithm" not in options:
                options.update(algorithm="sigv4a", region_set=found.region_set)
            region = self._region or found.region
            signer = self._by_host.put(
                host,
                Signer(self._source, region, found.service, **options),  # type: ignore[arg-type]
            )
        self._signer = signer
        return signer

    # -- payload-mode fallback (sigv4kit.probe.fallback) --------------------
    def plan_for(
        self, url: str, headers: list[tuple[str, str]]
    ) -> tuple[str, list[tuple[str, str]]]:
        """``(mode, headers)`` for a request to ``url``: what worked there before.

        After a refusal at this endpoint (:meth:`retry`), requests that would
        be refused the same way go straight to the mode that worked, without
        a checksum header if that was what the server refused.
        """
        if self._modes is None:
            return self.payload, headers
        from ..probe.profiles import endpoint_key

        checksum = _has_checksum(self.payload, headers)
        step = self._modes.get(_memory_key(endpoint_key(url), self.payload, checksum))
        if step is None:
            return self.payload, headers
        keep = bool(step.checksum) or not checksum
        return str(step.payload), headers if keep else without_checksums(headers)

    def retry(
        self,
        url: str,
        mode: str,
        response: tuple[int, str | None, bytes],
        headers: list[tuple[str, str]],
        *,
        skew: bool = True,
        refusal: bool = True,
    ) -> Retry | None:
        """What to sign a request again with, when its answer says what to change.

        ``response`` is ``(status, Date header, body)``.  A clock-skew error
        (``skew``) re-signs with the server's clock.  A refused payload mode
        (``refusal``, for a request with a body; S3 only, and a recognisable
        refusal: 501, NotImplemented, "aws-chunked not supported", an
        unsupported checksum header) re-signs in the next mode the endpoint's
        profile allows, logged (logger ``sigv4kit.client``) and remembered for
        the endpoint.  The caller checks that the body can be sent again.
        """
        status, date_header, body = response
        if skew and self.correct_clock_skew and is_skew_error(status, body):
            server = server_time(date_header, body)
            if server is not None:
                self.clock_offset = server - time.time()
                return Retry(True, mode, headers)
        if not refusal or not self.fallback or status < 400:
            return None
        if self.signer_for(url).config.service != "s3":
            return None
        from ..diagnose import parse_error_body
        from ..probe.fallback import ModeMemory, next_mode
        from ..probe.profiles import endpoint_key, endpoint_profile

        key = endpoint_key(url)
        profile = self._profiles.get(key)
        if profile is None:
            profile = self._profiles[key] = endpoint_profile(url)
        err = parse_error_body(body[: 1 << 16])
        checksum = _has_checksum(mode, headers)
        step = next_mode(
            profile,
            mode,
            status,
            err.code,
            err.message,
            checksum=checksum,
            secure=url.startswith("https://"),
        )
        if step is None:
            return None
        import logging

        logging.getLogger("sigv4kit.client").warning(
            "%s refused %s (%s); retrying once with %s%s",
            key,
            mode,
            step.reason,
            step.payload,
            "" if step.checksum or not checksum else " without the checksum",
        )
        if self._modes is None:
            self._modes = ModeMemory()
        self._modes.remember(_memory_key(key, mode, checksum), step)
        kept = headers if step.checksum else without_checksums(headers)
        return Retry(False, str(step.payload), kept)

    def sign(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: object,
        *,
        credentials: Credentials | None = None,
        payload: str | None = None,
    ) -> SignedRequest:
        """Sign with the adapter's mode and clock; ``credentials`` skips the provider."""
        signer = self.signer_for(url)
        if credentials is not None:
            signer = Signer(credentials, config=signer.config)
        mode = self.payload if payload is None else payload
        drop = SIGNING_HEADERS
        if mode in STREAMING_MODES:
            # The aws-chunked length is known in advance (S3 needs the decoded
            # length anyway), so send a Content-Length rather than HTTP
            # chunking a client chose for a generator of unknown length.
            drop = drop | {"transfer-encoding"}
        return signer.sign(
            method,
            url,
            headers=[(n, v) for n, v in headers if n.lower() not in drop],
            body=body,
            timestamp=None if self.clock_offset == 0.0 else time.time() + self.clock_offset,
            payload=mode,
        )

    async def acredentials(self) -> Credentials:
        """Current credentials without blocking the event loop."""
        from ..providers import aresolve_credentials

        source = self._source
        if isinstance(source, Credentials) or callable(source):
            return await aresolve_credentials(source)
        import asyncio

        return await asyncio.to_thread(self.signer.credentials)


class Adapter:
    """What the adapter classes share: an :class:`AdapterCore` (built from the
    arguments it takes) and its Signer; each adapter adds its library's options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.core = AdapterCore(*args, **kwargs)

    @property
    def signer(self) -> Signer:
        return self.core.signer

    def __repr__(self) -> str:
        # Not .signer: with the scope taken from each host, there is none before a request.
        return f"{type(self).__name__}({self.core._signer!r}, payload={self.core.payload!r})"
