"""The signing proxy: a :class:`sigv4kit.forward.Service` that signs and forwards.

Per request: pick the upstream (``--upstream``, else the request's Host),
the credential scope (flags, else :func:`sigv4kit.endpoints.infer`), split
the headers by the rule in :mod:`._plan`, choose how the body is paid for
(:func:`._plan.plan_payload`), sign the request target verbatim
(:meth:`Signer.sign_target`: S3 keys and query bytes reach the upstream as
the client sent them and are canonicalized as S3 canonicalizes them), and
hand the engine an :class:`Outgoing`.  Upstream errors pass through
:meth:`SigningProxy.on_response`, which refreshes credentials and retries
once on ``ExpiredToken``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..credentials import Credentials
from ..errors import SigV4Error
from ..errors import UnknownUpstreamHost as UnknownHostError
from ..forward import Incoming, Outgoing, Reply, Service, UpstreamAnswer
from ..signer import Signer
from ._credentials import ProxyCredentials
from ._plan import CHUNKED, EMPTY, SPOOL, UNSIGNED, classify_error, partition_headers, plan_payload
from ._spool import BodyTooLarge, Spool, spool

__all__ = ["ProxyConfig", "SigningProxy", "UnknownHostError"]

_log = logging.getLogger("sigv4kit.proxy")


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
    default = ":443" if scheme == "https" else ":80"
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
        self._scopes: dict[str, tuple[str, str, str, list[str] | None]] = {}
        self._fixed = None
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
        scope = (region, service, algorithm, region_set)
        if len(self._scopes) > 4096:
            self._scopes.clear()
        self._scopes[host] = scope
        return scope

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
        plan = plan_payload(
            service=scope[1],
            upstream_tls=tls,
            content_length=req.content_length,
            has_body=req.has_body,
            forced=c.payload,
            presign=c.presign,
        )
        sp: Spool | None = None
        if plan == SPOOL:
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

        def build() -> Outgoing:
            return self._sign(req.method, origin, target, to_sign, unsigned, plan, sp, req, scope)

        try:
            out = build()
        except SigV4Error as exc:
            _count(req, "sigv4kit_signing_failures_total")
            return Reply.text(400, f"sigv4kit proxy: cannot sign this request: {exc}")
        if plan in (EMPTY, SPOOL):
            req.state["rebuild"] = build
        return out

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
        else:  # CHUNKED
            payload = "streaming"
            to_sign = [(n, v) for n, v in to_sign if n.lower() != "x-amz-content-sha256"]
            if not any(n.lower() == "x-amz-decoded-content-length" for n, _ in to_sign):
                to_sign.append(("X-Amz-Decoded-Content-Length", str(req.content_length)))
            body = req.body
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
        # The one place upstream answers are examined (issue 15 hooks in here).
        verdict = classify_error(answer.status, answer.body)
        if verdict != "expired-token":
            return None
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


def _count(req: Incoming, name: str) -> None:
    m: Any = req.state.get("metrics")
    if m is not None:
        m.inc(name)
