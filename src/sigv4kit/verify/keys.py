"""Key resolution: the credential lookup (sync or async) and the per-instance key memo."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from ..config import ALGORITHM_V4A
from ..credentials import Credentials
from ..errors import AccessDenied, InvalidAccessKeyId, InvalidToken, SigningError
from ..keys import signing_key
from ._common import Scope, _close, _compare

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .verifier import Verifier


@dataclass(slots=True)
class _Key:
    secret: str | None
    public_key: Any
    token: str | None

    def public(self, akid: str) -> Any:
        """The SigV4a public key: stored, or derived from the secret once and kept."""
        if self.public_key is None:
            from ..v4a import public_key_for

            self.public_key = public_key_for(akid, cast("str", self.secret))
        return self.public_key


def _key_from(value: object) -> _Key | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _Key(value, None, None)
    if isinstance(value, Credentials):
        return _Key(value.secret_access_key, None, value.session_token)
    if isinstance(value, tuple) and len(value) == 2:
        inner = _key_from(value[0])
        if inner is None:
            return None
        token = value[1]
        if token is not None and not isinstance(token, str):
            raise SigningError("a credential lookup's session token must be a str or None")
        inner.token = token
        return inner
    if hasattr(value, "public_numbers") and hasattr(value, "verify"):
        return _Key(None, value, None)
    raise SigningError(
        "a credential lookup must return a secret (str), a sigv4kit.Credentials, a SigV4a "
        f"public key, a (secret, session_token) pair or None; got {type(value).__name__}"
    )


# -- credentials --------------------------------------------------------
def _call_lookup(vr: Verifier, akid: str) -> Any:
    if vr._mapping is not None:
        return vr._mapping.get(akid)
    return cast("Callable[[str], Any]", vr._lookup)(akid)


def _lookup_sync(vr: Verifier, akid: str) -> Any:
    value = _call_lookup(vr, akid)
    if value.__class__ is not str and inspect.isawaitable(value):
        _close(value)
        raise SigningError(
            "the credential lookup returned an awaitable; call "
            "'await verifier.averify(...)' instead"
        )
    return value


def _key(vr: Verifier, akid: str, value: Any) -> _Key:
    # One-slot memo on the identity of the looked-up value: a mapping
    # hands back the same object for the same key id every time.
    # (The access key id is part of the memo: a SigV4a public key derived
    # from a secret depends on it.)
    memo = vr._value_memo
    if memo is not None and memo[0] is value and memo[1] == akid:
        return memo[2]
    key = _key_from(value)
    if key is None:
        raise InvalidAccessKeyId(access_key_id=akid)
    vr._value_memo = (value, akid, key)
    return key


def _token_result(result: Any) -> None:
    if result is False or result is None:
        raise InvalidToken()


def signature_ok(
    alg: str, akid: str, key: _Key, scope: Scope, message: bytes, provided: str
) -> bool:
    """Whether ``provided`` is this key's signature of ``message``: ECDSA
    P-256 with the public key (SigV4a; derived from the secret once and kept
    on the memoized key), or HMAC-SHA256 with the day's signing key, compared
    in constant time (SigV4).  The one signature check of header, presigned
    and POST requests (the fast road inlines the SigV4 case)."""
    if alg == ALGORITHM_V4A:
        from ..v4a import verify_v4a

        return verify_v4a(key.public(akid), message, provided)
    if key.secret is None:
        raise AccessDenied(
            "Only a SigV4a public key is stored for this access key; SigV4 "
            "(AWS4-HMAC-SHA256) requests cannot be verified with it."
        )
    sign = signing_key(key.secret, scope.date, cast("str", scope.region), scope.service)
    return _compare(sign.hexdigest(message).encode(), provided.encode("utf-8", "replace"))
