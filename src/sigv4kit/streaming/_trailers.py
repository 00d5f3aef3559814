"""Trailers and checksums: what follows the final chunk.

The trailer modes send ``x-amz-checksum-*`` (and any other announced
trailing headers) after the last chunk; the signed mode signs their
canonical form.  Here: the canonical trailer text, checking a trailer the
caller passes, working out which trailers a request announces, and reading
and checking a received trailer section.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Sequence

# The canonical trailer text is the header rule, written once in canonical
# (re-exported here and by sigv4kit.streaming for the old import path).
from ..canonical import canonical_trailers as canonical_trailers
from ..canonical import header_pairs, trim_value
from ..checksums import (
    CHECKSUM_ALGORITHMS,
    CHECKSUM_HEADERS,
    Checksum,
    checksum_for_header,
    new_checksum,
)
from ..errors import BadDigest, MalformedTrailerError, SigningError
from ._modes import _TRAILER_SIG_NAME, _V4A_PAD

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _check_trailer(name: str, value: str) -> tuple[str, str]:
    pairs = header_pairs([(name, value)])
    lname = pairs[0][0].lower()
    if lname == _TRAILER_SIG_NAME:
        raise SigningError(f"{_TRAILER_SIG_NAME} is added by sigv4kit; do not pass it as a trailer")
    if "\r" in value or "\n" in value:
        raise SigningError(f"trailer {name!r} has a line break in its value")
    # Sent as it is signed (trimmed, inner runs collapsed): a server that
    # only trims the ends then computes the same canonical text.
    return lname, trim_value(pairs[0][1])


def _find(headers: list[tuple[str, str]], lname: str) -> list[int]:
    return [i for i, (n, _) in enumerate(headers) if n.lower() == lname]


def plan_trailers(
    mode: str,
    hdrs: list[tuple[str, str]],
    checksum: str | None,
    trailers: Iterable[tuple[str, str]],
) -> tuple[str | None, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """``(checksum, trailer names, extra trailers)`` of an upload: the
    checksum asked for, or named by a caller-given ``X-Amz-Trailer``, or
    CRC32 by default (like the AWS SDKs) in the trailer modes."""
    extra = tuple(_check_trailer(n, v) for n, v in trailers)
    user_trailer = _find(hdrs, "x-amz-trailer")
    announced: list[str] = []
    for i in user_trailer:
        announced.extend(t.strip().lower() for t in hdrs[i][1].split(",") if t.strip())
    if mode == "streaming":
        if checksum is not None or extra or announced:
            raise SigningError(
                "mode 'streaming' has no trailer: use payload 'streaming-trailer' or "
                "'streaming-unsigned-trailer' to send a checksum or other trailers"
            )
        names: tuple[str, ...] = ()
    else:
        if checksum is not None and checksum not in CHECKSUM_ALGORITHMS:
            raise SigningError(
                f"checksum {checksum!r} is not supported; use one of {sorted(CHECKSUM_ALGORITHMS)}"
            )
        if checksum is None:
            named = [a for a in (checksum_for_header(t) for t in announced) if a]
            if len(named) > 1:
                raise SigningError("X-Amz-Trailer may name only one x-amz-checksum-* trailer")
            checksum = named[0] if named else ("crc32" if not extra else None)
        lst = [CHECKSUM_HEADERS[checksum]] if checksum else []
        for n, _ in extra:
            if checksum_for_header(n) is not None:
                raise SigningError(
                    f"trailer {n!r} is computed by sigv4kit; pass checksum={n[15:]!r} instead"
                )
            if n in lst:
                raise SigningError(f"trailer {n!r} is given twice")
            lst.append(n)
        names = tuple(lst)
        if announced and sorted(set(announced)) != sorted(names):
            raise SigningError(
                f"X-Amz-Trailer announces {announced} but the trailers sent would be "
                f"{list(names)}; pass checksum= / trailers= to match, or drop the header"
            )

    return checksum, names, extra


def trailer_checksum(names: Sequence[str], expected: tuple[str, str] | None) -> Checksum | None:
    """The checksum a received body is checked with: the one X-Amz-Trailer
    announces, else the one sent as a header (``expected``), else none."""
    sums = [a for a in (checksum_for_header(n) for n in names) if a]
    if len(sums) > 1:
        raise MalformedTrailerError("X-Amz-Trailer may name only one x-amz-checksum-* trailer")
    algo = sums[0] if sums else (expected[0] if expected else None)
    return new_checksum(algo) if algo else None


def check_checksum(
    checksum: Checksum, trailers: list[tuple[str, str]], expected: tuple[str, str] | None
) -> None:
    """Compare the computed checksum with the one claimed (the trailer, else
    the header); :class:`~sigv4kit.errors.BadDigest` if they differ."""
    computed = checksum.b64digest()
    header = checksum.header
    claimed = dict(trailers).get(header)
    if claimed is None and expected is not None:
        claimed = expected[1]
    if claimed is not None and not hmac.compare_digest(claimed.encode(), computed.encode()):
        raise BadDigest(
            f"The {checksum.name.upper()} you specified did not match the "
            f"calculated checksum ({header}: sent {claimed!r}, computed {computed!r})."
        )


class TrailerReader:
    """The trailer section of a received body, a line at a time.

    Strict, like the chunk framing: ``name:value`` lines with lowercase
    names announced in ``X-Amz-Trailer``, each once, at most
    ``max_trailers``; in the signed mode an ``x-amz-trailer-signature``
    line last.  The trailer signature itself is checked by the decoder,
    which holds the chain.
    """

    def __init__(
        self,
        names: Sequence[str],
        payload_hash: str,
        *,
        signed: bool,
        sig_re: re.Pattern[bytes],
        max_trailers: int,
    ) -> None:
        self.names: tuple[str, ...] = tuple(names)
        self.payload_hash = payload_hash
        self.signed = signed
        self.max_trailers = max_trailers
        self._sig_re = sig_re
        self.trailers: list[tuple[str, str]] = []
        self.signature: str | None = None

    def line(self, line: bytes) -> None:
        """One non-empty trailer line (CRLF removed)."""
        if self.signature is not None:
            raise MalformedTrailerError(f"{_TRAILER_SIG_NAME} must be the last trailer line")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedTrailerError("a trailer line is not ASCII") from None
        name, sep, value = text.partition(":")
        if (
            not sep
            or not _TOKEN_RE.fullmatch(name)
            or name != name.lower()
            or value != value.strip(" \t")
        ):
            raise MalformedTrailerError(
                f"trailer line {text[:80]!r} is not 'name:value' with a lowercase name"
            )
        if name == _TRAILER_SIG_NAME:
            if not self.signed:
                raise MalformedTrailerError(f"{_TRAILER_SIG_NAME} in an unsigned-payload trailer")
            if len(value) > 144 or not self._sig_re.fullmatch(value.encode()):
                raise MalformedTrailerError(
                    f"{_TRAILER_SIG_NAME} {value[:160]!r} is not a lowercase hex signature"
                )
            self.signature = value.rstrip(_V4A_PAD)
            return
        if name not in self.names:
            raise MalformedTrailerError(
                f"trailer {name!r} was not announced in X-Amz-Trailer "
                f"({', '.join(self.names) or 'none'})"
            )
        if any(n == name for n, _ in self.trailers):
            raise MalformedTrailerError(f"trailer {name!r} appears twice")
        if len(self.trailers) >= self.max_trailers:
            raise MalformedTrailerError(f"more than {self.max_trailers} trailers")
        self.trailers.append((name, value))

    def end(self) -> None:
        """The empty line that ends the section: every announced trailer,
        and in the signed mode the signature line, must have come."""
        got = {n for n, _ in self.trailers}
        missing = [n for n in self.names if n not in got]
        if missing:
            raise MalformedTrailerError(
                f"trailer(s) {missing} announced in X-Amz-Trailer are missing from the body"
            )
        if self.signed and self.signature is None:
            raise MalformedTrailerError(
                f"the trailer has no {_TRAILER_SIG_NAME} line, which {self.payload_hash} requires"
            )
