"""What ``sigv4kit proxy`` and ``sigv4kit gateway`` share: the serving options.

Both run :func:`sigv4kit.forward.serve`; the flags that configure the
engine itself (admin listener, workers, drain, access log, slow-client
deadline) are declared once here, and so is the ``ForwardConfig`` they make.
Only click is imported; the engine loads when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..forward import ForwardConfig

__all__ = ["forward_config", "host_port", "serving_options"]

F = TypeVar("F", bound=Callable[..., Any])


def host_port(value: str, flag: str, default_host: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` means ``default_host``; ``[::1]:80`` for IPv6)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(
            f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8080)", param_hint=flag
        )
    return (host.strip("[]") or default_host), int(port)


_OPTIONS = (
    click.option("--admin", metavar="HOST:PORT", help="Admin listener: /healthz /readyz /metrics."),
    click.option(
        "--workers",
        type=click.IntRange(1, 256),
        default=1,
        show_default=True,
        help="Processes sharing the listening port (SO_REUSEPORT).",
    ),
    click.option(
        "--drain-timeout",
        type=float,
        default=30.0,
        show_default=True,
        help="Seconds SIGTERM waits for requests in flight.",
    ),
    click.option(
        "--header-timeout",
        type=float,
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="Seconds a client has to send each request's line and headers (from its first "
        "byte), then 408 and the connection closes: cuts clients that trickle headers.",
    ),
    click.option("--access-log", metavar="PATH|-", help="JSON-lines access log ('-' = stderr)."),
)


def serving_options(command: F) -> F:
    """Add --admin, --workers, --drain-timeout, --header-timeout and --access-log."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def forward_config(
    o: Mapping[str, Any], listen: tuple[str, int], admin_default_host: str, **more: Any
) -> ForwardConfig:
    """The engine's configuration from the serving options in ``o`` (plus ``more``)."""
    from ..forward import ForwardConfig

    admin = o["admin"]
    admin_host, admin_port = (
        host_port(admin, "--admin", admin_default_host) if admin else ("127.0.0.1", None)
    )
    return ForwardConfig(
        host=listen[0],
        port=listen[1],
        admin_host=admin_host,
        admin_port=admin_port,
        workers=o["workers"],
        drain_timeout=o["drain_timeout"],
        head_timeout=o["header_timeout"],
        access_log=o["access_log"],
        **more,
    )
