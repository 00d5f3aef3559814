"""Turn a signature into an explanation: every stage, labelled, as data.

One function builds the explanation (a JSON-ready dict) from a
:class:`~sigv4kit.signer.SignedRequest`; the command prints it as text or
JSON and the calculator sends it to the page, so the three always agree.
Raw HTTP requests (a file or a paste) are signed through the verbatim-target
route, as a server would canonicalize them, so a request target holding raw
spaces or UTF-8 is explained exactly as it would arrive.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..credentials import Credentials
from ..errors import SignatureError, SigningError
from ..rawhttp import RawRequest
from ..signer import SignedRequest, Signer, parse_timestamp

__all__ = [
    "REDACTED",
    "explain",
    "parse_authorization",
    "redact_token",
    "sign_raw_request",
]

REDACTED = "<session token hidden; --show-token prints it>"


def parse_authorization(value: str | None) -> dict[str, str] | None:
    """The parts of a SigV4/SigV4a ``Authorization`` value, or None (also for no value).

    Returns ``algorithm``, ``access_key_id``, ``scope``, ``signed_headers``
    and ``signature``.  The parsing is the Verifier's own
    (:mod:`sigv4kit.verify.auth`), so explain, diagnose and the variant
    search read a header exactly as verification does.
    """
    from ..verify.auth import _parse_authorization

    try:
        alg, credential, signed_headers, signature = _parse_authorization(value or "")
    except SignatureError:
        return None
    if not alg.startswith("AWS4-"):
        return None
    akid, _, scope = credential.partition("/")
    return {
        "algorithm": alg,
        "access_key_id": akid,
        "scope": scope,
        "signed_headers": signed_headers,
        "signature": signature,
    }


def sign_raw_request(
    raw: RawRequest,
    signer: Signer,
    timestamp: str | None = None,
) -> SignedRequest:
    """Sign a request exactly as it would arrive on the wire.

    The request target is canonicalized verbatim (no wire-encoding first), so
    this is what a server computes for these bytes.  An ``Authorization``
    header already present is replaced; an ``X-Amz-Date`` header gives the
    timestamp unless ``timestamp`` is passed.
    """
    host = raw.header("host")
    if not host:
        raise SigningError(
            "the request has no Host header; add 'Host: example.amazonaws.com' below the "
            "request line"
        )
    if raw.target.startswith(("http://", "https://")):
        raise SigningError(
            "the request line holds an absolute URL; write it in origin form "
            "('GET /path?query HTTP/1.1') with a Host header"
        )
    given_date = raw.header("x-amz-date")
    amz = parse_timestamp(timestamp if timestamp is not None else given_date)
    return signer.sign_target(raw.method, raw.target, raw.headers, raw.body, amz)


def redact_token(text: str, token: str | None) -> str:
    """``text`` with the session token (plain or URI-encoded) replaced."""
    if not token:
        return text
    for form in {token, quote(token, safe=""), quote(token, safe="/")}:
        text = text.replace(form, REDACTED)
    return text


def explain(
    signed: SignedRequest,
    *,
    credentials: Credentials | None = None,
    show_token: bool = False,
    presigned: bool = False,
    provided_signature: str | None = None,
    keep_sendable: bool = False,
) -> dict[str, Any]:
    """Every stage of ``signed`` as a JSON-ready dict.

    The keys ``canonical_request``, ``string_to_sign``, ``signature``,
    ``authorization`` and ``headers`` are those of ``sign --json``; the rest
    label the parts.  The session token is replaced by a placeholder unless
    ``show_token``; with ``keep_sendable`` the URL and the headers to send
    keep it (they are useless without it), and only the canonical request
    and its parts are redacted.  Secret and derived keys are never part of a
    signature's record, so they cannot appear here.
    """
    token = credentials.session_token if credentials is not None and not show_token else None
    send_token = None if keep_sendable else token
    cr = signed.canonical
    sts_lines = signed.string_to_sign.split("\n")
    header_lines = [line for line in cr.headers.split("\n") if line]
    out: dict[str, Any] = {
        "method": signed.method,
        "url": redact_token(signed.url, send_token),
        "algorithm": signed.algorithm,
        "amz_date": signed.amz_date,
        "credential_scope": signed.credential_scope,
        "scope": _scope_parts(signed),
        "canonical_request": redact_token(signed.canonical_request, token),
        "canonical_request_parts": {
            "method": cr.method,
            "canonical_uri": cr.uri,
            "canonical_query": redact_token(cr.query, token),
            "canonical_headers": [redact_token(line, token) for line in header_lines],
            "signed_headers": cr.signed_headers,
            "payload_hash": cr.payload_hash,
        },
        "canonical_request_sha256": signed.canonical_request_hash,
        "string_to_sign": signed.string_to_sign,
        "string_to_sign_parts": {
            "algorithm": sts_lines[0],
            "request_date": sts_lines[1],
            "credential_scope": sts_lines[2],
            "canonical_request_sha256": sts_lines[3],
        },
        "key_chain": signed.key_chain,
        "signature": signed.signature,
        "authorization": signed.authorization,
        "signed_headers": signed.signed_headers,
        "payload_hash": signed.payload_hash,
        "headers": [[n, redact_token(v, send_token)] for n, v in signed.headers],
        "presigned": presigned,
    }
    if signed.region_set:
        out["region_set"] = list(signed.region_set)
    if token is not None:
        out["session_token_redacted"] = True
    if provided_signature is not None:
        out["provided_signature"] = provided_signature
        out["signature_matches"] = provided_signature.rstrip("*") == signed.signature
    return out


def _scope_parts(signed: SignedRequest) -> dict[str, Any]:
    parts = signed.credential_scope.split("/")
    if len(parts) == 4:
        return {"date": parts[0], "region": parts[1], "service": parts[2], "terminator": parts[3]}
    return {
        "date": parts[0],
        "region_set": list(signed.region_set),
        "service": parts[1] if len(parts) > 1 else "",
        "terminator": parts[-1],
    }
