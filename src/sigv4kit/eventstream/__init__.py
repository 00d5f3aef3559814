"""Event streams (``application/vnd.amazon.eventstream``): the binary
message format and the SigV4 message-signing chain, for clients that sign
and servers that verify.

Not imported by ``import sigv4kit``; import it as ``sigv4kit.eventstream``.
See ``docs/eventstream.md`` for a walk-through.
"""

from __future__ import annotations

from . import _codec, _signing
from ._codec import *  # noqa: F403
from ._signing import *  # noqa: F403

# The package's surface is its two modules' surfaces: the framing and the signing chain.
__all__ = [*_codec.__all__, *_signing.__all__]
