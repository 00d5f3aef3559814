"""What a verification flow asks its driver for.

The flow (:func:`sigv4kit.verify.flow.verification`) is a generator, like
httpx's ``auth_flow``: it does all the work that needs no I/O and *yields* a
``(step, argument)`` pair when it needs something only its caller can get,
sync or async.  ``Verifier.verify`` and ``Verifier.averify`` are the two
drivers; the flow itself, with the token check and the POST flow in it,
exists once.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

#: The credential lookup's answer for an access key id (argument: the id).
LOOKUP = "lookup"
#: ``token_check(access_key_id, token)``'s answer (argument: the pair).
TOKEN = "token"
#: An async body spooled and hashed (argument: the async iterator); the
#: answer is ``(hex sha256, iterator over the spooled data)``.
SPOOL = "spool"
#: The next piece of an async body, None at its end (argument: the iterator).
READ = "read"

Flow = Generator[tuple[str, Any], Any, Any]
