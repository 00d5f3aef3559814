"""Find the mistake by trying it: re-sign a received request the wrong ways.

A server holding the secret can do better than a diff: it can compute the
signature the client *would* have produced under each common mistake
(path encoded once instead of twice, the query unsorted, headers untrimmed,
the payload hash of an empty body, the session token left out, another
region) and see which one equals the signature provided.  A hit names the
cause with certainty.  ``sigv4kit verify`` and the calculator use this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote, unquote_plus

from ..canonical import (
    EMPTY_SHA256,
    canonical_headers,
    canonical_query,
    canonical_uri,
    header_pairs,
)
from ..config import ALGORITHM_V4, service_defaults
from ..keys import signing_key
from ..rawhttp import RawRequest
from ._explain import parse_authorization

__all__ = ["Variant", "find_variant"]


@dataclass(frozen=True)
class Variant:
    cause: str
    description: str
    canonical_request: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find_variant(
    raw: RawRequest,
    secret: str,
    *,
    double_uri_encode: bool | None = None,
    normalize_path: bool | None = None,
) -> Variant | None:
    """The first common mistake whose signature equals the one provided."""
    auth_value = raw.header("authorization")
    if auth_value is None:
        return None
    auth = parse_authorization(auth_value)
    if auth is None or auth["algorithm"] != ALGORITHM_V4:
        return None
    scope = auth["scope"].split("/")
    if len(scope) != 4:
        return None
    date8, region, service, _ = scope
    amz = raw.header("x-amz-date") or ""
    d = service_defaults(service)
    dbl = d.double_uri_encode if double_uri_encode is None else double_uri_encode
    norm = d.normalize_path if normalize_path is None else normalize_path
    signed = auth["signed_headers"].split(";")
    wanted = frozenset(signed)
    pairs = header_pairs(raw.headers)
    path, _, query = raw.target.partition("?")
    claimed = raw.header("x-amz-content-sha256")
    body_hash = hashlib.sha256(raw.body).hexdigest()
    payload = claimed.strip() if claimed else body_hash
    provided = auth["signature"]

    def creq(
        uri: str | None = None,
        cquery: str | None = None,
        block: str | None = None,
        names: str | None = None,
        payload_hash: str | None = None,
    ) -> str:
        if block is None or names is None:
            block, names = canonical_headers(pairs, wanted, frozenset())
        return "\n".join(
            [
                raw.method,
                uri if uri is not None else canonical_uri(path, double_encode=dbl, normalize=norm),
                cquery if cquery is not None else canonical_query(query),
                block,
                names,
                payload_hash if payload_hash is not None else payload,
            ]
        )

    def attempts() -> Iterator[tuple[str, str, str, str]]:
        """(cause, description, region, canonical request)."""
        yield (
            "path-encoding",
            "the client encoded the path " + ("once" if dbl else "twice"),
            region,
            creq(uri=canonical_uri(path, double_encode=not dbl, normalize=norm)),
        )
        yield (
            "path-encoding",
            "the client " + ("did not normalize" if norm else "normalized") + " the path",
            region,
            creq(uri=canonical_uri(path, double_encode=dbl, normalize=not norm)),
        )
        yield (
            "path-encoding",
            "the client signed the path without encoding it",
            region,
            creq(uri=unquote(path) or "/"),
        )
        if query:
            yield (
                "query-encoding",
                "the client signed the query in its wire order, unsorted",
                region,
                creq(cquery=query),
            )
            decoded = [
                (unquote_plus(k), unquote_plus(v))
                for k, _, v in (p.partition("=") for p in query.split("&") if p)
            ]
            as_plus = "&".join(
                f"{quote_plus(k, safe='-_.~')}={quote_plus(v, safe='-_.~')}"
                for k, v in sorted(decoded)
            )
            yield (
                "query-encoding",
                "the client form-encoded the query (spaces as '+')",
                region,
                creq(cquery=as_plus),
            )
            yield (
                "query-encoding",
                "the client signed the query without encoding it",
                region,
                creq(cquery=_sorted_verbatim(unquote(query))),
            )
        untrimmed = "".join(
            f"{n}:{','.join(v for m, v in raw.headers if m.lower() == n)}\n" for n in sorted(wanted)
        )
        yield (
            "header-whitespace",
            "the client did not trim and collapse whitespace in header values",
            region,
            creq(block=untrimmed, names=";".join(sorted(wanted))),
        )
        for alt, what in (
            (body_hash, "the body's hash"),
            (EMPTY_SHA256, "an empty body's hash"),
            ("UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD"),
        ):
            if alt != payload:
                yield (
                    "payload-hash",
                    f"the client signed {what} as the payload",
                    region,
                    creq(payload_hash=alt),
                )
        if "x-amz-security-token" in wanted:
            less = frozenset(wanted - {"x-amz-security-token"})
            block, names = canonical_headers(pairs, less, frozenset())
            yield (
                "session-token",
                "the client did not sign X-Amz-Security-Token (added it after signing)",
                region,
                creq(block=block, names=names),
            )

    for cause, description, reg, text in attempts():
        sts = f"{ALGORITHM_V4}\n{amz}\n{date8}/{reg}/{service}/aws4_request\n{_sha(text)}"
        if signing_key(secret, date8, reg, service).hexdigest(sts.encode()) == provided:
            return Variant(cause, description, text)
    return None


def _sorted_verbatim(query: str) -> str:
    pairs = [tuple(p.partition("=")[::2]) for p in query.split("&") if p]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))
