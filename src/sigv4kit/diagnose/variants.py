"""Find the mistake by trying it: re-sign a received request the wrong ways.

A server holding the secret can do better than a diff: it can compute the
signature the client *would* have produced under each common mistake
(path encoded once instead of twice, the query unsorted, headers untrimmed,
the payload hash of an empty body, the session token left out) and see which
one equals the signature provided.  A hit names the cause with certainty.

Each family of mistakes is one small generator of :class:`Variant` values,
each a canonical request equal to the client's except for one part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote, unquote_plus

from ..canonical import (
    EMPTY_SHA256,
    CanonicalRequest,
    canonical_request,
    canonical_uri,
    header_pairs,
    selected_headers,
    string_to_sign,
)
from ..config import ALGORITHM_V4
from ..errors import SigV4Error
from ..keys import signing_key
from ..rawhttp import RawRequest
from .diff import query_pairs
from .received import ClientSigned, client_signed

__all__ = ["Variant", "find_variant"]


@dataclass(frozen=True)
class Variant:
    """One common mistake: its cause id, what was done, the canonical request it gives."""

    cause: str
    description: str
    canonical: CanonicalRequest  # ``.text`` is the canonical request


def find_variant(
    raw: RawRequest,
    secret: str,
    *,
    double_uri_encode: bool | None = None,
    normalize_path: bool | None = None,
) -> Variant | None:
    """The first common mistake whose signature equals the one provided."""
    try:
        client = client_signed(
            raw, double_uri_encode=double_uri_encode, normalize_path=normalize_path
        )
    except SigV4Error:
        return None
    scope = client.scope.split("/")
    if client.algorithm != ALGORITHM_V4 or len(scope) != 4:
        return None  # SigV4a signatures are randomized: nothing to reproduce
    date8, region, service, _ = scope
    key = signing_key(secret, date8, region, service)
    for attempt in _attempts(raw, client):
        sts = string_to_sign(client.algorithm, client.amz_date, client.scope, attempt.canonical)
        if key.hexdigest(sts.encode()) == client.signature:
            return attempt
    return None


def _attempts(raw: RawRequest, client: ClientSigned) -> Iterator[Variant]:
    families: tuple[Callable[[RawRequest, ClientSigned], Iterator[Variant]], ...] = (
        _path_mistakes,
        _query_mistakes,
        _header_mistakes,
        _payload_mistakes,
        _token_mistakes,
    )
    for family in families:
        yield from family(raw, client)


def _with(
    raw: RawRequest,
    client: ClientSigned,
    *,
    uri: str | None = None,
    query: str | None = None,
    payload_hash: str | None = None,
    signed: frozenset[str] | None = None,
) -> CanonicalRequest:
    """The client's canonical request with one part done the wrong way.

    Built by the one constructor the signer and the verifier use, so a
    variant differs from the real thing only in the part it replaces.
    """
    base = client.canonical
    wanted = frozenset(client.signed_headers) if signed is None else signed
    return canonical_request(
        base.method,
        base.uri if uri is None else uri,
        base.query if query is None else query,
        selected_headers(header_pairs(raw.headers), wanted),
        base.payload_hash if payload_hash is None else payload_hash,
    )


def _path_mistakes(raw: RawRequest, client: ClientSigned) -> Iterator[Variant]:
    path = raw.target.partition("?")[0]
    dbl, norm = client.double_uri_encode, client.normalize_path
    yield Variant(
        "path-encoding",
        "the client encoded the path " + ("once" if dbl else "twice"),
        _with(raw, client, uri=canonical_uri(path, double_encode=not dbl, normalize=norm)),
    )
    yield Variant(
        "path-encoding",
        "the client " + ("did not normalize" if norm else "normalized") + " the path",
        _with(raw, client, uri=canonical_uri(path, double_encode=dbl, normalize=not norm)),
    )
    yield Variant(
        "path-encoding",
        "the client signed the path without encoding it",
        _with(raw, client, uri=unquote(path) or "/"),
    )


def _query_mistakes(raw: RawRequest, client: ClientSigned) -> Iterator[Variant]:
    query = raw.target.partition("?")[2]
    if not query:
        return
    yield Variant(
        "query-encoding",
        "the client signed the query in its wire order, unsorted",
        _with(raw, client, query=query),
    )
    decoded = [(unquote_plus(k), unquote_plus(v)) for k, v in query_pairs(query)]
    unencoded = query_pairs(unquote(query))
    as_plus = "&".join(
        f"{quote_plus(k, safe='-_.~')}={quote_plus(v, safe='-_.~')}" for k, v in sorted(decoded)
    )
    yield Variant(
        "query-encoding",
        "the client form-encoded the query (spaces as '+')",
        _with(raw, client, query=as_plus),
    )
    yield Variant(
        "query-encoding",
        "the client signed the query without encoding it",
        _with(raw, client, query="&".join(f"{k}={v}" for k, v in sorted(unencoded))),
    )


def _header_mistakes(raw: RawRequest, client: ClientSigned) -> Iterator[Variant]:
    wanted = sorted(frozenset(client.signed_headers))
    untrimmed = "".join(
        f"{n}:{','.join(v for m, v in raw.headers if m.lower() == n)}\n" for n in wanted
    )
    # Deliberately not canonical (untrimmed values), so built from its six parts.
    c = client.canonical
    yield Variant(
        "header-whitespace",
        "the client did not trim and collapse whitespace in header values",
        CanonicalRequest(c.method, c.uri, c.query, untrimmed, ";".join(wanted), c.payload_hash),
    )


def _payload_mistakes(raw: RawRequest, client: ClientSigned) -> Iterator[Variant]:
    body_hash = hashlib.sha256(raw.body).hexdigest()
    for alt, what in (
        (body_hash, "the body's hash"),
        (EMPTY_SHA256, "an empty body's hash"),
        ("UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD"),
    ):
        if alt != client.canonical.payload_hash:
            yield Variant(
                "payload-hash",
                f"the client signed {what} as the payload",
                _with(raw, client, payload_hash=alt),
            )


def _token_mistakes(raw: RawRequest, client: ClientSigned) -> Iterator[Variant]:
    if "x-amz-security-token" not in client.signed_headers:
        return
    less = frozenset(client.signed_headers) - {"x-amz-security-token"}
    yield Variant(
        "session-token",
        "the client did not sign X-Amz-Security-Token (added it after signing)",
        _with(raw, client, signed=less),
    )
