"""The probe's pure parts: verdicts, bisection, profiles, fallback (no server)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sigv4kit.probe import PROFILES, ModeMemory, Step, is_mode_rejection, next_mode, profile_for
from sigv4kit.probe.profiles import endpoint_key, load_user_profiles, save_user_profile
from sigv4kit.probe.verdict import (
    CAPABILITIES,
    Bisect,
    ProbeReport,
    Verdict,
    advice,
    judge_read,
    judge_upload,
    looks_like_chunk_framing,
    recommended_profile,
)

DATA = bytes(range(256)) * 300


def test_capabilities_are_designs_list() -> None:
    assert len(CAPABILITIES) == 17 and len(set(CAPABILITIES)) == 17
    for name in CAPABILITIES:
        assert advice(name)


def test_upload_verdicts() -> None:
    assert judge_upload(200, None, None, 200, DATA, DATA).ok is True
    v = judge_upload(501, "NotImplemented", "aws-chunked not supported", None, None, DATA)
    assert (v.ok, v.code, v.detail) == (False, "NotImplemented", "aws-chunked not supported")
    assert judge_upload(400, None, "", None, None, DATA).code == "HTTP400"
    framed = b"10000;chunk-signature=" + b"a" * 64 + b"\r\n" + DATA[:65536] + b"\r\n"
    v = judge_upload(200, None, None, 200, framed, DATA)
    assert (v.ok, v.code) == (False, "StoredChunkFraming")
    assert judge_upload(200, None, None, 200, DATA[:-1], DATA).code == "ContentMismatch"
    assert judge_upload(200, None, None, 404, None, DATA).code == "ReadBackFailed"
    assert looks_like_chunk_framing(b"4\r\nabcd\r\n0\r\n\r\n")
    assert not looks_like_chunk_framing(DATA)


def test_read_verdict() -> None:
    assert judge_read(204, None, None, "ok") == Verdict(True, None, "ok")
    assert judge_read(403, "AccessDenied", "no\nmore", "ok") == Verdict(False, "AccessDenied", "no")


@pytest.mark.parametrize("limit", [1, 2, 900, 3600, 604799, 604800])
def test_bisect_finds_the_edge(limit: int) -> None:
    b = Bisect(1, 604800)
    tries = 0
    while (v := b.next()) is not None:
        b.feed(v <= limit)
        tries += 1
    assert b.result == limit
    assert tries <= 21


def test_report_json_shape_and_table() -> None:
    r = ProbeReport("http://h")
    r.results["streaming"] = Verdict(False, "NotImplemented", "no chunks")
    r.max_presign_expires = 604800
    j = r.as_json()
    assert list(j) == ["endpoint", "results", "max_presign_expires", "skew_window_seconds"]
    assert list(j["results"]) == list(CAPABILITIES)
    assert j["results"]["header-signed"] == {"ok": None, "code": None, "detail": "not tested"}
    table = r.table()
    assert "NotImplemented: no chunks" in table and advice("streaming") in table
    assert "604800 s (7 days)" in table


def test_profiles_table() -> None:
    want = {"aws", "cloudflare-r2", "backblaze-b2", "gcs", "minio", "ceph-rgw", "garage",
            "seaweedfs", "wasabi", "oracle-oci", "digitalocean-spaces"}  # fmt: skip
    assert want <= set(PROFILES)
    for p in PROFILES.values():
        assert p.addressing in ("path", "virtual")
        assert p.checksums in ("always", "when_required")
        assert p.upload_modes and 0 < p.max_presign_expires <= 604800
    assert PROFILES["cloudflare-r2"].region == "auto"
    assert PROFILES["garage"].region == "garage"


def test_profile_for_host_provider_and_saved(tmp_path: Path) -> None:
    none: dict[str, object] = {}
    r2 = profile_for("https://acct.r2.cloudflarestorage.com", saved=none)  # type: ignore[arg-type]
    assert r2.name == "cloudflare-r2"
    b2 = profile_for("https://s3.eu-central-003.backblazeb2.com", saved={})
    assert (b2.name, b2.region) == ("backblaze-b2", "eu-central-003")
    assert profile_for("https://bucket.s3.eu-west-1.amazonaws.com", saved={}).region == "eu-west-1"
    assert profile_for("http://127.0.0.1:9000", saved={}).name == "generic"
    assert profile_for("http://127.0.0.1:9000", "minio", saved={}).name == "minio"
    with pytest.raises(ValueError, match="unknown provider"):
        profile_for("http://x", "nope", saved={})
    path = tmp_path / "p.toml"
    mine = replace(PROFILES["generic"], upload_modes=("signed",), measured={"streaming": False})
    save_user_profile("http://127.0.0.1:9000/ignored/path", mine, path)
    save_user_profile("https://other:1", PROFILES["minio"], path)
    saved = load_user_profiles(path)
    assert set(saved) == {"http://127.0.0.1:9000", "https://other:1"}
    got = profile_for("http://127.0.0.1:9000/bucket/key", "minio", saved=saved)
    assert got.upload_modes == ("signed",) and got.measured == {"streaming": False}
    assert endpoint_key("HTTP://Host:1/x?y") == "http://host:1"


def test_recommended_profile_drops_the_noes() -> None:
    r = ProbeReport("http://h")
    for name in CAPABILITIES:
        r.results[name] = Verdict(True, None, "")
    r.results["streaming-unsigned-trailer"] = Verdict(False, "NotImplemented", "")
    r.results["path-style"] = Verdict(False, "X", "")
    r.max_presign_expires = 3600
    p = recommended_profile(PROFILES["generic"], r)
    assert "streaming-unsigned-trailer" not in p.upload_modes
    assert p.upload_modes[0] == "streaming-trailer"
    assert (p.checksums, p.addressing, p.max_presign_expires) == ("when_required", "virtual", 3600)


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (501, "NotImplemented", "A header implies functionality that is not implemented", True),
        (400, "InvalidArgument", "aws-chunked encoding is not supported", True),
        (400, None, "Unsupported header 'x-amz-checksum-crc32' received", True),
        (400, "InvalidRequest", "x-amz-trailer is not allowed", True),
        (403, "SignatureDoesNotMatch", "checksum not supported", False),
        (403, "AccessDenied", "Access Denied", False),
        (400, "BadDigest", "The CRC32 you specified did not match", False),
        (500, "InternalError", "We encountered an internal error", False),
    ],
)  # fmt: skip
def test_mode_rejections(status: int, code: str | None, message: str, expected: bool) -> None:
    assert is_mode_rejection(status, code, message) is expected


def test_next_mode_ladder() -> None:
    generic = PROFILES["generic"]
    refuse = (501, "NotImplemented", "not implemented")
    assert next_mode(generic, "streaming-unsigned-trailer", *refuse) == Step(
        "streaming-trailer", True, "501 NotImplemented: retrying with streaming-trailer instead "
        "of streaming-unsigned-trailer"
    )  # fmt: skip
    step = next_mode(generic, "streaming-trailer", *refuse, checksum=True)
    assert step is not None and (step.payload, step.checksum) == ("streaming", False)
    step = next_mode(generic, "streaming", *refuse)
    assert step is not None and step.payload == "unsigned"
    step = next_mode(generic, "streaming", *refuse, secure=False)
    assert step is not None and step.payload == "signed"
    assert next_mode(generic, "signed", *refuse) is None
    # A refused checksum header: same mode, no checksum.
    step = next_mode(generic, "signed", 501, "NotImplemented", "Header 'x-amz-checksum-crc32' "
                     "with value is not implemented", checksum=True)  # fmt: skip
    assert step is not None and (step.payload, step.checksum) == ("signed", False)
    # Not a mode problem: no retry.
    assert next_mode(generic, "streaming", 403, "SignatureDoesNotMatch", "x") is None
    # The profile's ladder decides: R2 has no aws-chunked at all.
    step = next_mode(PROFILES["cloudflare-r2"], "streaming", *refuse)
    assert step is not None and step.payload == "unsigned"
    # A profile with "always" checksums keeps the checksum on a single-shot retry.
    step = next_mode(PROFILES["minio"], "streaming-trailer", *refuse, checksum=True)
    assert step is not None and (step.payload, step.checksum) == ("streaming", True)


def test_mode_memory() -> None:
    m = ModeMemory()
    assert m.get("http://h") is None
    m.remember("http://h", Step("signed", False, "r"))
    assert m.get("http://h") == Step("signed", False, "r")
