"""The click group, the commands that sign (``sign``, ``presign``, ``calculator``) and
the registration of the commands from the modules beside this one."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import click

from .. import __version__
from ..credentials import Credentials
from ..diagnose import explain
from ..errors import CredentialsError, SigV4Error
from ..presign_check import PresignCheck, check_presigned
from ..presigning import MAX_PRESIGN_EXPIRES, split_hoistable
from ._common import (
    CONTEXT,
    echo_json,
    errors,
    parse_now,
    sign_with,
)
from ._gateway import gateway
from ._inspect import diagnose_cmd, explain_cmd, verify
from ._keys import keys
from ._options import (
    RequestOptions,
    credential_options,
    expires_option,
    output_options,
    request_arguments,
    signing_options,
)
from ._probe import probe
from ._proxy import proxy
from ._render import color_wanted, render_explanation, style
from ._request import request

__all__ = ["cli"]


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


@cli.command(context_settings=CONTEXT)
@request_arguments()
@output_options(
    "Print one JSON object (for tools).",
    "Show the session token in the canonical request (the headers to send always carry it).",
)
def sign(method: str, url: str, as_json: bool, show_token: bool, **kw: Any) -> None:
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
    signed, creds = sign_with(opts, method, url, quiet=as_json)
    data_out = explain(signed, credentials=creds, show_token=show_token, keep_sendable=True)
    if as_json:
        echo_json(data_out)
        return
    render_explanation(data_out, full=False)
    if signed.url != url:
        click.echo(click.style(f"Send to: {signed.url}", dim=True))


@cli.command(context_settings=CONTEXT)
@click.argument("method", required=False)
@click.argument("url", required=False)
@expires_option(
    help=f"How long the URL is valid, 1 to {MAX_PRESIGN_EXPIRES} (7 days). Required unless --check."
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'Name: value'",
    help="A header to sign; it must then be sent with the URL (unless --hoist moves it).",
)
@click.option(
    "--cap-expires",
    is_flag=True,
    help="When the credentials expire before the URL would, end the URL with them "
    "(default: refuse).",
)
@click.option(
    "--hoist/--no-hoist",
    default=False,
    show_default=True,
    help="Move X-Amz-* headers into the query as the JS and Go SDKs do (SSE, ACL, grants, "
    "metadata, tagging... stay headers); --no-hoist keeps every header signed as a header.",
)
@click.option(
    "--check",
    "check_url",
    metavar="URL",
    help="Instead of presigning: say whether METHOD (default GET) with the -H headers will "
    "match this presigned URL, and if not, why. Exit 0 = will match, 1 = will not.",
)
@click.option(
    "--now",
    metavar="T",
    help="With --check: the time the request will be sent (default: now).",
)
@signing_options
@credential_options
@output_options(
    "Print the URL and every stage as JSON.",
    "With --json: show the session token in the canonical request (the URL carries it).",
)
def presign(
    method: str | None,
    url: str | None,
    hoist: bool,
    check_url: str | None,
    now: str | None,
    as_json: bool,
    show_token: bool,
    **kw: Any,
) -> None:
    """Print a presigned URL (query-string authentication), or --check one.

    Temporary credentials that expire before the URL would are refused (the
    URL would stop working early); --cap-expires shortens the URL instead.
    --json lists the headers the user of the URL must send (`headers`) and
    those hoisted into the query.

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
      # Will this PUT be accepted with that URL?
      sigv4kit presign PUT --check "$URL" -H 'Content-Type: text/plain'
    """
    opts = RequestOptions.from_kwargs(kw)
    headers = opts.header_list()
    if check_url is not None:
        if url is not None:
            raise click.UsageError("with --check, give the presigned URL to --check only")
        result = _check_presigned_url(opts, check_url, method or "GET", headers, now)
        _print_presign_check(result, as_json=as_json)
        if not result.ok and result.ok is not None:
            raise SystemExit(1)
        return
    if not method or not url:
        raise click.UsageError("give METHOD URL (or --check URL)")
    if opts.expires is None:
        raise click.UsageError(f"Missing option '--expires' (1 to {MAX_PRESIGN_EXPIRES} seconds).")
    opts.presign = True
    signed, creds = sign_with(opts, method, url, quiet=as_json, hoist=hoist)
    if as_json:
        data_out = explain(
            signed, credentials=creds, show_token=show_token, presigned=True, keep_sendable=True
        )
        # X-Amz-Expires: shorter than asked when --cap-expires capped it.
        data_out["expires"] = int(_query_param(signed.url, "x-amz-expires") or opts.expires)
        data_out["hoisted"] = [name for name, _ in split_hoistable(headers)[1]] if hoist else []
        echo_json(data_out)
        return
    click.echo(signed.url)


def _query_param(url: str, name: str) -> str | None:
    """The value of query parameter ``name`` (any case) in ``url``, if present."""
    return next((v for k, v in parse_qsl(urlsplit(url).query) if k.lower() == name), None)


def _check_presigned_url(
    opts: RequestOptions,
    url: str,
    method: str,
    headers: list[tuple[str, str]],
    now: str | None,
) -> PresignCheck:
    """Check a planned request against ``url``, with the URL's secret when it is at hand."""
    creds: Credentials | None
    try:
        creds = opts.credentials()
    except (CredentialsError, click.UsageError):
        creds = None
    note = None
    url_akid = (_query_param(url, "x-amz-credential") or "").split("/")[0]
    if creds is not None and creds.access_key_id != url_akid:
        note = (
            f"the credentials found are for {creds.access_key_id}, not the URL's access key: "
            "the signature was not checked"
        )
        creds = None
    with errors():
        when = parse_now(now)
        try:
            result = check_presigned(url, method, headers, now=when, credentials=creds)
        except SigV4Error as exc:
            raise click.UsageError(str(exc)) from None
    if note is not None:
        result.notes.insert(0, note)
    return result


def _print_presign_check(result: PresignCheck, *, as_json: bool) -> None:
    if as_json:
        echo_json(result.as_dict())
        return
    color = color_wanted()
    if result.ok:
        click.echo(style("WILL MATCH", fg="green", bold=True), color=color)
    elif result.ok is None:
        click.echo(style("NO PROBLEM FOUND", fg="yellow", bold=True), color=color)
    else:
        click.echo(style("WILL NOT MATCH", fg="red", bold=True), color=color)
    for problem in result.problems:
        click.echo(f"  - {problem}")
    for cause in result.causes:
        click.echo(style(f"  Likely cause: {cause['title']}: {cause['detail']}", fg="yellow"))
    if result.must_send:
        click.echo(f"  headers to send: {', '.join(result.must_send)}")
    if result.expires_at:
        click.echo(f"  the URL expires at {result.expires_at}")
    for note in result.notes:
        click.echo(style(f"note: {note}", dim=True), color=color)


@cli.command(context_settings=CONTEXT)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port on 127.0.0.1 (default: a free one).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the URL.")
def calculator(port: int, no_browser: bool) -> None:
    """Start the local web calculator on 127.0.0.1.

    Fill in credentials, scope and a request; the canonical request, the
    string to sign (colour-coded), the signature, the Authorization header
    or presigned URL, the key chain and a curl command update as you type.
    Paste a server's error to diagnose it.  The page works offline; the
    secret stays in memory on this machine and is never logged.

    \b
    Examples:
      sigv4kit calculator
      sigv4kit calculator --port 8765 --no-browser
    """
    from ..calculator import serve

    try:
        serve(port, open_browser=not no_browser, announce=lambda line: click.echo(line))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


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


cli.add_command(explain_cmd)
cli.add_command(diagnose_cmd)
cli.add_command(verify)
cli.add_command(request)
cli.add_command(proxy)
cli.add_command(gateway)
cli.add_command(keys)
cli.add_command(probe)
