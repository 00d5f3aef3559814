"""Pure checks that need no secret: request time, clock skew, presign expiry, region set."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from .._memo import Memo
from ..config import parse_algorithm
from ..errors import (
    AccessDenied,
    AuthorizationQueryParametersError,
    RequestTimeTooSkewed,
    SigningError,
)
from ._common import MAX_PRESIGN_EXPIRES, Scope, _header_malformed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .auth import _Auth
    from .verifier import Verifier


_date_cache: Memo[str, int] = Memo(4096)
_day_cache: Memo[str, int] = Memo(1024)


def _amz_epoch(value: str) -> int | None:
    """POSIX seconds of a ``YYYYMMDDTHHMMSSZ`` string, None if malformed.

    Memoized twice: the whole value (clients repeat it within a second) and
    its day (a fresh presigned URL or request is a new second of a known day).
    """
    t = _date_cache.get(value)
    if t is not None:
        return t
    if (
        len(value) != 16
        or value[8] != "T"
        or value[15] != "Z"
        or not value[:8].isdigit()
        or not value[9:15].isdigit()
        or not value.isascii()
    ):
        return None
    hour, minute, second = int(value[9:11]), int(value[11:13]), int(value[13:15])
    if hour > 23 or minute > 59 or second > 59:
        return None
    day = _day_cache.get(value[:8])
    if day is None:
        try:
            midnight = datetime(
                int(value[:4]), int(value[4:6]), int(value[6:8]), tzinfo=timezone.utc
            )
        except ValueError:
            return None
        day = _day_cache.put(value[:8], int(midnight.timestamp()))
    return _date_cache.put(value, day + hour * 3600 + minute * 60 + second)


def _http_date(value: str) -> tuple[str, int] | None:
    """``(amz date, epoch)`` of an RFC 1123 ``Date`` header, None if malformed."""
    try:
        dt = parsedate_to_datetime(value)
        if dt is None:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        dt = dt.astimezone(timezone.utc)
        return dt.strftime("%Y%m%dT%H%M%SZ"), int(dt.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        # email.utils lets OverflowError out for a day like "7777...7724"
        # (found by tests/fuzz/fuzz_authorization.py); year 9999 with a
        # negative offset overflows in astimezone.
        return None


def _stripped(value: str | None) -> str | None:
    # HTTP's optional whitespace around a value is not part of it.
    return value if value is None else value.strip(" \t")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _now_epoch(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise SigningError(
                "now is a naive datetime; pass an aware one, e.g. datetime.now(timezone.utc)"
            )
        return now.timestamp()
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return float(now)
    raise SigningError(f"now must be an aware datetime or None, not {type(now).__name__}")


def _check_time_header(vr: Verifier, auth: _Auth, hmap: dict[str, str], now: float) -> None:
    if abs(now - auth.epoch) > vr.max_skew:
        raw = hmap.get("x-amz-date") or hmap.get("date") or auth.amz_date
        raise RequestTimeTooSkewed(
            details={
                "RequestTime": raw.strip(),
                "ServerTime": _iso(now),
                "MaxAllowedSkewMilliseconds": str(int(vr.max_skew * 1000)),
            }
        )


def _check_time_presigned(vr: Verifier, auth: _Auth, now: float) -> None:
    if auth.epoch - now > vr.max_skew:
        raise AccessDenied(
            "Request is not valid yet",
            details={"X-Amz-Date": auth.amz_date, "ServerTime": _iso(now)},
        )
    assert auth.expires is not None
    if now > auth.epoch + auth.expires:
        raise AccessDenied(
            "Request has expired",
            details={
                "X-Amz-Expires": str(auth.expires),
                "Expires": _iso(auth.epoch + auth.expires),
                "ServerTime": _iso(now),
            },
        )


# -- SigV4a ---------------------------------------------------------------
def _check_region_set(vr: Verifier, auth: _Auth, hmap: dict[str, str], target: str) -> None:
    if auth.kind == "presigned":
        text = auth.region_set_text
        if text is None:
            raise AuthorizationQueryParametersError(
                "SigV4a presigned requests require the X-Amz-Region-Set parameter."
            )
    else:
        text = hmap.get("x-amz-region-set")
        if text is None:
            raise _header_malformed("SigV4a requests require the X-Amz-Region-Set header.")
    regions, included = region_set(text, vr.region)
    auth.scope = Scope(auth.scope.date, None, auth.scope.service, regions)
    if included:
        return
    msg = (
        f"the region set '{','.join(regions)}' does not include this endpoint's region "
        f"'{vr.region}'"
    )
    if auth.kind == "presigned":
        raise AuthorizationQueryParametersError(
            f"Error parsing the X-Amz-Region-Set parameter; {msg}",
            details={"Region": vr.region},
        )
    raise _header_malformed(msg, vr.region)


def region_set(text: str, region: str) -> tuple[tuple[str, ...], bool]:
    """The regions of a SigV4a region set (``X-Amz-Region-Set``, comma
    separated), and whether they include ``region``: a ``*`` in an entry
    matches any run of characters, nothing else is special."""
    regions = tuple(r.strip() for r in text.split(",") if r.strip())
    return regions, any(r == region or ("*" in r and _glob(r, region)) for r in regions)


def _glob(pattern: str, name: str) -> bool:
    first, *middle, last = pattern.split("*")
    if len(name) < len(first) + len(last) or not name.startswith(first):
        return False
    pos, end = len(first), len(name) - len(last)
    for part in middle:
        pos = name.find(part, pos, end)
        if pos < 0:
            return False
        pos += len(part)
    return name.endswith(last)


_TOO_LONG = (
    "X-Amz-Expires must be less than a week (in seconds) that is, the given "
    "X-Amz-Expires must be less than 604800 seconds"
)


def _presign_expires(text: str) -> int:
    """A presigned URL's ``X-Amz-Expires``: 1 to 604800 seconds, as S3 words
    each refusal (at most 18 digits, so ``int()`` stays cheap)."""
    if not text.isdigit() or not text.isascii() or len(text) > 18:
        if text.isascii() and text.isdigit():
            raise AuthorizationQueryParametersError(_TOO_LONG)
        if text.startswith("-") and text[1:].isdigit():
            raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
        raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    expires = int(text)
    if expires > MAX_PRESIGN_EXPIRES:
        raise AuthorizationQueryParametersError(_TOO_LONG)
    if expires < 1:
        raise AuthorizationQueryParametersError("X-Amz-Expires must be at least 1 second")
    return expires


def _skew_seconds(max_skew: float | timedelta | None, default: int) -> float:
    """The Verifier's ``max_skew`` in seconds (None: the service's default)."""
    if max_skew is None:
        skew = float(default)
    elif isinstance(max_skew, timedelta):
        skew = max_skew.total_seconds()
    elif isinstance(max_skew, (int, float)) and not isinstance(max_skew, bool):
        skew = float(max_skew)
    else:
        raise SigningError("max_skew must be seconds (a number) or a timedelta")
    if skew < 0:
        raise SigningError("max_skew must not be negative")
    return skew


def _accepted_algorithms(algorithms: Iterable[str]) -> frozenset[str]:
    """The wire names of the algorithms a Verifier accepts."""
    algs: set[str] = set()
    for a in algorithms:
        try:
            algs.add(parse_algorithm(a))
        except SigningError:
            raise SigningError(f"unknown algorithm {a!r}; use 'sigv4' or 'sigv4a'") from None
    if not algs:
        raise SigningError("algorithms must name at least one of 'sigv4', 'sigv4a'")
    return frozenset(algs)
