"""Credential providers against real files, real processes and real concurrency.

Profile files are written by the AWS CLI itself (``aws configure set``) where
it can write them, and by hand for the malformed ones.  ``credential_process``
runs a real script.  Refresh is exercised by 32 threads and by asyncio tasks
on several event loops, counting how often the source is really fetched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from sigv4kit import Credentials, CredentialsError
from sigv4kit.providers import (
    BotocoreProvider,
    ChainProvider,
    ConfigFileProvider,
    CredentialsNotFoundError,
    EnvironmentProvider,
    ProcessProvider,
    ProfileFileError,
    ProfileFiles,
    ProfileProcessProvider,
    RefreshingProvider,
    SharedCredentialsProvider,
    StaticProvider,
    aresolve_credentials,
    default_provider,
    parse_expiration,
    parse_ini,
    resolve_credentials,
    resolve_region,
)

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SECRET2 = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN//+=="
UTC = timezone.utc


def _aws_exe() -> str:
    exe = Path(sys.executable).with_name("aws")
    if exe.exists():
        return str(exe)
    found = shutil.which("aws")
    if found is None:
        pytest.fail("the AWS CLI is not installed; it is listed in tests/deps/pip/client.txt")
    return found


class AwsFiles:
    """A pair of AWS profile files in tmp_path, written through the AWS CLI."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "aws"
        self.dir.mkdir()
        self.config = self.dir / "config"
        self.credentials = self.dir / "credentials"
        self.env = {
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
        }

    def configure(self, *settings: tuple[str, str, str | None]) -> None:
        """Run ``aws configure set KEY VALUE [--profile P]`` for each setting."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") or k in ("AWS_EC2_METADATA_DISABLED",)
        }
        env.update(self.env)
        env["HOME"] = str(self.dir)
        # One interpreter for all settings: the CLI's start-up is most of its cost.
        script = textwrap.dedent(
            """
            import json, sys
            from awscli.clidriver import create_clidriver
            for key, value, profile in json.loads(sys.argv[1]):
                argv = ["configure", "set", key, value]
                if profile:
                    argv += ["--profile", profile]
                rc = create_clidriver().main(argv)
                if rc:
                    sys.exit(rc)
            """
        )
        subprocess.run(
            [sys.executable, "-c", script, json.dumps(settings)],
            env=env,
            check=True,
            timeout=120,
        )

    def environ(self, **extra: str) -> dict[str, str]:
        env = dict(self.env)
        env.update(extra)
        return env


@pytest.fixture
def files(tmp_path: Path) -> AwsFiles:
    return AwsFiles(tmp_path)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A process environment with no AWS settings, and HOME in tmp_path."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# -- profile files written by the AWS CLI ---------------------------------------


def test_aws_cli_command_itself_writes_what_we_read(files: AwsFiles) -> None:
    subprocess.run(
        [_aws_exe(), "configure", "set", "region", "ca-central-1", "--profile", "cli"],
        env={**os.environ, **files.env, "HOME": str(files.dir)},
        check=True,
        timeout=60,
    )
    assert "[profile cli]" in files.config.read_text()
    assert resolve_region("cli", environ=files.environ()) == "ca-central-1"


def test_aws_configure_set_output_is_read(files: AwsFiles) -> None:
    files.configure(
        ("aws_access_key_id", "AKIDDEFAULT", None),
        ("aws_secret_access_key", SECRET, None),
        ("region", "us-west-2", None),
        ("aws_access_key_id", "AKIDDEV", "dev"),
        ("aws_secret_access_key", SECRET2, "dev"),
        ("aws_session_token", TOKEN, "dev"),
        ("region", "eu-west-1", "dev"),
        ("default.s3.signature_version", "s3v4", None),
        ("default.s3.addressing_style", "path", None),
    )
    # The CLI splits the settings across the files the way it always does.
    cred_text = files.credentials.read_text()
    conf_text = files.config.read_text()
    assert "[dev]" in cred_text and SECRET2 in cred_text
    assert "[profile dev]" in conf_text and "region = eu-west-1" in conf_text
    assert "s3 =\n    signature_version = s3v4" in conf_text

    env = files.environ()
    default = SharedCredentialsProvider(environ=env)()
    assert (default.access_key_id, default.secret_access_key) == ("AKIDDEFAULT", SECRET)
    assert default.session_token is None
    dev = SharedCredentialsProvider("dev", environ=env)()
    assert (dev.access_key_id, dev.secret_access_key, dev.session_token) == (
        "AKIDDEV",
        SECRET2,
        TOKEN,
    )
    # AWS_PROFILE picks the profile when no argument does.
    assert SharedCredentialsProvider(environ=files.environ(AWS_PROFILE="dev"))() == dev

    parsed = ProfileFiles(environ=env)
    assert parsed.config_profile("default") == {
        "region": "us-west-2",
        "s3": {"signature_version": "s3v4", "addressing_style": "path"},
    }
    assert resolve_region(environ=env) == "us-west-2"
    assert resolve_region("dev", environ=env) == "eu-west-1"
    assert resolve_region(environ=files.environ(AWS_PROFILE="dev")) == "eu-west-1"
    assert resolve_region("dev", environ=files.environ(AWS_DEFAULT_REGION="ap-south-1")) == (
        "ap-south-1"
    )
    assert (
        resolve_region(
            environ=files.environ(AWS_DEFAULT_REGION="ap-south-1", AWS_REGION="sa-east-1")
        )
        == "sa-east-1"
    )
    assert resolve_region("nope", environ=env) is None


def test_config_file_static_keys_and_credential_process_from_cli(
    files: AwsFiles, tmp_path: Path
) -> None:
    script = _process_script(tmp_path, akid="AKIDPROCESS")
    # `aws configure set` always puts keys into the credentials file, so the
    # config-file keys are written by hand, after the CLI's own setting.
    files.configure(("profile.proc.credential_process", f"{sys.executable} {script}", None))
    assert "[profile proc]" in files.config.read_text()
    with files.config.open("a") as fh:
        fh.write(
            f"[profile cfg]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = {SECRET}\n"
        )
    env = files.environ()
    assert ConfigFileProvider("cfg", environ=env)().access_key_id == "AKIDCONFIG"
    creds = ProfileProcessProvider("proc", environ=env)()
    assert creds.access_key_id == "AKIDPROCESS1"
    assert creds.session_token == TOKEN
    # The chain finds each in its own place.
    assert default_provider("cfg", environ=env, use_botocore=False)().access_key_id == "AKIDCONFIG"
    assert default_provider("proc", environ=env, use_botocore=False)().access_key_id == (
        "AKIDPROCESS2"
    )


def test_hint_for_profile_named_the_wrong_way(files: AwsFiles) -> None:
    files.config.write_text("[dev]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n")
    files.credentials.write_text("[profile dev]\naws_access_key_id = AKIDY\n")
    env = files.environ()
    with pytest.raises(CredentialsNotFoundError) as info:
        ConfigFileProvider("dev", environ=env)()
    assert f"{files.config} has [dev] but the config file names profiles [profile dev]" in str(
        info.value
    )
    with pytest.raises(CredentialsNotFoundError) as info:
        SharedCredentialsProvider("dev", environ=env)()
    assert "names profiles [dev] (line 1)" in str(info.value)


def test_profile_default_section_beats_default(files: AwsFiles) -> None:
    files.config.write_text(
        "[default]\nregion = us-east-1\n\n[profile default]\nregion = eu-north-1\n"
    )
    assert resolve_region(environ=files.environ()) == "eu-north-1"


def test_credentials_file_region_overrides_config(files: AwsFiles) -> None:
    files.config.write_text("[profile p]\nregion = us-east-1\n")
    files.credentials.write_text("[p]\nregion = us-east-2\n")
    assert resolve_region("p", environ=files.environ()) == "us-east-2"


# -- parse errors ------------------------------------------------------------------

BAD_FILES = [
    ("[default]\naws_access_key_id = A\nthis line has the secret " + SECRET + "\n", 3, "no '='"),
    ("aws_access_key_id = A\n[default]\n", 1, "before any section header"),
    ("[default\naws_access_key_id = A\n", 1, "no closing ']'"),
    ("[]\n", 1, "empty section name"),
    ("[default] junk\n", 1, "unexpected text after"),
    ("[default]\na = 1\n\n[default]\nb = 2\n", 4, "already defined at line 1"),
    (
        "[default]\nregion = x\nREGION = y\n",
        3,
        "'region' is already set in section [default] at line 2",
    ),
    ("[default]\n = " + SECRET + "\n", 2, "no name before '='"),
    ("[default]\ns3 =\n    signature_version\n", 3, "nested setting"),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD_FILES)
@pytest.mark.parametrize("which", ["credentials", "config"])
def test_parse_errors_name_file_line_and_problem(
    files: AwsFiles, text: str, line: int, problem: str, which: str
) -> None:
    path = files.credentials if which == "credentials" else files.config
    path.write_text(text)
    provider = (
        SharedCredentialsProvider(environ=files.environ())
        if which == "credentials"
        else ConfigFileProvider(environ=files.environ())
    )
    with pytest.raises(ProfileFileError) as info:
        provider()
    err = info.value
    assert isinstance(err, CredentialsError)
    assert (err.path, err.line) == (str(path), line)
    assert str(err).startswith(f"{path}, line {line}: ")
    assert problem in str(err)
    assert SECRET not in str(err)


def test_non_utf8_file_is_reported_with_line(files: AwsFiles) -> None:
    files.credentials.write_bytes(b"[default]\naws_access_key_id = A\xff\n")
    with pytest.raises(ProfileFileError, match=r"line 2: is not valid UTF-8"):
        SharedCredentialsProvider(environ=files.environ())()


def test_parser_accepts_what_configparser_accepts() -> None:
    text = (
        "\ufeff# comment\n; other comment\n[default]  ; trailing comment\n"
        "Aws_Access_Key_Id: AKIDCOLON\naws_secret_access_key=" + SECRET + "\n"
        "multi = first\n  second\n\n[profile x y]\nregion = r\n"
    )
    parsed = parse_ini(text.lstrip("\ufeff"), "mem")
    assert parsed.sections["default"] == {
        "aws_access_key_id": "AKIDCOLON",
        "aws_secret_access_key": SECRET,
        "multi": "first\nsecond",
    }
    assert parsed.sections["profile x y"] == {"region": "r"}
    assert parsed.section_lines == {"default": 3, "profile x y": 9}


# -- environment -------------------------------------------------------------------


def test_environment_provider() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": SECRET}
    assert EnvironmentProvider(env)() == Credentials("AKIDENV", SECRET)
    env["AWS_SESSION_TOKEN"] = TOKEN
    env["AWS_CREDENTIAL_EXPIRATION"] = "2031-02-03T04:05:06Z"
    creds = EnvironmentProvider(env)()
    assert creds.session_token == TOKEN
    assert creds.expiration == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    # Read on every call: rotation in the environment is followed.
    provider = EnvironmentProvider(env)
    env["AWS_ACCESS_KEY_ID"] = "AKIDROTATED"
    assert provider().access_key_id == "AKIDROTATED"
    assert asyncio.run(provider.aget()).access_key_id == "AKIDROTATED"


def test_environment_partial_is_an_error_not_a_miss() -> None:
    with pytest.raises(CredentialsError) as info:
        EnvironmentProvider({"AWS_SECRET_ACCESS_KEY": SECRET})()
    assert not isinstance(info.value, CredentialsNotFoundError)
    assert "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not" in str(info.value)
    assert SECRET not in str(info.value)
    with pytest.raises(CredentialsNotFoundError):
        EnvironmentProvider({})()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-01T00:00:00Z", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01T00:00:00.5Z", datetime(2030, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2030-01-01T02:00:00+02:00", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01T00:00:00", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2029-12-31T19:00:00-0500", datetime(2030, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_expiration(text: str, expected: datetime) -> None:
    assert parse_expiration(text, what="t") == expected


@pytest.mark.parametrize("text", ["tomorrow", "2030-13-01T00:00:00Z", "1700000000"])
def test_parse_expiration_rejects(text: str) -> None:
    with pytest.raises(CredentialsError, match="expiration"):
        parse_expiration(text, what="t")


# -- credential_process ------------------------------------------------------------


def _process_script(
    tmp_path: Path,
    *,
    akid: str = "AKIDPROC",
    lifetime: float | None = None,
    body: str | None = None,
    exit_code: int = 0,
    stderr: str = "",
    sleep: float = 0.0,
) -> Path:
    """A real credential_process program; it appends a line to runs.log per run."""
    log = tmp_path / "runs.log"
    script = tmp_path / f"cp_{akid}_{exit_code}_{abs(hash(body)) % 10**6}.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import datetime, json, sys, time
            with open({str(log)!r}, "a") as f:
                f.write("run\\n")
            time.sleep({sleep!r})
            sys.stderr.write({stderr!r})
            if {exit_code!r}:
                sys.exit({exit_code!r})
            body = {body!r}
            if body is None:
                runs = sum(1 for _ in open({str(log)!r}))
                doc = {{"Version": 1, "AccessKeyId": {akid!r} + str(runs),
                        "SecretAccessKey": {SECRET!r}, "SessionToken": {TOKEN!r}}}
                if {lifetime!r} is not None:
                    now = datetime.datetime.now(datetime.timezone.utc)
                    exp = now + datetime.timedelta(seconds={lifetime!r})
                    doc["Expiration"] = exp.strftime("%Y-%m-%dT%H:%M:%SZ")
                body = json.dumps(doc)
            print(body)
            """
        )
    )
    return script


def _runs(tmp_path: Path) -> int:
    log = tmp_path / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_credential_process_runs_once_without_expiration(tmp_path: Path) -> None:
    provider = ProcessProvider([sys.executable, str(_process_script(tmp_path))])
    first = provider()
    assert first.access_key_id == "AKIDPROC1"
    assert first.expiration is None
    assert provider() is first
    assert _runs(tmp_path) == 1


def test_credential_process_refreshes_before_expiration(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    script = _process_script(tmp_path, lifetime=3600)
    provider = ProcessProvider(f"{sys.executable} {script}", clock=lambda: now[0])
    first = provider()
    ran = datetime.now(UTC)  # the program read its clock between now[0] and this
    assert first.access_key_id == "AKIDPROC1"
    assert first.expiration is not None
    assert timedelta(minutes=59) < first.expiration - now[0]
    assert first.expiration - ran <= timedelta(hours=1)
    now[0] += timedelta(minutes=30)
    assert provider() is first and _runs(tmp_path) == 1
    # 14 minutes left: inside the advisory window, one refresh.
    now[0] += timedelta(minutes=16)
    assert provider().access_key_id == "AKIDPROC2"
    assert _runs(tmp_path) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"body": json.dumps({"Version": 2, "AccessKeyId": "A", "SecretAccessKey": SECRET})},
            "unsupported Version 2; the only supported version is 1",
        ),
        ({"body": json.dumps({"Version": 1, "AccessKeyId": "A"})}, "lacks SecretAccessKey"),
        (
            {"body": '{"Version": 1, "SecretAccessKey": "' + SECRET + '", oops'},
            "output is not JSON",
        ),
        ({"body": "[1]"}, "must be a JSON object"),
        (
            {"exit_code": 3, "stderr": "token expired, run sso login"},
            "exited with status 3: token expired, run sso login",
        ),
        (
            {
                "body": json.dumps(
                    {
                        "Version": 1,
                        "AccessKeyId": "A",
                        "SecretAccessKey": SECRET,
                        "Expiration": "2001-01-01T00:00:00Z",
                    }
                )
            },
            "returned credentials that expired at 2001-01-01T00:00:00+00:00",
        ),
        (
            {
                "body": json.dumps(
                    {
                        "Version": 1,
                        "AccessKeyId": "A",
                        "SecretAccessKey": SECRET,
                        "Expiration": "soon",
                    }
                )
            },
            "expiration 'soon' is not an ISO 8601 timestamp",
        ),
    ],
)
def test_credential_process_errors(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    script = _process_script(tmp_path, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(CredentialsError) as info:
        ProcessProvider([sys.executable, str(script)])()
    assert message in str(info.value)
    assert SECRET not in str(info.value)
    assert not isinstance(info.value, CredentialsNotFoundError)


def test_credential_process_missing_program_and_timeout(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="program not found"):
        ProcessProvider(str(tmp_path / "no such program"))()
    slow = _process_script(tmp_path, sleep=5)
    started = time.monotonic()
    with pytest.raises(CredentialsError, match=r"no answer within 0\.5 seconds"):
        ProcessProvider([sys.executable, str(slow)], timeout=0.5)()
    assert time.monotonic() - started < 4


# -- the default chain -----------------------------------------------------------------


def test_chain_order_env_then_files(files: AwsFiles, tmp_path: Path) -> None:
    script = _process_script(tmp_path, akid="AKIDPROC")
    files.credentials.write_text(
        f"[default]\naws_access_key_id = AKIDCREDFILE\naws_secret_access_key = {SECRET}\n"
    )
    files.config.write_text(
        f"[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = {SECRET}\n"
        f"credential_process = {sys.executable} {script}\n"
    )
    env = files.environ(AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY=SECRET)
    assert default_provider(environ=env, use_botocore=False)().access_key_id == "AKIDENV"
    # An explicit profile skips the environment, as `aws --profile` does.
    assert default_provider("default", environ=env, use_botocore=False)().access_key_id == (
        "AKIDCREDFILE"
    )
    # Without the credentials file: credential_process comes before config-file keys.
    files.credentials.unlink()
    chain = default_provider(environ=files.environ(), use_botocore=False)
    assert chain().access_key_id == "AKIDPROC1"
    assert isinstance(chain.chosen, ProfileProcessProvider)
    assert chain().access_key_id == "AKIDPROC1"  # resolved once, cached by the process provider
    assert _runs(tmp_path) == 1
    files.config.write_text(
        f"[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = {SECRET}\n"
    )
    assert default_provider(environ=files.environ(), use_botocore=False)().access_key_id == (
        "AKIDCONFIG"
    )


def test_missing_credentials_message_lists_every_place(files: AwsFiles) -> None:
    files.config.write_text("[profile other]\nregion = us-east-1\n")
    chain = default_provider(environ=files.environ(), use_botocore=False)
    with pytest.raises(CredentialsNotFoundError) as info:
        chain()
    message = str(info.value)
    assert message.splitlines() == [
        "No AWS credentials found. Looked in:",
        "  1. environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (not set)",
        "  2. assume-role / web identity / SSO settings of profile 'default' "
        "(none: no role_arn, web_identity_token_file, sso_start_url, sso_session)",
        f"  3. shared credentials file {files.credentials} (file not found)",
        f"  4. credential_process in profile 'default' of {files.config} / "
        f"{files.credentials} (not set)",
        f"  5. config file {files.config} (no [default] section)",
        "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run `aws configure`, "
        "or pass Credentials(...) explicitly.",
    ]
    assert len(info.value.places) == 5


def test_missing_credentials_with_botocore_fallback(files: AwsFiles, clean_env: None) -> None:
    started = time.monotonic()
    with pytest.raises(CredentialsNotFoundError) as info:
        default_provider(environ=dict(os.environ, **files.env))()
    assert info.value.places[-1].startswith("botocore's provider chain")
    assert len(info.value.places) == 6
    assert time.monotonic() - started < 10


def test_explicit_profile_that_does_not_exist(files: AwsFiles) -> None:
    files.credentials.write_text(
        f"[a]\naws_access_key_id = AKIDA\naws_secret_access_key = {SECRET}\n"
    )
    with pytest.raises(CredentialsError) as info:
        default_provider(environ=files.environ(AWS_PROFILE="b"), use_botocore=False)
    assert "profile 'b' (from AWS_PROFILE) is not defined" in str(info.value)
    assert f"{files.credentials} (no [b] section)" in str(info.value)
    assert not isinstance(info.value, CredentialsNotFoundError)


def test_broken_source_stops_the_chain(files: AwsFiles) -> None:
    files.credentials.write_text("[default]\naws_access_key_id = AKIDHALF\n")
    files.config.write_text(
        f"[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = {SECRET}\n"
    )
    with pytest.raises(CredentialsError, match="sets one key of the pair but not aws_secret"):
        default_provider(environ=files.environ(), use_botocore=False)()


def test_role_profile_without_botocore_names_the_fix(
    files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.config.write_text(
        "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = s\n"
    )
    monkeypatch.setitem(sys.modules, "botocore", None)
    with pytest.raises(CredentialsError, match="uses role_arn, which needs botocore"):
        default_provider("r", environ=files.environ())()


class _FakeSTS(BaseHTTPRequestHandler):
    """A local STS endpoint answering AssumeRole; records who asked."""

    requests: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).requests.append((self.headers.get("Authorization", ""), body))
        exp = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = f"""<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult><Credentials><AccessKeyId>ASIAROLEKEY</AccessKeyId>
<SecretAccessKey>{SECRET2}</SecretAccessKey><SessionToken>ROLETOKEN</SessionToken>
<Expiration>{exp}</Expiration></Credentials>
<AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/x/s</Arn></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"""
        data = xml.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_sts() -> Iterator[str]:
    _FakeSTS.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeSTS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_assume_role_profile_goes_through_botocore(
    files: AwsFiles, clean_env: None, monkeypatch: pytest.MonkeyPatch, fake_sts: str
) -> None:
    pytest.importorskip("botocore")
    files.credentials.write_text(
        f"[src]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = {SECRET}\n"
        # Keys for the role profile itself must lose to the role, as in the AWS CLI.
        f"[r]\naws_access_key_id = AKIDSHADOWED\naws_secret_access_key = {SECRET}\n"
    )
    files.config.write_text(
        "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = src\n"
        "region = us-east-1\n"
    )
    for key, value in files.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", fake_sts)
    chain = default_provider("r")
    creds = chain()
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == (
        "ASIAROLEKEY",
        SECRET2,
        "ROLETOKEN",
    )
    assert creds.expiration is not None and creds.expiration > datetime.now(UTC)
    [(authorization, body)] = _FakeSTS.requests
    assert "Action=AssumeRole" in body
    assert "Credential=AKIDSOURCE/" in authorization


def test_botocore_provider_with_credential_process(files: AwsFiles, tmp_path: Path) -> None:
    botocore_session = pytest.importorskip("botocore.session")
    script = _process_script(tmp_path, akid="AKIDBOTO", lifetime=3600)
    files.config.write_text(f"[profile p]\ncredential_process = {sys.executable} {script}\n")
    session = botocore_session.Session(profile="p")
    session.set_config_variable("config_file", str(files.config))
    session.set_config_variable("credentials_file", str(files.credentials))
    provider = BotocoreProvider(session)
    creds = provider()
    assert creds.access_key_id == "AKIDBOTO1"
    assert creds.session_token == TOKEN
    assert creds.expiration is not None
    assert asyncio.run(provider.aget()) == creds
    assert _runs(tmp_path) == 1


# -- refresh under concurrency ---------------------------------------------------------


class Source:
    """A fetch function that counts calls, can be slow, and can fail."""

    def __init__(self, clock: Callable[[], datetime], lifetime: timedelta, delay: float) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.delay = delay
        self.calls = 0
        self.fail = False
        self._lock = threading.Lock()

    def __call__(self) -> Credentials:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        if self.fail:
            raise CredentialsError("source is down")
        return Credentials(f"AKID{n}", SECRET, TOKEN, self.clock() + self.lifetime)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _hammer_threads(provider: RefreshingProvider, n: int = 32) -> list[Credentials]:
    barrier = threading.Barrier(n)
    results: list[Credentials] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            results.append(provider())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    return results


def test_refresh_from_32_threads_fetches_once() -> None:
    clock = Clock()
    source = Source(clock, timedelta(hours=1), delay=0.2)
    provider = RefreshingProvider(source, clock=clock)
    results = _hammer_threads(provider)
    assert source.calls == 1
    assert {c.access_key_id for c in results} == {"AKID1"}
    # Still fresh: no fetch.
    clock.now += timedelta(minutes=40)
    _hammer_threads(provider)
    assert source.calls == 1
    # Past the mandatory window (9 minutes left): everyone waits for one fetch.
    clock.now += timedelta(minutes=11)
    results = _hammer_threads(provider)
    assert source.calls == 2
    assert {c.access_key_id for c in results} == {"AKID2"}


def test_advisory_window_does_not_block_and_survives_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    source = Source(clock, timedelta(hours=1), delay=0.3)
    provider = RefreshingProvider(source, clock=clock)
    provider()
    clock.now += timedelta(minutes=47)  # 13 minutes left: advisory
    results = _hammer_threads(provider)
    assert source.calls == 2
    # Callers that found the refresh in progress used the old credentials at once.
    keys = [c.access_key_id for c in results]
    assert keys.count("AKID2") >= 1 and set(keys) <= {"AKID1", "AKID2"}
    assert "AKID1" in keys
    clock.now += timedelta(minutes=47)
    source.fail = True
    with caplog.at_level(logging.WARNING, logger="sigv4kit.providers"):
        assert provider().access_key_id == "AKID2"
    assert "advisory refresh" in caplog.text and "CredentialsError" in caplog.text
    clock.now += timedelta(minutes=4)  # 9 minutes left: mandatory, failure raises
    with pytest.raises(CredentialsError, match="source is down"):
        provider()


def test_short_lived_credentials_are_not_refreshed_every_call() -> None:
    clock = Clock()
    source = Source(clock, timedelta(seconds=60), delay=0)
    provider = RefreshingProvider(source, clock=clock)
    for _ in range(10):
        provider()
    assert source.calls == 1
    clock.now += timedelta(seconds=31)
    provider()
    assert source.calls == 2


def test_refresh_from_asyncio_tasks_fetches_once_without_blocking_the_loop() -> None:
    clock = Clock()
    # A fetch of 1 s: a loop it blocked would tick once or twice; a free one
    # ticks ~100 times, and still 10 when a loaded machine starves it tenfold.
    source = Source(clock, timedelta(hours=1), delay=1.0)
    provider = RefreshingProvider(source, clock=clock)

    async def main() -> tuple[list[Credentials], int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        results = await asyncio.gather(*(provider.aget() for _ in range(200)))
        stop.set()
        await tick_task
        return list(results), ticks

    results, ticks = asyncio.run(main())
    assert source.calls == 1
    assert {c.access_key_id for c in results} == {"AKID1"}
    # The loop kept running while the fetch ran in a thread.
    assert ticks >= 10

    clock.now += timedelta(minutes=55)
    results, _ = asyncio.run(main())
    assert source.calls == 2
    assert {c.access_key_id for c in results} == {"AKID2"}


def test_threads_and_several_event_loops_share_one_fetch() -> None:
    clock = Clock()
    source = Source(clock, timedelta(hours=1), delay=0.3)
    provider = RefreshingProvider(source, clock=clock)
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def loop_worker() -> None:
        async def go() -> list[Credentials]:
            return list(await asyncio.gather(*(provider.aget() for _ in range(50))))

        barrier.wait()
        seen.extend(c.access_key_id for c in asyncio.run(go()))

    def thread_worker() -> None:
        barrier.wait()
        seen.append(provider().access_key_id)

    threads = [threading.Thread(target=loop_worker) for _ in range(4)]
    threads += [threading.Thread(target=thread_worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert source.calls == 1
    assert len(seen) == 4 * 50 + 4 and set(seen) == {"AKID1"}


def test_async_fetch_function() -> None:
    clock = Clock()
    calls = 0

    async def afetch() -> Credentials:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return Credentials(f"AKIDA{calls}", SECRET, None, clock() + timedelta(hours=1))

    def no_sync() -> Credentials:
        raise AssertionError("the sync fetch must not be used by aget")

    provider = RefreshingProvider(no_sync, afetch=afetch, clock=clock)

    async def main() -> set[str]:
        results = await asyncio.gather(*(provider.aget() for _ in range(100)))
        return {c.access_key_id for c in results}

    assert asyncio.run(main()) == {"AKIDA1"}
    assert calls == 1


# -- resolving a source, and redaction ----------------------------------------------


def test_resolve_credentials_accepts_values_and_callables() -> None:
    creds = Credentials("AKIDR", SECRET)
    assert resolve_credentials(creds) is creds
    assert resolve_credentials(lambda: creds) is creds
    assert resolve_credentials(StaticProvider(creds)) is creds
    assert asyncio.run(aresolve_credentials(lambda: creds)) is creds
    assert asyncio.run(aresolve_credentials(StaticProvider(creds))) is creds
    with pytest.raises(CredentialsError, match=r"returned str, expected sigv4kit\.Credentials"):
        resolve_credentials(lambda: "AKID")  # type: ignore[arg-type]
    with pytest.raises(CredentialsError, match="expected Credentials or a zero-argument provider"):
        resolve_credentials("AKID")  # type: ignore[arg-type]


def test_no_secret_in_reprs_and_chain_description(files: AwsFiles) -> None:
    files.credentials.write_text(
        f"[default]\naws_access_key_id = AKIDREPR\naws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {TOKEN}\n"
    )
    chain = default_provider(environ=files.environ(), use_botocore=False)
    creds = chain()
    for text in (repr(creds), str(creds), repr(StaticProvider(creds)), chain.describe()):
        assert SECRET not in text and TOKEN not in text
    assert isinstance(chain, ChainProvider)


_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_XML_CREDS = (
    "<Credentials><AccessKeyId>ASIAXML</AccessKeyId><SecretAccessKey>xml-secret</SecretAccessKey>"
    "<SessionToken>xml-token</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>"
    "</Credentials>"
)


@pytest.mark.parametrize(
    ("action", "body", "error"),
    [
        # STS AssumeRole: namespaced, nested two levels down.
        (
            "AssumeRole",
            f'<AssumeRoleResponse xmlns="{_STS_NS}"><AssumeRoleResult>{_XML_CREDS}'
            "</AssumeRoleResult></AssumeRoleResponse>",
            None,
        ),
        # S3 Express CreateSession.
        ("CreateSession", f"<CreateSessionResult>{_XML_CREDS}</CreateSessionResult>", None),
        ("CreateSession", "not xml", "CreateSession answered something that is not XML"),
        ("AssumeRole", "<AssumeRoleResponse/>", r"AssumeRole answer has no <Credentials>"),
        (
            "CreateSession",
            "<CreateSessionResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials>"
            "</CreateSessionResult>",
            "CreateSession answer lacks SecretAccessKey, SessionToken, Expiration",
        ),
        (
            "AssumeRole",
            f"<R>{_XML_CREDS.replace('2030-01-01T00:00:00Z', 'soon')}</R>",
            "AssumeRole answer: expiration 'soon' is not an ISO 8601 timestamp",
        ),
    ],
)
def test_credentials_from_xml_answers(action: str, body: str, error: str | None) -> None:
    from sigv4kit.providers._sources import credentials_from_xml

    if error is not None:
        with pytest.raises(CredentialsError, match=error):
            credentials_from_xml(body.encode(), action)
        return
    creds = credentials_from_xml(body.encode(), action)
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == (
        "ASIAXML",
        "xml-secret",
        "xml-token",
    )
    assert creds.expiration == datetime(2030, 1, 1, tzinfo=timezone.utc)
