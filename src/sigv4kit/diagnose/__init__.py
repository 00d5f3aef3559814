"""Explain a signature and diagnose a rejected one: the core behind the CLI and calculator.

Everything here is pure (text and values in, values out) so the ``sigv4kit``
command, the calculator and any server can share it:

* :mod:`.explain`: every stage of a signature, labelled, as a JSON-ready dict.
* :mod:`.server_error`: read what a server said (S3 XML, AWS JSON, a message).
* :mod:`.diff`: canonical requests split into labelled parts and diffed.
* :mod:`.compare`: :func:`diagnose` names causes from the two sides' texts.
* :mod:`.received`: what a received request's client signed (no secret needed).
* :mod:`.variants`: re-sign the request the usual wrong ways to find the mistake.
* :mod:`.check`: verify a raw request and diagnose a failure.
* :mod:`.causes`: :data:`CAUSES`, the table of causes with explanations, which
  the documentation's troubleshooting page renders.
"""

from __future__ import annotations

from .causes import CAUSES, Cause, CauseInfo
from .check import CheckResult, check_request, scope_of
from .compare import ClientView, Diagnosis, diagnose
from .diff import DiffLine, Parts, diff_canonical, split_canonical_request, visible
from .explain import REDACTED, explain, parse_authorization, redact_token, sign_raw_request
from .received import ClientSigned, client_signed
from .server_error import ServerError, parse_error_body
from .variants import Variant, find_variant

__all__ = [
    "CAUSES",
    "REDACTED",
    "Cause",
    "CauseInfo",
    "CheckResult",
    "ClientSigned",
    "ClientView",
    "Diagnosis",
    "DiffLine",
    "Parts",
    "ServerError",
    "Variant",
    "check_request",
    "client_signed",
    "diagnose",
    "diff_canonical",
    "explain",
    "find_variant",
    "parse_authorization",
    "parse_error_body",
    "redact_token",
    "scope_of",
    "sign_raw_request",
    "split_canonical_request",
    "visible",
]
