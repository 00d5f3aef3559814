"""Which headers a signature sends, and which of them it signs.

A signer sends the caller's headers in order, minus those it sets itself,
plus its own; it signs every header sent but the skip list
(:data:`sigv4kit.config.DEFAULT_SKIPPED_HEADERS`), or exactly the caller's
``signed_headers`` plus those the protocol requires.
"""

from __future__ import annotations

from . import canonical as _c
from .errors import SigningError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .config import SigningConfig
    from .signed import HeaderList

__all__ = [
    "ADDED",
    "NOTHING",
    "PRESIGN_OWN",
    "assemble",
    "controlled",
    "included",
    "presign_headers",
]

#: Headers a signer adds itself (besides ``Authorization``).
ADDED = frozenset(
    {"host", "x-amz-date", "x-amz-region-set", "x-amz-security-token", "x-amz-content-sha256"}
)
#: Headers a presign drops from those given: it puts X-Amz-Date in the query.
PRESIGN_OWN = frozenset({"authorization", "x-amz-date"})
NOTHING: frozenset[str] = frozenset()


def controlled(c: SigningConfig) -> tuple[frozenset[str], frozenset[str]]:
    """The headers a header signature sets itself (a caller's copies are
    dropped), without and with a session token.  ``X-Amz-Content-SHA256`` is
    always among them: a caller's value says what the payload hash is."""
    own = {"authorization", "x-amz-date", "x-amz-content-sha256"}
    if c.is_v4a:
        own.add("x-amz-region-set")
    return frozenset(own), frozenset(own | {"x-amz-security-token"})


def assemble(
    triples: Iterable[tuple[str, str, str]],
    own: frozenset[str],
    skip: frozenset[str],
    out: list[tuple[str, str]],
    items: list[tuple[str, str]],
) -> tuple[bool, str | None]:
    """Sort the caller's headers into those sent (``out``, order kept) and
    those signed (``items``, all but ``skip``); the signer's ``own`` are
    dropped.  Returns whether a ``Host`` was given, and the value of a
    caller-set ``X-Amz-Content-SHA256`` (it says what the payload hash is)."""
    has_host = False
    user_sha = None
    for name, ln, value in triples:
        if ln in own:
            if ln == "x-amz-content-sha256":
                user_sha = value.strip()
            continue
        if ln == "host":
            has_host = True
        out.append((name, value))
        if ln not in skip:
            items.append((ln, value))
    return has_host, user_sha


def included(
    c: SigningConfig, items: Iterable[tuple[str, str]], token: str | None, send_sha: bool
) -> frozenset[str]:
    """The exact header names to sign when the caller listed them
    (``signed_headers``), plus those the protocol requires."""
    wanted = c.signed_headers or NOTHING
    present = {n for n, _ in items}
    missing = sorted(wanted - present)
    if missing:
        raise SigningError(
            f"signed_headers names {', '.join(missing)} but the request has no such "
            "header; add the header or remove it from signed_headers"
        )
    required = {"host", "x-amz-date"}
    if token is not None and c.sign_session_token:
        required.add("x-amz-security-token")
    if send_sha:
        required.add("x-amz-content-sha256")
    if c.is_v4a:
        required.add("x-amz-region-set")
    return wanted | required


def presign_headers(
    c: SigningConfig, host: str, headers: _c.HeaderInput, out: HeaderList
) -> tuple[list[tuple[str, str]], str]:
    """The headers a presigned URL signs when it signs more than its host:
    fills ``out`` (to send) and returns the ``(name, value)`` pairs signed
    and the ``SignedHeaders`` text."""
    items: list[tuple[str, str]] = []
    if not assemble(_c.lowered_pairs(headers), PRESIGN_OWN, NOTHING, out, items)[0]:
        out.insert(0, ("Host", host))
        items.append(("host", host))
    if c.signed_headers is not None:
        include = included(c, items, None, False)
        items = [it for it in items if it[0] in include]
    else:
        items = [it for it in items if it[0] not in c.skipped_headers]
    return items, ";".join(sorted({n for n, _ in items}))
