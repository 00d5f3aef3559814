"""Canonical requests and strings to sign, line by line, labelled and diffed.

A diff of two canonical requests is only useful when each line says which
part it is (the canonical URI, the header ``x-amz-date``, the payload hash):
this module splits a canonical request into its parts and diffs two of them
with those labels.
"""

from __future__ import annotations

import difflib
from dataclasses import astuple, dataclass

__all__ = [
    "STS_LABELS",
    "DiffLine",
    "Parts",
    "diff_canonical",
    "diff_lines",
    "line_labels",
    "query_pairs",
    "split_canonical_request",
    "visible",
]


@dataclass
class Parts:
    method: str
    uri: str
    query: str
    headers: list[tuple[str, str]]
    signed_headers: str
    payload_hash: str


def split_canonical_request(text: str) -> Parts | None:
    """The parts of a canonical request, or None if it does not look like one."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 6:
        return None
    try:
        end = lines.index("", 3)
    except ValueError:
        return None
    if len(lines) != end + 3:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[3:end]:
        name, _, value = line.partition(":")
        headers.append((name, value))
    return Parts(lines[0], lines[1], lines[2], headers, lines[end + 1], lines[end + 2])


def query_pairs(query: str) -> list[tuple[str, str]]:
    """``name=value`` pairs of a query as written (no decoding, order kept)."""
    return [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]


def line_labels(text: str) -> list[tuple[str, str]]:
    """Each line of a canonical request with the name of the part it is."""
    lines = text.split("\n")
    parts = split_canonical_request(text)
    if parts is None:
        return [("", line) for line in lines]
    out = [("method", lines[0]), ("canonical URI", lines[1]), ("canonical query", lines[2])]
    for name, value in parts.headers:
        out.append((f"header {name}", f"{name}:{value}"))
    out.append(("end of headers", ""))
    out.append(("signed headers", parts.signed_headers))
    out.append(("payload hash", parts.payload_hash))
    return out


STS_LABELS = ["algorithm", "request date", "credential scope", "canonical request hash"]


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: ``" "`` same, ``"-"`` client signed, ``"+"`` server computed."""

    op: str
    label: str
    text: str

    def as_list(self) -> list[str]:
        return list(astuple(self))


def diff_lines(client: list[tuple[str, str]], server: list[tuple[str, str]]) -> list[DiffLine]:
    out: list[DiffLine] = []
    a = [t for _, t in client]
    b = [t for _, t in server]
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.extend(DiffLine(" ", client[i][0], client[i][1]) for i in range(i1, i2))
            continue
        out.extend(DiffLine("-", client[i][0], client[i][1]) for i in range(i1, i2))
        out.extend(DiffLine("+", server[j][0], server[j][1]) for j in range(j1, j2))
    return out


def visible(text: str) -> str:
    """Make trailing spaces and tabs visible in a diff line."""
    stripped = text.rstrip(" \t")
    tail = text[len(stripped) :].replace(" ", "\u00b7").replace("\t", "\u2192")
    return stripped.replace("\t", "\u2192") + tail


def diff_canonical(client: str, server: str) -> list[DiffLine]:
    """A labelled line diff of two canonical requests (client ``-``, server ``+``)."""
    return diff_lines(line_labels(client), line_labels(server))
