"""Which payload mode to retry with after a server refuses one (sans-IO).

A server that does not implement aws-chunked, trailers or a checksum header
answers in a recognisable way: 501 ``NotImplemented``, ``aws-chunked not
supported``, ``Unsupported header 'x-amz-checksum-crc32'``, ``... not
implemented``.  When the request body can be sent again, the caller (the
``request`` command, the proxy, the client adapters) retries once with the
next mode the endpoint's profile allows -- trailers, then signed chunks, then
a single-shot body -- says so (stderr or the log), and remembers the choice
for that endpoint (:class:`ModeMemory`).

Everything here is a pure function of the answer; nothing is sent.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .._memo import Memo
from ..modes import STREAMING_MODES
from .profiles import MODE_ORDER, Profile

__all__ = ["ModeMemory", "Step", "is_mode_rejection", "next_mode"]

_STREAMING = STREAMING_MODES
_TRAILER = frozenset({"streaming-trailer", "streaming-unsigned-trailer"})
_UNSIGNED = frozenset({"unsigned", "streaming-unsigned-trailer"})

# Messages servers use when they do not implement a mode or a header.
_WHAT = re.compile(
    r"aws-chunked|chunked|streaming|trailer|x-amz-checksum|checksum|content-sha256|"
    r"x-amz-decoded-content-length|unsigned-payload|content-encoding",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"not\s+(?:implemented|supported)|unsupported|not\s+allowed|invalid|unknown|cannot",
    re.IGNORECASE,
)
_CODES = frozenset({"NotImplemented", "UnsupportedHeader", "NotSupported"})
_CHECKSUM = re.compile(r"checksum", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    """The retry to make: send with ``payload``, with or without a checksum."""

    payload: str
    checksum: bool
    reason: str


def is_mode_rejection(status: int, error_code: str | None, message: str | None) -> bool:
    """True when the answer says "this server does not do that mode or header".

    Signature, credential and clock errors are not: retrying in another mode
    would fail the same way and hide the real problem.
    """
    code = error_code or ""
    text = message or ""
    if code in {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied",
                "RequestTimeTooSkewed", "ExpiredToken", "InvalidToken", "BadDigest"}:  # fmt: skip
        return False
    if status == 501 or code in _CODES:
        return True
    if status in (400, 403, 411) and _WHAT.search(text) and _REFUSAL.search(text):
        return True
    return code in {"InvalidArgument", "InvalidRequest"} and bool(_WHAT.search(text))


def next_mode(
    profile: Profile,
    mode: str,
    status: int,
    error_code: str | None,
    message: str | None,
    *,
    checksum: bool = False,
    secure: bool = True,
) -> Step | None:
    """The mode to retry with after ``mode`` was answered so, or None.

    ``checksum`` says whether the refused request carried a checksum (header
    or trailer); ``secure`` whether it goes over TLS (unsigned payloads are
    only chosen over TLS).  The next mode is the next one in the profile's
    ``upload_modes`` ladder after ``mode``; a refusal that names the checksum
    first drops the checksum and keeps the mode when the mode works without
    one (a trailer mode cannot: its trailer is the checksum).
    """
    if not is_mode_rejection(status, error_code, message):
        return None
    text = f"{error_code or ''} {message or ''}"
    if checksum and _CHECKSUM.search(text) and mode not in _TRAILER:
        return Step(mode, False, f"{status} {error_code or ''}: sending without the checksum")
    ladder = [m for m in profile.upload_modes if secure or m not in _UNSIGNED]
    if mode in ladder:
        rest = ladder[ladder.index(mode) + 1 :]
    else:
        rank = MODE_ORDER.index(mode) if mode in MODE_ORDER else -1
        rest = [m for m in ladder if MODE_ORDER.index(m) > rank]
    if mode in _STREAMING or mode in _TRAILER:
        rest = [m for m in rest if m != mode]
    if not rest:
        return None
    nxt = rest[0]
    return Step(
        nxt,
        nxt in _TRAILER or (checksum and profile.checksums == "always"),
        f"{status} {error_code or ''}: retrying with {nxt} instead of {mode}".replace("  ", " "),
    )


class ModeMemory:
    """The mode that last worked per endpoint, shared by threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._modes: Memo[str, Step] = Memo(4096)

    def get(self, endpoint: str) -> Step | None:
        with self._lock:
            return self._modes.get(endpoint)

    def remember(self, endpoint: str, step: Step) -> None:
        with self._lock:
            self._modes.put(endpoint, step)
