"""The provider protocol, the base class of the concrete providers, and the two
helpers that resolve a credentials source (a value or a provider)."""

from __future__ import annotations

import abc
from typing import Protocol, TypeAlias, runtime_checkable

from ..credentials import Credentials
from ..errors import (
    CredentialsError,
    CredentialsNotFoundError,
)

__all__ = [
    "AsyncCredentialProvider",
    "CredentialProvider",
    "CredentialsNotFoundError",
    "CredentialsSource",
    "Provider",
    "aresolve_credentials",
    "resolve_credentials",
]


@runtime_checkable
class CredentialProvider(Protocol):
    """Anything that returns current credentials when called with no arguments."""

    def __call__(self) -> Credentials: ...


@runtime_checkable
class AsyncCredentialProvider(Protocol):
    """A provider that can also be awaited without blocking the event loop."""

    def __call__(self) -> Credentials: ...

    async def aget(self) -> Credentials: ...


CredentialsSource: TypeAlias = Credentials | CredentialProvider


class Provider(abc.ABC):
    """Base class of sigv4kit's providers.

    ``__call__`` may block (files, subprocesses, botocore); ``aget`` never
    blocks the running event loop: by default it runs ``__call__`` in a worker
    thread.  Providers whose lookup is cheap override ``aget`` to skip the
    thread hop.
    """

    @abc.abstractmethod
    def __call__(self) -> Credentials:
        """Return current credentials or raise :class:`CredentialsError`."""

    async def aget(self) -> Credentials:
        import asyncio

        return await asyncio.to_thread(self)

    def describe(self) -> str:
        """One line naming where this provider looks (for error messages)."""
        return type(self).__name__


def _check(value: object, source: object) -> Credentials:
    if not isinstance(value, Credentials):
        raise CredentialsError(
            f"credentials provider {source!r} returned {type(value).__name__}, "
            "expected sigv4kit.Credentials"
        )
    return value


def _callable(source: object) -> CredentialProvider:
    if not callable(source):
        raise CredentialsError(
            f"expected Credentials or a zero-argument provider, got {type(source).__name__}"
        )
    return source


def resolve_credentials(source: CredentialsSource) -> Credentials:
    """Credentials from either a ``Credentials`` value or a provider callable."""
    if isinstance(source, Credentials):
        return source
    return _check(_callable(source)(), source)


async def aresolve_credentials(source: CredentialsSource) -> Credentials:
    """Like :func:`resolve_credentials`, without blocking the event loop: a
    provider with ``aget`` is awaited, a plain callable (it may read files or
    run a process) runs in a worker thread."""
    if isinstance(source, Credentials):
        return source
    aget = getattr(source, "aget", None)
    if aget is not None:
        return _check(await aget(), source)
    import asyncio

    return _check(await asyncio.to_thread(_callable(source)), source)
