"""The authorization parameters: the Authorization header, the presign query, the scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, BinaryIO
from urllib.parse import unquote

from .. import canonical as _c
from .._memo import Memo
from ..config import ALGORITHM_V4, ALGORITHM_V4A
from ..errors import (
    AccessDenied,
    AuthorizationHeaderTooLong,
    AuthorizationQueryParametersError,
    InvalidRequest,
    QueryTooLong,
    SignatureDoesNotMatch,
    SignatureError,
)
from ._common import (
    _COMMON_UNSIGNED,
    _CREDENTIAL_FORMAT,
    _CREDENTIAL_FORMAT_V4A,
    _PRESIGN_EXACT,
    _PRESIGN_NAMES,
    _PRESIGN_REQUIRED,
    _UNSIGNED_AMZ_OK,
    Scope,
    _close,
    _header_malformed,
)
from .checks import _amz_epoch, _http_date, _presign_expires, _stripped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .verifier import Verifier


_THREE_COMPONENTS = (
    "the authorization header requires three components: Credential, SignedHeaders, and Signature."
)


def _parse_authorization(value: str) -> tuple[str, str, str, str]:
    """``(algorithm, credential, signed_headers, signature)``.

    Tolerates no space after the commas (minio-go and s3cmd send that) and
    runs of spaces; the three components may come in any order, as S3 allows.
    """
    alg, sp, rest = value.strip().partition(" ")
    if not sp:
        raise _header_malformed(_THREE_COMPONENTS)
    credential = signed = signature = None
    for part in rest.split(","):
        name, eq, val = part.strip().partition("=")
        if not eq:
            if not part.strip():
                continue
            raise _header_malformed(f'the authorization component "{part.strip()}" is malformed.')
        if name == "Credential" and credential is None:
            credential = val
        elif name == "SignedHeaders" and signed is None:
            signed = val
        elif name == "Signature" and signature is None:
            signature = val
        else:
            raise _header_malformed(f'the authorization component "{part.strip()}" is malformed.')
    if credential is None or signed is None or signature is None:
        raise _header_malformed(_THREE_COMPONENTS)
    return alg, credential, signed, signature


_NO_SCOPE = Scope("", None, "")


@dataclass(slots=True)
class _Auth:
    """What a request claims: parsed, not yet trusted."""

    kind: str  # "header" | "presigned" | "post"
    # The request, as received.
    method: str
    target: str
    pairs: list[tuple[str, str]]
    hmap: dict[str, str]
    # What it claims (a POST form's claims are in its body, read later).
    algorithm: str = ""
    access_key_id: str = ""
    scope: Scope = _NO_SCOPE
    scope_text: str = ""
    signed_headers: tuple[str, ...] = ()
    signed_set: frozenset[str] = frozenset()
    signed_headers_text: str = ""
    signature: str = ""
    amz_date: str = ""
    epoch: int = 0
    token: str | None = None
    expires: int | None = None
    # presigned: the canonical URI and query the signature covers (and the
    # query without an unsigned X-Amz-Security-Token)
    curi: str = ""
    cquery: str = ""
    cquery_no_token: str | None = None
    region_set_text: str | None = None
    query_sha256: str | None = None
    # The payload, as _payload resolved it.
    payload_hash: str | None = None
    check_hash: str | None = None
    needs_body_hash: bool = False
    streaming: str | None = None
    declared_length: int | None = None
    body_bytes: bytes | None = None
    source: Iterator[bytes] | None = None
    async_source: AsyncIterator[bytes] | None = None
    # A seekable body file whose hash the signature covers: hashed in place
    # (then rewound) once the access key is known.
    body_file: BinaryIO | None = None

    def discard(self) -> None:
        """Release a spooled body after a failed verification."""
        _close(self.source)


def _query_has_auth(query: str) -> bool:
    if "X-Amz-" not in query and "x-amz-" not in query.lower():
        return False
    for piece in query.split("&"):
        name = piece.partition("=")[0]
        if "%" in name:
            name = unquote(name)
        if name.lower() in ("x-amz-algorithm", "x-amz-signature", "x-amz-credential"):
            return True
    return False


# -- Authorization header -------------------------------------------------
#: The memoized authorization parameters (per Verifier, keyed on the text
#: they were parsed from): ``(algorithm, access key id, scope, scope text,
#: signed names, their set, SignedHeaders text, names that may be sent
#: unsigned or are never x-amz-*, kind, and for the fast road: fast,
#: template, getter)``.
#: ``fast`` says the fast road (:mod:`.fast`) may take the request (SigV4,
#: host signed, Authorization and Transfer-Encoding not, within ``max_signed_headers``,
#: SignedHeaders canonical: sorted, lowercase, unique).  The template
#: (``"host:%s\n...\nhost;...\n"``, the canonical request between the query
#: and the payload hash) and the getter (the signed values of a header index:
#: a tuple, or the value itself for one name, as ``%`` takes them) build it.
Params = tuple[
    str,
    str,
    Scope,
    str,
    tuple[str, ...],
    frozenset[str],
    str,
    frozenset[str],
    str,
    bool,
    str,
    Callable[[dict[str, str]], Any],
]


def _params(vr: Verifier, kind: str, alg: str, credential: str, signed_text: str) -> Params:
    """The checked credential and SignedHeaders of a header or presign query:
    the part of the authorization parameters that repeats request after
    request, memoized per Verifier (what it parses to depends on its settings)."""
    cache_key = (kind, alg, credential, signed_text)
    hit = vr._params_cache.get(cache_key)
    if hit is not None:
        return hit
    query = kind == "presigned"
    malformed = _query_malformed if query else _header_malformed
    akid, scope = parse_credential(credential, alg, vr.region, vr.service, malformed)
    names = tuple(signed_text.split(";"))
    if not signed_text or not all(names):
        if query:
            raise AuthorizationQueryParametersError(
                f'The X-Amz-SignedHeaders parameter "{signed_text}" is malformed.'
            )
        raise _header_malformed(
            f'the authorization component "SignedHeaders={signed_text}" is malformed.'
        )
    name_set = frozenset(names)
    fast = (
        alg == ALGORITHM_V4
        and "host" in name_set
        and "authorization" not in name_set
        and "transfer-encoding" not in name_set
        and len(names) <= vr.max_signed_headers
        and list(names) == sorted(name_set)
        and signed_text == signed_text.lower()
    )
    return vr._params_cache.put(
        cache_key,
        (
            alg,
            akid,
            scope,
            credential[len(akid) + 1 :],
            names,
            name_set,
            signed_text,
            name_set | _UNSIGNED_AMZ_OK | _COMMON_UNSIGNED,
            kind,
            fast,
            _c.header_template(names, signed_text),
            itemgetter(*names),
        ),
    )


def _header_auth(
    vr: Verifier,
    authorization: str,
    method: str,
    target: str,
    pairs: list[tuple[str, str]],
    hmap: dict[str, str],
) -> _Auth:
    if len(authorization) > vr.max_auth_length:
        raise AuthorizationHeaderTooLong(vr.max_auth_length)
    # Clients repeat the same Authorization prefix (algorithm, credential,
    # signed headers) request after request; only the signature changes.
    # The validated prefix is memoized, so the hot path parses nothing.
    cut = authorization.rfind("Signature=")
    hit = None
    if cut > 0:
        signature = authorization[cut + 10 :]
        if "," in signature or " " in signature:
            cut = -1
        else:
            hit = vr._auth_cache.get(authorization[:cut])
    if hit is None:
        alg, credential, signed_text, signature = _parse_authorization(authorization)
        if alg not in vr._algorithms:
            raise InvalidRequest(
                "The authorization mechanism you have provided is not supported. Please use "
                + " or ".join(sorted(vr._algorithms))
                + "."
            )
        hit = _params(vr, "header", alg, credential, signed_text)
        if cut > 0:
            vr._auth_cache.put(authorization[:cut], hit)
    scope = hit[2]
    # Request time: X-Amz-Date, else Date (RFC 1123).
    amz = hmap.get("x-amz-date")
    if amz is not None:
        amz = amz.strip()
        epoch = _amz_epoch(amz)
    else:
        date = hmap.get("date")
        from_date = _http_date(date) if date is not None else None
        if from_date is None:
            epoch = None
        else:
            amz, epoch = from_date
    if amz is None or epoch is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if scope.date != amz[:8]:
        raise _header_malformed(
            f'Invalid credential date "{scope.date}". This date is not the same as '
            f'X-Amz-Date: "{amz[:8]}".'
        )
    token = _stripped(hmap.get("x-amz-security-token"))
    return _Auth("header", method, target, pairs, hmap, *hit[:7], signature, amz, epoch, token)


def _query_malformed(detail: str, region: str | None = None) -> SignatureError:
    return AuthorizationQueryParametersError(
        f"Error parsing the X-Amz-Credential parameter; {detail}",
        details={"Region": region} if region else None,
    )


def parse_credential(
    credential: str,
    alg: str,
    region: str,
    service: str,
    malformed: Callable[[str, str | None], SignatureError],
) -> tuple[str, Scope]:
    """``(access key id, scope)`` of a credential (``AKID/date/region/service/
    aws4_request``, no region for SigV4a) that names ``region`` and
    ``service``; else ``malformed(detail, expected region or None)`` is
    raised: each caller answers in its own words (the Authorization header,
    the presign query, a POST form)."""
    v4a = alg == ALGORITHM_V4A
    parts = credential.split("/")
    if len(parts) != (4 if v4a else 5) or not parts[0]:
        fmt = _CREDENTIAL_FORMAT_V4A if v4a else _CREDENTIAL_FORMAT
        raise malformed(f"the Credential is mal-formed; expecting {fmt}.", None)
    akid, date = parts[0], parts[1]
    named_service, terminal = parts[-2], parts[-1]
    named_region = None if v4a else parts[2]
    if len(date) != 8 or not date.isdigit() or not date.isascii():
        raise malformed(
            f'incorrect date format "{date}". This date in the credential must '
            'be in the format "yyyyMMdd".',
            None,
        )
    if named_region is not None and named_region != region:
        raise malformed(f"the region '{named_region}' is wrong; expecting '{region}'", region)
    if named_service != service:
        raise malformed(
            f'incorrect service "{named_service}". This endpoint belongs to "{service}".', None
        )
    if terminal != "aws4_request":
        raise malformed(
            f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".', None
        )
    return akid, Scope(date, named_region, service)


# -- presigned query ------------------------------------------------------
#: A presigned request's memoized parameters, keyed on its whole request
#: target: :data:`Params`, then the amz date, its epoch, X-Amz-Expires, the
#: session token, X-Amz-Region-Set, X-Amz-Content-Sha256, the signature, the
#: validity window (POSIX seconds, the clock skew allowed before it), the
#: canonical URI and query the signature covers, and that query without an
#: unsigned session token (None without a token).
QueryParams = tuple[
    Params,
    str,
    int,
    int,
    str | None,
    str | None,
    str | None,
    str,
    tuple[float, float],
    str,
    str,
    str | None,
]


def _query_auth(
    vr: Verifier, method: str, target: str, pairs: list[tuple[str, str]], hmap: dict[str, str]
) -> _Auth:
    if len(target.partition("?")[2]) > vr.max_query_length:
        raise QueryTooLong(vr.max_query_length)
    hit = vr._query_cache.get(target) or _query_params(vr, target)
    p, amz, epoch, expires, token, region_set, sha, signature, _, curi, cquery, no_token = hit
    return _Auth(
        "presigned",
        method,
        target,
        pairs,
        hmap,
        *p[:7],
        signature,
        amz,
        epoch,
        token,
        expires=expires,
        curi=curi,
        cquery=cquery,
        cquery_no_token=no_token,
        region_set_text=region_set,
        query_sha256=sha,
    )


_piece_cache: Memo[str, str] = Memo(4096)
_value_cache: Memo[str, str] = Memo(4096)


def _query_params(vr: Verifier, target: str) -> QueryParams:
    """The presign parameters of a target, checked, and memoized on the whole
    target: a presigned URL used again (a shared download link) parses nothing.

    The query is read once, and each piece canonicalized through a memo: a
    client's credential, SignedHeaders and token repeat from URL to URL, only
    the date (canonical as sent) and the signature (not signed) are new.
    """
    path, _, query = target.partition("?")
    params: dict[str, str] = {}
    keep: list[str] = []
    token_piece = None
    exact = _PRESIGN_EXACT
    for piece in query.split("&"):
        raw_name, _, raw_value = piece.partition("=")
        canon = exact.get(raw_name)
        if canon is None and (raw_name[:6].lower() == "x-amz-" or "%" in raw_name):
            canon = _PRESIGN_NAMES.get(unquote(raw_name).lower())
        if canon is not None:
            if canon in params:
                raise AuthorizationQueryParametersError(
                    f"The {canon} query parameter appears more than once."
                )
            if "%" in raw_value or "+" in raw_value:
                raw_value = _value_cache.get(raw_value) or _value_cache.put(
                    raw_value, unquote(raw_value.replace("+", " "))
                )
            params[canon] = raw_value
            if canon == "X-Amz-Signature":
                continue
            if canon == "X-Amz-Security-Token":
                token_piece = piece
        if piece:
            keep.append(piece)
    if not _PRESIGN_REQUIRED <= params.keys():
        raise AuthorizationQueryParametersError()
    alg = params["X-Amz-Algorithm"]
    if alg not in vr._algorithms:
        raise AuthorizationQueryParametersError(
            "X-Amz-Algorithm only supports "
            + " and ".join(f'"{a}"' for a in sorted(vr._algorithms))
        )
    p = _params(vr, "presigned", alg, params["X-Amz-Credential"], params["X-Amz-SignedHeaders"])
    date = p[2].date
    amz = params["X-Amz-Date"]
    epoch = _amz_epoch(amz)
    if epoch is None:
        raise AuthorizationQueryParametersError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    if date != amz[:8]:
        raise AuthorizationQueryParametersError(
            f'Invalid credential date "{date}". This date is not the same as '
            f'X-Amz-Date: "{amz[:8]}".'
        )
    expires = _presign_expires(params["X-Amz-Expires"])
    date_piece = "X-Amz-Date=" + amz
    cache = _piece_cache
    try:
        curi = vr._canonical_target(path)[0]
        pieces = [
            q if q == date_piece else cache.get(q) or cache.put(q, _c.canonical_query(q))
            for q in keep
        ]
    except UnicodeEncodeError:
        raise SignatureDoesNotMatch(
            "The request signature we calculated does not match the signature you provided: "
            "the target has a character with no UTF-8 form (a lone surrogate), which no "
            "client can sign.",
            access_key_id=p[1],
        ) from None
    no_token = None
    if token_piece is not None:
        no_token = "&".join([c for q, c in zip(keep, pieces, strict=True) if q is not token_piece])
        no_token = _c.sort_canonical_query(no_token)
    return vr._query_cache.put(
        target,
        (
            p,
            amz,
            epoch,
            expires,
            params.get("X-Amz-Security-Token"),
            params.get("X-Amz-Region-Set"),
            params.get("X-Amz-Content-Sha256"),
            params["X-Amz-Signature"],
            (float(epoch - vr.max_skew), float(epoch + expires)),
            curi,
            _c.sort_canonical_query("&".join(pieces)),
            no_token,
        ),
    )
