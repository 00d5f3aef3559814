"""Constant memory: a 64 MiB file streams through the Signer and the decoder
with well under 16 MiB of peak allocations (the benchmark does 1 GiB)."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest

from sigv4kit import Credentials, Signer
from sigv4kit.keys import signing_key
from sigv4kit.streaming import decoder_from_headers

MIB = 1 << 20
LIMIT = 16 * MIB
DATE = "20130524T000000Z"
CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mem") / "64mib.bin"
    block = random.Random(5).randbytes(MIB)
    with open(path, "wb") as f:
        for i in range(64):
            f.write(block[i:] + block[:i])
    return path


@pytest.mark.parametrize("payload", ["streaming", "streaming-trailer"])
def test_signer_streams_64_mib_in_constant_memory(big_file: Path, payload: str) -> None:
    signer = Signer(
        CREDS,
        region="us-east-1",
        service="s3",
        checksum="crc32" if payload == "streaming-trailer" else None,
    )
    with open(big_file, "rb") as f:
        signed = signer.sign(
            "PUT", "https://b.s3.amazonaws.com/k", body=f, timestamp=DATE, payload=payload
        )
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            n = sum(len(piece) for piece in signed.body)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert n == len(signed.body) > 64 * MIB
    assert peak < LIMIT, f"peak allocations {peak / MIB:.1f} MiB"


def test_decoder_streams_64_mib_in_constant_memory(big_file: Path) -> None:
    signer = Signer(CREDS, region="us-east-1", service="s3")
    key = signing_key(CREDS.secret_access_key, "20130524", "us-east-1", "s3")
    with open(big_file, "rb") as f:
        signed = signer.sign(
            "PUT", "https://b.s3.amazonaws.com/k", body=f, timestamp=DATE, payload="streaming"
        )
        dec = decoder_from_headers(
            signed.headers,
            seed_signature=signed.signature,
            amz_date=DATE,
            scope="20130524/us-east-1/s3/aws4_request",
            sign=key.hexdigest,
        )
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            total = 0
            for piece in signed.body:
                # feed in network-sized pieces, as a server would receive them
                for i in range(0, len(piece), 16384):
                    total += len(dec.feed(piece[i : i + 16384]))
            dec.finish()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert total == 64 * MIB
    assert peak < LIMIT, f"peak allocations {peak / MIB:.1f} MiB"
