"""``presign --check`` and the presign extras; :mod:`sigv4kit.presigning` does the work."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import click

from ..credentials import Credentials
from ..errors import CredentialsError, SigV4Error
from ..presign_check import PresignCheck, check_presigned
from ..presigning import split_hoistable
from ._common import echo_json, errors, parse_now
from ._options import RequestOptions
from ._render import color_wanted, style

__all__ = [
    "check_presigned_url",
    "hoisted_params",
    "presigned_expires",
    "print_presign_check",
]


def presigned_expires(url: str, asked: int) -> int:
    """The URL's ``X-Amz-Expires`` (shorter than asked when capped)."""
    for name, value in parse_qsl(urlsplit(url).query):
        if name == "X-Amz-Expires":
            return int(value)
    return asked


def hoisted_params(headers: list[tuple[str, str]]) -> list[str]:
    """The names of the headers hoisted into the query."""
    return [name for name, _ in split_hoistable(headers)[1]]


def _url_akid(url: str) -> str | None:
    for name, value in parse_qsl(urlsplit(url).query):
        if name.lower() == "x-amz-credential":
            return value.split("/", 1)[0]
    return None


def check_presigned_url(
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
    if creds is not None and creds.access_key_id != _url_akid(url):
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


def print_presign_check(result: PresignCheck, *, as_json: bool) -> None:
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
