"""atheris harness: the POST ``multipart/form-data`` parser and form reader.

Input layout: byte 0 the piece size (4-1024 bytes) the body is fed in, byte 1 the
boundary length n (1-70), the next n bytes the boundary, the rest the body.
The body goes through :class:`MultipartParser` (event order checked) and
:func:`read_post_form` (fields, then the file stream); when the form parses,
:func:`verify_post` judges it.

Allowed: a result, or a :class:`sigv4kit.errors.SigV4Error`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=["sigv4kit"]):
        import sigv4kit.post_policy  # noqa: F401

from fuzz.common import AKID, NOW, REGION, SECRET, signer
from sigv4kit.errors import SigV4Error
from sigv4kit.post_policy import (
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    presign_post,
    read_post_form,
    verify_post,
)

BOUNDARY = b"----sigv4kitBoundary7MA4YWxkTrZu0gW"
POST = presign_post(
    signer().credentials(),
    "examplebucket",
    "user/${filename}",
    region=REGION,
    timestamp=NOW,
    expires_in=3600,
)


def form_body(boundary: bytes = BOUNDARY) -> bytes:
    b = boundary.decode("latin-1")
    out = [
        f'--{b}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
        for n, v in POST.fields.items()
    ]
    out.append(
        f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    return "".join(out).encode("latin-1") + b"hello" * 20 + f"\r\n--{b}--\r\n".encode("latin-1")


def one_input(data: bytes) -> None:
    if len(data) < 3:
        return
    step = (data[0] + 1) * 4
    n = data[1] % 70 + 1
    boundary, body = data[2 : 2 + n], data[2 + n :]
    if not boundary:
        return
    try:
        p = MultipartParser(boundary)
        open_part = False
        for i in range(0, len(body), step):
            for e in p.feed(body[i : i + step]):
                if isinstance(e, PartStart):
                    assert not open_part
                    open_part = True
                elif isinstance(e, PartData):
                    assert open_part
                else:
                    assert isinstance(e, PartEnd) and open_part
                    open_part = False
        p.finish()
    except SigV4Error:
        pass
    ctype = "multipart/form-data; boundary=" + boundary.decode("latin-1")
    try:
        form = read_post_form([body[i : i + step] for i in range(0, len(body), step)], ctype)
        size = sum(len(x) for x in form.file.stream) if form.file is not None else None
        verify_post(
            form.fields,
            bucket="examplebucket",
            credentials={AKID: SECRET},
            region=REGION,
            now=NOW,
            filename=form.file.filename if form.file is not None else None,
            file_size=size,
        )
    except SigV4Error:
        pass


def seeds() -> list[bytes]:
    return [
        bytes([255, len(BOUNDARY) - 1]) + BOUNDARY + form_body(),
        bytes([6, len(BOUNDARY) - 1]) + BOUNDARY + form_body(),
        bytes([0, 0]) + b"B" + form_body(b"B"),
    ]


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
