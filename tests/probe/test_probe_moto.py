"""``sigv4kit probe`` against moto's server mode with signature checks on.

moto verifies nothing until told to (``INITIAL_NO_AUTH_ACTION_COUNT`` is
infinite by default).  While auth is still off we create an IAM user with an
allow-all policy and an access key, then POST ``/moto-api/reset-auth`` with
``0``: from then on every request is checked against that key (moto
recomputes the signature with botocore).  Its known quirks (INTEROP.md):
presigned URLs answer 500 with auth on, the clock is not checked.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("moto")
pytest.importorskip("flask")
boto3 = pytest.importorskip("boto3")

from probe_direct import Direct  # noqa: E402
from sigv4kit import Credentials  # noqa: E402
from sigv4kit.probe import PROFILES  # noqa: E402
from sigv4kit.probe.runner import Prober  # noqa: E402
from sigv4kit.probe.verdict import CAPABILITIES, MAX_EXPIRES  # noqa: E402

pytestmark = pytest.mark.interop
BUCKET = "probe-moto"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Credentials]]:
    port = _port()
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        boot = {"aws_access_key_id": "boot", "aws_secret_access_key": "boot"}
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", **boot)
        iam.create_user(UserName="prober")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        arn = iam.create_policy(PolicyName="all", PolicyDocument=json.dumps(policy))["Policy"][
            "Arn"
        ]
        iam.attach_user_policy(UserName="prober", PolicyArn=arn)
        key = iam.create_access_key(UserName="prober")["AccessKey"]
        creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
        )
        s3.create_bucket(Bucket=BUCKET)
        import requests

        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield url, creds
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_signature_checks_are_on(moto: tuple[str, Credentials]) -> None:
    url, creds = moto
    wrong = Credentials(creds.access_key_id, "not-the-secret-at-all-0000000000000000000")
    r = Direct(url, BUCKET, wrong, "us-east-1").send("GET", f"{url}/{BUCKET}?list-type=2")
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


def test_probe_equals_direct_requests(moto: tuple[str, Credentials]) -> None:
    url, creds = moto
    report = Prober(url, BUCKET, creds, "us-east-1", profile=PROFILES["generic"]).run()
    direct = Direct(url, BUCKET, creds, "us-east-1")
    expected = direct.results()
    got = {name: report.results[name].ok for name in CAPABILITIES}
    assert got == expected, report.table()
    assert report.results["header-signed"].ok is True
    exp = report.max_presign_expires
    if exp is None:
        assert not direct.presign_ok(1)
    else:
        assert direct.presign_ok(exp)
        if exp < MAX_EXPIRES:
            assert not direct.presign_ok(exp + 1)
    listing = direct.send("GET", direct.url(query="list-type=2")).content
    assert b"sigv4kit-probe-" not in listing  # left as found
