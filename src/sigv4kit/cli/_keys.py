"""``sigv4kit keys``: manage the access keys a verifying gateway accepts.

Every subcommand opens the store, does one thing and closes it; the store's
own code (``sigv4kit.keystore``) does the work.  A new secret is printed
exactly once, by ``create`` and ``rotate`` (and never by ``list``/``show``):
the store keeps it encrypted and cannot show it again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._common import CONTEXT, echo_json, errors

if TYPE_CHECKING:
    from ..keystore import KeyPolicy, KeyRecord, KeyStore

__all__ = ["keys", "parse_duration"]

T = TypeVar("T")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``12h``, ``30d``, ``2w`` (or a sum: ``1h30m``)."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise click.BadParameter(f"{text!r} is not a duration like 90s, 15m, 12h, 30d or 2w")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def _expiry(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc) + parse_duration(text)
    if when.tzinfo is None:
        raise click.BadParameter(f"{text!r}: give a time zone (2027-01-01T00:00:00Z)")
    return when


def _policy(
    methods: tuple[str, ...], prefixes: tuple[str, ...], read_only: bool
) -> KeyPolicy | None:
    from ..keystore import KeyPolicy

    if read_only:
        if methods:
            raise click.UsageError("--read-only and --allow-method do not go together")
        methods = ("GET", "HEAD")
    if not methods and not prefixes:
        return None
    return KeyPolicy.simple(methods or None, prefixes or None)


def policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--read-only", is_flag=True, help="Allow GET and HEAD only (with --allow-prefix: there)."
    )(f)
    f = click.option(
        "--allow-prefix",
        "allow_prefix",
        multiple=True,
        metavar="PATH",
        help="Allow only paths under PATH (/bucket, /bucket/dir/, /bucket/user1-*). Repeatable.",
    )(f)
    f = click.option(
        "--allow-method",
        "allow_method",
        multiple=True,
        metavar="METHOD",
        help="Allow only this HTTP method (GET, PUT...). Repeatable.",
    )(f)
    return f


class _Ctx:
    def __init__(self, store: str | None, master_key_file: str | None) -> None:
        self.store = store
        self.master_key_file = master_key_file

    def run(self, fn: Callable[[KeyStore], Awaitable[T]]) -> T:
        from ..keystore import open_store
        from ..keystore._crypto import MasterKey

        # The CLI says it itself (below), once, without a logging prefix.
        logging.getLogger("sigv4kit.keystore").addHandler(logging.NullHandler())

        async def main() -> T:
            master = None
            if self.master_key_file:
                path = Path(self.master_key_file).expanduser()
                master = MasterKey.parse(path.read_text("ascii", "replace"), str(path))
            store = await open_store(self.store, master_key=master)
            try:
                if store.master_key_created:
                    click.echo(
                        f"Created a new master key in {store.master_key_created}: back it up and "
                        "give it to every gateway node that opens this store "
                        "($SIGV4KIT_MASTER_KEY or $SIGV4KIT_MASTER_KEY_FILE); without it the "
                        "secrets in the store are lost.",
                        err=True,
                    )
                return await fn(store)
            finally:
                await store.close()

        with errors():
            return asyncio.run(main())


def _state_line(r: KeyRecord) -> str:
    state = r.state()
    if r.grace_until is not None and state == "active":
        state = f"active until {r.grace_until:%Y-%m-%d %H:%M:%S}Z (rotated)"
    elif state == "rotated":
        state = "rotated"
    return state


def _policy_text(r: KeyRecord) -> str:
    if r.policy is None:
        return "all"
    parts = []
    for g in r.policy.grants:
        methods = ",".join(sorted(g.methods)) if g.methods is not None else "*"
        paths = ",".join(g.prefixes) if g.prefixes is not None else "*"
        parts.append(f"{methods} {paths}")
    return "; ".join(parts)


def _print_new(record: KeyRecord, as_json: bool, note: str) -> None:
    if as_json:
        echo_json(
            {
                "access_key_id": record.access_key_id,
                "secret_access_key": record.secret_access_key,
                "name": record.name,
            }
        )
        return
    click.echo(f"Access key id:     {record.access_key_id}")
    click.echo(f"Secret access key: {record.secret_access_key}")
    if record.name:
        click.echo(f"Name:              {record.name}")
    click.echo(note, err=True)


_ONCE = "The secret is shown only this once: the store keeps it encrypted and cannot show it again."


@click.group(context_settings=CONTEXT)
@click.option(
    "--store",
    envvar="SIGV4KIT_KEYS",
    metavar="STORE",
    help="sqlite:///absolute/path.db or postgresql://user[:pw]@host:port/dbname "
    "[default: $SIGV4KIT_KEYS]",
)
@click.option(
    "--master-key-file",
    type=click.Path(dir_okay=False),
    help="File holding the master key [default: $SIGV4KIT_MASTER_KEY, else "
    "$SIGV4KIT_MASTER_KEY_FILE, else ~/.config/sigv4kit/master.key].",
)
@click.pass_context
def keys(ctx: click.Context, store: str | None, master_key_file: str | None) -> None:
    """Manage the access keys `sigv4kit gateway` accepts.

    \b
    Examples:
      export SIGV4KIT_KEYS=sqlite:///var/lib/sigv4kit/keys.db
      sigv4kit keys create --name alice
      sigv4kit keys create --name reader --read-only --allow-prefix /photos --json
      sigv4kit keys list
      sigv4kit keys disable SV4KABCDEFGHIJKLMNOP
      sigv4kit keys rotate SV4KABCDEFGHIJKLMNOP --grace 24h
      sigv4kit keys import ~/.aws/credentials

    Secrets are encrypted at rest (AES-256-GCM) with a master key from
    $SIGV4KIT_MASTER_KEY (base64 or hex of 32 bytes), else the file
    $SIGV4KIT_MASTER_KEY_FILE, else ~/.config/sigv4kit/master.key.  When none
    exists and the store is new, a key is created in that file (mode 0600):
    copy it to every node that opens the store.
    """
    ctx.obj = _Ctx(store, master_key_file)


@keys.command(context_settings=CONTEXT)
@click.option("--name", default="", help="Who or what the key is for (sent upstream).")
@click.option("--expires", metavar="WHEN", help="Expiry: a duration (30d) or a time (ISO 8601).")
@policy_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def create(
    obj: _Ctx,
    name: str,
    expires: str | None,
    allow_method: tuple[str, ...],
    allow_prefix: tuple[str, ...],
    read_only: bool,
    as_json: bool,
) -> None:
    """Create a key and print its secret (once)."""
    with errors():
        policy = _policy(allow_method, allow_prefix, read_only)
    when = _expiry(expires)
    record = obj.run(lambda store: store.create(name, policy=policy, expires_at=when))
    _print_new(record, as_json, _ONCE)


@keys.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (never the secrets).")
@click.pass_obj
def list_cmd(obj: _Ctx, as_json: bool) -> None:
    """List the keys (no secrets)."""
    records = obj.run(lambda store: store.list())
    if as_json:
        echo_json([r.to_json() for r in records])
        return
    if not records:
        click.echo("No keys. Create one with: sigv4kit keys create --name NAME", err=True)
        return
    rows = [("ACCESS KEY ID", "NAME", "STATE", "CREATED", "EXPIRES", "ALLOWS")]
    for r in records:
        rows.append(
            (
                r.access_key_id,
                r.name,
                _state_line(r),
                f"{r.created_at:%Y-%m-%d %H:%M}",
                f"{r.expires_at:%Y-%m-%d %H:%M}" if r.expires_at else "-",
                _policy_text(r),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, row[-1]]))


@keys.command(context_settings=CONTEXT)
@click.argument("access_key_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (never the secret).")
@click.pass_obj
def show(obj: _Ctx, access_key_id: str, as_json: bool) -> None:
    """Show one key (not its secret)."""
    from ..errors import KeyNotFound

    record = obj.run(lambda store: store.get(access_key_id))
    if record is None:
        with errors():
            raise KeyNotFound(f"no key {access_key_id} in the store")
    assert record is not None
    if as_json:
        echo_json(record.to_json())
        return
    fields = [
        ("Access key id", record.access_key_id),
        ("Name", record.name),
        ("State", _state_line(record)),
        ("Created", record.created_at.isoformat()),
        ("Expires", record.expires_at.isoformat() if record.expires_at else "never"),
        ("Replaced by", record.replaced_by or "-"),
        ("Allows", _policy_text(record)),
    ]
    for label, value in fields:
        click.echo(f"{label + ':':<15}{value}")


def _set_status(obj: _Ctx, access_key_id: str, status: str) -> None:
    record = obj.run(lambda store: store.set_status(access_key_id, status))
    click.echo(f"{record.access_key_id}: {record.status}")


@keys.command(context_settings=CONTEXT)
@click.argument("access_key_id")
@click.pass_obj
def disable(obj: _Ctx, access_key_id: str) -> None:
    """Refuse requests signed with this key (every node, within a second)."""
    _set_status(obj, access_key_id, "inactive")


@keys.command(context_settings=CONTEXT)
@click.argument("access_key_id")
@click.pass_obj
def enable(obj: _Ctx, access_key_id: str) -> None:
    """Accept requests signed with this key again."""
    _set_status(obj, access_key_id, "active")


@keys.command(context_settings=CONTEXT)
@click.argument("access_key_id")
@click.pass_obj
def delete(obj: _Ctx, access_key_id: str) -> None:
    """Delete a key for good."""
    obj.run(lambda store: store.delete(access_key_id))
    click.echo(f"{access_key_id}: deleted")


@keys.command(context_settings=CONTEXT)
@click.argument("access_key_id")
@click.option(
    "--grace",
    default="0",
    show_default=True,
    metavar="DURATION",
    help="How long the old key keeps working (90s, 15m, 24h, 7d).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def rotate(obj: _Ctx, access_key_id: str, grace: str, as_json: bool) -> None:
    """Replace a key: a new pair (printed once); the old one stops after --grace."""
    period = parse_duration(grace)
    record = obj.run(lambda store: store.rotate(access_key_id, period))
    until = datetime.now(timezone.utc) + period
    note = f"{access_key_id} works until {until:%Y-%m-%d %H:%M:%S}Z. {_ONCE}"
    _print_new(record, as_json, note)


@keys.command("import", context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "aws", "seaweedfs", "minio"]),
    default="auto",
    show_default=True,
    help="aws: a credentials file; seaweedfs: s3.json; minio: `mc admin cluster iam export` "
    "zip or its users.json.",
)
@click.option("--replace", is_flag=True, help="Overwrite keys that already exist.")
@policy_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (ids and names only).")
@click.pass_obj
def import_cmd(
    obj: _Ctx,
    path: str,
    fmt: str,
    replace: bool,
    allow_method: tuple[str, ...],
    allow_prefix: tuple[str, ...],
    read_only: bool,
    as_json: bool,
) -> None:
    """Import key pairs from an AWS credentials file or a SeaweedFS/MinIO identity file.

    All keys or none are stored.  A policy given with the options applies to
    every imported key that brings none of its own (SeaweedFS actions do).
    """
    from ..keystore.importers import parse

    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    with errors():
        found, notes = parse(data, fmt)
        policy = _policy(allow_method, allow_prefix, read_only)
    if policy is not None:
        found = [k if k.policy is not None else _with_policy(k, policy) for k in found]
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if not found:
        raise click.ClickException(f"no key pairs found in {path}")
    records = obj.run(lambda store: store.import_keys(found, replace=replace))
    if as_json:
        echo_json([{"access_key_id": r.access_key_id, "name": r.name} for r in records])
        return
    for r in records:
        click.echo(f"{r.access_key_id}  {r.name}")
    click.echo(f"Imported {len(records)} key(s).", err=True)


def _with_policy(key: Any, policy: KeyPolicy) -> Any:
    from dataclasses import replace

    return replace(key, policy=policy)
