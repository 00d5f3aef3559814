"""Local errors: raised to the code that called sigv4kit, never an answer
to a request.  What a caller of the signer, the credential providers, the
HTTP adapters, the calculator and the CLI gave us or must fix, and the
failures of the forwarding engine, the proxy and the key store.  See
:mod:`sigv4kit.errors`."""

from __future__ import annotations

from ._base import (
    CredentialsError,
    KeyStoreError,
    LimitExceeded,
    RawRequestError,
    SigningError,
    SigV4Error,
)

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime


class PresignOutlivesCredentials(SigningError):
    """The credentials expire before the presigned URL would.

    A URL signed with temporary credentials stops working when they expire,
    whatever its ``X-Amz-Expires`` says.  ``url_expires`` and
    ``credentials_expire`` are the two times (aware datetimes, UTC); pass
    ``cap_expires=True`` to presign for a URL that ends with the credentials.
    """

    def __init__(
        self, message: str, *, url_expires: datetime, credentials_expire: datetime
    ) -> None:
        super().__init__(message)
        self.url_expires = url_expires
        self.credentials_expire = credentials_expire


class RedirectNotFollowed(SigningError):
    """A redirect the adapter stopped at instead of sending a wrong request.

    Raised when a 307/308 (or a 301/302 that keeps the method) must send the
    body again but the body was a one-shot stream.  ``response`` is the
    redirect response (its connection released), ``location`` where it
    pointed.
    """

    def __init__(
        self, message: str, *, response: object = None, location: str | None = None
    ) -> None:
        super().__init__(message)
        self.response = response
        self.location = location


class InvalidFormField(SigningError):
    """A field of the calculator's form cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class CredentialsNotFound(CredentialsError):
    """No provider had credentials.

    ``places`` lists every place that was looked at, with the reason each one
    gave nothing, so a user can see at once which variable or file to fix.
    """

    def __init__(self, places: Sequence[str], *, hint: str | None = None) -> None:
        self.places: list[str] = list(places)
        lines = ["No AWS credentials found. Looked in:"]
        lines.extend(f"  {i}. {place}" for i, place in enumerate(self.places, 1))
        lines.append(
            hint
            or "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run `aws configure`, "
            "or pass Credentials(...) explicitly."
        )
        super().__init__("\n".join(lines))


class MalformedProfileFile(CredentialsError):
    """A shared credentials or config file could not be parsed."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = path if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {problem}")


class CannotResign(SigningError):
    """The gateway cannot re-sign a verified request as asked (the message
    says why)."""


class CannotProbe(SigV4Error):
    """``sigv4kit probe`` cannot run: no such bucket, or the endpoint is unreachable."""


class RawRequestTooLarge(RawRequestError, LimitExceeded):
    """The request head exceeds a size limit; ``limit`` names which one."""

    def __init__(self, message: str, *, limit: str, value: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


# --------------------------------------------------------------------------
# The forwarding engine, the proxy and the key store
# --------------------------------------------------------------------------
class ClientDisconnected(SigV4Error):
    """The client went away while its request body was being read (the
    forwarding engine of the proxy and gateway answers it with 499)."""


class UnknownUpstreamHost(SigV4Error):
    """The proxy's upstream host says nothing about its region or service."""


class UpstreamFailed(SigV4Error):
    """The forwarding engine's upstream exchange failed before or while the
    answer arrived.  ``kind`` says how, and so what the client gets: "connect"
    and "disconnect" (502, retried once when replayable), "timeout" (504),
    "broke-off" (the answer ended early or was malformed), "body" (the request
    body iterator raised; it is ``__cause__``).  ``os_error`` is the socket
    error behind a failed connect."""

    def __init__(self, kind: str, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.os_error = os_error


class BodyTooLarge(LimitExceeded):
    """A body the proxy must hold is larger than ``--max-body`` (``max_body``)."""

    limit = "max_body"

    def __init__(self, value: int) -> None:
        super().__init__(
            f"request body larger than --max-body ({value} bytes); raise --max-body, or for "
            "S3 uploads let the proxy stream them (see --payload)"
        )
        self.value = value


class KeyNotFound(KeyStoreError, LookupError):
    """No key with this access key id exists in the store."""


class KeyExists(KeyStoreError):
    """A key with this access key id is already in the store."""


class InvalidMasterKey(KeyStoreError):
    """The master key that encrypts secrets at rest is missing, malformed or not this store's."""
