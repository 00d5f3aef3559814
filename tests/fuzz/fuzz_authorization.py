"""atheris harness: the Verifier's request parsing (Authorization, presign query, dates).

Input layout: byte 0 selects where the rest (decoded as Latin-1, so every
byte sequence is a header value, as a server would hand it) goes:

0. the ``Authorization`` header of a valid signed GET;
1. the query string of a valid presigned GET's target;
2. ``X-Amz-Date`` of the valid signed GET;
3. ``Date`` (no ``X-Amz-Date``) of a request signed with ``Date``;
4. the ``Authorization`` header as raw bytes (ASGI style).

Allowed: a verified request, or a :class:`sigv4kit.errors.SigV4Error`.  An
accepted request must carry the real signature (nothing forged).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=["sigv4kit"]):
        import sigv4kit.canonical
        import sigv4kit.verifier  # noqa: F401

from fuzz.common import HOST, NOW, URL, signer, verifier
from sigv4kit.errors import SigV4Error

V = verifier()
GET = signer().sign("GET", URL, timestamp=NOW)
HEADERS = [(n, v) for n, v in GET.headers if n != "Authorization"]
PATH = URL.split(HOST, 1)[1]
PRESIGNED = signer().presign("GET", URL, expires=3600, timestamp=NOW).split(HOST, 1)[1]
DATED = signer(signed_headers=["host", "date"]).sign(
    "GET", URL, [("Date", "Fri, 24 May 2013 00:00:00 GMT")], timestamp=NOW
)
DATED_HEADERS = [(n, v) for n, v in DATED.headers if n.lower() not in ("x-amz-date", "date")]
PRESIGNED_SIG = PRESIGNED.rpartition("X-Amz-Signature=")[2].split("&")[0]


def one_input(data: bytes) -> None:
    if not data:
        return
    where, text = data[0] % 5, data[1:].decode("latin-1")
    headers: list[tuple[object, object]]
    target = PATH
    real = GET.signature
    if where == 0:
        headers = [*HEADERS, ("Authorization", text)]
    elif where == 1:
        headers = [("Host", HOST)]
        target = PRESIGNED.partition("?")[0] + "?" + text
        real = PRESIGNED_SIG
    elif where == 2:
        headers = [(n, text if n.lower() == "x-amz-date" else v) for n, v in HEADERS]
        headers.append(("Authorization", GET.authorization))
    elif where == 3:
        headers = [*DATED_HEADERS, ("Date", text)]
        real = DATED.signature
    else:
        headers = [(n.lower().encode(), v.encode()) for n, v in HEADERS]
        headers.append((b"authorization", data[1:]))
    try:
        ok = V.verify("GET", target, headers, b"", now=NOW)
        ok.read()
    except SigV4Error:
        return
    assert ok.signature == real, "accepted a signature that is not the real one"


def seeds() -> list[bytes]:
    return [
        b"\0" + GET.authorization.encode(),
        b"\1" + PRESIGNED.partition("?")[2].encode(),
        b"\2" + GET.amz_date.encode(),
        b"\3Fri, 24 May 2013 00:00:00 GMT",
        b"\4" + GET.authorization.encode(),
    ]


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
