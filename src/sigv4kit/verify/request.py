"""The received request: its target (origin or absolute form) and its header index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from .._memo import Memo
from ..canonical import DEFAULT_PORTS
from ..errors import AccessDenied, InvalidRequest, SigningError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

#: A request as the server received it, the arguments of ``Verifier.verify``:
#: ``(method, target, headers, body, now)``.
Received = tuple[str, str, object, object, "datetime | float | None"]


def _to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    raise SigningError(f"header names and values must be str or bytes, not {type(value).__name__}")


_lname_cache: Memo[str | bytes, str] = Memo(4096)
#: Longest header name memoized: every name the fast road (:mod:`.fast`)
#: finds in the memo is at most this long, which bounds its header-length check.
MEMO_NAME_LENGTH = 256


def _index_headers(headers: object) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """``(lowercase pairs in order, lowercase name -> values joined by ',')``.

    Names (str, or bytes as ASGI gives them) are lowercased through a
    memo: servers see the same few header names over and over.
    """
    if headers is None:
        return [], {}
    items: Any
    if headers.__class__ is list:
        items = headers
    else:
        multi = getattr(headers, "multi_items", None)  # starlette Headers keep repeats here
        if callable(multi):
            items = multi()
        elif isinstance(headers, Mapping):
            items = headers.items()
        elif isinstance(headers, (str, bytes)):
            raise SigningError("headers must be a mapping or a list of (name, value) pairs")
        else:
            items = list(cast("Iterable[Any]", headers))
    cache = _lname_cache
    try:
        # Fast path: every name already memoized, values all str (or all
        # bytes that are UTF-8).
        lpairs = [(cache[n], v) for n, v in items if v.__class__ is str]
        if len(lpairs) != len(items):
            lpairs = [(cache[n], v.decode()) for n, v in items]
    except (KeyError, ValueError, TypeError, AttributeError):
        lpairs = []
        append = lpairs.append
        for item in items:
            try:
                name, value = item
            except (TypeError, ValueError):
                raise SigningError(f"headers must be (name, value) pairs; got {item!r}") from None
            key = name
            if name.__class__ is not str or value.__class__ is not str:
                name, value = _to_str(name), _to_str(value)
            ln = cache.get(key)
            if ln is None:
                ln = name.lower()
                if len(ln) <= MEMO_NAME_LENGTH:
                    cache.put(key, ln)
            append((ln, value))
    hmap = dict(lpairs)
    if len(hmap) != len(lpairs):
        # A repeated name: its values are joined with ',' in order.
        hmap = {}
        for ln, value in lpairs:
            prev = hmap.get(ln)
            hmap[ln] = value if prev is None else f"{prev},{value}"
    return lpairs, hmap


_DEFAULT_PORT_SUFFIX = {scheme: f":{DEFAULT_PORTS[scheme]}" for scheme in ("http", "https")}


def _split_target(target: str) -> tuple[str, str | None, str]:
    """``(origin-form target, authority of an absolute URL or None, its
    default-port suffix)``; the authority is lower-cased, its default port
    elided, as HTTP compares authorities."""
    if not isinstance(target, str):
        target = _to_str(target)
    if target.startswith("/"):
        return target, None, ""
    scheme, sep, rest = target.partition("://")
    if not sep or not scheme or "/" in scheme:
        if target == "*":
            return "/", None, ""
        raise InvalidRequest(f"cannot read the request target {target[:200]!r}")
    slash = len(rest)
    for ch in "/?":
        i = rest.find(ch)
        if 0 <= i < slash:
            slash = i
    authority, path = rest[:slash], rest[slash:]
    if "@" in authority:
        authority = authority.rpartition("@")[2]
    default = _DEFAULT_PORT_SUFFIX.get(scheme.lower(), "")
    if not path.startswith("/"):
        path = "/" + path
    return path, _authority(authority, default), default


def _authority(value: str, default_port: str) -> str:
    """An authority as HTTP compares it: host case-insensitive, the scheme's
    default port the same as no port."""
    host = value.strip().lower()
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return host


def _target_host_mismatch(url_host: str, host: str) -> AccessDenied:
    """RFC 9112 section 3.2.2: a server given an absolute-form target uses its
    authority and ignores Host.  A request whose target names another host
    than the signed Host header would be served for a host nobody signed."""
    return AccessDenied(
        f"Access Denied: the request target is for host {url_host[:200]!r} but the signed "
        f"Host header is {host[:200]!r}; send the request to the host that was signed",
        details={"TargetHost": url_host[:200], "HostHeader": host[:200]},
    )
