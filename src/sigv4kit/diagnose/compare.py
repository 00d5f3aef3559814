"""Why did the server say ``SignatureDoesNotMatch``?  Compare and name the cause.

Put what the server computed (:mod:`.server_error`) next to what the client
signed, line by line, and the difference names the mistake: a path encoded
once instead of twice, a query out of order, a header a proxy rewrote, a
payload hash, a wrong region, a clock that is off, a session token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ..canonical import normalize_path, trim_value
from .causes import Cause, cause
from .diff import (
    STS_LABELS,
    DiffLine,
    Parts,
    diff_lines,
    line_labels,
    query_pairs,
    split_canonical_request,
)
from .server_error import ServerError

__all__ = ["ClientView", "Diagnosis", "diagnose"]


@dataclass
class ClientView:
    """What the client signed (from its own debug output, or re-signed by us)."""

    canonical_request: str | None = None
    string_to_sign: str | None = None


@dataclass
class Diagnosis:
    server: ServerError
    causes: list[Cause] = field(default_factory=list)
    canonical_request_diff: list[DiffLine] = field(default_factory=list)
    string_to_sign_diff: list[DiffLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.server.code,
            "message": self.server.message,
            "causes": [c.as_dict() for c in self.causes],
            "canonical_request_diff": [d.as_list() for d in self.canonical_request_diff],
            "string_to_sign_diff": [d.as_list() for d in self.string_to_sign_diff],
            "notes": self.notes,
            "server": self.server.as_dict(),
        }


class _Found:
    def __init__(self) -> None:
        self.causes: list[Cause] = []

    def add(self, cid: str, detail: str) -> None:
        for i, c in enumerate(self.causes):
            if c.id == cid:
                if detail not in c.detail:
                    self.causes[i] = Cause(c.id, c.title, f"{c.detail} {detail}", c.fix)
                return
        self.causes.append(cause(cid, detail))


_REGION_MSG = re.compile(r"scoped to a valid region(?:, not '(?P<got>[^']*)')?", re.I)
_SERVICE_MSG = re.compile(r"scoped to correct service:?\s*'(?P<want>[^']*)'", re.I)
_S3_REGION_MSG = re.compile(r"the region '(?P<got>[^']*)' is wrong; expecting '(?P<want>[^']*)'")
_EXPIRED_MSG = re.compile(r"Signature (expired|not yet current)", re.I)
_TOKEN_CODES = {
    "InvalidToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "TokenRefreshRequired",
}


def _from_code(err: ServerError, found: _Found) -> None:
    code = err.code or ""
    msg = err.message
    if code == "RequestTimeTooSkewed" or _EXPIRED_MSG.search(msg):
        when = ""
        if "RequestTime" in err.details and "ServerTime" in err.details:
            when = (
                f" The request was signed at {err.details['RequestTime']}; the server's time "
                f"was {err.details['ServerTime']}."
            )
        found.add("clock-skew", f"The server rejected the request time.{when}")
    if code in _TOKEN_CODES or "security token" in msg.lower():
        found.add("session-token", f"The server rejected the session token ({code or msg}).")
    m = _S3_REGION_MSG.search(msg)
    if m is not None or (code == "AuthorizationHeaderMalformed" and "Region" in err.details):
        got = m.group("got") if m else "?"
        want = m.group("want") if m else err.details.get("Region", "?")
        found.add("wrong-region", f"Signed for region '{got}'; the server expects '{want}'.")
    m2 = _REGION_MSG.search(msg)
    if m2 is not None:
        got = f" '{m2.group('got')}'" if m2.group("got") else ""
        found.add("wrong-region", f"The server does not accept the signed region{got}.")
    m3 = _SERVICE_MSG.search(msg)
    if m3 is not None:
        found.add("wrong-service", f"The server expects the service name '{m3.group('want')}'.")
    if code in ("XAmzContentSHA256Mismatch", "BadDigest"):
        found.add("payload-hash", f"{code}: the body does not match the hash that was sent.")
    if code == "InvalidAccessKeyId":
        found.add("access-key", f"The access key id {err.access_key_id or ''} is unknown.")


def _path_detail(client: str, server: str) -> str:
    if unquote(server) == client and server != client:
        return (
            f"The server encoded the path once more than you did ({client!r} -> {server!r}): "
            "non-S3 services double-encode."
        )
    if unquote(client) == server and server != client:
        return (
            f"You encoded the path once more than the server ({client!r}, server {server!r}): "
            "S3 encodes the path once."
        )
    if normalize_path(unquote(client)) == normalize_path(unquote(server)):
        return (
            f"Dot segments or '//' were treated differently ({client!r} vs the server's "
            f"{server!r}): only non-S3 services normalize the path."
        )
    if unquote(unquote(client)) == unquote(unquote(server)):
        return f"The path is encoded differently: you signed {client!r}, the server {server!r}."
    return (
        f"The path differs: you signed {client!r}, the server received {server!r} "
        "(a client library, redirect or proxy changed it)."
    )


def _query_detail(client: str, server: str, found: _Found) -> None:
    a, b = query_pairs(client), query_pairs(server)
    tok_a = [v for k, v in a if k.lower() == "x-amz-security-token"]
    tok_b = [v for k, v in b if k.lower() == "x-amz-security-token"]
    if tok_a != tok_b:
        found.add("session-token", "The X-Amz-Security-Token query parameter differs.")
        a = [p for p in a if p[0].lower() != "x-amz-security-token"]
        b = [p for p in b if p[0].lower() != "x-amz-security-token"]
        if a == b:
            return
    if sorted(a) == sorted(b):
        found.add(
            "query-encoding",
            "Same parameters in a different order: sort by encoded name, then value.",
        )
        return

    def dec(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return sorted(
            (unquote(k.replace("+", " ")), unquote(v.replace("+", " "))) for k, v in pairs
        )

    if dec(a) == dec(b):
        found.add(
            "query-encoding",
            f"The same parameters encoded differently: you signed {client!r}, the server "
            f"{server!r} (spaces are %20, never '+'; '~' stays; hex is uppercase).",
        )
        return
    names_a, names_b = {k for k, _ in a}, {k for k, _ in b}
    if names_a != names_b:
        extra = sorted(names_b - names_a)
        gone = sorted(names_a - names_b)
        what = []
        if extra:
            what.append(f"the server also got {', '.join(extra)}")
        if gone:
            what.append(f"the server did not get {', '.join(gone)}")
        found.add("query-encoding", "The query parameters differ: " + "; ".join(what) + ".")
        return
    found.add(
        "query-encoding",
        f"The query values differ: you signed {client!r}, the server {server!r}.",
    )


# Signed headers whose difference is a cause of its own, not a header changed in transit.
_HEADER_CAUSES = {
    "x-amz-security-token": (
        "session-token",
        "The X-Amz-Security-Token header differs between what was signed and what arrived "
        "(missing, refreshed or from other credentials).",
    ),
    "x-amz-content-sha256": (
        "payload-hash",
        "X-Amz-Content-SHA256 differs: you signed {cv!r}, the server got {sv!r}.",
    ),
    "x-amz-date": ("clock-skew", "X-Amz-Date differs: you signed {cv!r}, the server got {sv!r}."),
}


def _headers_detail(client: Parts, server: Parts, found: _Found) -> None:
    ca = dict(client.headers)
    sa = dict(server.headers)
    for name in sorted(set(ca) | set(sa)):
        cv, sv = ca.get(name), sa.get(name)
        if cv == sv:
            continue
        if name in _HEADER_CAUSES:
            cid, detail = _HEADER_CAUSES[name]
            found.add(cid, detail.format(cv=cv, sv=sv))
        elif (
            cv is not None
            and sv is not None
            and (trim_value(cv) == trim_value(sv) or " ".join(cv.split()) == " ".join(sv.split()))
        ):
            found.add(
                "header-whitespace",
                f"Header {name!r}: {cv!r} vs the server's {sv!r} differ only in whitespace.",
            )
        elif cv is None:
            found.add("header-changed", f"Header {name!r} arrived ({sv!r}) but was not signed.")
        elif not sv:
            found.add(
                "header-changed",
                f"Header {name!r} was signed ({cv!r}) but did not arrive (dropped in transit).",
            )
        else:
            found.add(
                "header-changed",
                f"Header {name!r} was signed as {cv!r} but arrived as {sv!r}.",
            )


def _sts_detail(
    client: str, server: str, same_cr: bool, redacted: bool, found: _Found
) -> list[DiffLine]:
    a = client.strip().split("\n")
    b = server.strip().split("\n")
    la = [(STS_LABELS[i] if i < 4 else "", t) for i, t in enumerate(a)]
    lb = [(STS_LABELS[i] if i < 4 else "", t) for i, t in enumerate(b)]
    diff = diff_lines(la, lb)
    if len(a) != 4 or len(b) != 4:
        return diff
    if a[1] != b[1]:
        found.add(
            "clock-skew",
            f"The request date differs: you signed {a[1]}, the server used {b[1]}.",
        )
    sa, sb = a[2].split("/"), b[2].split("/")
    if sa != sb:
        if sa[0] != sb[0]:
            found.add(
                "clock-skew",
                f"The scope date differs: {sa[0]} vs the server's {sb[0]} (the scope date "
                "must be the UTC day of X-Amz-Date).",
            )
        if len(sa) == len(sb) == 4:
            if sa[1] != sb[1]:
                found.add(
                    "wrong-region", f"Signed for region '{sa[1]}'; the server used '{sb[1]}'."
                )
            if sa[2] != sb[2]:
                found.add(
                    "wrong-service", f"Signed for service '{sa[2]}'; the server used '{sb[2]}'."
                )
        elif len(sa) == len(sb) == 3 and sa[1] != sb[1]:
            found.add("wrong-service", f"Signed for service '{sa[1]}'; the server used '{sb[1]}'.")
    if a[3] != b[3] and same_cr and redacted:
        found.add(
            "session-token",
            "The canonical requests agree except for the session token, which the server "
            "hides: the token sent is not the token that was signed.",
        )
    elif a[3] != b[3] and same_cr:
        found.add(
            "header-whitespace",
            "The canonical requests look the same but hash differently: an invisible "
            "difference (trailing spaces, a tab, a different line ending or encoding).",
        )
    return diff


_REDACTIONS = ("<redacted>",)
_TOKEN_LINE = re.compile(r"^x-amz-security-token:(.*)$", re.M)
_TOKEN_PARAM = re.compile(r"(?:^|&)X-Amz-Security-Token=([^&\n]*)", re.M)


def _match_redaction(client_cr: str, server: ServerError) -> tuple[str, bool]:
    """Servers hide the session token in their debug output; hide ours the same way."""
    sc = server.canonical_request or ""
    redacted = False
    for mark in _REDACTIONS:
        if mark not in sc:
            continue
        for rx in (_TOKEN_LINE, _TOKEN_PARAM):
            s_m, c_m = rx.search(sc), rx.search(client_cr)
            if s_m is not None and c_m is not None and s_m.group(1) == mark and c_m.group(1):
                client_cr = client_cr.replace(c_m.group(1), mark)
                redacted = True
    return client_cr, redacted


def diagnose(server: ServerError, client: ClientView | None = None) -> Diagnosis:
    """Compare what the server computed with what the client signed; name causes."""
    d = Diagnosis(server)
    found = _Found()
    _from_code(server, found)
    client = client or ClientView()
    same_cr = False
    redacted = False
    if server.canonical_request is not None and client.canonical_request is not None:
        sc = server.canonical_request
        cc, redacted = _match_redaction(client.canonical_request, server)
        d.canonical_request_diff = diff_lines(line_labels(cc), line_labels(sc))
        same_cr = sc == cc
        cp, sp = split_canonical_request(cc), split_canonical_request(sc)
        if cp is not None and sp is not None and not same_cr:
            if cp.method != sp.method:
                found.add("method", f"You signed {cp.method}; the server received {sp.method}.")
            if cp.uri != sp.uri:
                found.add("path-encoding", _path_detail(cp.uri, sp.uri))
            if cp.query != sp.query:
                _query_detail(cp.query, sp.query, found)
            if cp.headers != sp.headers:
                _headers_detail(cp, sp, found)
            if cp.signed_headers != sp.signed_headers:
                a = set(cp.signed_headers.split(";"))
                b = set(sp.signed_headers.split(";"))
                if (a ^ b) == {"x-amz-security-token"}:
                    found.add("session-token", "One side signed X-Amz-Security-Token, one not.")
                elif not any(c.id == "header-changed" for c in found.causes):
                    found.add(
                        "header-changed",
                        f"Signed headers differ: {cp.signed_headers} vs the server's "
                        f"{sp.signed_headers}.",
                    )
            if cp.payload_hash != sp.payload_hash:
                found.add(
                    "payload-hash",
                    f"You signed the payload hash {cp.payload_hash}; the server computed "
                    f"{sp.payload_hash}.",
                )
    elif server.canonical_request is not None:
        d.notes.append(
            "Give the request as the client signed it (METHOD URL and flags, --request FILE, "
            "or --canonical-request FILE) to see a line-by-line comparison."
        )
    if server.string_to_sign is not None and client.string_to_sign is not None:
        d.string_to_sign_diff = _sts_detail(
            client.string_to_sign, server.string_to_sign, same_cr, redacted, found
        )
        if (
            same_cr
            and server.string_to_sign.strip() == client.string_to_sign.strip()
            and (server.code in (None, "SignatureDoesNotMatch", "InvalidSignatureException"))
        ):
            found.add(
                "secret-key",
                "The server computed exactly the canonical request and string to sign that "
                "were signed, yet the signature differs.",
            )
    elif server.canonical_request is None and server.string_to_sign is None and not found.causes:
        d.notes.append(
            "The error carries no canonical request or string to sign; S3 includes them in "
            "SignatureDoesNotMatch errors, and most AWS services in the message."
        )
    d.causes = found.causes
    return d
