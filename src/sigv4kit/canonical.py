"""Canonicalization: the one place where SigV4's encoding rules live, called
by signer and verifier alike so they cannot disagree.

* **Wire form** (:func:`wire_path`, :func:`wire_query`, :func:`split_url`): a
  URL a person typed made into a request target an HTTP client sends
  unchanged (bytes not allowed there percent-encoded, valid escapes kept).
  The signer signs exactly this and hands it back as ``signed.url``.
* **Canonical form** (:func:`canonical_uri`, :func:`canonical_query`,
  :func:`canonical_headers`, :func:`canonical_request_for_target`): what the
  server computes from the target it received, verbatim.

Rules (AWS "Create a canonical request for Signature Version 4"):

* URI: every byte but ``A-Za-z0-9-_.~`` and ``/`` percent-encoded with
  uppercase hex.  Ordinary services encode the wire path once more ("double
  encoding": ``%20`` is signed as ``%2520``) after removing dot segments and
  empty segments; S3 decodes the wire path and encodes it once, and never
  normalizes (``a//b`` and ``a/./b`` are distinct keys).
* Query: each name and value decoded (a raw ``+`` is a space, as in form
  encoding) and re-encoded, then sorted by encoded name, then value.
* Headers: lowercase names, values trimmed with runs of spaces/tabs collapsed,
  repeated names joined with ``,`` in order, sorted by name.
  Trailing headers of an aws-chunked body follow the same rule
  (:func:`canonical_trailers`).
"""

from __future__ import annotations

# Not collections.abc nor operator: each costs about a millisecond at start-up;
# the C modules they wrap are loaded by every interpreter.
from _collections_abc import Iterable, Mapping, Sequence
from _operator import itemgetter
from hashlib import sha256 as _sha256

from ._memo import Memo
from .errors import SigningError

# Character classes as bytes, for one C-level check each (see _only): importing
# re would cost about 8 ms at start-up, more than the rest of a first signature.
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PLAIN_PATH = _UNRESERVED + b"/"
_PLAIN_QUERY = _UNRESERVED + b"=&"
# pchar without '%' (RFC 3986): unreserved, sub-delims, ':' and '@', plus '/'.
_PATH_WIRE_OK = _UNRESERVED + b"!$&'()*+,;=:@/"
_QUERY_WIRE_OK = _PATH_WIRE_OK + b"?"
_HEX = b"0123456789ABCDEFabcdef"
_TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BAD_VALUE = frozenset([*map(chr, range(0x09)), *map(chr, range(0x0A, 0x20)), "\x7f"])
_SCHEME = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-"
_HOST = b"abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%"
_DNS_NAME = b"abcdefghijklmnopqrstuvwxyz0123456789-."

# urllib.parse costs start-up time (it imports ipaddress): percent-encoding is
# done here by table, byte for byte as urllib.parse.quote does; decoding, which
# only unusual paths and queries need, binds urllib.parse's on first use.
_quote_tables: dict[str, tuple[bytes, tuple[str, ...]]] = {}


def quote_from_bytes(bs: bytes, safe: str = "/") -> str:
    """``urllib.parse.quote_from_bytes``: every byte but ``A-Za-z0-9_.-~``
    and the ASCII characters of ``safe`` as ``%XX`` (uppercase hex)."""
    got = _quote_tables.get(safe)
    if got is None:
        keep = _UNRESERVED + safe.encode("ascii", "ignore")
        table = tuple(chr(b) if b in keep else f"%{b:02X}" for b in range(256))
        got = _quote_tables[safe] = (keep, table)
    if not bs.translate(None, got[0]):
        return bs.decode("ascii")
    return bs.decode("latin-1").translate(got[1])


def quote(string: str, safe: str = "/") -> str:
    """``urllib.parse.quote`` of text: its UTF-8 bytes, encoded as above."""
    return quote_from_bytes(string.encode("utf-8"), safe) if string else string


def unquote_to_bytes(string: str) -> bytes:
    import urllib.parse

    globals()["unquote_to_bytes"] = unquote = urllib.parse.unquote_to_bytes
    return unquote(string)


__all__ = [
    "DEFAULT_PORTS",
    "EMPTY_SHA256",
    "CanonicalRequest",
    "HeaderInput",
    "StringToSign",
    "canonical_block",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_request_for_target",
    "canonical_trailers",
    "canonical_uri",
    "credential_scope",
    "header_pairs",
    "normalize_path",
    "selected_headers",
    "simple_url",
    "split_url",
    "string_to_sign",
    "string_to_sign_text",
    "trim_value",
    "uri_encode",
    "wire_path",
    "wire_query",
]

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]] | None


def _only(text: str, allowed: bytes) -> bool:
    """``re.fullmatch("[allowed]*", text)`` without a regular expression."""
    return text.isascii() and not text.encode().translate(None, allowed)


def _canonical_form(query: str) -> bool:
    """Whether ``query`` is already canonical piece by piece: ``name=value``
    pairs joined by ``&``, names non-empty, unreserved characters only."""
    if not query.isascii():
        return False
    b = query.encode()
    if b.translate(None, _PLAIN_QUERY) or b[:1] == b"=" or b"&=" in b:
        return False
    # What is left between the unreserved runs must read "=&=&...=".
    seps = b.translate(None, _UNRESERVED)
    return seps == b"=&" * (len(seps) >> 1) + b"="


def _trimall(value: str) -> str:
    """Runs of spaces and tabs as one space, and no space at either end."""
    return " ".join([part for part in value.replace("\t", " ").split(" ") if part])


#: The port each scheme implies: a URL naming it is the URL without it.
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_DEFAULT_PORTS = {scheme: str(port) for scheme, port in DEFAULT_PORTS.items()}


def _check_utf8(what: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SigningError(
            f"{what} contains {text[exc.start]!r}, a lone surrogate that has no UTF-8 form; "
            "it usually comes from decoding bytes with errors='surrogateescape'"
        ) from None


def uri_encode(text: str, safe: str = "") -> str:
    """Percent-encode ``text`` (UTF-8) except ``A-Za-z0-9-_.~`` and ``safe``."""
    return quote(text, safe=safe)


# -- Wire form
def _wire_encode(text: str, ok: bytes, extra_unsafe: str) -> str:
    """Encode what may not appear in a request target; keep valid escapes."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "%":
            if len(text) > i + 2 and _only(text[i + 1 : i + 3], _HEX):
                out.append(text[i : i + 3])
                i += 3
                continue
            out.append("%25")
        elif c in extra_unsafe or not (c.isascii() and ord(c) in ok):
            out.append(quote(c, safe=""))
        else:
            out.append(c)
        i += 1
    return "".join(out)


def wire_path(path: str, *, plus_is_space: bool = False) -> str:
    """Make ``path`` valid in a request target.

    With ``plus_is_space`` (S3), a raw ``+`` is sent as ``%2B``: the server
    would read a raw ``+`` as a space, and users who type ``+`` mean a plus.
    """
    if not path:
        return "/"
    if "%" not in path and _only(path, _PATH_WIRE_OK) and not (plus_is_space and "+" in path):
        return path
    return _wire_encode(path, _PATH_WIRE_OK, "+" if plus_is_space else "")


def wire_query(query: str) -> str:
    """Make ``query`` valid in a request target (a space becomes ``%20``)."""
    if "%" not in query and _only(query, _QUERY_WIRE_OK):
        return query
    return _wire_encode(query, _QUERY_WIRE_OK, "")


def split_url(url: str, *, plus_is_space: bool = False) -> tuple[str, str, str, str, str]:
    """Split an absolute URL into its wire form.

    Returns ``(scheme, netloc, host_header, path, query)``: ``netloc`` is what
    goes in the URL, ``host_header`` the value of ``Host`` (lowercase, default
    port dropped, IPv6 bracketed), ``path`` and ``query`` are wire-valid.
    User info and the fragment are dropped: neither is sent to the server.
    """
    if not isinstance(url, str):
        raise SigningError(f"url must be a string, got {type(url).__name__}")
    if not url.isascii():
        _check_utf8("URL", url)
    # ([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?, by partition.
    scheme, sep, rest = url.partition("://")
    if not (sep and scheme and scheme[0].isalpha() and _only(scheme, _SCHEME)):
        raise SigningError(
            f"cannot parse URL {url!r}: expected an absolute URL such as "
            "'https://bucket.s3.amazonaws.com/key?x=1'"
        )
    before, _, query = rest.partition("#")[0].partition("?")
    authority, slash, path = before.partition("/")
    scheme, path = scheme.lower(), slash + path
    if "@" in authority:
        authority = authority.rpartition("@")[2]
    if not authority:
        raise SigningError(f"URL {url!r} has no host")
    host, port = _split_host_port(authority, url)
    netloc = host if not port else f"{host}:{port}"
    host_header = host if (not port or _DEFAULT_PORTS.get(scheme) == port) else netloc
    return (
        scheme,
        netloc,
        host_header,
        wire_path(path, plus_is_space=plus_is_space),
        wire_query(query) if query else "",
    )


def simple_url(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme, host, path, query)`` of most URLs, else ``None``.

    Most URLs are http(s), a lowercase DNS name without port or user info, a
    path of unreserved characters and '/' and an already canonical query: they
    are wire-valid and canonical as they stand (normalization aside), so the
    general parse is not needed.  ``path`` is ``""`` when the URL has none.
    """
    scheme, sep, rest = url.partition("://")
    if not (sep and (scheme == "https" or scheme == "http") and rest.isascii()):
        return None
    before, q, query = rest.partition("?")
    # Host and path in one pass, then the host alone (a hot path: no calls).
    if before.encode().translate(None, _PLAIN_PATH) or (q and not _canonical_form(query)):
        return None
    host, slash, path = before.partition("/")
    if not host or host.encode().translate(None, _DNS_NAME) or host[0] in "-." or host[-1] in "-.":
        return None
    return scheme, host, slash + path, query


def _split_host_port(authority: str, url: str) -> tuple[str, str]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise SigningError(f"URL {url!r} has an unterminated IPv6 address")
        host = authority[: end + 1].lower()
        rest = authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SigningError(f"URL {url!r} has junk after the IPv6 address")
        port = rest[1:]
    else:
        host, _, port = authority.partition(":")
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise SigningError(f"URL {url!r} has an invalid host name: {exc}") from None
        host = host.lower()
        if not host or not _only(host, _HOST):
            raise SigningError(f"URL {url!r} has an invalid host name {host!r}")
    if port and not port.isdigit():
        raise SigningError(f"URL {url!r} has a non-numeric port {port!r}")
    return host, port


# -- Canonical URI and query
def normalize_path(path: str) -> str:
    """Remove ``.``/``..`` and empty segments, as botocore and aws-c-auth do.

    A trailing ``/`` stays only when the input ends with ``/``: ``/a/b/..``
    becomes ``/a``.
    """
    out: list[str] = []
    for seg in path.split("/"):
        if not seg or seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
        else:
            out.append(seg)
    if not out:
        return "/"
    result = "/" + "/".join(out)
    return result + "/" if path.endswith("/") else result


def canonical_uri(
    path: str,
    *,
    double_encode: bool,
    normalize: bool,
    plus_is_space: bool = False,
) -> str:
    """The canonical URI of a request-target path taken verbatim."""
    if not path:
        return "/"
    if normalize and ("//" in path or "/." in path or not path.startswith("/")):
        path = normalize_path(path)
    if _only(path, _PLAIN_PATH):
        return path
    if double_encode:
        return quote(path, safe="/")
    if plus_is_space and "+" in path:
        path = path.replace("+", " ")
    return quote_from_bytes(unquote_to_bytes(path), safe="/")


def _decode_encode(part: str) -> str:
    return quote_from_bytes(unquote_to_bytes(part.replace("+", " ")), safe="")


def query_pairs(query: str) -> list[tuple[str, str]]:
    """Each parameter decoded and re-encoded, in wire order; empty pieces
    (``a=1&&b=2``) are skipped, a parameter without ``=`` has an empty value."""
    pairs: list[tuple[str, str]] = []
    plain = _only(query, _PLAIN_QUERY)
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if not plain:
            name = _decode_encode(name)
            value = _decode_encode(value)
        elif "=" in value:
            # "a=b=c": only the first '=' separates; the rest is data.
            value = value.replace("=", "%3D")
        pairs.append((name, value))
    return pairs


def sort_canonical_query(query: str) -> str:
    """Sort a query whose every piece is already canonical: only the order
    changes.  With "=" swapped for "\x01", which sorts below every unreserved
    character, string order is (name, value) order ("a=1" before "a-b=1")."""
    parts = query.replace("=", "\x01").split("&")
    parts.sort()
    return "&".join(parts).replace("\x01", "=")


def canonical_query(query: str, extra: Iterable[tuple[str, str]] = ()) -> str:
    """The canonical query string of a wire query, plus already-encoded ``extra``."""
    if not extra and _canonical_form(query):
        return sort_canonical_query(query)
    pairs = query_pairs(query) if query else []
    if extra:
        pairs.extend(extra)
    if not pairs:
        return ""
    pairs.sort()
    return "&".join([f"{k}={v}" for k, v in pairs])


# -- Headers
_name_cache: Memo[str, str] = Memo(4096)


def _lower_name(name: str) -> str:
    lname = _name_cache.get(name)
    if lname is not None:
        return lname
    if not isinstance(name, str) or not name or not _only(name, _TOKEN):
        raise SigningError(
            f"invalid header name {name!r}: header names are letters, digits and "
            "!#$%&'*+-.^_`|~ only (no spaces or colons)"
        )
    return _name_cache.put(name, name.lower())


def check_header_value(name: str, value: str) -> str:
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise SigningError(f"header {name!r} has a {type(value).__name__} value; use a string")
    if not value.isascii():
        _check_utf8(f"header {name!r}", value)
    if not _BAD_VALUE.isdisjoint(value):
        raise SigningError(
            f"header {name!r} contains a line break or control character; a header value "
            "must be one line (CR/LF would let it inject other headers)"
        )
    return value


def header_pairs(headers: HeaderInput) -> list[tuple[str, str]]:
    """Headers as a list of validated ``(name, value)`` pairs, order kept."""
    return [(name, value) for name, _, value in lowered_pairs(headers)]


def lowered_pairs(headers: HeaderInput) -> list[tuple[str, str, str]]:
    """Validated ``(name, lowercase name, value)`` triples, order kept: the
    signer's hot path, checks skipped for names seen and printable values."""
    if headers is None:
        return []
    items: Iterable[tuple[str, str]]
    if isinstance(headers, Mapping):
        items = headers.items()
    elif isinstance(headers, (str, bytes)):
        raise SigningError("headers must be a mapping or a list of (name, value) pairs")
    else:
        items = headers
    cache = _name_cache
    out: list[tuple[str, str, str]] = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise SigningError(f"headers must be (name, value) pairs; got {item!r}") from None
        lname = cache.get(name) if name.__class__ is str else None
        if lname is None:
            lname = _lower_name(name)
        if value.__class__ is not str or not value.isprintable():
            value = check_header_value(name, value)
        out.append((name, lname, value))
    return out


def canonical_block(items: list[tuple[str, str]]) -> tuple[str, str]:
    """``(canonical headers block, signed headers)`` from ``(lowercase name, value)``
    pairs that are already filtered; repeated names keep their order."""
    items.sort(key=_first)  # stable: values of a repeated name keep their order
    lines: list[str] = []
    names: list[str] = []
    prev = ""
    for name, value in items:
        if "\t" in value or "  " in value:
            value = _trimall(value)
        value = value.strip(" ")
        if name == prev:
            lines[-1] = f"{lines[-1]},{value}"
        else:
            lines.append(f"{name}:{value}")
            names.append(name)
            prev = name
    lines.append("")
    return "\n".join(lines), ";".join(names)


# C-level sort key: a Python key function would cost a call per header.
_first = itemgetter(0)


def trim_value(value: str) -> str:
    """Trim and collapse runs of spaces and tabs (AWS "Trimall")."""
    if "\t" in value or "  " in value:
        value = _trimall(value)
    return value.strip(" ")


def canonical_trailers(trailers: Iterable[tuple[str, str]]) -> str:
    """The canonical text of trailing headers, whose SHA-256 the trailer
    signature of an aws-chunked body covers: the header rule, by the same code.

    AWS's suites do not say otherwise: their trailer vectors have one value
    per name and nothing to trim, and aws-c-auth canonicalizes trailers with
    the function it uses for request headers.
    """
    return canonical_block([(_lower_name(n), v) for n, v in trailers])[0]


def selected_headers(
    pairs: Iterable[tuple[str, str]],
    include: frozenset[str] | None,
    skip: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """``(lowercase name, value)`` of the headers to sign: those in
    ``include`` (if given), else all but ``skip``."""
    items: list[tuple[str, str]] = []
    for name, value in pairs:
        lname = _lower_name(name)
        if lname in skip if include is None else lname not in include:
            continue
        items.append((lname, value))
    return items


def canonical_headers(
    pairs: Iterable[tuple[str, str]],
    include: frozenset[str] | None,
    skip: frozenset[str],
) -> tuple[str, str]:
    """Return ``(canonical_headers_block, signed_headers)`` of raw ``(name, value)``
    pairs: :func:`selected_headers`, then :func:`canonical_block`."""
    return canonical_block(selected_headers(pairs, include, skip))


# -- The canonical request
def credential_scope(
    date: str, region: str | None, service: str, terminal: str = "aws4_request"
) -> str:
    """``date/region/service/aws4_request``; SigV4a scopes (``region`` None)
    have no region: the region set travels in its own header."""
    if region is None:
        return f"{date}/{service}/{terminal}"
    return f"{date}/{region}/{service}/{terminal}"


class CanonicalRequest(tuple[str, str, str, str, str, str, str]):
    """A canonical request, part by part; ``.text`` (and ``str()``) is the
    exact text signed, rendered once when the value is built.

    A tuple underneath: the signer builds one per request, and a tuple is the
    cheapest immutable value Python has.  Build it with
    :func:`canonical_request` (the one constructor) or from its six parts.
    """

    __slots__ = ()

    def __new__(
        cls,
        method: str,
        uri: str,
        query: str,
        headers: str,
        signed_headers: str,
        payload_hash: str,
    ) -> CanonicalRequest:
        text = f"{method}\n{uri}\n{query}\n{headers}\n{signed_headers}\n{payload_hash}"
        return tuple.__new__(cls, (method, uri, query, headers, signed_headers, payload_hash, text))

    def __getnewargs__(self) -> tuple[str, str, str, str, str, str]:
        return self[:6]

    @property
    def method(self) -> str:
        return self[0]

    @property
    def uri(self) -> str:
        return self[1]

    @property
    def query(self) -> str:
        return self[2]

    @property
    def headers(self) -> str:
        """The canonical headers block, each line ending in ``\\n``."""
        return self[3]

    @property
    def signed_headers(self) -> str:
        return self[4]

    @property
    def payload_hash(self) -> str:
        return self[5]

    @property
    def text(self) -> str:
        return self[6]

    def __str__(self) -> str:
        return self[6]

    def __repr__(self) -> str:
        return (
            f"CanonicalRequest(method={self[0]!r}, uri={self[1]!r}, query={self[2]!r}, "
            f"headers={self[3]!r}, signed_headers={self[4]!r}, payload_hash={self[5]!r})"
        )


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: list[tuple[str, str]],
    payload_hash: str,
    *,
    signed: str | None = None,
    names: Sequence[str] = (),
    index: Mapping[str, str] | None = None,
) -> CanonicalRequest:
    """The canonical request: the one constructor, with the fast paths inside.

    ``uri`` and ``query`` are canonical already.  ``headers`` are
    ``(lowercase name, value)`` pairs:

    * without ``signed`` (a signer): exactly the headers to sign, in any
      order, a name possibly repeated;
    * with ``signed`` (a verifier: the ``SignedHeaders`` text received, split
      into ``names``): every header received; those named are used.
      ``index`` maps each received name to its values joined by ``,``; when
      no name repeats and ``signed`` is canonical (sorted, lowercase, unique:
      the usual case) the block follows ``names`` directly.  A ``signed``
      that is not canonical makes the result's ``signed_headers`` differ from
      it, which the verifier treats as a mismatch.
    """
    if signed is None:
        if len(headers) == 1:
            # One header (a presigned URL signs host only): nothing to sort.
            name, value = headers[0]
            if "\t" in value or "  " in value:
                value = _trimall(value)
            block, signed_names = f"{name}:{value.strip(' ')}\n", name
        else:
            block, signed_names = canonical_block(headers)
    elif index is not None and len(headers) == len(index) and _is_canonical_list(signed):
        block = "".join([f"{n}:{index[n]}\n" for n in names])
        if _may_need_trim(block):
            block = "".join([f"{n}:{trim_value(index[n])}\n" for n in names])
        signed_names = signed
    else:
        wanted = frozenset(names)
        block, signed_names = canonical_block([p for p in headers if p[0] in wanted])
    text = f"{method}\n{uri}\n{query}\n{block}\n{signed_names}\n{payload_hash}"
    return _new_tuple(
        CanonicalRequest, (method, uri, query, block, signed_names, payload_hash, text)
    )


def _may_need_trim(block: str) -> bool:
    """Whether a header block built from values as received may hold one that
    :func:`trim_value` changes: only a value with a space or a tab can, and it
    shows in the block.  A false alarm (a value with one inner space) costs a
    trimming pass that changes nothing; two searches for one character are
    cheaper than searching for each pattern trimming acts on."""
    return " " in block or "\t" in block


def header_template(names: Sequence[str], signed: str) -> str:
    """The canonical headers and SignedHeaders lines for a canonical
    SignedHeaders list (``signed``, sorted, lowercase, unique; ``names`` is it
    split), each value a ``%s``: what :func:`canonical_request` builds for a
    verifier, made once per list so that :func:`fill_headers` builds it per
    request with one C-level format (the verifier's fast road)."""
    lines = "".join([n.replace("%", "%%") + ":%s\n" for n in names])
    return f"{lines}\n{signed.replace('%', '%%')}\n"


def fill_headers(template: str, values: tuple[str, ...] | str) -> str:
    """A :func:`header_template` filled with the signed values in name order
    (a tuple, or the value itself for one name, as ``%`` takes them), each
    trimmed when the block shows that one may need it."""
    block = template % values
    if _may_need_trim(block):
        if isinstance(values, tuple):
            return template % tuple(map(trim_value, values))
        block = template % trim_value(values)
    return block


_new_tuple = tuple.__new__
_canonical_list_memo: Memo[str, bool] = Memo(1024)


def _is_canonical_list(signed: str) -> bool:
    """Whether a SignedHeaders value is already in canonical form (sorted,
    lowercase, unique); memoized, since clients repeat the same few lists."""
    got = _canonical_list_memo.get(signed)
    if got is None:
        split = signed.split(";")
        got = _canonical_list_memo.put(
            signed, split == sorted(set(split)) and signed == signed.lower()
        )
    return got


def string_to_sign_text(algorithm: str, amz_date: str, scope: str, canonical_text: str) -> str:
    """The string to sign, as text: the one place its rule lives (the hot
    paths use it; :func:`string_to_sign` wraps it in a value).  A lone
    surrogate, which a received request may carry, is hashed with
    ``surrogatepass`` and simply fails to match."""
    try:
        digest = _sha256(canonical_text.encode()).hexdigest()
    except UnicodeEncodeError:
        digest = _sha256(canonical_text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{algorithm}\n{amz_date}\n{scope}\n{digest}"


class StringToSign(str):
    """The string to sign as a value: it *is* its text (a ``str``), with its
    four lines as attributes."""

    __slots__ = ()

    def _line(self, i: int) -> str:
        return self.split("\n", 3)[i]

    @property
    def algorithm(self) -> str:
        return self._line(0)

    @property
    def amz_date(self) -> str:
        return self._line(1)

    @property
    def scope(self) -> str:
        return self._line(2)

    @property
    def canonical_hash(self) -> str:
        return self._line(3)

    @property
    def text(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"StringToSign({str.__repr__(self)})"


def string_to_sign(
    algorithm: str, amz_date: str, scope: str, canonical: CanonicalRequest | str
) -> StringToSign:
    """The string to sign of a canonical request (a value or its text)."""
    text = canonical if canonical.__class__ is str else canonical[6]
    return StringToSign(string_to_sign_text(algorithm, amz_date, scope, text))


def canonical_request_for_target(
    method: str,
    target: str,
    headers: HeaderInput,
    payload_hash: str,
    *,
    double_uri_encode: bool = True,
    normalize_path: bool = True,
    plus_in_path_is_space: bool = False,
    signed_headers: Iterable[str] | None = None,
    skipped_headers: frozenset[str] = frozenset(),
    extra_query: Iterable[tuple[str, str]] = (),
) -> CanonicalRequest:
    """Canonicalize a request target exactly as it arrived (raw targets such
    as ``/example space/`` included): nothing is made wire-valid first.

    ``signed_headers`` names the headers to include, as a received
    ``SignedHeaders`` does; without it every header but ``skipped_headers``.
    """
    if not target.isascii():
        _check_utf8("request target", target)
    path, _, query = target.partition("?")
    path = path.partition("#")[0]
    include = None if signed_headers is None else frozenset(h.lower() for h in signed_headers)
    uri = canonical_uri(
        path,
        double_encode=double_uri_encode,
        normalize=normalize_path,
        plus_is_space=plus_in_path_is_space,
    )
    items = selected_headers(header_pairs(headers), include, skipped_headers)
    return canonical_request(method, uri, canonical_query(query, extra_query), items, payload_hash)
