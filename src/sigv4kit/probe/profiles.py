"""Provider profiles: what each S3-compatible service accepts, as data.

In January 2025 the AWS SDKs started sending flexible checksums and
aws-chunked trailers by default, and uploads broke on R2, B2, Wasabi, OCI and
others.  A profile says, per provider, what to send so that does not happen:

- ``region``: the region to sign for when the host does not say one (R2 and
  GCS want ``auto``, Garage its own ``garage``);
- ``addressing``: ``"virtual"`` (``bucket.host/key``) or ``"path"``
  (``host/bucket/key``);
- ``upload_modes``: the payload modes to try for an upload, best first; the
  first is the default, the rest are the fallback ladder
  (:func:`sigv4kit.probe.fallback.next_mode`);
- ``checksums``: ``"always"`` (send ``x-amz-checksum-*`` / trailers, as the
  SDKs now do) or ``"when_required"`` (only when the operation needs one, as
  the SDKs did before 2025, and as every provider accepts);
- ``max_presign_expires``: the longest presigned URL, in seconds.

The built-in rows are the providers' documented behaviour (see the README);
``sigv4kit probe --save`` measures a custom endpoint and writes a row for it
to the user's profile file (:func:`user_profiles_path`), which then wins over
the built-in table for that endpoint.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "PROFILES",
    "Profile",
    "endpoint_profile",
    "load_user_profiles",
    "profile_for",
    "save_user_profile",
    "user_profiles_path",
]

#: Every payload mode a profile may list, in the fallback order of issue 15:
#: trailers, then signed chunks, then single-shot (unsigned or signed).
MODE_ORDER = (
    "streaming-unsigned-trailer",
    "streaming-trailer",
    "streaming",
    "unsigned",
    "signed",
)
_ALL = MODE_ORDER
_NO_CHUNKS = ("unsigned", "signed")


@dataclass(frozen=True)
class Profile:
    """What to send to one provider (see the module docstring)."""

    name: str
    label: str
    region: str
    addressing: str
    upload_modes: tuple[str, ...]
    checksums: str
    max_presign_expires: int
    #: Capabilities a probe measured ("streaming": True, ...); empty for built-ins.
    measured: Mapping[str, bool | None] = field(default_factory=dict)

    @property
    def upload_mode(self) -> str:
        return self.upload_modes[0]


def _p(
    name: str,
    label: str,
    region: str,
    addressing: str,
    modes: tuple[str, ...],
    checksums: str,
    expires: int = 604800,
) -> Profile:
    return Profile(name, label, region, addressing, modes, checksums, expires)


#: The built-in table.  ``region`` is the fallback when the host names none.
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        _p("aws", "Amazon S3", "us-east-1", "virtual", _ALL, "always"),
        # R2: region "auto"; rejected x-amz-checksum-* with "not implemented"
        # (aws-sdk-js-v3 #6810); presigned URLs at most 7 days.
        _p("cloudflare-r2", "Cloudflare R2", "auto", "path", _NO_CHUNKS, "when_required"),
        # B2: "Unsupported header" for the checksum headers; no aws-chunked.
        _p("backblaze-b2", "Backblaze B2", "us-west-004", "virtual", _NO_CHUNKS, "when_required"),
        # GCS XML API with HMAC keys: region "auto", no aws-chunked.
        _p("gcs", "Google Cloud Storage (XML, HMAC)", "auto", "path", _NO_CHUNKS, "when_required"),
        _p("minio", "MinIO", "us-east-1", "path", _ALL, "always"),
        _p(
            "ceph-rgw",
            "Ceph RGW",
            "us-east-1",
            "path",
            ("streaming", "unsigned", "signed"),
            "when_required",
        ),
        # Garage signs with its own region name (garage.toml s3_region).
        _p(
            "garage",
            "Garage",
            "garage",
            "path",
            ("streaming", "unsigned", "signed"),
            "when_required",
        ),
        _p("seaweedfs", "SeaweedFS", "us-east-1", "path", _ALL, "always"),
        _p("wasabi", "Wasabi", "us-east-1", "virtual", ("streaming", *_NO_CHUNKS), "when_required"),
        # OCI's S3 compatibility API: path style, no aws-chunked, no checksums.
        _p(
            "oracle-oci",
            "Oracle OCI Object Storage",
            "us-ashburn-1",
            "path",
            _NO_CHUNKS,
            "when_required",
        ),
        _p(
            "digitalocean-spaces",
            "DigitalOcean Spaces",
            "nyc3",
            "virtual",
            _NO_CHUNKS,
            "when_required",
        ),
        # Anything else: what works on every S3-compatible server we know.
        _p("generic", "S3-compatible (unknown)", "us-east-1", "path", _ALL, "when_required"),
    ]
}


def user_profiles_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$SIGV4KIT_PROFILES``, else ``$XDG_CONFIG_HOME/sigv4kit/profiles.toml``
    (``~/.config/sigv4kit/profiles.toml``).

    A file of our own rather than ``~/.aws/config``: the AWS CLI and SDKs own
    that one and warn about, or choke on, keys they do not know.
    """
    env = os.environ if environ is None else environ
    if env.get("SIGV4KIT_PROFILES"):
        return Path(env["SIGV4KIT_PROFILES"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "sigv4kit" / "profiles.toml"


def endpoint_key(url: str) -> str:
    """``scheme://host[:port]``, lower-cased: what a saved profile is keyed on."""
    scheme, _, rest = url.partition("://")
    if not rest:
        scheme, rest = "https", url
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2].lower()
    return f"{scheme.lower()}://{host}"


def load_user_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Saved profiles by endpoint key; an absent file is an empty table."""
    path = path or user_profiles_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    data: dict[str, Any] = tomllib.loads(text)
    out: dict[str, Profile] = {}
    for key, row in data.get("endpoint", {}).items():
        base = PROFILES.get(row.get("provider", "generic"), PROFILES["generic"])
        out[endpoint_key(key)] = replace(
            base,
            name=row.get("provider", base.name),
            label=row.get("label", f"{base.label} (measured)"),
            region=row.get("region", base.region),
            addressing=row.get("addressing", base.addressing),
            upload_modes=tuple(row.get("upload_modes", base.upload_modes)),
            checksums=row.get("checksums", base.checksums),
            max_presign_expires=int(row.get("max_presign_expires", base.max_presign_expires)),
            measured=dict(row.get("measured", {})),
        )
    return out


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to TOML")


def save_user_profile(url: str, profile: Profile, path: Path | None = None) -> Path:
    """Write (or replace) the profile for ``url``'s endpoint; other rows are kept."""
    path = path or user_profiles_path()
    rows = load_user_profiles(path)
    rows[endpoint_key(url)] = profile
    lines = [
        "# sigv4kit provider profiles, written by `sigv4kit probe --save`.",
        '# One [endpoint."scheme://host:port"] table per endpoint; see the README.',
        "",
    ]
    for key in sorted(rows):
        p = rows[key]
        lines.append(f"[endpoint.{_toml_str(key)}]")
        lines.append(f"provider = {_toml_str(p.name)}")
        lines.append(f"label = {_toml_str(p.label)}")
        lines.append(f"region = {_toml_str(p.region)}")
        lines.append(f"addressing = {_toml_str(p.addressing)}")
        lines.append(f"upload_modes = {_toml_value(list(p.upload_modes))}")
        lines.append(f"checksums = {_toml_str(p.checksums)}")
        lines.append(f"max_presign_expires = {p.max_presign_expires}")
        measured = {k: v for k, v in p.measured.items() if v is not None}
        if measured:
            lines.append(f"[endpoint.{_toml_str(key)}.measured]")
            lines += [f"{_toml_str(k)} = {_toml_value(v)}" for k, v in sorted(measured.items())]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


_LOCAL = re.compile(r"^(localhost|127\.|\[::1\]|\d+\.\d+\.\d+\.\d+)")


def profile_for(
    url: str,
    provider: str | None = None,
    *,
    saved: Mapping[str, Profile] | None = None,
) -> Profile:
    """The profile for an endpoint URL.

    A profile saved for this endpoint (``probe --save``) wins, then
    ``provider`` (``--provider``), then the provider its host names
    (:func:`sigv4kit.endpoints.infer`), then ``generic``.
    """
    if saved is None:
        saved = load_user_profiles()
    key = endpoint_key(url)
    if key in saved:
        return saved[key]
    if provider is not None:
        if provider not in PROFILES:
            raise ValueError(
                f"unknown provider {provider!r}; choose one of {', '.join(sorted(PROFILES))}"
            )
        return PROFILES[provider]
    from ..endpoints import infer

    host = key.partition("://")[2]
    found = None if _LOCAL.match(host) else infer(host)
    if found is not None and found.provider in PROFILES:
        base = PROFILES[found.provider]
        if found.region and found.region != "*":
            return replace(base, region=found.region)
        return base
    return PROFILES["generic"]


def endpoint_profile(url: str, *, warn: Callable[[Exception], object] | None = None) -> Profile:
    """:func:`profile_for` for a request on its way out.

    An unreadable or malformed profile file counts as no saved profile
    (``warn`` is told why): a fallback choice must never fail the request.
    """
    try:
        return profile_for(url)
    except (OSError, ValueError) as exc:
        if warn is not None:
            warn(exc)
        return profile_for(url, saved={})
