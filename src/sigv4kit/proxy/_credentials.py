"""Credentials for a long-running proxy: the chain, kept fresh, and AssumeRole.

The proxy resolves credentials once at start (``/readyz`` turns 200 when
that worked), then reads them from a :class:`~sigv4kit.providers.
RefreshingProvider`, which fetches new ones ahead of expiry; a background
task asks every 30 s, so an idle proxy holding temporary credentials is
never caught with expired ones by its next request.  An upstream answer
``ExpiredToken`` (credentials revoked early, or a clock that disagrees)
makes :meth:`ProxyCredentials.force_refresh` drop the cache and fetch anew.

``--role-arn`` wraps the chain: its credentials sign an STS ``AssumeRole``
call -- with sigv4kit's own :class:`~sigv4kit.Signer`, no botocore -- and
the role's temporary credentials sign the proxied requests, refreshed the
same way before they expire.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from xml.etree import ElementTree

from ..credentials import Credentials
from ..errors import CredentialsError

__all__ = ["ProxyCredentials", "assume_role"]

_log = logging.getLogger("sigv4kit.proxy")
_STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


class ProxyCredentials:
    """The credentials the proxy signs with, refreshed while it runs."""

    def __init__(
        self,
        source: Callable[[], Callable[[], Credentials]],
        *,
        name: str = "credential chain",
    ):
        # ``source`` makes a fetch function: called again by force_refresh so
        # caches inside the chain (a credential_process provider keeps its
        # own) are dropped too.
        self._source = source
        self._fetch = source()
        self._name = name
        self._provider = self._new_provider()
        self.current: Credentials | None = None
        self.error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def _new_provider(self) -> object:
        from ..providers import RefreshingProvider

        return RefreshingProvider(self._fetch, name=self._name)

    @property
    def ready(self) -> bool:
        return self.current is not None

    async def get(self) -> Credentials:
        """Fresh credentials (cheap when cached: no I/O, no thread)."""
        creds: Credentials = await self._provider.aget()  # type: ignore[attr-defined]
        self.current = creds
        return creds

    async def force_refresh(self) -> Credentials:
        """Forget the cached credentials (the chain's too) and fetch new ones."""
        self._fetch = self._source()
        self._provider = self._new_provider()
        return await self.get()

    async def start(self) -> None:
        """Resolve once now (errors are kept for /readyz and logs) and keep refreshing."""
        await self._try()
        self._task = asyncio.get_running_loop().create_task(self._keep_fresh())

    async def _try(self) -> None:
        try:
            await self.get()
            self.error = None
        except Exception as exc:  # kept: the proxy answers 500 naming it
            self.error = f"{type(exc).__name__}: {exc}"
            _log.warning("credentials not available: %s", self.error)

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(30 if self.current is not None else 2)
            await self._try()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def assume_role(
    base: Callable[[], Credentials],
    role_arn: str,
    *,
    session_name: str = "sigv4kit-proxy",
    region: str = "us-east-1",
    endpoint: str | None = None,
    duration: int = 3600,
    timeout: float = 30.0,
) -> Callable[[], Credentials]:
    """A fetch function: STS AssumeRole signed with ``base``'s credentials.

    ``endpoint`` defaults to the regional STS endpoint
    (``https://sts.REGION.amazonaws.com``).  Blocking (urllib); the
    refreshing provider runs it in a thread.
    """
    from ..signer import Signer

    url = (endpoint or f"https://sts.{region}.amazonaws.com").rstrip("/") + "/"
    form = urllib.parse.urlencode(
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": str(duration),
        }
    ).encode()

    def fetch() -> Credentials:
        signer = Signer(base(), region, "sts")
        signed = signer.sign(
            "POST",
            url,
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            form,
        )
        req = urllib.request.Request(signed.url, data=form, method="POST")
        for n, v in signed.headers:
            if n.lower() != "host":
                req.add_header(n, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:2000].decode("utf-8", "replace")
            code = _xml_text(detail, "Code") or str(exc.code)
            message = _xml_text(detail, "Message") or ""
            raise CredentialsError(
                f"AssumeRole {role_arn} at {url} failed: {code} {message}".rstrip()
                + "; check --role-arn and that the base credentials may assume it"
            ) from None
        except OSError as exc:
            raise CredentialsError(f"AssumeRole: cannot reach STS at {url}: {exc}") from None
        return parse_assume_role(body)

    fetch.__name__ = f"assume-role {role_arn}"
    return fetch


def _xml_text(text: str, tag: str) -> str | None:
    start = text.find(f"<{tag}>")
    end = text.find(f"</{tag}>")
    if start < 0 or end < 0:
        return None
    return text[start + len(tag) + 2 : end].strip()


def parse_assume_role(body: bytes) -> Credentials:
    """Credentials from an ``AssumeRoleResponse`` document."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise CredentialsError("AssumeRole answered something that is not XML") from None
    node = None
    for el in root.iter():
        if el.tag.rpartition("}")[2] == "Credentials":
            node = el
            break
    if node is None:
        raise CredentialsError("AssumeRole answer has no <Credentials>")
    fields = {el.tag.rpartition("}")[2]: (el.text or "").strip() for el in node}
    try:
        expiration = datetime.fromisoformat(fields["Expiration"].replace("Z", "+00:00"))
        return Credentials(
            fields["AccessKeyId"],
            fields["SecretAccessKey"],
            fields["SessionToken"],
            expiration=expiration,
        )
    except KeyError as exc:
        raise CredentialsError(f"AssumeRole answer lacks {exc.args[0]}") from None
