"""The verifying gateway as a :class:`sigv4kit.forward.Service`.

Per request, in this order (cheap and local first, network last):

1. verify the signature with :meth:`Verifier.averify`; the credential lookup
   asks the key store (through its per-node cache).  A store that cannot
   answer for an uncached key gives 503, never 403;
2. the key's policy (methods, path prefixes) -> 403 ``AccessDenied``;
3. the shared rate limit (Redis token bucket) -> 503 ``SlowDown``;
4. the replay cache (Redis): the access key and *string to sign* seen before
   -> 403 ``AccessDenied``.  Last, so refused requests never burn an entry;
5. forward: the rewritten headers and target (:mod:`.rewrite`), the body
   as the verifier releases it (decoded aws-chunked, each chunk only after
   its signature verified; the last piece of a hashed body only after the
   hash matched), optionally signed again for the upstream (:mod:`.plan`).

A body that fails its check at its end (hash mismatch, a bad chunk
signature, a client that went away) raises inside the forwarded stream: the
engine aborts the upstream request, so the upstream sees an aborted request
and never a complete-looking truncated one.

Nothing in the access log or the metrics is a secret: the log line holds
the request id, the access key id (public), the verdict (an S3 error code
or ``OK``) and sizes.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from ..errors import RequestTimeout, SignatureError
from ..forward import Incoming, Outgoing, Reply, Service, describe
from ..forward._metrics import Metrics
from ..server._common import error_document, new_request_id, resource_of
from ..verify.fast import fast_verify
from .plan import PlanError
from .policy import (
    policy_path,
    policy_verdict,
    rate_verdict,
    replay_verdict,
    store_unavailable,
    upstream_failure,
)
from .resign import Resigner, as_async_body
from .rewrite import (
    forward_headers,
    header_picker,
    identity_headers,
    is_aws_chunked,
    path_style,
    plain_headers,
    strip_presign_query,
)
from .rewrite import pickers as _pickers

if TYPE_CHECKING:
    from ..verifier import VerifiedRequest, Verifier

__all__ = ["GatewayOptions", "GatewayService", "KeyLookup", "RateLimiter", "ReplayCache"]

log = logging.getLogger("sigv4kit.gateway")

_VERDICTS = "sigv4kit_gateway_verdicts_total"
describe(_VERDICTS, "counter", "Gateway verdicts by S3 error code (OK = verified and forwarded).")
_OK_VERDICT = Metrics.key(_VERDICTS, code="OK")
#: A key record without a ``policy`` attribute: its ``allows`` decides.
_UNKNOWN = object()


class KeyRecordLike(Protocol):
    """What the gateway reads of a key store record (:class:`sigv4kit.keystore.KeyRecord`)."""

    @property
    def name(self) -> str: ...
    @property
    def secret_access_key(self) -> str: ...
    def usable(self) -> bool: ...
    def allows(self, method: str, path: str) -> bool: ...
    def public_key(self) -> Any: ...


class KeyLookup(Protocol):
    """A per-node key cache (:class:`sigv4kit.keystore.KeyCache`)."""

    async def get(self, access_key_id: str) -> Any:
        """The record or None; raises StoreUnavailable for an uncached key in an outage."""


class ReplayCache(Protocol):
    async def seen(self, access_key_id: str, string_to_sign: str, ttl: float) -> bool | None:
        """True if seen before (and remembers it now); None if unreachable."""


class RateLimiter(Protocol):
    async def allow(self, access_key_id: str) -> bool | None:
        """True if a token was taken; None if unreachable."""


@dataclass
class GatewayOptions:
    """Settings of one gateway (the CLI's flags).

    Attributes:
        upstream: ``scheme://host[:port]`` the verified requests go to.
        region, service: what client signatures must be scoped to.
        resign: sign forwarded requests again with ``upstream_credentials``.
        keys_url: the key store (``sqlite:///...``, ``postgresql://...``),
            opened in each worker at start-up unless a cache is given.
        key_cache_ttl: seconds a cached key is trusted without a change
            notification (also how long cached keys outlive a store outage).
        replay_url: ``redis://host:port/db`` for the replay cache and the
            shared rate limit.
        rate_limit, rate_burst: requests per second per access key (a
            token bucket shared by every node through Redis) and its size.
        client_timeout: seconds a client may leave its body idle before the
            gateway answers ``RequestTimeout`` (slow-client protection).
        upstream_region, upstream_service: the upstream signature's scope
            (default: ``region`` and ``service``).
        upstream_credentials: a credential provider (see
            :mod:`sigv4kit.providers`) or :class:`Credentials`.
        upstream_payload: ``auto``, ``unsigned`` or ``streaming`` (see
            :mod:`.plan`).
        fail_open: accept requests when Redis (replay cache, rate limit)
            is unreachable; by default they get 503.
        include_debug: put the canonical request and string to sign in
            ``SignatureDoesNotMatch`` answers, as S3 does.
        max_skew: the allowed clock skew in seconds (None: the service's).
        domains: the gateway's own host names (``--domain``): a request
            signed for ``bucket.<domain>`` (virtual-hosted) goes upstream
            path-style, ``/bucket/key``, and its policy path is that one.
    """

    upstream: str
    region: str
    service: str = "s3"
    resign: bool = False
    upstream_region: str | None = None
    upstream_service: str | None = None
    upstream_credentials: Any = None
    upstream_payload: str = "auto"
    fail_open: bool = False
    include_debug: bool = True
    max_skew: float | None = None
    keys_url: str | None = None
    key_cache_ttl: float = 60.0
    replay_url: str | None = None
    rate_limit: float | None = None
    rate_burst: float | None = None
    client_timeout: float = 60.0
    domains: tuple[str, ...] = ()


# The current request's key, set by the lookup the Verifier calls (each
# aiohttp request runs in its own task, so each has its own context).
_current: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("sigv4kit_gw")


def _algorithm_hint(request: Incoming) -> str:
    # Which stored key the lookup hands the verifier: the SigV4a public key
    # (stored at creation, never derived per request) or the secret.
    target = request.target
    if "AWS4-ECDSA" in target:
        return "sigv4a"
    for name, value in request.headers:
        if value.startswith("AWS4-ECDSA") and name.lower() == "authorization":
            return "sigv4a"
    return "sigv4"


class GatewayService(Service):
    """Verify, decide, forward.  One instance per worker process."""

    def __init__(
        self,
        options: GatewayOptions,
        keys: KeyLookup | None = None,
        *,
        replay: ReplayCache | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        from ..verifier import Verifier

        self.options = options
        self._keys: Any = keys
        self._peek: Callable[[str], Any] | None = getattr(keys, "peek", None)
        # A KeyCache's entries and clock, read inline by _cached_secret.
        self._entries: dict[str, tuple[Any, float]] | None = None
        self._now: Callable[[], float] = time.monotonic
        self._usable_record: Any = None  # the last record seen usable for good
        self._view(keys)
        # The record whose secret the fast road's lookup used; a miss of the
        # cache seen by the general road's synchronous try (see _verify).
        self._hit: Any = None
        self._missed = False
        self._per_key: tuple[Any, tuple[tuple[str, str], ...], bool] = (None, (), True)
        self._replay = replay
        self._limiter = limiter
        self._clock = clock
        self._store: Any = None
        self._owned: list[Any] = []
        self._store_ok = keys is not None
        self._pinger: asyncio.Task[None] | None = None
        parts = urlsplit(options.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream must be http(s)://host[:port], got {options.upstream!r}")
        self._domains = tuple(d.strip(".").lower() for d in options.domains if d.strip("."))
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._scheme = parts.scheme
        self._host = parts.netloc
        self._host_header = ("Host", parts.netloc)
        settings: dict[str, Any] = {
            "include_debug": options.include_debug,
            "max_skew": options.max_skew,
        }
        self.verifier: Verifier = Verifier(
            self._credential, options.region, options.service, **settings
        )
        # The same verifier over this node's key cache as a mapping: requests
        # without a body whose key is cached are verified without a coroutine,
        # on the verifier's fast road (which reads keys from a mapping).
        self._fast = Verifier(_CachedSecrets(self), options.region, options.service, **settings)
        self._resigner = Resigner(options, parts.scheme, self._origin, parts.netloc)

    # -- lifecycle (in the worker process) -----------------------------------
    async def startup(self) -> None:
        """Open the key store, its cache and Redis in this worker's event loop."""
        o = self.options
        if self._keys is None:
            if not o.keys_url:
                raise ValueError(
                    "the gateway needs a key store: --keys sqlite:///... or $SIGV4KIT_KEYS"
                )
            from ..keystore import KeyCache, open_store

            self._store = await open_store(o.keys_url)
            self._owned.append(self._store)
            cache = KeyCache(self._store, ttl=o.key_cache_ttl)
            await cache.start()
            self._owned.insert(0, cache)
            self._keys = cache
            self._peek = cache.peek
            self._view(cache)
            self._pinger = asyncio.ensure_future(_watch_store(self))
        if o.replay_url and (self._replay is None or (o.rate_limit and self._limiter is None)):
            await self._open_redis(o.replay_url)

    def _view(self, keys: Any) -> None:
        view = getattr(keys, "view", None)
        if view is not None:
            self._entries, self._now = view()

    async def _open_redis(self, url: str) -> None:
        o = self.options
        # .replay and .ratelimit (Redis) are imported by name: only a gateway
        # started with --replay-cache needs the redis package.
        import importlib

        if self._replay is None:
            replay = importlib.import_module(".replay", __package__).RedisReplayCache(url)
            self._owned.append(replay)
            self._replay = replay
        if o.rate_limit and self._limiter is None:
            ratelimit = importlib.import_module(".ratelimit", __package__)
            limiter = ratelimit.RedisRateLimiter(url, rate=o.rate_limit, burst=o.rate_burst)
            self._owned.append(limiter)
            self._limiter = limiter

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
        for thing in self._owned:
            try:
                close = getattr(thing, "aclose", None) or thing.close
                await close()
            except Exception:  # pragma: no cover - closing is best effort
                log.debug("closing %r failed", thing, exc_info=True)

    def ready(self) -> bool:
        return self._store_ok

    # -- credential lookup (called by the Verifier) ---------------------------
    def _credential(self, access_key_id: str) -> Any:
        """The verifier's lookup: from this node's key cache, with no coroutine,
        when the key is cached and fresh (nearly every request); else an
        awaitable, which the verifier awaits (the store, through the cache)."""
        peek = self._peek
        record = peek(access_key_id) if peek is not None else None
        if record is None:
            return self._fetch(access_key_id)
        return self._answer(record)

    async def _fetch(self, access_key_id: str) -> Any:
        # The store's outage raises StoreUnavailable (a 503 SignatureError)
        # straight through the verifier.
        return self._answer(await self._keys.get(access_key_id))

    def _cached_secret(self, access_key_id: str) -> str | None:
        """The secret of a fresh, usable cached key (for the fast verifier), else None.

        Never does I/O and never awaits: it reads the node's cache only.  The
        record goes to ``_hit``; a key the cache lacks sets ``_missed`` (not
        "unknown": the store must be asked).
        """
        entries = self._entries
        if entries is not None:  # a KeyCache: its peek, inlined (this runs for every request)
            entry = entries.get(access_key_id)
            record = entry[0] if entry is not None and self._now() < entry[1] else None
        else:
            peek = self._peek
            record = peek(access_key_id) if peek is not None else None
        if record is None:
            self._missed = True
            return None
        if record is not self._usable_record:
            if record.status == "active" and record.expires_at is None and not record.grace_until:
                # Usable for good: a record never changes (a change in the store
                # comes as a new record), so the next request needs no look.
                if entries is not None:
                    self._usable_record = record
            elif not record.usable():
                return None
        self._hit = record
        return record.secret_access_key  # type: ignore[no-any-return]

    def _answer(self, record: Any) -> Any:
        # Inactive, expired and rotated-out keys look unknown (InvalidAccessKeyId,
        # as S3 answers for them).
        if record is None or not _usable(record):
            return None
        ctx = _current.get(None)
        if ctx is not None:
            ctx["key"] = record
            if ctx.get("algorithm") == "sigv4a":
                return record.public_key()
        return record.secret_access_key

    # -- the request ----------------------------------------------------------
    async def handle(self, request: Incoming) -> Outgoing | Reply:
        request_id = _next_request_id()
        log = request.log
        log["request_id"] = request_id
        now = self._clock() if self._clock is not None else None
        if not request.content_length:
            # The common request: no body, a SigV4 key this node has cached, its
            # authorization parameters seen before.  The fast road verifies it
            # with no coroutine, no context and no store; ``_hit`` is the record
            # whose secret it used (set by that one lookup, read right after it
            # in the same synchronous stretch, so it is this request's).  No
            # Content-Length (or 0) is no body unless the body comes chunked,
            # and the fast road declines a request with Transfer-Encoding: so
            # ``has_body`` (a look at every header name) is left for the rest.
            self._hit = None
            headers = request.headers
            ok = fast_verify(self._fast, (request.method, request.target, headers, b"", now))
            key = self._hit
            if ok is not None and key is not None:
                if self._replay is not None or self._limiter is not None or self.options.resign:
                    return await self._decide(request, request_id, ok, key, False)
                # Nothing to await: the decision and the upstream request right
                # here, in one function on purpose (what _decide and _outgoing do
                # for such a request, a call and a few lookups per request fewer).
                log["access_key_id"] = ok.access_key_id
                memo = self._per_key
                if memo[0] is not key:  # built once per key record (records are immutable)
                    memo = self._per_key = self._key_memo(ok, key)
                target = (
                    request.target
                    if ok.expires is None and not self._domains  # header-signed, path-style
                    else self._upstream_target(request, ok)
                )
                if memo[2]:  # the key has a policy (a key without one allows all)
                    method = request.method
                    source = request.header("x-amz-copy-source") if method == "PUT" else None
                    verdict = policy_verdict(
                        key.allows, request.method, policy_path(target, form=ok.form), source
                    )
                    if verdict is not None:
                        verdict.access_key_id = ok.access_key_id
                        return self.reject(request, verdict, request_id)
                # The forwarded headers: the received pairs kept (one C call for a
                # sequence of names seen before), the identity headers, Host.
                names = next(zip(*headers), ())  # noqa: B905 - the names, as one tuple
                pick = _pickers.get(names)
                if pick is None:
                    pick = header_picker(names)
                if pick is False:  # Connection among them: its value decides
                    out = plain_headers(headers, memo[1])
                else:
                    out = [*pick(headers), *memo[1]]  # type: ignore[operator]
                log["verdict"] = "OK"
                metrics = request.state.get("metrics")
                if metrics is not None:
                    metrics.add(_OK_VERDICT)
                return Outgoing(request.method, self._origin, target, out)
        has_body = request.has_body
        ctx: dict[str, Any] = {"algorithm": _algorithm_hint(request)}
        token = _current.set(ctx)
        try:
            ok = await self._verify(request, ctx, has_body, now)
        except SignatureError as exc:
            return self.reject(request, exc, request_id)
        finally:
            _current.reset(token)
        key = ctx.get("key")
        if key is None:  # the lookup always runs before a request verifies
            return self.reject(request, store_unavailable(), request_id)
        return await self._decide(request, request_id, ok, key, has_body)

    async def _verify(
        self, request: Incoming, ctx: dict[str, Any], has_body: bool, now: float | None
    ) -> VerifiedRequest:
        """The general road (the lookup, through ``_current``, may ask the store)."""
        body: Any = _idle_timeout(request.body, self.options.client_timeout) if has_body else b""
        if not has_body and ctx["algorithm"] == "sigv4":
            # No body, a SigV4 key this node has cached, parameters not seen yet:
            # the general road, synchronously, over the cache (it learns the
            # parameters for the fast road).  A key the cache lacks takes the
            # async road, which asks the store.
            self._hit = None
            self._missed = False
            try:
                ok = self._fast.verify(request.method, request.target, request.headers, b"", now)
            except SignatureError:
                if not self._missed:
                    raise
            else:
                ctx["key"] = self._hit
                return ok
        return await self.verifier.averify(
            request.method, request.target, request.headers, body, now
        )

    def _upstream_target(self, request: Incoming, ok: VerifiedRequest) -> str:
        """What the upstream will be asked for: path-style, presign query gone."""
        target = request.target
        if ok.auth_type == "presigned":
            target = strip_presign_query(target)
        if self._domains:
            target = path_style(target, request.header("host"), self._domains)
        return target

    def _key_memo(
        self, ok: VerifiedRequest, key: KeyRecordLike
    ) -> tuple[Any, tuple[tuple[str, str], ...], bool]:
        """What the plain road needs of a key record: (record, the headers added
        upstream -- the identity headers, then Host --, whether it has a policy)."""
        tail = (*identity_headers(ok.access_key_id, key.name), self._host_header)
        return (key, tail, getattr(key, "policy", _UNKNOWN) is not None)

    async def _decide(
        self,
        request: Incoming,
        request_id: str,
        ok: VerifiedRequest,
        key: KeyRecordLike,
        has_body: bool,
    ) -> Outgoing | Reply:
        """Policy, rate limit, replay cache, then the request for the upstream."""
        request.log["access_key_id"] = ok.access_key_id
        target = self._upstream_target(request, ok)
        source = request.header("x-amz-copy-source") if request.method == "PUT" else None
        verdict = policy_verdict(
            key.allows, request.method, policy_path(target, form=ok.form), source
        )
        if verdict is None and self._limiter is not None:
            verdict = rate_verdict(
                await self._limiter.allow(ok.access_key_id), fail_open=self.options.fail_open
            )
        if verdict is None and self._replay is not None:
            sts = _string_to_sign(ok)
            ttl = self.verifier.max_skew * 2 + (ok.expires or 0)
            verdict = replay_verdict(
                await self._replay.seen(ok.access_key_id, sts, ttl),
                fail_open=self.options.fail_open,
            )
        if verdict is not None:
            verdict.access_key_id = ok.access_key_id
            await _close_body(ok)
            return self.reject(request, verdict, request_id)
        try:
            out = await self._outgoing(request, ok, key, target, has_body)
        except PlanError as exc:
            from ..errors import InvalidRequest

            await _close_body(ok)
            return self.reject(request, InvalidRequest(str(exc)), request_id)
        self._verdict(request, "OK")
        return out

    async def _outgoing(
        self,
        request: Incoming,
        ok: VerifiedRequest,
        key: KeyRecordLike,
        target: str,
        has_body: bool,
    ) -> Outgoing:
        decoded = _decoded_length(request) if is_aws_chunked(ok.payload_hash) else None
        headers = forward_headers(
            request.headers,
            access_key_id=ok.access_key_id,
            principal=key.name,
            payload_hash=ok.payload_hash,
            decoded_length=decoded,
        )
        stream: Any = ok.body if has_body else None
        if ok.auth_type == "post":
            from .postform import rebuild_form

            if not self.options.resign:
                headers, stream = rebuild_form(headers, ok)
        if not self.options.resign:
            headers.append(("Host", self._host))
            return Outgoing(request.method, self._origin, target, headers, as_async_body(stream))
        return await self._resigner.outgoing(request, ok, target, headers, stream)

    # -- answers --------------------------------------------------------------
    def _verdict(self, request: Incoming, verdict: str) -> None:
        request.log["verdict"] = verdict
        metrics = request.state.get("metrics")
        if metrics is not None:
            metrics.inc(_VERDICTS, code=verdict)

    def reject(self, request: Incoming, exc: SignatureError, request_id: str) -> Reply:
        """S3's XML error document for ``exc``, answered by the gateway."""
        self._verdict(request, exc.code)
        if exc.access_key_id:
            request.log.setdefault("access_key_id", exc.access_key_id)
        status, headers, body = error_document(
            exc, request_id=request_id, method=request.method, resource=resource_of(request.target)
        )
        return Reply(
            status,
            body,
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
        )

    def on_body_error(self, request: Incoming, error: BaseException) -> Reply | None:
        """The forwarded body failed its check at (or near) its end.

        The engine has aborted the upstream request already; the client
        gets the verifier's error (``XAmzContentSHA256Mismatch``, a chunk's
        ``SignatureDoesNotMatch``, ``IncompleteBody``, ``RequestTimeout``)
        as S3 would send it.  Counted again under that code in the verdicts
        (the request was counted ``OK`` when it was forwarded).
        """
        if not isinstance(error, SignatureError):
            return None
        request_id = str(request.log.get("request_id") or new_request_id())
        return self.reject(request, error, request_id)

    def on_upstream_error(self, request: Incoming, status: int, reason: str) -> Reply | None:
        """The engine's 502 (upstream unreachable) or 504 (upstream silent) as S3 XML.

        Codes ``BadGateway`` and ``GatewayTimeout`` (see :mod:`.policy`),
        counted under them in the verdicts like ``on_body_error``'s.
        """
        request_id = str(request.log.get("request_id") or new_request_id())
        return self.reject(request, upstream_failure(status, reason), request_id)


async def _watch_store(service: GatewayService) -> None:
    """Ask the key store once a second whether it answers (``/readyz``), so a
    load balancer takes a node whose store is gone out of rotation."""
    while True:
        try:
            await asyncio.wait_for(service._store.ping(), 2.0)
            service._store_ok = True
        except asyncio.CancelledError:
            raise
        except Exception:
            service._store_ok = False
        await asyncio.sleep(1.0)


class _CachedSecrets(Mapping[str, str]):
    """The gateway's key cache as the credential mapping of its fast verifier.

    ``get`` answers from the node's cache only (never I/O): a fresh, usable
    key's secret, else None; a key the cache lacks is marked as a miss, so
    the request is verified again with the store's answer.  Never iterated.
    """

    def __init__(self, service: GatewayService) -> None:
        self._service = service
        # The fast road's one lookup per request, without a call in between.
        self.get = service._cached_secret  # type: ignore[method-assign,assignment]

    def get(self, access_key_id: str, default: Any = None) -> Any:
        return self._service._cached_secret(access_key_id)

    def __getitem__(self, access_key_id: str) -> str:
        secret = self.get(access_key_id)
        if secret is None:
            raise KeyError(access_key_id)
        return str(secret)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _usable(record: Any) -> bool:
    # The common case -- active, no expiry, not rotated -- needs no clock.
    if record.status == "active" and record.expires_at is None and record.grace_until is None:
        return True
    return bool(record.usable())


#: The low byte of a request id, from 0xFF down (a batch is popped from its end).
_LOWS = [f"{i:02X}" for i in range(255, -1, -1)]
_highs = itertools.count()
_prefix = os.urandom(4).hex().upper()
_batch: list[str] = []


def _next_request_id() -> str:
    """S3-style request ids (16 upper-case hex digits): a random prefix per
    process, then a 32-bit counter, without a system call.  Formatted 256 at a
    time (the counter's upper 24 bits once, the low byte from a table): a
    request pops the next id, a C call, where formatting one per request cost
    several times that.  Safe across threads
    (in-process gateways each run a loop in a thread): ``list.pop`` and
    ``next`` on the counter are atomic, each batch has upper bits of its own,
    and a batch replaced while another thread still pops from it only loses
    ids, never repeats one."""
    try:
        return _batch.pop()
    except IndexError:
        return _refill()


def _refill() -> str:
    """The first id of a new batch, which becomes ``_batch`` (the rest)."""
    global _batch
    head = f"{_prefix}{next(_highs) & 0xFFFFFF:06X}"
    batch = [head + low for low in _LOWS]
    first = batch.pop()
    _batch = batch
    return first


def _new_ids() -> None:
    global _highs, _prefix, _batch
    _highs = itertools.count()
    _prefix = os.urandom(4).hex().upper()
    _batch = []  # the parent's ids: never the child's


# A forked worker makes a prefix of its own (no getpid() per request).
os.register_at_fork(after_in_child=_new_ids)


async def _idle_timeout(body: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    """``body``, failing with RequestTimeout when the client stays silent ``seconds``.

    A slow client holds a connection, a task and (while forwarding) an
    upstream connection: past the limit it gets S3's ``RequestTimeout``.
    """
    it = body.__aiter__()
    while True:
        try:
            piece = await asyncio.wait_for(it.__anext__(), seconds)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise RequestTimeout() from None
        yield piece


def _decoded_length(request: Incoming) -> int | None:
    value = request.header("x-amz-decoded-content-length")
    if value is not None and value.strip().isdigit():
        return int(value.strip())
    return None


def _string_to_sign(ok: VerifiedRequest) -> str:
    # VerifiedRequest.string_to_sign (issue 18) is the text that was verified;
    # until every Verifier has it, the SigV4 signature stands for it (HMAC is
    # deterministic, so the same signature means the same string to sign).
    sts = getattr(ok, "string_to_sign", None)
    if isinstance(sts, str) and sts:
        return sts
    return f"{ok.algorithm}\n{ok.amz_date}\n{ok.scope}\n{ok.signature}"


async def _close_body(ok: VerifiedRequest) -> None:
    """Release an unread verified body (its async generator, its spool file)."""
    body: Any = ok.body
    try:
        if hasattr(body, "aclose"):
            await body.aclose()
        elif hasattr(body, "close"):
            body.close()
    except Exception:  # pragma: no cover - best effort on a body nobody reads
        pass
