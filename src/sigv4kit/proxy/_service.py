"""The signing proxy: a :class:`sigv4kit.forward.Service` that signs and forwards.

Per request: pick the upstream (``--upstream``, else the request's Host),
the credential scope (flags, else :func:`sigv4kit.endpoints.infer`), split
the headers by the rule in :mod:`._plan`, choose how the body is paid for
(:func:`._plan.plan_payload`), sign the request target verbatim
(:meth:`Signer.sign_target`: S3 keys and query bytes reach the upstream as
the client sent them and are canonicalized as S3 canonicalizes them), and
hand the engine an :class:`Outgoing`.  Upstream errors pass through
:meth:`SigningProxy.on_response`, which refreshes credentials and retries
once on ``ExpiredToken``, and falls back to the next payload mode the
endpoint's profile allows when an S3-compatible store refuses aws-chunked,
UNSIGNED-PAYLOAD or a checksum header (issue 15,
:func:`sigv4kit.probe.fallback.next_mode`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

from .._memo import Memo
from ..canonical import DEFAULT_PORTS
from ..credentials import Credentials
from ..errors import SigV4Error
from ..errors import UnknownUpstreamHost as UnknownHostError
from ..forward import Incoming, Outgoing, Reply, Service, UpstreamAnswer, describe
from ..signer import Signer
from ._credentials import ProxyCredentials
from ._plan import (
    CHUNKED,
    EMPTY,
    S3_SERVICES,
    SPOOL,
    UNSIGNED,
    classify_error,
    partition_headers,
    plan_payload,
)
from ._spool import BodyTooLarge, Spool, spool

__all__ = ["ProxyConfig", "SigningProxy", "UnknownHostError"]

_log = logging.getLogger("sigv4kit.proxy")

describe(
    "sigv4kit_proxy_fallbacks_total",
    "counter",
    "Uploads an upstream refused in one payload mode, by the mode refused and the mode chosen.",
)

# The proxy's payload plans as the probe's mode names, and back.  The proxy
# sends no trailers, so a trailer mode chosen by a profile is not followed.
_MODE_OF_PLAN = {CHUNKED: "streaming", UNSIGNED: "unsigned", SPOOL: "signed", EMPTY: "signed"}
_PLAN_OF_MODE = {"streaming": CHUNKED, "unsigned": UNSIGNED, "signed": SPOOL}


def _is_checksum_header(name: str) -> bool:
    n = name.lower()
    return n.startswith("x-amz-checksum-") or n == "x-amz-sdk-checksum-algorithm"


@dataclass
class _Fallback:
    """What :meth:`SigningProxy.on_response` needs to fall back for one request."""

    key: str  # ModeMemory key: origin, mode, whether a checksum was sent
    origin: str
    mode: str
    checksum: bool
    tls: bool
    has_body: bool
    replayable: bool
    build: Callable[[str, bool], Outgoing]


@dataclass
class ProxyConfig:
    """What ``sigv4kit proxy`` was asked to do (see its --help)."""

    upstream: str | None = None
    region: str | None = None
    service: str | None = None
    sigv4a: bool = False
    region_set: list[str] | None = None
    payload: str = "auto"  # auto | unsigned | aws-chunked | spool
    presign: bool = False
    presign_expires: int = 900
    strip: list[str] = field(default_factory=list)
    add_headers: list[tuple[str, str]] = field(default_factory=list)
    max_body: int = 1 << 30
    spool_memory: int = 1 << 20
    spool_dir: str | None = None
    upstream_scheme: str = "https"  # without --upstream
    fallback: bool = True  # --no-fallback turns the issue-15 mode fallback off


def _split_upstream(url: str) -> tuple[str, str, bool]:
    """``(origin, host header, tls)`` from ``scheme://host[:port]``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ValueError(f"--upstream {url!r} must look like https://host[:port]")
    netloc = rest.split("/", 1)[0]
    if not netloc or "@" in netloc:
        raise ValueError(f"--upstream {url!r} must look like https://host[:port]")
    scheme = scheme.lower()
    host = netloc.lower()
    default = f":{DEFAULT_PORTS[scheme]}"
    if host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{netloc}", host, scheme == "https"


def infer_scope(host: str) -> tuple[str, str, str, list[str] | None] | None:
    """``(region, service, algorithm, region_set)`` for a hostname, or None."""
    from ..endpoints import infer

    e = infer(host)
    if e is None:
        return None
    return e.region, e.service, e.algorithm, list(e.region_set) if e.region_set else None


class SigningProxy(Service):
    """Signs every request with the credential chain and forwards it."""

    def __init__(self, config: ProxyConfig, credentials: ProxyCredentials) -> None:
        self.config = config
        self.credentials = credentials
        self._creds: Credentials | None = None
        self._signers: dict[tuple[str, str, str, tuple[str, ...]], Signer] = {}
        # Keyed on the request's Host (no --upstream): bounded.
        self._scopes: Memo[str, tuple[str, str, str, list[str] | None]] = Memo(4096)
        self._fixed = None
        self._modes: Any = None  # sigv4kit.probe.ModeMemory, made on the first refusal
        self._profiles: Memo[str, Any] = Memo(4096)
        if config.upstream:
            self._fixed = _split_upstream(config.upstream)
            # Fail at start, not on the first request, when the scope is unknown.
            self._scope(self._fixed[1])

    # -- lifecycle --------------------------------------------------------------
    async def startup(self) -> None:
        await self.credentials.start()

    async def shutdown(self) -> None:
        await self.credentials.stop()

    def ready(self) -> bool:
        return self.credentials.ready

    # -- helpers ----------------------------------------------------------------
    def _scope(self, host: str) -> tuple[str, str, str, list[str] | None]:
        got = self._scopes.get(host)
        if got is not None:
            return got
        c = self.config
        region, service = c.region, c.service
        algorithm = "sigv4a" if c.sigv4a else "sigv4"
        region_set = c.region_set
        if not (region and service):
            inferred = infer_scope(host)
            if inferred is None:
                missing = " and ".join(
                    f for f, v in (("--region", region), ("--service", service)) if not v
                )
                raise UnknownHostError(
                    f"cannot tell the region and service of {host!r} from its name; pass {missing}"
                )
            region = region or inferred[0]
            service = service or inferred[1]
            if not c.sigv4a and inferred[2] == "sigv4a":
                algorithm, region_set = "sigv4a", region_set or inferred[3] or ["*"]
        return self._scopes.put(host, (region, service, algorithm, region_set))

    def _signer(self, scope: tuple[str, str, str, list[str] | None]) -> Signer:
        region, service, algorithm, region_set = scope
        key = (region, service, algorithm, tuple(region_set or ()))
        s = self._signers.get(key)
        if s is None and service == "s3express" and algorithm == "sigv4":
            from ..s3express import S3ExpressSigner

            s = S3ExpressSigner(self._current, region)
            self._signers[key] = s
        if s is None:
            s = Signer(
                self._current,
                region,
                service,
                algorithm=algorithm,
                region_set=region_set or None,
            )
            self._signers[key] = s
        return s

    def _current(self) -> Credentials:
        assert self._creds is not None
        return self._creds

    def _where(self, req: Incoming) -> tuple[str, str, bool, str]:
        """``(origin, host, tls, target)`` for this request."""
        target = req.target
        if target.startswith(("http://", "https://")):
            # absolute-form, from clients that use us as an HTTP proxy
            scheme, _, rest = target.partition("://")
            netloc, slash, path = rest.partition("/")
            target = "/" + path if slash else "/"
            if self._fixed is None:
                origin, host, tls = _split_upstream(f"{scheme}://{netloc}")
                return origin, host, tls, target
        if self._fixed is not None:
            origin, host, tls = self._fixed
            return origin, host, tls, target
        host = req.host.strip()
        if not host:
            raise ValueError("the request has no Host header and the proxy has no --upstream")
        origin, host, tls = _split_upstream(f"{self.config.upstream_scheme}://{host}")
        return origin, host, tls, target

    # -- the request ------------------------------------------------------------
    async def handle(self, req: Incoming) -> Outgoing | Reply:
        c = self.config
        try:
            origin, host, tls, target = self._where(req)
            scope = self._scope(host)
        except (UnknownHostError, ValueError) as exc:
            return Reply.text(400, f"sigv4kit proxy: {exc}")
        if c.max_body and req.content_length is not None and req.content_length > c.max_body:
            return Reply.text(413, f"sigv4kit proxy: {BodyTooLarge(c.max_body)}")
        try:
            self._creds = await self.credentials.get()
        except Exception as exc:
            _count(req, "sigv4kit_signing_failures_total")
            return Reply.text(
                500, f"sigv4kit proxy: no credentials to sign with ({type(exc).__name__}: {exc})"
            )

        to_sign, unsigned = partition_headers(req.headers, c.strip)
        to_sign.insert(0, ("Host", host))
        to_sign.extend(c.add_headers)
        plan, fallback, checksum, drop_checksum, key = self._plan(req, origin, tls, scope, to_sign)
        sp: Spool | None = None
        buffer = (
            fallback
            and plan in (CHUNKED, UNSIGNED)
            and req.content_length is not None
            and req.content_length <= c.spool_memory
        )
        if plan == SPOOL or buffer:
            # A small streamed body is held in memory so that a refused
            # mode can be retried (issue 15); a large one streams as before.
            try:
                sp = await spool(
                    req.body,
                    max_body=c.max_body,
                    memory_limit=c.spool_memory,
                    directory=c.spool_dir,
                )
            except BodyTooLarge as exc:
                return Reply.text(413, f"sigv4kit proxy: {exc}")
            req.defer(sp.close)
            to_sign = [(n, v) for n, v in to_sign if n.lower() != "content-length"]
            to_sign.append(("Content-Length", str(sp.size)))
        req.log["plan"] = plan
        req.log["service"] = scope[1]
        if scope[1] == "s3express":
            failed = await self._express_session(origin, host, target, scope)
            if failed is not None:
                _count(req, "sigv4kit_signing_failures_total")
                return failed

        def build_as(how: str, no_checksum: bool) -> Outgoing:
            headers = to_sign
            if no_checksum:
                headers = [(n, v) for n, v in to_sign if not _is_checksum_header(n)]
            return self._sign(req.method, origin, target, headers, unsigned, how, sp, req, scope)

        def build() -> Outgoing:
            return build_as(plan, drop_checksum)

        try:
            out = build()
        except SigV4Error as exc:
            _count(req, "sigv4kit_signing_failures_total")
            return Reply.text(400, f"sigv4kit proxy: cannot sign this request: {exc}")
        replayable = plan == EMPTY or sp is not None
        if replayable:
            req.state["rebuild"] = build
        if fallback:
            req.state["fallback"] = _Fallback(
                key=key,
                origin=origin,
                mode=_MODE_OF_PLAN[plan],
                checksum=checksum and not drop_checksum,
                tls=tls,
                has_body=plan != EMPTY,
                replayable=replayable,
                build=build_as,
            )
        return out

    def _plan(
        self,
        req: Incoming,
        origin: str,
        tls: bool,
        scope: tuple[str, str, str, list[str] | None],
        to_sign: list[tuple[str, str]],
    ) -> tuple[str, bool, bool, bool, str]:
        """How the body is signed, and what a fallback needs to know.

        Returns ``(plan, fallback, checksum, drop_checksum, key)``: the plan
        (the one this endpoint accepted before, when it refused the first
        choice once: issue 15), whether fallbacks apply (S3 services), whether a
        checksum header is sent and must be dropped, and the key under which
        the endpoint's accepted mode is remembered.
        """
        c = self.config

        def choose(forced: str) -> str:
            return plan_payload(
                service=scope[1],
                upstream_tls=tls,
                content_length=req.content_length,
                has_body=req.has_body,
                forced=forced,
                presign=c.presign,
            )

        plan = choose(c.payload)
        fallback = c.fallback and scope[1] in S3_SERVICES
        checksum = any(_is_checksum_header(n) for n, _ in to_sign)
        drop_checksum = False
        key = ""
        if fallback:
            key = f"{origin} {_MODE_OF_PLAN[plan]} {int(checksum)}"
            step = self._modes.get(key) if self._modes is not None else None
            if step is not None:  # this endpoint refused this mode before
                plan = choose(_PLAN_OF_MODE.get(step.payload, plan))
                drop_checksum = checksum and not step.checksum
                req.log["remembered_mode"] = step.payload
        return plan, fallback, checksum, drop_checksum, key

    async def _express_session(
        self, origin: str, host: str, target: str, scope: tuple[str, str, str, list[str] | None]
    ) -> Reply | None:
        """Make sure a directory bucket's session is cached (CreateSession, off the loop)."""
        import asyncio

        from ..s3express import S3ExpressSigner, bucket_of

        signer = self._signer(scope)
        found = bucket_of(host, target.partition("?")[0])
        if found is None or not isinstance(signer, S3ExpressSigner):
            return None
        where = f"{origin.partition('://')[0]}://{host}"
        if signer.cached_session(where, found[0]) is not None:
            return None
        try:
            await asyncio.to_thread(signer.session, where, found[0], found[1])
        except Exception as exc:
            return Reply.text(502, f"sigv4kit proxy: S3 Express CreateSession failed: {exc}")
        return None

    def _sign(
        self,
        method: str,
        origin: str,
        target: str,
        to_sign: list[tuple[str, str]],
        unsigned: list[tuple[str, str]],
        plan: str,
        sp: Spool | None,
        req: Incoming,
        scope: tuple[str, str, str, list[str] | None],
    ) -> Outgoing:
        c = self.config
        signer = self._signer(scope)
        scheme = origin.partition("://")[0]
        body: bytes | AsyncIterable[bytes] | None
        reopen: Callable[[], AsyncIterable[bytes]] | None = None
        if plan == EMPTY:
            payload: str = "signed"
            body = None
        elif plan == SPOOL:
            assert sp is not None
            payload = sp.sha256
            body = sp.data if sp.data is not None else sp.chunks()
            reopen = sp.chunks
        elif plan == UNSIGNED:
            payload = "unsigned"
            body = req.body
            if sp is not None:  # held for a fallback: replayable
                body = sp.data if sp.data is not None else sp.chunks()
                reopen = sp.chunks
        else:  # CHUNKED
            payload = "streaming"
            to_sign = [(n, v) for n, v in to_sign if n.lower() != "x-amz-content-sha256"]
            if not any(n.lower() == "x-amz-decoded-content-length" for n, _ in to_sign):
                to_sign.append(("X-Amz-Decoded-Content-Length", str(req.content_length)))
            body = req.body if sp is None else sp.chunks()
        if c.presign:
            signed = signer.presign_target(
                method,
                target,
                to_sign,
                c.presign_expires,
                payload=payload if plan != CHUNKED else "unsigned",
                scheme=scheme,
            )
            # signed.url is scheme://<Host header><path>?<query + auth params>
            host = next(v for n, v in to_sign if n.lower() == "host").strip()
            out_target = signed.url[len(scheme) + 3 + len(host) :] or "/"
            headers = list(signed.headers)
        else:
            signed = signer.sign_target(
                method,
                target,
                to_sign,
                body if plan == CHUNKED else None,
                payload=payload,
                scheme=scheme,
            )
            headers = list(signed.headers)
            out_target = target
            if plan == CHUNKED:
                body = signed.body
        headers.extend(unsigned)
        return Outgoing(method, origin, out_target, headers, body=body, reopen=reopen)

    async def on_response(
        self, request: Incoming, sent: Outgoing, answer: UpstreamAnswer
    ) -> Outgoing | None:
        # The one place upstream answers are examined.
        verdict = classify_error(answer.status, answer.body)
        if verdict != "expired-token":
            fb = request.state.get("fallback")
            if fb is None or answer.status < 400:
                return None
            return self._fall_back(request, fb, answer)
        rebuild = request.state.get("rebuild")
        if rebuild is None:
            return None  # the body was streamed: it cannot be sent again
        try:
            self._creds = await self.credentials.force_refresh()
        except Exception as exc:
            _log.warning("refresh after ExpiredToken failed: %s", type(exc).__name__)
            return None
        request.log["retry"] = "expired-token"
        out: Outgoing = rebuild()
        return out

    def _fall_back(
        self, request: Incoming, fb: _Fallback, answer: UpstreamAnswer
    ) -> Outgoing | None:
        """Retry once in the next mode the profile allows after a mode refusal (issue 15).

        The choice is remembered for the endpoint (and the refused mode), so
        the next request goes straight to it -- which is all a streamed body,
        that cannot be sent twice, gets: its refusal passes through.
        """
        from ..diagnose import parse_error_body
        from ..probe.fallback import ModeMemory, next_mode

        err = parse_error_body(answer.body[:65536])
        step = next_mode(
            self._profile(fb.origin),
            fb.mode,
            answer.status,
            err.code,
            err.message,
            checksum=fb.checksum,
            secure=fb.tls,
        )
        if step is None or step.payload not in _PLAN_OF_MODE:
            return None
        plan = _PLAN_OF_MODE[step.payload] if fb.has_body else EMPTY
        no_checksum = fb.checksum and not step.checksum
        if self._modes is None:
            self._modes = ModeMemory()
        self._modes.remember(fb.key, step)
        new = step.payload + (" without the checksum" if no_checksum else "")
        request.log["fallback"] = f"{fb.mode} -> {new}"
        m: Any = request.state.get("metrics")
        if m is not None:
            m.inc("sigv4kit_proxy_fallbacks_total", refused=fb.mode, chosen=step.payload)
        if not fb.replayable:
            _log.warning(
                "%s refused %s (%s); the body was streamed and cannot be sent again: "
                "the refusal is passed on, later requests use %s",
                fb.origin, fb.mode, step.reason, new,
            )  # fmt: skip
            return None
        _log.warning(
            "%s refused %s (%s); retrying once with %s", fb.origin, fb.mode, step.reason, new
        )
        try:
            return fb.build(plan, no_checksum)
        except SigV4Error:
            return None

    def _profile(self, origin: str) -> Any:
        """The endpoint's profile: saved (probe --save), else its provider's, else generic."""
        got = self._profiles.get(origin)
        if got is None:
            got = self._profiles.put(origin, _profile_for(origin))
        return got


def _profile_for(origin: str) -> Any:
    from ..probe.profiles import profile_for

    try:
        return profile_for(origin)
    except (OSError, ValueError):  # an unreadable profile file: the generic one
        return profile_for(origin, saved={})


def _count(req: Incoming, name: str) -> None:
    m: Any = req.state.get("metrics")
    if m is not None:
        m.inc(name)
