"""What every command shares: error handling, JSON output, scope inference, inputs
(apart, so the command modules import it without importing each other)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click

from ..client._common import host_of as host_of
from ..credentials import Credentials
from ..endpoints import infer as infer_endpoint
from ..errors import CredentialsError, SigV4Error
from ..presigning import amz_datetime
from ..rawhttp import RawRequest, parse_raw_request
from ..signer import SignedRequest, parse_timestamp
from ._options import RequestOptions
from ._render import color_wanted

__all__ = [
    "CONTEXT",
    "echo_json",
    "errors",
    "host_of",
    "infer",
    "parse_now",
    "presign_with",
    "read_input",
    "read_raw",
    "sign_with",
]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@contextmanager
def errors() -> Iterator[None]:
    """Library errors become one-line messages, never tracebacks."""
    try:
        yield
    except SigV4Error as exc:
        raise click.ClickException(str(exc)) from None


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def sign_with(
    opts: RequestOptions,
    method: str,
    url: str,
    *,
    quiet: bool = False,
    credentials: Credentials | None = None,
    hoist: bool = False,
) -> tuple[SignedRequest, Credentials]:
    """Sign METHOD URL with the -H headers and the -d body as the flags say, to print it:
    header signing or, with --presign, a presigned URL under the expiry rule."""
    body = opts.body()
    try:
        if not (opts.region or opts.region_set) or not opts.service:
            opts.region, opts.service = infer(opts, host_of(url), quiet=quiet)
        with errors():
            if opts.presign:
                return presign_with(opts, method, url, body=body.for_signer(), hoist=hoist)
            creds = credentials or opts.credentials()
            payload = opts.payload()
            send: object = body.for_signer()
            if body.file is not None and not body.seekable and payload is None:
                # A pipe can be hashed once, in pieces, but then it is gone: fine for
                # printing a signature, which sends nothing.
                payload = body.sha256_streaming()
                send = None
            signer = opts.signer(creds)
            headers = opts.header_list()
            return signer.sign(
                method, url, headers, body=send, timestamp=opts.timestamp, payload=payload
            ), creds
    finally:
        body.close()


def presign_with(
    opts: RequestOptions, method: str, url: str, **extra: Any
) -> tuple[SignedRequest, Credentials]:
    """Presign METHOD URL with the -H headers as the flags say (--expires, --cap-expires).

    The expiry rule applies: credentials that end before the URL would are
    refused unless --cap-expires.  ``extra`` goes to ``presign_request``.
    """
    assert opts.expires is not None, "--expires has a default, or the command checks it"
    creds = opts.credentials()
    signed = opts.signer(creds).presign_request(
        method,
        url,
        opts.header_list(),
        expires=opts.expires,
        timestamp=opts.timestamp,
        payload=opts.payload(),
        cap_expires=opts.cap_expires,
        **extra,
    )
    return signed, creds


def infer(opts: RequestOptions, host: str, *, quiet: bool = False) -> tuple[str | None, str]:
    """``(region, service)`` from the flags, else the hostname (with a note)."""
    region, service = opts.region, opts.service

    def unscoped() -> bool:  # neither a region nor a SigV4a region set
        return not region and not (opts.sigv4a and opts.region_set)

    if service and not unscoped():
        return region, service
    guess = infer_endpoint(host)
    # Else `sigv4kit probe --save` may have measured this endpoint: an S3 store, its region.
    saved = _saved_profile(host) if guess is None else None
    known = guess if guess is not None else saved
    said = []
    if not service and known is not None:
        service = guess.service if guess is not None else "s3"
        said.append(f"service {service}")
    if guess is not None and guess.algorithm == "sigv4a" and not opts.sigv4a:
        opts.sigv4a = True
        opts.region_set = opts.region_set or ",".join(guess.region_set or ["*"])
        said.append(f"SigV4a with region set {opts.region_set}")
    elif unscoped() and known is not None:
        region = known.region
        said.append(f"region {region}")
    if unscoped():
        region = _configured_region(opts.profile)
        if region:
            said.append(f"region {region} (from AWS_REGION or the profile)")
    if not service or unscoped():
        missing = " and ".join(
            flag
            for flag, ok in (("--service", service), ("--region", region or opts.region_set))
            if not ok
        )
        raise click.UsageError(
            f"{host!r} is not an endpoint sigv4kit knows, so it cannot tell the credential "
            f"scope; pass {missing} (e.g. --service s3 --region us-east-1)"
        )
    if said and not quiet:
        where = f" ({guess.label})" if guess is not None else ""
        if saved is not None:
            where = f" (saved profile: {saved.label})"
        click.echo(
            click.style(f"note: inferred {' and '.join(said)} from {host}{where}", dim=True),
            err=True,
            color=color_wanted(),
        )
    return region, service


def _configured_region(profile: str | None) -> str | None:
    """The region from ``AWS_REGION``/``AWS_DEFAULT_REGION`` or the profile, if any."""
    from ..providers import resolve_region

    try:
        return resolve_region(profile or None)
    except CredentialsError:
        return None


def _saved_profile(host: str) -> Any:
    """The profile ``probe --save`` wrote for this host (either scheme), if any."""
    from ..probe.profiles import load_user_profiles

    try:
        saved = load_user_profiles()
    except (OSError, ValueError):
        return None
    host = host.lower()
    return saved.get(f"https://{host}") or saved.get(f"http://{host}")


def parse_now(now: str | None) -> datetime | None:
    """``--now`` (any form ``--timestamp`` takes) as an aware datetime; None is the clock."""
    return None if now is None else amz_datetime(parse_timestamp(now))


def read_input(path: str) -> bytes:
    """A small text input (an error body or a raw request), file or stdin."""
    limit = 64 << 20
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path!r}: {exc.strerror}") from None
    if len(data) > limit:
        raise click.BadParameter(f"{path!r} is larger than 64 MiB")
    return data


def read_raw(path: str) -> RawRequest:
    with errors():
        return parse_raw_request(read_input(path))
