"""Start-up: what ``import sigv4kit`` and the first signatures load (issue 17).

The time goal (the first ``Signer.sign`` at most 15 ms of CPU above a bare
interpreter) is measured by ``benchmarks/bench_streaming.py --only startup``;
timings are too noisy for a test.  These tests guard the cause instead: each
runs the common path in a fresh interpreter and asserts that none of the
standard-library modules sigv4kit loads lazily was imported by it.  Modules
the interpreter had loaded before ``import sigv4kit`` (``site``, ``.pth``
files) are not counted.  See docs/performance.md for what each one costs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each costs between 0.3 and 8 ms of CPU at start-up; none is needed to sign
# or presign a request to a plain URL.
LAZY = (
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "hmac",
    "importlib",
    "inspect",
    "ipaddress",
    "locale",
    "operator",
    "re",
    "typing",
    "urllib.parse",
    "_strptime",
)

SETUP = (
    "import sigv4kit\n"
    "creds = sigv4kit.Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')\n"
    "s3 = sigv4kit.Signer(creds, 'us-east-1', 's3')\n"
    "url = 'https://examplebucket.s3.amazonaws.com/photos/2013/test.txt'\n"
)

SCENARIOS = {
    "import": "import sigv4kit\n",
    "get now": SETUP + "s3.sign('GET', url, headers={'Range': 'bytes=0-9'})\n",
    "put bytes, amz-date": SETUP
    + "s3.sign('PUT', url, headers=[('Content-Type', 'text/plain')], body=b'hello',"
    " timestamp='20130524T000000Z')\n",
    "put str, POSIX time": SETUP + "s3.sign('PUT', url, body='hello', timestamp=1369353600.5)\n",
    "presign": SETUP + "s3.presign('GET', url, expires=3600)\n",
    "presign with a query": SETUP
    + "s3.presign('GET', url + '?versionId=abc', expires=3600, timestamp='20130524T000000Z')\n",
    "session token, another service": (
        "import sigv4kit\n"
        "creds = sigv4kit.Credentials('AKIDEXAMPLE', 'secret', 'token/with+slash=')\n"
        "s = sigv4kit.Signer(creds, 'us-east-1', 'execute-api')\n"
        "s.sign('POST', 'https://api.example.com/prod/items?limit=10&after=x',"
        " headers={'Content-Type': 'application/json'}, body=b'{}')\n"
        "s.presign('GET', 'https://api.example.com/prod/items', expires=60)\n"
    ),
}

CHILD = """
import json, sys
before = set(sys.modules)
exec(compile({code!r}, "<scenario>", "exec"))
loaded = set(sys.modules) - before
print(json.dumps({{"lazy": sorted(loaded & set({lazy!r})), "signer": "sigv4kit.signer" in loaded}}))
"""


def _run(code: str) -> dict[str, object]:
    child = CHILD.format(code=code, lazy=LAZY)
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_common_path_does_not_load_lazy_modules(name: str) -> None:
    result = _run(SCENARIOS[name])
    assert result["lazy"] == [], f"{name}: loaded {result['lazy']} at start-up"
    # The scenario did sign (a guard that a broken scenario cannot pass).
    assert result["signer"] is (name != "import")


def test_the_guard_sees_a_lazy_module() -> None:
    """A path that needs datetime (a datetime argument) is reported, so the
    guard above can fail."""
    result = _run(SETUP + "import datetime\n")
    assert result["lazy"] == ["datetime"]
