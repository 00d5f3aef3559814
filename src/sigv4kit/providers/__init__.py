"""Credential providers: where credentials come from, and keeping them fresh.

A *provider* is any zero-argument callable that returns
:class:`sigv4kit.Credentials`.  ``Signer`` and the client adapters call it for
every request, so a provider decides itself how long to cache; it may block
(read a file, run a process).  One that also has ``async def aget()`` is
async-capable: async code awaits ``aget()``, which must never block the event
loop, and runs plain callables in a worker thread (:func:`aresolve_credentials`).
Every provider here subclasses :class:`Provider` and has ``aget``.

:class:`CredentialsNotFoundError` means "this source has nothing" (a chain
moves on) and lists every place looked at; any other
:class:`~sigv4kit.CredentialsError` means the source is there but broken.
:func:`default_provider` is the AWS CLI's chain, :class:`RefreshingProvider`
refreshes ahead of expiry, :func:`resolve_region` finds the region.  Nothing
here is imported by ``import sigv4kit``.
"""

from __future__ import annotations

from ._base import (
    AsyncCredentialProvider,
    CredentialProvider,
    CredentialsNotFoundError,
    CredentialsSource,
    Provider,
    aresolve_credentials,
    resolve_credentials,
)
from ._chain import ChainProvider, default_provider, resolve_region
from ._files import ProfileFileError, ProfileFiles, parse_ini
from ._refresh import RefreshingProvider
from ._sources import (
    BotocoreProvider,
    ConfigFileProvider,
    EnvironmentProvider,
    ProcessProvider,
    ProfileProcessProvider,
    SharedCredentialsProvider,
    StaticProvider,
    parse_expiration,
)

__all__ = [
    "AsyncCredentialProvider",
    "BotocoreProvider",
    "ChainProvider",
    "ConfigFileProvider",
    "CredentialProvider",
    "CredentialsNotFoundError",
    "CredentialsSource",
    "EnvironmentProvider",
    "ProcessProvider",
    "ProfileFileError",
    "ProfileFiles",
    "ProfileProcessProvider",
    "Provider",
    "RefreshingProvider",
    "SharedCredentialsProvider",
    "StaticProvider",
    "aresolve_credentials",
    "default_provider",
    "parse_expiration",
    "parse_ini",
    "resolve_credentials",
    "resolve_region",
]
