"""Shared test set-up.

The secrets guard: every test's captured stdout, stderr, log records and
failure text are searched for the secret keys the tests use and for keys
derived from them (SigV4 signing keys for the dates, regions and services the
vectors use, and the SigV4a private key).  Finding one fails the test, so a
leak anywhere (a repr, a log line, an error message, CLI output, a server log)
cannot go unnoticed.  Session tokens the tests use are guarded the same way
in logs and exception text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# The default credential chain ends with botocore's EC2 instance-metadata
# provider (169.254.169.254). Tests never talk to anything but 127.0.0.1, so it
# is off for this process and every subprocess a test starts.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _var in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
    os.environ.pop(_var, None)

TEST_SECRETS = [
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
]
TEST_TOKENS = [
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp",
    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
]
_SCOPES = [
    ("20130524", "us-east-1", "s3"),
    ("20150830", "us-east-1", "service"),
    ("20151229", "us-east-1", "s3"),
]


def _forbidden() -> list[str]:
    from sigv4kit.keys import derive_signing_key

    out = list(TEST_SECRETS)
    for secret in TEST_SECRETS:
        for scope in _SCOPES:
            key = derive_signing_key(secret, *scope)
            out += [key.hex(), key.hex().upper()]
    try:
        from sigv4kit.v4a import derive_private_key

        for akid in ("AKIDEXAMPLE", "AKIAIOSFODNN7EXAMPLE"):
            for secret in TEST_SECRETS:
                d = derive_private_key(akid, secret).private_numbers().private_value
                out.append(f"{d:064x}")
    except ImportError:  # pragma: no cover - v4a needs cryptography
        pass
    return out


_FORBIDDEN: list[str] | None = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or item.get_closest_marker("allow_secrets"):
        return
    global _FORBIDDEN
    if _FORBIDDEN is None:
        _FORBIDDEN = _forbidden()
    texts = {
        "stdout": report.capstdout,
        "stderr": report.capstderr,
        "log": report.caplog,
        "failure": report.longreprtext if report.failed else "",
    }
    for where, text in texts.items():
        if not text:
            continue
        for secret in _FORBIDDEN:
            if secret in text:
                report.outcome = "failed"
                report.longrepr = f"secret or derived key leaked into {where}: {secret[:6]}..."
                return
        if where in ("log", "failure"):
            for token in TEST_TOKENS:
                if token in text:
                    report.outcome = "failed"
                    report.longrepr = f"session token leaked into {where}"
                    return


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_secrets: the test prints a secret on purpose (the guard skips it)"
    )
