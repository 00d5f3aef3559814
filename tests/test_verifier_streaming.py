"""Verifier on aws-chunked bodies and the S3 documentation examples.

The S3 API Reference's worked examples (header, presigned, chunked, chunked
with a signed trailer) are rebuilt as the requests S3 received and verified;
every streaming mode, SigV4 and SigV4a, round-trips through the Signer; and
a changed byte anywhere in an encoded body is caught before the data it
protects is released.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.errors import (
    AccessDenied,
    BadDigest,
    IncompleteBody,
    InvalidArgument,
    SignatureDoesNotMatch,
    SignatureError,
)
from sigv4kit.verifier import Verifier
from suite import VECTORS

EXAMPLES = {
    e["name"]: e for e in json.loads((VECTORS / "s3-examples.json").read_text())["examples"]
}
NOW = datetime(2013, 5, 24, tzinfo=timezone.utc)
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def example_verifier(e: dict[str, Any]) -> Verifier:
    c = e["credentials"]
    return Verifier({c["access_key_id"]: c["secret_access_key"]}, e["region"], e["service"])


def example_body(e: dict[str, Any]) -> bytes:
    p = e["payload"]
    if "utf8" in p:
        return str(p["utf8"]).encode()
    return str(p["byte"]).encode() * int(p["decoded_length"])


@pytest.mark.parametrize(
    "name",
    [n for n, e in EXAMPLES.items() if e["kind"] == "authorization-header"],
)
def test_s3_header_examples_verify(name: str) -> None:
    e = EXAMPLES[name]
    target = e["path"] + ("?" + e["query"] if e["query"] else "")
    headers = [*map(tuple, e["headers"]), ("Authorization", e["expected_authorization"])]
    # The published Authorization values have no space after the commas.
    assert ", " not in e["expected_authorization"]
    body = example_body(e)
    ok = example_verifier(e).verify(e["method"], target, headers, body, now=NOW)
    assert ok.read() == body
    assert ";".join(ok.signed_headers) == e["signed_headers"]


def test_s3_presigned_example_verifies() -> None:
    e = EXAMPLES["presigned-get-object"]
    ok = example_verifier(e).verify("GET", e["expected_url"], e["headers"], now=NOW)
    assert ok.expires == 86400


def _chunked_body(e: dict[str, Any], trailer: bool) -> bytes:
    out = []
    for chunk in e["chunks"]:
        data = b"a" * chunk["size"]
        out.append(
            f"{chunk['size_hex']};chunk-signature={chunk['expected_signature']}\r\n".encode()
        )
        if chunk["size"]:
            out.append(data + b"\r\n")
    if trailer:
        t = e["trailer"]
        for n, v in t["headers"]:
            out.append(f"{n}:{v}\r\n".encode())
        out.append(f"x-amz-trailer-signature:{t['expected_signature']}\r\n".encode())
    out.append(b"\r\n")
    return b"".join(out)


@pytest.mark.parametrize("name", ["chunked-put-object", "chunked-put-object-with-trailer"])
def test_s3_chunked_examples_verify(name: str) -> None:
    e = EXAMPLES[name]
    trailer = "trailer" in e
    body = _chunked_body(e, trailer)
    if not trailer:
        assert len(body) == e["payload"]["encoded_length"]
    headers = [
        *map(tuple, e["headers"]),
        *map(tuple, e.get("unsigned_headers_sent", [])),
        ("Authorization", e["expected_authorization"]),
    ]
    headers = [(n, str(len(body)) if n == "Content-Length" else v) for n, v in headers]
    v = example_verifier(e)
    ok = v.verify(
        "PUT", e["path"], headers, [body[i : i + 1000] for i in range(0, len(body), 1000)], now=NOW
    )
    assert ok.auth_type == ("streaming-trailer" if trailer else "streaming")
    assert ok.read() == b"a" * 66560
    if trailer:
        assert ok.trailers == [("x-amz-checksum-crc32c", "sOO8/Q==")]
    # One changed data byte in the second chunk: the first chunk's data was
    # released, the second chunk's never is.
    bad = bytearray(body)
    bad[66000] ^= 1
    ok = v.verify(
        "PUT",
        e["path"],
        headers,
        [bytes(bad[i : i + 1000]) for i in range(0, len(bad), 1000)],
        now=NOW,
    )
    released = 0
    with pytest.raises(SignatureDoesNotMatch):
        for piece in ok.body:  # type: ignore[union-attr]
            released += len(piece)
    assert released <= 65536


MODES = ["streaming", "streaming-trailer", "streaming-unsigned-trailer"]


def _signed_stream(alg: str, mode: str, data: bytes, **kw: Any) -> Any:
    signer = Signer(
        Credentials(AKID, SECRET),
        "us-east-1",
        "s3",
        algorithm=alg,
        payload=mode,
        checksum="crc32c" if mode != "streaming" else None,
        chunk_size=8192,
        **kw,
    )
    return signer.sign("PUT", "https://b.s3.amazonaws.com/key", body=data, timestamp=NOW)


def _verifier() -> Verifier:
    return Verifier({AKID: SECRET}, "us-east-1", "s3")


def _pieces(data: bytes, n: int = 3000) -> list[bytes]:
    return [data[i : i + n] for i in range(0, len(data), n)]


@pytest.mark.parametrize("alg", ["sigv4", "sigv4a"])
@pytest.mark.parametrize("mode", MODES)
def test_streaming_round_trip(alg: str, mode: str) -> None:
    data = os.urandom(30000)
    s = _signed_stream(alg, mode, data)
    enc = b"".join(s.body)
    ok = _verifier().verify("PUT", "/key", list(s.headers), _pieces(enc), now=NOW)
    assert ok.auth_type == mode
    assert ok.read() == data
    assert bool(ok.trailers) == (mode != "streaming")
    # Eager (bytes) form too.
    assert _verifier().verify("PUT", "/key", list(s.headers), enc, now=NOW).read() == data


@pytest.mark.parametrize("alg", ["sigv4", "sigv4a"])
@pytest.mark.parametrize("mode", MODES)
def test_streaming_without_content_encoding(alg: str, mode: str) -> None:
    # minio-go sends aws-chunked bodies without Content-Encoding: aws-chunked.
    data = os.urandom(9000)
    names = ["x-amz-decoded-content-length"] + (["x-amz-trailer"] if "trailer" in mode else [])
    s = _signed_stream(alg, mode, data, signed_headers=names)
    headers = [(n, v) for n, v in s.headers if n.lower() != "content-encoding"]
    assert "content-encoding" not in s.signed_headers
    ok = _verifier().verify("PUT", "/key", headers, _pieces(b"".join(s.body)), now=NOW)
    assert ok.read() == data


@pytest.mark.parametrize("alg", ["sigv4", "sigv4a"])
@pytest.mark.parametrize("mode", MODES)
def test_streaming_tamper_every_region_of_the_body(alg: str, mode: str) -> None:
    """Flip one byte in each part of the encoding: chunk header, data, CRLF,
    final chunk, trailer; nothing unverified is ever released."""
    data = os.urandom(20000)
    s = _signed_stream(alg, mode, data)
    enc = b"".join(s.body)
    # Sample positions across the whole body, plus both ends.
    positions = sorted({0, 5, len(enc) - 1, len(enc) - 3, *range(1, len(enc), 997)})
    for pos in positions:
        bad = bytearray(enc)
        bad[pos] ^= 0x01
        released = bytearray()
        with pytest.raises(SignatureError):
            ok = _verifier().verify("PUT", "/key", list(s.headers), _pieces(bytes(bad)), now=NOW)
            for piece in ok.body:  # type: ignore[union-attr]
                released += piece
        # Never the whole body; with chunk signatures, only verified data (a
        # prefix of the real data).  The unsigned-trailer mode has no chunk
        # signatures: only the held-back end is protected by the checksum.
        assert len(released) < len(data)
        if mode != "streaming-unsigned-trailer":
            assert data.startswith(bytes(released))


def test_streaming_truncated_is_incomplete() -> None:
    data = os.urandom(20000)
    s = _signed_stream("sigv4", "streaming", data)
    enc = b"".join(s.body)
    headers = [(n, v) for n, v in s.headers if n.lower() != "content-length"]
    ok = _verifier().verify("PUT", "/key", headers, _pieces(enc[:-40]), now=NOW)
    with pytest.raises(IncompleteBody):
        ok.read()
    # With Content-Length present the short body is caught the same way.
    ok = _verifier().verify("PUT", "/key", list(s.headers), _pieces(enc[:-40]), now=NOW)
    with pytest.raises(IncompleteBody):
        ok.read()


def test_streaming_seed_signature_checked() -> None:
    data = os.urandom(9000)
    for mode in MODES:
        s = _signed_stream("sigv4", mode, data)
        wrong = Verifier({AKID: SECRET + "x"}, "us-east-1", "s3")
        with pytest.raises(SignatureDoesNotMatch):
            wrong.verify("PUT", "/key", list(s.headers), b"".join(s.body), now=NOW)


def test_streaming_literal_must_match_algorithm() -> None:
    s = _signed_stream("sigv4a", "streaming", b"x" * 100)
    headers = [
        (n, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" if n.lower() == "x-amz-content-sha256" else v)
        for n, v in s.headers
    ]
    with pytest.raises(InvalidArgument):
        _verifier().verify("PUT", "/key", headers, b"".join(s.body), now=NOW)


def test_streaming_bad_trailer_checksum_unsigned() -> None:
    data = os.urandom(9000)
    s = _signed_stream("sigv4", "streaming-unsigned-trailer", data)
    enc = b"".join(s.body)
    i = enc.index(b"x-amz-checksum-crc32c:") + len(b"x-amz-checksum-crc32c:")
    bad = enc[:i] + (b"A" if enc[i : i + 1] != b"A" else b"B") + enc[i + 1 :]
    with pytest.raises((BadDigest, SignatureError)):
        _verifier().verify("PUT", "/key", list(s.headers), bad, now=NOW)


def test_unsigned_decoded_length_header_rejected() -> None:
    s = _signed_stream("sigv4", "streaming", b"x" * 100)
    auth = s.authorization.replace(";x-amz-decoded-content-length", "")
    headers = [(n, auth if n == "Authorization" else v) for n, v in s.headers]
    with pytest.raises(AccessDenied) as exc:
        _verifier().verify("PUT", "/key", headers, b"".join(s.body), now=NOW)
    assert exc.value.details["HeadersNotSigned"] == "x-amz-decoded-content-length"
