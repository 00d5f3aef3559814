"""atheris harness: the aws-chunked decoder, every mode, SigV4 and SigV4a.

Input layout (so libFuzzer's byte mutations stay meaningful):

* byte 0: bits 0-1 the mode (0 streaming, 1 trailer, 2 unsigned trailer),
  bit 2 SigV4a, bit 3 "edit" mode;
* byte 1: the size of the pieces the body is fed in (8-2048 bytes);
* the rest: in raw mode, the aws-chunked body itself; in edit mode, 3-byte
  edits ``(position hi, position lo, xor)`` applied to a valid signed body.

Allowed: decoded data, or a :class:`sigv4kit.errors.SigV4Error`.  In edit
mode an accepted body must decode to exactly the signed data (no forgery).

Run through ``python -m fuzz.run chunked`` (see ``scripts/fuzz.sh``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=["sigv4kit"]):
        import sigv4kit.canonical
        import sigv4kit.checksums
        import sigv4kit.streaming  # noqa: F401

from typing import Any

from fuzz.common import AKID, NOW, REGION, SECRET, URL, signer
from sigv4kit.errors import SigV4Error
from sigv4kit.keys import signing_key
from sigv4kit.streaming import ChunkDecoder, decoder_from_headers

MODES = ("streaming", "streaming-trailer", "streaming-unsigned-trailer")
DATA = bytes(range(256)) * 40  # 10240 bytes: one 8 KiB chunk and a small one
_cache: dict[tuple[int, bool], tuple[Any, bytes]] = {}


def signed(mode: int, v4a: bool) -> tuple[Any, bytes]:
    key = (mode, v4a)
    if key not in _cache:
        s = signer(
            "sigv4a" if v4a else "sigv4",
            payload=MODES[mode],
            chunk_size=8192,
            checksum=None if mode == 0 else "crc32c",
        ).sign("PUT", URL, body=DATA, timestamp=NOW)
        _cache[key] = (s, b"".join(s.body))
    return _cache[key]


_pub: Any = None


def decoder(s: Any) -> ChunkDecoder:
    global _pub
    if s.algorithm == "AWS4-ECDSA-P256-SHA256":
        from sigv4kit.v4a import public_key_for, verify_v4a

        if _pub is None:
            _pub = public_key_for(AKID, SECRET)
        pub = _pub
        return decoder_from_headers(
            s.headers,
            seed_signature=s.signature,
            amz_date=s.amz_date,
            scope=s.credential_scope,
            verify=lambda sts, sig: verify_v4a(pub, sts, sig),
        )
    return decoder_from_headers(
        s.headers,
        seed_signature=s.signature,
        amz_date=s.amz_date,
        scope=s.credential_scope,
        sign=signing_key(SECRET, s.amz_date[:8], REGION, "s3").hexdigest,
    )


def one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    mode, v4a, edit = data[0] % 4 % 3, bool(data[0] & 4), bool(data[0] & 8)
    step = (data[1] + 1) * 8
    s, enc = signed(mode, v4a)
    if edit:
        body = bytearray(enc)
        rest = data[2:]
        for i in range(0, len(rest) - 2, 3):
            pos = ((rest[i] << 8) | rest[i + 1]) % len(body)
            body[pos] ^= rest[i + 2]
        payload = bytes(body)
    else:
        payload = data[2:]
    dec = decoder(s)
    out = bytearray()
    try:
        for i in range(0, len(payload), step):
            out += dec.feed(payload[i : i + step])
        dec.finish()
    except SigV4Error:
        return
    if edit or payload == enc:
        assert bytes(out) == DATA, "a changed body decoded to other data"
    assert len(out) <= len(payload)


def seeds() -> list[bytes]:
    out = []
    for mode in range(3):
        for v4a in (False, True):
            _, enc = signed(mode, v4a)
            sel = mode | (4 if v4a else 0)
            out.append(bytes([sel, 200]) + enc)
            out.append(bytes([sel | 8, 63, 0, 10, 1]))
    return out


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
