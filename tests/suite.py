"""Loaders for the official SigV4 test suites in tests/vectors/.

A new case is a new folder: nothing here names cases, except the raw-target
ones, which are detected (their request target is not wire-valid).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sigv4kit.canonical import wire_path, wire_query
from sigv4kit.rawhttp import RawRequest, parse_raw_request

VECTORS = Path(__file__).parent / "vectors"
V4_SUITE = VECTORS / "aws-sig-v4-test-suite" / "v4"
V4A_SUITE = VECTORS / "aws-sig-v4-test-suite" / "v4a"
CLASSIC_SUITE = VECTORS / "aws4_testsuite"

# The classic suite takes its credentials from the AWS docs, not from a file.
CLASSIC_ACCESS_KEY = "AKIDEXAMPLE"
CLASSIC_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def is_raw_target(req: RawRequest) -> bool:
    """True when the path holds bytes a client could not send as they are.

    (A raw query is fine for the Signer: it is encoded on the wire and
    decoded again to the same canonical query.)
    """
    path = req.target.partition("?")[0]
    return wire_path(path) != path


def wire_target(target: str) -> str:
    path, sep, query = target.partition("?")
    return wire_path(path) + (sep + wire_query(query) if sep else "")


@dataclass
class SuiteCase:
    name: str
    folder: Path
    context: dict[str, object]
    request: RawRequest

    def expected(self, kind: str, what: str) -> str:
        return read(self.folder / f"{kind}-{what}.txt")

    def has(self, kind: str) -> bool:
        return (self.folder / f"{kind}-canonical-request.txt").exists()


def suite_cases(root: Path) -> list[SuiteCase]:
    cases = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        ctx = json.loads(read(folder / "context.json"))
        req = parse_raw_request((folder / "request.txt").read_bytes())
        cases.append(SuiteCase(folder.name, folder, ctx, req))
    return cases


def signed_requests() -> list[tuple[str, SuiteCase, str, Path]]:
    """Every signed request of the v4 and v4a suites: (id, case, "header" or "query", file)."""
    out = []
    for root in (V4_SUITE, V4A_SUITE):
        for case in suite_cases(root):
            for kind in ("header", "query"):
                path = case.folder / f"{kind}-signed-request.txt"
                if path.exists():
                    out.append((f"{root.name}/{case.name}/{kind}", case, kind, path))
    return out


@dataclass
class ClassicCase:
    name: str
    folder: Path
    request: RawRequest

    def expected(self, ext: str) -> str:
        return read(self.folder / f"{self.folder.name}.{ext}")


def classic_cases() -> list[ClassicCase]:
    out = []
    for req_file in sorted(CLASSIC_SUITE.rglob("*.req")):
        folder = req_file.parent
        rel = folder.relative_to(CLASSIC_SUITE).as_posix()
        out.append(ClassicCase(rel, folder, parse_raw_request(req_file.read_bytes())))
    return out
