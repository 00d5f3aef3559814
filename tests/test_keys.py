"""sigv4kit.keys, from tables: the signing-key derivation against AWS's
published example and against hmac, the precomputed HMAC, the cache, and
that no key material shows in a repr."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from sigv4kit.keys import HmacKey, derive_signing_key, key_chain_description, signing_key

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _reference(secret: str, date: str, region: str, service: str) -> bytes:
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


# (secret, date, region, service, expected hex or None = compare with the reference)
DERIVATIONS = [
    # AWS's example in "Deriving the signing key" (IAM, us-east-1, 2015-08-30).
    (
        SECRET,
        "20150830",
        "us-east-1",
        "iam",
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
    ),
    (SECRET, "20130524", "us-east-1", "s3", None),
    ("", "20240229", "eu-west-1", "execute-api", None),
    ("ünïcödé/secret+=", "20991231", "ap-southeast-2", "s3", None),
]


@pytest.mark.parametrize(("secret", "date", "region", "service", "expected"), DERIVATIONS)
def test_derive_signing_key(
    secret: str, date: str, region: str, service: str, expected: str | None
) -> None:
    key = derive_signing_key(secret, date, region, service)
    assert key == _reference(secret, date, region, service)
    if expected is not None:
        assert key.hex() == expected


MESSAGES = [b"", b"AWS4-HMAC-SHA256\n20150830T123600Z\n", b"x" * 10_000]


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("key", [b"short", b"k" * 64, b"long" * 40])
def test_hmac_key_matches_hmac(key: bytes, message: bytes) -> None:
    ours = HmacKey(key)
    assert ours.digest(message) == hmac.new(key, message, hashlib.sha256).digest()
    assert ours.hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_signing_key_is_cached_and_signs_like_the_derived_key() -> None:
    a = signing_key(SECRET, "20150830", "us-east-1", "iam")
    assert signing_key(SECRET, "20150830", "us-east-1", "iam") is a
    assert signing_key(SECRET, "20150831", "us-east-1", "iam") is not a
    raw = derive_signing_key(SECRET, "20150830", "us-east-1", "iam")
    assert a.hexdigest(b"m") == hmac.new(raw, b"m", hashlib.sha256).hexdigest()


def test_no_key_material_in_reprs() -> None:
    key = signing_key(SECRET, "20150830", "us-east-1", "iam")
    raw = derive_signing_key(SECRET, "20150830", "us-east-1", "iam")
    assert raw.hex() not in repr(key) and SECRET not in repr(key)
    assert "hidden" in repr(key)


def test_key_chain_names_the_steps_without_values() -> None:
    chain = key_chain_description("20150830", "us-east-1", "iam")
    text = "\n".join(chain)
    assert "20150830" in text and "us-east-1" in text and "iam" in text
    assert SECRET not in text


def test_hmac_key_states_are_the_pad_states() -> None:
    """What the verifier's fast road does with ``states()`` (copy each, feed
    the message, then the inner digest) is HMAC, and leaves the key as it was."""
    key = HmacKey(b"k" * 32)
    inner, outer = key.states()
    for message in (b"", b"abc", b"m" * 200):
        i = inner.copy()
        i.update(message)
        o = outer.copy()
        o.update(i.digest())
        assert o.hexdigest() == hmac.new(b"k" * 32, message, hashlib.sha256).hexdigest()
        assert key.hexdigest(message) == o.hexdigest()
