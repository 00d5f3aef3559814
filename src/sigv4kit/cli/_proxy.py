"""``sigv4kit proxy``: options in, :func:`sigv4kit.forward.serve` out.

Only click is imported here; aiohttp and the proxy load when the command
runs, so ``sigv4kit --help`` stays fast and works without the extra.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..presigning import MAX_PRESIGN_EXPIRES
from ._common import CONTEXT
from ._serving import forward_config, host_port, serving_options

if TYPE_CHECKING:
    from ..credentials import Credentials

__all__ = ["proxy"]


def _header(value: str) -> tuple[str, str]:
    name, sep, v = value.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--add-header")
    return name.strip(), v.strip()


def _bytes_option(flag: str, default: int, text: str) -> Callable[[Any], Any]:
    """A size in bytes (0 or more) with its default shown."""
    return click.option(
        flag, type=click.IntRange(0), default=default, show_default=True, metavar="BYTES", help=text
    )


def _no_credentials() -> Credentials:
    raise RuntimeError("not used: the options check builds the proxy without credentials")


@click.command(context_settings=CONTEXT)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    metavar="HOST:PORT",
    help="Where clients connect (plain HTTP, or TLS with --tls-cert/--tls-key).",
)
@click.option(
    "--upstream",
    metavar="URL",
    help="scheme://host[:port] to forward to (default: each request's Host, https).",
)
@click.option(
    "--upstream-scheme",
    type=click.Choice(["https", "http"]),
    default="https",
    show_default=True,
    help="Scheme used to reach each request's Host when there is no --upstream.",
)
@click.option("--region", help="Signing region (default: inferred from the upstream host).")
@click.option("--service", help="Signing name, e.g. s3, aps, es (default: inferred).")
@serving_options
@click.option("--sigv4a", is_flag=True, help="Sign with SigV4a (ECDSA).")
@click.option("--region-set", metavar="R1,R2", help="SigV4a region set (default: the region).")
@click.option(
    "--unsigned-payload",
    is_flag=True,
    help="Send bodies as UNSIGNED-PAYLOAD, streamed (same as --payload unsigned).",
)
@click.option(
    "--payload",
    "payload",
    type=click.Choice(["auto", "unsigned", "aws-chunked", "spool"]),
    default="auto",
    show_default=True,
    help="How bodies are signed. auto: S3 over TLS unsigned, S3 over plain HTTP "
    "aws-chunked, other services spooled and hashed.",
)
@click.option("--presign", is_flag=True, help="Query-string authentication instead of headers.")
@click.option(
    "--presign-expires",
    type=click.IntRange(1, MAX_PRESIGN_EXPIRES),
    default=900,
    show_default=True,
    help="Seconds a --presign signature is valid.",
)
@click.option(
    "--strip", multiple=True, metavar="NAME", help="Drop this client header (repeatable)."
)
@click.option(
    "--add-header",
    "add_header",
    multiple=True,
    metavar="'Name: value'",
    help="Add (and sign) this header on every request (repeatable).",
)
@click.option("--profile", help="AWS profile for the credential chain.")
@click.option("--role-arn", help="Assume this role (STS AssumeRole) and sign with its credentials.")
@click.option("--role-session-name", default="sigv4kit-proxy", show_default=True)
@click.option(
    "--sts-endpoint", metavar="URL", help="STS endpoint for --role-arn (default: regional)."
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key.")
@_bytes_option("--max-body", 1 << 30, "Largest body the proxy holds to hash (413 above it).")
@click.option(
    "--no-fallback",
    is_flag=True,
    help="Pass an upstream's refusal of aws-chunked, UNSIGNED-PAYLOAD or a checksum header "
    "through, instead of retrying once in the next mode its profile allows and remembering it.",
)
@_bytes_option(
    "--spool-memory",
    1 << 20,
    "Bodies held to hash stay in memory up to this size, then go to a temporary file.",
)
@click.option("--connect-timeout", type=float, default=10.0, show_default=True)
@click.option(
    "--read-timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds the upstream may stay silent.",
)
@click.option(
    "--upstream-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="CA bundle to verify a TLS upstream with.",
)
@click.option(
    "--event-loop",
    type=click.Choice(["auto", "uvloop", "asyncio"]),
    default="auto",
    show_default=True,
)
def proxy(**o: Any) -> None:
    """Sign each request with the credential chain and forward it (a sidecar proxy).

    \b
    Examples:
      sigv4kit proxy --listen 127.0.0.1:8080 \\
          --upstream https://aps-workspaces.us-east-1.amazonaws.com
      sigv4kit proxy --upstream http://127.0.0.1:8333 --region us-east-1 --service s3
    """
    try:
        from ..forward import serve
        from ..proxy import ProxyConfig, ProxyCredentials, SigningProxy, assume_role
    except ImportError as exc:
        raise click.ClickException(
            f"the proxy needs the 'proxy' extra ({exc.name} is missing): "
            "pip install 'sigv4kit[proxy]'"
        ) from None
    from ..providers import default_provider, resolve_region

    if bool(o["tls_cert"]) != bool(o["tls_key"]):
        raise click.UsageError("--tls-cert and --tls-key go together")
    region_set = [r.strip() for r in o["region_set"].split(",")] if o["region_set"] else None
    if region_set and not o["sigv4a"]:
        raise click.UsageError("--region-set needs --sigv4a")
    payload = "unsigned" if o["unsigned_payload"] else o["payload"]
    pconfig = ProxyConfig(
        upstream=o["upstream"],
        region=o["region"],
        service=o["service"],
        sigv4a=o["sigv4a"],
        region_set=region_set,
        payload=payload,
        presign=o["presign"],
        presign_expires=o["presign_expires"],
        strip=list(o["strip"]),
        add_headers=[_header(h) for h in o["add_header"]],
        max_body=o["max_body"],
        spool_memory=o["spool_memory"],
        upstream_scheme=o["upstream_scheme"],
        fallback=not o["no_fallback"],
    )
    fconfig = forward_config(
        o,
        host_port(o["listen"], "--listen", "0.0.0.0"),
        "0.0.0.0",
        tls_cert=o["tls_cert"],
        tls_key=o["tls_key"],
        connect_timeout=o["connect_timeout"],
        read_timeout=o["read_timeout"],
        upstream_ca=o["upstream_ca"],
        event_loop=o["event_loop"],
    )
    profile = o["profile"]
    role_arn = o["role_arn"]
    # Checked here, once, so a bad --upstream or an unknown host fails at start.
    try:
        SigningProxy(pconfig, ProxyCredentials(lambda: _no_credentials))
    except Exception as exc:
        raise click.ClickException(str(exc)) from None

    def source() -> Callable[[], Credentials]:
        chain = default_provider(profile or None)
        if not role_arn:
            return chain
        sts_region = o["region"] or resolve_region(profile or None) or "us-east-1"
        return assume_role(
            chain,
            role_arn,
            session_name=o["role_session_name"],
            region=sts_region,
            endpoint=o["sts_endpoint"],
        )

    def make() -> SigningProxy:
        name = f"assume-role {role_arn}" if role_arn else "credential chain"
        return SigningProxy(pconfig, ProxyCredentials(source, name=name))

    scheme = "https" if o["tls_cert"] else "http"

    def listening(p: int, a: int) -> None:
        where = o["upstream"] or "each request's Host"
        admin = (
            f", admin on http://{fconfig.admin_host}:{a}" if fconfig.admin_port is not None else ""
        )
        listen = f"{scheme}://{fconfig.host}:{p}"
        click.echo(f"sigv4kit proxy listening on {listen} -> {where}{admin}", err=True)
        sys.stderr.flush()

    raise SystemExit(serve(fconfig, make, on_listening=listening))
