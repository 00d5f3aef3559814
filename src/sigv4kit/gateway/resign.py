"""Re-sign mode's I/O half: the forwarded request signed with the upstream's credentials.

:mod:`.plan` decides, without I/O, how the payload is signed again; this
module resolves the upstream credentials (the chain or a profile, refreshed as
they expire) and signs the forwarded request with them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..forward import Incoming, Outgoing
from .plan import PayloadPlan, payload_plan

if TYPE_CHECKING:
    from ..credentials import Credentials
    from ..verifier import VerifiedRequest
    from .service import GatewayOptions

# Headers the upstream signature must not carry over from the client's request.
_RESIGN_DROP = frozenset({"x-amz-date", "x-amz-content-sha256", "x-amz-region-set"})


class Resigner:
    """Signs each forwarded request for the upstream; one per gateway worker."""

    def __init__(self, options: GatewayOptions, scheme: str, origin: str, host: str) -> None:
        self.options = options
        self._scheme = scheme
        self._origin = origin
        self._host = host
        self._signer_memo: tuple[Any, Any] | None = None

    async def outgoing(
        self,
        request: Incoming,
        ok: VerifiedRequest,
        target: str,
        headers: list[tuple[str, str]],
        stream: Any,
    ) -> Outgoing:
        from ..providers import aresolve_credentials

        o = self.options
        creds: Credentials = await aresolve_credentials(o.upstream_credentials)
        signer = self._signer(creds)
        plan: PayloadPlan = payload_plan(
            auth_type=ok.auth_type,
            payload_hash=ok.payload_hash,
            headers=request.headers,
            upstream_scheme=self._scheme,
            mode=o.upstream_payload,
        )
        if plan.payload == "post":
            from urllib.parse import unquote

            from .postform import resign_form

            bucket = unquote(target.partition("?")[0].lstrip("/").partition("/")[0])
            headers, stream = resign_form(
                headers,
                ok,
                creds,
                o.upstream_region or o.region,
                o.upstream_service or o.service,
                bucket,
            )
            headers.append(("Host", self._host))
            return Outgoing(request.method, self._origin, target, headers, as_async_body(stream))
        hs = [(n, v) for n, v in headers if n.lower() not in _RESIGN_DROP]
        hs.append(("Host", self._host))
        if plan.streaming:
            hs = [(n, v) for n, v in hs if n.lower() != "content-length"]
            hs.append(("X-Amz-Decoded-Content-Length", str(plan.length)))
            signed = signer.sign_target(
                request.method,
                target,
                hs,
                stream if stream is not None else b"",
                payload=plan.payload,
                scheme=self._scheme,
            )
            send = list(signed.headers)
            return Outgoing(request.method, self._origin, target, send, signed.body)
        if plan.payload == "unsigned" and plan.length is not None:
            hs = [(n, v) for n, v in hs if n.lower() != "content-length"]
            hs.append(("Content-Length", str(plan.length)))
        signed = signer.sign_target(
            request.method, target, hs, None, payload=plan.payload, scheme=self._scheme
        )
        return Outgoing(
            request.method, self._origin, target, list(signed.headers), as_async_body(stream)
        )

    def _signer(self, creds: Credentials) -> Any:
        memo = self._signer_memo
        if memo is not None and memo[0] == creds:
            return memo[1]
        from ..signer import Signer

        o = self.options
        signer = Signer(
            creds,
            o.upstream_region or o.region,
            o.upstream_service or o.service,
        )
        self._signer_memo = (creds, signer)
        return signer


def as_async_body(stream: Any) -> AsyncIterator[bytes] | bytes | None:
    """A body the engine can stream: bytes and async iterables as they are, a
    sync iterable (a decoded or re-encoded body) wrapped in an async one."""
    if stream is None or isinstance(stream, bytes):
        return stream
    if hasattr(stream, "__aiter__"):
        return stream  # type: ignore[no-any-return]

    async def gen() -> AsyncIterator[bytes]:
        for piece in stream:
            yield piece

    return gen()
