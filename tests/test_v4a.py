"""SigV4a primitives: key derivation, ECDSA sign/verify, public key import/export.

Checked against aws-c-auth's published key-derivation vectors and v4a suite
(public keys and randomized signatures), against an independent SP 800-108
implementation (``cryptography``'s KBKDFHMAC) and against awscrt's native
signer.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4kit import v4a
from sigv4kit.errors import SigningError

VECTORS = Path(__file__).parent / "vectors"
SUITE = VECTORS / "aws-sig-v4-test-suite" / "v4a"
EXTRA = json.loads((VECTORS / "aws-c-auth-extra-vectors.json").read_text(encoding="utf-8"))
DERIVATION = EXTRA["sigv4a_key_derivation"]

ALL_CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())
FULL_CASES = [c for c in ALL_CASES if (SUITE / c / "header-string-to-sign.txt").exists()]

SUITE_AKID = "AKIDEXAMPLE"
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
N = v4a.P256_ORDER


def _read(case: str, name: str) -> str:
    return (SUITE / case / name).read_text(encoding="utf-8")


def _context(case: str) -> dict[str, Any]:
    ctx: dict[str, Any] = json.loads(_read(case, "context.json"))
    return ctx


def _kbkdf_candidate(akid: str, secret: str, counter: int) -> int:
    """SP 800-108 counter-mode output from cryptography's own KBKDF, as an integer."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

    kdf = KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=32,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=b"AWS4-ECDSA-P256-SHA256",
        context=akid.encode() + bytes([counter]),
        fixed=None,
    )
    return int.from_bytes(kdf.derive(("AWS4A" + secret).encode()), "big")


# --------------------------------------------------------------------------
# Vectors
# --------------------------------------------------------------------------
def test_vector_files_present() -> None:
    # Guards the parametrizations below against silently collecting nothing.
    assert len(DERIVATION) == 4
    assert len(ALL_CASES) == 40
    assert len(FULL_CASES) == 38
    assert set(ALL_CASES) - set(FULL_CASES) == {
        "get-vanilla-query-order-key",
        "get-vanilla-query-order-value",
    }


@pytest.mark.parametrize("entry", DERIVATION, ids=[e["name"] for e in DERIVATION])
def test_key_derivation_vectors(entry: dict[str, str]) -> None:
    akid, secret = entry["access_key_id"], entry["secret_access_key"]
    key = v4a.derive_private_key(akid, secret)
    d = key.private_numbers().private_value
    assert 1 <= d <= N - 1
    assert d == v4a.derive_private_scalar(akid, secret)
    if "expected_private_key_hex" in entry:
        assert f"{d:064x}" == entry["expected_private_key_hex"]
    x, y = v4a.export_public_key(v4a.public_key_for(akid, secret), "xy")
    if "expected_public_x_hex" in entry:
        assert (x, y) == (entry["expected_public_x_hex"], entry["expected_public_y_hex"])
    assert len(x) == len(y) == 64


def test_every_vector_with_values_is_checked() -> None:
    # Only the long-key entry asserts nothing but success; all others carry values.
    without = [e["name"] for e in DERIVATION if "expected_public_x_hex" not in e]
    assert without == ["long-access-key-id"]


def test_long_access_key_matches_awscrt() -> None:
    """The long-key vector asserts only success upstream; awscrt pins the value.

    awscrt derives the key natively; its signature must verify with our key.
    """
    from awscrt import auth, http

    entry = next(e for e in DERIVATION if e["name"] == "long-access-key-id")
    akid, secret = entry["access_key_id"], entry["secret_access_key"]
    provider = auth.AwsCredentialsProvider.new_static(akid, secret)
    cfg = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        credentials_provider=provider,
        region="us-east-1",
        service="service",
        date=datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc),
    )
    req = http.HttpRequest("GET", "/", http.HttpHeaders([("Host", "example.amazonaws.com")]))
    signed = auth.aws_sign_request(req, cfg).result()
    authz = dict(signed.headers)["Authorization"]
    signature = authz.rpartition("Signature=")[2]
    creq = (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
        "x-amz-region-set:us-east-1\n\nhost;x-amz-date;x-amz-region-set\n"
        + hashlib.sha256(b"").hexdigest()
    )
    sts = (
        "AWS4-ECDSA-P256-SHA256\n20150830T123600Z\n20150830/service/aws4_request\n"
        + hashlib.sha256(creq.encode()).hexdigest()
    )
    assert v4a.verify_v4a(v4a.public_key_for(akid, secret), sts.encode(), signature)
    # A key derived from a truncated access key id must not verify it.
    other = v4a.public_key_for(akid[:64], secret)
    assert not v4a.verify_v4a(other, sts.encode(), signature)


@pytest.mark.parametrize("case", ALL_CASES)
def test_suite_public_key(case: str) -> None:
    ctx = _context(case)
    creds = ctx["credentials"]
    # The two stubs carry the suite's credentials but no public-key.json.
    pub = json.loads(_read(case, "public-key.json")) if case in FULL_CASES else None
    ours = v4a.export_public_key(
        v4a.public_key_for(creds["access_key_id"], creds["secret_access_key"]), "xy"
    )
    expected = (
        (pub["X"], pub["Y"])
        if pub
        else (DERIVATION[2]["expected_public_x_hex"], DERIVATION[2]["expected_public_y_hex"])
    )
    assert ours == expected


def _published_signatures(case: str) -> list[tuple[str, str, str]]:
    """(label, string to sign, signature) for every signature the case publishes."""
    out: list[tuple[str, str, str]] = []
    for kind in ("header", "query"):
        sts = _read(case, f"{kind}-string-to-sign.txt")
        out.append((f"{kind}-signature.txt", sts, _read(case, f"{kind}-signature.txt").strip()))
        signed = _read(case, f"{kind}-signed-request.txt")
        if kind == "header":
            authz = next(line for line in signed.splitlines() if line.startswith("Authorization:"))
            sig = authz.rpartition("Signature=")[2].strip()
        else:
            first = signed.splitlines()[0]
            sig = first.split("X-Amz-Signature=")[1].split("&")[0].split(" ")[0]
        out.append((f"{kind}-signed-request.txt", sts, sig))
    if (SUITE / case / "string-to-sign.txt").exists():
        out.append(
            (
                "header-signature.txt vs string-to-sign.txt",
                _read(case, "string-to-sign.txt"),
                _read(case, "header-signature.txt").strip(),
            )
        )
    return out


@pytest.mark.parametrize("case", FULL_CASES)
def test_suite_published_signatures_verify(case: str) -> None:
    pub = json.loads(_read(case, "public-key.json"))
    key = v4a.load_public_key((pub["X"], pub["Y"]))
    sigs = _published_signatures(case)
    assert len(sigs) >= 4
    for label, sts, sig in sigs:
        assert v4a.verify_v4a(key, sts.encode("utf-8"), sig), label
        # The same signature over the other request's string to sign must fail.
        other = _read(
            case, "query-string-to-sign.txt" if "header" in label else "header-string-to-sign.txt"
        )
        assert not v4a.verify_v4a(key, other.encode("utf-8"), sig), label


@pytest.mark.parametrize("case", FULL_CASES)
def test_suite_strings_to_sign_sign_and_verify(case: str) -> None:
    key = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    for kind in ("header", "query"):
        sts = _read(case, f"{kind}-string-to-sign.txt").encode("utf-8")
        sig = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, sts)
        assert v4a.verify_v4a(key, sts, sig)
        assert not v4a.verify_v4a(key, sts + b"\n", sig)


# --------------------------------------------------------------------------
# The derivation itself, against an independent SP 800-108 implementation
# --------------------------------------------------------------------------
_akid = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0234567", min_size=1, max_size=40)
_secret = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(akid=_akid, secret=_secret)
def test_derivation_equals_kbkdf(akid: str, secret: str) -> None:
    c1 = _kbkdf_candidate(akid, secret, 1)
    expected = c1 + 1 if c1 <= N - 2 else _kbkdf_candidate(akid, secret, 2) + 1
    assert v4a.derive_private_scalar(akid, secret) == expected


def test_rejected_candidate_moves_to_next_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The c > n-2 branch (probability 2**-32 on P-256), forced with a smaller n."""
    secret = "secret/for+rejection"
    for i in range(50):
        akid = f"AKIDREJECT{i}"
        c1, c2, c3 = (_kbkdf_candidate(akid, secret, k) for k in (1, 2, 3))
        if c3 < c2 < c1:
            break
    else:  # pragma: no cover - each try succeeds with probability 1/6
        pytest.fail("no access key with decreasing candidates found")
    # n - 2 = c1 - 1: the first candidate is rejected, the second accepted.
    monkeypatch.setattr(v4a, "P256_ORDER", c1 + 1)
    assert v4a.derive_private_scalar(akid, secret) == c2 + 1
    # n - 2 = c2 - 1: two rejections.
    monkeypatch.setattr(v4a, "P256_ORDER", c2 + 1)
    assert v4a.derive_private_scalar(akid, secret) == c3 + 1


def test_derivation_gives_up_after_254_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v4a, "P256_ORDER", 2)  # n - 2 = 0: no candidate is acceptable
    with pytest.raises(SigningError, match="254") as exc:
        v4a.derive_private_scalar("AKIDEXAMPLE", "very-secret-value")
    assert "very-secret-value" not in str(exc.value)


@pytest.mark.parametrize(("akid", "secret"), [("", "s"), ("AKID", ""), (None, "s"), ("AKID", None)])
def test_derivation_rejects_empty_credentials(akid: Any, secret: Any) -> None:
    with pytest.raises(SigningError):
        v4a.derive_private_key(akid, secret)


def test_secret_never_in_errors_or_descriptions() -> None:
    secret = "TOPSECRET-wJalrXUtnFEMI"
    with pytest.raises(SigningError) as exc:
        v4a.derive_private_key("", secret)
    assert secret not in str(exc.value) and secret not in repr(exc.value)
    text = "\n".join(v4a.key_derivation_description("AKIDEXAMPLE"))
    assert "AKIDEXAMPLE" in text and "AWS4-ECDSA-P256-SHA256" in text
    key = v4a.derive_private_key("AKIDEXAMPLE", secret)
    d = key.private_numbers().private_value
    for shown in (repr(key), str(key), repr(v4a._KEY_CACHE)):
        assert secret not in shown
        assert f"{d:x}" not in shown


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------
def test_cache_returns_same_key_object() -> None:
    k1 = v4a.derive_private_key("AKIDCACHE", "secret-a")
    assert v4a.derive_private_key("AKIDCACHE", "secret-a") is k1
    assert v4a.derive_private_key("AKIDCACHE", "secret-b") is not k1
    assert v4a.derive_private_key("AKIDCACHE2", "secret-a") is not k1


def test_cache_is_bounded() -> None:
    for i in range(v4a._KEY_CACHE_MAX + 20):
        v4a.derive_private_key(f"AKIDBOUND{i}", "secret")
        assert len(v4a._KEY_CACHE) <= v4a._KEY_CACHE_MAX


def test_sign_uses_cache_without_rederiving(monkeypatch: pytest.MonkeyPatch) -> None:
    v4a.derive_private_key("AKIDHOT", "hot-secret")
    calls = []
    real = v4a.derive_private_scalar

    def counting(akid: str, secret: str) -> int:
        calls.append(akid)
        return real(akid, secret)

    monkeypatch.setattr(v4a, "derive_private_scalar", counting)
    pub = v4a.public_key_for("AKIDHOT", "hot-secret")
    for i in range(20):
        msg = f"message {i}".encode()
        assert v4a.verify_v4a(pub, msg, v4a.sign_v4a("AKIDHOT", "hot-secret", msg))
    assert calls == []
    v4a.sign_v4a("AKIDCOLD-unique", "cold-secret", b"x")
    assert calls == ["AKIDCOLD-unique"]


def test_concurrent_signing_threads() -> None:
    errors: list[str] = []
    pubs = {i: v4a.public_key_for(f"AKIDTHREAD{i % 3}", "s") for i in range(3)}

    def work(t: int) -> None:
        for j in range(30):
            i = (t + j) % 3
            msg = f"{t}-{j}".encode()
            sig = v4a.sign_v4a(f"AKIDTHREAD{i}", "s", msg)
            if not v4a.verify_v4a(pubs[i], msg, sig):
                errors.append(f"{t}-{j}")

    v4a._KEY_CACHE.clear()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


# --------------------------------------------------------------------------
# Sign / verify
# --------------------------------------------------------------------------
def test_round_trip_and_randomized() -> None:
    msg = _read("get-vanilla", "header-string-to-sign.txt").encode()
    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    s1 = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, msg)
    s2 = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, msg)
    assert s1 != s2  # ECDSA with random nonces
    for s in (s1, s2):
        der = bytes.fromhex(s)
        assert s == der.hex()  # lowercase hex
        # DER SEQUENCE of two INTEGERs, at most 72 bytes (usually 70-72).
        assert der[0] == 0x30 and der[1] == len(der) - 2 <= 70 and der[2] == 0x02
        assert v4a.verify_v4a(pub, msg, s)
        assert v4a.verify_v4a(pub, msg.decode(), s)  # str is UTF-8 encoded
    assert not v4a.verify_v4a(pub, msg[:-1], s1)
    other = v4a.public_key_for("AKIDOTHER", SUITE_SECRET)
    assert not v4a.verify_v4a(other, msg, s1)


@settings(max_examples=40, deadline=None)
@given(msg=st.binary(max_size=300), flip=st.integers(min_value=0))
def test_round_trip_random_messages(msg: bytes, flip: int) -> None:
    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    sig = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, msg)
    assert v4a.verify_v4a(pub, msg, sig)
    raw = bytearray(bytes.fromhex(sig))
    raw[flip % len(raw)] ^= 1 << (flip // len(raw) % 8)
    assert not v4a.verify_v4a(pub, msg, raw.hex())


def test_padding_and_case() -> None:
    msg = b"padded"
    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    sig = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, msg)
    assert v4a.verify_v4a(pub, msg, sig + "*" * (144 - len(sig)))
    assert v4a.verify_v4a(pub, msg, sig + "****")
    assert v4a.verify_v4a(pub, msg, sig.upper())  # hex digits are case-insensitive
    assert v4a.verify_v4a(pub, msg, sig.encode())  # bytes from a raw header


def _der_int(v: int) -> bytes:
    b = v.to_bytes((v.bit_length() + 8) // 8 or 1, "big")
    return b"\x02" + bytes([len(b)]) + b


def _malformed(sig: str) -> list[Any]:
    raw = bytes.fromhex(sig)
    body = raw[2:]
    return [
        "",
        "*",
        "****",
        "zz",
        sig[:-1],  # odd length
        sig[:-2],  # truncated DER
        sig + "00",  # trailing garbage after the DER sequence
        sig[:10] + " " + sig[10:],  # embedded space
        sig[:10] + "\n" + sig[10:],
        " " + sig,
        sig + " ",
        "*" + sig,  # padding only counts at the end
        sig + "*0",
        sig + "00" * 200,  # far too long
        "é" * 70,
        "０" * 142,  # fullwidth digits are not hex
        (b"\x30\x81" + bytes([len(body)]) + body).hex(),  # BER long-form length, not DER
        (b"\x30\x06" + _der_int(0) + _der_int(1)).hex(),  # r = 0
        (b"\x30\x06" + _der_int(1) + _der_int(0)).hex(),  # s = 0
        (b"\x30\x26" + _der_int(N) + _der_int(1)).hex(),  # r = n
        ("31" + sig[2:]),  # SET instead of SEQUENCE
        None,
        123,
        ["30"],
        b"\xff\xfe",
    ]


def test_malformed_signatures_are_false_not_errors() -> None:
    msg = b"malformed"
    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    sig = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, msg)
    assert v4a.verify_v4a(pub, msg, sig)  # the control really verifies
    for bad in _malformed(sig):
        assert v4a.verify_v4a(pub, msg, bad) is False, repr(bad)


@settings(max_examples=200, deadline=None)
@given(
    sig=st.one_of(st.text(max_size=200), st.text(alphabet="0123456789abcdefABCDEF*", max_size=150))
)
def test_arbitrary_signature_text_never_raises(sig: str) -> None:
    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    assert v4a.verify_v4a(pub, b"anything", sig) is False


def test_verify_rejects_wrong_key_type() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(TypeError):
        v4a.verify_v4a(p384, b"x", "3006020101020101")
    with pytest.raises(TypeError):
        v4a.verify_v4a("not a key", b"x", "3006020101020101")  # type: ignore[arg-type]


def test_sign_rejects_non_bytes() -> None:
    with pytest.raises(SigningError):
        v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, 42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Public key export / import
# --------------------------------------------------------------------------
def test_export_and_load_round_trip() -> None:
    from cryptography.hazmat.primitives import serialization

    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    pem = v4a.export_public_key(pub, "pem")
    assert isinstance(pem, str) and pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    xy = v4a.export_public_key(pub, "xy")
    suite = json.loads(_read("get-vanilla", "public-key.json"))
    assert xy == (suite["X"], suite["Y"])
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    point = pub.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    compressed = pub.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    msg = b"verify with a loaded key"
    sig = v4a.sign_v4a(SUITE_AKID, SUITE_SECRET, msg)
    sources: list[Any] = [
        pem,
        pem.encode(),
        xy,
        list(xy),
        der,
        point,
        compressed,
        (xy[0].upper(), "0x" + xy[1]),
    ]
    for src in sources:
        loaded = v4a.load_public_key(src)
        assert v4a.export_public_key(loaded, "xy") == xy
        assert v4a.verify_v4a(loaded, msg, sig)


def test_export_xy_pads_to_64_digits() -> None:
    # Find a key whose X has a leading zero nibble, so padding is exercised.
    for i in range(200):
        x, y = v4a.export_public_key(v4a.public_key_for(f"AKIDPAD{i}", "s"), "xy")
        assert len(x) == len(y) == 64 and x == x.lower() and y == y.lower()
        if x.startswith("0"):
            break
    else:  # pragma: no cover - probability (15/16)**200
        pytest.fail("no key with a leading zero digit found")
    assert v4a.load_public_key((x.lstrip("0"), y)).public_numbers().x == int(x, 16)


def test_export_rejects_unknown_format() -> None:
    pub = v4a.public_key_for(SUITE_AKID, SUITE_SECRET)
    with pytest.raises(SigningError):
        v4a.export_public_key(pub, "jwk")  # type: ignore[call-overload]


def test_load_rejects_bad_keys() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    x, y = v4a.export_public_key(v4a.public_key_for(SUITE_AKID, SUITE_SECRET), "xy")
    p384_pem = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    ed_pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bad: list[Any] = [
        (x, f"{(int(y, 16) + 1) % 2**256:064x}"),  # not on the curve
        (x,),
        (x, y, y),
        ("zz", y),
        (x, "1" * 66),
        (1, 2),
        p384_pem,
        ed_pem,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"\x04" + b"\x00" * 64,
        b"not a key",
        12,
    ]
    for item in bad:
        with pytest.raises(SigningError):
            v4a.load_public_key(item)


# --------------------------------------------------------------------------
# Lazy import of cryptography
# --------------------------------------------------------------------------
def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_sigv4kit_does_not_load_cryptography() -> None:
    r = _run("import sigv4kit, sys; assert 'cryptography' not in sys.modules")
    assert r.returncode == 0, r.stderr
    r = _run("import sigv4kit.v4a, sys; assert 'cryptography' not in sys.modules")
    assert r.returncode == 0, r.stderr


def test_v4a_use_loads_cryptography() -> None:
    # Positive control: the probe above can see cryptography when it is loaded.
    r = _run(
        "import sys; from sigv4kit import v4a; v4a.sign_v4a('AKID', 's', b'x'); "
        "assert 'cryptography' in sys.modules"
    )
    assert r.returncode == 0, r.stderr


def test_sigv4_signing_does_not_load_cryptography() -> None:
    probe = _run("import sigv4kit.signer")
    if probe.returncode != 0 and "No module named 'sigv4kit.signer'" in probe.stderr:
        pytest.skip("sigv4kit.signer is not written yet")
    code = """
import sys
from sigv4kit import Credentials, Signer
s = Signer(Credentials('AKIDEXAMPLE', 'secret'), region='us-east-1', service='s3')
r = s.sign('GET', 'https://b.s3.amazonaws.com/k?x=1', headers={'X-A': 'b'}, body=b'abc',
           timestamp='20150830T123600Z')
assert r.signature and len(r.signature) == 64, r.signature
u = s.presign('GET', 'https://b.s3.amazonaws.com/k', expires=60, timestamp='20150830T123600Z')
assert 'X-Amz-Signature=' in u
assert 'cryptography' not in sys.modules, sorted(m for m in sys.modules if 'crypt' in m)
s4a = Signer(Credentials('AKIDEXAMPLE', 'secret'), region='us-east-1', service='s3',
             algorithm='sigv4a', region_set=['*'])
s4a.sign('GET', 'https://b.s3.amazonaws.com/k', timestamp='20150830T123600Z')
assert 'cryptography' in sys.modules
"""
    r = _run(code)
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------
# The benchmark stays runnable (its own correctness checks and the
# no-derivation-per-request check run in quick mode).
# --------------------------------------------------------------------------
def test_benchmark_smoke() -> None:
    bench = Path(__file__).parent.parent / "benchmarks" / "bench_v4a.py"
    r = subprocess.run(
        [sys.executable, str(bench), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "derivations during timed signing" in r.stdout
    assert "awscrt V4a prebuilt" in r.stdout
