"""Will a planned request match a presigned URL?  Say so, and if not, why.

``sigv4kit presign --check`` runs :func:`check_presigned`.  Without the
secret it checks what the URL itself says (its lifetime, the headers it
signed, unsigned ``X-Amz-*`` headers S3 would refuse); with the URL's
credentials it also verifies the request and names a method mismatch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .errors import SigningError
from .presigning import amz_datetime, stamp

if TYPE_CHECKING:
    from .credentials import Credentials

__all__ = ["PresignCheck", "check_presigned"]

_METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE", "PATCH", "OPTIONS")


# --------------------------------------------------------------------------
# Will a planned request match a presigned URL?
# --------------------------------------------------------------------------
@dataclass
class PresignCheck:
    """The verdict of :func:`check_presigned`.

    ``ok`` is True (it will match), False (it will not; ``problems`` say why)
    or None (nothing found wrong, but without the secret the signature
    itself could not be checked).  ``must_send`` lists the signed headers the
    request has to carry.
    """

    ok: bool | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signed_headers: list[str] = field(default_factory=list)
    must_send: list[str] = field(default_factory=list)
    expires_at: str | None = None
    causes: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _params(query: str) -> dict[str, str]:
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name:
            out.setdefault(unquote(name).lower(), unquote(value.replace("+", " ")))
    return out


def check_presigned(
    url: str,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    *,
    now: datetime | None = None,
    credentials: Credentials | None = None,
    max_skew: float | None = None,
) -> PresignCheck:
    """Say whether ``method`` with ``headers`` will be accepted with the presigned ``url``.

    Without ``credentials`` the checks need no secret: the URL's lifetime,
    signed headers that will not be sent, ``X-Amz-*`` headers that will be
    sent unsigned (S3 refuses those).  With the credentials of the URL's
    access key the request is also verified, and a mismatch is diagnosed
    (another method, another header value, ...).
    """
    headers = list(headers or [])
    rest = url.partition("://")[2]
    if not rest:
        raise SigningError("give the presigned URL in full: https://host/path?X-Amz-...")
    authority, _, target = rest.partition("/")
    target = "/" + target
    params = _params(target.partition("?")[2])
    missing = [p for p in ("x-amz-signature", "x-amz-credential", "x-amz-date") if p not in params]
    if missing:
        raise SigningError(
            f"the URL is not presigned: it has no {', '.join(missing)} query parameter"
        )
    now = now or datetime.now(timezone.utc)
    result = PresignCheck(ok=None)
    signed = [h for h in params.get("x-amz-signedheaders", "host").split(";") if h]
    result.signed_headers = signed
    sent = {n.lower(): v for n, v in headers}
    _check_time(params, now, max_skew, result)
    for name in signed:
        if name == "host":
            continue
        result.must_send.append(name)
        if name not in sent:
            result.problems.append(
                f"the header {name} is signed into the URL but the request will not send it: "
                f"add -H '{name}: <the value it was presigned with>'"
            )
    for name in sorted(sent):
        if name.startswith("x-amz-") and name not in signed:
            result.problems.append(
                f"the request sends {name}, which the URL did not sign: S3 refuses unsigned "
                "x-amz-* headers (presign with the header, or do not send it)"
            )
    if result.problems:
        result.ok = False
    if credentials is not None and not result.problems:
        _verify(method, authority, target, headers, now, credentials, params, result)
    elif credentials is None and not result.problems:
        result.notes.append(
            "no credentials given: the method and the header values cannot be checked without "
            "the secret key (pass the URL's credentials to check them too)"
        )
    return result


def _check_time(
    params: dict[str, str], now: datetime, max_skew: float | None, result: PresignCheck
) -> None:
    try:
        signed_at = amz_datetime(params["x-amz-date"])
        lifetime = int(params.get("x-amz-expires", "0"))
    except ValueError:
        result.problems.append("the URL's X-Amz-Date or X-Amz-Expires is malformed")
        return
    end = signed_at + timedelta(seconds=lifetime)
    result.expires_at = stamp(end)
    if now > end:
        result.problems.append(
            f"the URL expired at {stamp(end)} (signed {stamp(signed_at)} for {lifetime} s); "
            f"it is now {stamp(now)}: presign it again"
        )
    skew = timedelta(seconds=900 if max_skew is None else max_skew)
    if signed_at - now > skew:
        result.problems.append(
            f"the URL is signed for {stamp(signed_at)}, in the future (now {stamp(now)}): "
            "the signer's clock is ahead"
        )


def _verify(
    method: str,
    authority: str,
    target: str,
    headers: list[tuple[str, str]],
    now: datetime,
    credentials: Credentials,
    params: dict[str, str],
    result: PresignCheck,
) -> None:
    """Verify the planned request with the secret; diagnose a mismatch."""
    from .errors import SignatureError
    from .verifier import Verifier

    scope = params["x-amz-credential"].split("/")
    region = scope[2] if len(scope) == 5 else ""
    service = scope[-2] if len(scope) >= 4 else ""
    send = list(headers)
    if not any(n.lower() == "host" for n, _ in send):
        send.insert(0, ("Host", authority))
    verifier = Verifier({credentials.access_key_id: credentials}, region or "*", service)
    try:
        ok = verifier.verify(method.upper(), target, send, b"", now=now)
        ok.read()
    except SignatureError as exc:
        from .diagnose.compare import diagnose
        from .diagnose.server_error import ServerError

        result.ok = False
        result.problems.append(f"{exc.code}: {exc.message}")
        server = ServerError(
            code=exc.code,
            message=exc.message,
            canonical_request=exc.canonical_request,
            string_to_sign=exc.string_to_sign,
        )
        d = diagnose(server)
        result.causes = [c.as_dict() for c in d.causes]
        if exc.code != "SignatureDoesNotMatch":
            return
        for other in _METHODS:
            if other == method.upper():
                continue
            try:
                verifier.verify(other, target, send, b"", now=now).read()
            except SignatureError:
                continue
            result.problems.append(
                f"the URL was presigned for {other}, but the request uses {method.upper()}: "
                f"send it with {other}, or presign for {method.upper()}"
            )
            return
        result.notes.append(
            "the signature does not match: the path, the query or a signed header's value "
            "differs from what was presigned (or the secret is not the URL's)"
        )
        return
    result.ok = True
    result.notes.append(f"verified with the secret of {credentials.access_key_id}")
