"""sigv4kit.canonical, function by function, from tables.

The canonical request is one value built by one constructor
(:func:`canonical_request`) that the signer, the verifier and
``canonical_request_for_target`` all use; these tables pin its rules and show
that every route gives the same value.
"""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import pytest

from sigv4kit import Credentials, Signer, Verifier
from sigv4kit.canonical import (
    EMPTY_SHA256,
    CanonicalRequest,
    StringToSign,
    canonical_block,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_request_for_target,
    canonical_trailers,
    canonical_uri,
    credential_scope,
    string_to_sign,
    trim_value,
)

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = "20150830T123600Z"

# (path, double_encode, normalize, expected)
URIS = [
    ("/", True, True, "/"),
    ("", True, True, "/"),
    ("/a b", False, False, "/a%20b"),
    ("/a%20b", False, False, "/a%20b"),
    ("/a%20b", True, True, "/a%2520b"),
    ("/a//b/./c/../d", True, True, "/a/b/d"),
    ("/a//b/./c/../d", False, False, "/a//b/./c/../d"),
    ("/a/", True, True, "/a/"),
    ("/~user/x-y_z.txt", False, False, "/~user/x-y_z.txt"),
    ("/ü", False, False, "/%C3%BC"),
]


@pytest.mark.parametrize(("path", "double", "normalize", "expected"), URIS)
def test_canonical_uri(path: str, double: bool, normalize: bool, expected: str) -> None:
    assert canonical_uri(path, double_encode=double, normalize=normalize) == expected


QUERIES = [
    ("", ""),
    ("b=2&a=1", "a=1&b=2"),
    ("a=2&a=1", "a=1&a=2"),
    ("a", "a="),
    ("a+b=c+d", "a%20b=c%20d"),
    ("a%2Bb=1", "a%2Bb=1"),
    ("x=%7e", "x=~"),
    ("é=ü", "%C3%A9=%C3%BC"),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_canonical_query(query: str, expected: str) -> None:
    assert canonical_query(query) == expected


TRIMS = [
    ("a", "a"),
    ("  a  ", "a"),
    ("a   b", "a b"),
    ("a\t\tb", "a b"),
    (" a \t b ", "a b"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "expected"), TRIMS)
def test_trim_value(value: str, expected: str) -> None:
    assert trim_value(value) == expected


# (items, block, names)
BLOCKS = [
    ([("host", "h")], "host:h\n", "host"),
    ([("b", "2"), ("a", "1")], "a:1\nb:2\n", "a;b"),
    ([("a", "1"), ("a", " 2 "), ("b", "x  y")], "a:1,2\nb:x y\n", "a;b"),
    ([("x-amz-date", WHEN), ("host", "h")], f"host:h\nx-amz-date:{WHEN}\n", "host;x-amz-date"),
]


@pytest.mark.parametrize(("items", "block", "names"), BLOCKS)
def test_canonical_block_and_headers_agree(
    items: list[tuple[str, str]], block: str, names: str
) -> None:
    assert canonical_block(list(items)) == (block, names)
    upper = [(n.upper(), v) for n, v in items]
    assert canonical_headers(upper, None, frozenset()) == (block, names)


@pytest.mark.parametrize(("items", "block", "names"), BLOCKS)
def test_canonical_request_signer_route(
    items: list[tuple[str, str]], block: str, names: str
) -> None:
    cr = canonical_request("GET", "/", "", list(items), EMPTY_SHA256)
    assert (cr.headers, cr.signed_headers) == (block, names), "header block"
    assert cr.text == f"GET\n/\n\n{block}\n{names}\n{EMPTY_SHA256}", "text"
    assert str(cr) == cr.text
    assert cr == CanonicalRequest("GET", "/", "", block, names, EMPTY_SHA256)


# (received pairs, SignedHeaders text, expected names in the result)
VERIFIER_CASES = [
    ([("host", "h"), ("x-amz-date", WHEN)], "host;x-amz-date", "host;x-amz-date"),  # fast path
    ([("host", "h"), ("a", "1"), ("a", "2")], "a;host", "a;host"),  # a name repeats
    ([("host", "h"), ("x-amz-date", WHEN)], "x-amz-date;host", "host;x-amz-date"),  # unsorted
    ([("host", "h"), ("user-agent", "u")], "host", "host"),  # unsigned header left out
]


@pytest.mark.parametrize(("pairs", "signed", "names"), VERIFIER_CASES)
def test_canonical_request_verifier_route(
    pairs: list[tuple[str, str]], signed: str, names: str
) -> None:
    index: dict[str, str] = {}
    for n, v in pairs:
        index[n] = v if n not in index else f"{index[n]},{v}"
    cr = canonical_request(
        "GET", "/", "", pairs, EMPTY_SHA256, signed=signed, names=signed.split(";"), index=index
    )
    wanted = set(signed.split(";"))
    plain = canonical_request("GET", "/", "", [p for p in pairs if p[0] in wanted], EMPTY_SHA256)
    assert cr == plain, "the verifier's route builds what the signer's builds"
    assert cr.signed_headers == names


def test_values_are_immutable_and_picklable() -> None:
    cr = canonical_request("PUT", "/k", "a=1", [("host", "h")], EMPTY_SHA256)
    with pytest.raises(AttributeError):
        cr.text = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(cr)) == cr and copy.deepcopy(cr) == cr
    sts = string_to_sign("AWS4-HMAC-SHA256", WHEN, "s", cr)
    assert pickle.loads(pickle.dumps(sts)) == sts
    assert repr(cr).startswith("CanonicalRequest(method='PUT'")
    assert isinstance(sts, StringToSign) and str(sts) == sts.text


SCOPES = [
    (("20150830", "us-east-1", "iam"), "20150830/us-east-1/iam/aws4_request"),
    (("20150830", None, "s3"), "20150830/s3/aws4_request"),
]


@pytest.mark.parametrize(("args", "expected"), SCOPES)
def test_credential_scope(args: tuple[str, str | None, str], expected: str) -> None:
    assert credential_scope(*args) == expected


def test_string_to_sign_of_the_aws_example() -> None:
    # AWS's get-vanilla example (aws-sig-v4-test-suite).
    cr = canonical_request(
        "GET", "/", "", [("host", "example.amazonaws.com"), ("x-amz-date", WHEN)], EMPTY_SHA256
    )
    sts = string_to_sign(
        "AWS4-HMAC-SHA256", WHEN, credential_scope("20150830", "us-east-1", "service"), cr
    )
    assert sts.canonical_hash == (
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    ), "canonical request hash"
    assert sts.text.splitlines() == [
        "AWS4-HMAC-SHA256",
        WHEN,
        "20150830/us-east-1/service/aws4_request",
        sts.canonical_hash,
    ]
    assert string_to_sign("AWS4-HMAC-SHA256", WHEN, sts.scope, cr.text) == sts


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("https://example.amazonaws.com/", []),
        ("https://example.amazonaws.com/a b/c?z=1&a=2", [("X-Amz-Meta-A", "  x  y ")]),
        ("https://example.amazonaws.com/k?list-type=2", [("Range", "bytes=0-9"), ("A", "1")]),
    ],
)
@pytest.mark.parametrize("service", ["s3", "service"])
def test_signer_verifier_and_for_target_build_the_same_value(
    url: str, headers: list[tuple[str, str]], service: str
) -> None:
    signer = Signer(Credentials(AKID, SECRET), "us-east-1", service)
    signed = signer.sign("GET", url, headers, timestamp=WHEN)
    assert isinstance(signed.canonical, CanonicalRequest)
    assert signed.canonical.text == signed.canonical_request, "signer: value vs text"
    target = "/" + signed.url.partition("://")[2].partition("/")[2]
    cfg = signer.config
    again = canonical_request_for_target(
        "GET",
        target,
        list(signed.headers),
        signed.payload_hash,
        double_uri_encode=cfg.double_uri_encode,
        normalize_path=cfg.normalize_path,
        signed_headers=signed.signed_headers.split(";"),
    )
    assert again == signed.canonical, "canonical_request_for_target"
    verifier = Verifier({AKID: SECRET}, "us-east-1", service)
    now = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
    result = verifier.verify("GET", target, list(signed.headers), b"", now=now)
    assert result.string_to_sign == signed.string_to_sign, "verifier: string to sign"


def test_presign_builds_its_value_through_the_same_constructor() -> None:
    signer = Signer(Credentials(AKID, SECRET), "us-east-1", "s3")
    signed = signer.presign_request(
        "GET", "https://b.s3.amazonaws.com/k", expires=60, timestamp=WHEN
    )
    assert signed.canonical.signed_headers == "host"
    assert signed.canonical.headers == "host:b.s3.amazonaws.com\n"
    assert signed.canonical.text == signed.canonical_request


# -- trailers: the header rule, in one place ----------------------------------
# (name, trailers, canonical text)
TRAILERS = [
    ("one checksum", [("x-amz-checksum-crc32c", "sOO8/Q==")], "x-amz-checksum-crc32c:sOO8/Q==\n"),
    ("sorted by name", [("second", "2nd"), ("first", "1st")], "first:1st\nsecond:2nd\n"),
    ("names lowercased", [("X-Amz-Checksum-SHA256", "abc=")], "x-amz-checksum-sha256:abc=\n"),
    ("ends trimmed", [("x-a", " \tv \t ")], "x-a:v\n"),
    ("inner runs collapsed", [("x-a", "a  \t b\tc")], "x-a:a b c\n"),
    ("repeated name joined in order", [("b", "2"), ("a", "x"), ("b", "1")], "a:x\nb:2,1\n"),
    ("no trailers", [], ""),
]


@pytest.mark.parametrize(
    ("trailers", "text"), [t[1:] for t in TRAILERS], ids=[t[0] for t in TRAILERS]
)
def test_canonical_trailers_follow_the_header_rule(
    trailers: list[tuple[str, str]], text: str
) -> None:
    assert canonical_trailers(trailers) == text
    if trailers:
        # The same lines as the canonical headers block of a request with
        # those headers: one rule for both.
        creq = canonical_request("PUT", "/", "", [(n.lower(), v) for n, v in trailers], "x")
        assert creq.headers == text


def _trailer_vectors() -> list[tuple[str, list[list[str]], str | None, str]]:
    """(name, trailers, canonical text if published, SHA-256 of it) from
    AWS's own trailer vectors: aws-c-auth's chunked-signing tests and the S3
    API reference example.  The hash is the last line of the published
    trailer string to sign."""
    import json

    from suite import VECTORS

    extra = json.loads((VECTORS / "aws-c-auth-extra-vectors.json").read_text())
    s3 = json.loads((VECTORS / "s3-examples.json").read_text())
    out = []
    v4 = next(v for v in extra["sigv4_chunked"] if "trailing_headers" in v)
    v4a = next(v for v in extra["sigv4a_chunked"] if "trailing_headers" in v)
    digest = v4a["trailer_string_to_sign_template"].rpartition("\n")[2]
    out.append((v4["name"], v4["trailing_headers"], v4["canonical_trailing_headers"], digest))
    for v in s3["examples"]:
        if "trailer" in v:
            t = v["trailer"]
            digest = t["expected_string_to_sign"].rpartition("\n")[2]
            out.append((v["name"], t["headers"], t["canonical_trailer"], digest))
    assert len(out) == 2
    return out


@pytest.mark.parametrize(("name", "trailers", "text", "digest"), _trailer_vectors())
def test_canonical_trailers_of_the_aws_vectors(
    name: str, trailers: list[list[str]], text: str, digest: str
) -> None:
    import hashlib

    got = canonical_trailers([(n, v) for n, v in trailers])
    assert got == text, name
    assert hashlib.sha256(got.encode()).hexdigest() == digest, name


@pytest.mark.parametrize(("value", "sent"), [("a  b\t c", "a b c"), (" \tv ", "v"), ("v", "v")])
def test_trailer_encoder_and_decoder_share_the_rule(value: str, sent: str) -> None:
    """The encoder sends a trailer as it signs it, and the decoder checks the
    signature with the same canonical text, whitespace included."""
    from sigv4kit.keys import signing_key
    from sigv4kit.streaming import ChunkDecoder, prepare_streaming

    key = signing_key(SECRET, WHEN[:8], "us-east-1", "s3")
    scope = credential_scope(WHEN[:8], "us-east-1", "s3")
    data = b"x" * 70_000
    plan = prepare_streaming("streaming-trailer", data, trailers=[("X-Meta", value)])
    seed = "5" * 64
    body = b"".join(
        plan.encode(seed_signature=seed, amz_date=WHEN, scope=scope, sign=key.hexdigest)
    )
    assert f"\r\nx-meta:{sent}\r\n".encode() in body
    dec = ChunkDecoder(
        plan.payload_hash,
        seed_signature=seed,
        amz_date=WHEN,
        scope=scope,
        sign=key.hexdigest,
        trailer_names=list(plan.trailer_names),
    )
    assert dec.feed(body) == data
    assert ("x-meta", sent) in dec.finish()


@pytest.mark.parametrize(
    "value",
    ["plain", "a  b", "\ta", " a", "a ", "a\t b ", "a: b", "x:y", "  ", ""],
)
def test_verifier_block_trims_exactly_as_the_signer(value: str) -> None:
    # The verifier's branch builds the block untrimmed and trims value by
    # value only when the block shows a value that may need it.
    from sigv4kit.canonical import canonical_request

    pairs = [("host", "h"), ("x-amz-meta-a", value)]
    signer = canonical_request("GET", "/k", "", pairs, "UNSIGNED-PAYLOAD")
    verifier = canonical_request(
        "GET",
        "/k",
        "",
        pairs,
        "UNSIGNED-PAYLOAD",
        signed="host;x-amz-meta-a",
        names=("host", "x-amz-meta-a"),
        index=dict(pairs),
    )
    assert verifier == signer
    one = canonical_request(
        "GET",
        "/k",
        "",
        [("host", value)],
        "UNSIGNED-PAYLOAD",
        signed="host",
        names=("host",),
        index={"host": value},
    )
    assert one == canonical_request("GET", "/k", "", [("host", value)], "UNSIGNED-PAYLOAD")
