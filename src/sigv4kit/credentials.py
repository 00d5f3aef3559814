"""Credentials: the one value object that holds a secret.

The secret and the session token are kept out of ``repr``/``str`` so that a
``Credentials`` object can be logged, put in an exception or printed in a
debugger without leaking anything.  Providers (environment, profile files,
``credential_process``) live in :mod:`sigv4kit.providers`.
"""

from __future__ import annotations

from ._frozen import Frozen
from .errors import SigningError

# datetime only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["Credentials"]


class Credentials(Frozen):
    """An access key pair and an optional session token.

    ``expiration`` (aware datetime) is set by providers of temporary
    credentials so refreshing wrappers know when to fetch new ones.
    Immutable; equal when key id, secret and token are equal.
    """

    __slots__ = ("access_key_id", "expiration", "secret_access_key", "session_token")
    _compare = ("access_key_id", "secret_access_key", "session_token")

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime | None

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        expiration: datetime | None = None,
    ) -> None:
        self._set(
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            expiration=expiration,
        )
        self._check()

    def replace(self, **changes: object) -> Credentials:
        """A copy with some fields changed (validated again)."""
        values: dict[str, object] = {n: getattr(self, n) for n in self.__slots__}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"Credentials has no field {sorted(unknown)[0]!r}")
        values.update(changes)
        return Credentials(**values)  # type: ignore[arg-type]

    def _check(self) -> None:
        akid = self.access_key_id
        if not isinstance(akid, str) or not akid:
            raise SigningError("access_key_id must be a non-empty string")
        if not akid.isascii() or not akid.isprintable() or any(c in akid for c in " /,="):
            # The key id is embedded in "Credential=AKID/date/region/...": a
            # slash, comma, '=' or space there makes the header unparseable.
            # The value is not shown: a rejected key id is often the secret,
            # passed first by mistake.
            raise SigningError(
                "access_key_id must be printable ASCII without spaces, '/', ',' or '=' "
                f"(got {len(akid)} characters that are not); check that the key id and the "
                "secret are not swapped"
            )
        if not isinstance(self.secret_access_key, str) or not self.secret_access_key:
            raise SigningError("secret_access_key must be a non-empty string")
        token = self.session_token
        if token is not None:
            if not isinstance(token, str):
                raise SigningError("session_token must be a string or None")
            if "\r" in token or "\n" in token:
                raise SigningError("session_token contains a line break; copy it again in one line")
        if self.expiration is not None and self.expiration.tzinfo is None:
            raise SigningError("expiration must be a timezone-aware datetime")

    def __repr__(self) -> str:
        exp = "" if self.expiration is None else f", expiration={self.expiration.isoformat()!r}"
        token = "None" if self.session_token is None else "'***'"
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***', "
            f"session_token={token}{exp})"
        )

    __str__ = __repr__
