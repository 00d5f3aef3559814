"""Request time: the ``X-Amz-Date`` form, parsing what a caller gives, the clock.

``parse_timestamp`` accepts an amz-date, ISO 8601, an aware datetime or POSIX
seconds; ``now`` is read once per second at most (the clock's text is cached).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from ._memo import Memo
from .errors import SigningError

__all__ = ["format_amz_date", "parse_timestamp"]

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_METHOD = re.compile(r"[A-Z][A-Z\-_]*")

# --------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------
_now_cache: tuple[int, str] = (-1, "")
_MAX_EPOCH = 253402300800  # 10000-01-01T00:00:00Z
_checked_dates: Memo[str, bool] = Memo(1024)


def format_amz_date(dt: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` for an aware datetime."""
    if dt.tzinfo is None:
        raise SigningError(
            "timestamp is a naive datetime; pass an aware one, e.g. "
            "datetime.now(timezone.utc), so the signature cannot silently use local time"
        )
    u = dt.astimezone(timezone.utc)
    if not 1 <= u.year <= 9999:  # pragma: no cover - datetime itself enforces this
        raise SigningError(f"timestamp {dt!r} is out of range")
    # Formatted by hand: strftime's %Y does not zero-pad years before 1000 everywhere.
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def _now_amz() -> str:
    global _now_cache
    t = int(time.time())
    cached = _now_cache
    if cached[0] == t:
        return cached[1]
    s = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
    _now_cache = (t, s)
    return s


def parse_timestamp(timestamp: str | datetime | float | None) -> str:
    """Any accepted timestamp form as an amz-date string.

    Accepted: ``None`` (now), ``"20130524T000000Z"``, an ISO 8601 string with
    ``Z`` or an offset, an aware ``datetime``, or POSIX seconds.
    """
    if timestamp is None:
        return _now_amz()
    if isinstance(timestamp, str):
        if _checked_dates.get(timestamp):
            return timestamp
        if _AMZ_DATE.fullmatch(timestamp):
            try:
                datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ")
            except ValueError:
                raise SigningError(
                    f"timestamp {timestamp!r} is not a valid date and time"
                ) from None
            _checked_dates.put(timestamp, True)
            return timestamp
        text = timestamp.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise SigningError(
                f"cannot parse timestamp {timestamp!r}: use '20130524T000000Z', "
                "'2013-05-24T00:00:00Z' or an aware datetime"
            ) from None
        if dt.tzinfo is None:
            raise SigningError(
                f"timestamp {timestamp!r} has no time zone; add 'Z' or an offset such as '+00:00'"
            )
        return format_amz_date(dt)
    if isinstance(timestamp, datetime):
        return format_amz_date(timestamp)
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        if not 0 <= timestamp < _MAX_EPOCH:
            raise SigningError(f"timestamp {timestamp!r} is outside 1970..9999 in POSIX seconds")
        return format_amz_date(datetime.fromtimestamp(timestamp, timezone.utc))
    raise SigningError(
        f"timestamp must be None, a string, an aware datetime or POSIX seconds, "
        f"not {type(timestamp).__name__}"
    )


def _check_method(method: str) -> str:
    if not isinstance(method, str):
        raise SigningError(f"method must be a string such as 'GET', not {type(method).__name__}")
    m = method.upper()
    if not _METHOD.fullmatch(m):
        raise SigningError(
            f"{method!r} is not an HTTP method; use GET, PUT, POST, HEAD, DELETE, PATCH, ..."
        )
    return m
