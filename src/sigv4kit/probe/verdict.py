"""The probe's verdict logic, without I/O.

The runner (:mod:`sigv4kit.probe.runner`) sends requests and hands the
answers here; these functions decide yes / no / untested, find the longest
presign expiry and the skew window by bisection, and render the report.
Keeping them pure lets the tests check every rule without a server, and
keeps the runner a thin loop of "ask what to send next, send it".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import CHECKSUM_HEADERS
from ..presigning import MAX_PRESIGN_EXPIRES
from .profiles import Profile

__all__ = [
    "CAPABILITIES",
    "READ_ONLY",
    "Bisect",
    "ProbeReport",
    "Verdict",
    "advice",
    "judge_read",
    "judge_upload",
    "looks_like_chunk_framing",
    "recommended_profile",
]

#: Every capability the probe reports, in report order (DESIGN.md's list).
CAPABILITIES: tuple[str, ...] = (
    "header-signed",
    "unsigned-payload",
    "streaming",
    "streaming-trailer",
    "streaming-unsigned-trailer",
    "checksum-crc32",
    "checksum-crc32c",
    "checksum-crc64nvme",
    "checksum-sha1",
    "checksum-sha256",
    "content-md5",
    "presign-get",
    "presign-put",
    "post-policy",
    "sigv4a",
    "path-style",
    "virtual-host",
)

#: The capabilities ``--no-write`` still tests (with reads of the bucket).
READ_ONLY: frozenset[str] = frozenset(
    {"header-signed", "unsigned-payload", "presign-get", "sigv4a", "path-style", "virtual-host"}
)

#: Longest presign expiry S3 allows (7 days), the top of the expiry search.
MAX_EXPIRES = MAX_PRESIGN_EXPIRES
#: Largest clock offset the skew search tries (a day); a server still
#: accepting that does not check the clock at all.
MAX_SKEW = 86400


@dataclass(frozen=True)
class Verdict:
    """``ok``: True (yes), False (no), None (not tested)."""

    ok: bool | None
    code: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "code": self.code, "detail": self.detail}


UNTESTED = Verdict(None, None, "not tested")

_FRAMING = re.compile(rb"\A[0-9a-fA-F]{1,16}(?:;chunk-signature=[0-9a-f]{64})?\r\n")


def looks_like_chunk_framing(stored: bytes) -> bool:
    """True when stored bytes start with an aws-chunked chunk header."""
    return _FRAMING.match(stored) is not None


def _failed(status: int, code: str | None, message: str | None) -> Verdict:
    text = (message or "").strip().splitlines()[0][:200] if message else ""
    return Verdict(False, code or f"HTTP{status}", text or f"HTTP {status}")


def judge_upload(
    status: int,
    code: str | None,
    message: str | None,
    read_status: int | None,
    stored: bytes | None,
    sent: bytes,
) -> Verdict:
    """An upload capability: accepted, and read back byte for byte.

    A server that stores the aws-chunked framing inside the object accepted
    the request but corrupted the data: that is a "no" (minio-go #774).
    """
    if not 200 <= status < 300:
        return _failed(status, code, message)
    if read_status is None or stored is None or not 200 <= read_status < 300:
        return Verdict(
            False,
            "ReadBackFailed",
            f"upload answered {status}, but reading it back answered {read_status}",
        )
    if stored == sent:
        return Verdict(True, None, f"stored and read back byte for byte ({len(sent)} bytes)")
    if looks_like_chunk_framing(stored):
        return Verdict(
            False,
            "StoredChunkFraming",
            f"the server stored the aws-chunked framing in the object "
            f"({len(stored)} bytes for {len(sent)})",
        )
    return Verdict(
        False,
        "ContentMismatch",
        f"read back {len(stored)} bytes that differ from the {len(sent)} sent",
    )


def judge_read(status: int, code: str | None, message: str | None, what: str) -> Verdict:
    """A read capability: a 2xx answer is a yes."""
    if 200 <= status < 300:
        return Verdict(True, None, what)
    return _failed(status, code, message)


@dataclass
class Bisect:
    """Find the largest accepted value in ``[lo, hi]``, ``lo`` known accepted.

    ``next()`` gives the value to try (``hi`` first: most servers accept the
    maximum and one request settles it), ``feed(accepted)`` the answer;
    ``result`` is the largest accepted value once ``next()`` returns None.
    ``precision`` stops the search when the bracket is that narrow.
    """

    lo: int
    hi: int
    precision: int = 1
    _tried_hi: bool = False
    _pending: int | None = None

    def next(self) -> int | None:
        if not self._tried_hi:
            self._pending = self.hi
        elif self.hi - self.lo <= self.precision:
            return None
        else:
            self._pending = (self.lo + self.hi) // 2
        return self._pending

    def feed(self, accepted: bool) -> None:
        assert self._pending is not None, "call next() first"
        value, self._pending = self._pending, None
        if not self._tried_hi:
            self._tried_hi = True
            if accepted:
                self.lo = self.hi
            return
        if accepted:
            self.lo = value
        else:
            self.hi = value

    @property
    def result(self) -> int:
        return self.lo


_ADVICE = {
    "header-signed": "signed requests fail: check the credentials, region and endpoint",
    "unsigned-payload": "uploads hash the body and sign it (x-amz-content-sha256)",
    "streaming": "large uploads are sent single-shot (hashed first) instead of signed chunks",
    "streaming-trailer": "the checksum goes in a header, or the signed chunks carry none",
    "streaming-unsigned-trailer": "uploads use signed chunks or a single-shot body instead",
    "checksum-crc32": "no x-amz-checksum-crc32 is sent (checksums only when required)",
    "checksum-crc32c": "no x-amz-checksum-crc32c is sent (checksums only when required)",
    "checksum-crc64nvme": "no x-amz-checksum-crc64nvme is sent (checksums only when required)",
    "checksum-sha1": "no x-amz-checksum-sha1 is sent (checksums only when required)",
    "checksum-sha256": "no x-amz-checksum-sha256 is sent (checksums only when required)",
    "content-md5": "Content-MD5 is not sent; integrity rests on the payload hash",
    "presign-get": "presigned GET URLs will not work here; sign requests instead",
    "presign-put": "presigned PUT URLs will not work here; sign uploads instead",
    "post-policy": "browser POST uploads will not work here; use presigned PUT URLs",
    "sigv4a": "requests are signed with SigV4 for one region",
    "path-style": "requests use virtual-hosted addressing (bucket.host/key)",
    "virtual-host": "requests use path-style addressing (host/bucket/key)",
}


def advice(name: str) -> str:
    """One line: what sigv4kit sends instead when ``name`` is a "no"."""
    return _ADVICE[name]


@dataclass
class ProbeReport:
    endpoint: str
    results: dict[str, Verdict] = field(default_factory=dict)
    max_presign_expires: int | None = None
    skew_window_seconds: int | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in CAPABILITIES:
            self.results.setdefault(name, UNTESTED)

    def as_json(self) -> dict[str, Any]:
        """The ``probe --json`` object fixed in DESIGN.md."""
        return {
            "endpoint": self.endpoint,
            "results": {n: self.results[n].as_dict() for n in CAPABILITIES},
            "max_presign_expires": self.max_presign_expires,
            "skew_window_seconds": self.skew_window_seconds,
        }

    def table(self) -> str:
        """The terminal table: one row per capability, advice under each "no"."""
        width = max(len(n) for n in CAPABILITIES)
        rows = [f"{'capability':<{width}}  result   code / detail"]
        for name in CAPABILITIES:
            v = self.results[name]
            word = {True: "yes", False: "NO", None: "-"}[v.ok]
            what = v.detail if v.ok is not False else f"{v.code}: {v.detail}"
            rows.append(f"{name:<{width}}  {word:<7}  {what}")
            if v.ok is False:
                rows.append(f"{'':<{width}}           -> {advice(name)}")
        exp = self.max_presign_expires
        skew = self.skew_window_seconds
        rows.append("")
        rows.append(f"longest presign expiry: {_seconds(exp)}")
        rows.append(f"clock skew tolerated:   {_seconds(skew)}")
        rows += [f"note: {n}" for n in self.notes]
        return "\n".join(rows)


def _seconds(v: int | None) -> str:
    if v is None:
        return "not measured"
    if v >= 86400 and v % 3600 == 0:
        return f"{v} s ({v / 86400:g} days)"
    if v >= 60:
        return f"{v} s ({v / 60:.1f} min)"
    return f"{v} s"


def recommended_profile(base: Profile, report: ProbeReport) -> Profile:
    """A profile for this endpoint from what the probe measured.

    Upload modes keep the base order but drop every measured "no"; checksums
    are ``always`` only when every checksum header and a trailer mode worked;
    addressing is path-style unless only virtual hosts worked.
    """
    from dataclasses import replace

    ok: Mapping[str, bool | None] = {n: v.ok for n, v in report.results.items()}
    mode_cap = {
        "streaming-unsigned-trailer": "streaming-unsigned-trailer",
        "streaming-trailer": "streaming-trailer",
        "streaming": "streaming",
        "unsigned": "unsigned-payload",
        "signed": "header-signed",
    }
    from .profiles import MODE_ORDER

    order = list(base.upload_modes) + [m for m in MODE_ORDER if m not in base.upload_modes]
    modes = tuple(m for m in order if ok.get(mode_cap[m]) is not False) or ("signed",)
    sums = [ok.get(f"checksum-{a}") for a in CHECKSUM_HEADERS]
    always = all(s is True for s in sums) and ok.get("streaming-unsigned-trailer") is True
    addressing = base.addressing
    if ok.get("path-style") is False and ok.get("virtual-host") is True:
        addressing = "virtual"
    elif ok.get("virtual-host") is False and ok.get("path-style") is True:
        addressing = "path"
    return replace(
        base,
        upload_modes=modes,
        checksums="always" if always else "when_required",
        addressing=addressing,
        max_presign_expires=report.max_presign_expires or base.max_presign_expires,
        measured=dict(ok),
    )
