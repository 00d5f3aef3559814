"""``sigv4kit probe``: what does this S3-compatible endpoint accept?"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..probe.profiles import PROFILES, profile_for, save_user_profile
from ._common import CONTEXT, echo_json, errors
from ._options import credential_options, find_credentials


@click.command("probe", context_settings=CONTEXT)
@click.argument("url")
@click.option("--bucket", required=True, help="An existing bucket to test in (left as found).")
@click.option("--region", help="Region to sign for (default: the host's, else the profile's).")
@click.option(
    "--provider",
    type=click.Choice(sorted(PROFILES)),
    help="Provider profile to start from (default: from the host, or a saved profile).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for tools).")
@click.option("--no-write", is_flag=True, help="Read-only checks: write nothing to the bucket.")
@click.option(
    "--save",
    is_flag=True,
    help="Write the measured profile for this endpoint to the user's profile file "
    "($SIGV4KIT_PROFILES, else ~/.config/sigv4kit/profiles.toml).",
)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per request.")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (test servers).")
@credential_options
def probe(
    url: str,
    bucket: str,
    region: str | None,
    provider: str | None,
    as_json: bool,
    no_write: bool,
    save: bool,
    timeout: float,
    insecure: bool,
    **kw: Any,
) -> None:
    """Test what an S3-compatible endpoint accepts, by sending each request for real.

    Every capability (signed, unsigned and aws-chunked uploads, trailers,
    each x-amz-checksum-*, Content-MD5, presigned GET/PUT, POST policy,
    SigV4a, path-style and virtual-hosted addressing) is tried with an
    object written under a fresh prefix and read back byte for byte; a server
    that stores the chunk framing counts as "no".  It also finds the longest
    presign expiry accepted (up to 7 days) and the clock skew tolerated.
    The objects it writes are deleted again, also on errors and Ctrl-C.

    \b
    Examples:
      sigv4kit probe http://127.0.0.1:8333 --bucket test
      sigv4kit probe https://ACCOUNT.r2.cloudflarestorage.com --bucket b --json
      sigv4kit probe https://s3.example.net --bucket b --save
    """
    from ..probe.runner import Prober
    from ..probe.verdict import recommended_profile

    if "://" not in url:
        raise click.UsageError(f"give the endpoint as a URL, e.g. https://{url}")
    base = profile_for(url, provider)
    if region is None:
        from ..endpoints import infer

        found = infer(url)
        region = found.region if found is not None and found.region != "*" else base.region
    creds = find_credentials(**kw)
    chatty = not as_json and sys.stderr.isatty()

    def say(step: str) -> None:
        if chatty:
            click.echo(f"probing {step}...", err=True)

    prober = Prober(
        url,
        bucket,
        creds,
        region,
        profile=base,
        write=not no_write,
        timeout=timeout,
        verify_tls=not insecure,
        say=say,
    )
    try:
        with errors():
            report = prober.run()
    except KeyboardInterrupt:
        click.echo("interrupted; the probe's objects were deleted", err=True)
        raise SystemExit(130) from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None
    if as_json:
        echo_json(report.as_json())
    else:
        click.echo(f"{report.endpoint} (bucket {bucket}, region {region}, profile {base.name})")
        click.echo(report.table())
    if save:
        path = save_user_profile(url, recommended_profile(base, report))
        click.echo(f"saved the measured profile for {report.endpoint} to {path}", err=True)
