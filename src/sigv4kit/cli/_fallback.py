"""``request``'s payload-mode fallback: retry once in a mode the server accepts.

The decision is :func:`sigv4kit.probe.fallback.next_mode` (pure); this module
holds the command's side of it: which mode the first attempt used, whether
the body can be sent again, the note on stderr, and the memory of what worked
per endpoint.  ``request`` is one process per request, so the memory is a
small JSON file, ``$XDG_CACHE_HOME/sigv4kit/modes.json``
(``~/.cache/sigv4kit/modes.json``): endpoint -> {refused mode: mode that
worked}.  The next ``request`` to that endpoint in the refused mode goes
straight to the one that worked, with a note.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..probe.fallback import Step, next_mode
from ..probe.profiles import Profile, endpoint_key, endpoint_profile

__all__ = ["Fallback", "memory_path"]


def memory_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "sigv4kit" / "modes.json"


def _load() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(memory_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Fallback:
    """One ``request``'s fallback state (see the module docstring)."""

    url: str
    mode: str
    checksum: bool
    profile: Profile = field(init=False)
    endpoint: str = field(init=False)
    step: Step | None = None

    def __post_init__(self) -> None:
        self.endpoint = endpoint_key(self.url)
        self.profile = endpoint_profile(
            self.url,
            warn=lambda exc: click.echo(f"sigv4kit: ignoring the saved profiles: {exc}", err=True),
        )

    def remembered(self) -> str | None:
        """``"mode[+checksum]"`` that worked here when this mode was refused before."""
        return _load().get(self.endpoint, {}).get(self._key)

    @property
    def _key(self) -> str:
        return self.mode + ("+checksum" if self.checksum else "")

    def wants_retry(self, status: int, code: str | None, message: str | None) -> bool:
        self.step = next_mode(
            self.profile,
            self.mode,
            status,
            code,
            message,
            checksum=self.checksum,
            secure=self.endpoint.startswith("https://"),
        )
        if self.step is not None:
            click.echo(
                f"sigv4kit: {self.endpoint} refused {self.mode}"
                f"{' with a checksum' if self.checksum else ''} ({self.step.reason})",
                err=True,
            )
        return self.step is not None

    def remember(self) -> None:
        """Record the mode that worked after the refusal (best effort)."""
        if self.step is None:
            return
        data: dict[str, Any] = _load()
        worked = self.step.payload + ("+checksum" if self.step.checksum else "")
        data.setdefault(self.endpoint, {})[self._key] = worked
        path = memory_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
