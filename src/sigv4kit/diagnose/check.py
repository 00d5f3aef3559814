"""Verify a raw request and, when it fails, say why: the ``verify`` command's logic.

A failed verification becomes a :class:`~sigv4kit.diagnose.compare.Diagnosis`
built from the verifier's own :class:`~sigv4kit.errors.SignatureError` (its
canonical request and string to sign), and, for ``SignatureDoesNotMatch``,
the variant search, which can name the mistake with certainty because the
secret is at hand.  No printing here: the CLI renders the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..credentials import Credentials
from ..errors import SignatureError
from ..rawhttp import RawRequest
from .causes import cause
from .compare import Diagnosis, diagnose
from .diff import diff_canonical
from .explain import parse_authorization, redact_token
from .server_error import ServerError
from .variants import find_variant

__all__ = ["CheckResult", "check_request", "scope_of"]


@dataclass
class CheckResult:
    """A verdict: ``verdict`` when the request is valid, else ``diagnosis``."""

    verdict: dict[str, Any] | None = None
    diagnosis: Diagnosis | None = None

    @property
    def valid(self) -> bool:
        return self.verdict is not None

    def as_dict(self) -> dict[str, Any]:
        if self.verdict is not None:
            return {"valid": True, **self.verdict}
        assert self.diagnosis is not None
        return {"valid": False, **self.diagnosis.as_dict()}


def scope_of(raw: RawRequest) -> tuple[str | None, str | None]:
    """``(region, service)`` named by the request's Authorization header, if any."""
    auth = parse_authorization(raw.header("authorization"))
    if auth is None:
        return None, None
    scope = auth["scope"].split("/")
    return (scope[1] if len(scope) == 4 else None), scope[-2]


def check_request(
    raw: RawRequest,
    credentials: Credentials,
    region: str,
    service: str,
    *,
    now: datetime | None = None,
    max_skew: float | None = None,
    normalize_path: bool | None = None,
    double_uri_encode: bool | None = None,
    show_token: bool = False,
) -> CheckResult:
    """Verify ``raw`` with ``credentials``; a failure comes back diagnosed.

    Errors other than a failed signature (bad options) propagate as
    :class:`~sigv4kit.errors.SigV4Error`.
    """
    from ..verifier import Verifier

    verifier = Verifier(
        {credentials.access_key_id: credentials},
        region,
        service,
        max_skew=max_skew,
        normalize_path=normalize_path,
        double_uri_encode=double_uri_encode,
        show_token=show_token,
    )
    try:
        ok = verifier.verify(raw.method, raw.target, raw.headers, raw.body, now=now)
        ok.read()  # the payload hash is checked as the body is read
    except SignatureError as exc:
        return CheckResult(
            diagnosis=_diagnose_failure(
                exc,
                raw,
                credentials,
                normalize_path=normalize_path,
                double_uri_encode=double_uri_encode,
                show_token=show_token,
            )
        )
    return CheckResult(
        verdict={
            "access_key_id": ok.access_key_id,
            "algorithm": ok.algorithm,
            "auth_type": ok.auth_type,
            "scope": str(ok.scope),
            "signed_headers": list(ok.signed_headers),
            "amz_date": ok.amz_date,
            "payload_hash": ok.payload_hash,
            "has_session_token": ok.has_session_token,
        }
    )


def _diagnose_failure(
    exc: SignatureError,
    raw: RawRequest,
    credentials: Credentials,
    *,
    normalize_path: bool | None,
    double_uri_encode: bool | None,
    show_token: bool,
) -> Diagnosis:
    result = diagnose(ServerError.from_error(exc), None)
    result.notes = []
    if exc.code != "SignatureDoesNotMatch":
        return result
    variant = find_variant(
        raw,
        credentials.secret_access_key,
        double_uri_encode=double_uri_encode,
        normalize_path=normalize_path,
    )
    if variant is not None:
        reproduced = f"Reproduced: the signature matches when {variant.description}."
        result.causes.insert(0, cause(variant.cause, reproduced))
        if exc.canonical_request is not None:
            hidden = None if show_token else credentials.session_token
            result.canonical_request_diff = diff_canonical(
                redact_token(variant.canonical.text, hidden), exc.canonical_request
            )
    elif not result.causes:
        result.causes.append(
            cause(
                "secret-key",
                "No common canonicalization mistake reproduces the signature: the "
                "client probably used another secret key.",
            )
        )
    return result
