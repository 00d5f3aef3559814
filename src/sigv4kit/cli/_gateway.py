"""``sigv4kit gateway``: verify every request, forward the verified ones.

Only click is imported here; the gateway (aiohttp, the key store, Redis) is
imported when the command runs, so ``sigv4kit --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click

from ._common import CONTEXT
from ._serving import forward_config, host_port, serving_options

__all__ = ["gateway"]


def _rate(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip().lower().removesuffix("/s")
    try:
        rate = float(text)
    except ValueError:
        raise click.BadParameter(
            f"--rate-limit is requests per second per key (e.g. 100 or 100/s), got {value!r}"
        ) from None
    if rate <= 0:
        raise click.BadParameter("--rate-limit must be positive")
    return rate


@click.command("gateway", context_settings=CONTEXT)
@click.option("--listen", required=True, metavar="HOST:PORT", help="Where clients connect.")
@click.option(
    "--upstream", required=True, metavar="URL", help="scheme://host[:port] to forward to."
)
@click.option(
    "--keys",
    "keys_url",
    envvar="SIGV4KIT_KEYS",
    metavar="STORE",
    help="Key store: sqlite:///abs/path.db or postgresql://user@host:port/db "
    "(default: $SIGV4KIT_KEYS).",
)
@click.option("--region", default="us-east-1", show_default=True, help="Region clients sign for.")
@click.option("--service", default="s3", show_default=True, help="Service clients sign for.")
@serving_options
@click.option(
    "--replay-cache",
    metavar="redis://host:port/db",
    help="Refuse a second use of a signed request (shared by every node); also holds the "
    "shared rate limit.",
)
@click.option(
    "--replay-fail-open",
    is_flag=True,
    help="Accept requests when Redis is unreachable (default: refuse them with 503).",
)
@click.option(
    "--rate-limit",
    metavar="N[/s]",
    help="Requests per second per access key, shared through --replay-cache's Redis.",
)
@click.option("--rate-burst", type=float, metavar="N", help="Token bucket size (default: rate).")
@click.option(
    "--resign", is_flag=True, help="Sign forwarded requests again with upstream credentials."
)
@click.option("--upstream-region", metavar="R", help="Region of the upstream signature.")
@click.option("--upstream-service", metavar="S", help="Service of the upstream signature.")
@click.option("--upstream-profile", metavar="P", help="AWS profile for upstream credentials.")
@click.option(
    "--upstream-payload",
    type=click.Choice(["auto", "unsigned", "streaming"]),
    default="auto",
    show_default=True,
    help="Re-signed aws-chunked uploads: decoded then sent as UNSIGNED-PAYLOAD or re-encoded "
    "as signed aws-chunked (auto: unsigned over https, streaming over http).",
)
@click.option(
    "--key-cache-ttl",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds a cached key is trusted without a change notification.",
)
@click.option("--max-skew", type=float, metavar="SECONDS", help="Allowed clock skew.")
@click.option(
    "--client-timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds a client may leave its upload idle (then 400 RequestTimeout).",
)
@click.option(
    "--upstream-timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds the upstream may stay silent (then 504).",
)
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="NAME",
    help="The gateway's own host name (repeatable): requests to BUCKET.NAME (virtual-hosted "
    "addressing) go upstream path-style, /BUCKET/key. Without it every request is path-style.",
)
@click.option(
    "--no-debug",
    is_flag=True,
    help="Leave the canonical request and string to sign out of SignatureDoesNotMatch.",
)
def gateway(**o: Any) -> None:
    """Verify SigV4/SigV4a requests against a key store; forward the verified ones.

    Every request is verified as S3 verifies it (header, presigned URL,
    browser POST, aws-chunked uploads; SigV4 and SigV4a) with the keys in
    STORE.  Verified requests go to --upstream, streamed, with
    X-Sigv4kit-Access-Key-Id and X-Sigv4kit-Principal (the key's name) added
    and the client's Authorization, X-Amz-Security-Token and presign
    parameters removed.  Failures are answered with S3's XML errors and never
    reach the upstream.  With --resign the upstream request is signed again
    with the credential chain (or --upstream-profile).

    \b
    Examples:
      sigv4kit keys --store sqlite:///var/lib/sigv4kit/keys.db create --name alice
      sigv4kit gateway --listen 0.0.0.0:8080 --upstream http://10.0.0.5:9000 \\
          --keys sqlite:///var/lib/sigv4kit/keys.db --admin 127.0.0.1:9090
      sigv4kit gateway --listen :8080 --upstream https://s3.eu-west-1.amazonaws.com \\
          --keys postgresql://gw@db:5432/keys --replay-cache redis://cache:6379/0 \\
          --resign --upstream-region eu-west-1 --workers 4
    """
    if not o["keys_url"]:
        raise click.UsageError(
            "no key store: pass --keys sqlite:///absolute/path.db (or postgresql://...) or set "
            "$SIGV4KIT_KEYS; create keys with `sigv4kit keys --store STORE create`"
        )
    if (o["upstream_region"] or o["upstream_service"] or o["upstream_profile"]) and not o["resign"]:
        raise click.UsageError("--upstream-region/-service/-profile only apply with --resign")
    if o["rate_limit"] and not o["replay_cache"]:
        raise click.UsageError(
            "--rate-limit is shared through Redis: add --replay-cache redis://host:port/db"
        )
    from ..forward import serve
    from ..gateway.service import GatewayService

    options = _options(o)
    try:
        GatewayService(options, keys=_NotOpened())  # validate --upstream before forking
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    config = forward_config(
        o,
        host_port(o["listen"], "--listen", "127.0.0.1"),
        "127.0.0.1",
        read_timeout=o["upstream_timeout"],
    )
    logging.basicConfig(level=logging.WARNING, format="sigv4kit gateway: %(message)s")

    def listening(bound: int, admin_bound: int) -> None:
        info = {"listen": f"{config.host}:{bound}", "pid": os.getpid(), "workers": config.workers}
        if config.admin_port is not None:
            info["admin"] = f"{config.admin_host}:{admin_bound}"
        click.echo(json.dumps(info), err=True)
        sys.stderr.flush()

    code = serve(config, lambda: GatewayService(options), on_listening=listening)
    raise SystemExit(code)


def _options(o: dict[str, Any]) -> Any:
    """The :class:`GatewayOptions` for the command's options (upstream credentials resolved)."""
    from dataclasses import fields

    from ..gateway.service import GatewayOptions

    credentials: Any = None
    if o["resign"]:
        from ..errors import CredentialsError
        from ..providers import default_provider

        try:
            credentials = default_provider(o["upstream_profile"])
            credentials()  # fail now, with the chain's explanation, not per request
        except CredentialsError as exc:
            raise click.ClickException(f"--resign needs upstream credentials: {exc}") from None
    # Options named as GatewayOptions' fields go across as they are.
    same = {f.name: o[f.name] for f in fields(GatewayOptions) if f.name in o}
    same.update(
        upstream_credentials=credentials,
        fail_open=o["replay_fail_open"],
        include_debug=not o["no_debug"],
        replay_url=o["replay_cache"],
        rate_limit=_rate(o["rate_limit"]),
    )
    return GatewayOptions(**same)


class _NotOpened:
    async def get(self, access_key_id: str) -> None:  # pragma: no cover - never called
        return None
