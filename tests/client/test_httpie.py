"""``http -A sigv4``: the HTTPie auth plugin, through the real ``http`` command.

Against SeaweedFS (an S3 server nobody here wrote) and the project's test S3
application (tests/s3app behind ``SigV4Middleware``): GET, a streamed PUT of
``@file``, a wrong secret failing with ``--check-status``, session tokens,
``--offline`` and the expiry-safe ``presign=`` mode.

The plugin is found the way HTTPie finds every plugin, through the
``httpie.plugins.auth.v1`` entry point.  When the installed sigv4kit
metadata predates the entry point (an editable install not yet refreshed),
a minimal dist-info declaring it is put in a private HTTPie plugins
directory (``HTTPIE_CONFIG_DIR``), exactly what ``httpie cli plugins
install`` would produce.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("httpie")

from sigv4kit import Credentials, Verifier
from sigv4kit.client.httpie import parse_auth_value
from sigv4kit.errors import SigningError

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, SeaweedFS

pytestmark = pytest.mark.interop

SRC = Path(__file__).resolve().parents[2] / "src"
TESTS = Path(__file__).resolve().parents[1]
TOKEN = "FwoGZXIvYXdzEXAMPLE/session+token=="


# --------------------------------------------------------------------------
# Running the real `http`
# --------------------------------------------------------------------------
def _http_exe() -> str:
    exe = Path(sys.executable).with_name("http")
    found = str(exe) if exe.exists() else shutil.which("http")
    if found is None:
        pytest.skip("HTTPie's `http` command is not installed (tests/deps/pip/httpie.txt)")
    return found


def _entry_point_installed() -> bool:
    eps = importlib.metadata.entry_points(group="httpie.plugins.auth.v1")
    return any(ep.value == "sigv4kit.client.httpie:SigV4AuthPlugin" for ep in eps)


@pytest.fixture(scope="module")
def httpie_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    config = tmp_path_factory.mktemp("httpie-config")
    if not _entry_point_installed():
        from httpie.utils import as_site

        dist = as_site(config / "plugins") / "sigv4kit_httpie_entry_point-0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: sigv4kit-httpie-entry-point\nVersion: 0\n"
        )
        (dist / "entry_points.txt").write_text(
            "[httpie.plugins.auth.v1]\nsigv4 = sigv4kit.client.httpie:SigV4AuthPlugin\n"
        )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "HTTPIE_CONFIG_DIR"
    }
    env["HTTPIE_CONFIG_DIR"] = str(config)
    env["HOME"] = str(config)  # no ~/.aws of the machine running the tests
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    return env


def _http(
    env: dict[str, str], args: list[str], *, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [_http_exe(), "--ignore-stdin", *args],
        env={**env, **(extra_env or {})},
        capture_output=True,
        timeout=120,
    )


def _keys(secret: str = SECRET_KEY, token: str | None = None) -> str:
    return f"{ACCESS_KEY}:{secret}" + (f":{token}" if token else "")


# --------------------------------------------------------------------------
# -a parsing (no server)
# --------------------------------------------------------------------------
def test_auth_value_forms() -> None:
    o = parse_auth_value(f"{_keys(token=TOKEN)},region=eu-west-1,service=s3,unsigned")
    assert (o.access_key, o.secret_key, o.token) == (ACCESS_KEY, SECRET_KEY, TOKEN)
    assert (o.region, o.service, o.payload) == ("eu-west-1", "s3", "unsigned")
    o = parse_auth_value("region=us-east-1,service=execute-api,profile=dev")
    assert o.access_key is None and o.profile == "dev" and o.service == "execute-api"
    o = parse_auth_value("service=s3,region_set=us-east-1,us-west-2,cap-expires,presign=600")
    assert o.sigv4a and o.region_set == ["us-east-1", "us-west-2"]
    assert o.presign == 600 and o.cap_expires
    o = parse_auth_value(f"{_keys()},token={TOKEN}")
    assert o.token == TOKEN
    assert SECRET_KEY not in repr(o) and TOKEN not in repr(parse_auth_value(_keys(token=TOKEN)))
    with pytest.raises(SigningError, match="cannot read"):
        parse_auth_value("regoin=us-east-1")
    with pytest.raises(SigningError, match="needs a value"):
        parse_auth_value("region")


# --------------------------------------------------------------------------
# --offline: the signed request, checked by the Verifier
# --------------------------------------------------------------------------
def _parse_offline(out: bytes) -> tuple[str, str, list[tuple[str, str]], bytes]:
    head, _, body = out.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.decode().split("\n")
    method, target, _ = lines[0].split(" ")
    headers = [(n, v.strip()) for n, _, v in (line.partition(":") for line in lines[1:] if line)]
    return method, target, headers, body.rstrip(b"\n")


def test_offline_shows_a_request_that_verifies(httpie_env: dict[str, str]) -> None:
    url = "https://examplebucket.s3.amazonaws.com/dir/a%20b.txt?x=1"
    proc = _http(
        httpie_env,
        ["--offline", "-A", "sigv4", "-a", _keys(token=TOKEN), "PUT", url, "name=value"],
    )
    assert proc.returncode == 0, proc.stderr
    method, target, headers, body = _parse_offline(proc.stdout)
    names = {n.lower(): v for n, v in headers}
    assert names["x-amz-security-token"] == TOKEN  # the token is kept with explicit keys
    # Region and service were inferred from the S3 hostname.
    assert "/us-east-1/s3/aws4_request" in names["authorization"]
    v = Verifier({ACCESS_KEY: Credentials(ACCESS_KEY, SECRET_KEY, TOKEN)}, "us-east-1", "s3")
    ok = v.verify(method, target, headers, body)
    assert b"".join(ok.body) == b'{"name": "value"}'
    assert ok.has_session_token


def test_unknown_host_needs_the_scope(httpie_env: dict[str, str]) -> None:
    proc = _http(httpie_env, ["--offline", "-A", "sigv4", "-a", _keys(), "http://127.0.0.1:1/x"])
    assert proc.returncode == 1
    assert b"cannot tell the service" in proc.stderr and SECRET_KEY.encode() not in proc.stderr


# --------------------------------------------------------------------------
# SeaweedFS
# --------------------------------------------------------------------------
def test_seaweedfs_put_file_then_get(
    httpie_env: dict[str, str], seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    scope = f"{_keys()},region={REGION},service=s3"
    url = seaweedfs.url("httpie/up.bin")
    put = _http(httpie_env, ["--check-status", "-A", "sigv4", "-a", scope, "PUT", url, f"@{src}"])
    assert put.returncode == 0, put.stdout + put.stderr
    get = _http(httpie_env, ["--check-status", "-A", "sigv4", "-a", scope, "GET", url])
    assert get.returncode == 0, get.stderr
    assert hashlib.sha256(get.stdout).digest() == hashlib.sha256(data).digest()
    unsigned = _http(
        httpie_env,
        ["--check-status", "-A", "sigv4", "-a", scope + ",unsigned", "PUT", url, f"@{src}"],
    )
    assert unsigned.returncode == 0, unsigned.stdout


def test_seaweedfs_wrong_secret_fails_with_check_status(
    httpie_env: dict[str, str], seaweedfs: SeaweedFS
) -> None:
    scope = f"{_keys(SECRET_KEY[:-3] + 'XXX')},region={REGION},service=s3"
    proc = _http(httpie_env, ["--check-status", "-A", "sigv4", "-a", scope, seaweedfs.url("x")])
    assert proc.returncode == 4  # HTTPie: a 4xx with --check-status
    assert b"SignatureDoesNotMatch" in proc.stdout


# --------------------------------------------------------------------------
# The test S3 application, in-process, whose verifier requires a session token
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uvicorn = pytest.importorskip("uvicorn")
    sys.path.insert(0, str(TESTS))
    from s3app.app import S3App
    from server_support import listening_socket, serve_in_thread
    from sigv4kit.server.asgi import SigV4Middleware

    verifier = Verifier({ACCESS_KEY: Credentials(ACCESS_KEY, SECRET_KEY, TOKEN)}, "us-east-1", "s3")
    app = SigV4Middleware(S3App(tmp_path_factory.mktemp("s3app-httpie")), verifier)
    sock = listening_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    with serve_in_thread(server, sock):
        yield f"http://127.0.0.1:{port}"


def _scope_with_token(token: str | None = TOKEN) -> str:
    return f"{_keys(token=token)},region=us-east-1,service=s3"


def _maxrss_kib(stderr: bytes) -> int:
    m = re.search(rb"MAXRSS (\d+)", stderr)
    assert m is not None, stderr
    return int(m.group(1))


def _http_measured(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """`http` in-process of a Python that reports its peak memory on stderr."""
    code = (
        "import resource, sys\n"
        "from httpie.core import main\n"
        "rc = main(['http', *sys.argv[1:]])\n"
        "sys.stderr.write(f'MAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}')\n"
        "sys.exit(int(rc))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "--ignore-stdin", *args],
        env=env,
        capture_output=True,
        timeout=180,
    )


def test_s3app_session_token_put_file_and_get(
    httpie_env: dict[str, str], s3app: str, tmp_path: Path
) -> None:
    scope = _scope_with_token()
    bucket = f"{s3app}/httpie"
    made = _http(httpie_env, ["--check-status", "-A", "sigv4", "-a", scope, "PUT", bucket])
    assert made.returncode == 0, made.stdout
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1000)
    base = ["--check-status", "-A", "sigv4", "-a", scope]
    put = _http(httpie_env, [*base, "PUT", f"{bucket}/small.bin", f"@{small}"])
    assert put.returncode == 0, put.stdout + put.stderr
    got = _http(httpie_env, [*base, "GET", f"{bucket}/small.bin"])
    assert got.returncode == 0 and got.stdout == b"x" * 1000


@pytest.mark.slow
def test_s3app_large_file_is_streamed(
    httpie_env: dict[str, str], s3app: str, tmp_path: Path
) -> None:
    scope = _scope_with_token()
    bucket = f"{s3app}/httpie"
    _http(httpie_env, ["-A", "sigv4", "-a", scope, "PUT", bucket])
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1000)
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        for _ in range(32):
            fh.write(os.urandom(1 << 20))
    base = ["--check-status", "-A", "sigv4", "-a", scope, "PUT"]
    one = _http_measured(httpie_env, [*base, f"{bucket}/small-m.bin", f"@{small}"])
    assert one.returncode == 0, one.stdout + one.stderr
    two = _http_measured(httpie_env, [*base, f"{bucket}/big.bin", f"@{big}"])
    assert two.returncode == 0, two.stdout + two.stderr
    # 32 MiB went up, hashed and sent in pieces: the peak grows far less than the file.
    grew = _maxrss_kib(two.stderr) - _maxrss_kib(one.stderr)
    assert grew < 16 * 1024, f"peak memory grew by {grew} KiB for a 32 MiB @file"
    got = _http(
        httpie_env, ["--check-status", "-A", "sigv4", "-a", scope, "GET", f"{bucket}/big.bin"]
    )
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256(got.stdout).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_s3app_refuses_a_missing_or_wrong_token_and_a_wrong_secret(
    httpie_env: dict[str, str], s3app: str
) -> None:
    url = f"{s3app}/httpie/small.bin"
    for scope in (_scope_with_token(None), _scope_with_token("another-token")):
        proc = _http(httpie_env, ["--check-status", "-A", "sigv4", "-a", scope, "GET", url])
        assert proc.returncode == 4, proc.stdout
    wrong = f"{_keys(SECRET_KEY[:-3] + 'XXX', TOKEN)},region=us-east-1,service=s3"
    proc = _http(httpie_env, ["--check-status", "-A", "sigv4", "-a", wrong, "GET", url])
    assert proc.returncode == 4
    assert b"SignatureDoesNotMatch" in proc.stdout


def test_s3app_credential_chain_from_the_environment(
    httpie_env: dict[str, str], s3app: str
) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": TOKEN,
    }
    url = f"{s3app}/httpie/small.bin"
    proc = _http(
        httpie_env,
        ["--check-status", "-A", "sigv4", "-a", "region=us-east-1,service=s3", "GET", url],
        extra_env=env,
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == b"x" * 1000


def test_s3app_presign_mode_and_expiry(httpie_env: dict[str, str], s3app: str) -> None:
    url = f"{s3app}/httpie/small.bin"
    soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_CREDENTIAL_EXPIRATION": soon,
    }
    a = "region=us-east-1,service=s3,presign=3600"
    refused = _http(httpie_env, ["-A", "sigv4", "-a", a, "GET", url], extra_env=env)
    assert refused.returncode == 1
    assert b"credentials expire at" in refused.stderr and b"cap" in refused.stderr
    capped = _http(
        httpie_env,
        ["--check-status", "-A", "sigv4", "-a", a + ",cap_expires", "GET", url],
        extra_env=env,
    )
    assert capped.returncode == 0, capped.stdout
    assert capped.stdout == b"x" * 1000
    shown = _http(
        httpie_env,
        ["--offline", "-A", "sigv4", "-a", a + ",cap_expires", "GET", url],
        extra_env=env,
    )
    first = shown.stdout.split(b"\n", 1)[0].decode()
    expires = int(re.search(r"X-Amz-Expires=(\d+)", first).group(1))  # type: ignore[union-attr]
    assert 200 < expires <= 300
    assert b"Authorization:" not in shown.stdout


def test_region_from_the_environment_when_the_host_says_nothing(httpie_env: dict[str, str]) -> None:
    proc = _http(
        httpie_env,
        ["--offline", "-A", "sigv4", "-a", f"{_keys()},service=s3", "http://127.0.0.1:1/x"],
        extra_env={"AWS_REGION": "eu-north-1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert b"/eu-north-1/s3/aws4_request" in proc.stdout
