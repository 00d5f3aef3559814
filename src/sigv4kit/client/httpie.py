"""SigV4 / SigV4a for HTTPie: ``http -A sigv4 ...`` (``pip install 'sigv4kit[httpie]'``).

::

    http -A sigv4 https://my-bucket.s3.eu-west-1.amazonaws.com/key      # chain, inferred scope
    http -A sigv4 -a AKID:SECRET PUT https://b.s3.amazonaws.com/k @big.iso
    http -A sigv4 -a 'region=us-east-1,service=execute-api,profile=dev' POST https://.../v1/items
    http -A sigv4 -a 'AKID:SECRET:TOKEN,region=auto,service=s3,unsigned' PUT ... @file
    http -A sigv4 --offline GET https://b.s3.amazonaws.com/k   # show the signed request

``-a`` takes comma-separated items, all optional:

* ``AKID:SECRET`` or ``AKID:SECRET:TOKEN`` first: explicit keys (the session
  token is kept, also as ``token=...``).  Without them the AWS credential
  chain is used: environment, profiles, SSO, ``credential_process``,
  container and instance credentials, session tokens included.
* ``region=R``, ``service=S``: the credential scope.  By default both come
  from the hostname (``sigv4kit.endpoints.infer``), the region else from
  ``AWS_REGION`` or the profile.
* ``profile=P``: the profile to take credentials (and the region) from.
* ``unsigned`` (or ``payload=unsigned``): sign ``UNSIGNED-PAYLOAD``; the body
  is not read before it is sent.  ``payload=streaming`` sends a signed
  aws-chunked body.
* ``sigv4a`` and ``region_set=R1,R2``: SigV4a (MRAP hosts choose it by
  themselves).
* ``presign=SECONDS``: authenticate with a presigned URL instead of an
  ``Authorization`` header; ``cap_expires`` ends it with temporary
  credentials instead of refusing (as ``sigv4kit presign --cap-expires``).

``@file`` bodies are streamed: the file is hashed in pieces, rewound, and
sent by ``requests`` in pieces.  A pipe (``< file``) cannot be hashed before
it is sent: HTTPie reads it into memory first, or use ``unsigned``.
``Content-Length`` is not signed, because HTTPie may still change it after
the auth plugin ran (``--compress``, its own GET clean-up).
"""

from __future__ import annotations

import re
from typing import Any

import requests

from ..credentials import Credentials
from ..errors import CredentialsError, SigningError
from ..signer import Signer
from ._common import host_of
from .requests import SigV4Auth

try:  # HTTPie is the optional extra; the parser and auth below work without it.
    from httpie.plugins import AuthPlugin as _Base
except ImportError:  # pragma: no cover - exercised only without httpie
    _Base = object

__all__ = ["AuthOptions", "SigV4AuthPlugin", "build_auth", "parse_auth_value"]

_OPTION = re.compile(r"([a-z][a-z0-9_-]*)(?:=(.*))?\Z", re.DOTALL)
_KEYS = re.compile(r"([A-Z0-9]{8,128}):([^:]+)(?::(.+))?\Z", re.DOTALL)
# Names are compared with '-' read as '_' (cap-expires = cap_expires).
_FLAGS = {"unsigned", "unsigned_payload", "sigv4a", "cap_expires"}
_VALUED = {
    "region",
    "service",
    "profile",
    "token",
    "session_token",
    "payload",
    "region_set",
    "presign",
    "expires",
}


class AuthOptions:
    """What ``-a`` said, parsed.  Secrets stay out of ``repr``."""

    def __init__(self) -> None:
        self.access_key: str | None = None
        self.secret_key: str | None = None
        self.token: str | None = None
        self.region: str | None = None
        self.service: str | None = None
        self.profile: str | None = None
        self.payload: str | None = None
        self.sigv4a = False
        self.region_set: list[str] | None = None
        self.presign: int | None = None
        self.cap_expires = False

    def __repr__(self) -> str:
        return (
            f"AuthOptions(access_key={self.access_key!r}, region={self.region!r}, "
            f"service={self.service!r}, profile={self.profile!r}, payload={self.payload!r})"
        )


def parse_auth_value(raw: str | None) -> AuthOptions:
    """Parse HTTPie's ``-a`` value (see the module docstring).

    An item that is neither keys nor ``name[=value]`` continues the previous
    value, so ``region_set=us-east-1,us-west-2`` keeps its comma.
    """
    opts = AuthOptions()
    if not raw:
        return opts
    last: str | None = None
    values: dict[str, str] = {}
    for index, item in enumerate(raw.split(",")):
        item = item.strip()
        keys = _KEYS.match(item) if index == 0 else None
        if keys is not None:
            opts.access_key, opts.secret_key, opts.token = keys.group(1, 2, 3)
            continue
        m = _OPTION.match(item)
        name = m.group(1).replace("-", "_") if m else None
        if m is not None and name is not None and (name in _VALUED or name in _FLAGS):
            if m.group(2) is None:
                if name not in _FLAGS:
                    raise SigningError(f"-a: {item!r} needs a value ({item}=...)")
                values[name] = "1"
                last = None
            else:
                values[name] = m.group(2)
                last = name
            continue
        if last is not None and item:
            values[last] += "," + item
            continue
        raise SigningError(
            f"-a: cannot read {item!r}; use AKID:SECRET[:TOKEN] first, then "
            "region=R,service=S,profile=P,token=T,unsigned,sigv4a,region_set=R1,R2,"
            "presign=SECONDS,cap_expires"
        )
    opts.region = values.get("region") or None
    opts.service = values.get("service") or None
    opts.profile = values.get("profile") or None
    opts.token = values.get("token") or values.get("session_token") or opts.token
    if "unsigned" in values or "unsigned_payload" in values:
        opts.payload = "unsigned"
    elif values.get("payload"):
        opts.payload = values["payload"]
    opts.sigv4a = "sigv4a" in values
    if values.get("region_set"):
        opts.sigv4a = True
        opts.region_set = [r.strip() for r in values["region_set"].split(",") if r.strip()]
    presign = values.get("presign") or values.get("expires")
    if presign:
        try:
            opts.presign = int(presign)
        except ValueError:
            raise SigningError(f"-a: presign={presign!r} is not a number of seconds") from None
    opts.cap_expires = "cap_expires" in values
    return opts


def _infer(host: str) -> tuple[str | None, str | None, str | None, list[str] | None]:
    """``(region, service, algorithm, region_set)`` from the hostname, if it says."""
    from ..endpoints import infer

    e = infer(host)
    if e is None:
        return None, None, None, None
    return e.region, e.service, e.algorithm, e.region_set


def _credentials(opts: AuthOptions) -> Any:
    if opts.access_key and opts.secret_key:
        return Credentials(opts.access_key, opts.secret_key, opts.token)
    from ..providers import default_provider

    provider = default_provider(opts.profile)
    if opts.token:
        base = provider

        def with_token() -> Credentials:
            c = base()
            return Credentials(c.access_key_id, c.secret_access_key, opts.token, c.expiration)

        return with_token
    return provider


def build_auth(opts: AuthOptions, url: str) -> requests.auth.AuthBase:
    """The ``requests`` auth for ``url`` under ``opts`` (scope inferred where not given)."""
    host = host_of(url)
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    region, service, algorithm, region_set = _infer(hostname.lower())
    region = opts.region or region
    service = opts.service or service
    sigv4a = opts.sigv4a or algorithm == "sigv4a"
    region_set = opts.region_set or region_set or (["*"] if sigv4a else None)
    if not region and not sigv4a:
        from ..providers import resolve_region

        try:
            region = resolve_region(opts.profile)
        except CredentialsError:
            region = None
    if not service:
        raise SigningError(
            f"cannot tell the service from the host {hostname!r}: add it to -a, "
            "e.g. -a 'service=s3,region=us-east-1'"
        )
    if not region and not sigv4a:
        raise SigningError(
            f"cannot tell the region from the host {hostname!r}: add it to -a "
            "(region=us-east-1) or set AWS_REGION"
        )
    skipped = {
        "authorization",
        "connection",
        "content-length",
        "expect",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
    signer = Signer(
        _credentials(opts),
        region or "",
        service,
        algorithm="sigv4a" if sigv4a else "sigv4",
        region_set=region_set if sigv4a else None,
        skipped_headers=skipped,
    )
    if opts.presign is not None:
        return PresignAuth(signer, opts.presign, cap_expires=opts.cap_expires)
    return SigV4Auth(signer, payload=opts.payload)


class PresignAuth(requests.auth.AuthBase):
    """Authenticate with a presigned URL: ``X-Amz-*`` query parameters, no ``Authorization``."""

    def __init__(self, signer: Signer, expires: int, *, cap_expires: bool = False) -> None:
        self.signer = signer
        self.expires = expires
        self.cap_expires = cap_expires

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        assert r.url is not None and r.method is not None
        keep = [(n, str(v)) for n, v in r.headers.items() if n.lower() == "host"]
        signed = self.signer.presign_request(
            r.method,
            r.url,
            keep or None,
            expires=self.expires,
            cap_expires=self.cap_expires,
        )
        r.url = signed.url
        return r


class _Deferred(requests.auth.AuthBase):
    """Build the real auth on first use: the scope depends on the request's host."""

    def __init__(self, opts: AuthOptions) -> None:
        self.opts = opts

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        assert r.url is not None
        try:
            auth = build_auth(self.opts, r.url)
            return auth(r)
        except (SigningError, CredentialsError) as exc:
            # HTTPie prints the message of an exception raised here, with exit 1.
            raise SigningError(f"sigv4: {exc}") from None


class SigV4AuthPlugin(_Base):  # type: ignore[misc]
    """HTTPie's ``-A sigv4``: sign each request with sigv4kit."""

    name = "AWS SigV4/SigV4a (sigv4kit)"
    auth_type = "sigv4"
    description = (
        "Sign with AWS Signature V4/V4a. -a AKID:SECRET[:TOKEN] or the AWS credential chain; "
        "-a 'region=R,service=S,profile=P,unsigned,presign=SECONDS' (scope inferred from the "
        "host when not given)."
    )
    auth_require = False
    auth_parse = False
    prompt_password = False

    def get_auth(self, username: str | None = None, password: str | None = None) -> Any:
        raw = getattr(self, "raw_auth", None)
        return _Deferred(parse_auth_value(raw))
