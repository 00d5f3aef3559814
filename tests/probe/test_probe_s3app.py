"""``sigv4kit probe`` against the project's own S3 test app, refusing capabilities on demand.

The app (tests/s3app) runs behind sigv4kit's verifying middleware; with a
refuse file it answers 501 NotImplemented to the capabilities named there,
as R2, B2 and others do.  The probe's verdicts must equal the same requests
sent directly, with nothing refused and with half the list refused.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from probe_direct import Direct

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from s3harness import AK, SK, S3Server, refusing_s3app

from sigv4kit import Credentials, Signer
from sigv4kit.cli._commands import cli
from sigv4kit.probe import PROFILES, load_user_profiles
from sigv4kit.probe.runner import Prober, send
from sigv4kit.probe.verdict import CAPABILITIES

pytestmark = pytest.mark.interop
CREDS = Credentials(AK, SK)
BUCKET = "probe-app"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Server, Path]]:
    base = tmp_path_factory.mktemp("s3app-probe")
    with refusing_s3app(base) as (server, refuse):
        s = Signer(CREDS, "us-east-1", "s3").sign("PUT", f"{server.http}/{BUCKET}", body=b"")
        assert send("PUT", s.url, s.headers).status == 200
        yield server, refuse


def _listing(server: S3Server) -> bytes:
    d = Direct(server.http, BUCKET, CREDS, "us-east-1")
    return bytes(d.send("GET", d.url(query="list-type=2")).content)


@pytest.mark.parametrize(
    "refused",
    [
        [],
        ["streaming", "streaming-unsigned-trailer", "checksum-crc32c", "checksum-sha1",
         "content-md5", "presign-put", "post-policy", "sigv4a", "unsigned-payload"],
    ],
    ids=["nothing-refused", "half-refused"],
)  # fmt: skip
def test_probe_equals_direct_requests(app: tuple[S3Server, Path], refused: list[str]) -> None:
    server, refuse = app
    refuse.write_text("\n".join(refused))
    try:
        before = _listing(server)
        report = Prober(server.http, BUCKET, CREDS, "us-east-1", profile=PROFILES["generic"]).run()
        expected = Direct(server.http, BUCKET, CREDS, "us-east-1").results()
        got = {name: report.results[name].ok for name in CAPABILITIES}
        assert got == expected, report.table()
        for name in CAPABILITIES:
            v = report.results[name]
            if name in refused:
                assert (v.ok, v.code) == (False, "NotImplemented"), name
            else:
                assert v.ok is True, (name, v)
        assert report.max_presign_expires == 604800
        assert report.skew_window_seconds is not None
        assert 890 <= report.skew_window_seconds <= 900  # the Verifier's 15 minutes
        assert _listing(server) == before
    finally:
        refuse.write_text("")


def test_interrupted_probe_leaves_the_bucket_as_found(app: tuple[S3Server, Path]) -> None:
    server, _ = app
    before = _listing(server)
    prober = Prober(server.http, BUCKET, CREDS, "us-east-1", profile=PROFILES["generic"])
    calls = 0
    real = prober._upload

    def upload(name: str, put: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return real(name, put)  # type: ignore[arg-type]

    prober._upload = upload  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        prober.run()
    assert prober.written  # it did write before the interruption
    assert _listing(server) == before


def test_cli_save_writes_the_measured_profile(app: tuple[S3Server, Path], tmp_path: Path) -> None:
    server, refuse = app
    refuse.write_text("streaming-unsigned-trailer\n")
    profiles = tmp_path / "profiles.toml"
    env = {
        "AWS_ACCESS_KEY_ID": AK,
        "AWS_SECRET_ACCESS_KEY": SK,
        "SIGV4KIT_PROFILES": str(profiles),
    }
    try:
        result = CliRunner(env=env).invoke(
            cli, ["probe", server.http, "--bucket", BUCKET, "--save", "--region", "us-east-1"]
        )
    finally:
        refuse.write_text("")
    assert result.exit_code == 0, result.output
    assert "streaming-unsigned-trailer  NO       NotImplemented" in result.output
    assert "->" in result.output  # one line of advice under the "no"
    saved = load_user_profiles(profiles)[server.http]
    assert saved.upload_modes[0] == "streaming-trailer"
    assert "streaming-unsigned-trailer" not in saved.upload_modes
    assert saved.measured["streaming-unsigned-trailer"] is False
    # `request` uses the saved profile from then on: the region and service for a
    # host that says neither, and the measured upload mode.
    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * 100_000)
    mark = server.mark()
    put = CliRunner(env=env).invoke(
        cli, ["request", "PUT", f"{server.http}/{BUCKET}/saved", "--data-file", str(body)]
    )
    assert put.exit_code == 0, put.output
    assert "saved profile" in put.output
    entry = server.logged(mark, "PUT", path=f"/{BUCKET}/saved")[0]
    assert entry["status"] == 200
    assert entry["x-amz-content-sha256"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    d = Direct(server.http, BUCKET, CREDS, "us-east-1")
    assert d.send("GET", d.url("saved")).content == body.read_bytes()
    d.send("DELETE", d.url("saved"))
    # A missing bucket is a clear error, not a table of noes.
    missing = CliRunner(env=env).invoke(
        cli, ["probe", server.http, "--bucket", "no-such-bucket", "--json"]
    )
    assert missing.exit_code == 1
    assert "does not exist" in missing.output and "creates no buckets" in missing.output
