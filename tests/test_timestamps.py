"""parse_timestamp and the percent-encoder without datetime / urllib.parse.

Start-up (issue 17) made sigv4kit validate amz-dates, format POSIX seconds
and percent-encode by hand instead of importing ``datetime``, ``_strptime``
and ``urllib.parse``.  These properties check the hand-written code against
the standard library it replaces, input for input.
"""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sigv4kit.canonical import quote, quote_from_bytes
from sigv4kit.errors import SigningError
from sigv4kit.timestamps import format_amz_date, parse_timestamp


def _strptime_accepts(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    return True


def _parses(value: object) -> bool:
    try:
        parse_timestamp(value)  # type: ignore[arg-type]
    except SigningError:
        return False
    return True


_D2 = st.integers(0, 99).map(lambda n: f"{n:02d}")


@settings(max_examples=3000, deadline=None)
@given(st.integers(0, 9999), _D2, _D2, _D2, _D2, _D2)
@example(2012, "02", "29", "23", "59", "59")
@example(2100, "02", "29", "00", "00", "00")
@example(2000, "02", "29", "00", "00", "00")
@example(0, "01", "01", "00", "00", "00")
@example(2013, "05", "24", "23", "59", "60")
def test_amz_date_accepted_exactly_when_strptime_accepts_it(
    year: int, month: str, day: str, hour: str, minute: str, second: str
) -> None:
    text = f"{year:04d}{month}{day}T{hour}{minute}{second}Z"
    assert _parses(text) == _strptime_accepts(text)
    if _parses(text):
        assert parse_timestamp(text) == text


@pytest.mark.parametrize(
    "text", ["２０１３0524T000000Z", "2013052٤T000000Z", "20130532T000000Z", "2013052٤T240000Z"]
)
def test_non_ascii_digits_follow_strptime(text: str) -> None:
    """re's \\d and strptime read any decimal digit; so does the hand-written check."""
    assert re.fullmatch(r"\d{8}T\d{6}Z", text)
    assert _parses(text) == _strptime_accepts(text)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.integers(0, 253402300799),
        st.floats(0, 253402300799.99999, allow_nan=False),
        st.integers(0, 253402300799).map(lambda n: n + 0.9999995),
        st.integers(0, 253402300799).map(lambda n: n + 0.0000005),
    )
)
@example(59.9999995)
@example(59.9999996)
@example(1369353600.0000015)
def test_posix_seconds_as_datetime_formats_them(seconds: float) -> None:
    try:
        expected = format_amz_date(datetime.fromtimestamp(seconds, timezone.utc))
    except (ValueError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            parse_timestamp(seconds)
    else:
        assert parse_timestamp(seconds) == expected


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=12), st.sampled_from(["", "/", "/é", "%~"]))
@example("AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request", "")
@example("photos/2013/a b+c%41", "/")
def test_quote_is_urllib_quote(text: str, safe: str) -> None:
    try:
        expected = urllib.parse.quote(text, safe=safe)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            quote(text, safe)
        return
    assert quote(text, safe) == expected


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=12), st.sampled_from(["", "/"]))
def test_quote_from_bytes_is_urllibs(data: bytes, safe: str) -> None:
    assert quote_from_bytes(data, safe) == urllib.parse.quote_from_bytes(data, safe=safe)
