"""aws-chunked streaming: the published vectors, the Signer end to end, and peers.

* S3 API Reference examples (``s3-examples.json``): seed, every chunk's
  string to sign and signature, encoded length 66824, the trailer signature.
* aws-c-auth chunked vectors (``aws-c-auth-extra-vectors.json``): SigV4 by
  value, SigV4a by verification against the published public key.
* botocore's ``AwsChunkedWrapper`` (STREAMING-UNSIGNED-PAYLOAD-TRAILER) as a
  real peer: our bytes equal its bytes, and our decoder accepts its bodies.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from sigv4kit import Credentials, SignedRequest, Signer
from sigv4kit.canonical import canonical_request_for_target
from sigv4kit.errors import IncompleteBody, SigningError
from sigv4kit.keys import signing_key
from sigv4kit.streaming import (
    STREAMING_PAYLOAD,
    ChunkDecoder,
    ChunkEncoder,
    decoder_from_headers,
    encoded_length,
    iter_decoded,
    prepare_streaming,
)
from suite import VECTORS

EXAMPLES = {
    e["name"]: e for e in json.loads((VECTORS / "s3-examples.json").read_text())["examples"]
}
EXTRA = json.loads((VECTORS / "aws-c-auth-extra-vectors.json").read_text())
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SCOPE_A = "20130524/s3/aws4_request"
KEY = signing_key(SECRET, "20130524", "us-east-1", "s3")
PAYLOAD = b"a" * 66560


def recording(sign: Callable[[bytes], str]) -> tuple[Callable[[bytes], str], list[str]]:
    seen: list[str] = []

    def wrapped(sts: bytes) -> str:
        seen.append(sts.decode())
        return sign(sts)

    return wrapped, seen


def seed_for(plan: Any, path: str, e: dict[str, Any] | None = None) -> tuple[str, str]:
    """Sign the plan's headers the way the lead's Signer does (independent route)."""
    headers = [(n, v) for n, v in plan.headers if n.lower() not in plan.unsigned]
    headers.append(("x-amz-content-sha256", plan.payload_hash))
    if not any(n.lower() == "x-amz-date" for n, _ in headers):
        headers.append(("x-amz-date", DATE))
    creq = canonical_request_for_target(
        "PUT", path, headers, plan.payload_hash, double_uri_encode=False, normalize_path=False
    )
    sts = f"AWS4-HMAC-SHA256\n{DATE}\n{SCOPE}\n{hashlib.sha256(creq.text.encode()).hexdigest()}"
    return creq.text, KEY.hexdigest(sts.encode())


def chunk_signatures(body: bytes) -> list[str]:
    return re.findall(rb"chunk-signature=([0-9a-f*]+)\r\n", body)  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# S3 API Reference examples
# ---------------------------------------------------------------------------
def test_s3_chunked_put_object_example() -> None:
    e = EXAMPLES["chunked-put-object"]
    headers = [(n, v) for n, v in e["headers"] if n.lower() != "x-amz-content-sha256"]
    plan = prepare_streaming("streaming", PAYLOAD, headers=headers)
    assert plan.payload_hash == e["payload_sha256"] == STREAMING_PAYLOAD
    assert plan.content_length == e["payload"]["encoded_length"] == 66824
    assert plan.unsigned == frozenset()  # the doc signs the Content-Length it was given
    creq, seed = seed_for(plan, e["path"])
    assert creq == e["expected_canonical_request"]
    assert seed == e["expected_seed_signature"]

    sign, seen = recording(KEY.hexdigest)
    body = b"".join(plan.encode(seed_signature=seed, amz_date=DATE, scope=SCOPE, sign=sign))
    assert len(body) == 66824
    assert seen == [c["expected_string_to_sign"] for c in e["chunks"]]
    sigs = [s.decode() for s in chunk_signatures(body)]  # type: ignore[attr-defined]
    assert sigs == [c["expected_signature"] for c in e["chunks"]]
    # Exact framing: 65536 + 1024 + the final empty chunk.
    expected = (
        b"".join(
            b"%x;chunk-signature=%s\r\n" % (c["size"], c["expected_signature"].encode())
            + b"a" * c["size"]
            + b"\r\n"
            for c in e["chunks"][:2]
        )
        + b"0;chunk-signature=%s\r\n\r\n" % e["chunks"][2]["expected_signature"].encode()
    )
    assert body == expected


def test_s3_chunked_put_object_with_trailer_example() -> None:
    e = EXAMPLES["chunked-put-object-with-trailer"]
    headers = [(n, v) for n, v in e["headers"] if n.lower() != "x-amz-content-sha256"]
    # X-Amz-Trailer given by the caller names the checksum: crc32c is inferred.
    plan = prepare_streaming("streaming-trailer", PAYLOAD, headers=headers)
    assert plan.checksum == "crc32c"
    assert plan.payload_hash == e["payload_sha256"]
    # Content-Length is added, sent, and left out of the signature, as in the doc.
    assert plan.unsigned == {"content-length"}
    assert ("Content-Length", str(plan.content_length)) in plan.headers
    creq, seed = seed_for(plan, e["path"])
    assert creq == e["expected_canonical_request"]
    assert seed == e["expected_seed_signature"]

    sign, seen = recording(KEY.hexdigest)
    body = b"".join(plan.encode(seed_signature=seed, amz_date=DATE, scope=SCOPE, sign=sign))
    assert len(body) == plan.content_length
    assert seen[:3] == [c["expected_string_to_sign"] for c in e["chunks"]]
    assert seen[3] == e["trailer"]["expected_string_to_sign"]
    tail = (
        b"0;chunk-signature=%s\r\n" % e["chunks"][2]["expected_signature"].encode()
        + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
        + b"x-amz-trailer-signature:%s\r\n\r\n" % e["trailer"]["expected_signature"].encode()
    )
    assert body.endswith(tail)
    sigs = [s.decode() for s in chunk_signatures(body)]  # type: ignore[attr-defined]
    assert sigs == [c["expected_signature"] for c in e["chunks"]]

    # And the decoder accepts it, returning the payload and the trailer.
    dec = ChunkDecoder(
        plan.payload_hash,
        seed_signature=seed,
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
        decoded_length=66560,
        trailer_names=["x-amz-checksum-crc32c"],
    )
    assert dec.feed(body) == PAYLOAD
    assert dec.finish() == [("x-amz-checksum-crc32c", "sOO8/Q==")]
    assert dec.signature == e["trailer"]["expected_signature"]


def test_signer_end_to_end_chunked_example() -> None:
    e = EXAMPLES["chunked-put-object"]
    signer = Signer(Credentials(AKID, SECRET), region="us-east-1", service="s3")
    headers = [("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("Content-Length", "0")]
    signed = signer.sign(
        "PUT",
        "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
        headers=headers,
        body=PAYLOAD,
        timestamp=DATE,
        payload="streaming",
    )
    assert signed.canonical_request == e["expected_canonical_request"]
    assert signed.signature == e["expected_seed_signature"]
    body = b"".join(signed.body)
    assert len(body) == 66824 == len(signed.body)
    sigs = [s.decode() for s in chunk_signatures(body)]  # type: ignore[attr-defined]
    assert sigs == [c["expected_signature"] for c in e["chunks"]]


def _sign_trailer_example() -> tuple[SignedRequest, ChunkDecoder]:
    """The S3 trailer example signed, and the decoder a server sets up from its headers."""
    signer = Signer(Credentials(AKID, SECRET), region="us-east-1", service="s3", checksum="crc32c")
    signed = signer.sign(
        "PUT",
        "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
        headers=[("x-amz-storage-class", "REDUCED_REDUNDANCY")],
        body=io.BytesIO(PAYLOAD),
        timestamp=DATE,
        payload="streaming-trailer",
    )
    dec = decoder_from_headers(
        signed.headers,
        seed_signature=signed.signature,
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
    )
    return signed, dec


def test_signer_end_to_end_trailer_example() -> None:
    e = EXAMPLES["chunked-put-object-with-trailer"]
    signed, dec = _sign_trailer_example()
    assert signed.canonical_request == e["expected_canonical_request"]
    assert signed.signature == e["expected_seed_signature"]
    body = b"".join(signed.body)
    assert f"x-amz-trailer-signature:{e['trailer']['expected_signature']}".encode() in body
    sent = dict((n.lower(), v) for n, v in signed.headers)
    assert int(sent["content-length"]) == len(body)
    # The verifier side, set up from the received headers.
    assert b"".join(iter_decoded(dec, io.BytesIO(body), read_size=999)) == PAYLOAD


def test_iter_decoded_file_with_nothing_ready_is_an_incomplete_body() -> None:
    # A non-blocking file returns None when nothing is ready: the stream ends
    # there, and the decoder names the body as incomplete (not a TypeError).
    signed, dec = _sign_trailer_example()
    e = EXAMPLES["chunked-put-object-with-trailer"]
    assert signed.signature == e["expected_seed_signature"]
    body = b"".join(signed.body)

    class NotReady(io.RawIOBase):
        def __init__(self) -> None:
            self.left = memoryview(body)[: len(body) // 2]

        def read(self, size: int = -1) -> bytes | None:
            if not self.left:
                return None
            piece, self.left = bytes(self.left[:size]), self.left[size:]
            return piece

    with pytest.raises(IncompleteBody):
        b"".join(iter_decoded(dec, NotReady(), read_size=999))


# ---------------------------------------------------------------------------
# aws-c-auth vectors
# ---------------------------------------------------------------------------
def test_aws_c_auth_sigv4_chunked() -> None:
    v = next(x for x in EXTRA["sigv4_chunked"] if x["name"] == "sigv4-chunked")
    signer = Signer(Credentials(v["access_key_id"], v["secret_access_key"]), "us-east-1", "s3")
    signed = signer.sign(
        v["method"],
        f"https://s3.amazonaws.com{v['path']}",
        headers=v["headers"],
        body=b"a" * 66560,
        timestamp=v["timestamp"],
        payload="streaming",
    )
    assert signed.signature == v["expected_seed_signature"]
    assert signed.authorization == v["expected_authorization"]
    sigs = [s.decode() for s in chunk_signatures(b"".join(signed.body))]  # type: ignore[attr-defined]
    assert sigs == [c["expected_signature"] for c in v["chunks"]]


def test_aws_c_auth_sigv4_trailing_headers() -> None:
    base = next(x for x in EXTRA["sigv4_chunked"] if x["name"] == "sigv4-chunked")
    v = next(x for x in EXTRA["sigv4_chunked"] if x["name"] == "sigv4-trailing-headers")
    sign, seen = recording(KEY.hexdigest)
    enc = ChunkEncoder(
        "streaming-trailer",
        seed_signature=base["expected_seed_signature"],
        amz_date=DATE,
        scope=SCOPE,
        sign=sign,
        trailer_names=["first", "second", "third"],
        decoded_length=66560,
    )
    body = enc.send(PAYLOAD) + enc.finish(v["trailing_headers"])
    assert seen[-1] == v["expected_string_to_sign"]
    assert enc.signature == v["expected_signature"]
    assert body.endswith(
        b"first:1st\r\nsecond:2nd\r\nthird:3rd\r\n"
        + b"x-amz-trailer-signature:%s\r\n\r\n" % v["expected_signature"].encode()
    )
    dec = ChunkDecoder(
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        seed_signature=base["expected_seed_signature"],
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
        trailer_names=["first", "second", "third"],
    )
    assert dec.feed(body) == PAYLOAD
    assert dec.finish() == [("first", "1st"), ("second", "2nd"), ("third", "3rd")]


def _v4a() -> Any:
    return pytest.importorskip("sigv4kit.v4a")


@pytest.mark.parametrize("name", ["sigv4a-chunked", "sigv4a-trailing-headers"])
def test_aws_c_auth_sigv4a_chunked_by_verification(name: str) -> None:
    v4a = _v4a()
    v = next(x for x in EXTRA["sigv4a_chunked"] if x["name"] == name)
    xy = v["verification_public_key"]
    pub = v4a.load_public_key((xy["X"], xy["Y"]))
    trailer = name.endswith("trailing-headers")
    headers = [(n, val) for n, val in v["headers"]]
    extra = v.get("trailing_headers", [])
    plan = prepare_streaming(
        "streaming-trailer" if trailer else "streaming",
        b"a" * 66560,
        headers=headers,
        algorithm="AWS4-ECDSA-P256-SHA256",
        trailers=extra,
    )
    assert plan.payload_hash == v["signed_body_value"]
    # aws-c-auth's test reuses the SigV4 body's Content-Length (66824); the real
    # SigV4a body is longer: three signatures padded from 64 to 144 characters.
    exact = plan.content_length
    assert exact == 66824 + 3 * 80 + (0 if not trailer else exact - 66824 - 240)
    signed_headers = [
        (n, "66824" if n.lower() == "content-length" else val)
        for n, val in plan.headers
        if n.lower() not in plan.unsigned
    ]
    signed_headers += [
        ("x-amz-content-sha256", plan.payload_hash),
        ("x-amz-date", DATE),
        ("x-amz-region-set", v["region_set"]),
    ]
    creq = canonical_request_for_target(
        "PUT",
        v["path"],
        signed_headers,
        plan.payload_hash,
        double_uri_encode=False,
        normalize_path=False,
    )
    assert creq.text == v["expected_canonical_request"]
    sts = (
        f"AWS4-ECDSA-P256-SHA256\n{DATE}\n{SCOPE_A}\n"
        f"{hashlib.sha256(creq.text.encode()).hexdigest()}"
    )
    seed = v4a.sign_v4a(v["access_key_id"], v["secret_access_key"], sts.encode())
    assert v4a.verify_v4a(pub, sts.encode(), seed)

    def sign(b: bytes) -> str:
        return str(v4a.sign_v4a(v["access_key_id"], v["secret_access_key"], b))

    body = b"".join(plan.encode(seed_signature=seed, amz_date=DATE, scope=SCOPE_A, sign=sign))
    assert len(body) == plan.content_length
    padded = [s.decode() for s in chunk_signatures(body)]  # type: ignore[attr-defined]
    assert all(len(s) == 144 for s in padded)  # '*'-padded as aws-c-auth does
    prev = seed
    for chunk, sig in zip(v["chunks"], padded, strict=True):
        sig = sig.rstrip("*")
        chunk_sts = v["chunk_string_to_sign_template"].format(
            previous_signature=prev, sha256_of_chunk=chunk["sha256"]
        )
        assert v4a.verify_v4a(pub, chunk_sts.encode(), sig)
        prev = sig
    if trailer:
        tsig = re.search(rb"x-amz-trailer-signature:([0-9a-f]+)\**\r\n", body)
        assert tsig is not None
        t_sts = v["trailer_string_to_sign_template"].format(previous_signature=prev)
        assert v4a.verify_v4a(pub, t_sts.encode(), tsig.group(1).decode())
        assert b"first:1st\r\nsecond:2nd\r\nthird:3rd\r\n" in body

    # Our decoder verifies the same body with the public key only.
    dec = ChunkDecoder(
        plan.payload_hash,
        seed_signature=seed,
        amz_date=DATE,
        scope=SCOPE_A,
        verify=lambda b, s: bool(v4a.verify_v4a(pub, b, s)),
        decoded_length=66560,
        trailer_names=[n for n, _ in extra],
    )
    assert dec.feed(body) == b"a" * 66560
    dec.finish()


def test_signer_sigv4a_streaming_round_trip() -> None:
    v4a = _v4a()
    signer = Signer(
        Credentials(AKID, SECRET),
        region="us-east-1",
        service="s3",
        algorithm="sigv4a",
        region_set=["*"],
        checksum="sha256",
    )
    data = bytes(range(256)) * 700
    signed = signer.sign(
        "PUT",
        "https://bucket.s3.amazonaws.com/k",
        body=data,
        timestamp=DATE,
        payload="streaming-trailer",
    )
    assert signed.payload_hash == "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
    pub = v4a.public_key_for(AKID, SECRET)
    assert v4a.verify_v4a(pub, signed.string_to_sign.encode(), signed.signature)
    body = b"".join(signed.body)
    assert len(body) == len(signed.body)
    dec = decoder_from_headers(
        signed.headers,
        seed_signature=signed.signature,
        amz_date=DATE,
        scope=SCOPE_A,
        verify=lambda b, s: bool(v4a.verify_v4a(pub, b, s)),
    )
    assert dec.feed(body) == data
    assert dec.finish()[0][0] == "x-amz-checksum-sha256"


# ---------------------------------------------------------------------------
# botocore as a peer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("checksum", ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"])
@pytest.mark.parametrize("size", [0, 1, 8192, 100_000])
def test_unsigned_trailer_matches_botocore(checksum: str, size: int) -> None:
    from botocore import httpchecksum as hc

    classes = {
        "crc32": hc.Crc32Checksum,
        "sha1": hc.Sha1Checksum,
        "sha256": hc.Sha256Checksum,
        "crc32c": getattr(hc, "CrtCrc32cChecksum", None),
        "crc64nvme": getattr(hc, "CrtCrc64NvmeChecksum", None),
    }
    cls = classes[checksum]
    if cls is None:
        pytest.skip("this botocore has no CRT checksum classes")
    data = (bytes(range(251)) * 400)[:size]
    theirs = b"".join(
        hc.AwsChunkedWrapper(
            io.BytesIO(data),
            checksum_cls=cls,
            checksum_name=f"x-amz-checksum-{checksum}",
            chunk_size=8192,
        )
    )
    plan = prepare_streaming("streaming-unsigned-trailer", data, checksum=checksum, chunk_size=8192)
    ours = b"".join(plan.encode(seed_signature="", amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest))
    assert ours == theirs
    assert plan.content_length == len(theirs)
    dec = ChunkDecoder(
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        decoded_length=size,
        trailer_names=[f"x-amz-checksum-{checksum}"],
    )
    assert b"".join(dec.feed(theirs[i : i + 777]) for i in range(0, len(theirs), 777)) == data
    dec.finish()


def test_decoder_accepts_botocore_default_chunking() -> None:
    # botocore's default 1 MiB chunks exceed nothing we limit and decode fine.
    from botocore import httpchecksum as hc

    data = bytes(range(256)) * 9000
    theirs = b"".join(
        hc.AwsChunkedWrapper(
            io.BytesIO(data), checksum_cls=hc.Crc32Checksum, checksum_name="x-amz-checksum-crc32"
        )
    )
    dec = decoder_from_headers(
        [
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", str(len(data))),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
    )
    assert b"".join(iter_decoded(dec, [theirs])) == data


def test_minio_go_style_request_without_content_encoding() -> None:
    # minio-go sends STREAMING-AWS4-HMAC-SHA256-PAYLOAD with 64 KiB chunks and no
    # Content-Encoding header (INTEROP.md); the decoder only needs these headers.
    data = bytes(range(256)) * 600
    enc = ChunkEncoder(
        "streaming", seed_signature="f" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest
    )
    body = enc.send(data) + enc.finish()
    headers = [
        ("Host", "127.0.0.1:9000"),
        ("X-Amz-Content-Sha256", STREAMING_PAYLOAD),
        ("X-Amz-Decoded-Content-Length", str(len(data))),
        ("Content-Length", str(len(body))),
    ]
    dec = decoder_from_headers(
        headers, seed_signature="f" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest
    )
    assert dec.feed(body) == data
    dec.finish()


# ---------------------------------------------------------------------------
# Planning: headers, lengths, sources
# ---------------------------------------------------------------------------
def test_headers_added_and_completed() -> None:
    plan = prepare_streaming(
        "streaming-trailer", b"x" * 10, headers=[("Content-Encoding", "gzip")], checksum="sha1"
    )
    h = dict(plan.headers)
    assert h["Content-Encoding"] == "aws-chunked,gzip"
    assert h["X-Amz-Decoded-Content-Length"] == "10"
    assert h["X-Amz-Trailer"] == "x-amz-checksum-sha1"
    assert int(h["Content-Length"]) == plan.content_length
    # Already aws-chunked: not doubled.
    plan = prepare_streaming("streaming", b"", headers=[("content-encoding", "aws-chunked")])
    assert dict(plan.headers)["content-encoding"] == "aws-chunked"


def test_trailer_modes_default_to_crc32() -> None:
    plan = prepare_streaming("streaming-unsigned-trailer", b"abc")
    assert plan.checksum == "crc32"
    assert dict(plan.headers)["X-Amz-Trailer"] == "x-amz-checksum-crc32"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"checksum": "crc32"}, "no trailer"),
        ({"headers": [("X-Amz-Decoded-Content-Length", "5")]}, "says 5 bytes"),
        ({"headers": [("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")]}, "contradicts"),
        ({"chunk_size": 4096}, "minimum of 8192"),
        ({"headers": [("Transfer-Encoding", "chunked"), ("Content-Length", "3")]}, "only one"),
    ],
)
def test_plan_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SigningError, match=match):
        prepare_streaming("streaming", b"0123456789", **kwargs)


def test_unknown_length_needs_declared_length() -> None:
    def gen() -> Any:
        yield b"a" * 9000
        yield b"b" * 9000

    with pytest.raises(SigningError, match="X-Amz-Decoded-Content-Length"):
        prepare_streaming("streaming", gen())
    plan = prepare_streaming(
        "streaming", gen(), headers=[("X-Amz-Decoded-Content-Length", "18000")]
    )
    body = b"".join(
        plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
    )
    assert len(body) == plan.content_length == encoded_length(18000)
    # A stream that turns out shorter (or longer) than declared is refused.
    plan = prepare_streaming("streaming", gen(), decoded_length=20000)
    with pytest.raises(SigningError, match="declared 20000"):
        b"".join(
            plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
        )
    plan = prepare_streaming("streaming", gen(), decoded_length=10000)
    with pytest.raises(SigningError, match="more than the 10000"):
        b"".join(
            plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
        )


def test_seekable_file_measured_from_current_position(tmp_path: Any) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"h" * 100 + b"d" * 20000)
    with open(p, "rb") as f:
        f.seek(100)
        plan = prepare_streaming("streaming", f)
        assert plan.decoded_length == 20000
        enc = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
        first = b"".join(enc)
        # Retry: a body over a seekable file can be sent again, identically.
        again = b"".join(enc.restart())
        assert first == again and len(first) == plan.content_length
        dec = ChunkDecoder(
            STREAMING_PAYLOAD,
            seed_signature="0" * 64,
            amz_date=DATE,
            scope=SCOPE,
            sign=KEY.hexdigest,
            decoded_length=20000,
        )
        assert dec.feed(first) == b"d" * 20000


def test_text_file_is_refused(tmp_path: Any) -> None:
    p = tmp_path / "t.txt"
    p.write_text("hello")
    with open(p) as f:
        plan = prepare_streaming("streaming", f)
        with pytest.raises(SigningError, match="binary mode"):
            list(
                plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
            )


def test_async_iterable_source() -> None:
    import asyncio

    async def produce() -> Any:
        for i in range(5):
            yield bytes([65 + i]) * 7000

    async def main() -> bytes:
        plan = prepare_streaming("streaming-trailer", produce(), decoded_length=35000)
        body = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
        assert len(body) == plan.content_length
        with pytest.raises(SigningError, match="async for"):
            next(iter(body))
        return b"".join([piece async for piece in body])

    out = asyncio.run(main())
    dec = ChunkDecoder(
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        seed_signature="0" * 64,
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
        decoded_length=35000,
        trailer_names=["x-amz-checksum-crc32"],
    )
    assert dec.feed(out) == b"".join(bytes([65 + i]) * 7000 for i in range(5))
    dec.finish()


def test_one_shot_stream_cannot_be_sent_twice() -> None:
    plan = prepare_streaming("streaming", iter([b"x" * 10]), decoded_length=10)
    body = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
    list(body)
    with pytest.raises(SigningError, match="one-shot"):
        body.restart()


@pytest.mark.parametrize("kind", ["bytes", "list", "file"])
def test_replayable_body_iterated_twice_is_sent_whole_twice(kind: str, tmp_path: Any) -> None:
    # A retry (urllib3, http.client) iterates the same body object again: the
    # second pass must send the whole body, not nothing.
    data = b"r" * 150_000
    source: Any = {"bytes": data, "list": [data[:70_000], data[70_000:]]}.get(kind)
    if kind == "file":
        p = tmp_path / "b.bin"
        p.write_bytes(data)
        source = open(p, "rb")  # closed below
    try:
        plan = prepare_streaming("streaming", source, decoded_length=len(data))
        body = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
        first = b"".join(body)
        second = b"".join(body)
    finally:
        if kind == "file":
            source.close()
    assert len(first) == plan.content_length
    assert second == first


def test_one_shot_body_iterated_twice_is_refused() -> None:
    plan = prepare_streaming("streaming", iter([b"x" * 10]), decoded_length=10)
    body = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
    assert len(b"".join(body)) == plan.content_length
    with pytest.raises(SigningError, match="already sent"):
        b"".join(body)


def test_async_body_iterated_twice() -> None:
    import asyncio

    async def main() -> tuple[bytes, bytes]:
        plan = prepare_streaming("streaming", b"a" * 90_000)
        body = plan.encode(seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest)
        first = b"".join([p async for p in body])
        second = b"".join([p async for p in body])
        return first, second

    first, second = asyncio.run(main())
    assert first == second and len(first) > 90_000


def test_decoder_requires_decoded_length_header() -> None:
    from sigv4kit.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="X-Amz-Decoded-Content-Length"):
        decoder_from_headers(
            [("x-amz-content-sha256", STREAMING_PAYLOAD)],
            seed_signature="0" * 64,
            amz_date=DATE,
            scope=SCOPE,
            sign=KEY.hexdigest,
        )


def test_header_checksum_checked_by_decoder() -> None:
    # A checksum sent as a normal header (not a trailer) is checked too.
    from sigv4kit.errors import BadDigest

    data = b"z" * 9000
    enc = ChunkEncoder(
        "streaming", seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest
    )
    body = enc.send(data) + enc.finish()
    base = [("x-amz-content-sha256", STREAMING_PAYLOAD), ("x-amz-decoded-content-length", "9000")]
    dec = decoder_from_headers(
        [*base, ("x-amz-checksum-crc32", "AAAAAA==")],
        seed_signature="0" * 64,
        amz_date=DATE,
        scope=SCOPE,
        sign=KEY.hexdigest,
    )
    with pytest.raises(BadDigest, match="CRC32"):
        dec.feed(body)


def test_truncated_body_is_incomplete() -> None:
    enc = ChunkEncoder(
        "streaming", seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest
    )
    body = enc.send(b"q" * 20000) + enc.finish()
    dec = ChunkDecoder(
        STREAMING_PAYLOAD, seed_signature="0" * 64, amz_date=DATE, scope=SCOPE, sign=KEY.hexdigest
    )
    dec.feed(body[:-2])
    with pytest.raises(IncompleteBody, match="truncated"):
        dec.finish()
