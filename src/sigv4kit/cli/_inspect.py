"""The commands that look inside a signature: ``explain``, ``diagnose`` and ``verify``;
:mod:`sigv4kit.diagnose` does the work."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..credentials import Credentials
from ..diagnose import (
    ClientView,
    ServerError,
    check_request,
    client_signed,
    diagnose,
    explain,
    parse_authorization,
    parse_error_body,
    scope_of,
    sign_raw_request,
)
from ..errors import CredentialsError
from ..rawhttp import RawRequest
from ..signer import SignedRequest
from ._common import (
    CONTEXT,
    echo_json,
    errors,
    host_of,
    infer,
    parse_now,
    read_input,
    read_raw,
    sign_with,
)
from ._options import (
    RequestOptions,
    credential_options,
    find_credentials,
    output_options,
    path_options,
    presign_options,
    request_or_file,
)
from ._render import color_wanted, print_diagnosis, render_explanation, style

__all__ = ["diagnose_cmd", "explain_cmd", "verify"]


@click.command("explain", context_settings=CONTEXT)
@request_or_file(
    "-f",
    "--request-file",
    file_help="Explain a raw HTTP request (a file, or '-' for standard input) instead of "
    "METHOD URL.",
)
@presign_options("Explain a presigned URL instead of header signing.")
@output_options(
    "Print one JSON object (for tools).", "Print the session token instead of hiding it."
)
def explain_cmd(
    method: str | None,
    url: str | None,
    request_file: str | None,
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
        if opts.presign:
            raise click.UsageError("--presign works with METHOD URL, not --request-file")
        signed, creds, provided = _signed_raw(opts, read_raw(request_file), quiet=as_json)
    else:
        if not method or not url:
            raise click.UsageError("give METHOD URL, or --request-file FILE")
        opts.region, opts.service = infer(opts, host_of(url), quiet=as_json)
        signed, creds = sign_with(opts, method, url)
    result = explain(
        signed,
        credentials=creds,
        show_token=show_token,
        presigned=opts.presign,
        provided_signature=provided,
    )
    if as_json:
        echo_json(result)
        return
    render_explanation(result, full=True)


@click.command("diagnose", context_settings=CONTEXT)
@click.argument("error_file")
@request_or_file(
    "--request", file_help="The request as it was sent (raw HTTP, with its Authorization header)."
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
    server = parse_error_body(read_input(error_file))
    client = ClientView()
    if cr_file is not None:
        client.canonical_request = read_input(cr_file).decode("utf-8", "replace").strip("\n")
    if sts_file is not None:
        client.string_to_sign = read_input(sts_file).decode("utf-8", "replace").strip()
    if request_file is not None:
        with errors():
            view = client_signed(
                read_raw(request_file),
                service=opts.service,
                double_uri_encode=opts.double_encode,
                normalize_path=opts.normalize_path,
            )
        client.canonical_request = client.canonical_request or view.canonical_request
        client.string_to_sign = client.string_to_sign or view.string_to_sign
    if method and url:
        signed = _resign(opts, server, method, url, as_json)
        client.canonical_request = signed.canonical_request
        client.string_to_sign = signed.string_to_sign
    elif method or url:
        raise click.UsageError("give both METHOD and URL (or neither)")
    result = diagnose(server, client)
    if as_json:
        echo_json(result.as_dict())
    else:
        print_diagnosis(result)
    if not result.causes:
        sys.exit(3)


@click.command(context_settings=CONTEXT)
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
@path_options
@output_options(
    "Print the verdict as JSON.",
    "Show the session token in the canonical requests printed (hidden by default).",
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
    show_token: bool,
    **credentials: str | None,
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
    raw = read_raw(request_file)
    said_region, said_service = scope_of(raw)
    region, service = region or said_region, service or said_service
    if not region or not service:
        raise click.UsageError("pass --region and --service (the request does not say them)")
    with errors():
        creds = find_credentials(**credentials)
        result = check_request(
            raw,
            creds,
            region,
            service,
            now=parse_now(now),
            max_skew=max_skew,
            normalize_path=normalize_path,
            double_uri_encode=double_encode,
            show_token=show_token,
        )
    if as_json:
        echo_json(result.as_dict())
    elif result.diagnosis is not None:
        click.echo(style("INVALID", fg="red", bold=True), color=color_wanted())
        print_diagnosis(result.diagnosis)
    else:
        v = result.as_dict()
        click.echo(style("VALID", fg="green", bold=True), color=color_wanted())
        click.echo(
            f"  signed by {v['access_key_id']} for {v['scope']} at {v['amz_date']} "
            f"({v['auth_type']})"
        )
        click.echo(f"  signed headers: {';'.join(v['signed_headers'])}")
    if not result.valid:
        sys.exit(1)


def _signed_raw(
    opts: RequestOptions, raw: RawRequest, *, quiet: bool
) -> tuple[SignedRequest, Credentials, str | None]:
    """Re-sign a raw request as a server would; the scope and signed headers it names win.

    Returns the signed request, the credentials and the signature the request
    carried (None for SigV4a, whose signatures are randomized: compare by
    verifying instead).
    """
    provided: str | None = None
    auth = parse_authorization(raw.header("authorization"))
    if auth is not None:
        provided = auth["signature"]
        region, service = scope_of(raw)
        opts.region = region if opts.region is None else opts.region
        opts.service = service if opts.service is None else opts.service
        if auth["algorithm"] == "AWS4-ECDSA-P256-SHA256":
            opts.sigv4a = True
            opts.region_set = opts.region_set or raw.header("x-amz-region-set")
        if opts.signed_headers is None:
            opts.signed_headers = auth["signed_headers"].replace(";", ",")
    opts.region, opts.service = infer(opts, raw.header("host") or "", quiet=quiet)
    with errors():
        creds = opts.credentials()
        signer = opts.signer(creds, payload=opts.payload())
        signed = sign_raw_request(raw, signer, opts.timestamp)
    if provided is not None and signed.algorithm == "AWS4-ECDSA-P256-SHA256":
        provided = None
    return signed, creds, provided


def _resign(
    opts: RequestOptions, server: ServerError, method: str, url: str, quiet: bool
) -> SignedRequest:
    """Sign METHOD URL as the client did, at the time and scope the server's text names.

    The canonical request needs no secret, so without credentials a stand-in
    signs.
    """
    sts = server.string_to_sign.split("\n") if server.string_to_sign else []
    if opts.timestamp is None and len(sts) > 1:
        opts.timestamp = sts[1].strip()
    if len(sts) > 2 and (opts.region is None or opts.service is None):
        scope = sts[2].split("/")
        if len(scope) == 4:
            opts.region = opts.region or scope[1]
            opts.service = opts.service or scope[2]
    opts.region, opts.service = infer(opts, host_of(url), quiet=quiet)
    with errors():
        try:
            creds = opts.credentials()
        except CredentialsError:
            creds = Credentials("AKIDPLACEHOLDER", "placeholder-secret")
    return sign_with(opts, method, url, credentials=creds)[0]
