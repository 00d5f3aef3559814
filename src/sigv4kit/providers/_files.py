"""The AWS shared credentials and config files.

Both files are INI, read the way botocore reads them (``configparser`` rules):
``name = value`` or ``name: value``, names are case-insensitive, ``#`` and
``;`` start comment lines, an indented line continues the value above, and a
setting whose value is empty followed by indented ``k = v`` lines is a nested
table (``aws configure set default.s3.signature_version s3v4`` writes one).

We parse by hand instead of using ``configparser`` so that every error names
the file, the line and the problem -- and never echoes the line, because the
line may hold a secret key.

The two files name sections differently: the credentials file uses
``[name]``; the config file uses ``[profile name]``, except ``[default]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import (
    ProfileFileError,
)

__all__ = [
    "ProfileFileError",
    "ProfileFiles",
    "SharedFile",
    "parse_ini",
    "profile_name",
]

Value = str | dict[str, str]


@dataclass
class SharedFile:
    """One parsed INI file: ``sections[name][key]`` plus where each section began."""

    path: str
    sections: dict[str, dict[str, Value]] = field(default_factory=dict)
    section_lines: dict[str, int] = field(default_factory=dict)


def parse_ini(text: str, path: str) -> SharedFile:
    """Parse INI ``text``; ``path`` is used only in error messages."""
    result = SharedFile(path)
    section: dict[str, Value] | None = None
    section_name = ""
    key_lines: dict[str, int] = {}
    # The setting that indented lines continue: (key, raw lines, first line number).
    current: tuple[str, list[tuple[int, str]]] | None = None

    def finish() -> None:
        if current is None or section is None:
            return
        key, parts = current
        first = parts[0][1]
        rest = parts[1:]
        if not rest:
            section[key] = first
        elif first == "":
            section[key] = _nested(rest, key, path)
        else:
            # configparser joins continuation lines with newlines.
            section[key] = "\n".join([first] + [text for _, text in rest])

    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped[0] in "#;":
            continue
        if raw[0] in " \t" and current is not None:
            current[1].append((lineno, stripped))
            continue
        finish()
        current = None
        if stripped.startswith("["):
            end = stripped.find("]")
            if end < 0:
                raise ProfileFileError(path, lineno, "section header has no closing ']'")
            trailing = stripped[end + 1 :].strip()
            if trailing and trailing[0] not in "#;":
                raise ProfileFileError(
                    path, lineno, "unexpected text after the section header's ']'"
                )
            name = stripped[1:end].strip()
            if not name:
                raise ProfileFileError(path, lineno, "empty section name '[]'")
            if name in result.sections:
                raise ProfileFileError(
                    path,
                    lineno,
                    f"section [{name}] is already defined at line "
                    f"{result.section_lines[name]}; merge the two sections",
                )
            section = {}
            section_name = name
            result.sections[name] = section
            result.section_lines[name] = lineno
            key_lines = {}
            continue
        key, value = _split_setting(stripped, path, lineno)
        if section is None:
            raise ProfileFileError(
                path,
                lineno,
                f"setting {key!r} appears before any section header; "
                "add a header such as [default] above it",
            )
        if key in key_lines:
            raise ProfileFileError(
                path,
                lineno,
                f"{key!r} is already set in section [{section_name}] at line {key_lines[key]}",
            )
        key_lines[key] = lineno
        current = (key, [(lineno, value)])
    finish()
    return result


def _split_setting(stripped: str, path: str, lineno: int) -> tuple[str, str]:
    positions = [p for p in (stripped.find("="), stripped.find(":")) if p >= 0]
    if not positions:
        raise ProfileFileError(
            path,
            lineno,
            "expected 'name = value', a '[section]' header or a comment (the line has no '=')",
        )
    cut = min(positions)
    key = stripped[:cut].strip().lower()
    if not key:
        raise ProfileFileError(path, lineno, "setting has no name before '='")
    return key, stripped[cut + 1 :].strip()


def _nested(lines: list[tuple[int, str]], parent: str, path: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for lineno, text in lines:
        if "=" not in text:
            raise ProfileFileError(
                path,
                lineno,
                f"indented line under {parent!r} must be 'name = value' (nested setting)",
            )
        key, _, value = text.partition("=")
        key = key.strip().lower()
        if not key:
            raise ProfileFileError(path, lineno, f"nested setting under {parent!r} has no name")
        table[key] = value.strip()
    return table


def _read(path: str) -> SharedFile | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ProfileFileError(path, None, "is a directory, expected a file") from None
    except OSError as exc:
        raise ProfileFileError(path, None, f"cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileFileError(path, line, "is not valid UTF-8 text") from None
    return parse_ini(text, path)


def profile_name(profile: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The profile to use: the argument, ``AWS_PROFILE``, ``AWS_DEFAULT_PROFILE``, ``default``."""
    if profile:
        return profile
    env = os.environ if environ is None else environ
    return env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"


class ProfileFiles:
    """Both files, read once, with profile lookup by the files' own naming rules.

    The paths default to ``AWS_SHARED_CREDENTIALS_FILE`` / ``AWS_CONFIG_FILE``,
    else ``~/.aws/credentials`` and ``~/.aws/config``.
    """

    def __init__(
        self,
        *,
        credentials_path: str | None = None,
        config_path: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.credentials_path = credentials_path or os.path.expanduser(
            env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
        )
        self.config_path = config_path or os.path.expanduser(
            env.get("AWS_CONFIG_FILE") or "~/.aws/config"
        )
        self.credentials = _read(self.credentials_path)
        self.config = _read(self.config_path)

    def credentials_profile(self, name: str) -> dict[str, Value] | None:
        if self.credentials is None:
            return None
        return self.credentials.sections.get(name)

    def config_profile(self, name: str) -> dict[str, Value] | None:
        if self.config is None:
            return None
        sections = self.config.sections
        # botocore: "[profile default]" wins over "[default]" when both exist.
        found = sections.get(f"profile {name}")
        if found is None:
            for key, values in sections.items():
                parts = key.split(None, 1)
                if len(parts) == 2 and parts[0] == "profile" and parts[1].strip() == name:
                    found = values
                    break
        if found is None and name == "default":
            found = sections.get("default")
        return found

    def locate(self, name: str, *, in_config: bool) -> tuple[dict[str, Value] | None, str]:
        """The profile's section in one file (or None), and where it is, for messages."""
        if in_config:
            label = "default" if name == "default" else f"profile {name}"
            return self.config_profile(name), f"{self.config_path} [{label}]"
        return self.credentials_profile(name), f"{self.credentials_path} [{name}]"

    def merged_profile(self, name: str) -> dict[str, Value]:
        """Config-file settings overlaid with credentials-file ones (botocore's merge)."""
        merged: dict[str, Value] = dict(self.config_profile(name) or {})
        merged.update(self.credentials_profile(name) or {})
        return merged

    def has_profile(self, name: str) -> bool:
        return self.credentials_profile(name) is not None or self.config_profile(name) is not None

    def miss_hint(self, name: str, *, in_config: bool) -> str:
        """Why ``name`` was not found, with a hint for the classic naming mix-up."""
        parsed = self.config if in_config else self.credentials
        path = self.config_path if in_config else self.credentials_path
        if parsed is None:
            return f"{path} (file not found)"
        if in_config:
            if name != "default" and name in parsed.sections:
                return (
                    f"{path} has [{name}] but the config file names profiles "
                    f"[profile {name}] (line {parsed.section_lines[name]})"
                )
            label = "[default]" if name == "default" else f"[profile {name}]"
        else:
            alt = f"profile {name}"
            if alt in parsed.sections:
                return (
                    f"{path} has [{alt}] but the credentials file names profiles "
                    f"[{name}] (line {parsed.section_lines[alt]})"
                )
            label = f"[{name}]"
        return f"{path} (no {label} section)"
