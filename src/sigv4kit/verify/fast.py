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

from collections.abc import Iterator
from time import time as _time

from ..canonical import fill_headers as _fill_headers
from ..errors import SignatureError
from ..keys import signing_key
from ._common import _EMPTY, UNSIGNED_PAYLOAD, _compare, _sha256
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
_new = object.__new__
_init = VerifiedRequest.__init__


# One function on purpose (over 100 lines), like the Signer's hot path: a call
# with a dozen arguments is a few percent of a verification.  It reads as the
# general road's stages.  Each Python operation here costs about as much as
# hashing a few dozen bytes, so the stages are written to do few of them:
# loops are C loops where they can be (str.join, itemgetter, % formatting).
def fast_verify(vr: Verifier, received: Received) -> VerifiedRequest | None:
    """The verified request, or None: take the general road (see the module)."""
    method, target, headers, body, now = received
    mapping = vr._mapping
    if (
        mapping is None
        or target.__class__ is not str
        or method.__class__ is not str
        or (body.__class__ is not bytes and body is not None)
        or target[:1] != "/"
    ):
        return None
    # The received header index, as _index_headers builds it for names it
    # has seen before (lowercased through its memo) and str values; anything
    # else takes the general road: a name not memoized, not a pair, a name
    # repeated, a value that is not a str (str.join refuses it) or longer
    # than the limit (a memoized name is at most MEMO_NAME_LENGTH long, and
    # no value is longer than all of them together).
    cache = _lname_cache
    hmap: dict[str, str] = {}
    try:
        if headers.__class__ is list:
            for n, v in headers:
                hmap[cache[n]] = v
        elif headers.__class__ is dict:
            for n, v in headers.items():
                hmap[cache[n]] = v
        else:
            return None
        if (
            len(hmap) != len(headers)
            or len("".join(hmap.values())) > vr.max_header_length - MEMO_NAME_LENGTH
        ):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    now_s = _time() if now is None else _now_epoch(now)
    authorization = hmap.get("authorization")
    expires = None
    if authorization is not None:
        # Header auth: the memoized Authorization prefix, then the time.
        prefix, _, signature = authorization.rpartition("Signature=")
        if (
            not prefix
            or len(authorization) > vr.max_auth_length
            or ("?" in target and _query_has_auth(target.partition("?")[2]))
        ):
            return None
        params = vr._auth_cache.get(prefix)
        amz = hmap.get("x-amz-date")
        # (A "signature" holding "," or " " makes the general road parse the
        # whole header: it cannot equal the hex computed below, so no test here.)
        if params is None or amz is None:
            return None
        amz = amz.strip()
        epoch = _date_cache.get(amz)
        if epoch is None:  # the first request of a second
            epoch = _amz_epoch(amz)
            if epoch is None:
                return None
        if amz[:8] != params[2].date or abs(now_s - epoch) > vr.max_skew:
            return None
        token = hmap.get("x-amz-security-token")
        if token is not None:
            token = token.strip(" \t")
        claimed = hmap.get("x-amz-content-sha256")
        curi, cquery = vr._targets.get(target) or vr._canonical_target(target)
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
    alg, akid, scope, scope_text, names, name_set, _, may_skip, kind, fast, tmpl, values = params
    sent = hmap.keys()
    if not fast or not sent >= name_set:
        return None
    if not sent <= may_skip:
        # A chunked body has no Content-Length: the gateway takes a request
        # with neither header for one without a body.  (Transfer-Encoding is
        # not in may_skip: not common, and ``fast`` says it is not signed.)
        if "transfer-encoding" in hmap:
            return None
        # Headers sent unsigned, besides the common ones (may_skip holds
        # them): none may be x-amz-*.  One search of their names; a hit
        # (maybe "a-x-amz-b") is checked name by name.
        unsigned = sent - may_skip
        if "x-amz-" in " ".join(unsigned):
            for name in unsigned:
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
    # The key and the day's HMAC pad states, per looked-up value and
    # parameters (one access key id and day).
    slot_value, slot_params, key, inner, outer = vr._fast_slot
    if slot_value is not value or slot_params is not params:
        key = _key(vr, akid, value)
        if key.secret is None:
            return None
        region = scope.region or ""  # SigV4 scopes name one
        inner, outer = signing_key(key.secret, scope.date, region, scope.service).states()
        vr._fast_slot = (value, params, key, inner, outer)
    if key.token is not None and token is None:
        return None
    if claimed is None:
        payload_hash = _sha256(data).hexdigest() if data else _EMPTY
    else:
        payload_hash = claimed
    # The canonical request, as canonical_request builds it for a canonical
    # SignedHeaders list (``fast`` says it is) and names not repeated: its
    # header lines from the list's template (canonical.header_template).
    block = _fill_headers(tmpl, values(hmap))
    sts = _sts(alg, amz, scope_text, f"{method}\n{curi}\n{cquery}\n{block}{payload_hash}")
    # HMAC-SHA256 with the day's key (HmacKey.hexdigest, inlined), compared in
    # constant time; compare_digest takes ASCII str as they are, and refuses a
    # signature that is not ASCII (which cannot match) with a TypeError.
    inner = inner.copy()
    inner.update(sts.encode())
    outer = outer.copy()
    outer.update(inner.digest())
    try:
        if not _compare(outer.hexdigest(), signature):
            return None
    except TypeError:
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
    # The dataclass's __init__ called directly on a new instance: what
    # VerifiedRequest(...) does, without type.__call__'s argument tuple and
    # __init__ lookup (a tenth of a microsecond per request).
    ok = _new(VerifiedRequest)
    _init(
        ok,
        akid,
        alg,
        kind,
        scope,
        names,
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
    return ok
