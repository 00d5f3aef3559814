"""Where the command finds credentials: flags, then environment, then profiles.

The order is the AWS CLI's.  The provider chain in :mod:`sigv4kit.providers`
does the environment and the profile files; if it cannot be imported (a
stripped install) the environment alone is read, so the command still works.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..credentials import Credentials
from ..errors import CredentialsError

__all__ = ["find_credentials", "find_region"]


def _from_env(env: Mapping[str, str]) -> Credentials | None:
    akid = env.get("AWS_ACCESS_KEY_ID", "").strip()
    secret = env.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not akid or not secret:
        return None
    token = env.get("AWS_SESSION_TOKEN", "").strip() or None
    return Credentials(akid, secret, token)


def find_credentials(
    access_key: str | None,
    secret_key: str | None,
    session_token: str | None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """Credentials from the flags, else the environment, else the profile files."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if access_key or secret_key:
        if not (access_key and secret_key):
            missing = "--secret-key" if access_key else "--access-key"
            raise CredentialsError(
                f"{missing} is missing: pass --access-key and --secret-key together "
                "(or neither, to use the environment or a profile)"
            )
        return Credentials(access_key, secret_key, session_token or None)
    try:
        from ..providers import default_provider
    except ImportError:  # pragma: no cover - providers ship with the package
        creds = None if profile else _from_env(environ)
        if creds is None:
            raise CredentialsError(
                "no credentials: pass --access-key/--secret-key or set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from None
    else:
        creds = default_provider(profile or None, environ=environ, use_botocore=True)()
    if session_token:
        creds = Credentials(creds.access_key_id, creds.secret_access_key, session_token)
    return creds


def find_region(profile: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The region from ``AWS_REGION``/``AWS_DEFAULT_REGION`` or the profile, if any."""
    environ: Mapping[str, str] = os.environ if env is None else env
    try:
        from ..providers import resolve_region
    except ImportError:  # pragma: no cover
        for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if environ.get(var, "").strip():
                return environ[var].strip()
        return None
    try:
        return resolve_region(profile or None, environ=environ)
    except CredentialsError:
        return None
