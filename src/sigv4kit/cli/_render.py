"""Readable output: titled sections, labelled parts, diffs, colours on a terminal.

``click.echo`` strips the colour codes when the output is not a terminal, so
piped output is plain text; ``NO_COLOR`` turns colours off everywhere.
"""

from __future__ import annotations

import os
from typing import Any

import click

from ..diagnose import Diagnosis, DiffLine, redact_token, visible
from ..signer import SignedRequest
from ._http import split_url

__all__ = [
    "PART_COLOURS",
    "color_wanted",
    "print_diagnosis",
    "print_request",
    "render_explanation",
    "section",
    "style",
]

# One colour per part, the same in every section (and in the calculator).
PART_COLOURS = {
    "method": "magenta",
    "canonical_uri": "blue",
    "canonical_query": "cyan",
    "canonical_headers": "green",
    "signed_headers": "yellow",
    "payload_hash": "red",
    "algorithm": "magenta",
    "request_date": "blue",
    "credential_scope": "green",
    "canonical_request_sha256": "red",
}


def color_wanted() -> bool | None:
    """None lets click decide (terminal or not); NO_COLOR forces plain."""
    return False if os.environ.get("NO_COLOR") else None


def style(text: str, fg: str | None = None, bold: bool = False, dim: bool = False) -> str:
    return click.style(text, fg=fg, bold=bold, dim=dim)


def section(title: str, body: str | list[str], *, err: bool = False) -> None:
    """A bold title, an underline and an indented body."""
    color = color_wanted()
    click.echo(style(title, fg="bright_white", bold=True), err=err, color=color)
    click.echo(style("-" * len(title), dim=True), err=err, color=color)
    lines = body.split("\n") if isinstance(body, str) else body
    for line in lines:
        click.echo(f"  {line}" if line else "", err=err, color=color)
    click.echo("", err=err)


def _labelled(rows: list[tuple[str, str, str]]) -> list[str]:
    """``(label, part, value)`` rows, aligned, each value in its part's colour."""
    width = max(len(label) for label, _, _ in rows)
    return [
        f"{style(label.ljust(width), dim=True)}  {style(value, fg=PART_COLOURS.get(part, 'green'))}"
        for label, part, value in rows
    ]


def render_explanation(data: dict[str, Any], *, full: bool) -> None:
    """Print an explanation (see :func:`sigv4kit.diagnose.explain`).

    ``full`` adds the labelled parts, the scope and the key chain (explain);
    without it only the stages ``sign`` prints are shown.
    """
    color = color_wanted()
    crp = data["canonical_request_parts"]
    if full:
        rows = [
            ("HTTP method", "method", crp["method"]),
            ("canonical URI", "canonical_uri", crp["canonical_uri"]),
            ("canonical query", "canonical_query", crp["canonical_query"] or "(empty)"),
        ]
        rows += [
            ("" if i else "canonical headers", "canonical_headers", line)
            for i, line in enumerate(crp["canonical_headers"])
        ]
        rows.append(("signed headers", "signed_headers", crp["signed_headers"]))
        rows.append(("payload hash", "payload_hash", crp["payload_hash"]))
        section("Canonical request, part by part", _labelled(rows))
    section("Canonical request", data["canonical_request"])
    if full:
        sp = data["string_to_sign_parts"]
        labels = {
            "algorithm": "algorithm",
            "request_date": "request date",
            "credential_scope": "credential scope",
            "canonical_request_sha256": "SHA-256 of canonical request",
        }
        rows = [(label, part, sp[part]) for part, label in labels.items()]
        section("String to sign, part by part", _labelled(rows))
    section("String to sign", data["string_to_sign"])
    if full:
        scope = data["scope"]
        section("Credential scope", _labelled([(k, "", str(v)) for k, v in scope.items()]))
        section("Signing key chain (names only, never key material)", data["key_chain"])
    section("Signature", style(data["signature"], fg="yellow", bold=True))
    if "signature_matches" in data:
        verdict = (
            style("matches the request's signature", fg="green")
            if data["signature_matches"]
            else style(f"differs from the request's {data['provided_signature']}", fg="red")
        )
        click.echo(f"  {verdict}\n", color=color)
    if data.get("authorization"):
        section("Authorization header", data["authorization"])
    if data.get("presigned"):
        section("Presigned URL", data["url"])
    section("Headers to send", [f"{style(n, fg='cyan')}: {v}" for n, v in data["headers"]])
    if data.get("session_token_redacted"):
        click.echo(
            style("The session token is hidden above; --show-token prints it.", dim=True),
            color=color,
        )


def print_diagnosis(d: Diagnosis, *, err: bool = False) -> None:
    color = color_wanted()
    for what, diff in (
        ("Canonical request", d.canonical_request_diff),
        ("String to sign", d.string_to_sign_diff),
    ):
        if any(x.op != " " for x in diff):
            _print_diff(f"{what}: you signed (-) vs the server computed (+)", diff, err=err)
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
    target = split_url(signed.url)[3]
    lines = [f"> {signed.method} {redact_token(target, token)} HTTP/1.1"]
    lines += [f"> {n}: {redact_token(v, token)}" for n, v in signed.headers]
    click.echo("\n".join(lines) + "\n>", err=True)
