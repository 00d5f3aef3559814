"""The click commands.  Logic lives in the helper modules; this is the surface."""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from .. import __version__
from ..canonical import canonical_request_for_target
from ..config import service_defaults
from ..credentials import Credentials
from ..endpoints import infer
from ..errors import CredentialsError, SignatureError, SigV4Error
from ..rawhttp import RawRequest, parse_raw_request
from ..signer import SignedRequest, parse_timestamp
from ._creds import find_credentials, find_region
from ._diagnose import (
    CAUSES,
    Cause,
    ClientView,
    Diagnosis,
    DiffLine,
    ServerError,
    diagnose,
    diff_canonical,
    parse_error_body,
    visible,
)
from ._explain import explain, parse_authorization, redact_token, sign_raw_request
from ._http import Response, send, stderr_is_tty
from ._options import (
    Body,
    RequestOptions,
    credential_options,
    open_body,
    parse_header,
    request_options,
    signing_options,
)
from ._render import color_wanted, render_explanation, section, style
from ._variants import Variant, find_variant

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@contextmanager
def _errors() -> Iterator[None]:
    """Library errors become one-line messages, never tracebacks."""
    try:
        yield
    except SigV4Error as exc:
        raise click.ClickException(str(exc)) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="sigv4kit")
def cli() -> None:
    """Sign, send, explain and diagnose AWS SigV4/SigV4a requests.

    \b
    Examples:
      sigv4kit sign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          -H 'Range: bytes=0-9' --region us-east-1 --service s3
      sigv4kit presign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          --expires 86400 --region us-east-1 --service s3
      sigv4kit request GET https://my-bucket.s3.eu-west-1.amazonaws.com/key -o key
      sigv4kit explain GET https://example.amazonaws.com/ --region us-east-1 --service iam
      sigv4kit diagnose error.xml GET https://bucket.s3.amazonaws.com/a%20b
      sigv4kit calculator

    Credentials come from --access-key/--secret-key/--session-token, else
    AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, else the AWS
    profile files (--profile or AWS_PROFILE).

    Shell completion: eval "$(sigv4kit completion bash)" (or zsh, fish).
    """


def _headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [parse_header(h) for h in values]


def _sign(
    opts: RequestOptions,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: Body,
    *,
    region: str | None = None,
    service: str | None = None,
    quiet: bool = False,
) -> tuple[SignedRequest, Any]:
    if not (region or opts.region or opts.region_set) or not (service or opts.service):
        region, service = _scope(opts, _host_of(url), quiet=quiet)
    creds = opts.credentials()
    payload = opts.payload()
    signer = opts.signer(creds, region, service, payload=None)
    send: object = body.for_signer()
    if body.file is not None and not body.seekable and payload is None:
        # A pipe can be hashed once, in pieces, but then it is gone: fine for
        # printing a signature, which sends nothing.
        payload = body.sha256_streaming()
        send = None
    signed = signer.sign(method, url, headers, body=send, timestamp=opts.timestamp, payload=payload)
    return signed, creds


# --------------------------------------------------------------------------
# sign
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("method")
@click.argument("url")
@request_options
@signing_options
@credential_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for tools).")
@click.option(
    "--show-token",
    is_flag=True,
    help="Show the session token in the canonical request (the headers to send always carry it).",
)
def sign(
    method: str,
    url: str,
    headers: tuple[str, ...],
    data: str | None,
    data_file: str | None,
    as_json: bool,
    show_token: bool,
    **kw: Any,
) -> None:
    """Sign a request and print every stage and the headers to send.

    \b
    Examples:
      # AWS's documented S3 example (GET with Range):
      AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \\
      AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \\
      sigv4kit sign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          -H 'Range: bytes=0-9' --region us-east-1 --service s3 \\
          --timestamp 20130524T000000Z
      # A JSON body, output for tools:
      sigv4kit sign POST https://dynamodb.us-east-1.amazonaws.com/ \\
          -H 'Content-Type: application/x-amz-json-1.0' -d '{"TableName":"t"}' \\
          --region us-east-1 --service dynamodb --json
      # SigV4a, valid in two regions:
      sigv4kit sign GET https://example.amazonaws.com/ --service s3 \\
          --sigv4a --region-set us-east-1,us-west-2

    --json prints canonical_request, string_to_sign, signature, authorization
    and headers (a list of [name, value] pairs), plus url and the other stages.
    """
    opts = RequestOptions.from_kwargs(kw)
    body = open_body(data, data_file)
    try:
        with _errors():
            signed, creds = _sign(opts, method, url, _headers(headers), body, quiet=as_json)
            data_out = explain(signed, credentials=creds, show_token=show_token, keep_sendable=True)
    finally:
        body.close()
    if as_json:
        _echo_json(data_out)
        return
    render_explanation(data_out, full=False)
    if signed.url != url:
        click.echo(click.style(f"Send to: {signed.url}", dim=True))


# --------------------------------------------------------------------------
# presign
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("method")
@click.argument("url")
@click.option(
    "--expires",
    type=click.IntRange(1, 604800),
    required=True,
    metavar="SECONDS",
    help="How long the URL is valid, 1 to 604800 (7 days).",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'Name: value'",
    help="A header to sign; it must then be sent with the URL.",
)
@signing_options
@credential_options
@click.option("--json", "as_json", is_flag=True, help="Print the URL and every stage as JSON.")
@click.option(
    "--show-token",
    is_flag=True,
    help="With --json: show the session token in the canonical request (the URL carries it).",
)
def presign(
    method: str,
    url: str,
    expires: int,
    headers: tuple[str, ...],
    as_json: bool,
    show_token: bool,
    **kw: Any,
) -> None:
    """Print a presigned URL (query-string authentication).

    \b
    Examples:
      # AWS's documented presigned URL example:
      AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \\
      AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \\
      sigv4kit presign GET https://examplebucket.s3.amazonaws.com/test.txt \\
          --expires 86400 --region us-east-1 --service s3 --timestamp 20130524T000000Z
      # Then fetch it:
      curl "$(sigv4kit presign GET https://b.s3.amazonaws.com/k --expires 600 \\
          --region us-east-1 --service s3)"
    """
    opts = RequestOptions.from_kwargs(kw)
    with _errors():
        region = service = None
        if not (opts.region or opts.region_set) or not opts.service:
            region, service = _scope(opts, _host_of(url), quiet=as_json)
        creds = opts.credentials()
        signer = opts.signer(creds, region, service)
        signed = signer.presign_request(
            method,
            url,
            _headers(headers),
            expires=expires,
            timestamp=opts.timestamp,
            payload=opts.payload(),
        )
    if as_json:
        data_out = explain(
            signed, credentials=creds, show_token=show_token, presigned=True, keep_sendable=True
        )
        data_out["expires"] = expires
        _echo_json(data_out)
        return
    click.echo(signed.url)


# --------------------------------------------------------------------------
# Shared: scope inference, raw requests, credentials for diagnosis
# --------------------------------------------------------------------------
def _host_of(url: str) -> str:
    rest = url.partition("://")[2]
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    return authority.rpartition("@")[2]


def _scope(opts: RequestOptions, host: str, *, quiet: bool = False) -> tuple[str | None, str]:
    """``(region, service)`` from the flags, else the hostname (with a note)."""
    region, service = opts.region, opts.service
    if region and service:
        return region, service
    if opts.sigv4a and opts.region_set and service:
        return region, service
    guess = infer(host)
    said = []
    if guess is not None:
        if not service:
            service = guess.service
            said.append(f"service {service}")
        if guess.algorithm == "sigv4a" and not opts.sigv4a:
            opts.sigv4a = True
            opts.region_set = opts.region_set or ",".join(guess.region_set or ["*"])
            said.append(f"SigV4a with region set {opts.region_set}")
        elif not region and not (opts.sigv4a and opts.region_set):
            region = guess.region
            said.append(f"region {region}")
    if not region and not (opts.sigv4a and opts.region_set):
        region = find_region(opts.profile)
        if region:
            said.append(f"region {region} (from AWS_REGION or the profile)")
    if not service or (not region and not (opts.sigv4a and opts.region_set)):
        missing = " and ".join(
            f
            for f, ok in (("--service", service), ("--region", region or opts.region_set))
            if not ok
        )
        raise click.UsageError(
            f"{host!r} is not an endpoint sigv4kit knows, so it cannot tell the credential "
            f"scope; pass {missing} (e.g. --service s3 --region us-east-1)"
        )
    if said and not quiet:
        where = f" ({guess.label})" if guess is not None else ""
        click.echo(
            click.style(f"note: inferred {' and '.join(said)} from {host}{where}", dim=True),
            err=True,
            color=color_wanted(),
        )
    return region, service


def _read_input(path: str) -> bytes:
    """A small text input (an error body or a raw request), file or stdin."""
    limit = 64 << 20
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path!r}: {exc.strerror}") from None
    if len(data) > limit:
        raise click.BadParameter(f"{path!r} is larger than 64 MiB")
    return data


def _raw(path: str) -> RawRequest:
    with _errors():
        return parse_raw_request(_read_input(path))


def _print_diagnosis(d: Diagnosis, *, err: bool = False) -> None:
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


def _client_view_from_raw(raw: RawRequest, opts: RequestOptions) -> ClientView:
    """What a client that sent ``raw`` signed: its canonical request and string to sign.

    Needs no secret: the canonical request follows from the request and its
    ``SignedHeaders``, the string to sign from the scope in ``Credential``.
    """
    auth_value = raw.header("authorization")
    auth = parse_authorization(auth_value) if auth_value else None
    if auth is None:
        raise click.UsageError(
            "the request file has no SigV4 Authorization header; give the request as it was "
            "sent, or METHOD URL and flags to re-sign it"
        )
    scope = auth["scope"].split("/")
    service = opts.service or scope[-2]
    d = service_defaults(service)
    claimed = raw.header("x-amz-content-sha256")
    import hashlib

    payload = claimed.strip() if claimed else hashlib.sha256(raw.body).hexdigest()
    with _errors():
        cr = canonical_request_for_target(
            raw.method,
            raw.target,
            raw.headers,
            payload,
            double_uri_encode=d.double_uri_encode
            if opts.double_encode is None
            else opts.double_encode,
            normalize_path=d.normalize_path if opts.normalize_path is None else opts.normalize_path,
            plus_in_path_is_space=d.plus_in_path_is_space,
            signed_headers=auth["signed_headers"].split(";"),
        )
    amz = raw.header("x-amz-date") or ""
    sha = hashlib.sha256(cr.text.encode()).hexdigest()
    return ClientView(cr.text, f"{auth['algorithm']}\n{amz}\n{auth['scope']}\n{sha}")


# --------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------
@cli.command("explain", context_settings=CONTEXT)
@click.argument("method", required=False)
@click.argument("url", required=False)
@request_options
@signing_options
@credential_options
@click.option(
    "-f",
    "--request-file",
    metavar="FILE",
    help="Explain a raw HTTP request (a file, or '-' for standard input) instead of METHOD URL.",
)
@click.option("--presign", is_flag=True, help="Explain a presigned URL instead of header signing.")
@click.option(
    "--expires",
    type=click.IntRange(1, 604800),
    default=3600,
    show_default=True,
    metavar="SECONDS",
    help="Lifetime of the presigned URL (with --presign).",
)
@click.option("--show-token", is_flag=True, help="Print the session token instead of hiding it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for tools).")
def explain_cmd(
    method: str | None,
    url: str | None,
    headers: tuple[str, ...],
    data: str | None,
    data_file: str | None,
    request_file: str | None,
    presign: bool,
    expires: int,
    show_token: bool,
    as_json: bool,
    **kw: Any,
) -> None:
    """Show how a request is signed, step by step.

    Prints the canonical request and the string to sign with their parts
    labelled, the credential scope, the signing-key chain (names only, never
    key material) and the final headers.  The session token is hidden unless
    --show-token.

    \b
    Examples:
      sigv4kit explain GET https://examplebucket.s3.amazonaws.com/test.txt \\
          -H 'Range: bytes=0-9' --region us-east-1 --service s3 \\
          --timestamp 20130524T000000Z
      # A raw HTTP request (e.g. one of the AWS test suite's request.txt):
      sigv4kit explain -f request.txt --region us-east-1 --service service
      # A signed request from a log, on standard input: does its signature match?
      sigv4kit explain -f - --json < signed-request.txt
      sigv4kit explain GET https://b.s3.amazonaws.com/k --presign --expires 600
    """
    opts = RequestOptions.from_kwargs(kw)
    provided: str | None = None
    if request_file is not None:
        if method or url:
            raise click.UsageError("give either METHOD URL or --request-file, not both")
        if presign:
            raise click.UsageError("--presign works with METHOD URL, not --request-file")
        raw = _raw(request_file)
        auth_value = raw.header("authorization")
        auth = parse_authorization(auth_value) if auth_value else None
        if auth is not None:
            provided = auth["signature"]
            scope = auth["scope"].split("/")
            if opts.region is None and len(scope) == 4:
                opts.region = scope[1]
            if opts.service is None:
                opts.service = scope[-2]
            if auth["algorithm"] == "AWS4-ECDSA-P256-SHA256":
                opts.sigv4a = True
                opts.region_set = opts.region_set or raw.header("x-amz-region-set")
            if opts.signed_headers is None:
                opts.signed_headers = auth["signed_headers"].replace(";", ",")
        region, service = _scope(opts, raw.header("host") or "", quiet=as_json)
        with _errors():
            creds = opts.credentials()
            signer = opts.signer(creds, region, service, payload=opts.payload())
            signed = sign_raw_request(raw, signer, opts.timestamp)
        if provided is not None and signed.algorithm == "AWS4-ECDSA-P256-SHA256":
            provided = None  # SigV4a signatures are randomized: compare by verifying
    else:
        if not method or not url:
            raise click.UsageError("give METHOD URL, or --request-file FILE")
        region, service = _scope(opts, _host_of(url), quiet=as_json)
        body = open_body(data, data_file)
        try:
            with _errors():
                if presign:
                    creds = opts.credentials()
                    signer = opts.signer(creds, region, service)
                    signed = signer.presign_request(
                        method,
                        url,
                        _headers(headers),
                        expires=expires,
                        timestamp=opts.timestamp,
                        body=body.for_signer(),
                        payload=opts.payload(),
                    )
                else:
                    signed, creds = _sign(
                        opts, method, url, _headers(headers), body, region=region, service=service
                    )
        finally:
            body.close()
    result = explain(
        signed,
        credentials=creds,
        show_token=show_token,
        presigned=presign,
        provided_signature=provided,
    )
    if as_json:
        _echo_json(result)
        return
    render_explanation(result, full=True)


# --------------------------------------------------------------------------
# diagnose
# --------------------------------------------------------------------------
@cli.command("diagnose", context_settings=CONTEXT)
@click.argument("error_file")
@click.argument("method", required=False)
@click.argument("url", required=False)
@request_options
@signing_options
@credential_options
@click.option(
    "--request",
    "request_file",
    metavar="FILE",
    help="The request as it was sent (raw HTTP, with its Authorization header).",
)
@click.option(
    "--canonical-request",
    "cr_file",
    metavar="FILE",
    help="The canonical request the client logged (e.g. from botocore's debug log).",
)
@click.option(
    "--string-to-sign", "sts_file", metavar="FILE", help="The string to sign the client logged."
)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
def diagnose_cmd(
    error_file: str,
    method: str | None,
    url: str | None,
    headers: tuple[str, ...],
    data: str | None,
    data_file: str | None,
    request_file: str | None,
    cr_file: str | None,
    sts_file: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Explain a server's SignatureDoesNotMatch: diff and likely cause.

    ERROR_FILE is the server's error response body ('-' for standard input):
    S3's XML with CanonicalRequest and StringToSign, or another service's
    JSON/XML message with "The Canonical String for this request should have
    been ...".  Give the request as the client signed it in one of three
    ways: METHOD URL and the same flags as `sign` (re-signed here; the
    timestamp defaults to the one in the server's string to sign), --request
    FILE (the raw request as sent), or --canonical-request/--string-to-sign
    (the client's own debug output).  Names the likely cause: path encoding,
    query encoding or order, header whitespace, a header changed in transit,
    payload hash, wrong region or service, clock skew, session token.

    \b
    Examples:
      sigv4kit diagnose error.xml GET 'https://bucket.s3.amazonaws.com/my file.txt'
      sigv4kit diagnose error.json --request sent-request.txt
      pbpaste | sigv4kit diagnose - --canonical-request botocore-creq.txt
    """
    opts = RequestOptions.from_kwargs(kw)
    server = parse_error_body(_read_input(error_file))
    client = ClientView()
    if cr_file is not None:
        client.canonical_request = _read_input(cr_file).decode("utf-8", "replace").strip("\n")
    if sts_file is not None:
        client.string_to_sign = _read_input(sts_file).decode("utf-8", "replace").strip()
    if request_file is not None:
        view = _client_view_from_raw(_raw(request_file), opts)
        client.canonical_request = client.canonical_request or view.canonical_request
        client.string_to_sign = client.string_to_sign or view.string_to_sign
    if method and url:
        if opts.timestamp is None and server.string_to_sign:
            lines = server.string_to_sign.split("\n")
            if len(lines) > 1:
                opts.timestamp = lines[1].strip()
        if server.string_to_sign and (opts.region is None or opts.service is None):
            scope = (
                server.string_to_sign.split("\n")[2].split("/")
                if server.string_to_sign.count("\n") >= 2
                else []
            )
            if len(scope) == 4:
                opts.region = opts.region or scope[1]
                opts.service = opts.service or scope[2]
        region, service = _scope(opts, _host_of(url), quiet=as_json)
        body = open_body(data, data_file)
        try:
            with _errors():
                try:
                    creds = opts.credentials()
                except CredentialsError:
                    # The canonical request needs no secret: sign with a stand-in.
                    creds = Credentials("AKIDPLACEHOLDER", "placeholder-secret")
                signer = opts.signer(creds, region, service)
                signed = signer.sign(
                    method,
                    url,
                    _headers(headers),
                    body=body.for_signer(),
                    timestamp=opts.timestamp,
                    payload=opts.payload(),
                )
        finally:
            body.close()
        client.canonical_request = signed.canonical_request
        client.string_to_sign = signed.string_to_sign
    elif method or url:
        raise click.UsageError("give both METHOD and URL (or neither)")
    result = diagnose(server, client)
    if as_json:
        _echo_json(result.as_dict())
    else:
        _print_diagnosis(result)
    if not result.causes:
        sys.exit(3)


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("request_file", default="-", metavar="[FILE]")
@click.option("--region", metavar="R", help="Region requests must be scoped to.")
@click.option("--service", metavar="S", help="Service requests must be scoped to.")
@credential_options
@click.option(
    "--now",
    metavar="T",
    help="The server's time, e.g. 20130524T000100Z (default: the clock). Old requests need it.",
)
@click.option(
    "--max-skew",
    type=float,
    metavar="SECONDS",
    help="Allowed clock difference (default: per service).",
)
@click.option(
    "--normalize-path/--no-normalize-path",
    default=None,
    help="Remove dot segments and '//' (default: per service).",
)
@click.option(
    "--double-encode/--single-encode",
    default=None,
    help="Encode the path twice or once (default: per service).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option(
    "--show-token",
    is_flag=True,
    help="Show the session token in the canonical requests printed (hidden by default).",
)
def verify(
    request_file: str,
    region: str | None,
    service: str | None,
    now: str | None,
    max_skew: float | None,
    normalize_path: bool | None,
    double_encode: bool | None,
    as_json: bool,
    access_key: str | None,
    secret_key: str | None,
    session_token: str | None,
    profile: str | None,
    show_token: bool,
) -> None:
    """Verify a signed raw HTTP request; on failure, say why.

    FILE holds the request as received (request line, headers, blank line,
    body); '-' or nothing reads standard input.  The credentials are the
    ones the client should have used.  Exit status 0 = valid, 1 = invalid.

    \b
    Examples:
      sigv4kit verify request.txt --region us-east-1 --service s3 \\
          --access-key AKIDEXAMPLE --secret-key "$SECRET" --now 20150830T123700Z
      nc -l 8080 | head -c 100000 | sigv4kit verify --region us-east-1 --service s3
    """
    try:
        from ..verifier import Verifier
    except ImportError:  # pragma: no cover - the verifier ships with the package
        raise click.ClickException("sigv4kit.verifier is not available in this install") from None
    raw = _raw(request_file)
    auth_value = raw.header("authorization")
    auth = parse_authorization(auth_value) if auth_value else None
    if auth is not None:
        scope = auth["scope"].split("/")
        region = region or (scope[1] if len(scope) == 4 else None)
        service = service or scope[-2]
    if not region or not service:
        raise click.UsageError("pass --region and --service (the request does not say them)")
    with _errors():
        creds = find_credentials(access_key, secret_key, session_token, profile)
        verifier = Verifier(
            {creds.access_key_id: creds},
            region,
            service,
            max_skew=max_skew,
            normalize_path=normalize_path,
            double_uri_encode=double_encode,
            show_token=show_token,
        )
        when = None
        if now is not None:
            from datetime import datetime, timezone

            amz = parse_timestamp(now)
            when = datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    try:
        ok = verifier.verify(raw.method, raw.target, raw.headers, raw.body, now=when)
        ok.read()  # the payload hash is checked as the body is read
    except SignatureError as exc:
        server = ServerError(
            code=exc.code,
            message=exc.message,
            canonical_request=exc.canonical_request,
            string_to_sign=exc.string_to_sign,
            signature_provided=exc.signature_provided,
            access_key_id=exc.access_key_id,
            details=dict(exc.details),
            format="verifier",
        )
        result = diagnose(server, None)
        result.notes = []
        if exc.code == "SignatureDoesNotMatch":
            variant = find_variant(
                raw,
                creds.secret_access_key,
                double_uri_encode=double_encode,
                normalize_path=normalize_path,
            )
            if variant is not None:
                result.causes.insert(0, _explained_cause(variant))
                if exc.canonical_request is not None:
                    hidden = None if show_token else creds.session_token
                    result.canonical_request_diff = diff_canonical(
                        redact_token(variant.canonical_request, hidden),
                        exc.canonical_request,
                    )
            elif not result.causes:
                result.causes.append(
                    Cause(
                        "secret-key",
                        CAUSES["secret-key"][0],
                        "No common canonicalization mistake reproduces the signature: the "
                        "client probably used another secret key.",
                        CAUSES["secret-key"][1],
                    )
                )
        if as_json:
            _echo_json({"valid": False, **result.as_dict()})
        else:
            click.echo(style("INVALID", fg="red", bold=True), color=color_wanted())
            _print_diagnosis(result)
        sys.exit(1)
    except SigV4Error as exc:
        raise click.ClickException(str(exc)) from None
    verdict = {
        "valid": True,
        "access_key_id": ok.access_key_id,
        "algorithm": ok.algorithm,
        "auth_type": ok.auth_type,
        "scope": str(ok.scope),
        "signed_headers": list(ok.signed_headers),
        "amz_date": ok.amz_date,
        "payload_hash": ok.payload_hash,
        "has_session_token": ok.has_session_token,
    }
    if as_json:
        _echo_json(verdict)
        return
    click.echo(style("VALID", fg="green", bold=True), color=color_wanted())
    click.echo(f"  signed by {ok.access_key_id} for {ok.scope} at {ok.amz_date} ({ok.auth_type})")
    click.echo(f"  signed headers: {';'.join(ok.signed_headers)}")


def _explained_cause(variant: Variant) -> Cause:
    title, fix = CAUSES[variant.cause]
    return Cause(
        variant.cause,
        title,
        f"Reproduced: the signature matches when {variant.description}.",
        fix,
    )


# --------------------------------------------------------------------------
# request
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("method")
@click.argument("url")
@request_options
@signing_options
@credential_options
@click.option("-o", "--output", metavar="FILE", help="Write the response body to FILE.")
@click.option("-i", "--include", is_flag=True, help="Print the response status and headers.")
@click.option("-v", "--verbose", is_flag=True, help="Print the request sent (token hidden).")
@click.option(
    "--streaming",
    is_flag=True,
    help="Upload as signed aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD); no pre-hashing.",
)
@click.option("--presign", is_flag=True, help="Print a presigned URL instead of sending.")
@click.option(
    "--expires",
    type=click.IntRange(1, 604800),
    default=3600,
    show_default=True,
    metavar="SECONDS",
    help="Lifetime of the URL (with --presign).",
)
@click.option("--fail", is_flag=True, help="Exit 22 with a one-line reason on HTTP errors.")
@click.option("-k", "--insecure", is_flag=True, help="Do not verify the TLS certificate.")
@click.option("--cacert", metavar="FILE", help="CA bundle to verify the server with.")
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="Network timeout in seconds."
)
def request(
    method: str,
    url: str,
    headers: tuple[str, ...],
    data: str | None,
    data_file: str | None,
    output: str | None,
    include: bool,
    verbose: bool,
    streaming: bool,
    presign: bool,
    expires: int,
    fail: bool,
    insecure: bool,
    cacert: str | None,
    timeout: float,
    **kw: Any,
) -> None:
    """Sign and send a request, like curl.

    The region and service are inferred from AWS, Cloudflare R2 (region
    'auto') and other common hostnames when not given (a note says what was
    inferred).  Uploads and downloads over 1 MiB show a progress bar on a
    terminal.  Without --fail an HTTP error still exits 0 (as curl does);
    with --fail it exits 22 with a one-line reason.  A SignatureDoesNotMatch
    answer is diagnosed on standard error.

    \b
    Examples:
      sigv4kit request GET https://my-bucket.s3.eu-west-1.amazonaws.com/photo.jpg -o photo.jpg
      sigv4kit request PUT https://my-bucket.s3.amazonaws.com/big.iso --data-file big.iso
      sigv4kit request PUT https://acct.r2.cloudflarestorage.com/b/k --data-file - \\
          --streaming -H 'X-Amz-Decoded-Content-Length: 1048576' < part.bin
      sigv4kit request POST https://sts.amazonaws.com/ \\
          -d 'Action=GetCallerIdentity&Version=2011-06-15' \\
          -H 'Content-Type: application/x-www-form-urlencoded'
      sigv4kit request GET http://127.0.0.1:9000/bucket/key --region us-east-1 --service s3 -i
      sigv4kit request GET https://b.s3.amazonaws.com/k --presign --expires 600
    """
    opts = RequestOptions.from_kwargs(kw)
    if streaming and (opts.unsigned_payload or opts.payload_hash):
        raise click.UsageError(
            "--streaming cannot be combined with --unsigned-payload/--payload-hash"
        )
    region, service = _scope(opts, _host_of(url))
    header_list = _headers(headers)
    if presign:
        with _errors():
            creds = opts.credentials()
            signer = opts.signer(creds, region, service)
            click.echo(
                signer.presign(
                    method,
                    url,
                    header_list,
                    expires=expires,
                    timestamp=opts.timestamp,
                    payload=opts.payload(),
                )
            )
        return
    body = open_body(data, data_file)
    try:
        with _errors():
            creds = opts.credentials()
            signer = opts.signer(creds, region, service)
            payload = "streaming" if streaming else opts.payload()
            send_body: object = body.for_signer()
            if payload is None and body.file is not None and not body.seekable:
                raise click.UsageError(
                    "standard input cannot be hashed before it is sent; add --unsigned-payload "
                    "or --streaming"
                )
            signed = signer.sign(
                method,
                url,
                header_list,
                body=send_body,
                timestamp=opts.timestamp,
                payload=payload,
            )
        if verbose:
            _print_request(signed, creds.session_token)
        size = None if streaming else body.size
        out_file: Any = None
        try:
            if output is not None:
                out_file = open(output, "wb")  # closed below
            target = out_file if out_file is not None else sys.stdout.buffer

            def show_head(resp: Response) -> None:
                if include:
                    head = [f"{resp.version} {resp.status} {resp.reason}"]
                    head += [f"{n}: {v}" for n, v in resp.headers]
                    target.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace"))
                    target.flush()

            try:
                resp = send(
                    signed.method,
                    signed.url,
                    list(signed.headers),
                    signed.body if (signed.body is not None or body.present) else None,
                    body_size=size,
                    out=target,
                    timeout=timeout,
                    insecure=insecure,
                    cacert=cacert,
                    progress=_progress if stderr_is_tty() else None,
                    before_body=show_head,
                )
            except (OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", None) or exc
                click.echo(f"sigv4kit: cannot reach {_host_of(signed.url)}: {reason}", err=True)
                sys.exit(7)
        finally:
            if out_file is not None:
                out_file.close()
    finally:
        body.close()
    if resp.status >= 400:
        server = parse_error_body(resp.error_body)
        if (
            server.canonical_request is not None
            or server.string_to_sign is not None
            or (
                server.code
                in (
                    "SignatureDoesNotMatch",
                    "RequestTimeTooSkewed",
                    "InvalidToken",
                    "ExpiredToken",
                    "AuthorizationHeaderMalformed",
                    "XAmzContentSHA256Mismatch",
                )
            )
        ):
            client = ClientView(signed.canonical_request, signed.string_to_sign)
            click.echo("", err=True)
            _print_diagnosis(diagnose(server, client), err=True)
        if fail:
            code = f" ({server.code})" if server.code else ""
            click.echo(f"sigv4kit: HTTP {resp.status} {resp.reason}{code}", err=True)
            sys.exit(22)


def _progress(label: str, total: int | None) -> Any:
    return click.progressbar(
        length=total,
        label=label,
        file=sys.stderr,
        show_eta=True,
        show_percent=True,
        width=30,
    )


def _print_request(signed: SignedRequest, token: str | None) -> None:
    rest = signed.url.partition("://")[2]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    target = rest[cut:] or "/"
    lines = [f"> {signed.method} {redact_token(target, token)} HTTP/1.1"]
    lines += [f"> {n}: {redact_token(v, token)}" for n, v in signed.headers]
    click.echo("\n".join(lines) + "\n>", err=True)


# --------------------------------------------------------------------------
# calculator
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port on 127.0.0.1 (default: a free one).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the URL.")
def calculator(port: int, no_browser: bool) -> None:
    """Start the local web calculator on 127.0.0.1.

    Fill in credentials, scope and a request; the canonical request, the
    string to sign (colour-coded), the signature, the Authorization header
    or presigned URL, the key chain and a curl command update as you type.
    Paste a server's error to diagnose it.  The page works offline; the
    secret stays in memory on this machine and is never logged.

    \b
    Examples:
      sigv4kit calculator
      sigv4kit calculator --port 8765 --no-browser
    """
    from ..calculator import serve

    try:
        serve(port, open_browser=not no_browser, announce=lambda line: click.echo(line))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


# --------------------------------------------------------------------------
# completion
# --------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script.

    \b
    Examples:
      eval "$(sigv4kit completion bash)"     # in ~/.bashrc
      eval "$(sigv4kit completion zsh)"      # in ~/.zshrc
      sigv4kit completion fish > ~/.config/fish/completions/sigv4kit.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - the Choice above lists click's shells
        raise click.UsageError(f"no completion for {shell}")
    click.echo(cls(cli, {}, "sigv4kit", "_SIGV4KIT_COMPLETE").source())
