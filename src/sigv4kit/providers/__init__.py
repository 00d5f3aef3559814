"""Credential providers: where credentials come from, and keeping them fresh.

The protocol
------------
A *provider* is any zero-argument callable that returns
:class:`sigv4kit.Credentials`::

    def my_provider() -> Credentials: ...

``Signer`` and the client adapters accept either a ``Credentials`` value or a
provider, and call the provider for every request, so a provider decides
itself how long to cache.  A provider may block (read a file, run a
process, call botocore).  A provider that also has ``async def aget() ->
Credentials`` is *async-capable*: async adapters await ``aget()`` instead of
calling it, and ``aget`` must never block the running event loop.  Plain
callables without ``aget`` are run in a worker thread by async code
(:func:`aresolve_credentials`).  Errors are :class:`sigv4kit.CredentialsError`;
:class:`CredentialsNotFoundError` (a subclass) means "this source has
nothing" and lists every place looked at.

Every provider here subclasses :class:`Provider` and has ``aget``.

The sources
-----------
* :class:`StaticProvider` -- fixed keys.
* :class:`EnvironmentProvider` -- ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``.
* :class:`SharedCredentialsProvider`, :class:`ConfigFileProvider` -- the
  files named by ``AWS_SHARED_CREDENTIALS_FILE`` / ``AWS_CONFIG_FILE``
  (default ``~/.aws/credentials`` and ``~/.aws/config``), profile from
  ``AWS_PROFILE``.  Parse errors name the file and line.
* :class:`ProcessProvider`, :class:`ProfileProcessProvider` --
  ``credential_process`` (JSON ``Version`` 1, refreshed before
  ``Expiration``).
* :class:`BotocoreProvider` -- anything botocore can load (SSO, assume-role,
  IMDS, containers); botocore is imported only when it is used.
* :func:`default_provider` -- all of the above in the AWS CLI's order.
* :class:`RefreshingProvider` -- wraps any fetch function and refreshes ahead
  of expiry, once, for any number of threads and asyncio tasks.
* :func:`resolve_region` -- ``AWS_REGION``, ``AWS_DEFAULT_REGION``, profile
  ``region``.

Nothing here is imported by ``import sigv4kit``.
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
