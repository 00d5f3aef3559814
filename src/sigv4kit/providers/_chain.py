"""The default chain (in the AWS CLI's order) and region resolution."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping

from ..credentials import Credentials
from ..errors import CredentialsError
from ._base import CredentialProvider, CredentialsNotFoundError, Provider
from ._files import ProfileFiles, profile_name
from ._sources import (
    BotocoreProvider,
    ConfigFileProvider,
    EnvironmentProvider,
    ProfileProcessProvider,
    SharedCredentialsProvider,
    _string,
)

__all__ = ["ChainProvider", "default_provider", "resolve_region"]

# Profile settings that only botocore can turn into credentials (they need STS,
# SSO or a token file): when the profile has one, botocore is asked at the
# place the AWS CLI asks its assume-role / web-identity / SSO providers.
_BOTOCORE_ONLY = (
    "role_arn",
    "web_identity_token_file",
    "sso_start_url",
    "sso_session",
    "sso_account_id",
    "login_session",
)


class ChainProvider(Provider):
    """Ask providers in order; the first with credentials is kept.

    A provider that has nothing raises :class:`CredentialsNotFoundError` and
    the chain moves on; any other :class:`CredentialsError` (a broken file, a
    failing process) stops the chain.  Once one provider answered, later
    calls go straight to it, as the AWS CLI resolves once per session.
    """

    def __init__(self, providers: Iterable[CredentialProvider], *, hint: str | None = None):
        self._providers = list(providers)
        self._hint = hint
        self._chosen: CredentialProvider | None = None
        self._lock = threading.Lock()

    @property
    def providers(self) -> list[CredentialProvider]:
        return list(self._providers)

    @property
    def chosen(self) -> CredentialProvider | None:
        """The provider that answered, once one did."""
        return self._chosen

    def describe(self) -> str:
        return "chain of " + ", ".join(_describe(p) for p in self._providers)

    def __call__(self) -> Credentials:
        chosen = self._chosen
        if chosen is not None:
            return chosen()
        with self._lock:
            if self._chosen is not None:
                return self._chosen()
            places: list[str] = []
            for provider in self._providers:
                try:
                    creds = provider()
                except CredentialsNotFoundError as exc:
                    places.extend(exc.places)
                    continue
                if not isinstance(creds, Credentials):
                    raise CredentialsError(
                        f"{_describe(provider)} returned {type(creds).__name__}, "
                        "expected sigv4kit.Credentials"
                    )
                self._chosen = provider
                return creds
            raise CredentialsNotFoundError(places, hint=self._hint)

    async def aget(self) -> Credentials:
        chosen = self._chosen
        aget = getattr(chosen, "aget", None)
        if aget is not None:
            creds: Credentials = await aget()
            return creds
        return await super().aget()


def _describe(provider: object) -> str:
    describe = getattr(provider, "describe", None)
    return describe() if callable(describe) else repr(provider)


class _ProfileBotocore(Provider):
    """botocore, asked only when the profile needs STS/SSO/web identity."""

    def __init__(
        self,
        profile: str,
        files: ProfileFiles,
        environ: Mapping[str, str],
        explicit_profile: bool,
    ) -> None:
        self._profile = profile
        self._files = files
        self._environ = environ
        self._explicit = explicit_profile
        self._delegate: BotocoreProvider | None = None

    def describe(self) -> str:
        return f"assume-role / web identity / SSO settings of profile {self._profile!r}"

    def __call__(self) -> Credentials:
        if self._delegate is None:
            section = self._files.merged_profile(self._profile)
            keys = [k for k in _BOTOCORE_ONLY if _string(section.get(k))]
            env = self._environ
            env_web_identity = bool(
                env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN")
            )
            if not keys and not env_web_identity:
                raise CredentialsNotFoundError(
                    [f"{self.describe()} (none: no {', '.join(_BOTOCORE_ONLY[:4])})"]
                )
            try:
                import botocore  # noqa: F401
            except ImportError:
                used = ", ".join(keys) or "AWS_WEB_IDENTITY_TOKEN_FILE"
                raise CredentialsError(
                    f"profile {self._profile!r} uses {used}, which needs botocore to call "
                    "STS or SSO; install it with `pip install botocore`"
                ) from None
            self._delegate = BotocoreProvider(
                profile=self._profile if self._explicit else None,
                credentials_file=self._files.credentials_path,
                config_file=self._files.config_path,
            )
        return self._delegate()


def default_provider(
    profile: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    credentials_file: str | None = None,
    config_file: str | None = None,
    use_botocore: bool = True,
    process_timeout: float | None = 60.0,
) -> ChainProvider:
    """The credential chain in the AWS CLI's order.

    1. environment variables (skipped when ``profile`` is passed explicitly,
       as ``aws --profile`` and ``botocore.Session(profile=...)`` skip them);
    2. the profile's assume-role, web-identity or SSO settings, through
       botocore (an error names what to install if botocore is missing);
    3. the shared credentials file;
    4. ``credential_process`` in the profile;
    5. static keys in the config file;
    6. botocore's remaining providers -- container credentials and EC2
       instance metadata -- when botocore is installed and ``use_botocore``.

    The profile is ``profile``, else ``AWS_PROFILE``, else ``default``.  A
    profile chosen explicitly (argument or variable) that exists in neither
    file is an error, not a silent fall-through.  Files are read once, here.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    explicit = bool(profile) or bool(env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE"))
    name = profile_name(profile, env)
    files = ProfileFiles(credentials_path=credentials_file, config_path=config_file, environ=env)
    if explicit and not files.has_profile(name):
        source = "the profile argument" if profile else "AWS_PROFILE"
        raise CredentialsError(
            f"profile {name!r} (from {source}) is not defined: "
            f"{files.miss_hint(name, in_config=False)}; "
            f"{files.miss_hint(name, in_config=True)}"
        )
    chain: list[CredentialProvider] = []
    if not profile:
        chain.append(EnvironmentProvider(env))
    chain.append(_ProfileBotocore(name, files, env, explicit))
    chain.append(SharedCredentialsProvider(name, environ=env, files=files))
    chain.append(ProfileProcessProvider(name, environ=env, files=files, timeout=process_timeout))
    chain.append(ConfigFileProvider(name, environ=env, files=files))
    if use_botocore:
        chain.append(
            BotocoreProvider(
                profile=name if explicit else None,
                credentials_file=files.credentials_path,
                config_file=files.config_path,
            )
        )
    return ChainProvider(chain)


def resolve_region(
    profile: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    credentials_file: str | None = None,
    config_file: str | None = None,
) -> str | None:
    """The region from the same places the AWS CLI looks, or ``None``.

    Order: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's
    ``region`` setting; a ``region`` in the credentials file overrides the
    config file's, because botocore merges the credentials file over it.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = env.get(var, "").strip()
        if value:
            return value
    name = profile_name(profile, env)
    files = ProfileFiles(credentials_path=credentials_file, config_path=config_file, environ=env)
    return _string(files.merged_profile(name).get("region")) or None
