"""Secrets at rest: AES-256-GCM under one master key.

Each secret is sealed as ``0x01 || nonce (12 bytes) || ciphertext+tag`` with
the access key id as associated data, so a ciphertext copied onto another
row does not decrypt: a database thief learns key ids and names, never a
secret.  The store keeps the master key's *id* (an HMAC of the key, not the
key) so a wrong or missing master key is reported plainly before any secret
is touched.

Where the master key comes from, first match wins:

1. the ``master_key`` argument (32 bytes, or their base64/hex text);
2. ``$SIGV4KIT_MASTER_KEY``: the key itself, base64 or 64 hex digits;
3. ``$SIGV4KIT_MASTER_KEY_FILE``: a file holding it;
4. ``${XDG_CONFIG_HOME:-~/.config}/sigv4kit/master.key``.

When none exists and the store is new, a key is generated and written to
the file of 3 (or 4), mode 0600: every node that opens the store needs a
copy of it, and losing it loses every secret in the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..errors import InvalidMasterKey

__all__ = ["MasterKey", "default_master_key_path"]

_VERSION = b"\x01"
_AAD_PREFIX = b"sigv4kit-key:"


def default_master_key_path() -> Path:
    env = os.environ.get("SIGV4KIT_MASTER_KEY_FILE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sigv4kit" / "master.key"


def _decode(text: str | bytes, where: str) -> bytes:
    if isinstance(text, bytes):
        if len(text) == 32:
            return text
        text = text.decode("ascii", "replace")
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    padded = text + "=" * (-len(text) % 4)
    for altchars in (None, b"-_"):  # standard, then URL-safe base64
        if raw is not None:
            break
        try:
            raw = base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise InvalidMasterKey(
            f"the master key in {where} is not 32 bytes in base64 or hex; "
            "create one with: python -c 'import secrets,base64;"
            "print(base64.b64encode(secrets.token_bytes(32)).decode())'"
        )
    return raw


class MasterKey:
    """A 256-bit AES-GCM key; its bytes never appear in a repr."""

    __slots__ = ("_aead", "_key", "key_id", "source")

    def __init__(self, key: bytes, source: str = "argument") -> None:
        if len(key) != 32:
            raise InvalidMasterKey("a master key is exactly 32 bytes")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._key = key
        self._aead = AESGCM(key)
        #: A public fingerprint of the key, stored beside the secrets.
        self.key_id = hmac.new(key, b"sigv4kit master key id", hashlib.sha256).hexdigest()[:16]
        self.source = source

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r}, source={self.source!r})"

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(32), "generated")

    @classmethod
    def parse(cls, text: str | bytes, where: str = "argument") -> MasterKey:
        return cls(_decode(text, where), where)

    @classmethod
    def from_environment(cls) -> MasterKey | None:
        """The key from ``$SIGV4KIT_MASTER_KEY`` or the key file, None when neither exists."""
        env = os.environ.get("SIGV4KIT_MASTER_KEY")
        if env:
            return cls.parse(env, "$SIGV4KIT_MASTER_KEY")
        path = default_master_key_path()
        if path.is_file():
            return cls.parse(path.read_text("ascii", "replace"), str(path))
        return None

    def save(self, path: Path | None = None) -> Path:
        """Write the key (base64) to ``path`` (default: the key file), owner-only."""
        path = path or default_master_key_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.b64encode(self._key).decode("ascii") + "\n")
        self.source = str(path)
        return path

    def encrypt(self, access_key_id: str, secret: str) -> bytes:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(
            nonce, secret.encode("utf-8"), _AAD_PREFIX + access_key_id.encode()
        )
        return _VERSION + nonce + sealed

    def decrypt(self, access_key_id: str, blob: bytes) -> str:
        from cryptography.exceptions import InvalidTag

        blob = bytes(blob)
        if blob[:1] != _VERSION or len(blob) < 1 + 12 + 16:
            raise InvalidMasterKey(f"key {access_key_id}: the stored secret has an unknown format")
        try:
            plain = self._aead.decrypt(blob[1:13], blob[13:], _AAD_PREFIX + access_key_id.encode())
        except InvalidTag:
            raise InvalidMasterKey(
                f"key {access_key_id}: the stored secret does not decrypt with master key "
                f"{self.key_id} (wrong master key, or the row was tampered with)"
            ) from None
        return plain.decode("utf-8")


def resolve_master_key(
    given: MasterKey | str | bytes | None, stored_key_id: str | None, *, store: str
) -> tuple[MasterKey, bool]:
    """The master key for a store, and whether it was just created (store is new).

    ``stored_key_id`` is the id the store recorded (None: a new store).
    """
    if isinstance(given, MasterKey):
        key: MasterKey | None = given
    elif given is not None:
        key = MasterKey.parse(given)
    else:
        key = MasterKey.from_environment()
    if key is None:
        if stored_key_id is not None:
            raise InvalidMasterKey(
                f"the secrets in {store} are encrypted with master key {stored_key_id}; set "
                "$SIGV4KIT_MASTER_KEY (or $SIGV4KIT_MASTER_KEY_FILE) to that key, or put it in "
                f"{default_master_key_path()}"
            )
        key = MasterKey.generate()
        try:
            path = key.save()
        except FileExistsError:
            # Another process created the key file first (two nodes starting
            # on a new store): use that one.
            existing = MasterKey.from_environment()
            if existing is None:
                raise
            return existing, False
        import logging

        logging.getLogger("sigv4kit.keystore").warning(
            "created a new master key for %s in %s: copy it to every node that opens this "
            "store and back it up; without it no secret in the store can be read",
            store,
            path,
        )
        return key, True
    if stored_key_id is not None and key.key_id != stored_key_id:
        raise InvalidMasterKey(
            f"the master key from {key.source} (id {key.key_id}) is not the one {store} was "
            f"created with (id {stored_key_id}); use that store's master key"
        )
    return key, False
