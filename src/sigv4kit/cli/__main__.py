"""``python -m sigv4kit.cli`` runs the ``sigv4kit`` command."""

from __future__ import annotations

from . import main

main()
