"""The click commands.  Logic lives in the helper modules; this is the surface."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from .. import __version__
from ..errors import SigV4Error
from ..signer import SignedRequest
from ._explain import explain
from ._options import (
    Body,
    RequestOptions,
    credential_options,
    open_body,
    parse_header,
    request_options,
    signing_options,
)
from ._render import render_explanation

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@contextmanager
def _errors() -> Iterator[None]:
    """Library errors become one-line messages, never tracebacks."""
    try:
        yield
    except SigV4Error as exc:
        raise click.ClickException(str(exc)) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="sigv4kit")
def cli() -> None:
    """Sign, send, explain and diagnose AWS SigV4/SigV4a requests.

    \b
    Examples:
      sigv4kit sign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          -H 'Range: bytes=0-9' --region us-east-1 --service s3
      sigv4kit presign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          --expires 86400 --region us-east-1 --service s3
      sigv4kit request GET https://my-bucket.s3.eu-west-1.amazonaws.com/key -o key
      sigv4kit explain GET https://example.amazonaws.com/ --region us-east-1 --service iam
      sigv4kit diagnose error.xml GET https://bucket.s3.amazonaws.com/a%20b
      sigv4kit calculator

    Credentials come from --access-key/--secret-key/--session-token, else
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, else the AWS
    profile files (--profile or AWS_PROFILE).

    Shell completion: eval "$(sigv4kit completion bash)" (or zsh, fish).
    """


def _headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [parse_header(h) for h in values]


def _sign(
    opts: RequestOptions,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: Body,
    *,
    region: str | None = None,
    service: str | None = None,
) -> tuple[SignedRequest, Any]:
    creds = opts.credentials()
    payload = opts.payload()
    signer = opts.signer(creds, region, service, payload=None)
    send: object = body.for_signer()
    if body.file is not None and not body.seekable and payload is None:
        # A pipe can be hashed once, in pieces, but then it is gone: fine for
        # printing a signature, which sends nothing.
        payload = body.sha256_streaming()
        send = None
    signed = signer.sign(method, url, headers, body=send, timestamp=opts.timestamp, payload=payload)
    return signed, creds


# --------------------------------------------------------------------------
# sign
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("method")
@click.argument("url")
@request_options
@signing_options
@credential_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for tools).")
def sign(
    method: str,
    url: str,
    headers: tuple[str, ...],
    data: str | None,
    data_file: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Sign a request and print every stage and the headers to send.

    \b
    Examples:
      # AWS's documented S3 example (GET with Range):
      AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \\
      AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \\
      sigv4kit sign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          -H 'Range: bytes=0-9' --region us-east-1 --service s3 \\
          --timestamp 20130524T000000Z
      # A JSON body, output for tools:
      sigv4kit sign POST https://dynamodb.us-east-1.amazonaws.com/ \\
          -H 'Content-Type: application/x-amz-json-1.0' -d '{"TableName":"t"}' \\
          --region us-east-1 --service dynamodb --json
      # SigV4a, valid in two regions:
      sigv4kit sign GET https://example.amazonaws.com/ --service s3 \\
          --sigv4a --region-set us-east-1,us-west-2

    --json prints canonical_request, string_to_sign, signature, authorization
    and headers (a list of [name, value] pairs), plus url and the other stages.
    """
    opts = RequestOptions.from_kwargs(kw)
    body = open_body(data, data_file)
    try:
        with _errors():
            signed, creds = _sign(opts, method, url, _headers(headers), body)
            data_out = explain(signed, credentials=creds, show_token=True)
    finally:
        body.close()
    if as_json:
        _echo_json(data_out)
        return
    render_explanation(data_out, full=False)
    if signed.url != url:
        click.echo(click.style(f"Send to: {signed.url}", dim=True))


# --------------------------------------------------------------------------
# presign
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("method")
@click.argument("url")
@click.option(
    "--expires",
    type=click.IntRange(1, 604800),
    required=True,
    metavar="SECONDS",
    help="How long the URL is valid, 1 to 604800 (7 days).",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'Name: value'",
    help="A header to sign; it must then be sent with the URL.",
)
@signing_options
@credential_options
@click.option("--json", "as_json", is_flag=True, help="Print the URL and every stage as JSON.")
def presign(
    method: str, url: str, expires: int, headers: tuple[str, ...], as_json: bool, **kw: Any
) -> None:
    """Print a presigned URL (query-string authentication).

    \b
    Examples:
      # AWS's documented presigned URL example:
      AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \\
      AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \\
      sigv4kit presign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          --expires 86400 --region us-east-1 --service s3 --timestamp 20130524T000000Z
      # Then fetch it:
      curl "$(sigv4kit presign GET https://b.s3.amazonaws.com/k --expires 600 \\
          --region us-east-1 --service s3)"
    """
    opts = RequestOptions.from_kwargs(kw)
    with _errors():
        creds = opts.credentials()
        signer = opts.signer(creds)
        signed = signer.presign_request(
            method,
            url,
            _headers(headers),
            expires=expires,
            timestamp=opts.timestamp,
            payload=opts.payload(),
        )
    if as_json:
        data_out = explain(signed, credentials=creds, show_token=True, presigned=True)
        data_out["expires"] = expires
        _echo_json(data_out)
        return
    click.echo(signed.url)


# --------------------------------------------------------------------------
# completion
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script.

    \b
    Examples:
      eval "$(sigv4kit completion bash)"     # in ~/.bashrc
      eval "$(sigv4kit completion zsh)"      # in ~/.zshrc
      sigv4kit completion fish > ~/.config/fish/completions/sigv4kit.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - the Choice above lists click's shells
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(cli, {}, "sigv4kit", "_SIGV4KIT_COMPLETE").source())


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()
