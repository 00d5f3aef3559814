"""Shared test set-up.

The secrets guard: every test's captured stdout, stderr, log records and
failure text are searched for the secret keys the tests use and for keys
derived from them (SigV4 signing keys for the dates, regions and services the
vectors use, and the SigV4a private key).  Finding one fails the test, so a
leak anywhere (a repr, a log line, an error message, CLI output, a server log)
cannot go unnoticed.  Session tokens the tests use are guarded the same way
in logs and exception text.

Output that pytest does not capture is fed to the guard too: everything a
test's subprocesses return through ``communicate()`` (so ``subprocess.run``
with ``capture_output``), the output of click's ``CliRunner.invoke``, and
any text a test hands to :func:`record_output` (a server's log file, a pipe
it read itself).  A subprocess's or CLI's stderr is held to the token rule
as well: that is where their error messages go.  Setup and teardown are
checked like the test itself, so a module-scoped server fixture's output is
covered.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# The default credential chain ends with botocore's EC2 instance-metadata
# provider (169.254.169.254). Tests never talk to anything but 127.0.0.1, so it
# is off for this process and every subprocess a test starts.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _var in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
    os.environ.pop(_var, None)


def _hypothesis_profiles() -> None:
    """CI runs hypothesis derandomized, so a red build always means a change
    broke something, never that a random draw found an old bug; local and
    fuzz runs keep hypothesis's random exploration.  ``HYPOTHESIS_PROFILE``
    picks a profile explicitly ("ci" or "dev")."""
    try:
        from hypothesis import settings
    except ImportError:  # pragma: no cover - hypothesis is a test dependency
        return
    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    settings.register_profile("dev", derandomize=False)
    default = "ci" if os.environ.get("CI") else "dev"
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", default))


_hypothesis_profiles()

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
# Output pytest does not capture, recorded for the running test: (where, text).
_RECORDED: list[tuple[str, str]] = []
# Where a session token is a leak too (logs and error messages).
_TOKEN_PLACES = ("log", "failure", "subprocess stderr", "cli stderr", "recorded log")


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data if isinstance(data, str) else ""


def record_output(text: str | bytes, where: str = "recorded log") -> None:
    """Hand output the guard cannot see (a log file, a pipe read by hand) to it."""
    _RECORDED.append((where, _text(text)))


@pytest.fixture(autouse=True)
def _guard_uncaptured_output(monkeypatch: pytest.MonkeyPatch) -> Generator[None, None, None]:
    _RECORDED.clear()
    communicate = subprocess.Popen.communicate

    def recording_communicate(self: Any, *args: Any, **kwargs: Any) -> Any:
        out, err = communicate(self, *args, **kwargs)
        argv = self.args if isinstance(self.args, (list, tuple)) else [self.args]
        if any("sigv4kit" in str(a) for a in argv):
            # Our CLI: nothing it prints may hold a secret.
            _RECORDED.append(("cli output", _text(out)))
            _RECORDED.append(("cli stderr", _text(err)))
        else:
            # Other programs (a credential_process prints keys by design):
            # their diagnostics only.
            _RECORDED.append(("subprocess stderr", _text(err)))
        return out, err

    monkeypatch.setattr(subprocess.Popen, "communicate", recording_communicate)
    try:
        from click.testing import CliRunner
    except ImportError:  # pragma: no cover - click is a test dependency
        CliRunner = None  # type: ignore[assignment,misc]
    if CliRunner is not None:
        invoke = CliRunner.invoke

        def recording_invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = invoke(self, *args, **kwargs)
            _RECORDED.append(("cli output", _text(getattr(result, "stdout_bytes", b""))))
            try:
                err = result.stderr_bytes or b""
            except (ValueError, AttributeError):
                err = b""
            _RECORDED.append(("cli stderr", _text(err)))
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                _RECORDED.append(("failure", repr(result.exception)))
            return result

        monkeypatch.setattr(CliRunner, "invoke", recording_invoke)
    yield


# The CLI's --help quotes AWS's documented example key on purpose.
_HELP_EXAMPLE = re.compile(r"^ *AWS_SECRET_ACCESS_KEY=\S+ \\$", re.M)


def _leak(texts: list[tuple[str, str]]) -> str | None:
    global _FORBIDDEN
    if _FORBIDDEN is None:
        _FORBIDDEN = _forbidden()
    for where, text in texts:
        if not text:
            continue
        if where.startswith("cli"):
            text = _HELP_EXAMPLE.sub("", text)
        for secret in _FORBIDDEN:
            if secret in text:
                return f"secret or derived key leaked into {where}: {secret[:6]}..."
        if where in _TOKEN_PLACES:
            for token in TEST_TOKENS:
                if token in text:
                    return f"session token leaked into {where}"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("allow_secrets"):
        return
    # Each phase checks its own captured sections (a later report repeats
    # the earlier ones).
    texts: list[tuple[str, str]] = []
    for title, content in report.sections:
        if title.startswith("Captured ") and title.endswith(" " + report.when):
            kind = title.split()[1]  # stdout / stderr / log
            texts.append((kind, content))
    texts.append(("failure", report.longreprtext if report.failed else ""))
    if report.when != "setup":
        texts += _RECORDED
        _RECORDED.clear()
    found = _leak(texts)
    if found is not None:
        report.outcome = "failed"
        report.longrepr = found
        # Do not print the leaked text in the test report either.
        report.sections = [(t, c) for t, c in report.sections if not t.startswith("Captured ")]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_secrets: the test prints a secret on purpose (the guard skips it)"
    )


# Throwaway PostgreSQL and Redis servers for the key store and gateway tests.  (Only where
# gateway_support.py sits beside this file: the secrets-guard tests run a copy of it alone.)
if (Path(__file__).parent / "gateway_support.py").is_file():
    from gateway_support import pg_cluster, postgres_url, redis_server, redis_url  # noqa: F401
