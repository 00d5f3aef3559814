"""The fast road against the general road over many generated requests.

tests/test_verifier_fast.py holds the fast road (sigv4kit.verify.fast) to its
two rules case by case; here the same rules are checked over requests built
from random choices, with the edge cases of its shortcuts mixed in: values to
trim (and values that only look like it), one signed header or many, names
holding ``%`` (the canonical request is built with ``%`` formatting), unsigned
headers common and not, x-amz-* or only containing the text, dict headers,
values that are not str or too long together, lone surrogates, signatures that
are not hex, not ASCII or hold a comma, SignedHeaders not canonical, and a
key that changes under the same parameters.

Rules: what the fast road accepts, the general road accepts with the same
result; every request the general road refuses, the fast road leaves to it
(None); and the requests it is built for (a repeated header-signed or
presigned SigV4 request with str headers) it does take.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urlsplit

import pytest

from sigv4kit import Credentials, Signer, Verifier
from sigv4kit.errors import SignatureError, SigningError
from sigv4kit.verify.fast import fast_verify
from sigv4kit.verify.flow import drive_sync, verification
from sigv4kit.verify.request import MEMO_NAME_LENGTH
from sigv4kit.verify.result import VerifiedRequest
from test_verifier_fast import _fields  # what a verified request is compared by

AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AK2, SK2 = "AKIDOTHER", "otherSecretKeyotherSecretKeyotherSecret0"
NOW = 1700000000.0
HOST = "examplebucket.s3.amazonaws.com"

# Values that need trimming, that only look like it, and plain ones.
VALUES = [
    "plain",
    "two  spaces",
    "\ttab first",
    "tab\tinside",
    " leading",
    "trailing ",
    "one space",
    "text/plain; charset=utf-8",
    "a:  b",
    "%s%d%%",
    "x" * 300,
    "",
]
# Extra signed names: common ones, x-amz-*, and one holding "%".
SIGNED = ["content-type", "range", "x-amz-meta-a", "x-amz-meta-%s", "if-match", "x-custom"]
# Names sent unsigned after signing: (name, the general road refuses it).
UNSIGNED = [
    ("User-Agent", False),
    ("Accept", False),
    ("X-Forwarded-For", False),
    ("X-Trace-Thing", False),
    ("A-X-Amz-B", False),  # holds the text x-amz- but is not an x-amz-* header
    ("X-Amzn-Trace-Id", False),
    ("X-Amz-Meta-Evil", True),
    ("X-Amz-Acl", True),
]


def _target(url: str) -> str:
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def _general(vr: Verifier, req: tuple[Any, ...]) -> Any:
    return drive_sync(vr, verification(vr, (*req, NOW), True))


def _outcome(vr: Verifier, req: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "ok", _fields(_general(vr, req))
    except (SignatureError, SigningError) as exc:
        return "error", type(exc)


def _check(vr: Verifier, req: tuple[Any, ...], *, taken: bool | None = None) -> tuple[str, Any]:
    """The two rules for one request (the general road first: it fills the
    memos the fast road reads); ``taken`` also says whether the fast road
    must take it (True) or leave it (False)."""
    general = _outcome(vr, req)
    fast = fast_verify(vr, (*req, NOW))
    if fast is None:
        assert taken is not True, f"the fast road left {req!r}"
    else:
        assert taken is not False, f"the fast road took {req!r}"
        assert type(fast) is VerifiedRequest
        assert general[0] == "ok", f"the fast road accepted a refusal: {req!r} -> {general}"
        assert _fields(fast) == general[1]
    return general


def _header_request(rng: random.Random) -> tuple[tuple[Any, ...], bool, bool]:
    """A signed request, whether the fast road must take it, whether the
    general road must accept it."""
    method = rng.choice(["GET", "HEAD", "PUT", "DELETE"])
    body = b"body bytes" if method == "PUT" and rng.random() < 0.5 else b""
    headers = [(name, rng.choice(VALUES)) for name in rng.sample(SIGNED, rng.randint(0, 3))]
    signer = Signer(Credentials(AK, SK), "us-east-1", "s3")
    path = rng.choice(["/a/b.txt", "/photos/a%20b.txt", "/k?versionId=3", "/k?list-type=2&x=%41"])
    signed = signer.sign(method, f"https://{HOST}{path}", headers, body, timestamp=NOW)
    sent = list(signed.headers)
    refused = False
    for name, bad in rng.sample(UNSIGNED, rng.randint(0, 3)):
        sent.append((name, rng.choice(VALUES)))
        refused |= bad
    rng.shuffle(sent)
    if rng.random() < 0.3:
        sent = [(n.lower() if rng.random() < 0.5 else n.upper(), v) for n, v in sent]
    return (method, _target(signed.url), sent, body), not refused, not refused


def test_generated_header_requests() -> None:
    rng = random.Random(14)
    vr = Verifier({AK: SK}, "us-east-1", "s3")
    taken = 0
    for _ in range(400):
        req, fast_ok, accepted = _header_request(rng)
        _check(vr, req)  # the first time: memos filled on the general road
        general = _check(vr, req, taken=fast_ok)
        assert (general[0] == "ok") == accepted, (req, general)
        taken += fast_ok
        # The same request as a dict of headers, when no name repeats.
        m, t, h, b = req
        as_dict = dict(h)
        if len(as_dict) == len(h):
            _check(vr, (m, t, as_dict, b), taken=fast_ok)
    assert taken > 200


def _presigned_request(rng: random.Random) -> tuple[tuple[Any, ...], bool]:
    signer = Signer(Credentials(AK, SK), "us-east-1", "s3")
    headers = [(name, rng.choice(VALUES)) for name in rng.sample(SIGNED, rng.randint(0, 2))]
    url = signer.presign(
        "GET", f"https://{HOST}/a/b.txt", headers=headers, expires=600, timestamp=NOW
    )
    # Host is the one signed name of most presigned URLs: sent with spaces
    # to trim, or not.
    host = rng.choice([HOST, f" {HOST}", f"{HOST}  ", f"\t{HOST}"])
    sent = [("Host", host), *headers]
    refused = False
    for name, bad in rng.sample(UNSIGNED, rng.randint(0, 2)):
        sent.append((name, rng.choice(VALUES)))
        refused |= bad
    return ("GET", _target(url), sent, b""), not refused


def test_generated_presigned_requests() -> None:
    rng = random.Random(1414)
    vr = Verifier({AK: SK}, "us-east-1", "s3")
    for _ in range(200):
        req, accepted = _presigned_request(rng)
        _check(vr, req)
        general = _check(vr, req, taken=accepted)
        assert (general[0] == "ok") == accepted, (req, general)


def _base() -> tuple[Verifier, tuple[Any, ...]]:
    vr = Verifier({AK: SK}, "us-east-1", "s3")
    signer = Signer(Credentials(AK, SK), "us-east-1", "s3")
    signed = signer.sign("GET", f"https://{HOST}/a", [("Range", "bytes=0-9")], timestamp=NOW)
    req = ("GET", "/a", list(signed.headers), b"")
    _check(vr, req)  # fills the memos
    _check(vr, req, taken=True)
    return vr, req


def _replace(req: tuple[Any, ...], name: str, value: Any) -> tuple[Any, ...]:
    m, t, h, b = req
    return m, t, [(n, value if n.lower() == name else v) for n, v in h], b


def _auth(req: tuple[Any, ...]) -> str:
    return str(dict(req[2])["Authorization"])


def test_values_the_fast_road_leaves() -> None:
    vr, req = _base()
    # Not str: bytes (the general road decodes them) and an int (it refuses).
    assert _check(vr, _replace(req, "range", b"bytes=0-9"), taken=False)[0] == "ok"
    assert _check(vr, _replace(req, "range", 9), taken=False)[0] == "error"
    # A lone surrogate in a signed value: no UTF-8 form, no match.
    assert _check(vr, _replace(req, "range", "bytes=\udc80"), taken=False)[0] == "error"
    # A str subclass is a str: taken, with the general road's result.
    assert _check(vr, _replace(req, "range", type("S", (str,), {})("bytes=0-9")), taken=True)
    # Values too long together (each one within the limit): the general road tells.
    # (The fast road allows the values MEMO_NAME_LENGTH less than the limit.)
    limit = sum(len(v) for _, v in req[2]) + MEMO_NAME_LENGTH + 10
    small = Verifier({AK: SK}, "us-east-1", "s3", max_header_length=limit)
    _check(small, req)
    assert _check(small, req, taken=True)[0] == "ok"
    long_ua = (*req[:2], [*req[2], ("User-Agent", "u" * 100)], req[3])
    assert _check(small, long_ua, taken=False)[0] == "ok"


def test_signatures_the_fast_road_leaves() -> None:
    vr, req = _base()
    auth = _auth(req)
    signature = auth.rpartition("Signature=")[2]
    for bad, accepted in (
        (signature.upper(), False),  # hex, but not the signer's lowercase: S3 refuses it too
        (signature[:-1] + "é", False),  # not ASCII: compare_digest would raise
        (signature + ", SignedHeaders=host", False),  # a comma: the whole header is parsed
        (signature + " ", True),  # a space: the whole header is parsed (and trimmed)
        ("", False),
    ):
        prefix = auth.rpartition("Signature=")[0]
        bad_req = _replace(req, "authorization", prefix + "Signature=" + bad)
        assert _check(vr, bad_req, taken=False)[0] == ("ok" if accepted else "error")


def test_signed_headers_not_canonical() -> None:
    vr, req = _base()
    auth = _auth(req)
    for signed in (
        "x-amz-date;host;range;x-amz-content-sha256",
        "host;range;range;x-amz-date",
        "Host;range;x-amz-date",
    ):
        text = auth.replace("host;range;x-amz-content-sha256;x-amz-date", signed)
        bad = _replace(req, "authorization", text)
        _check(vr, bad)
        assert _check(vr, bad, taken=False)[0] == "error"


def test_a_changed_key_is_used() -> None:
    """The fast road keeps the day's key per looked-up value: a new secret
    under the same parameters is looked up and used, the old one refused."""
    secrets = {AK: SK}
    vr = Verifier(secrets, "us-east-1", "s3")

    def signed(secret: str, akid: str = AK) -> tuple[Any, ...]:
        s = Signer(Credentials(akid, secret), "us-east-1", "s3")
        return ("GET", "/a", list(s.sign("GET", f"https://{HOST}/a", timestamp=NOW).headers), b"")

    old, new = signed(SK), signed(SK2)
    _check(vr, old)
    assert _check(vr, old, taken=True)[0] == "ok"
    secrets[AK] = SK2
    assert _check(vr, old, taken=False)[0] == "error"
    assert _check(vr, new, taken=True)[0] == "ok"
    # Two keys in turn: each request gets its own key.
    secrets[AK2] = SK
    other = signed(SK, AK2)
    _check(vr, other)
    for _ in range(3):
        assert _check(vr, new, taken=True)[0] == "ok"
        assert _check(vr, other, taken=True)[0] == "ok"


@pytest.mark.parametrize("name", ["x-odd%name", "x-%s", "%%"])
def test_signed_names_holding_percent(name: str) -> None:
    vr = Verifier({AK: SK}, "us-east-1", "s3")
    s = Signer(Credentials(AK, SK), "us-east-1", "s3")
    signed = s.sign("GET", f"https://{HOST}/a", [(name, "%s %d")], timestamp=NOW)
    req = ("GET", "/a", list(signed.headers), b"")
    _check(vr, req)
    assert _check(vr, req, taken=True)[0] == "ok"


@pytest.mark.parametrize("signed", [False, True])
def test_transfer_encoding_is_left(signed: bool) -> None:
    """A chunked body: the general road reads it; Transfer-Encoding sent
    unsigned or signed, the fast road leaves the request to it."""
    vr = Verifier({AK: SK}, "us-east-1", "s3")
    s = Signer(Credentials(AK, SK), "us-east-1", "s3", skipped_headers=())
    te = [("Transfer-Encoding", "chunked")]
    signed_req = s.sign("PUT", f"https://{HOST}/a", te if signed else [], b"", timestamp=NOW)
    sent = list(signed_req.headers) + ([] if signed else te)
    if signed:
        assert "transfer-encoding" in dict(signed_req.headers)["Authorization"]
    req = ("PUT", "/a", sent, b"")
    _check(vr, req)
    _check(vr, req, taken=False)
