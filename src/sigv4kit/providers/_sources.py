"""The concrete credential sources: static, environment, profile files,
``credential_process`` and botocore.

Each raises :class:`CredentialsNotFoundError` when its source simply has
nothing (so a chain can move on) and a plain :class:`CredentialsError` when the
source is there but broken (a half-set key pair, a failing process): a chain
stops on those, as the AWS CLI does, because silently falling through to other
credentials would sign with an identity the user did not choose.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from ..credentials import Credentials
from ..errors import CredentialsError, SigningError
from ._base import CredentialsNotFoundError, Provider
from ._files import ProfileFiles, Value, profile_name
from ._refresh import RefreshingProvider

__all__ = [
    "BotocoreProvider",
    "ConfigFileProvider",
    "EnvironmentProvider",
    "ProcessProvider",
    "ProfileProcessProvider",
    "SharedCredentialsProvider",
    "StaticProvider",
    "parse_expiration",
]

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def parse_expiration(text: str, *, what: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 instant; a missing offset means UTC.

    Not ``fromisoformat``: Python 3.10's rejects ``Z`` and odd fraction
    lengths, both of which credential sources emit.
    """
    m = _TIMESTAMP.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise CredentialsError(
            f"{what}: expiration {text!r} is not an ISO 8601 timestamp such as 2030-01-01T00:00:00Z"
        )
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        tz = timezone.utc
        if m.group(9):
            # timezone() refuses offsets of 24 hours or more ("+99:00").
            offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
            tz = timezone(-offset if m.group(9) == "-" else offset)
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise CredentialsError(f"{what}: expiration {text!r} is not a valid date ({exc})") from None


def _make(
    what: str,
    access_key_id: str,
    secret: str,
    token: str | None = None,
    expiration: datetime | None = None,
) -> Credentials:
    try:
        return Credentials(access_key_id, secret, token or None, expiration)
    except SigningError as exc:
        raise CredentialsError(f"{what}: {exc}") from None


class StaticProvider(Provider):
    """Always the same credentials (useful to put fixed keys into a chain)."""

    def __init__(self, credentials: Credentials) -> None:
        if not isinstance(credentials, Credentials):
            raise CredentialsError("StaticProvider needs a sigv4kit.Credentials value")
        self._credentials = credentials

    def __call__(self) -> Credentials:
        return self._credentials

    async def aget(self) -> Credentials:
        return self._credentials

    def describe(self) -> str:
        return "static credentials"

    def __repr__(self) -> str:
        return f"StaticProvider({self._credentials!r})"


class EnvironmentProvider(Provider):
    """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``.

    The variables are read on every call (it costs nothing), so a process that
    rotates them in ``os.environ`` is followed.  ``AWS_SECURITY_TOKEN`` (the
    old name) and ``AWS_CREDENTIAL_EXPIRATION`` are honoured as botocore does.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def describe(self) -> str:
        return "environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"

    def __call__(self) -> Credentials:
        env = os.environ if self._environ is None else self._environ
        akid = env.get("AWS_ACCESS_KEY_ID", "")
        secret = env.get("AWS_SECRET_ACCESS_KEY", "")
        if not akid and not secret:
            raise CredentialsNotFoundError([f"{self.describe()} (not set)"])
        if not akid or not secret:
            missing = "AWS_ACCESS_KEY_ID" if not akid else "AWS_SECRET_ACCESS_KEY"
            present = "AWS_SECRET_ACCESS_KEY" if not akid else "AWS_ACCESS_KEY_ID"
            raise CredentialsError(f"{present} is set but {missing} is not; set both or unset both")
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        exp_text = env.get("AWS_CREDENTIAL_EXPIRATION")
        expiration = (
            parse_expiration(exp_text, what="AWS_CREDENTIAL_EXPIRATION") if exp_text else None
        )
        return _make("environment variables", akid, secret, token, expiration)

    async def aget(self) -> Credentials:
        return self()


def _string(value: Value | None) -> str:
    return value.strip() if isinstance(value, str) else ""


def _keys_from_section(section: dict[str, Value], where: str) -> Credentials | None:
    akid = _string(section.get("aws_access_key_id"))
    secret = _string(section.get("aws_secret_access_key"))
    if not akid and not secret:
        return None
    if not akid or not secret:
        missing = "aws_access_key_id" if not akid else "aws_secret_access_key"
        raise CredentialsError(f"{where} sets one key of the pair but not {missing}")
    token = _string(section.get("aws_session_token")) or _string(section.get("aws_security_token"))
    return _make(where, akid, secret, token or None)


class _ProfileSource(Provider):
    """Common plumbing: which profile, which files; reads the files on first use."""

    def __init__(
        self,
        profile: str | None = None,
        *,
        credentials_file: str | None = None,
        config_file: str | None = None,
        environ: Mapping[str, str] | None = None,
        files: ProfileFiles | None = None,
    ) -> None:
        self._profile = profile_name(profile, environ)
        self._paths = (credentials_file, config_file)
        self._environ = environ
        self._files = files
        self._cached: Credentials | None = None

    @property
    def profile(self) -> str:
        return self._profile

    def files(self) -> ProfileFiles:
        if self._files is None:
            self._files = ProfileFiles(
                credentials_path=self._paths[0],
                config_path=self._paths[1],
                environ=self._environ,
            )
        return self._files


class _ProfileKeys(_ProfileSource):
    """Static keys from the profile's section of one of the shared files."""

    _kind: ClassVar[str]
    _in_config: ClassVar[bool]

    def describe(self) -> str:
        return f"{self._kind}, profile {self._profile!r}"

    def __call__(self) -> Credentials:
        if self._cached is not None:
            return self._cached
        files = self.files()
        section, where = files.locate(self._profile, in_config=self._in_config)
        if section is None:
            miss = files.miss_hint(self._profile, in_config=self._in_config)
            raise CredentialsNotFoundError([f"{self._kind} {miss}"])
        creds = _keys_from_section(section, where)
        if creds is None:
            raise CredentialsNotFoundError([f"{self._kind} {where} (no aws_access_key_id)"])
        self._cached = creds
        return creds


class SharedCredentialsProvider(_ProfileKeys):
    """Keys from the shared credentials file (``[name]`` sections)."""

    _kind = "shared credentials file"
    _in_config = False


class ConfigFileProvider(_ProfileKeys):
    """Static keys written into the config file (``[profile name]`` sections)."""

    _kind = "config file"
    _in_config = True


# -- credential_process --------------------------------------------------------


def _run_process(command: str | list[str], timeout: float | None) -> Credentials:
    argv = shlex.split(command, posix=os.name != "nt") if isinstance(command, str) else command
    if not argv:
        raise CredentialsError("credential_process is empty")
    what = f"credential_process {argv[0]!r}"
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise CredentialsError(f"{what}: program not found") from None
    except PermissionError:
        raise CredentialsError(f"{what}: program is not executable") from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"{what}: no answer within {timeout} seconds") from None
    if proc.returncode != 0:
        # stderr is the process's own diagnostics; stdout may hold secrets.
        err = proc.stderr.decode("utf-8", "replace").strip()
        if len(err) > 500:
            err = err[:500] + "..."
        raise CredentialsError(
            f"{what} exited with status {proc.returncode}" + (f": {err}" if err else "")
        )
    try:
        doc: Any = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        # Never echo the output: it may hold a secret key.
        raise CredentialsError(
            f"{what}: output is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise CredentialsError(f"{what}: output is not UTF-8") from None
    if not isinstance(doc, dict):
        raise CredentialsError(f"{what}: output must be a JSON object")
    version = doc.get("Version")
    if version != 1:
        raise CredentialsError(
            f"{what}: unsupported Version {version!r}; the only supported version is 1"
        )
    missing = [k for k in ("AccessKeyId", "SecretAccessKey") if not doc.get(k)]
    if missing:
        raise CredentialsError(f"{what}: output lacks {', '.join(missing)}")
    for key in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise CredentialsError(f"{what}: {key} must be a string")
    expiration = parse_expiration(doc["Expiration"], what=what) if doc.get("Expiration") else None
    token = doc.get("SessionToken")
    return _make(what, doc["AccessKeyId"], doc["SecretAccessKey"], token, expiration)


# -- AWS XML answers -------------------------------------------------------------

_XML_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")


def credentials_from_xml(body: bytes, action: str) -> Credentials:
    """Session credentials from the ``<Credentials>`` element of an AWS XML answer.

    STS ``AssumeRole`` and S3 Express ``CreateSession`` both answer with
    ``AccessKeyId``, ``SecretAccessKey``, ``SessionToken`` and ``Expiration``
    in a ``<Credentials>`` element (XML namespaces aside), so one parser
    serves both; ``action`` names the call in errors.
    """
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise CredentialsError(f"{action} answered something that is not XML") from None
    node = next((el for el in root.iter() if el.tag.rpartition("}")[2] == "Credentials"), None)
    if node is None:
        raise CredentialsError(f"{action} answer has no <Credentials>")
    fields = {el.tag.rpartition("}")[2]: (el.text or "").strip() for el in node}
    missing = [name for name in _XML_FIELDS if name not in fields]
    if missing:
        raise CredentialsError(f"{action} answer lacks {', '.join(missing)}")
    what = f"{action} answer"
    return _make(
        what,
        fields["AccessKeyId"],
        fields["SecretAccessKey"],
        fields["SessionToken"],
        parse_expiration(fields["Expiration"], what=what),
    )


class ProcessProvider(RefreshingProvider):
    """Credentials printed by an external program (``credential_process``).

    The program prints ``{"Version": 1, "AccessKeyId": ..., "SecretAccessKey":
    ..., "SessionToken": ..., "Expiration": "2030-01-01T00:00:00Z"}``.  It runs
    on first use and again ahead of ``Expiration``; without ``Expiration`` the
    credentials are kept for the life of the provider.  A string command is
    split like a shell would (no shell is run).
    """

    def __init__(
        self,
        command: str | list[str],
        *,
        timeout: float | None = 60.0,
        advisory_refresh: timedelta = timedelta(minutes=15),
        mandatory_refresh: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.command = command
        shown = command if isinstance(command, str) else shlex.join(command)
        super().__init__(
            lambda: _run_process(command, timeout),
            advisory_refresh=advisory_refresh,
            mandatory_refresh=mandatory_refresh,
            name=f"credential_process {shown!r}",
            clock=clock,
        )


class ProfileProcessProvider(_ProfileSource):
    """``credential_process`` configured in a profile (either file).

    Takes the arguments of :class:`SharedCredentialsProvider` (``profile``,
    ``credentials_file``, ``config_file``, ``environ``, ``files``), and the
    process's ``timeout`` in seconds.
    """

    def __init__(
        self, profile: str | None = None, *, timeout: float | None = 60.0, **where: Any
    ) -> None:
        super().__init__(profile, **where)
        self._timeout = timeout
        self._process: ProcessProvider | None = None

    def describe(self) -> str:
        return f"credential_process in profile {self._profile!r}"

    def _provider(self) -> ProcessProvider:
        if self._process is None:
            files = self.files()
            command = _string(files.merged_profile(self._profile).get("credential_process"))
            if not command:
                raise CredentialsNotFoundError(
                    [
                        f"credential_process in profile {self._profile!r} of "
                        f"{files.config_path} / {files.credentials_path} (not set)"
                    ]
                )
            self._process = ProcessProvider(command, timeout=self._timeout)
        return self._process

    def __call__(self) -> Credentials:
        return self._provider()()

    async def aget(self) -> Credentials:
        import asyncio

        if self._process is None:
            await asyncio.to_thread(self._provider)
        assert self._process is not None
        return await self._process.aget()


# -- botocore ------------------------------------------------------------------


class BotocoreProvider(Provider):
    """Credentials from a botocore session: SSO, assume-role, web identity,
    container and EC2 instance metadata, and everything else botocore knows.

    botocore refreshes its own temporary credentials; each call asks it for a
    frozen snapshot.  botocore is imported on first use only.  A session you
    pass in is used as is; otherwise one is made for ``profile`` and the
    files given (botocore reads the rest of its settings from the process
    environment).
    """

    def __init__(
        self,
        session: Any = None,
        *,
        profile: str | None = None,
        credentials_file: str | None = None,
        config_file: str | None = None,
    ) -> None:
        self._session = session
        self._profile = profile
        self._paths = (credentials_file, config_file)
        self._botocore_creds: Any = None

    def describe(self) -> str:
        return "botocore session" + (f", profile {self._profile!r}" if self._profile else "")

    def _resolve(self) -> Any:
        if self._botocore_creds is not None:
            return self._botocore_creds
        session = self._session
        if session is None:
            try:
                import botocore.session
            except ImportError:
                raise CredentialsNotFoundError(
                    [
                        "botocore (not installed; `pip install botocore` adds SSO, assume-role, "
                        "container and EC2 instance-metadata credentials)"
                    ]
                ) from None
            session = botocore.session.Session(profile=self._profile)
            if self._paths[0]:
                session.set_config_variable("credentials_file", self._paths[0])
            if self._paths[1]:
                session.set_config_variable("config_file", self._paths[1])
        try:
            creds = session.get_credentials()
        except Exception as exc:
            # botocore's messages name the profile and the setting; they carry
            # no secrets.
            raise CredentialsError(f"botocore could not load credentials: {exc}") from None
        if creds is None:
            raise CredentialsNotFoundError(
                ["botocore's provider chain (container credentials, EC2 instance metadata, ...)"]
            )
        self._botocore_creds = creds
        return creds

    def __call__(self) -> Credentials:
        creds = self._resolve()
        try:
            frozen = creds.get_frozen_credentials()
        except Exception as exc:
            raise CredentialsError(f"botocore could not refresh credentials: {exc}") from None
        expiry = getattr(creds, "_expiry_time", None)
        if not isinstance(expiry, datetime) or expiry.tzinfo is None:
            expiry = None
        return _make(
            "botocore credentials", frozen.access_key, frozen.secret_key, frozen.token, expiry
        )
