"""The verification flow: everything that needs no secret, then the key and the body.

The flow (:func:`verification`) is a generator, like httpx's ``auth_flow``:
it does all the work that needs no I/O and *yields* a ``(step, argument)``
pair when it needs something only its caller can get, sync or async.
:func:`drive_sync` and :func:`drive_async` answer; the flow itself, with the
token check and the POST flow in it, exists once.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from ..config import ALGORITHM_V4A
from ..errors import (
    AccessDenied,
    IncompleteBody,
    InvalidArgument,
    InvalidRequest,
    InvalidToken,
    MissingAuthentication,
    RequestHeaderTooLong,
    SignatureDoesNotMatch,
    SigningError,
    TooManySignedHeaders,
    TooManySignedHeadersInQuery,
)
from ._common import _NOT_SIGNED_MESSAGE, _UNSIGNED_AMZ_OK, _close, _compare, _sha256
from .auth import _Auth, _header_auth, _query_auth, _query_has_auth
from .checks import _check_region_set, _check_time_header, _check_time_presigned, _now_epoch
from .keys import _call_lookup, _Key, _key, _lookup_sync, _token_result
from .payload import (
    _aspool,
    _Check,
    _ChunkedCheck,
    _payload,
    _PayloadCheck,
    _read_file,
    _spool_hash,
    _streaming_decoder,
    _take_body,
)
from .request import (
    Received,
    _authority,
    _index_headers,
    _split_target,
    _target_host_mismatch,
    _to_str,
)
from .result import VerifiedRequest

#: The credential lookup's answer for an access key id (argument: the id).
LOOKUP = "lookup"
#: ``token_check(access_key_id, token)``'s answer (argument: the pair).
TOKEN = "token"
#: An async body spooled and hashed (argument: the async iterator); the
#: answer is ``(hex sha256, iterator over the spooled data)``.
SPOOL = "spool"
#: The next piece of an async body, None at its end (argument: the iterator).
READ = "read"
Flow = Generator[tuple[str, Any], Any, Any]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .verifier import Verifier


# -- phase 1: parse and check everything that needs no secret -----------
def _begin(
    vr: Verifier,
    method: str,
    target: str,
    headers: object,
    body: object,
    now: datetime | float | None,
) -> _Auth:
    if method.__class__ is not str:
        method = _to_str(method)
    if target.__class__ is str and target[:1] == "/":
        path_target, url_host, default_port = target, None, ""
    else:
        path_target, url_host, default_port = _split_target(target)
    pairs, hmap = _index_headers(headers)
    limit = vr.max_header_length
    for ln, v in pairs:
        if len(v) + len(ln) > limit:
            raise RequestHeaderTooLong(limit, ln)
    if url_host is not None:
        host = hmap.get("host")
        if host is None:
            pairs.append(("host", url_host))
            hmap["host"] = url_host
        elif _authority(host, default_port) != url_host:
            raise _target_host_mismatch(url_host, host)
    now_epoch = time.time() if now is None else _now_epoch(now)

    authorization = hmap.get("authorization")
    qmark = path_target.find("?")
    has_query_auth = qmark >= 0 and _query_has_auth(path_target[qmark + 1 :])
    if authorization is not None and not authorization.startswith("AWS4-"):
        if authorization.startswith("AWS ") or authorization.startswith("AWS\t"):
            raise InvalidRequest(
                "The authorization mechanism you have provided is not supported. "
                "Please use AWS4-HMAC-SHA256."
            )
    if authorization is not None and has_query_auth:
        raise InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be "
            "specified",
            details={"ArgumentName": "Authorization", "ArgumentValue": "null"},
        )
    if authorization is not None:
        auth = _header_auth(vr, authorization, method, path_target, pairs, hmap)
        _check_time_header(vr, auth, hmap, now_epoch)
    elif has_query_auth:
        auth = _query_auth(vr, method, path_target, pairs, hmap)
        _check_time_presigned(vr, auth, now_epoch)
    else:
        ctype = hmap.get("content-type", "")
        if method.upper() == "POST" and ctype.lower().startswith("multipart/form-data"):
            post = _Auth("post", method, path_target, pairs, hmap)
            _take_body(post, body)
            return post
        raise MissingAuthentication()

    _check_signed_headers(vr, auth, pairs, hmap, body)

    # SigV4a: the region set must include our region.
    if auth.algorithm == ALGORITHM_V4A:
        _check_region_set(vr, auth, hmap, path_target)

    # Payload.
    _payload(vr, auth, body)
    return auth


def _check_signed_headers(
    vr: Verifier,
    auth: _Auth,
    pairs: list[tuple[str, str]],
    hmap: dict[str, str],
    body: object,
) -> None:
    """The signed-header policy: not too many, host and every x-amz-* header
    signed, and every signed header present (the ones proxies drop re-made)."""
    signed_set = auth.signed_set
    if len(auth.signed_headers) > vr.max_signed_headers:
        raise (
            TooManySignedHeaders(vr.max_signed_headers)
            if auth.kind == "header"
            else TooManySignedHeadersInQuery(vr.max_signed_headers)
        )
    if "host" not in signed_set:
        raise AccessDenied(_NOT_SIGNED_MESSAGE, details={"HeadersNotSigned": "host"})
    # Every x-amz-* header sent must be signed.
    names = hmap.keys()
    unsigned = [
        n for n in names - signed_set if n.startswith("x-amz-") and n not in _UNSIGNED_AMZ_OK
    ]
    if unsigned:
        raise AccessDenied(
            _NOT_SIGNED_MESSAGE, details={"HeadersNotSigned": ", ".join(sorted(unsigned))}
        )
    # Signed headers must be present; re-synthesize the ones proxies and
    # servers drop, as MinIO does.
    if not signed_set <= names:
        missing = [n for n in auth.signed_headers if n not in hmap]
        for n in missing:
            if n == "expect":
                pairs.append(("expect", "100-continue"))
                hmap["expect"] = "100-continue"
            elif n == "content-length" and isinstance(body, (bytes, bytearray)):
                pairs.append(("content-length", str(len(body))))
                hmap["content-length"] = str(len(body))
            else:
                raise SignatureDoesNotMatch(
                    f"The request signature we calculated does not match the signature you "
                    f"provided: the signed header {n!r} is not in the request.",
                    access_key_id=auth.access_key_id,
                )


# -- phase 2: signature ---------------------------------------------------
def _finish(vr: Verifier, state: _Auth, key: _Key, *, sync: bool) -> VerifiedRequest:
    if state.needs_body_hash and state.payload_hash is None:
        f = state.body_file
        if f is not None:
            start = f.tell()
            h = _sha256()
            for piece in _read_file(f):
                h.update(piece)
            f.seek(start)
            state.payload_hash = h.hexdigest()
            state.source = _read_file(f)
        else:
            digest, spool = _spool_hash(cast("Iterator[bytes]", state.source))
            state.payload_hash = digest
            state.source = spool
    payload_hash = cast("str", state.payload_hash)
    if state.kind != "presigned":
        state.curi, state.cquery = vr._canonical_target(state.target)
    creq, sts, ok = vr._check_signature(state, key, state.cquery, payload_hash)
    if not ok and state.cquery_no_token is not None:
        # The session token may have been added after signing (IoT style).
        _, sts2, ok = vr._check_signature(state, key, state.cquery_no_token, payload_hash)
        if ok:
            sts = sts2
    if not ok:
        raise vr._mismatch(state, creq, sts)

    # Session token expected by the credential store.
    if key.token is not None:
        if state.token is None:
            raise InvalidToken(
                "The request must carry the session token of this access key "
                "(X-Amz-Security-Token)."
            )
        if not _compare(key.token.encode("utf-8"), state.token.encode("utf-8", "surrogatepass")):
            raise InvalidToken()

    check: _Check | _ChunkedCheck
    if state.streaming is not None:
        check = _streaming_decoder(vr, state, key)
        trailers: Sequence[tuple[str, str]] = check.trailers
        auth_type = state.streaming
    else:
        check = _PayloadCheck(state.check_hash, state.declared_length)
        trailers = ()
        auth_type = state.kind
    body: Iterator[bytes] | AsyncIterator[bytes]
    data = state.body_bytes
    if data is not None:
        # Eager: the whole body is here, so check it now.
        declared = state.declared_length
        if state.streaming is None and declared is not None and len(data) != declared:
            raise IncompleteBody(
                details={"ExpectedLength": str(declared), "ReceivedLength": str(len(data))}
            )
        body = iter(list(check.run(iter((data,)))))
    elif state.source is not None:
        body = check.run(state.source)
    else:
        body = check.arun(cast("AsyncIterator[bytes]", state.async_source))
    if sync and state.async_source is not None:
        raise SigningError("an async body needs 'await verifier.averify(...)'")
    return VerifiedRequest(
        state.access_key_id,
        state.algorithm,
        auth_type,
        state.scope,
        state.signed_headers,
        state.amz_date,
        payload_hash,
        state.token is not None,
        body,
        state.signature,
        None,
        state.expires,
        trailers,
        sts,
    )


# -- one flow, two drivers -------------------------------------------------
def verification(vr: Verifier, received: Received, sync: bool) -> Flow:
    """The whole verification, once: it yields a step (above) when it
    needs the key, the token check or an async body, and returns the
    :class:`VerifiedRequest`."""
    state = _begin(vr, *received)
    now = received[4]
    if state.kind == "post":
        from .post import _post_flow  # post imports the steps above

        return (yield from _post_flow(vr, state, now, sync))
    try:
        mapping = vr._mapping
        if mapping is not None:
            # A mapping answers at once, sync or async: no step to yield.
            key = _key(vr, state.access_key_id, mapping.get(state.access_key_id))
        else:
            key = _key(vr, state.access_key_id, (yield (LOOKUP, state.access_key_id)))
        if state.needs_body_hash and state.async_source is not None and not sync:
            # The signature covers the hash of an async body: spool it first.
            state.payload_hash, state.source = yield (SPOOL, state.async_source)
            state.async_source = None
        ok = _finish(vr, state, key, sync=sync or state.async_source is None)
        if state.token is not None and vr.token_check is not None:
            _token_result((yield (TOKEN, (state.access_key_id, state.token))))
    except BaseException:
        state.discard()
        raise
    return ok


def drive_sync(vr: Verifier, flow: Flow) -> VerifiedRequest:
    """Run a flow with the sync lookup and token check."""
    answer: Any = None
    try:
        while True:
            step, arg = flow.send(answer)
            if step == LOOKUP:
                answer = _lookup_sync(vr, arg)
            elif step == TOKEN:
                answer = cast("Any", vr.token_check)(*arg)
                if inspect.isawaitable(answer):
                    _close(answer)
                    flow.throw(
                        SigningError(
                            "token_check is async; call 'await verifier.averify(...)' instead"
                        )
                    )
            else:  # pragma: no cover - a sync flow never asks for an async body
                raise AssertionError(step)
    except StopIteration as stop:
        return cast("VerifiedRequest", stop.value)


async def drive_async(vr: Verifier, flow: Flow) -> VerifiedRequest:
    """Run a flow, awaiting the lookup, the token check and the body as needed."""
    answer: Any = None
    try:
        while True:
            step, arg = flow.send(answer)
            if step == LOOKUP:
                answer = _call_lookup(vr, arg)
                if inspect.isawaitable(answer):
                    answer = await answer
            elif step == TOKEN:
                answer = cast("Any", vr.token_check)(*arg)
                if inspect.isawaitable(answer):
                    answer = await answer
            elif step == SPOOL:
                answer = await _aspool(arg)
            elif step == READ:
                answer = await anext(arg, None)
    except StopIteration as stop:
        return cast("VerifiedRequest", stop.value)
