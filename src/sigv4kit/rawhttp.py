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

from .errors import RawRequestError, RawRequestTooLarge

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_LINE_LENGTH",
    "RawRequest",
    "RawRequestError",
    "RawRequestTooLarge",
    "RequestTarget",
    "parse_raw_request",
]

MAX_HEAD_BYTES = 256 * 1024
MAX_HEADERS = 500
#: Longest header (name, value and continuation lines).  As large as the
#: head by default: request files are read from disk by their own user;
#: lower it when parsing requests from elsewhere.
MAX_LINE_LENGTH = MAX_HEAD_BYTES


class RequestTarget:
    """``path`` and ``query`` of a request's ``target``, kept as received.

    For every type that holds a request target (a raw request here, the
    forwarding engine's incoming request): the split is written once.
    """

    __slots__ = ()
    target: str

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


@dataclass(slots=True)
class RawRequest(RequestTarget):
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


def parse_raw_request(
    data: bytes | str,
    *,
    max_head_bytes: int = MAX_HEAD_BYTES,
    max_headers: int = MAX_HEADERS,
    max_line_length: int = MAX_LINE_LENGTH,
) -> RawRequest:
    """Parse a request; line endings may be CRLF or LF.

    The limits bound the work done on hostile input: the head is measured
    before it is decoded, and a header folded over many lines is joined once
    at the end (joining at every line would be quadratic).
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            # A lone surrogate (not one surrogateescape made) has no bytes.
            raise RawRequestError(
                f"position {exc.start}: the text contains a lone surrogate "
                f"{data[exc.start]!r}, which no HTTP request can carry; read the file as "
                "bytes or with errors='surrogateescape'"
            ) from None
    else:
        raw = bytes(data)
    # The head ends at the first empty line.
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = raw.find(sep)
        if idx >= 0:
            head, body = raw[:idx], raw[idx + len(sep) :]
            break
    else:
        head, body = raw, b""
    if len(head) > max_head_bytes:
        raise RawRequestTooLarge(
            f"request head is larger than {max_head_bytes} bytes (max_head_bytes)",
            limit="max_head_bytes",
            value=max_head_bytes,
        )
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first == len(lines):
        raise RawRequestError("empty request: expected 'METHOD /path HTTP/1.1' on the first line")
    request_line = lines[first]
    method, sp, rest = request_line.partition(" ")
    if not sp or not method:
        raise RawRequestError(
            f"line {first + 1}: expected 'METHOD /path HTTP/1.1', got {request_line[:200]!r}"
        )
    # The target may contain raw spaces: split the version off the right.
    target, sp2, version = rest.rpartition(" ")
    if not sp2 or not version.startswith("HTTP/"):
        target, version = rest, "HTTP/1.1"
    if not target:
        raise RawRequestError(f"line {first + 1}: no request target in {request_line[:200]!r}")
    # Each header as (name, [value pieces], length so far); joined at the end.
    fields: list[tuple[str, list[str], int]] = []
    for lineno, line in enumerate(lines[first + 1 :], start=first + 2):
        if not line:
            continue
        if line[0] in " \t":
            if not fields:
                raise RawRequestError(f"line {lineno}: continuation line before any header")
            name, pieces, size = fields[-1]
            more = line.strip(" \t")
            if size > len(name) + 1:  # the value so far is not empty
                pieces.append(" ")
                size += 1
            pieces.append(more)
            size += len(more)
            if size > max_line_length:
                raise _line_too_long(lineno, max_line_length)
            fields[-1] = (name, pieces, size)
            continue
        if len(line) > max_line_length:
            raise _line_too_long(lineno, max_line_length)
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise RawRequestError(f"line {lineno}: expected 'Name: value', got {line[:200]!r}")
        value = value.strip(" \t")
        fields.append((name, [value], len(name) + 1 + len(value)))
        if len(fields) > max_headers:
            raise RawRequestTooLarge(
                f"more than {max_headers} headers (max_headers)",
                limit="max_headers",
                value=max_headers,
            )
    headers = [(name, "".join(pieces)) for name, pieces, _ in fields]
    return RawRequest(method=method, target=target, version=version, headers=headers, body=body)


def _line_too_long(lineno: int, limit: int) -> RawRequestTooLarge:
    return RawRequestTooLarge(
        f"line {lineno}: header line longer than {limit} characters (max_line_length)",
        limit="max_line_length",
        value=limit,
    )
