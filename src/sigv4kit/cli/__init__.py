"""The ``sigv4kit`` command.

``click`` is an optional extra (``pip install 'sigv4kit[cli]'``), so this
module imports nothing heavy: :func:`main` checks for click first and, when it
is missing, prints a one-line install hint instead of a traceback.  Diagnosis
and explanations live in the core package :mod:`sigv4kit.diagnose`, shared
with the calculator; the command modules here parse options and print.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT = (
    "sigv4kit: the command line needs the 'cli' extra; install it with: pip install 'sigv4kit[cli]'"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``sigv4kit`` console script."""
    try:
        import click  # noqa: F401
    except ImportError:
        sys.stderr.write(INSTALL_HINT + "\n")
        raise SystemExit(1) from None
    from ._commands import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="sigv4kit")
