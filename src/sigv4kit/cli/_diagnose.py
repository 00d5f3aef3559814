"""Why did the server say ``SignatureDoesNotMatch``?  Compare and name the cause.

A server that rejects a signature usually says what it computed: S3 returns
``CanonicalRequest`` and ``StringToSign`` in its XML error; most other AWS
services put "The Canonical String for this request should have been ..."
in the message.  Put that next to what the client signed, line by line, and
the difference names the mistake: a path encoded once instead of twice, a
query out of order, a header a proxy rewrote, a payload hash, a wrong
region, a clock that is off, a session token.

Everything here is pure: text in, a :class:`Diagnosis` out.  The command,
``request`` (on a 403) and the calculator all use it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ..canonical import normalize_path, trim_value

__all__ = [
    "CAUSES",
    "Cause",
    "ClientView",
    "Diagnosis",
    "DiffLine",
    "ServerError",
    "diagnose",
    "parse_error_body",
    "split_canonical_request",
]

MAX_BODY = 1 << 20


# --------------------------------------------------------------------------
# The causes we can name
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Cause:
    id: str
    title: str
    detail: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "detail": self.detail, "fix": self.fix}


#: id -> (title, how to fix)
CAUSES: dict[str, tuple[str, str]] = {
    "path-encoding": (
        "Path encoding",
        "S3 encodes the path once and never normalizes it; every other service encodes it "
        "twice and removes '.', '..' and '//'. Sign the path exactly as it is sent, with the "
        "service's rules (--single-encode / --double-encode, --no-normalize-path).",
    ),
    "query-encoding": (
        "Query encoding or order",
        "Encode every query name and value with the RFC 3986 unreserved set (uppercase hex, "
        "'~' not encoded, a space as %20, never '+') and sort by encoded name, then value. "
        "Sign the query exactly as it goes on the wire.",
    ),
    "header-whitespace": (
        "Header whitespace",
        "Trim header values and collapse inner runs of spaces to one before hashing, or send "
        "the header exactly as it was signed.",
    ),
    "header-changed": (
        "A header changed in transit",
        "A proxy, load balancer or the HTTP library changed, added or dropped a signed header "
        "after signing. Sign only headers that arrive unchanged (--signed-headers), sign after "
        "the library sets its headers, or send through a path that keeps them.",
    ),
    "payload-hash": (
        "Payload hash",
        "The body the server received does not hash to the payload hash that was signed: sign "
        "the exact bytes sent (encoding, newline at the end, compression), or sign "
        "UNSIGNED-PAYLOAD (--unsigned-payload) where the service allows it.",
    ),
    "wrong-region": (
        "Wrong region",
        "Sign with the region the endpoint is in (the bucket's region for S3).",
    ),
    "wrong-service": (
        "Wrong service name",
        "Sign with the service's signing name (e.g. 's3', 'execute-api', 'es', 'lambda').",
    ),
    "clock-skew": (
        "Clock skew or wrong timestamp",
        "Sync the clock (NTP), sign with the current UTC time, and send the X-Amz-Date that "
        "was signed; the date in the credential scope must be the same day as X-Amz-Date.",
    ),
    "session-token": (
        "Session token",
        "Temporary credentials need their session token sent as X-Amz-Security-Token "
        "(signed, unless the service wants it added after signing); refresh expired "
        "credentials and send the token of the same credentials as the keys.",
    ),
    "secret-key": (
        "Secret key",
        "The canonical request and string to sign agree, so the signing key differs: check the "
        "secret access key (a copy error, a trailing newline, another user's key) and that it "
        "belongs to the access key id sent.",
    ),
    "method": (
        "HTTP method changed",
        "Sign the method that is sent (a redirect or a client library may turn POST into GET "
        "or HEAD into GET).",
    ),
    "access-key": (
        "Unknown access key id",
        "The server does not know this access key id: check the key, the account and, for "
        "S3-compatible servers, the endpoint.",
    ),
}


def _cause(cid: str, detail: str) -> Cause:
    title, fix = CAUSES[cid]
    return Cause(cid, title, detail, fix)


# --------------------------------------------------------------------------
# Reading the server's answer
# --------------------------------------------------------------------------
@dataclass
class ServerError:
    """What a server said, as far as it can be read."""

    code: str | None = None
    message: str = ""
    canonical_request: str | None = None
    string_to_sign: str | None = None
    signature_provided: str | None = None
    access_key_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    format: str = "text"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "canonical_request": self.canonical_request,
            "string_to_sign": self.string_to_sign,
            "signature_provided": self.signature_provided,
            "access_key_id": self.access_key_id,
            "details": self.details,
            "format": self.format,
        }


_SHOULD_HAVE_BEEN = re.compile(
    r"The Canonical String for this request should have been\s*'(?P<cr>.*?)'\s*"
    r"The String-to-Sign should have been\s*'(?P<sts>[^']*)'",
    re.DOTALL,
)
_XML_FIELD = re.compile(r"<(?P<name>[A-Za-z]+)>(?P<value>[^<]*)</(?P=name)>", re.DOTALL)
_KNOWN_FIELDS = (
    "Code",
    "Message",
    "CanonicalRequest",
    "CanonicalRequestBytes",
    "StringToSign",
    "StringToSignBytes",
    "SignatureProvided",
    "AWSAccessKeyId",
)


def _xml_unescape(text: str) -> str:
    from xml.sax.saxutils import unescape

    text = re.sub(r"&#x([0-9A-Fa-f]+);", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"&#([0-9]+);", lambda m: chr(int(m.group(1))), text)
    return unescape(text, {"&quot;": '"', "&apos;": "'"})


def _from_hex_bytes(text: str) -> str | None:
    try:
        return bytes(int(b, 16) for b in text.split()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def parse_error_body(body: str | bytes) -> ServerError:
    """Read an S3 XML error, an AWS JSON/XML error, or a bare message.

    The input is untrusted text: no XML parser runs over it (simple elements
    are read with a regular expression, so entity tricks do nothing) and it
    is cut at 1 MiB.
    """
    if isinstance(body, bytes):
        body = body[:MAX_BODY].decode("utf-8", "replace")
    text = body[:MAX_BODY].strip()
    err = ServerError()
    fields: dict[str, str] = {}
    if text.startswith("<"):
        for m in _XML_FIELD.finditer(text):
            fields.setdefault(m.group("name"), _xml_unescape(m.group("value")))
        err.format = "s3-xml" if "CanonicalRequest" in fields or "<Error>" in text[:200] else "xml"
    elif text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            err.format = "json"
            fields.update(_json_fields(doc))
    if fields:
        err.code = fields.get("Code")
        err.message = fields.get("Message", "")
        cr_bytes = fields.get("CanonicalRequestBytes")
        sts_bytes = fields.get("StringToSignBytes")
        err.canonical_request = (_from_hex_bytes(cr_bytes) if cr_bytes else None) or fields.get(
            "CanonicalRequest"
        )
        err.string_to_sign = (_from_hex_bytes(sts_bytes) if sts_bytes else None) or fields.get(
            "StringToSign"
        )
        err.signature_provided = fields.get("SignatureProvided")
        err.access_key_id = fields.get("AWSAccessKeyId")
        err.details = {
            k: v for k, v in fields.items() if k not in _KNOWN_FIELDS and k not in ("Error",)
        }
    else:
        err.message = text
    if err.code and "#" in err.code:
        err.code = err.code.rpartition("#")[2]
    hit = _SHOULD_HAVE_BEEN.search(err.message) or _SHOULD_HAVE_BEEN.search(text)
    if hit is not None:
        if err.canonical_request is None:
            err.canonical_request = hit.group("cr")
        if err.string_to_sign is None:
            err.string_to_sign = hit.group("sts")
        if err.format == "text":
            err.format = "aws-message"
    if err.canonical_request is not None:
        err.canonical_request = err.canonical_request.replace("\r\n", "\n")
    if err.string_to_sign is not None:
        err.string_to_sign = err.string_to_sign.replace("\r\n", "\n").strip()
    return err


def _json_fields(doc: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            for k, v in _json_fields(value).items():
                out.setdefault(k, v)
            continue
        if not isinstance(value, str):
            continue
        lk = key.lower()
        if lk == "message":
            out.setdefault("Message", value)
        elif lk in ("__type", "code", "type"):
            out.setdefault("Code", value)
        else:
            out.setdefault(key[:1].upper() + key[1:], value)
    return out


# --------------------------------------------------------------------------
# Canonical requests, part by part
# --------------------------------------------------------------------------
@dataclass
class Parts:
    method: str
    uri: str
    query: str
    headers: list[tuple[str, str]]
    signed_headers: str
    payload_hash: str


def split_canonical_request(text: str) -> Parts | None:
    """The parts of a canonical request, or None if it does not look like one."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 6:
        return None
    try:
        end = lines.index("", 3)
    except ValueError:
        return None
    if len(lines) != end + 3:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[3:end]:
        name, _, value = line.partition(":")
        headers.append((name, value))
    return Parts(lines[0], lines[1], lines[2], headers, lines[end + 1], lines[end + 2])


def _line_labels(text: str) -> list[tuple[str, str]]:
    """Each line of a canonical request with the name of the part it is."""
    lines = text.split("\n")
    parts = split_canonical_request(text)
    if parts is None:
        return [("", line) for line in lines]
    out = [("method", lines[0]), ("canonical URI", lines[1]), ("canonical query", lines[2])]
    for name, value in parts.headers:
        out.append((f"header {name}", f"{name}:{value}"))
    out.append(("end of headers", ""))
    out.append(("signed headers", parts.signed_headers))
    out.append(("payload hash", parts.payload_hash))
    return out


_STS_LABELS = ["algorithm", "request date", "credential scope", "canonical request hash"]


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: ``" "`` same, ``"-"`` client signed, ``"+"`` server computed."""

    op: str
    label: str
    text: str

    def as_list(self) -> list[str]:
        return [self.op, self.label, self.text]


def _diff(client: list[tuple[str, str]], server: list[tuple[str, str]]) -> list[DiffLine]:
    out: list[DiffLine] = []
    a = [t for _, t in client]
    b = [t for _, t in server]
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.extend(DiffLine(" ", client[i][0], client[i][1]) for i in range(i1, i2))
            continue
        out.extend(DiffLine("-", client[i][0], client[i][1]) for i in range(i1, i2))
        out.extend(DiffLine("+", server[j][0], server[j][1]) for j in range(j1, j2))
    return out


# --------------------------------------------------------------------------
# Diagnosis
# --------------------------------------------------------------------------
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

    @property
    def cause_ids(self) -> list[str]:
        return [c.id for c in self.causes]

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
        self.causes.append(_cause(cid, detail))


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


def _query_pairs(q: str) -> list[tuple[str, str]]:
    return [tuple(p.partition("=")[::2]) for p in q.split("&") if p]  # type: ignore[misc]


def _query_detail(client: str, server: str, found: _Found) -> None:
    a, b = _query_pairs(client), _query_pairs(server)
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


def _headers_detail(client: Parts, server: Parts, found: _Found) -> None:
    ca = dict(client.headers)
    sa = dict(server.headers)
    for name in sorted(set(ca) | set(sa)):
        cv, sv = ca.get(name), sa.get(name)
        if cv == sv:
            continue
        if name == "x-amz-security-token":
            found.add(
                "session-token",
                "The X-Amz-Security-Token header differs between what was signed and what "
                "arrived (missing, refreshed or from other credentials).",
            )
            continue
        if name == "x-amz-content-sha256":
            found.add(
                "payload-hash",
                f"X-Amz-Content-SHA256 differs: you signed {cv!r}, the server got {sv!r}.",
            )
            continue
        if name == "x-amz-date":
            found.add(
                "clock-skew",
                f"X-Amz-Date differs: you signed {cv!r}, the server got {sv!r}.",
            )
            continue
        if (
            cv is not None
            and sv is not None
            and (trim_value(cv) == trim_value(sv) or " ".join(cv.split()) == " ".join(sv.split()))
        ):
            found.add(
                "header-whitespace",
                f"Header {name!r}: {cv!r} vs the server's {sv!r} differ only in whitespace.",
            )
            continue
        if cv is None:
            found.add("header-changed", f"Header {name!r} arrived ({sv!r}) but was not signed.")
        elif sv is None or sv == "":
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
    la = [(_STS_LABELS[i] if i < 4 else "", t) for i, t in enumerate(a)]
    lb = [(_STS_LABELS[i] if i < 4 else "", t) for i, t in enumerate(b)]
    diff = _diff(la, lb)
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
        d.canonical_request_diff = _diff(_line_labels(cc), _line_labels(sc))
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


def visible(text: str) -> str:
    """Make trailing spaces and tabs visible in a diff line."""
    stripped = text.rstrip(" \t")
    tail = text[len(stripped) :].replace(" ", "\u00b7").replace("\t", "\u2192")
    return stripped.replace("\t", "\u2192") + tail


def diff_canonical(client: str, server: str) -> list[DiffLine]:
    """A labelled line diff of two canonical requests (client ``-``, server ``+``)."""
    return _diff(_line_labels(client), _line_labels(server))
