"""Shared pieces of the interop tests: constants, the app process, helpers.

Real S3 clients against the test S3 application behind sigv4kit's ASGI middleware.

One application process per test session (``python -m s3app``: uvicorn on
127.0.0.1, free ports, plain http, TLS with a throwaway certificate, and a
"skew" listener whose verifier clock runs 20 minutes ahead).  Every client
test does three things against it: the operations succeed with the right
secret, fail with ``SignatureDoesNotMatch`` with a wrong one, and fail with
``RequestTimeTooSkewed`` on the skew listener (a request seen 20 minutes
after it was signed is a replay outside S3's 15-minute window).

The application logs every request as one JSON line (how it was signed, the
status, the error code); tests assert on that log so that the table in
``docs/interop.md`` is backed by what the clients actually sent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
WRONG_SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY0"
SKEW_SECONDS = 1200
VENV_BIN = Path(sys.executable).parent


def require_tool(path: str | None, what: str) -> str:
    """The tool's path; a missing tool fails under CI and skips elsewhere.

    ``scripts/test.sh`` installs every tool listed in ``tests/deps``, so in
    CI a missing tool is a broken install, not a reason to skip.
    """
    if path:
        return path
    message = f"{what} is not installed; scripts/test.sh installs it (tests/deps)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str) -> str | None:
    """A command from the project venv (pip-installed tools) or PATH."""
    local = VENV_BIN / name
    if local.exists():
        return str(local)
    return shutil.which(name)


@dataclass
class S3Server:
    http: str
    https: str
    skew: str
    cert: Path
    log: Path
    process: subprocess.Popen[str]
    ports: dict[str, int] = field(default_factory=dict)

    def mark(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def logged(
        self, since: int, method: str, timeout: float = 5.0, *, path: str | None = None
    ) -> list[dict[str, Any]]:
        """Log lines since ``since`` for ``method`` (and the decoded ``path``),
        waiting for them: the app writes a line as a request ends, which can
        be just after the client has its response -- so the line of an
        earlier request can also land after ``since``; ``path`` tells them
        apart."""
        deadline = time.monotonic() + timeout
        while True:
            got = [
                e
                for e in self.entries(since)
                if e["method"] == method and (path is None or e["path"] == path)
            ]
            if got or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self.log.open("rb") as f:
            f.seek(since)
            data = f.read()
        return [json.loads(line) for line in data.splitlines() if line.strip()]


def start_s3app(base: Path, *, refuse_file: Path | None = None) -> S3Server:
    """Start ``python -m s3app`` with its TLS certificate under ``base``.

    ``refuse_file``: the plain-http listener refuses the capabilities named
    in that file (see ``s3app/refuse.py``).
    """
    from s3app.certs import make_self_signed

    cert, key = make_self_signed(base / "tls")
    log = base / "requests.jsonl"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s3app",
            "--root",
            str(base / "data"),
            "--log",
            str(log),
            "--access-key",
            AK,
            "--secret-key",
            SK,
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--skew",
            str(SKEW_SECONDS),
            *(["--refuse-file", str(refuse_file)] if refuse_file else []),
        ],
        cwd=TESTS,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    if not line or not line[0].strip():
        proc.kill()
        raise RuntimeError("the test S3 application did not start (see its stderr)")
    ports = json.loads(line[0])
    server = S3Server(
        http=f"http://127.0.0.1:{ports['http']}",
        https=f"https://127.0.0.1:{ports['https']}",
        skew=f"http://127.0.0.1:{ports['skew']}",
        cert=cert,
        log=log,
        process=proc,
        ports=ports,
    )
    return server


def stop_s3app(server: S3Server) -> None:
    """Close its stdin (it exits on EOF); kill it if it does not."""
    proc = server.process
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


def client_env(tmp: Path, secret: str = SK) -> dict[str, str]:
    """An environment that gives a CLI client our credentials and nothing else of the host's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=AK,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-credentials-none"),
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(tmp),
    )
    return env


def payload(size: int, seed: int = 1) -> bytes:
    """Deterministic, incompressible-looking test data."""
    import hashlib

    out = bytearray()
    block = hashlib.sha256(seed.to_bytes(8, "big")).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def codes(entries: list[dict[str, Any]]) -> set[str]:
    return {e["code"] for e in entries if "code" in e}


def run(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float = 120, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run a client command; its output is kept for the assertion messages."""
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False, **kw
    )


def sha256_file(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@contextmanager
def refusing_s3app(base: Path) -> Iterator[tuple[S3Server, Path]]:
    """The test S3 app, and the file that names the payload modes it refuses (empty: none)."""
    refuse = base / "refuse.txt"
    refuse.write_text("")
    server = start_s3app(base, refuse_file=refuse)
    try:
        yield server, refuse
    finally:
        stop_s3app(server)
