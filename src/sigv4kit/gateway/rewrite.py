"""What the gateway sends upstream: pure functions over plain data.

A verified request is forwarded with the client's proof of identity taken
off and the gateway's statement of identity put on:

* removed: ``Authorization``, ``X-Amz-Security-Token`` and the presign query
  parameters (``X-Amz-Signature`` ...): the upstream must never be able to
  replay them, and a log upstream must never hold them;
* removed: every ``X-Sigv4kit-*`` header the *client* sent, so nobody can
  claim an identity by sending the header the gateway vouches with;
* removed: hop-by-hop headers (RFC 9110 section 7.6.1, plus those named in
  ``Connection``), ``Host`` (the upstream's own is set by the HTTP client)
  and ``Expect`` (the gateway answered the ``100-continue`` itself);
* for an aws-chunked upload the body goes upstream *decoded*: so
  ``Content-Length`` becomes ``X-Amz-Decoded-Content-Length``, ``aws-chunked``
  leaves ``Content-Encoding``, and the headers that describe the framing
  (``X-Amz-Decoded-Content-Length``, ``X-Amz-Trailer``, the ``STREAMING-...``
  value of ``X-Amz-Content-Sha256``) go, since they no longer describe the
  body that is sent;
* added: ``X-Sigv4kit-Access-Key-Id`` and ``X-Sigv4kit-Principal`` (the key's
  name, percent-encoded when it is not plain ASCII, since header values are
  bytes).

The query string keeps its bytes and its order: only whole ``name=value``
pieces whose decoded name is a presign parameter are dropped.  Nothing here
does I/O, so every rule has a test of its own (tests/gateway/test_rewrite.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import cast
from urllib.parse import quote, unquote

# The forward engine's one list of hop-by-hop fields (RFC 9110 7.6.1); _model
# is pure data, so this pure module stays free of the HTTP stack.
from .._memo import Memo
from ..forward._model import HOP_BY_HOP
from ..presigning import PRESIGN_PARAMS

__all__ = [
    "ACCESS_KEY_HEADER",
    "HOP_BY_HOP",
    "PRESIGN_PARAMS",
    "PRINCIPAL_HEADER",
    "encode_principal",
    "forward_headers",
    "header_picker",
    "identity_headers",
    "is_aws_chunked",
    "path_style",
    "plain_headers",
    "strip_presign_query",
]

ACCESS_KEY_HEADER = "X-Sigv4kit-Access-Key-Id"
PRINCIPAL_HEADER = "X-Sigv4kit-Principal"
_OWN_PREFIX = "x-sigv4kit-"

_ALWAYS_DROP = HOP_BY_HOP | {"authorization", "x-amz-security-token", "host", "expect"}
#: Headers that describe aws-chunked framing: gone once the body is decoded.
_FRAMING = frozenset({"x-amz-decoded-content-length", "x-amz-trailer", "content-length"})

Header = tuple[str, str]


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@lru_cache(maxsize=4096)
def encode_principal(name: str) -> str:
    """A key name as a header value: printable ASCII kept, the rest %-escaped.

    Header values travel as bytes and proxies mangle anything outside
    visible ASCII, so a name such as ``équipe data`` is sent as
    ``%C3%A9quipe%20data`` (decode with ``urllib.parse.unquote``).  ``%``
    itself is escaped so the encoding is reversible.
    """
    return quote(name, safe="!#$&'()*+,-./:;<=>?@[]^_`{|}~")


def strip_presign_query(target: str) -> str:
    """The request target without the presign parameters, other bytes unchanged.

    ``/b/k?X-Amz-Signature=..&versionId=3&X-Amz-Date=..`` becomes
    ``/b/k?versionId=3``; a query left empty loses its ``?``.
    """
    path, sep, query = target.partition("?")
    if not sep:
        return target
    kept = []
    for piece in query.split("&"):
        name = piece.partition("=")[0]
        if "%" in name:
            name = unquote(name)
        if name.lower() in PRESIGN_PARAMS:
            continue
        kept.append(piece)
    if not kept or kept == [""]:
        return path
    return f"{path}?{'&'.join(kept)}"


def path_style(target: str, host: str | None, domains: Sequence[str]) -> str:
    """The path-style target of a virtual-hosted request, for the upstream.

    A client that signs for ``bucket.<domain>`` sends ``/key``; the upstream
    gets the request under its own Host, so the bucket must move into the
    path: ``/bucket/key`` (``/bucket?list-type=2`` for the bucket itself).
    ``domains`` are the gateway's own names (``--domain``, lowercase); any
    other Host (an address, the domain itself) is path-style already.
    """
    if not domains or not host or host[0] == "[" or target[:1] != "/":
        return target
    name = host.partition(":")[0].lower().rstrip(".")
    for domain in domains:
        if name.endswith(domain) and name[-len(domain) - 1 : -len(domain)] == ".":
            bucket = name[: -len(domain) - 1]
            if not bucket:
                return target
            path, sep, query = target.partition("?")
            path = f"/{bucket}" if path == "/" else f"/{bucket}{path}"
            return f"{path}{sep}{query}"
    return target


def is_aws_chunked(payload_hash: str) -> bool:
    """Whether a verified payload hash names an aws-chunked body (not an event stream)."""
    return payload_hash.startswith("STREAMING-") and not payload_hash.endswith("-EVENTS")


def _connection_tokens(headers: Sequence[Header]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


# What happens to a header name (as received, any case) on its way upstream;
# memoized per spelling, since clients repeat the same few names.
_KEEP, _DROP, _CONNECTION, _FRAMING_NAME, _ENCODING = range(5)
_name_class: Memo[str, int] = Memo(4096)
#: Whether a name (as received) leaves the plain forwarded headers; no
#: ``Connection`` in it (see plain_headers).
_dropped: Memo[str, bool] = Memo(4096)


def _classify(name: str) -> int:
    lname = name.lower()
    if lname == "connection":
        kind = _CONNECTION
    elif lname in _ALWAYS_DROP or lname[:11] == _OWN_PREFIX:
        kind = _DROP
    elif lname in _FRAMING or lname == "x-amz-content-sha256":
        kind = _FRAMING_NAME
    elif lname == "content-encoding":
        kind = _ENCODING
    else:
        kind = _KEEP
    if kind != _CONNECTION:  # its value names more headers to drop: never the memo's
        _dropped.put(name, kind == _DROP)
    return _name_class.put(name, kind)


def _hop_names(value: str, hop: set[str] | None) -> set[str] | None:
    """Add the names a ``Connection`` value lists (hop-by-hop for this message) to ``hop``."""
    if value.lower() in ("keep-alive", "close"):
        return hop
    hop = hop or set()
    hop.update(t.strip().lower() for t in value.split(",") if t.strip())
    return hop


#: The plain forwarded headers of a request, as one C call: an ``itemgetter``
#: of the kept positions, per sequence of names as received (see header_picker).
Picker = Callable[[Sequence[Header]], tuple[Header, ...]]
#: Sequences of names -> their picker, or False: a ``Connection`` among them
#: (its value names more to drop) or too long to remember.
pickers: Memo[tuple[str, ...], Picker | bool] = Memo(256)
# What one remembered sequence may hold: ``pickers`` keeps names alive, and a
# client chooses them (at most 256 x 2 KiB of names).
_PICK_NAMES = 64
_PICK_CHARS = 2048


def _pick_none(headers: Sequence[Header]) -> tuple[Header, ...]:
    return ()


def _pick_one(i: int) -> Picker:
    get = itemgetter(i)  # one index: the item itself, not a tuple

    def pick(headers: Sequence[Header]) -> tuple[Header, ...]:
        return (get(headers),)

    return pick


def header_picker(names: tuple[str, ...]) -> Picker | bool:
    """The picker of :func:`plain_headers`' kept pairs for headers named ``names``, or False.

    ``picker(headers)`` is the tuple of the pairs :func:`plain_headers` keeps,
    in order, for any headers whose names (as received, in order) are
    ``names``: which pairs stay depends on the names alone unless one is
    ``Connection`` (then False: ``plain_headers`` must read its value).
    Remembered in :data:`pickers`, which the gateway reads first.
    """
    kept: list[int] = []
    for i, name in enumerate(names):
        kind = _name_class.get(name)
        if kind is None:
            kind = _classify(name)
        if kind == _CONNECTION:
            kept = []
            pick: Picker | bool = False
            break
        if kind != _DROP:
            kept.append(i)
    else:
        if len(kept) > 1:
            pick = itemgetter(*kept)
        elif kept:
            pick = _pick_one(kept[0])
        else:
            pick = _pick_none
    if len(names) <= _PICK_NAMES and sum(map(len, names)) <= _PICK_CHARS:
        pickers.put(names, pick)
    return pick


def plain_headers(headers: list[Header], identity: Sequence[Header]) -> list[Header]:
    """:func:`forward_headers` for str pairs of a body sent as received (not aws-chunked).

    The gateway's every-request path: ``identity`` is the pair of identity
    headers (built once per key), and each received pair that is kept goes
    out as the same tuple.  Names seen before and not ``Connection`` are
    sorted by one memo lookup each (``_dropped``); the first time a name
    comes, or with ``Connection``, every name is looked at in full.
    """
    try:
        dropped = _dropped
        out = [pair for pair in headers if not dropped[pair[0]]]
    except KeyError:
        out = _plain_headers(headers)
    out += identity
    return out


def _plain_headers(headers: list[Header]) -> list[Header]:
    out: list[Header] = []
    append = out.append
    hop: set[str] | None = None
    classes = _name_class
    for pair in headers:
        kind = classes.get(pair[0])
        if kind is None:
            kind = _classify(pair[0])
        if kind == _DROP:
            continue
        if kind == _CONNECTION:
            hop = _hop_names(pair[1], hop)
            continue
        append(pair)
    if hop:
        out = [p for p in out if p[0].lower() not in hop]
    return out


def identity_headers(access_key_id: str, principal: str) -> tuple[Header, Header]:
    """``X-Sigv4kit-Access-Key-Id`` and ``X-Sigv4kit-Principal`` for a verified key."""
    return ((ACCESS_KEY_HEADER, access_key_id), (PRINCIPAL_HEADER, encode_principal(principal)))


def forward_headers(
    headers: Iterable[tuple[str | bytes, str | bytes]],
    *,
    access_key_id: str,
    principal: str,
    payload_hash: str = "",
    decoded_length: int | None = None,
    extra: Iterable[Header] = (),
) -> list[Header]:
    """The headers to send upstream for a verified request.

    Args:
        headers: the request's headers as received (names in any case).
        access_key_id, principal: who the gateway verified (the key's id and
            its name in the key store).
        payload_hash: the verified request's payload hash; a ``STREAMING-...``
            value means the body is forwarded decoded (see the module doc).
        decoded_length: the decoded body length of an aws-chunked upload
            (``X-Amz-Decoded-Content-Length``), set as ``Content-Length``.
        extra: headers to add (``X-Forwarded-For`` ...), after the rest.
    """
    decoded = is_aws_chunked(payload_hash)
    raw = headers if isinstance(headers, list) else list(headers)
    # The engine hands str pairs; bytes pairs (ASGI-style) are decoded once.
    items = cast(
        "list[Header]",
        raw if not raw or isinstance(raw[0][0], str) else [(_text(n), _text(v)) for n, v in raw],
    )
    identity = identity_headers(access_key_id, principal)
    if not decoded:
        out = plain_headers(items, identity)
        out.extend(extra)
        return out
    out = []
    append = out.append
    hop: set[str] | None = None  # names listed in Connection (rare): filtered after
    classes = _name_class
    for pair in items:
        name = pair[0]
        kind = classes.get(name)
        if kind is None:
            kind = _classify(name)
        if kind == _KEEP:
            append(pair)  # the received pair itself: nothing to build
        elif kind == _CONNECTION:
            hop = _hop_names(pair[1], hop)
        elif kind == _ENCODING:
            kept = [c.strip() for c in pair[1].split(",") if c.strip()]
            kept = [c for c in kept if c.lower() != "aws-chunked"]
            if kept:
                append((name, ", ".join(kept)))
        # _DROP, and the framing headers of the decoded body: not sent
    if hop:
        out = [p for p in out if p[0].lower() not in hop]
    if decoded_length is not None:
        out.append(("Content-Length", str(decoded_length)))
    out += identity
    out.extend(extra)
    return out
