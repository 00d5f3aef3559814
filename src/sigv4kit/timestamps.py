"""Request time: the ``X-Amz-Date`` form, parsing what a caller gives, the clock.

``parse_timestamp`` accepts an amz-date, ISO 8601, an aware datetime or POSIX
seconds; ``now`` is read once per second at most (the clock's text is cached).
"""

from __future__ import annotations

import time

from ._memo import Memo
from .errors import SigningError

# Neither re nor datetime at import time: they cost about ten milliseconds at
# start-up, and the common path (now, an amz-date, a POSIX time) needs neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["format_amz_date", "parse_timestamp"]

_METHOD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
# Days per month of a common year; February gains one in a leap year.
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
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
    from datetime import timezone

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


def _valid_amz_date(text: str) -> bool:
    """Whether an amz-date shaped text is what ``datetime.strptime`` accepts,
    checked by hand for ASCII digits: ``_strptime`` brings ``re``, ``locale``
    and ``calendar``, too much for start-up."""
    if not text.isascii():
        from datetime import datetime

        try:
            datetime.strptime(text, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return False
        return True
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    if not (year >= 1 and 1 <= month <= 12 and day >= 1):
        return False
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return (
        day <= _MONTH_DAYS[month - 1] + leap
        and int(text[9:11]) < 24
        and int(text[11:13]) < 60
        and int(text[13:15]) < 60
    )


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
        if (  # \d{8}T\d{6}Z (Unicode digits included, as re reads \d)
            len(timestamp) == 16
            and timestamp[8] == "T"
            and timestamp[15] == "Z"
            and timestamp[:8].isdecimal()
            and timestamp[9:15].isdecimal()
        ):
            if not _valid_amz_date(timestamp):
                raise SigningError(f"timestamp {timestamp!r} is not a valid date and time")
            _checked_dates.put(timestamp, True)
            return timestamp
        from datetime import datetime

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
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        if not 0 <= timestamp < _MAX_EPOCH:
            raise SigningError(f"timestamp {timestamp!r} is outside 1970..9999 in POSIX seconds")
        return _posix_amz(timestamp)
    from datetime import datetime

    if isinstance(timestamp, datetime):
        return format_amz_date(timestamp)
    raise SigningError(
        f"timestamp must be None, a string, an aware datetime or POSIX seconds, "
        f"not {type(timestamp).__name__}"
    )


def _posix_amz(seconds: float) -> str:
    """The amz-date of POSIX ``seconds`` (0 <= seconds < year 10000) as datetime
    gives it: a fraction rounds to microseconds first (59.9999996 is the next second)."""
    whole = int(seconds)
    if round((seconds - whole) * 1e6) >= 1000000:
        whole += 1
        if whole >= _MAX_EPOCH:  # rounds up into year 10000: datetime's own error
            from datetime import datetime, timezone

            return format_amz_date(datetime.fromtimestamp(seconds, timezone.utc))
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(whole))  # a year from 1970: 4 digits


def _check_method(method: str) -> str:
    if not isinstance(method, str):
        raise SigningError(f"method must be a string such as 'GET', not {type(method).__name__}")
    m = method.upper()
    # [A-Z][A-Z_-]*, without re: every character in the set, the first a letter.
    if not m or m.strip(_METHOD_CHARS) or not "A" <= m[0] <= "Z":
        raise SigningError(
            f"{method!r} is not an HTTP method; use GET, PUT, POST, HEAD, DELETE, PATCH, ..."
        )
    return m
