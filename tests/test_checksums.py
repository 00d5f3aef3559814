"""The x-amz-checksum-* algorithms: check values, awscrt agreement, incremental use."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4kit import checksums
from sigv4kit.checksums import CHECKSUM_ALGORITHMS, b64_length, new_checksum

crt = pytest.importorskip("awscrt.checksums")

# The standard "123456789" check values from the CRC catalogue.
CHECK = {"crc32": 0xCBF43926, "crc32c": 0xE3069283, "crc64nvme": 0xAE8B14860A799888}


def test_check_values_pure() -> None:
    assert checksums.crc32c_pure(b"123456789") == CHECK["crc32c"]
    assert checksums.crc64nvme_pure(b"123456789") == CHECK["crc64nvme"]
    assert zlib.crc32(b"123456789") == CHECK["crc32"]


def test_s3_trailer_example_crc32c() -> None:
    # chunked-put-object-with-trailer: 66560 x 'a' has CRC32C sOO8/Q== (0xb0e3bcfd).
    for pure in (True, False):
        c = new_checksum("crc32c", pure=pure)
        c.update(b"a" * 65536)
        c.update(b"a" * 1024)
        assert c.b64digest() == "sOO8/Q=="


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))
def test_pure_matches_awscrt(data: bytes, seed32: int, seed64: int) -> None:
    assert checksums.crc32c_pure(data) == crt.crc32c(data)
    assert checksums.crc64nvme_pure(data) == crt.crc64nvme(data)
    # continuing from an arbitrary previous value (the incremental form)
    assert checksums.crc32c_pure(data, seed32) == crt.crc32c(data, seed32)
    assert checksums.crc64nvme_pure(data, seed64) == crt.crc64nvme(data, seed64)


def test_pure_bulk_path_large_buffers() -> None:
    # Sizes around the 128-byte block and 8-block thresholds of the bulk path.
    data = bytes(range(256)) * 600 + b"tail"
    for n in (0, 1, 127, 128, 1023, 1024, 1025, 4096 + 77, len(data)):
        assert checksums.crc32c_pure(data[:n]) == crt.crc32c(data[:n]), n
        assert checksums.crc64nvme_pure(data[:n]) == crt.crc64nvme(data[:n]), n


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(CHECKSUM_ALGORITHMS)), st.binary(max_size=3000), st.data())
def test_incremental_equals_one_shot(name: str, data: bytes, draw: st.DataObject) -> None:
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=5)))
    one = new_checksum(name, pure=True)
    one.update(data)
    parts = new_checksum(name, pure=True)
    prev = 0
    for c in [*cuts, len(data)]:
        parts.update(memoryview(data)[prev:c])
        prev = c
    assert parts.digest() == one.digest()
    assert len(one.b64digest()) == b64_length(name)
    assert base64.b64decode(one.b64digest()) == one.digest()


def test_values_match_reference_implementations() -> None:
    data = b"The quick brown fox jumps over the lazy dog" * 100
    expect = {
        "crc32": zlib.crc32(data).to_bytes(4, "big"),
        "crc32c": crt.crc32c(data).to_bytes(4, "big"),
        "crc64nvme": crt.crc64nvme(data).to_bytes(8, "big"),
        "sha1": hashlib.sha1(data).digest(),
        "sha256": hashlib.sha256(data).digest(),
    }
    for name, digest in expect.items():
        for pure in (True, False):
            c = new_checksum(name, pure=pure)
            c.update(data)
            assert c.digest() == digest, name
            assert c.header == f"x-amz-checksum-{name}"


def test_botocore_agrees_on_base64_form() -> None:
    from botocore.httpchecksum import Crc32Checksum, Sha256Checksum

    data = b"hello world" * 1000
    for ours, theirs in (("crc32", Crc32Checksum()), ("sha256", Sha256Checksum())):
        theirs.update(data)
        c = new_checksum(ours)
        c.update(data)
        assert c.b64digest() == base64.b64encode(theirs.digest()).decode()


def test_unknown_algorithm_is_a_clear_error() -> None:
    from sigv4kit.errors import SigningError

    with pytest.raises(SigningError, match="not supported"):
        new_checksum("md5")


def test_pure_crc_works_in_blocks_not_bytes() -> None:
    # The bulk path must not fall back to a byte-at-a-time loop. Counting the
    # Python lines it executes says so deterministically (a timing would flake
    # on a loaded machine; speed itself lives in the benchmarks): a bytewise
    # loop runs at least one line per byte.
    import sys
    from types import FrameType
    from typing import Any

    data = bytes(range(256)) * 256  # 64 KiB
    checksums.crc32c_pure(data[:4096])  # build the tables outside the count
    lines = 0
    source = checksums.__file__

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if frame.f_code.co_filename != source:
            return None
        if event == "line":
            lines += 1
        return tracer

    sys.settrace(tracer)
    try:
        got = checksums.crc32c_pure(data)
    finally:
        sys.settrace(None)
    assert got == crt.crc32c(data)
    assert lines * 8 < len(data), f"{lines} lines for {len(data)} bytes"
