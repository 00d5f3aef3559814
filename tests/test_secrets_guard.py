"""The secrets guard in conftest.py must itself be able to fail."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_guard_fails_a_test_that_prints_a_secret(tmp_path: Path) -> None:
    conftest = Path(__file__).with_name("conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            """
            import logging
            from sigv4kit.keys import derive_signing_key

            def test_prints_secret():
                print("oops wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

            def test_logs_derived_key():
                key = derive_signing_key(
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"
                )
                logging.getLogger("x").warning("key %s", key.hex())

            def test_clean():
                print("nothing to see")
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "2 failed, 1 passed" in out.stdout, out.stdout
    assert "leaked into stdout" in out.stdout
    assert "leaked into log" in out.stdout
