"""Print a diagnosis and a request for people: diffs with labels, causes with fixes."""

from __future__ import annotations

import click

from ..diagnose import Diagnosis, DiffLine, redact_token, visible
from ..signer import SignedRequest
from ._render import color_wanted, section, style

__all__ = ["print_diagnosis", "print_request"]


def print_diagnosis(d: Diagnosis, *, err: bool = False) -> None:
    color = color_wanted()
    if d.canonical_request_diff and any(x.op != " " for x in d.canonical_request_diff):
        _print_diff(
            "Canonical request: you signed (-) vs the server computed (+)",
            d.canonical_request_diff,
            err=err,
        )
    if d.string_to_sign_diff and any(x.op != " " for x in d.string_to_sign_diff):
        _print_diff(
            "String to sign: you signed (-) vs the server computed (+)",
            d.string_to_sign_diff,
            err=err,
        )
    first = d.server.message.splitlines()[0] if d.server.message else ""
    head = f"{d.server.code or 'Error'}: {first}"
    click.echo(style(head.strip(), fg="red", bold=True), err=err, color=color)
    if not d.causes:
        click.echo("  No cause identified.", err=err)
    for c in d.causes:
        click.echo(style(f"Likely cause: {c.title}", fg="yellow", bold=True), err=err, color=color)
        click.echo(f"  {c.detail}", err=err)
        click.echo(style(f"  Fix: {c.fix}", dim=True), err=err, color=color)
    for note in d.notes:
        click.echo(style(f"note: {note}", dim=True), err=err, color=color)


def _print_diff(title: str, lines: list[DiffLine], *, err: bool) -> None:
    width = max((len(x.label) for x in lines), default=0)
    body = []
    for x in lines:
        text = f"{x.op} {x.label.ljust(width)}  {visible(x.text)}"
        fg = {"-": "red", "+": "green"}.get(x.op)
        body.append(style(text, fg=fg) if fg else style(text, dim=True))
    section(title, body, err=err)


def print_request(signed: SignedRequest, token: str | None) -> None:
    rest = signed.url.partition("://")[2]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    target = rest[cut:] or "/"
    lines = [f"> {signed.method} {redact_token(target, token)} HTTP/1.1"]
    lines += [f"> {n}: {redact_token(v, token)}" for n, v in signed.headers]
    click.echo("\n".join(lines) + "\n>", err=True)
