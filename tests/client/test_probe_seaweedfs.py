"""``sigv4kit probe`` against SeaweedFS: verdicts equal the same requests sent directly."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from probe_direct import Direct
from sigv4kit.cli._commands import cli
from sigv4kit.probe import PROFILES
from sigv4kit.probe.runner import Prober
from sigv4kit.probe.verdict import CAPABILITIES, MAX_EXPIRES, MAX_SKEW

from .conftest import ACCESS_KEY, CREDS, REGION, SECRET_KEY, SeaweedFS

pytestmark = pytest.mark.interop


def _listing(sw: SeaweedFS) -> bytes:
    d = Direct(sw.endpoint, sw.bucket, CREDS, REGION)
    return bytes(d.send("GET", d.url(query="list-type=2")).content)


def test_probe_equals_direct_requests(seaweedfs: SeaweedFS) -> None:
    before = _listing(seaweedfs)
    report = Prober(
        seaweedfs.endpoint, seaweedfs.bucket, CREDS, REGION, profile=PROFILES["seaweedfs"]
    ).run()
    direct = Direct(seaweedfs.endpoint, seaweedfs.bucket, CREDS, REGION)
    expected = direct.results()
    got = {name: report.results[name].ok for name in CAPABILITIES}
    assert got == expected, report.table()
    assert _listing(seaweedfs) == before  # left as found
    # The longest expiry is the edge: it works, one second more does not.
    exp = report.max_presign_expires
    assert exp is not None and direct.presign_ok(exp)
    if exp < MAX_EXPIRES:
        assert not direct.presign_ok(exp + 1)
    skew = report.skew_window_seconds
    assert skew is not None and direct.skew_ok(-(skew - 2))
    if skew < MAX_SKEW:
        assert not direct.skew_ok(-(skew + 3)) or not direct.skew_ok(skew + 3)


def test_cli_json_and_read_only(seaweedfs: SeaweedFS) -> None:
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    before = _listing(seaweedfs)
    result = CliRunner(env=env).invoke(
        cli, ["probe", seaweedfs.endpoint, "--bucket", seaweedfs.bucket, "--json", "--no-write"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"endpoint", "results", "max_presign_expires", "skew_window_seconds"}
    assert list(data["results"]) == list(CAPABILITIES)
    assert data["results"]["header-signed"]["ok"] is True
    assert data["results"]["streaming"] == {
        "ok": None,
        "code": None,
        "detail": "not tested (--no-write)",
    }
    assert _listing(seaweedfs) == before
