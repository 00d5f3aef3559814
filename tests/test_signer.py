"""The Signer's behaviour beyond the vectors: wire form, payloads, options, errors."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

from sigv4kit import Credentials, Signer, SigningError
from sigv4kit.canonical import EMPTY_SHA256

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TS = "20150830T123600Z"


def s3() -> Signer:
    return Signer(CREDS, "us-east-1", "s3")


def api() -> Signer:
    return Signer(CREDS, "us-east-1", "execute-api")


# -- wire form ----------------------------------------------------------------
def test_s3_space_and_escape_give_the_same_canonical_path() -> None:
    a = s3().sign("GET", "https://b.s3.amazonaws.com/a b", timestamp=TS)
    b = s3().sign("GET", "https://b.s3.amazonaws.com/a%20b", timestamp=TS)
    assert a.url == b.url == "https://b.s3.amazonaws.com/a%20b"
    assert a.canonical.uri == b.canonical.uri == "/a%20b"
    assert a.signature == b.signature


def test_s3_plus_goes_on_the_wire_as_2b() -> None:
    signed = s3().sign("GET", "https://b.s3.amazonaws.com/libstdc++-docs.rpm", timestamp=TS)
    assert signed.url == "https://b.s3.amazonaws.com/libstdc%2B%2B-docs.rpm"
    assert signed.canonical.uri == "/libstdc%2B%2B-docs.rpm"


def test_s3_keeps_dot_segments_and_double_slashes() -> None:
    signed = s3().sign("GET", "https://b.s3.amazonaws.com/a//b/./c/../d", timestamp=TS)
    assert signed.canonical.uri == "/a//b/./c/../d"
    assert signed.url.endswith("/a//b/./c/../d")


def test_other_services_double_encode_and_normalize() -> None:
    signed = api().sign("GET", "https://h.example.com/documents and settings/", timestamp=TS)
    assert signed.url == "https://h.example.com/documents%20and%20settings/"
    assert signed.canonical.uri == "/documents%2520and%2520settings/"
    signed = api().sign("GET", "https://h.example.com/a%20b//c/./d/../e~f", timestamp=TS)
    assert signed.canonical.uri == "/a%2520b/c/e~f"
    assert api().sign("GET", "https://h.example.com/a/b/..", timestamp=TS).canonical.uri == "/a"
    assert api().sign("GET", "https://h.example.com/a/b/../", timestamp=TS).canonical.uri == "/a/"


def test_query_canonicalization() -> None:
    signed = api().sign(
        "GET",
        "https://h.example.com/p?b=2&a=2&a=1&acl&c=&x=a+b&y=%3D&select-type=2&select=",
        timestamp=TS,
    )
    assert signed.canonical.query == "a=1&a=2&acl=&b=2&c=&select=&select-type=2&x=a%20b&y=%3D"
    # the wire query keeps its order; only the canonical copy is sorted
    assert signed.url.endswith("?b=2&a=2&a=1&acl&c=&x=a+b&y=%3D&select-type=2&select=")


def test_raw_equals_inside_a_query_value_is_data() -> None:
    for url, want in [
        ("https://h.example.com/?a=b=c", "a=b%3Dc"),
        ("https://h.example.com/?a==", "a=%3D"),
        ("https://h.example.com/?x=1&token=abc==", "token=abc%3D%3D&x=1"),
        ("https://h.example.com/?t=a%20b=c", "t=a%20b%3Dc"),
    ]:
        assert api().sign("GET", url, timestamp=TS).canonical.query == want


def test_query_unicode_and_reserved_are_encoded_once() -> None:
    signed = api().sign("GET", "https://h.example.com/?q=é €&graph=urn:uuid:1*", timestamp=TS)
    assert signed.url == "https://h.example.com/?q=%C3%A9%20%E2%82%AC&graph=urn:uuid:1*"
    assert signed.canonical.query == "graph=urn%3Auuid%3A1%2A&q=%C3%A9%20%E2%82%AC"


def test_host_header_from_url() -> None:
    cases = {
        "https://H.Example.com:443/": "h.example.com",
        "http://h.example.com:80/": "h.example.com",
        "https://h.example.com:8443/": "h.example.com:8443",
        "http://[::1]:9000/": "[::1]:9000",
        "https://user:pw@h.example.com/": "h.example.com",
        "https://bücher.example/": "xn--bcher-kva.example",
    }
    for url, host in cases.items():
        signed = api().sign("GET", url, timestamp=TS)
        assert signed.headers.get("host") == host, url
        assert f"host:{host}\n" in signed.canonical_request


def test_explicit_host_header_wins() -> None:
    signed = api().sign("GET", "http://127.0.0.1:9000/", {"Host": "bucket.local"}, timestamp=TS)
    assert "host:bucket.local\n" in signed.canonical_request
    assert signed.headers.get_all("host") == ["bucket.local"]


# -- headers ---------------------------------------------------------------------
def test_header_values_trimmed_and_repeated_names_joined() -> None:
    signed = api().sign(
        "GET",
        "https://h.example.com/",
        [("My-Header1", "  a   b \t c  "), ("X-Multi", "v1"), ("x-multi", '"a   b"')],
        timestamp=TS,
    )
    assert "my-header1:a b c\n" in signed.canonical_request
    assert 'x-multi:v1,"a b"\n' in signed.canonical_request


def test_skipped_headers_are_sent_not_signed() -> None:
    signed = api().sign(
        "GET",
        "https://h.example.com/",
        {"User-Agent": "x", "Expect": "100-continue", "X-Amzn-Trace-Id": "t", "Traceparent": "p"},
        timestamp=TS,
    )
    assert signed.signed_headers == "host;x-amz-date"
    assert signed.headers.get("user-agent") == "x"


def test_explicit_signed_headers() -> None:
    signer = Signer(CREDS, "us-east-1", "s3", signed_headers=["range"])
    signed = signer.sign(
        "GET", "https://b.s3.amazonaws.com/k", {"Range": "bytes=0-1", "X-Other": "1"}, timestamp=TS
    )
    assert signed.signed_headers == "host;range;x-amz-content-sha256;x-amz-date"
    with pytest.raises(SigningError, match="range"):
        signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=TS)


def test_caller_authorization_and_date_are_replaced() -> None:
    signed = api().sign(
        "GET",
        "https://h.example.com/",
        {"Authorization": "Bearer x", "X-Amz-Date": "19990101T000000Z"},
        timestamp=TS,
    )
    assert signed.headers.get_all("authorization") == [signed.authorization]
    assert signed.headers.get_all("x-amz-date") == [TS]


# -- payloads ----------------------------------------------------------------------
def test_payload_forms_hash_alike() -> None:
    data = b"x" * 3_000_000
    want = hashlib.sha256(data).hexdigest()
    f = io.BytesIO(b"HEAD" + data)
    f.seek(4)
    for body in (data, bytearray(data), memoryview(data), [data[:10], data[10:]], f):
        assert (
            s3().sign("PUT", "https://b.s3.amazonaws.com/k", body=body, timestamp=TS).payload_hash
            == want
        )
    assert f.tell() == 4, "a seekable file is put back where it was"
    assert s3().sign(
        "PUT", "https://b.s3.amazonaws.com/k", body="é", timestamp=TS
    ).payload_hash == (hashlib.sha256("é".encode()).hexdigest())
    assert (
        s3().sign("GET", "https://b.s3.amazonaws.com/k", timestamp=TS).payload_hash == EMPTY_SHA256
    )


def test_one_shot_iterator_needs_another_mode() -> None:
    gen = (b"a" for _ in range(3))
    with pytest.raises(SigningError, match="unsigned"):
        s3().sign("PUT", "https://b.s3.amazonaws.com/k", body=gen, timestamp=TS)
    signed = s3().sign(
        "PUT", "https://b.s3.amazonaws.com/k", body=gen, timestamp=TS, payload="unsigned"
    )
    assert signed.payload_hash == "UNSIGNED-PAYLOAD"
    assert signed.headers.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert list(signed.body) == [b"a"] * 3, "the body was not consumed by signing"


def test_precomputed_and_caller_header_payload_hash() -> None:
    h = hashlib.sha256(b"abc").hexdigest()
    assert (
        s3().sign("PUT", "https://b.s3.amazonaws.com/k", payload=h, timestamp=TS).payload_hash == h
    )
    signed = api().sign(
        "PUT", "https://h.example.com/", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, timestamp=TS
    )
    assert signed.payload_hash == "UNSIGNED-PAYLOAD"
    assert "x-amz-content-sha256" in signed.signed_headers
    with pytest.raises(SigningError, match="SHA-256"):
        api().sign("PUT", "https://h.example.com/", {"x-amz-content-sha256": "nope"}, timestamp=TS)


def test_content_sha256_header_option_for_other_services() -> None:
    signer = Signer(CREDS, "us-east-1", "execute-api", content_sha256_header=True)
    signed = signer.sign("POST", "https://h.example.com/", body=b"{}", timestamp=TS)
    assert signed.headers.get("x-amz-content-sha256") == hashlib.sha256(b"{}").hexdigest()


# -- session tokens ------------------------------------------------------------------
def test_session_token_signed_or_after() -> None:
    creds = Credentials("AKIDEXAMPLE", "secret", "TOKEN/+=")
    signed = Signer(creds, "us-east-1", "s3").sign(
        "GET", "https://b.s3.amazonaws.com/", timestamp=TS
    )
    assert "x-amz-security-token" in signed.signed_headers
    after = Signer(creds, "us-east-1", "s3", sign_session_token=False).sign(
        "GET", "https://b.s3.amazonaws.com/", timestamp=TS
    )
    assert "x-amz-security-token" not in after.signed_headers
    assert after.headers[-1] == ("X-Amz-Security-Token", "TOKEN/+=")
    url = Signer(creds, "us-east-1", "s3").presign(
        "GET", "https://b.s3.amazonaws.com/k", timestamp=TS
    )
    assert "&X-Amz-Security-Token=TOKEN%2F%2B%3D&" in url
    after_url = Signer(creds, "us-east-1", "s3", sign_session_token=False).presign(
        "GET", "https://b.s3.amazonaws.com/k", timestamp=TS
    )
    assert after_url.count("X-Amz-Security-Token=") == 1
    assert "X-Amz-Security-Token=TOKEN%2F%2B%3D&X-Amz-Signature=" in after_url


# -- presign -----------------------------------------------------------------------
def test_presign_keeps_existing_query_order() -> None:
    url = s3().presign("GET", "https://b.s3.amazonaws.com/k?z=1&a=2", expires=60, timestamp=TS)
    assert url.startswith("https://b.s3.amazonaws.com/k?z=1&a=2&X-Amz-Algorithm=AWS4-HMAC-SHA256&")


@pytest.mark.parametrize("expires", [0, -1, 604801, 1.5, True, "60"])
def test_presign_expiry_bounds(expires: object) -> None:
    with pytest.raises(SigningError, match="604800"):
        s3().presign("GET", "https://b.s3.amazonaws.com/k", expires=expires, timestamp=TS)  # type: ignore[arg-type]


def test_presign_accepts_limits_and_timedelta() -> None:
    assert "X-Amz-Expires=604800" in s3().presign(
        "GET", "https://b.s3.amazonaws.com/k", expires=604800, timestamp=TS
    )
    assert "X-Amz-Expires=1&" in s3().presign(
        "GET", "https://b.s3.amazonaws.com/k", expires=1, timestamp=TS
    )
    url = (
        s3()
        .presign_request(
            "GET", "https://b.s3.amazonaws.com/k", expires=timedelta(hours=1), timestamp=TS
        )
        .url
    )
    assert "X-Amz-Expires=3600" in url


def test_presign_refuses_a_url_already_presigned() -> None:
    url = s3().presign("GET", "https://b.s3.amazonaws.com/k", timestamp=TS)
    with pytest.raises(SigningError, match="X-Amz-"):
        s3().presign("GET", url, timestamp=TS)


def test_presign_signed_headers_must_be_sent() -> None:
    req = s3().presign_request(
        "PUT", "https://b.s3.amazonaws.com/k", {"Content-Type": "text/plain"}, timestamp=TS
    )
    assert "X-Amz-SignedHeaders=content-type%3Bhost" in req.url
    assert req.headers.get("content-type") == "text/plain"


# -- timestamps ----------------------------------------------------------------------
def test_timestamp_forms() -> None:
    forms: list[object] = [
        TS,
        "2015-08-30T12:36:00Z",
        "2015-08-30T14:36:00+02:00",
        datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc),
        1440938160,
    ]
    sigs = {api().sign("GET", "https://h.example.com/", timestamp=f).signature for f in forms}  # type: ignore[arg-type]
    assert len(sigs) == 1


@pytest.mark.parametrize(
    "bad", ["2015-08-30T12:36:00", datetime(2015, 8, 30), "20151330T000000Z", "yesterday", [1]]
)
def test_bad_timestamps(bad: object) -> None:
    with pytest.raises(SigningError):
        api().sign("GET", "https://h.example.com/", timestamp=bad)  # type: ignore[arg-type]


def test_now_is_used_when_no_timestamp() -> None:
    signed = api().sign("GET", "https://h.example.com/")
    now = datetime.now(timezone.utc)
    got = datetime.strptime(signed.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert abs((now - got).total_seconds()) < 5


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"headers": {"Bad Name": "x"}}, "invalid header name"),
        ({"headers": {"X-A": "a\r\nX-Injected: 1"}}, "line break"),
        ({"headers": {"X-A": "a\nb"}}, "line break"),
        ({"headers": [("X-A",)]}, "pairs"),
        ({"headers": "X-A: 1"}, "mapping"),
        ({"url": "/relative/path"}, "absolute URL"),
        ({"url": "https:///nohost"}, "no host"),
        ({"url": "https://h:port/"}, "port"),
        ({"method": "GET /x"}, "HTTP method"),
        ({"method": ""}, "HTTP method"),
        ({"body": 12}, "body of type int"),
    ],
)
def test_bad_input_gives_clear_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"method": "GET", "url": "https://h.example.com/", "timestamp": TS}
    args.update(kwargs)
    with pytest.raises(SigningError, match=match):
        api().sign(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"region": ""}, "region"),
        ({"service": ""}, "service"),
        ({"region": "us east"}, "region"),
        ({"algorithm": "v2"}, "sigv4"),
        ({"payload": "maybe"}, "payload"),
        ({"chunk_size": 100}, "8192"),
        ({"checksum": "md5"}, "checksum"),
        ({"region_set": ["us-east-1"]}, "sigv4a"),
    ],
)
def test_bad_signer_settings(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"region": "us-east-1", "service": "s3"}
    args.update(kwargs)
    with pytest.raises(SigningError, match=match):
        Signer(CREDS, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("akid", ["", "AKÎD", "AK ID", "AK/ID"])
def test_bad_access_key(akid: str) -> None:
    with pytest.raises(SigningError):
        Credentials(akid, "secret")


# -- secrets -----------------------------------------------------------------------------
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "SESSIONTOKENVALUE123"


def test_no_secret_or_token_in_reprs_and_errors() -> None:
    creds = Credentials("AKIDEXAMPLE", SECRET, TOKEN)
    signer = Signer(creds, "us-east-1", "s3")
    signed = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=TS)
    from sigv4kit.keys import derive_signing_key, signing_key

    key = derive_signing_key(SECRET, "20150830", "us-east-1", "s3")
    texts = [
        repr(creds),
        str(creds),
        repr(signer),
        repr(signed),
        repr(signer.config),
        repr(signing_key(SECRET, "20150830", "us-east-1", "s3")),
    ]
    for bad in ({"X-A": "a\r\nb"}, {"Bad Name": "1"}):
        with pytest.raises(SigningError) as info:
            signer.sign("GET", "https://b.s3.amazonaws.com/k", bad, timestamp=TS)
        texts += [str(info.value), repr(info.value)]
    for text in texts:
        assert SECRET not in text
        assert TOKEN not in text
        assert key.hex() not in text


# -- concurrency and caching ---------------------------------------------------------------
def test_signer_shared_across_threads() -> None:
    signer = s3()
    expected = {
        i: signer.sign("GET", f"https://b.s3.amazonaws.com/k{i}", timestamp=TS).signature
        for i in range(64)
    }
    errors: list[str] = []

    def work(offset: int) -> None:
        for j in range(200):
            i = (j + offset) % 64
            got = signer.sign("GET", f"https://b.s3.amazonaws.com/k{i}", timestamp=TS).signature
            if got != expected[i]:
                errors.append(f"{i}: {got}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_provider_callable_is_called_per_request() -> None:
    calls = []

    def provider() -> Credentials:
        calls.append(1)
        return Credentials("AKIDEXAMPLE", f"secret{len(calls)}")

    signer = Signer(provider, "us-east-1", "s3")
    a = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=TS)
    b = signer.sign("GET", "https://b.s3.amazonaws.com/k", timestamp=TS)
    assert len(calls) == 2 and a.signature != b.signature


def test_import_is_light() -> None:
    code = (
        "import sys, sigv4kit; s = sigv4kit.Signer; "
        "heavy = [m for m in ('cryptography', 'botocore', 'requests', 'httpx', 'aiohttp', 'click', "
        "'dataclasses', 'inspect') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the canonical query's fast path equals the general path -------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PLAIN = st.text(alphabet="ab-._~0Z9", max_size=4)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.tuples(_PLAIN.filter(bool), _PLAIN), min_size=1, max_size=8))
def test_canonical_query_fast_path_sorts_by_name_then_value(pairs: list[tuple[str, str]]) -> None:
    from sigv4kit.canonical import _canonical_form, canonical_query, query_pairs

    query = "&".join(f"{k}={v}" for k, v in pairs)
    assert _canonical_form(query)
    general = "&".join(f"{k}={v}" for k, v in sorted(query_pairs(query)))
    assert canonical_query(query) == general


# -- the simple-URL fast path equals the general parse ------------------------------------
_SEG = st.text(alphabet="abZ09-._~", max_size=5)


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9]([a-z0-9.\-]{0,12}[a-z0-9])?", fullmatch=True),
    st.one_of(st.none(), st.lists(_SEG, max_size=5).map(lambda p: "/" + "/".join(p))),
    st.lists(st.tuples(_SEG.filter(bool), _SEG), max_size=4),
    st.sampled_from(["s3", "execute-api"]),
)
def test_simple_url_fast_path_equals_general_parse(
    scheme: str, host: str, path: str | None, query: list[tuple[str, str]], service: str
) -> None:
    from sigv4kit import canonical as c

    url = f"{scheme}://{host}{path or ''}" + (
        "?" + "&".join(f"{k}={v}" for k, v in query) if query else ""
    )
    signer = Signer(CREDS, "us-east-1", service)
    cfg = signer.config
    fast = signer._url(url)
    _, netloc, host_header, wpath, wquery = c.split_url(
        url, plus_is_space=cfg.plus_in_path_is_space
    )
    assert (fast.origin, fast.host, fast.path, fast.query) == (
        f"{scheme}://{netloc}",
        host_header,
        wpath,
        wquery,
    )
    assert fast.curi == c.canonical_uri(
        wpath,
        double_encode=cfg.double_uri_encode,
        normalize=cfg.normalize_path,
        plus_is_space=cfg.plus_in_path_is_space,
    )
    assert fast.cquery == (c.canonical_query(wquery) if wquery else "")
