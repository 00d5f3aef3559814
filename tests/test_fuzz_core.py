"""Hostile input to the core parsers: success or sigv4kit's typed errors, nothing else.

Fixed-length hypothesis runs here; a longer run: HYPOTHESIS_PROFILE=fuzz (see README).
"""

from __future__ import annotations

import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sigv4kit import Credentials, Signer
from sigv4kit.canonical import canonical_request_for_target, split_url
from sigv4kit.errors import SigV4Error
from sigv4kit.rawhttp import parse_raw_request
from sigv4kit.signer import parse_timestamp

# Lone surrogates included: hypothesis leaves them out of text() by default.
ALL_CHARS = st.characters(codec=None, categories=None, exclude_categories=())


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=ALL_CHARS, max_size=max_size)


ANY_TEXT = text(200)
URLISH = st.builds(
    lambda scheme, auth, path, q: f"{scheme}://{auth}{path}{q}",
    st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
    text(30),
    text(60),
    text(60),
)
SIGNER = Signer(Credentials("AKIDEXAMPLE", "secret"), "us-east-1", "s3")
SIGNER_API = Signer(Credentials("AKIDEXAMPLE", "secret"), "us-east-1", "execute-api")


@settings(max_examples=400, deadline=None)
@given(st.one_of(URLISH, ANY_TEXT))
def test_split_url_only_typed_errors(url: str) -> None:
    try:
        split_url(url)
    except SigV4Error:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(URLISH, ANY_TEXT),
    st.lists(st.tuples(text(20), text(40)), max_size=5),
    st.sampled_from(["GET", "get", "P0ST", "", "PUT"]),
)
@example("https://h.example.com/a\ud800", [], "GET")
@example("https://h.example.com/?q=\udcff", [], "GET")
@example("https://h.example.com/", [("X-A", "\ud800")], "GET")
def test_sign_only_typed_errors(url: str, headers: list[tuple[str, str]], method: str) -> None:
    for signer in (SIGNER, SIGNER_API):
        try:
            signed = signer.sign(method, url, headers, timestamp="20150830T123600Z")
        except SigV4Error:
            continue
        # whatever was accepted is sendable: one line, ASCII URL
        assert signed.url.isascii() and " " not in signed.url
        for _name, value in signed.headers:
            assert "\r" not in value and "\n" not in value


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=400), ANY_TEXT))
def test_raw_request_parser_only_typed_errors(data: bytes | str) -> None:
    try:
        parse_raw_request(data)
    except SigV4Error:
        pass


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.lists(st.tuples(text(20), text(40)), max_size=5))
@example("/a\ud800", [])
@example("/?q=\udcff", [])
@example("/", [("X-A", "\ud800")])
def test_verbatim_canonicalization_only_typed_errors(
    target: str, headers: list[tuple[str, str]]
) -> None:
    for double in (True, False):
        try:
            canonical_request_for_target(
                "GET",
                target,
                headers,
                "UNSIGNED-PAYLOAD",
                double_uri_encode=double,
                normalize_path=double,
            )
        except SigV4Error:
            pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, st.from_regex(r"\d{8}T\d{6}Z", fullmatch=True), st.integers()))
def test_timestamps_only_typed_errors(value: object) -> None:
    try:
        parse_timestamp(value)  # type: ignore[arg-type]
    except SigV4Error:
        pass


def test_long_hostile_inputs_stay_linear() -> None:
    """No quadratic blow-up on large paths, queries, header values or raw requests."""
    big = 200_000
    cases = [
        ("GET", "https://h.example.com/" + "a/./../" * (big // 7), []),
        ("GET", "https://h.example.com/?" + "a=1&" * (big // 4), []),
        ("GET", "https://h.example.com/" + "%zz " * (big // 4), []),
        ("GET", "https://h.example.com/", [("X-A", "a \t" * (big // 3))]),
    ]
    for method, url, headers in cases:
        t0 = time.perf_counter()
        SIGNER_API.sign(method, url, headers, timestamp="20150830T123600Z")
        assert time.perf_counter() - t0 < 2.0, url[:40]
    t0 = time.perf_counter()
    raw = b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n " * 20000 + b"\r\n\r\n"
    parse_raw_request(raw)
    assert time.perf_counter() - t0 < 2.0
