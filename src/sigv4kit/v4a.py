"""SigV4a: ECDSA P-256 keys derived from an access key pair, signing, verifying.

SigV4a replaces SigV4's per-day, per-region HMAC key with one ECDSA P-256 key
pair per access key.  Both sides derive the same private key from the secret
(AWS's derivation, below), so a signature made for a *set* of regions verifies
anywhere in that set, and a server that only holds the *public* key can verify
without being able to sign.

``cryptography`` is loaded on first use: SigV4-only users never pay for the
OpenSSL bindings.  A derived key (an HMAC plus an EC scalar multiplication)
is cached per ``(access key id, secret)``, without a lock, as in
:mod:`sigv4kit.keys`.  ECDSA signatures are randomized, so SigV4a is tested
by verifying, never by comparing.  Key material never appears in a repr,
log line or exception message.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from typing import TYPE_CHECKING, Any, Literal, overload

from ._memo import Memo
from .errors import SigningError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )

__all__ = [
    "KDF_LABEL",
    "P256_ORDER",
    "derive_private_key",
    "derive_private_scalar",
    "export_public_key",
    "key_derivation_description",
    "load_public_key",
    "public_key_for",
    "sign_v4a",
    "verify_v4a",
]

#: Order ``n`` of the NIST P-256 (secp256r1) base point.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

#: The KDF "Label" of NIST SP 800-108; it is also the SigV4a algorithm name.
KDF_LABEL = b"AWS4-ECDSA-P256-SHA256"

# The counter is one byte and AWS gives up after 254 candidates; the chance of
# a candidate above n-2 is about 2**-32 each, so even a second round is rare.
_MAX_COUNTER = 254

# SP 800-108 fields fixed for P-256: the block counter [i] (L = 256 bits is
# one HMAC-SHA256 output, so only block 1) and the output length [L] in bits.
_KDF_BLOCK_1 = (1).to_bytes(4, "big")
_KDF_LENGTH_BITS = (256).to_bytes(4, "big")

# A DER ECDSA P-256 signature is at most 72 bytes (two 33-byte INTEGERs plus
# headers).  aws-c-auth pads its signature strings to a fixed width with '*'.
_MAX_DER_LEN = 72
_PADDING = "*"
_HEX = re.compile("[0-9A-Fa-f]+")


class _Crypto:
    """The few ``cryptography`` objects we use, imported on first need."""

    __slots__ = ("curve", "ec", "ecdsa_sha256", "invalid_signature")

    def __init__(self) -> None:
        try:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import ec
        except ImportError as exc:  # pragma: no cover - cryptography is a dependency
            raise SigningError(
                "SigV4a needs the 'cryptography' package (ECDSA P-256); "
                "install it with: pip install 'cryptography>=41'"
            ) from exc
        self.ec = ec
        self.curve = ec.SECP256R1()
        # One immutable algorithm object, shared by every sign/verify call.
        self.ecdsa_sha256 = ec.ECDSA(hashes.SHA256())
        self.invalid_signature = InvalidSignature


_crypto: _Crypto | None = None


def _lib() -> _Crypto:
    global _crypto
    c = _crypto
    if c is None:
        c = _crypto = _Crypto()
    return c


# -- Key derivation (NIST SP 800-108 counter mode, as AWS specifies it)
def _check_credentials(access_key_id: str, secret_access_key: str) -> None:
    if not isinstance(access_key_id, str) or not access_key_id:
        raise SigningError("access_key_id must be a non-empty string")
    if not isinstance(secret_access_key, str) or not secret_access_key:
        # Say nothing about the value: it is a secret.
        raise SigningError("secret_access_key must be a non-empty string")


def derive_private_scalar(access_key_id: str, secret_access_key: str) -> int:
    """The private scalar ``d`` of the SigV4a key, uncached (for tests and
    servers that store the scalar; signers use :func:`derive_private_key`)."""
    _check_credentials(access_key_id, secret_access_key)
    # K_IN: "AWS4A" + secret, so SigV4 and SigV4a never share HMAC keys.
    kdf_key = ("AWS4A" + secret_access_key).encode("utf-8")
    # [1] || Label || 0x00 || Context, the Context being the access key id and
    # a one-byte counter: the key is bound to the access key id.
    prefix = _KDF_BLOCK_1 + KDF_LABEL + b"\x00" + access_key_id.encode("utf-8")
    for counter in range(1, _MAX_COUNTER + 1):
        block = hmac.digest(kdf_key, prefix + bytes((counter,)) + _KDF_LENGTH_BITS, "sha256")
        candidate = int.from_bytes(block, "big")
        # Rejection sampling keeps d = c + 1 uniform in [1, n-1] (c mod n would
        # bias it); a retry has probability ~2**-32 and reveals nothing useful.
        if candidate <= P256_ORDER - 2:
            return candidate + 1
    # Unreachable in practice (probability ~2**(-32*254)); AWS fails here too.
    raise SigningError(
        "SigV4a key derivation found no valid P-256 key for these credentials "
        f"after {_MAX_COUNTER} attempts; use another access key"
    )


# Keyed by (access key id, SHA-256 of the secret), so no module-level structure
# a heap dump would show holds the secret; bounded, as credentials rotate.
_KEY_CACHE_MAX = 256
_KEY_CACHE: Memo[tuple[str, bytes], EllipticCurvePrivateKey] = Memo(_KEY_CACHE_MAX)


def _cache_key(access_key_id: str, secret_access_key: str) -> tuple[str, bytes]:
    return access_key_id, hashlib.sha256(secret_access_key.encode("utf-8")).digest()


def derive_private_key(access_key_id: str, secret_access_key: str) -> EllipticCurvePrivateKey:
    """The SigV4a ECDSA P-256 private key of a credential pair, cached: its
    derivation costs far more than a signature."""
    _check_credentials(access_key_id, secret_access_key)
    cache_key = _cache_key(access_key_id, secret_access_key)
    key = _KEY_CACHE.get(cache_key)
    if key is None:
        d = derive_private_scalar(access_key_id, secret_access_key)
        key = _KEY_CACHE.put(cache_key, _lib().ec.derive_private_key(d, _lib().curve))
    return key


def public_key_for(access_key_id: str, secret_access_key: str) -> EllipticCurvePublicKey:
    """The public half of the derived key: what a verifier may store instead of the secret."""
    return derive_private_key(access_key_id, secret_access_key).public_key()


def key_derivation_description(access_key_id: str) -> list[str]:
    """The derivation steps by name, for explanations; never key material."""
    return [
        'K_IN      = "AWS4A" + <secret access key>',
        f'Context   = "{access_key_id}" || counter (one byte, from 0x01)',
        'K(1)      = HMAC-SHA256(K_IN, 0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00'
        " || Context || 0x00000100)",
        "c         = K(1) as a big-endian integer; if c > n-2, counter += 1 and repeat",
        "d         = c + 1   (the P-256 private key, in [1, n-1])",
        "signature = hex(DER(ECDSA-P256(d, SHA-256(string_to_sign))))",
    ]


# -- Sign and verify
def _as_bytes(string_to_sign: bytes | str) -> bytes:
    if isinstance(string_to_sign, bytes):
        return string_to_sign
    if isinstance(string_to_sign, str):
        return string_to_sign.encode("utf-8")
    raise SigningError(f"string_to_sign must be bytes or str, got {type(string_to_sign).__name__}")


def sign_v4a(access_key_id: str, secret_access_key: str, string_to_sign: bytes | str) -> str:
    """Hex of the DER ECDSA P-256 / SHA-256 signature of ``string_to_sign``.

    Randomized: two calls give different signatures, and both verify.
    """
    try:
        key = _KEY_CACHE.get(_cache_key(access_key_id, secret_access_key))
    except AttributeError:  # not a str; derive_private_key says what is wrong
        key = None
    if key is None:
        key = derive_private_key(access_key_id, secret_access_key)
    c = _crypto if _crypto is not None else _lib()
    return key.sign(_as_bytes(string_to_sign), c.ecdsa_sha256).hex()


def verify_v4a(
    public_key: EllipticCurvePublicKey, string_to_sign: bytes | str, signature_hex: str | bytes
) -> bool:
    """Whether ``signature_hex`` is a valid SigV4a signature of ``string_to_sign``.

    A signature comes from the network, so anything malformed is ``False``;
    only a wrong ``public_key`` (a programming error) raises.  Trailing ``*``
    padding, as aws-c-auth emits it, is ignored.
    """
    c = _crypto if _crypto is not None else _lib()
    if not isinstance(public_key, c.ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, c.ec.SECP256R1
    ):
        raise TypeError("public_key must be a P-256 EllipticCurvePublicKey (see load_public_key)")
    if isinstance(signature_hex, bytes):
        try:
            signature_hex = signature_hex.decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(signature_hex, str):
        return False
    sig_hex = signature_hex.rstrip(_PADDING)
    if not sig_hex or len(sig_hex) > 2 * _MAX_DER_LEN or not sig_hex.isascii():
        return False
    try:
        # unhexlify, unlike bytes.fromhex, rejects embedded whitespace.
        der = binascii.unhexlify(sig_hex)
        data = _as_bytes(string_to_sign)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(der, data, c.ecdsa_sha256)
    except (c.invalid_signature, ValueError):
        return False
    return True


# -- Public key import / export
@overload
def export_public_key(public_key: EllipticCurvePublicKey, fmt: Literal["pem"]) -> str: ...
@overload
def export_public_key(
    public_key: EllipticCurvePublicKey, fmt: Literal["xy"]
) -> tuple[str, str]: ...
def export_public_key(
    public_key: EllipticCurvePublicKey, fmt: Literal["pem", "xy"] = "pem"
) -> str | tuple[str, str]:
    """The public key as SubjectPublicKeyInfo PEM, or as ``(x_hex, y_hex)``.

    ``xy`` is the form of aws-c-auth's ``public-key.json``: the uncompressed
    point's coordinates, 64 lowercase hex digits each.
    """
    _lib()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise TypeError("public_key must be an EllipticCurvePublicKey")
    if fmt == "pem":
        pem: bytes = public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode("ascii")
    if fmt == "xy":
        nums = public_key.public_numbers()
        return f"{nums.x:064x}", f"{nums.y:064x}"
    raise SigningError(f"fmt must be 'pem' or 'xy', got {fmt!r}")


def _point_from_xy(x_hex: Any, y_hex: Any) -> EllipticCurvePublicKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    coords: list[int] = []
    for name, h in (("X", x_hex), ("Y", y_hex)):
        if isinstance(h, bytes):
            h = h.decode("ascii", "replace")
        if not isinstance(h, str):
            raise SigningError(f"public key {name} must be a hex string")
        h = h.strip()
        if h[:2] in ("0x", "0X"):
            h = h[2:]
        if not _HEX.fullmatch(h):
            raise SigningError(f"public key {name} is not hex: {h[:80]!r}")
        if len(h) > 64:
            raise SigningError(f"public key {name} is longer than 64 hex digits (32 bytes)")
        coords.append(int(h, 16))
    try:
        return ec.EllipticCurvePublicNumbers(coords[0], coords[1], ec.SECP256R1()).public_key()
    except ValueError:
        raise SigningError("public key (X, Y) is not a point on the P-256 curve") from None


def load_public_key(data: str | bytes | tuple[str, str]) -> EllipticCurvePublicKey:
    """A P-256 public key from PEM, DER, an uncompressed/compressed SEC1 point, or (X, Y) hex.

    Lets a server keep only public keys (for instance ``public-key.json``'s
    X and Y) and still verify SigV4a requests.
    """
    _lib()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise SigningError("an (X, Y) public key needs exactly two hex strings")
        return _point_from_xy(data[0], data[1])
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SigningError(
            "public key must be PEM text, DER/SEC1 bytes or an (X, Y) tuple of hex strings, "
            f"got {type(data).__name__}"
        )
    raw = bytes(data)
    key: object
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(raw)
        elif raw[:1] in (b"\x02", b"\x03", b"\x04") and len(raw) in (33, 65):
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        else:
            key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"cannot load the public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError("the public key is not an ECDSA P-256 (secp256r1) key")
    return key
