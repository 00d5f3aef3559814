"""The presign contract: how long a URL can live, which headers move into it, will it match.

Three rules a presigned URL must keep, kept apart from the signer so the
CLI, the calculator and the HTTPie plugin apply them the same way:

* **Expiry.** A URL signed with temporary credentials stops working when they
  expire, whatever ``X-Amz-Expires`` says (boto3 #2392, #3079).
  :func:`fit_expiry` refuses such a URL with a
  :class:`~sigv4kit.errors.PresignOutlivesCredentials` naming both times, or, when
  asked, shortens it to the credentials' lifetime.
* **Hoisting.** The JS (``@smithy/signature-v4`` ``moveHeadersToQuery``) and
  Go (``aws-sdk-go-v2`` ``AllowedQueryHoisting``) SDKs move ``X-Amz-*``
  headers into the query when presigning, so whoever uses the URL need not
  send them.  Some must stay headers: S3 reads server-side encryption
  settings (``x-amz-server-side-encryption*``, both SDKs), and the Go SDK
  keeps every header S3 requires to be signed as a header (ACLs, grants,
  storage class, tagging, object lock, metadata, copy source).
  :func:`split_hoistable` applies the union of both SDKs' rules.
* **Matching.** :func:`sigv4kit.presign_check.check_presigned` says whether a
  planned request will be accepted with a presigned URL, and if not, why.

The signer imports this module, so it stays light (no dataclasses, no typing).
"""

from __future__ import annotations

from .errors import PresignOutlivesCredentials

# datetime is imported where it is used: the signer imports this module, and
# datetime costs milliseconds at start-up that a URL without an expiring
# credential never needs.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

    from .credentials import Credentials

__all__ = [
    "amz_datetime",
    "fit_expiry",
    "hoist_into_query",
    "is_hoistable",
    "split_hoistable",
    "stamp",
]

# Headers both SDKs keep as headers: S3 reads them from headers only (or, for
# SSE-C, must never see the key in a URL that ends up in logs).
_UNHOISTABLE_PREFIXES = (
    "x-amz-server-side-encryption",
    "x-amz-copy-source",
    "x-amz-grant-",
    "x-amz-object-lock-",
    "x-amz-meta-",
)
_UNHOISTABLE = frozenset(
    {
        "x-amz-acl",
        "x-amz-content-sha256",
        "x-amz-metadata-directive",
        "x-amz-mfa",
        "x-amz-storage-class",
        "x-amz-tagging",
        "x-amz-website-redirect-location",
        # Set by the signer itself, never moved.
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-region-set",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)


def is_hoistable(name: str) -> bool:
    """True when the header ``name`` may move into a presigned URL's query."""
    lname = name.lower()
    return (
        lname.startswith("x-amz-")
        and lname not in _UNHOISTABLE
        and not lname.startswith(_UNHOISTABLE_PREFIXES)
    )


def split_hoistable(
    headers: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(kept_as_headers, moved_to_query)``, order kept within each."""
    kept: list[tuple[str, str]] = []
    moved: list[tuple[str, str]] = []
    for name, value in headers:
        (moved if is_hoistable(name) else kept).append((name, value))
    return kept, moved


def hoist_into_query(headers: object, query: str) -> tuple[list[tuple[str, str]], str]:
    """Move the hoistable headers of ``headers`` into the wire ``query``.

    Returns the headers left to sign as headers and the new query (the moved
    pairs appended, URI-encoded; the signer sorts the canonical query).
    """
    from .canonical import header_pairs, uri_encode

    kept, moved = split_hoistable(header_pairs(headers))  # type: ignore[arg-type]
    if moved:
        extra = "&".join(f"{uri_encode(n)}={uri_encode(v.strip())}" for n, v in moved)
        query = f"{query}&{extra}" if query else extra
    return kept, query


def amz_datetime(amz_date: str) -> datetime:
    from datetime import datetime, timezone

    return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def stamp(when: datetime) -> str:
    from datetime import timezone

    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def fit_expiry(credentials: Credentials, amz_date: str, expires: int, *, cap: bool) -> int:
    """``expires``, checked against when ``credentials`` expire.

    Credentials without an expiration never limit a URL.  When they expire
    before ``amz_date + expires``, raise :class:`PresignOutlivesCredentials` naming
    both times, or with ``cap`` return the seconds left on the credentials
    (the URL then ends with them).  Credentials already expired at the
    signing time are refused either way.
    """
    expiration = credentials.expiration
    if expiration is None:
        return expires
    from datetime import timedelta

    signed_at = amz_datetime(amz_date)
    url_end = signed_at + timedelta(seconds=expires)
    if expiration >= url_end:
        return expires
    left = int((expiration - signed_at).total_seconds())
    if left < 1:
        raise PresignOutlivesCredentials(
            f"the credentials expired at {stamp(expiration)}, before the signing time "
            f"{stamp(signed_at)}: refresh them and presign again",
            url_expires=url_end,
            credentials_expire=expiration,
        )
    if cap:
        return left
    raise PresignOutlivesCredentials(
        f"the presigned URL would expire at {stamp(url_end)} ({expires} s), but the "
        f"credentials expire at {stamp(expiration)} ({left} s after signing), when the URL "
        "stops working: presign with expires <= "
        f"{left}, use longer-lived credentials, or cap the expiry at the credentials' "
        "lifetime (cap_expires=True, --cap-expires)",
        url_expires=url_end,
        credentials_expire=expiration,
    )
