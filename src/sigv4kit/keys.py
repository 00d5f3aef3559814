"""SigV4 signing keys: derived once per (secret, date, region, service).

The derivation is four chained HMAC-SHA256 steps::

    kDate    = HMAC("AWS4" + secret, yyyymmdd)
    kRegion  = HMAC(kDate, region)
    kService = HMAC(kRegion, service)
    kSigning = HMAC(kService, "aws4_request")

A signer re-uses ``kSigning`` for every request of the day, so it is cached,
with HMAC's two SHA-256 pad states already absorbed: a signature then costs
two hash ``copy()``s instead of a fresh HMAC setup.  No lock: ``dict.get`` and
item assignment are atomic under the GIL, two threads racing on a miss derive
the same key, and ``hashlib`` objects lock themselves during ``copy()``.
Key material never appears in a ``repr`` or message.
"""

from __future__ import annotations

import hashlib

from ._memo import Memo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .config import SigningConfig
    from .credentials import Credentials

    #: A signer's one-slot memo of the day's key: ``(credentials, yyyymmdd,
    #: credential scope, string-to-sign bytes -> hex signature)``.
    DayKey = tuple[object, str, str, Callable[[bytes], str]]

__all__ = [
    "HmacKey",
    "derive_signing_key",
    "key_chain_description",
    "signature_function",
    "signing_key",
]

_TRANS_5C = bytes((x ^ 0x5C) for x in range(256))
_TRANS_36 = bytes((x ^ 0x36) for x in range(256))
_sha256 = hashlib.sha256


class HmacKey:
    """HMAC-SHA256 with a fixed key, its pad states precomputed."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = _sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = _sha256(key.translate(_TRANS_36))
        self._outer = _sha256(key.translate(_TRANS_5C))

    def hexdigest(self, msg: bytes) -> str:
        """The MAC of ``msg`` in hex: what a request signature is, so the hot
        path gets it without a conversion."""
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def states(self) -> tuple[Any, Any]:
        """The inner and outer SHA-256 states with the pads absorbed, for a
        hot path that inlines :meth:`hexdigest` (copy each, never update them)."""
        return self._inner, self._outer

    def digest(self, msg: bytes) -> bytes:
        """The MAC of ``msg`` as bytes (event-stream signatures)."""
        return bytes.fromhex(self.hexdigest(msg))

    def __repr__(self) -> str:
        return "<HmacKey (key material hidden)>"


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The raw SigV4 signing key (kSigning); prefer the cached :func:`signing_key`.
    :class:`HmacKey` rather than ``hmac``, whose import adds to start-up."""
    k = HmacKey(("AWS4" + secret).encode("utf-8")).digest(date.encode("ascii"))
    k = HmacKey(k).digest(region.encode("utf-8"))
    k = HmacKey(k).digest(service.encode("utf-8"))
    return HmacKey(k).digest(b"aws4_request")


# Days roll over and secrets rotate: a bounded memo (see sigv4kit._memo).
_CACHE_MAX = 1024
_CACHE: Memo[tuple[str, str, str, str], HmacKey] = Memo(_CACHE_MAX)


def signing_key(secret: str, date: str, region: str, service: str) -> HmacKey:
    """The cached :class:`HmacKey` for one secret, day, region and service."""
    cache_key = (secret, date, region, service)
    key = _CACHE.get(cache_key)
    if key is None:
        key = _CACHE.put(cache_key, HmacKey(derive_signing_key(secret, date, region, service)))
    return key


def signature_function(
    c: SigningConfig, credentials: Credentials, date: str
) -> Callable[[bytes], str]:
    """String-to-sign bytes -> hex signature, for one key and day: the day's
    cached :class:`HmacKey`, or for SigV4a an ECDSA signature with the key
    derived from the secret (:mod:`sigv4kit.v4a`, loaded on first use)."""
    if c.is_v4a:
        from .v4a import sign_v4a

        akid, secret = credentials.access_key_id, credentials.secret_access_key

        def sign(sts: bytes) -> str:
            return sign_v4a(akid, secret, sts)

        return sign
    return signing_key(credentials.secret_access_key, date, c.region, c.service).hexdigest


def key_chain_description(date: str, region: str, service: str) -> list[str]:
    """The derivation steps by name, for explanations; never key material."""
    return [
        'kSecret  = "AWS4" + <secret access key>',
        f'kDate    = HMAC-SHA256(kSecret, "{date}")',
        f'kRegion  = HMAC-SHA256(kDate, "{region}")',
        f'kService = HMAC-SHA256(kRegion, "{service}")',
        'kSigning = HMAC-SHA256(kService, "aws4_request")',
        "signature = hex(HMAC-SHA256(kSigning, string_to_sign))",
    ]
