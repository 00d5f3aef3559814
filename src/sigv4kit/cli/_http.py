"""Send a signed request with the standard library, byte for byte as signed.

``http.client`` is used directly, not a higher-level client, because the
request must go out exactly as it was signed: the request target verbatim
(no re-encoding), no ``Host``/``Accept-Encoding``/``User-Agent`` added
behind our back, the body streamed from the file in pieces.  Only
``Content-Length`` (or chunked transfer coding when the length is unknown)
is added, unsigned, as every HTTP stack does.
"""

from __future__ import annotations

import http.client
import io
import ssl
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import IO, Any

from ..payload import read_pieces

__all__ = ["Response", "send"]

PROGRESS_MIN = 1 << 20  # progress bars only for transfers over 1 MiB
_PIECE = 1 << 16
_KEEP_ERROR_BODY = 1 << 20


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]]
    error_body: bytes = b""  # the start of the body of an error response
    retry: bool = False  # held back by ``request``, which sends the request again


def split_url(url: str) -> tuple[str, str, int | None, str]:
    """``(scheme, host, port, request target)``, the target exactly as in the URL."""
    scheme, _, rest = url.partition("://")
    slash = rest.find("/")
    qmark = rest.find("?")
    cut = min(i for i in (slash, qmark, len(rest)) if i >= 0)
    authority, target = rest[:cut], rest[cut:] or "/"
    if target.startswith("?"):
        target = "/" + target
    if authority.startswith("["):
        end = authority.index("]")
        host = authority[1:end]
        port_s = authority[end + 2 :] if authority[end + 1 : end + 2] == ":" else ""
    else:
        host, _, port_s = authority.partition(":")
    return scheme.lower(), host, int(port_s) if port_s else None, target


Progress = Callable[[str, int | None], Any]


def send(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: object,
    *,
    body_size: int | None,
    out: IO[bytes] | None,
    timeout: float = 60.0,
    insecure: bool = False,
    cacert: str | None = None,
    progress: Progress | None = None,
    before_body: Callable[[Response], IO[bytes]] | None = None,
) -> Response:
    """Send the request; stream the response body into ``out``.

    ``progress(label, total)`` returns a context manager with ``update(n)``
    (``click.progressbar``), or is None for silence.  ``before_body`` is
    called with the status and headers before the body is read, and returns
    the file the body goes to instead of ``out``.
    """
    scheme, host, port, target = split_url(url)
    conn: http.client.HTTPConnection
    if scheme == "https":
        ctx = ssl.create_default_context(cafile=cacert)
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    elif scheme == "http":
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        raise ValueError(f"unsupported URL scheme {scheme!r}; use http or https")
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        names = {n.lower() for n, _ in headers}
        for name, value in headers:
            conn.putheader(name, value)
        chunked = False
        if body is not None:
            if "content-length" not in names and "transfer-encoding" not in names:
                if body_size is not None:
                    conn.putheader("Content-Length", str(body_size))
                else:
                    conn.putheader("Transfer-Encoding", "chunked")
                    chunked = True
        elif method.upper() in ("PUT", "POST", "PATCH") and "content-length" not in names:
            conn.putheader("Content-Length", "0")
        conn.endheaders()
        if body is not None:
            total = body_size
            for name, value in headers:
                if name.lower() == "content-length" and value.strip().isdigit():
                    total = int(value)
            if isinstance(body, (bytes, bytearray, memoryview)):
                body = io.BytesIO(body)  # sent in pieces too, for the progress bar
            try:
                with _bar(progress, "upload", total) as bar:
                    for piece in read_pieces(body, _PIECE):
                        if not piece:
                            continue  # an empty chunk would end chunked coding early
                        conn.send(
                            f"{len(piece):X}\r\n".encode() + piece + b"\r\n" if chunked else piece
                        )
                        if bar is not None:
                            bar.update(len(piece))
                if chunked:
                    conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError) as sending:
                # The server answered early (a refusal) and closed: read that
                # answer if it arrived; otherwise the send error stands.
                try:
                    resp = conn.getresponse()
                except (OSError, http.client.HTTPException):
                    raise sending from None
                return _finish(resp, method, result_hook=before_body, out=out, progress=progress)
        resp = conn.getresponse()
        return _finish(resp, method, result_hook=before_body, out=out, progress=progress)
    finally:
        conn.close()


def _bar(progress: Progress | None, label: str, total: int | None) -> Any:
    """A progress bar for a transfer over :data:`PROGRESS_MIN`, else a context of None."""
    if progress is not None and (total or 0) > PROGRESS_MIN:
        return progress(label, total)
    return nullcontext()


def _finish(
    resp: http.client.HTTPResponse,
    method: str,
    *,
    result_hook: Callable[[Response], IO[bytes]] | None,
    out: IO[bytes] | None,
    progress: Progress | None,
) -> Response:
    """Read the answer: status and headers first (``result_hook``), then the body into
    ``out``, keeping the start of an error answer for the diagnosis."""
    result = Response(
        resp.status,
        resp.reason,
        "HTTP/1.1" if resp.version == 11 else "HTTP/1.0",
        list(resp.getheaders()),
    )
    if result_hook is not None:
        out = result_hook(result)
    length = resp.getheader("content-length")
    total = int(length) if length and length.isdigit() and method.upper() != "HEAD" else None
    keep = result.status >= 400
    with _bar(progress, "download", total) as bar:
        while chunk := resp.read(_PIECE):
            if keep and len(result.error_body) < _KEEP_ERROR_BODY:
                result.error_body += chunk[: _KEEP_ERROR_BODY - len(result.error_body)]
            if out is not None:
                out.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
    if out is not None:
        out.flush()
    return result


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
