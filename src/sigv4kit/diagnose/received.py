"""What a received request says its client signed, worked out without the secret.

A raw request carries everything but the signing key: the ``Authorization``
header names the algorithm, the credential scope and the signed headers, and
the request itself gives the method, target, header values and payload hash.
From these the canonical request and the string to sign the client must have
computed follow.  ``sigv4kit diagnose --request`` compares them with what a
server said; the variant search starts from them to try common mistakes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..canonical import CanonicalRequest, StringToSign, canonical_request_for_target, string_to_sign
from ..config import service_defaults
from ..errors import SigningError
from ..rawhttp import RawRequest
from .explain import parse_authorization

__all__ = ["ClientSigned", "client_signed"]


@dataclass(frozen=True)
class ClientSigned:
    """The request as its client signed it: the parsed authorization and both texts."""

    algorithm: str
    access_key_id: str
    scope: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    canonical: CanonicalRequest
    double_uri_encode: bool
    normalize_path: bool

    @property
    def canonical_request(self) -> str:
        return self.canonical.text

    @property
    def string_to_sign(self) -> StringToSign:
        return string_to_sign(self.algorithm, self.amz_date, self.scope, self.canonical)


def client_signed(
    raw: RawRequest,
    *,
    service: str | None = None,
    double_uri_encode: bool | None = None,
    normalize_path: bool | None = None,
) -> ClientSigned:
    """Rebuild what the client of ``raw`` signed; raise if it carries no SigV4 header.

    The service's canonicalization rules come from the scope's service unless
    ``service`` or the explicit options say otherwise.  The payload hash is the
    claimed ``X-Amz-Content-SHA256``, else the hash of the body received.
    """
    auth = parse_authorization(raw.header("authorization"))
    if auth is None:
        raise SigningError(
            "the request has no SigV4 Authorization header; give the request as it was sent, "
            "or METHOD URL and flags to re-sign it"
        )
    scope = auth["scope"]
    parts = scope.split("/")
    d = service_defaults(service or (parts[-2] if len(parts) >= 2 else ""))
    dbl = d.double_uri_encode if double_uri_encode is None else double_uri_encode
    norm = d.normalize_path if normalize_path is None else normalize_path
    claimed = raw.header("x-amz-content-sha256")
    payload = claimed.strip() if claimed else hashlib.sha256(raw.body).hexdigest()
    signed_headers = tuple(auth["signed_headers"].split(";"))
    canonical = canonical_request_for_target(
        raw.method,
        raw.target,
        raw.headers,
        payload,
        double_uri_encode=dbl,
        normalize_path=norm,
        plus_in_path_is_space=d.plus_in_path_is_space,
        signed_headers=signed_headers,
    )
    return ClientSigned(
        algorithm=auth["algorithm"],
        access_key_id=auth["access_key_id"],
        scope=scope,
        signed_headers=signed_headers,
        signature=auth["signature"],
        amz_date=raw.header("x-amz-date") or "",
        canonical=canonical,
        double_uri_encode=dbl,
        normalize_path=norm,
    )
