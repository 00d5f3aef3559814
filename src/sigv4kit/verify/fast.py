"""The fast road: one function for the common request, the general road for the rest.

Most requests are header-signed or presigned SigV4 requests whose
authorization parameters the Verifier has parsed before: a client repeats
its credential and SignedHeaders, and a presigned URL is parsed once
(:mod:`.auth`).  :func:`fast_verify` verifies them without the generator, the
mutable request record and the calls of the general road (:mod:`.flow`),
each a few percent of a verification of a few microseconds.

It makes every check the general road makes, on the values the general road
validates: the key is looked up only after everything that needs no secret,
the signature is compared in constant time, the body hashed only after the
key lookup.  It never refuses a request: anything it does not handle, or a
failed check, returns None, and the caller runs the general road from the
start, which names the error.  That is safe because the fast road consumes
nothing (list or dict headers, ``bytes`` bodies, a credential mapping) and
stores nothing the general road would not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ..errors import SignatureError
from ..keys import signing_key
from ._common import _EMPTY, UNSIGNED_PAYLOAD, _compare, _sha256
from ._common import _canonical_request as _creq
from ._common import _string_to_sign as _sts
from .auth import _query_has_auth, _query_params
from .checks import _amz_epoch, _date_cache, _now_epoch
from .keys import _key
from .request import MEMO_NAME_LENGTH, Received, _lname_cache
from .result import VerifiedRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .verifier import Verifier

#: The body of a request without one: an exhausted iterator can be shared.
_NO_BODY: Iterator[bytes] = iter(())


# One function on purpose (over 100 lines), like the Signer's hot path: a call
# with a dozen arguments is a few percent of a verification.  It reads as the
# general road's stages.
def fast_verify(vr: Verifier, received: Received) -> VerifiedRequest | None:
    """The verified request, or None: take the general road (see the module)."""
    method, target, headers, body, now = received
    mapping = vr._mapping
    if (
        mapping is None
        or target.__class__ is not str
        or method.__class__ is not str
        or (body.__class__ is not bytes and body is not None)
        or (headers.__class__ is not list and headers.__class__ is not dict)
        or target[:1] != "/"
    ):
        return None
    # The received header index, as _index_headers builds it for str names
    # it has seen before and str values, none longer than the limit (a
    # memoized name is at most MEMO_NAME_LENGTH long); anything else, or a
    # name repeated, takes the general road.
    most = vr.max_header_length - MEMO_NAME_LENGTH
    try:
        items: Any = headers if headers.__class__ is list else headers.items()  # type: ignore[union-attr]
        cache = _lname_cache
        pairs = [(cache[n], v) for n, v in items if v.__class__ is str and len(v) <= most]
    except (KeyError, TypeError, ValueError):
        return None
    hmap = dict(pairs)
    # A chunked body has no Content-Length: the gateway takes a request with
    # neither header for one without a body.
    if len(hmap) != len(items) or "transfer-encoding" in hmap:
        return None
    now_s = time.time() if now is None else _now_epoch(now)
    authorization = hmap.get("authorization")
    expires = None
    if authorization is not None:
        # Header auth: the memoized Authorization prefix, then the time.
        cut = authorization.rfind("Signature=")
        if (
            ("?" in target and _query_has_auth(target.partition("?")[2]))
            or cut <= 0
            or len(authorization) > vr.max_auth_length
        ):
            return None
        params = vr._auth_cache.get(authorization[:cut])
        signature = authorization[cut + 10 :]
        amz = hmap.get("x-amz-date")
        if params is None or amz is None or "," in signature or " " in signature:
            return None
        amz = amz.strip()
        epoch = _date_cache.get(amz)
        if epoch is None:  # the first request of a second
            epoch = _amz_epoch(amz)
        if epoch is None or amz[:8] != params[2].date or abs(now_s - epoch) > vr.max_skew:
            return None
        token = hmap.get("x-amz-security-token")
        if token is not None:
            token = token.strip(" \t")
        claimed = hmap.get("x-amz-content-sha256")
        hit2 = vr._targets.get(target)
        curi, cquery = hit2 if hit2 is not None else vr._canonical_target(target)
        unsigned_ok = False
    else:
        # Presigned: the parameters of this target, memoized (a URL used
        # again) or parsed now, then the validity window.
        if len(target) > vr.max_query_length:  # the query is shorter: let the general road tell
            return None
        hit = vr._query_cache.get(target)
        if hit is None:
            try:
                hit = _query_params(vr, target)
            except SignatureError:
                return None
        params, amz, _, expires, token, _, claimed, signature, window, curi, cquery, _ = hit
        if now_s < window[0] or now_s > window[1]:
            return None
        if claimed is None:
            claimed = hmap.get("x-amz-content-sha256")
        unsigned_ok = vr.presign_unsigned_payload
    alg, akid, scope, scope_text, names, name_set, signed_text, may_skip, fast, head = params
    sent = hmap.keys()
    if not fast or not sent >= name_set:
        return None
    if len(sent) - len(name_set) > (expires is None):
        # Headers sent unsigned besides Authorization: none may be x-amz-*.
        for name in sent - may_skip:
            if name[:6] == "x-amz-":
                return None

    # The payload: a SHA-256 or UNSIGNED-PAYLOAD declared, or the body's
    # own hash signed (computed after the key lookup).
    data = b"" if body is None else body
    cl = hmap.get("content-length")
    if cl is not None:
        cl = cl.strip()
        if not (cl.isdigit() and cl.isascii()) or len(cl) > 18 or int(cl) != len(data):
            return None
    if claimed is None:
        if unsigned_ok:
            claimed = UNSIGNED_PAYLOAD
        elif expires is None and vr.require_content_sha256:
            return None
    else:
        # A 64-character claim that is not a SHA-256 cannot equal the body's
        # (checked below); the general road names it.
        claimed = claimed.strip()
        if len(claimed) != 64 and claimed != UNSIGNED_PAYLOAD:
            return None
    if token is not None and vr.token_check is not None:
        return None

    value = mapping.get(akid)
    if value is None:
        return None
    # The key and the day's signing function, per looked-up value, key id and day.
    slot = vr._fast_slot
    if slot is not None and slot[0] is value and slot[1] == akid and slot[2] == scope.date:
        key, sign = slot[3], slot[4]
    else:
        key = _key(vr, akid, value)
        if key.secret is None:
            return None
        region = scope.region or ""  # SigV4 scopes name one
        sign = signing_key(key.secret, scope.date, region, scope.service).hexdigest
        vr._fast_slot = (value, akid, scope.date, key, sign)
    if key.token is not None and token is None:
        return None
    if claimed is None:
        payload_hash = _sha256(data).hexdigest() if data else _EMPTY
    else:
        payload_hash = claimed
    if len(pairs) == 1:  # host alone, sent and signed (a presigned URL): the signer's form
        creq = _creq(method, curi, cquery, pairs, payload_hash)
    else:
        creq = _creq(
            method, curi, cquery, pairs, payload_hash, signed=signed_text, names=names, index=hmap
        )
    sts = _sts(alg, amz, scope_text, creq[6])
    # compare_digest takes ASCII str as they are (a signature that is not ASCII cannot match).
    if (
        creq[4] != signed_text
        or not signature.isascii()
        or not _compare(sign(sts.encode()), signature)
    ):
        return None
    if key.token is not None and not _compare(
        key.token.encode("utf-8"),
        token.encode("utf-8", "surrogatepass"),  # type: ignore[union-attr]
    ):
        return None
    if claimed is not None and claimed != UNSIGNED_PAYLOAD:
        # Neither hash is secret: a plain comparison (the signature's is constant-time).
        computed = _sha256(data).hexdigest() if data else _EMPTY
        if computed != claimed and computed != claimed.lower():
            return None
    return VerifiedRequest(  # type: ignore[call-arg]  # head: its first five fields
        *head,
        amz,
        payload_hash,
        token is not None,
        iter((data,)) if data else _NO_BODY,
        signature,
        None,
        expires,
        (),
        sts,
    )
