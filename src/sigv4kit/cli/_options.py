"""The request flags shared by ``sign``, ``explain``, ``request`` and ``diagnose``.

DESIGN.md fixes the names (``-H``, ``-d``, ``--data-file``, ``--region``,
``--service``, ``--timestamp``, ``--sigv4a``, ``--region-set``, and the
credential flags); this module declares them once and turns them into a
:class:`~sigv4kit.Signer`, the header list and the body.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import click

from ..credentials import Credentials
from ..errors import CredentialsError, SigningError
from ..payload import is_seekable, read_pieces
from ..presigning import MAX_PRESIGN_EXPIRES
from ..signer import Signer

__all__ = [
    "Body",
    "RequestOptions",
    "credential_options",
    "expires_option",
    "find_credentials",
    "output_options",
    "parse_header",
    "path_options",
    "presign_options",
    "request_arguments",
    "request_options",
    "request_or_file",
    "signing_options",
]

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator that applies ``decorators`` as if stacked in this order."""

    def decorate(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return decorate


#: --access-key/--secret-key/--session-token/--profile.
credential_options = _stack(
    click.option(
        "--access-key",
        metavar="AKID",
        help="Access key id (default: AWS_ACCESS_KEY_ID, then the profile files).",
    ),
    click.option(
        "--secret-key",
        metavar="SECRET",
        help="Secret access key (prefer AWS_SECRET_ACCESS_KEY: flags show in `ps`).",
    ),
    click.option(
        "--session-token",
        metavar="TOKEN",
        help="Session token for temporary credentials (default: AWS_SESSION_TOKEN).",
    ),
    click.option(
        "--profile",
        metavar="NAME",
        help="AWS profile to read credentials (and region) from.",
    ),
)

#: How the path is canonicalized: signing_options has them, verify takes them alone.
path_options = _stack(
    click.option(
        "--normalize-path/--no-normalize-path",
        default=None,
        help="Remove dot segments and '//' (default: per service; S3 does not).",
    ),
    click.option(
        "--double-encode/--single-encode",
        default=None,
        help="Encode the path twice (every service) or once (S3) (default: per service).",
    ),
)

#: Scope, algorithm and the canonicalization overrides.
signing_options = _stack(
    click.option("--region", metavar="R", help="Region of the credential scope."),
    click.option("--service", metavar="S", help="Service of the credential scope."),
    click.option(
        "--timestamp",
        metavar="T",
        help="Signing time, e.g. 20130524T000000Z or 2013-05-24T00:00:00Z (default: now).",
    ),
    click.option("--sigv4a", is_flag=True, help="Sign with SigV4a (ECDSA P-256)."),
    click.option(
        "--region-set",
        metavar="R1,R2",
        help="SigV4a regions the signature is valid in (default: --region; '*' = all).",
    ),
    click.option(
        "--unsigned-payload",
        is_flag=True,
        help="Sign UNSIGNED-PAYLOAD instead of the body's SHA-256.",
    ),
    click.option(
        "--payload-hash",
        metavar="HEX",
        help="Sign this precomputed SHA-256 of the body.",
    ),
    click.option(
        "--signed-headers",
        metavar="NAMES",
        help="Sign exactly these headers (comma-separated), plus the required ones.",
    ),
    path_options,
    click.option(
        "--content-sha256/--no-content-sha256",
        default=None,
        help="Send and sign X-Amz-Content-SHA256 (default: S3 yes, others no).",
    ),
    click.option(
        "--unsigned-session-token",
        is_flag=True,
        help="Add X-Amz-Security-Token after signing instead of signing it.",
    ),
)

#: -H, -d and --data-file.
request_options = _stack(
    click.option(
        "-H",
        "--header",
        "headers",
        multiple=True,
        metavar="'Name: value'",
        help="A request header; repeat for more.",
    ),
    click.option(
        "-d",
        "--data",
        metavar="DATA",
        help="Request body as text; '@FILE' reads FILE (streamed), as curl does.",
    ),
    click.option(
        "--data-file",
        metavar="PATH",
        help="Request body from a file, streamed ('-' = standard input).",
    ),
)


def request_arguments(*, required: bool = True) -> Callable[[F], F]:
    """METHOD URL and every request, signing and credential flag (into ``**kw``)."""
    return _stack(
        click.argument("method", required=required),
        click.argument("url", required=required),
        request_options,
        signing_options,
        credential_options,
    )


def request_or_file(*flags: str, file_help: str) -> Callable[[F], F]:
    """Optional METHOD URL (with every request flag), or a raw HTTP request
    file given with ``flags`` (into ``request_file``): what explain and
    diagnose take."""
    return _stack(
        request_arguments(required=False),
        click.option(*flags, "request_file", metavar="FILE", help=file_help),
    )


def expires_option(**settings: Any) -> Callable[[F], F]:
    """--expires: a presigned URL's lifetime in seconds, 1 to 604800 (S3's 7 days)."""
    return click.option(
        "--expires", type=click.IntRange(1, MAX_PRESIGN_EXPIRES), metavar="SECONDS", **settings
    )


def presign_options(presign_help: str) -> Callable[[F], F]:
    """--presign (``presign_help`` says what it does instead), --expires, --cap-expires."""
    return _stack(
        click.option("--presign", is_flag=True, help=presign_help),
        expires_option(
            default=3600,
            show_default=True,
            help="Lifetime of the presigned URL (with --presign).",
        ),
        click.option(
            "--cap-expires",
            is_flag=True,
            help="With --presign: end the URL when the credentials expire (default: refuse).",
        ),
    )


def output_options(json_help: str, token_help: str) -> Callable[[F], F]:
    """--json (into ``as_json``) and --show-token, with each command's help."""
    return _stack(
        click.option("--json", "as_json", is_flag=True, help=json_help),
        click.option("--show-token", is_flag=True, help=token_help),
    )


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> ``('Name', 'value')``; ``'Name:'`` is an empty value."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise click.BadParameter(
            f"{text!r} is not a header; write it as 'Name: value'", param_hint="-H"
        )
    if name != name.strip():
        raise click.BadParameter(
            f"header name {name!r} has surrounding spaces; write 'Name: value'", param_hint="-H"
        )
    return name, value.strip(" \t")


@dataclass
class Body:
    """A request body: bytes in memory, or an open file streamed in pieces."""

    data: bytes | None = None
    file: IO[bytes] | None = None
    size: int | None = None

    @property
    def present(self) -> bool:
        return self.data is not None or self.file is not None

    @property
    def seekable(self) -> bool:
        return self.file is None or is_seekable(self.file)

    def rewind(self) -> None:
        """Back to the start, to send the body again (a seekable file or bytes)."""
        if self.file is not None:
            self.file.seek(0)

    def for_signer(self) -> object:
        return self.file if self.file is not None else self.data

    def sha256_streaming(self) -> str:
        """Hash a one-shot stream (stdin) without keeping it: for ``sign`` only."""
        h = hashlib.sha256()
        for piece in read_pieces(self.file, 1 << 20):
            h.update(piece)
        return h.hexdigest()

    def close(self) -> None:
        if self.file is not None and self.file is not sys.stdin.buffer:
            self.file.close()


def find_credentials(
    access_key: str | None,
    secret_key: str | None,
    session_token: str | None,
    profile: str | None = None,
) -> Credentials:
    """Credentials from the flags, else the environment, else the profile files (the AWS
    CLI's order: :mod:`sigv4kit.providers` reads the environment and the files)."""
    from ..providers import default_provider

    if access_key or secret_key:
        if not (access_key and secret_key):
            missing = "--secret-key" if access_key else "--access-key"
            raise CredentialsError(
                f"{missing} is missing: pass --access-key and --secret-key together "
                "(or neither, to use the environment or a profile)"
            )
        return Credentials(access_key, secret_key, session_token or None)
    creds = default_provider(profile or None, use_botocore=True)()
    if session_token:
        creds = Credentials(creds.access_key_id, creds.secret_access_key, session_token)
    return creds


@dataclass
class RequestOptions:
    """Everything the shared flags say, resolved."""

    region: str | None
    service: str | None
    timestamp: str | None
    sigv4a: bool
    region_set: str | None
    unsigned_payload: bool
    payload_hash: str | None
    signed_headers: str | None
    normalize_path: bool | None
    double_encode: bool | None
    content_sha256: bool | None
    unsigned_session_token: bool
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    profile: str | None
    # -H, -d and --data-file, where the command takes them (request_options).
    headers: tuple[str, ...] = ()
    data: str | None = None
    data_file: str | None = None
    # --presign, --expires and --cap-expires, where the command takes them.
    presign: bool = False
    expires: int | None = None
    cap_expires: bool = False

    @classmethod
    def from_kwargs(cls, kw: dict[str, Any]) -> RequestOptions:
        names = cls.__dataclass_fields__
        return cls(**{k: kw.pop(k) for k in list(kw) if k in names})

    def header_list(self) -> list[tuple[str, str]]:
        """The -H headers as ``(name, value)`` pairs, in order."""
        return [parse_header(h) for h in self.headers]

    def body(self) -> Body:
        """The -d / --data-file body, files opened, never read whole (the caller closes it)."""
        if self.data is not None and self.data_file is not None:
            raise click.UsageError("use either -d/--data or --data-file, not both")
        path: str | None = self.data_file
        if self.data is not None:
            if not self.data.startswith("@"):
                raw = self.data.encode("utf-8")
                return Body(data=raw, size=len(raw))
            path = self.data[1:]
        if path is None:
            return Body()
        if path == "-":
            return Body(file=sys.stdin.buffer)
        try:
            f = open(path, "rb")  # closed by Body.close
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path!r}: {exc.strerror}") from None
        return Body(file=f, size=os.fstat(f.fileno()).st_size)

    def credentials(self) -> Credentials:
        return find_credentials(self.access_key, self.secret_key, self.session_token, self.profile)

    def payload(self) -> str | None:
        if self.unsigned_payload and self.payload_hash:
            raise click.UsageError("use either --unsigned-payload or --payload-hash, not both")
        if self.unsigned_payload:
            return "unsigned"
        if self.payload_hash:
            return self.payload_hash.strip().lower()
        return None

    def signer(self, credentials: Credentials, payload: str | None = None) -> Signer:
        region, service = self.region, self.service
        if not service:
            raise click.UsageError("--service is required (e.g. --service s3)")
        region_set: list[str] | None = None
        if self.region_set:
            if not self.sigv4a:
                raise click.UsageError("--region-set is for SigV4a; add --sigv4a")
            region_set = [r.strip() for r in self.region_set.split(",") if r.strip()]
        if not region and not region_set:
            raise click.UsageError("--region is required (e.g. --region us-east-1)")
        signed_headers = None
        if self.signed_headers:
            signed_headers = [h.strip() for h in self.signed_headers.split(",") if h.strip()]
        try:
            return Signer(
                credentials,
                region or "",
                service,
                algorithm="sigv4a" if self.sigv4a else "sigv4",
                region_set=region_set,
                double_uri_encode=self.double_encode,
                normalize_path=self.normalize_path,
                content_sha256_header=self.content_sha256,
                sign_session_token=not self.unsigned_session_token,
                signed_headers=signed_headers,
                payload=payload or "signed",
            )
        except SigningError as exc:
            raise click.UsageError(str(exc)) from None
