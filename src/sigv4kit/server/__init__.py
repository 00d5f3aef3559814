"""Server-side verification as middleware: ``asgi.SigV4Middleware`` and ``wsgi.SigV4Middleware``.

Both put the :class:`~sigv4kit.verifier.VerifiedRequest` of every request
they let through under the key ``"sigv4kit"`` (``scope["sigv4kit"]`` for
ASGI, ``environ["sigv4kit"]`` for WSGI); :func:`verified_request` reads it
from either.  The adapters import no framework, so they work with any
ASGI server/framework (uvicorn, Starlette, FastAPI ...) and any WSGI one
(Flask, Werkzeug, gunicorn ...).
"""

from __future__ import annotations

from ._common import SCOPE_KEY, MissingContentLength, verified_request

__all__ = ["SCOPE_KEY", "MissingContentLength", "verified_request"]
