"""Parse a raw HTTP/1.1 request (a file, a paste, the test suites' ``.req``).

Used by ``sigv4kit explain``/``verify`` on request files and by the test
suites.  The request target is kept verbatim (raw spaces and UTF-8
included) because that is what a server canonicalizes.  Folded header lines
(obs-fold) are joined with a single space, as the suites expect.

The input is untrusted: sizes are bounded and every problem is a
:class:`RawRequestError` that says which line is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SigV4Error

__all__ = ["RawRequest", "RawRequestError", "parse_raw_request"]

MAX_HEAD_BYTES = 256 * 1024
MAX_HEADERS = 500


class RawRequestError(SigV4Error, ValueError):
    """The text is not an HTTP request we can read."""


@dataclass(slots=True)
class RawRequest:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for n, v in reversed(self.headers):
            if n.lower() == lname:
                return v
        return None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


def parse_raw_request(data: bytes | str) -> RawRequest:
    """Parse a request; line endings may be CRLF or LF."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    # The head ends at the first empty line.
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = raw.find(sep)
        if idx >= 0:
            head, body = raw[:idx], raw[idx + len(sep) :]
            break
    else:
        head, body = raw, b""
    if len(head) > MAX_HEAD_BYTES:
        raise RawRequestError(f"request head is larger than {MAX_HEAD_BYTES} bytes")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise RawRequestError("empty request: expected 'METHOD /path HTTP/1.1' on the first line")
    request_line = lines[0]
    method, sp, rest = request_line.partition(" ")
    if not sp or not method:
        raise RawRequestError(f"line 1: expected 'METHOD /path HTTP/1.1', got {request_line!r}")
    # The target may contain raw spaces: split the version off the right.
    target, sp2, version = rest.rpartition(" ")
    if not sp2 or not version.startswith("HTTP/"):
        target, version = rest, "HTTP/1.1"
    if not target:
        raise RawRequestError(f"line 1: no request target in {request_line!r}")
    headers: list[tuple[str, str]] = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        if line[0] in " \t":
            if not headers:
                raise RawRequestError(f"line {lineno}: continuation line before any header")
            name, value = headers[-1]
            more = line.strip(" \t")
            headers[-1] = (name, f"{value} {more}" if value else more)
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise RawRequestError(f"line {lineno}: expected 'Name: value', got {line!r}")
        headers.append((name, value.strip(" \t")))
        if len(headers) > MAX_HEADERS:
            raise RawRequestError(f"more than {MAX_HEADERS} headers")
    return RawRequest(method=method, target=target, version=version, headers=headers, body=body)
