"""The request target a signer signs, in its wire and canonical forms.

Two routes lead here (see "Wire form" in the design notes):

* :func:`url_target`: a URL a person typed, made wire-valid first, so the
  request sent is the request signed;
* :func:`verbatim_target`: a ``/path?query`` taken byte for byte, as a server
  canonicalizes what it received; the host comes from the ``Host`` header.
"""

from __future__ import annotations

from . import canonical as _c
from .errors import SigningError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import SigningConfig

__all__ = ["ParsedUrl", "url_target", "verbatim_target"]


class ParsedUrl:
    """A target's wire form (origin, path, query) and its canonical URI and
    query, as the signer memoizes them per URL."""

    __slots__ = ("cquery", "curi", "host", "origin", "path", "query")

    def __init__(
        self, origin: str, host: str, path: str, query: str, curi: str, cquery: str
    ) -> None:
        self.origin = origin
        self.host = host
        self.path = path
        self.query = query
        self.curi = curi
        self.cquery = cquery

    @property
    def url(self) -> str:
        return (
            f"{self.origin}{self.path}?{self.query}" if self.query else f"{self.origin}{self.path}"
        )


def _forms(origin: str, host: str, path: str, query: str, c: SigningConfig) -> ParsedUrl:
    """A wire path and query with their canonical forms under ``c``'s rules."""
    curi = _c.canonical_uri(
        path,
        double_encode=c.double_uri_encode,
        normalize=c.normalize_path,
        plus_is_space=c.plus_in_path_is_space,
    )
    return ParsedUrl(origin, host, path, query, curi, _c.canonical_query(query) if query else "")


def url_target(url: str, c: SigningConfig) -> ParsedUrl:
    """The wire and canonical forms of an absolute URL."""
    m = _c.simple_url(url)
    if m is not None:
        path = m[2] or "/"
        if not (c.normalize_path and ("//" in path or "/." in path)):
            # Wire-valid and canonical as it stands (see simple_url): only the
            # query's order changes.
            query = m[3]
            cquery = _c.sort_canonical_query(query) if query else ""
            return ParsedUrl(f"{m[0]}://{m[1]}", m[1], path, query, path, cquery)
    scheme, netloc, host, wpath, wquery = _c.split_url(url, plus_is_space=c.plus_in_path_is_space)
    return _forms(f"{scheme}://{netloc}", host, wpath, wquery, c)


def verbatim_target(
    target: str, headers: _c.HeaderInput, scheme: str, c: SigningConfig
) -> ParsedUrl:
    """The canonical forms of a request target taken verbatim."""
    host = None
    for name, value in _c.header_pairs(headers):
        if name.lower() == "host":
            host = value.strip()
    if not host:
        raise SigningError("a request target needs a Host header to be signed")
    if not target.isascii():
        _c._check_utf8("request target", target)
    path, _, query = target.partition("?")
    return _forms(f"{scheme}://{host}", host, path, query, c)
