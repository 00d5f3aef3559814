"""The Verifier's public import path; the implementation is :mod:`sigv4kit.verify`."""

from __future__ import annotations

from .verify import *  # noqa: F403
from .verify import __all__ as __all__
